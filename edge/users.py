"""Staff accounts on the appliance: frontliner, librarian, admin. Passwords are kept only as argon2 hashes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from edge import audit
from edge.roles import ROLES
from edge.store import EdgeStore
from pst.clock import Clock, iso
from pst.ids import new_id
from pst.passwords import password_weakness
from pst.throttle import WINDOW, address_wait

_hasher = PasswordHasher()
# Verifying against this when the name is unknown keeps the answer time the same, so names cannot be probed. Made
# on the first sign-in, not at import: a hash costs a tenth of a second and 64 MiB, which the appliance's start
# should not pay.
_DUMMY_HASH: str | None = None


def _dummy_hash() -> str:
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = _hasher.hash("pst-pustaka-no-such-user")
    return _DUMMY_HASH


class UserError(ValueError):
    pass


@dataclass(frozen=True)
class User:
    id: str
    username: str
    role: str


def add_user(store: EdgeStore, clock: Clock, username: str, role: str, password: str,
             actor: audit.Actor | None = None) -> User:
    """A new staff account; with `actor` (the command line: "cli") its user.add line commits with it."""
    if not re.fullmatch(r"[A-Za-z0-9._-]{2,64}", username):
        raise UserError("username: 2–64 letters, digits, '.', '_' or '-'")
    if role not in ROLES:
        raise UserError(f"role: one of {', '.join(ROLES)}")
    if problem := password_weakness(password, (username,)):
        raise UserError(f"password: {problem}")
    user = User(id=new_id(), username=username, role=role)
    with store.write() as db:
        if db.execute("SELECT 1 FROM users WHERE username = ?", [username]).fetchone():
            raise UserError(f"username: {username!r} already exists")
        db.execute(
            "INSERT INTO users (id, username, role, password_hash, created_at) VALUES (?, ?, ?, ?, ?)",
            [user.id, username, role, _hasher.hash(password), iso(clock.now())],
        )
        if actor:
            actor.record(db, clock.now(), "user.add", f"user:{user.id}", username=username, role=role)
    return user


def staff_names(store: EdgeStore) -> dict[str, str]:
    """Account id → username, for pages that say who did what (a record keeps the id; people read the name)."""
    return dict(store.read.execute("SELECT id, username FROM users").fetchall())


def authenticate(store: EdgeStore, username: str, password: str) -> User | None:
    dummy = _dummy_hash()  # before the lookup: the first sign-in pays for it whether the name exists or not
    row = store.read.execute(
        "SELECT id, username, role, password_hash FROM users WHERE username = ? AND active = 1", [username]
    ).fetchone()
    try:
        _hasher.verify(row[3] if row else dummy, password)
    except (VerificationError, InvalidHashError):
        return None
    if row is None:
        return None
    if _hasher.check_needs_rehash(row[3]):
        with store.write() as db:
            db.execute("UPDATE users SET password_hash = ? WHERE id = ?", [_hasher.hash(password), row[0]])
    return User(id=row[0], username=row[1], role=row[2])


MAX_FAILURES = 5
LOCKOUT_MIN = 15


def lockout_remaining(store: EdgeStore, username: str, clock: Clock) -> int:
    """Seconds until `username` may try again: 5 failures within 15 minutes lock the name for the rest of them."""
    now = clock.now()
    since = iso(now - timedelta(minutes=LOCKOUT_MIN))
    rows = store.read.execute(
        "SELECT at FROM login_attempts WHERE username = ? AND at >= ? AND ok = 0 ORDER BY at", [username, since]
    ).fetchall()
    if len(rows) < MAX_FAILURES:
        return 0
    unlock = datetime.fromisoformat(rows[-MAX_FAILURES][0]) + timedelta(minutes=LOCKOUT_MIN)
    return max(1, int((unlock - now).total_seconds()))


def record_attempt(store: EdgeStore, username: str, ok: bool, clock: Clock, address: str | None = None) -> None:
    """The throttle's count and the audit line (signin.ok / signin.failed with the name typed, never the password)."""
    now = clock.now()
    with store.write() as db:
        if ok:  # a success forgives earlier failures
            db.execute("DELETE FROM login_attempts WHERE username = ?", [username])
        else:
            db.execute(
                "INSERT INTO login_attempts (username, at, ok) VALUES (?, ?, 0)", [username[:64], iso(now)]
            )
            _count_address_failure(db, address, now)
        audit.record(db, now, actor=username[:64], action="signin.ok" if ok else "signin.failed",
                     detail=None if ok else {"reason": "nama atau kata sandi salah"}, address=address)


def address_remaining(store: EdgeStore, address: str | None, clock: Clock) -> int:
    """Seconds until a client address may sign in again after too many wrong sign-ins (pst.throttle), any name."""
    if not address:
        return 0
    now = clock.now()
    rows = store.read.execute(
        "SELECT at FROM signin_failures WHERE address = ? AND at >= ?", [address[:64], iso(now - WINDOW)]
    ).fetchall()
    return address_wait((datetime.fromisoformat(at) for (at,) in rows), now)


def _count_address_failure(db, address: str | None, now: datetime) -> None:
    """A success forgives nothing here: one account of one's own must not reset an address's count."""
    if address:
        db.execute("DELETE FROM signin_failures WHERE at < ?", [iso(now - WINDOW)])
        db.execute("INSERT INTO signin_failures (address, at) VALUES (?, ?)", [address[:64], iso(now)])
