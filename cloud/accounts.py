"""Portal accounts: registration with a mailed verification link, sign-in with a lockout counted in the database,
sign-out, and password reset by mailed link. Errors carry the HTTP status and the per-field messages shown to users.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from cloud import audit, credentials
from cloud.db import Database, is_unique_violation
from cloud.mail import Mail, MailError, SmtpMailer
from cloud.tables import ROLES, Account, AccountToken, LoginAttempt, Session
from pst import throttle
from pst.clock import Clock
from pst.ids import new_id
from pst.privacy import mask  # an address in a log line is personal data

log = logging.getLogger(__name__)
VERIFY_TTL = timedelta(hours=48)
RESET_TTL = timedelta(hours=1)
SESSION_TTL = timedelta(days=14)
MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)
BAD_TOKEN = "Tautan tidak sah, sudah dipakai, atau sudah kedaluwarsa"


class AccountError(Exception):
    def __init__(self, status: int, detail: str, errors: dict[str, str] | None = None, retry_after: int = 0):
        super().__init__(detail)
        self.status, self.detail, self.errors, self.retry_after = status, detail, errors or {}, retry_after


STAFF_ROLES = ("staff", "admin")


def audit_actor(email: str, account: dict | None) -> str:
    """How the audit trail names who signs in. Staff by their work e-mail (an admin must see who acted); a reader by
    the account's id and anyone else by a masked e-mail: the trail is append-only, so it holds no reader's e-mail that
    an erasure could not take back."""
    if account and account.get("role") in STAFF_ROLES:
        return email
    if account:
        return f"pembaca:{account['id']}"
    return mask(email)


@dataclass(frozen=True)
class AccountView:
    id: str
    email: str
    name: str
    role: str
    verified: bool

    @classmethod
    def of(cls, row: dict) -> AccountView:
        return cls(row["id"], row["email"], row["name"], row["role"], row["verified_at"] is not None)

    def as_json(self) -> dict:
        return {"id": self.id, "email": self.email, "name": self.name, "role": self.role, "verified": self.verified}


class Accounts:
    def __init__(self, db: Database, clock: Clock, mailer: SmtpMailer, secret: bytes, public_url: str):
        self.db, self.clock, self.mailer, self.secret, self.public_url = db, clock, mailer, secret, public_url

    # registration and verification

    async def register(self, email: str, name: str, password: str) -> AccountView:
        """A reader account, not verified yet; the verification mail goes out before the account is committed."""
        email = credentials.normalise_email(email)
        return await self._insert(email, name, password, "reader", verified=False, send_verification=True)

    async def add(self, email: str, role: str, password: str, name: str = "") -> AccountView:
        """A staff or admin account from the command line: verified at once, no mail."""
        if role not in ROLES:
            raise AccountError(400, "Peran tidak dikenal", {"role": f"salah satu dari {', '.join(ROLES)}"})
        email = credentials.normalise_email(email)
        return await self._insert(email, name or email.split("@")[0], password, role, True, False)

    async def verify(self, token: str) -> None:
        now = self.clock.now()
        async with self.db.transaction():
            used = await self._use_token(token, "verify", now)
            await Account.update({Account.verified_at: now}).where(
                (Account.id == used) & Account.verified_at.is_null()
            )

    # sign-in

    async def login(self, email: str, password: str, address: str | None = None) -> tuple[str, AccountView]:
        """A new session token (for the cookie) and the account; 429 during a lockout of the account or of the
        client `address` (pst.throttle), 401 on a wrong pair."""
        email = credentials.normalise_email(email)[:254]
        now = self.clock.now()
        try:
            await self._refuse_when_crowded(address, now)
            await self._refuse_when_locked(email, now)
        except AccountError:
            await self._signin_failed(email, "terkunci sementara", address, now)
            raise
        row = await Account.select().where(Account.email == email).first()
        if not credentials.check_password(row["password_hash"] if row else None, password):
            await LoginAttempt.insert(LoginAttempt(id=new_id(), email=email, at=now))
            await self._count_address_failure(address, now)
            await self._signin_failed(email, "email atau kata sandi salah", address, now)
            raise AccountError(401, "Email atau kata sandi salah")
        await LoginAttempt.delete().where(LoginAttempt.email == email)  # a success forgives earlier failures
        if row["verified_at"] is None:
            await self._signin_failed(email, "email belum diverifikasi", address, now)
            raise AccountError(403, "Email belum diverifikasi; buka tautan di email pendaftaran", {"email": "belum diverifikasi"})
        if credentials.needs_rehash(row["password_hash"]):
            await Account.update({Account.password_hash: credentials.hash_password(password)}).where(Account.id == row["id"])
        token = credentials.new_token()
        await Session.delete().where((Session.account_id == row["id"]) & (Session.expires_at <= now))
        await Session.insert(Session(
            id=self._hash(token), account_id=row["id"], created_at=now, expires_at=now + SESSION_TTL
        ))
        await audit.record(self.db, now, actor=audit_actor(row["email"], row), action="signin.ok",
                           target=f"account:{row['id']}", detail={"role": row["role"]}, address=address)
        return token, AccountView.of(row)

    async def _signin_failed(self, email: str, reason: str, address: str | None, now: datetime) -> None:
        """Who it was meant to be (see audit_actor) and why; never the password."""
        row = await Account.select(Account.id, Account.role).where(Account.email == email).first()
        await audit.record(self.db, now, actor=audit_actor(email, row), action="signin.failed",
                           detail={"reason": reason}, address=address)

    async def by_session(self, token: str | None) -> AccountView | None:
        if not token:
            return None
        rows = await self.db.execute(
            "SELECT a.id, a.email, a.name, a.role, a.verified_at FROM sessions s JOIN accounts a ON a.id = s.account_id"
            " WHERE s.id = {} AND s.expires_at > {}", self._hash(token), self.clock.now(),
        )
        return AccountView.of(rows[0]) if rows else None

    async def logout(self, token: str | None, address: str | None = None) -> None:
        if token:
            account = await self.by_session(token)
            await Session.delete().where(Session.id == self._hash(token))
            if account:
                await audit.record(self.db, self.clock.now(), actor=audit_actor(account.email, account.as_json()),
                                   action="signout",
                                   target=f"account:{account.id}", address=address)

    # password reset

    async def request_reset(self, email: str) -> None:
        """Mails a reset link when the address has an account; says nothing either way (no enumeration)."""
        email = credentials.normalise_email(email)
        row = await Account.select(Account.id, Account.email).where(Account.email == email).first()
        if row is None:
            return
        try:
            async with self.db.transaction():
                token = await self._new_token(row["id"], "reset", RESET_TTL)
                await self.mailer.send(reset_mail(email, f"{self.public_url}/akun/atur-ulang?token={token}"))
        except MailError:
            log.exception("reset mail to %s not sent", mask(email))

    async def reset(self, token: str, password: str) -> None:
        """New password by a reset link; every session of the account ends, and the address counts as verified."""
        now = self.clock.now()
        rows = await self.db.execute(
            "SELECT a.id, a.email, a.name FROM account_tokens t JOIN accounts a ON a.id = t.account_id WHERE t.token_hash = {}"
            " AND t.kind = 'reset' AND t.used_at IS NULL AND t.expires_at > {}", self._hash(token), now,
        )
        if not rows:
            raise AccountError(400, BAD_TOKEN, {"token": "tidak sah atau kedaluwarsa"})
        problem = credentials.password_problem(password, rows[0]["email"], rows[0]["name"])
        if problem:
            raise AccountError(400, "Kata sandi terlalu lemah", {"password": problem})
        async with self.db.transaction():
            account_id = await self._use_token(token, "reset", now)
            await Account.update({Account.password_hash: credentials.hash_password(password)}).where(Account.id == account_id)
            await Account.update({Account.verified_at: now}).where((Account.id == account_id) & Account.verified_at.is_null())
            await Session.delete().where(Session.account_id == account_id)
            await LoginAttempt.delete().where(LoginAttempt.email == rows[0]["email"])

    # inside

    async def _insert(self, email, name, password, role, verified, send_verification) -> AccountView:
        name = (name or "").strip()
        errors = {}
        if problem := credentials.email_problem(email):
            errors["email"] = problem
        if not name or len(name) > 200:
            errors["name"] = "wajib diisi, paling banyak 200 karakter"
        if problem := credentials.password_problem(password, email, name):
            errors["password"] = problem
        if errors:
            raise AccountError(400, "Data akun belum benar", errors)
        if await Account.exists().where(Account.email == email):
            raise _taken()
        now = self.clock.now()
        account = Account(
            id=new_id(), email=email, name=name, password_hash=credentials.hash_password(password), role=role,
            verified_at=now if verified else None, created_at=now,
        )
        try:
            async with self.db.transaction():
                await Account.insert(account)
                if send_verification:
                    token = await self._new_token(account.id, "verify", VERIFY_TTL)
                    await self.mailer.send(verify_mail(email, name, f"{self.public_url}/akun/verifikasi?token={token}"))
        except MailError:
            log.exception("verification mail to %s not sent", mask(email))
            raise AccountError(503, "Email verifikasi tidak dapat dikirim; coba lagi nanti") from None
        except Exception as exc:
            if is_unique_violation(exc):  # the same address, registered at the same moment
                raise _taken() from None
            raise
        return AccountView(account.id, email, name, role, verified)

    async def _refuse_when_locked(self, email: str, now: datetime) -> None:
        failures = await LoginAttempt.select(LoginAttempt.at).where(
            (LoginAttempt.email == email) & (LoginAttempt.at > now - LOCKOUT)
        ).order_by(LoginAttempt.at)
        if len(failures) >= MAX_FAILURES:
            wait = failures[-MAX_FAILURES]["at"] + LOCKOUT - now
            minutes = max(1, round(wait.total_seconds() / 60))
            raise AccountError(
                429, f"Terlalu banyak percobaan masuk yang salah. Coba lagi dalam {minutes} menit.",
                retry_after=max(1, int(wait.total_seconds())),
            )

    async def _refuse_when_crowded(self, address: str | None, now: datetime) -> None:
        if not address:
            return
        rows = await self.db.execute(
            "SELECT at FROM signin_failures WHERE address = {} AND at > {}", address[:64], now - throttle.WINDOW
        )
        wait = throttle.address_wait((_moment(row["at"]) for row in rows), now)
        if wait:
            raise AccountError(429, throttle.wait_message(wait), retry_after=wait)

    async def _count_address_failure(self, address: str | None, now: datetime) -> None:
        """Kept apart from the account's count: a success forgives nothing here."""
        if address:
            await self.db.execute("DELETE FROM signin_failures WHERE at < {}", now - throttle.WINDOW)
            await self.db.execute("INSERT INTO signin_failures (id, address, at) VALUES ({}, {}, {})",
                                  new_id(), address[:64], now)

    async def _new_token(self, account_id: str, kind: str, ttl: timedelta) -> str:
        token = credentials.new_token()
        now = self.clock.now()
        await AccountToken.insert(AccountToken(
            id=new_id(), account_id=account_id, kind=kind, token_hash=self._hash(token), expires_at=now + ttl,
            used_at=None, created_at=now,
        ))
        return token

    async def _use_token(self, token: str, kind: str, now: datetime) -> str:
        """Marks the token used and returns its account; one request wins when two race for the same token."""
        used = await AccountToken.update({AccountToken.used_at: now}).where(
            (AccountToken.token_hash == self._hash(token or "")) & (AccountToken.kind == kind)
            & AccountToken.used_at.is_null() & (AccountToken.expires_at > now)
        ).returning(AccountToken.account_id)
        if not used:
            raise AccountError(400, BAD_TOKEN, {"token": "tidak sah atau kedaluwarsa"})
        return used[0]["account_id"]

    def _hash(self, token: str) -> str:
        return credentials.token_hash(self.secret, token)


def _moment(value) -> datetime:
    """A timestamp read by plain SQL: a datetime from PostgreSQL, ISO text from SQLite."""
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def _taken() -> AccountError:
    return AccountError(409, "Email ini sudah terdaftar", {"email": "sudah terdaftar; masuk atau atur ulang kata sandi"})


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
