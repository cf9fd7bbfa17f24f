"""A hybrid logical clock for the appliance, and the test of whether its wall clock can be trusted.

A Raspberry Pi has no real-time clock: after a power cut it boots at 1970, or at the time fake-hwclock saved at the
last clean shutdown, until NTP answers — which it never does with the internet down. Records made then must keep
their order and be recognisable. The HLC gives every event a stamp that only grows (persisted with the events, so
it also grows across restarts), whatever the wall clock does; `clock_flag` says when the wall clock was not
trustworthy, so the sync can give those records corrected times from the cloud's clock.

Stamps are text that sorts in order: `<wall ms, 13 digits>.<counter, 5 digits>`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

# No appliance of this product ever ran before this instant: a wall clock earlier than it has not been set.
FLOOR = datetime(2026, 1, 1, tzinfo=timezone.utc)
# A wall clock this far behind the last stamp went backwards (a stale saved time after a power cut), not NTP slew.
BACKWARDS_TOLERANCE_MS = 120_000

UNSET = "unset"  # the wall clock read before FLOOR (1970 after a cold boot)
BEHIND = "behind"  # the wall clock read well before a stamp already given


@dataclass(frozen=True, order=True)
class Stamp:
    wall_ms: int
    counter: int

    def __str__(self) -> str:
        return f"{self.wall_ms:013d}.{self.counter:05d}"

    @classmethod
    def parse(cls, text: str) -> Stamp:
        wall, _, counter = text.partition(".")
        if not (wall.isdigit() and counter.isdigit()):
            raise ValueError(f"not an HLC stamp: {text!r}")
        return cls(int(wall), int(counter))

    @property
    def wall(self) -> datetime:
        return datetime.fromtimestamp(self.wall_ms / 1000, timezone.utc)


def tick(last: Stamp | None, now: datetime) -> tuple[Stamp, str | None]:
    """The next stamp after `last` for a local event at wall time `now`, and the clock flag for that event."""
    now_ms = int(now.timestamp() * 1000)
    flag = None
    if now < FLOOR:
        flag = UNSET
    elif last is not None and now_ms < last.wall_ms - BACKWARDS_TOLERANCE_MS:
        flag = BEHIND
    if last is None or now_ms > last.wall_ms:
        return Stamp(now_ms, 0), flag
    return Stamp(last.wall_ms, last.counter + 1), flag


def boot_id() -> str:
    """This boot of the machine (Linux); the monotonic clock counts from it."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return "unknown"
