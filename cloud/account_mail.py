"""The words of the portal's mails about an account: verification, reset, and the activation of an account that
the desk made. Indonesian, plain text; links are made by cloud.accounts."""

from __future__ import annotations

from cloud.mail import Mail


def verify_mail(email: str, name: str, link: str) -> Mail:
    return Mail(email, "Verifikasi email akun PST Pustaka", (
        f"Halo {name},\n\nTerima kasih telah mendaftar di PST Pustaka BPS. Buka tautan berikut untuk memverifikasi "
        f"alamat email Anda (berlaku 48 jam):\n\n{link}\n\nJika Anda tidak mendaftar, abaikan email ini.\n"
    ))


def reset_mail(email: str, link: str) -> Mail:
    return Mail(email, "Atur ulang kata sandi PST Pustaka", (
        f"Ada permintaan untuk mengatur ulang kata sandi akun PST Pustaka dengan email ini. Buka tautan berikut untuk "
        f"membuat kata sandi baru (berlaku 1 jam):\n\n{link}\n\nJika Anda tidak memintanya, abaikan email ini.\n"
    ))


def activation_mail(email: str, name: str, link: str) -> Mail:
    return Mail(email, "Aktifkan akun PST Pustaka Anda", (
        f"Halo {name},\n\nAlamat email ini sudah tercatat di layanan PST BPS (buku tamu, pindaian, atau permintaan "
        f"softcopy di loket), jadi akun PST Pustaka Anda sudah ada, lengkap dengan hasil pindaian dan permintaan Anda. "
        f"Buka tautan berikut untuk mengaktifkannya dan membuat kata sandi (berlaku 7 hari, sekali pakai):\n\n{link}\n\n"
        f"Jika Anda tidak mendaftar, abaikan email ini.\n"
    ))


SET_PASSWORD_NOTE = (
    "Akun PST Pustaka Anda dibuat dari kunjungan Anda di loket dan belum memiliki kata sandi. Buka tautan berikut "
    "untuk membuat kata sandi; sesudah itu Anda langsung dibawa ke halaman yang dimaksud di atas (berlaku 7 hari, "
    "sekali pakai):\n\n{link}\n"
)
FORGOT_NOTE = "Lupa kata sandi? Buat kata sandi baru di {link}\n"
