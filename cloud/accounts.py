"""Portal accounts: registration with a mailed verification link, sign-in with a lockout counted in the database,
sign-out, and password reset by mailed link. An account the desk made for a visitor's e-mail has no password until
she chooses one through a one-time link, mailed when she registers or with any mail the portal sends her.
Errors carry the HTTP status and the per-field messages shown to users.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote, urlsplit

from cloud import audit, credentials
from cloud.db import Database, is_unique_violation
from cloud.account_mail import FORGOT_NOTE, SET_PASSWORD_NOTE, activation_mail, reset_mail, verify_mail
from cloud.mail import Mail, MailError, SmtpMailer
from cloud.tables import ROLES, Account, AccountToken, LoginAttempt, Session
from pst import throttle
from pst.clock import Clock
from pst.i18n import N_
from pst.ids import new_id
from pst.privacy import mask  # an address in a log line is personal data

log = logging.getLogger(__name__)
VERIFY_TTL = timedelta(hours=48)
RESET_TTL = timedelta(hours=1)
SET_PASSWORD_TTL = timedelta(days=7)  # a desk visitor may read the mail days later; one use only
ACTIVATION_GAP = timedelta(minutes=5)  # registering her address again and again does not flood her inbox
SESSION_TTL = timedelta(days=14)
MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)
BAD_TOKEN = N_("Tautan tidak sah, sudah dipakai, atau sudah kedaluwarsa")
BAD_TOKEN_FIELD = N_("tidak sah atau kedaluwarsa")
WEAK_PASSWORD = N_("Kata sandi terlalu lemah")
MAIL_FAILED = N_("Email verifikasi tidak dapat dikirim; coba lagi nanti")
NO_PASSWORD = "!"  # an account made from the desk (sync) or erased: no password opens it
HOME = "/akun"


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
        """A reader account, not verified yet; the verification mail goes out before the account is committed.
        An address the desk already gave an account (no password yet) gets that account's activation mail instead,
        with the same answer, so a registration never tells whether an address was known."""
        email = credentials.normalise_email(email)
        row = await Account.select(Account.id, Account.name, Account.password_hash, Account.role).where(
            Account.email == email).first()
        if row and row["role"] == "reader" and not has_password(row["password_hash"]):
            return await self._activate(row, email, name, password)
        return await self._insert(email, name, password, "reader", verified=False, send_verification=True)

    async def _activate(self, row: dict, email: str, name: str, password: str) -> AccountView:
        """The desk's account becomes hers once she opens the mailed link and chooses a password there: the
        password typed here is checked like any other but not kept, since nothing proves yet that she owns the
        address. Hashing it anyway keeps this answer as slow as a new account's."""
        name = _checked(email, name, password)
        credentials.hash_password(password)
        if await self._recently_activated(row["id"]):
            return AccountView(row["id"], email, name, "reader", False)
        try:
            async with self.db.transaction():
                link = await self.set_password_link(row["id"], HOME)
                await self.mailer.send(activation_mail(email, row["name"], link))
        except MailError:
            log.exception("activation mail to %s not sent", mask(email))
            raise AccountError(503, MAIL_FAILED) from None
        return AccountView(row["id"], email, name, "reader", False)

    async def _recently_activated(self, account_id: str) -> bool:
        since = self.clock.now() - ACTIVATION_GAP
        return await AccountToken.exists().where(
            (AccountToken.account_id == account_id) & (AccountToken.kind == "setpass")
            & AccountToken.used_at.is_null() & (AccountToken.created_at > since))

    async def set_password_link(self, account_id: str, next_path: str) -> str:
        """A one-time link (SET_PASSWORD_TTL) to choose a password, leading on to `next_path` once chosen."""
        token = await self._new_token(account_id, "setpass", SET_PASSWORD_TTL)
        return f"{self.public_url}/akun/buat-sandi?token={token}&next={quote(safe_next(next_path), safe='/')}"

    async def send(self, mail: Mail) -> None:
        """Mail that announces something to a reader: an account without a password gets a set-password link that
        leads on to `mail.next`; one with a password is reminded of "Lupa kata sandi". Raises MailError."""
        row = await Account.select(Account.id, Account.password_hash).where(Account.email == mail.to).first()
        if row is not None and not has_password(row["password_hash"]):
            link = await self.set_password_link(row["id"], mail.next or HOME)
            extra = SET_PASSWORD_NOTE.format(link=link)
        else:
            extra = FORGOT_NOTE.format(link=f"{self.public_url}/akun/lupa-sandi")
        await self.mailer.send(Mail(mail.to, mail.subject, f"{mail.body.rstrip()}\n\n{extra}", mail.next))

    async def set_password(self, token: str, password: str, address: str | None = None) -> tuple[str, AccountView]:
        """The password chosen by a set-password link: the address counts as verified, every other mailed link
        of the account stops working, and she is signed in (the link from her mailbox proved who she is)."""
        now = self.clock.now()
        row = await self._token_account(token, "setpass", now)
        if problem := credentials.password_problem(password, row["email"], row["name"]):
            raise AccountError(400, WEAK_PASSWORD, {"password": problem})
        async with self.db.transaction():
            account_id = await self._use_token(token, "setpass", now)
            await self._new_password(account_id, row["email"], password, now)
            session = await self._open_session(account_id, now)
        account = await Account.select().where(Account.id == account_id).first()
        await audit.record(self.db, now, actor=audit_actor(account["email"], account), action="signin.ok",
                           target=f"account:{account_id}", detail={"role": account["role"], "by": "set-password"},
                           address=address)
        return session, AccountView.of(account)

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
            raise AccountError(401, N_("Email atau kata sandi salah"))
        await LoginAttempt.delete().where(LoginAttempt.email == email)  # a success forgives earlier failures
        if row["verified_at"] is None:
            await self._signin_failed(email, "email belum diverifikasi", address, now)
            raise AccountError(403, N_("Email belum diverifikasi; buka tautan di email pendaftaran"),
                               {"email": N_("belum diverifikasi")})
        if credentials.needs_rehash(row["password_hash"]):
            await Account.update({Account.password_hash: credentials.hash_password(password)}).where(Account.id == row["id"])
        token = await self._open_session(row["id"], now)
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
        row = await self._token_account(token, "reset", now)
        problem = credentials.password_problem(password, row["email"], row["name"])
        if problem:
            raise AccountError(400, WEAK_PASSWORD, {"password": problem})
        async with self.db.transaction():
            account_id = await self._use_token(token, "reset", now)
            await self._new_password(account_id, row["email"], password, now)

    async def _token_account(self, token: str, kind: str, now: datetime) -> dict:
        """The account a usable mailed token of this kind belongs to; 400 otherwise. Nothing is marked used."""
        rows = await self.db.execute(
            "SELECT a.id, a.email, a.name FROM account_tokens t JOIN accounts a ON a.id = t.account_id WHERE t.token_hash = {}"
            " AND t.kind = {} AND t.used_at IS NULL AND t.expires_at > {}", self._hash(token or ""), kind, now,
        )
        if not rows:
            raise AccountError(400, BAD_TOKEN, {"token": BAD_TOKEN_FIELD})
        return rows[0]

    async def _new_password(self, account_id: str, email: str, password: str, now: datetime) -> None:
        """Inside the caller's transaction: the password, the address verified, every session ended, and every other
        mailed link of the account spent (an old mail in a shared inbox must not open the account later)."""
        await Account.update({Account.password_hash: credentials.hash_password(password)}).where(Account.id == account_id)
        await Account.update({Account.verified_at: now}).where((Account.id == account_id) & Account.verified_at.is_null())
        await Session.delete().where(Session.account_id == account_id)
        await LoginAttempt.delete().where(LoginAttempt.email == email)
        await AccountToken.update({AccountToken.used_at: now}).where(
            (AccountToken.account_id == account_id) & AccountToken.used_at.is_null())

    async def _open_session(self, account_id: str, now: datetime) -> str:
        """A new session token for the cookie; only its keyed hash is stored. Expired sessions are cleared."""
        token = credentials.new_token()
        await Session.delete().where((Session.account_id == account_id) & (Session.expires_at <= now))
        await Session.insert(Session(
            id=self._hash(token), account_id=account_id, created_at=now, expires_at=now + SESSION_TTL
        ))
        return token

    # inside

    async def _insert(self, email, name, password, role, verified, send_verification) -> AccountView:
        name = _checked(email, name, password)
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
            raise AccountError(503, MAIL_FAILED) from None
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
                429, N_("Terlalu banyak percobaan masuk yang salah. Coba lagi dalam %(minutes)s menit.")
                % {"minutes": minutes},
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
            raise AccountError(400, BAD_TOKEN, {"token": BAD_TOKEN_FIELD})
        return used[0]["account_id"]

    def _hash(self, token: str) -> str:
        return credentials.token_hash(self.secret, token)


