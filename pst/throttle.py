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


class Misses:
    """Wrong guesses per client address (a lookup of something that is not there, e.g. a complaint's tracking
    number), kept in memory, not on the card: past `limit` within `window` the address waits until the oldest leaves
    the window, while other addresses go on. The `addresses` most recently seen are kept."""

    def __init__(self, limit: int = ADDRESS_LIMIT, window: timedelta = WINDOW, addresses: int = 10_000):
        import threading
        from collections import OrderedDict

        self.limit, self.window, self.addresses = limit, window, addresses
        self._seen: OrderedDict[str, list[datetime]] = OrderedDict()
        self._lock = threading.Lock()

    def wait(self, address: str | None, now: datetime) -> int:
        """Seconds until `address` may guess again (0: now)."""
        with self._lock:
            recent = [at for at in self._seen.get(address or "", ()) if at > now - self.window]
        if len(recent) < self.limit:
            return 0
        return max(1, int((recent[-self.limit] + self.window - now).total_seconds()))

    def missed(self, address: str | None, now: datetime) -> None:
        key = address or ""
        with self._lock:
            recent = [at for at in self._seen.pop(key, ()) if at > now - self.window][-self.limit:]
            self._seen[key] = [*recent, now]  # newest last: the least recently seen go first
            while len(self._seen) > self.addresses:
                self._seen.popitem(last=False)
