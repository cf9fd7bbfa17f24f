"""Demo back-office logins for `pst up`: an admin and a staff member of the portal, made once with random passwords
and kept in the data folder (never in the repo)."""

from __future__ import annotations

import secrets
from pathlib import Path

from cloud.accounts import Accounts
from cloud.db import Database
from cloud.mail import SmtpMailer
from cloud.migrations import migrate
from cloud.settings import CloudSettings
from pst.clock import SystemClock

DEMO_STAFF = (("admin@pst.demo", "admin", "Admin PST (demo)"), ("petugas@pst.demo", "staff", "Petugas PST (demo)"))
LOGINS_FILE = "portal-demo-logins.txt"


async def ensure_demo_staff(settings: CloudSettings) -> list[tuple[str, str]]:
    path = Path(settings.data_dir) / LOGINS_FILE
    if path.exists():
        return [tuple(line.split(" ", 1)) for line in path.read_text().splitlines() if " " in line]
    db = Database(settings.database_url)
    await db.start()
    try:
        await migrate(db)
        # adding staff sends no mail; the mailer is only there because the service needs one
        accounts = Accounts(db, SystemClock(), SmtpMailer(settings.smtp_url or "smtp://127.0.0.1:25",
                                                         settings.mail_from), settings.signing_key(), settings.public_url)
        logins = []
        for email, role, name in DEMO_STAFF:
            if await db.execute("SELECT 1 AS yes FROM accounts WHERE email = {}", email):
                continue
            password = secrets.token_urlsafe(12)
            await accounts.add(email, role, password, name)
            logins.append((email, password))
    finally:
        await db.stop()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text("".join(f"{e} {p}\n" for e, p in logins))
    return logins
