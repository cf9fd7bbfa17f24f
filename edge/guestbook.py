"""The electronic guestbook (buku tamu elektronik), step 2 of the service standard.

`validate` is a pure function: it returns the cleaned visit or the Indonesian message for each bad field, and
nothing is stored unless every field is right. Text is kept as typed (pages escape it when they show it).
Labels and messages are marked for the catalogue: the API answers in Indonesian, the form shows them translated.
"""

from __future__ import annotations

import re
from typing import Any

from edge.i18n import N_

GENDERS = {"L": N_("Laki-laki"), "P": N_("Perempuan")}
EDUCATION = {"sma": N_("≤ SMA"), "diploma": N_("D1/D2/D3"), "s1": N_("D4/S1"), "s2": N_("S2"), "s3": N_("S3")}
OCCUPATIONS = {
    "pelajar": N_("Pelajar/Mahasiswa"), "peneliti": N_("Peneliti/Dosen"), "asn": N_("ASN/TNI/Polri"),
    "bumn": N_("Pegawai BUMN/BUMD"), "swasta": N_("Karyawan swasta"), "wiraswasta": N_("Wiraswasta"),
    "jurnalis": N_("Jurnalis"), "lainnya": N_("Lainnya"),
}
PURPOSES = {
    "baca_tercetak": N_("Membaca pustaka tercetak"), "pustaka_digital": N_("Pustaka digital"),
    "pindai": N_("Memindai"), "softcopy": N_("Meminta softcopy"), "lainnya": N_("Lainnya"),
}
ID_TYPES = {"KTP": N_("KTP"), "SIM": N_("SIM"), "PASPOR": N_("Paspor"), "KTM": N_("KTM"), "LAINNYA": N_("Lainnya")}
FIELDS = (
    "ticket_number", "ticket_id", "name", "gender", "age", "education", "occupation", "institution", "email",
    "phone", "purposes", "id_type", "has_portal_account",
)
LIMITS = {"name": 100, "institution": 150, "email": 254, "phone": 20, "ticket_number": 8, "ticket_id": 40}
EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+")
REQUIRED = N_("wajib diisi")
# what the form's error summary calls each field ("Nama lengkap: wajib diisi"); the form's own labels
LABELS = {
    "ticket_number": N_("Nomor antrian"), "ticket_id": N_("Nomor antrian"), "name": N_("Nama lengkap"),
    "gender": N_("Jenis kelamin"), "age": N_("Usia"), "education": N_("Pendidikan terakhir"),
    "occupation": N_("Pekerjaan"), "institution": N_("Instansi/lembaga"), "email": N_("E-mail aktif"),
    "phone": N_("Nomor telepon/WhatsApp"), "purposes": N_("Keperluan kunjungan"),
    "id_type": N_("Kartu identitas yang dititipkan"), "has_portal_account": N_("Akun portal perpustakaan"),
}


class GuestbookError(ValueError):
    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def validate(data: dict[str, Any]) -> dict[str, Any]:
    """The cleaned visit, or GuestbookError with a message per bad field."""
    errors: dict[str, str] = {}
    for key in set(data) - set(FIELDS):
        errors[key] = N_("isian tidak dikenal")
    clean: dict[str, Any] = {}
    for key, limit in LIMITS.items():
        value = data.get(key)
        if value is None or value == "":
            clean[key] = None
        elif not isinstance(value, str):
            errors[key] = N_("harus berupa teks")
        elif len(value.strip()) > limit:
            errors[key] = N_("terlalu panjang (maks. %(limit)s karakter)") % {"limit": limit}
        else:
            clean[key] = " ".join(value.split())  # one line, single spaces: what a form field means
    _check_name(clean, errors)
    _check_email(clean, errors)
    _check_phone(clean, errors)
    clean["gender"] = _choice(data, "gender", GENDERS, errors, required=True)
    clean["education"] = _choice(data, "education", EDUCATION, errors)
    clean["occupation"] = _choice(data, "occupation", OCCUPATIONS, errors, required=True)
    clean["id_type"] = _choice(data, "id_type", ID_TYPES, errors, required=True, upper=True)
    clean["age"] = _age(data.get("age"), errors)
    clean["purposes"] = _purposes(data.get("purposes"), errors)
    clean["has_portal_account"] = _flag(data.get("has_portal_account"), errors)
    if errors:
        raise GuestbookError(errors)
    return clean


def _check_name(clean: dict, errors: dict) -> None:
    if "name" in errors:
        return
    if not clean["name"]:
        errors["name"] = REQUIRED
    elif len(clean["name"]) < 2:
        errors["name"] = N_("terlalu pendek")


def _check_email(clean: dict, errors: dict) -> None:
    if "email" in errors:
        return
    email = clean["email"]
    if not email:
        errors["email"] = N_("wajib diisi: standar layanan mensyaratkan e-mail aktif")
    elif not EMAIL.fullmatch(email) or len(email.split("@")[0]) > 64:
        errors["email"] = N_("alamat e-mail tidak sah")
    else:
        local, domain = email.rsplit("@", 1)
        clean["email"] = f"{local}@{domain.lower()}"


def _check_phone(clean: dict, errors: dict) -> None:
    phone = clean.get("phone")
    if not phone or "phone" in errors:
        return
    digits = re.sub(r"[\s().-]", "", phone)
    if not re.fullmatch(r"\+?\d{8,15}", digits):
        errors["phone"] = N_("nomor telepon tidak sah (8–15 angka)")
    else:
        clean["phone"] = digits


def _choice(data, key, options: dict[str, str], errors, required=False, upper=False) -> str | None:
    """Accepts the code or its label (as a form or another system may send either)."""
    value = data.get(key)
    if value is None or value == "":
        if required:
            errors[key] = REQUIRED
        return None
    if not isinstance(value, str):
        errors[key] = N_("pilihan tidak sah")
        return None
    wanted = value.strip().upper() if upper else value.strip()
    for code, label in options.items():
        if wanted in (code, code.upper()) or wanted.casefold() == label.casefold():
            return code
    choices = ", ".join(options.values())
    errors[key] = N_("pilihan tidak dikenal: pilih salah satu dari %(choices)s") % {"choices": choices}
    return None


def _age(value, errors) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 10 <= value <= 100:
        errors["age"] = N_("usia harus angka 10–100")
        return None
    return value


def _purposes(value, errors) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not value:
        errors["purposes"] = N_("pilih minimal satu keperluan")
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        errors["purposes"] = N_("daftar keperluan tidak sah")
        return []
    unknown = [v for v in value if v not in PURPOSES]
    if unknown:
        errors["purposes"] = N_("keperluan tidak dikenal: %(codes)s") % {"codes": ", ".join(unknown)[:60]}
        return []
    return [code for code in PURPOSES if code in value]


def _flag(value, errors) -> bool | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    if value in ("ya", "on", "true", "1"):
        return True
    if value in ("tidak", "false", "0"):
        return False
    errors["has_portal_account"] = N_("harus ya atau tidak")
    return None
