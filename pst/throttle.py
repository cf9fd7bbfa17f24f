"""How many wrong sign-ins one client address may make, on the appliance and on the portal alike: past 20 within 15
minutes every sign-in from that address waits, whatever the account, while other addresses go on signing in."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

ADDRESS_LIMIT = 20
WINDOW = timedelta(minutes=15)


def address_wait(failures: Iterable[datetime], now: datetime) -> int:
    """Seconds until the address may try again (0: it may now): until the oldest of its last ADDRESS_LIMIT wrong
    sign-ins leaves the window."""
    recent = sorted(at for at in failures if at > now - WINDOW)
    if len(recent) < ADDRESS_LIMIT:
        return 0
    return max(1, int((recent[-ADDRESS_LIMIT] + WINDOW - now).total_seconds()))


def wait_message(seconds: int) -> str:
    minutes = max(1, round(seconds / 60))
    return f"Terlalu banyak percobaan masuk yang salah dari alamat ini. Coba lagi dalam {minutes} menit."
