"""Queue rules of the service standard, step 1: which day a ticket's number belongs to, how numbers look,
and when a button press counts. Pure functions: no database, no devices.
"""

from __future__ import annotations

import threading
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from edge.config import WEEKDAYS

Hours = dict[str, tuple[time, time] | None]


def service_day(moment: datetime, tz: ZoneInfo, hours: Hours, reset_at: str) -> date:
    """The date whose numbering a ticket issued at `moment` takes.

    With `reset_at = "opening"` numbers start at 001 for every opening of the service: a ticket taken before
    the doors open (or after closing) belongs to the next opening, so early arrivals are first in line that day.
    With a fixed "HH:MM", the numbering day starts at that office time.
    """
    local = moment.astimezone(tz)
    if reset_at != "opening":
        hh, mm = (int(part) for part in reset_at.split(":"))
        shifted = local - timedelta(hours=hh, minutes=mm)
        return shifted.date()
    for offset in range(8):
        day = local.date() + timedelta(days=offset)
        window = hours.get(WEEKDAYS[day.weekday()])
        if window is None:
            continue
        if offset > 0 or local.time() < window[1]:
            return day
    return local.date()  # no opening hours configured: calendar days


def next_opening(moment: datetime, tz: ZoneInfo, hours: Hours) -> datetime | None:
    """When the service next opens, or None when it is open now (or no hours are configured)."""
    local = moment.astimezone(tz)
    for offset in range(8):
        day = local.date() + timedelta(days=offset)
        window = hours.get(WEEKDAYS[day.weekday()])
        if window is None:
            continue
        start = datetime.combine(day, window[0], tz)
        end = datetime.combine(day, window[1], tz)
        if local < start:
            return start
        if local < end:
            return None
    return None


def format_number(prefix: str, seq: int) -> str:
    """A001 … A999, then A1000: never wraps, so a number is never issued twice in a day."""
    return f"{prefix}{seq:03d}"


def spoken_digits(number: str) -> str:
    """"A007" → "A 0 0 7", as the display board and the ticket say it."""
    return " ".join(number)


class PressGate:
    """One ticket per press: a press closer than `min_interval_s` to the last accepted one is ignored.

    Holding the button gives no repeat (the driver reports presses, not holds); this covers a bouncing
    contact and a visitor pressing twice.
    """

    def __init__(self, min_interval_s: float):
        self.min_interval_s = min_interval_s
        self._last: float | None = None
        self._lock = threading.Lock()

    def accept(self, monotonic_now: float) -> bool:
        with self._lock:
            if self._last is not None and monotonic_now - self._last < self.min_interval_s:
                return False
            self._last = monotonic_now
            return True
