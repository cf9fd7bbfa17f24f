"""Demo staff logins for `pst up`: made once with random passwords, kept in the data folder, never in the repo."""

from __future__ import annotations

import secrets

from edge.migrations import migrate
from edge.settings import EdgeSettings
from edge.store import EdgeStore
from edge.users import add_user
from pst.clock import SystemClock

DEMO_ACCOUNTS = (("petugas", "frontliner"), ("pustakawan", "librarian"), ("admin", "admin"))


def ensure_demo_logins(settings: EdgeSettings) -> list[tuple[str, str]]:
    path = settings.data_dir / "demo-logins.txt"
    if path.exists():
        return [tuple(line.split(" ", 1)) for line in path.read_text().splitlines() if " " in line]
    store = EdgeStore(settings.db_path)
    try:
        store.ensure_sound()
        migrate(store)
        logins = []
        for username, role in DEMO_ACCOUNTS:
            if store.read.execute("SELECT 1 FROM users WHERE username = ?", [username]).fetchone():
                continue
            password = secrets.token_urlsafe(9)
            add_user(store, SystemClock(), username, role, password)
            logins.append((username, password))
    finally:
        store.close()
    path.touch(mode=0o600)
    path.write_text("".join(f"{u} {p}\n" for u, p in logins))
    return logins
