"""Rules for e-mail addresses, passwords and mailed tokens. No database and no web framework here.

Passwords are kept only as argon2id hashes; tokens and session ids only as HMAC-SHA256 under PST_CLOUD_SECRET, so a
copy of the database alone opens no account and no session.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from pst.i18n import N_
from pst.passwords import password_weakness

MIN_PASSWORD = 10
_hasher = PasswordHasher()
# Verifying against this when the address is unknown keeps the answer time the same, so addresses cannot be probed.
_DUMMY_HASH = _hasher.hash("pst-pustaka-no-such-account")
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+")
# The words pst.passwords and pst.throttle write, as messages of the portal's catalogue: a page translates them where
# it shows them (tests/cloud/test_english_pages.py checks they are still the words those modules write).
SHARED_MESSAGES = (
    N_("minimal %(count)s karakter"), N_("Kata sandi terlalu mudah ditebak: %(reason)s"),
    N_("jangan memakai nama, nama pengguna atau alamat e-mail Anda"), N_("kata sandi ini banyak dipakai orang"),
    N_("pengulangan seperti \"aaa\" mudah ditebak"), N_("urutan seperti \"abc\" atau \"6543\" mudah ditebak"),
    N_("pola papan ketik mudah ditebak"), N_("tahun mudah ditebak"), N_("tanggal mudah ditebak"),
    N_("nama orang mudah ditebak"), N_("satu kata saja mudah ditebak"),
    N_("tambahkan dua atau tiga kata lagi yang tidak umum"),
    N_("Terlalu banyak percobaan masuk yang salah dari alamat ini. Coba lagi dalam %(minutes)s menit."),
)


def normalise_email(email: str) -> str:
    return email.strip().lower()


def email_problem(email: str) -> str | None:
    if not email:
        return N_("wajib diisi")
    if len(email) > 254 or not _EMAIL.fullmatch(email):
        return N_("alamat email tidak sah")
    return None


def password_problem(password: str, email: str, name: str = "") -> str | None:
    """Why a password is too weak, in the words shown to the reader; None when it will do."""
    if len(password) < MIN_PASSWORD:
        return N_("minimal %(count)s karakter") % {"count": MIN_PASSWORD}
    if password.isdigit():
        return N_("tidak boleh hanya angka")
    local = email.split("@")[0]
    if password.strip().lower() in (email.lower(), local.lower()):
        return N_("tidak boleh sama dengan alamat email")
    return password_weakness(password, (email, name))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def new_token() -> str:
    """A random, URL-safe token of 256 bits, for mail links and session cookies."""
    return secrets.token_urlsafe(32)


def token_hash(secret: bytes, token: str) -> str:
    return hmac.new(secret, token.encode(), hashlib.sha256).hexdigest()
