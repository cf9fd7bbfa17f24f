"""Personal-data rules both sides share (UU No. 27/2022, Pelindungan Data Pribadi): how an e-mail is named in the
audit trail without being stored, how an erasure names its person across the sync, and the retention cut-off.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from datetime import datetime
from pathlib import Path

ERASED_NAME = "(dihapus)"  # what an anonymised record shows where the name was
# what a person's erasure strips from the records an appliance sends (its outbox, the portal's journal of them)
PAYLOAD_IDENTITY_KEYS = ("name", "email", "phone", "institution", "contact", "id_last4", "id_hash", "comment")


def normalise(email: str) -> str:
    return (email or "").strip().lower()


def mask(email: str) -> str:
    """r***@example.com: enough for staff to recognise a request, not enough to write to the person."""
    local, _, domain = normalise(email).partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"


def tag(email: str, key: bytes) -> str:
    """The audit line's target: a short keyed hash, the same for the same e-mail on one side, useless elsewhere."""
    return "email:" + hmac.new(key, normalise(email).encode(), hashlib.sha256).hexdigest()[:16]


def erasure_digest(email: str, salt: str | None = None) -> tuple[str, str]:
    """(salt, digest) naming a person in an erasure sent through the sync. The salt is new for every erasure, so the
    journal that carries it holds no e-mail and no value that matches across erasures or other tables."""
    salt = salt or secrets.token_hex(16)
    return salt, hmac.new(bytes.fromhex(salt), normalise(email).encode(), hashlib.sha256).hexdigest()


def matches(email: str, salt: str, digest: str) -> bool:
    try:
        return hmac.compare_digest(erasure_digest(email, salt)[1], digest)
    except ValueError:  # a salt that is not hex: names nobody
        return False


def months_before(now: datetime, months: int) -> datetime:
    """The same moment `months` calendar months earlier (the 31st becomes the month's last day)."""
    total = now.year * 12 + now.month - 1 - months
    year, month = divmod(total, 12)
    month += 1
    for day in (now.day, 30, 29, 28):
        try:
            return now.replace(year=year, month=month, day=day)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def private_file(path: str | Path) -> None:
    """A database file (and SQLite's -wal and -shm beside it, which take its mode) readable by its owner only,
    whatever the umask: made so when new, made so when found more open. A file that cannot be made or changed (a
    read-only mount, another owner) is left for SQLite to report when it opens it."""
    path = Path(path)
    try:
        if not path.exists():
            # made empty, before any connection: an existing database file is never opened here, since closing any
            # descriptor of a file drops every POSIX lock this process holds on it (SQLite's locks among them)
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except OSError:  # FileExistsError too: another process made it first
        pass
    keep_private(path)


def keep_private(path: str | Path) -> None:
    """An existing database file, its -wal and its -shm made readable by their owner only when found more open (by
    chmod, which opens nothing: safe beside live connections). Files the pst command makes are private already
    (`private_umask`); this mends those made before, or by another program."""
    path = Path(path)
    for part in (path, path.with_name(f"{path.name}-wal"), path.with_name(f"{path.name}-shm")):
        try:
            if part.exists() and part.stat().st_mode & 0o077:
                part.chmod(0o600)
        except OSError:  # a read-only mount, another owner: SQLite reports what matters when it opens the file
            pass


def private_umask() -> None:
    """Files and folders the process makes from now on are its owner's only (0600, 0700): databases and their
    journals, backups, scans, exports, keys — personal data, whatever the umask it was started with."""
    os.umask(os.umask(0o077) | 0o077)