def _moment(value) -> datetime:
    """A timestamp read by plain SQL: a datetime from PostgreSQL, ISO text from SQLite."""
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def _checked(email: str, name: str, password: str) -> str:
    """The name as kept; 400 naming every field that is not right."""
    name = (name or "").strip()
    errors = {}
    if problem := credentials.email_problem(email):
        errors["email"] = problem
    if not name or len(name) > 200:
        errors["name"] = N_("wajib diisi, paling banyak 200 karakter")
    if problem := credentials.password_problem(password, email, name):
        errors["password"] = problem
    if errors:
        raise AccountError(400, N_("Data akun belum benar"), errors)
    return name


def has_password(password_hash: str | None) -> bool:
    return bool(password_hash) and password_hash != NO_PASSWORD


def safe_next(value: object, default: str = HOME) -> str:
    """Where to go after signing in: a path of this site only. Anything that a browser could read as another
    site (`//host`, `/\\host`, a scheme, whitespace or control characters it would strip) gives `default`."""
    if not isinstance(value, str) or not value.startswith("/") or len(value) > 1000:
        return default
    if value.startswith("//") or "\\" in value or any(ord(c) <= 32 or ord(c) == 127 for c in value):
        return default
    parts = urlsplit(value)
    return value if not parts.scheme and not parts.netloc else default


def _taken() -> AccountError:
    return AccountError(409, N_("Email ini sudah terdaftar; masuk, atau buka \"Lupa kata sandi\" untuk membuat kata "
                                "sandi baru"), {"email": N_("sudah terdaftar; masuk atau pakai Lupa kata sandi")})

