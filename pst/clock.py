"""Time as the services see it: an aware UTC `now()` and a `monotonic()` for intervals.

Code takes a clock instead of calling `datetime.now()`, so the service standard's minutes can be tested exactly.
`ManualClock` is the product's own settable clock (simulation and tests).
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...

    def monotonic(self) -> float: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(timezone.utc)

    def monotonic(self) -> float:
        return time.monotonic()


class ManualClock:
    """A clock that moves only when told to."""

    def __init__(self, start: datetime):
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = start.astimezone(timezone.utc)
        self._mono = 1000.0
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def monotonic(self) -> float:
        with self._lock:
            return self._mono

    def advance(self, seconds: float = 0, **delta) -> None:
        step = timedelta(seconds=seconds, **delta)
        with self._lock:
            self._now += step
            self._mono += step.total_seconds()

    def set(self, when: datetime) -> None:
        with self._lock:
            step = (when.astimezone(timezone.utc) - self._now).total_seconds()
            self._now = when.astimezone(timezone.utc)
            self._mono += max(step, 0.0)


def iso(moment: datetime) -> str:
    """ISO 8601 with offset and milliseconds, the form used in the store and on the wire."""
    return moment.isoformat(timespec="milliseconds")
