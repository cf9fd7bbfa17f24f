"""The service standard's completion time: a visitor is served at most 5 minutes after filling the guestbook.

Pure arithmetic over waits (guestbook submitted → service started), for the console's countdowns and the reports.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

STANDARD = timedelta(minutes=5)
WARNING = timedelta(minutes=4)


def serve_by(checked_in_at: datetime) -> datetime:
    return checked_in_at + STANDARD


def sla_state(waited: timedelta) -> str:
    """ok under 4 minutes, warning from 4, breach from 5."""
    if waited >= STANDARD:
        return "breach"
    if waited >= WARNING:
        return "warning"
    return "ok"


def percentile(values: list[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (as numpy's default); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass(frozen=True)
class VisitWait:
    day: str  # office-time date of the check-in
    checked_in_at: datetime
    wait_s: float | None  # None while not yet served


def summarize(visits: list[VisitWait], now: datetime) -> dict:
    """Visits, served, median and p90 wait, and the share served within 5 minutes.

    The share counts every visit whose 5 minutes have run out or who was served; a visitor still inside their
    5 minutes is not yet a success or a failure and is left out of it.
    """
    waits = [v.wait_s for v in visits if v.wait_s is not None]
    decided = [v for v in visits if v.wait_s is not None or now - v.checked_in_at >= STANDARD]
    within = [v for v in decided if v.wait_s is not None and v.wait_s <= STANDARD.total_seconds()]
    median, p90 = percentile(waits, 50), percentile(waits, 90)
    return {
        "visits": len(visits),
        "served": len(waits),
        "median_wait_s": None if median is None else round(median, 1),
        "p90_wait_s": None if p90 is None else round(p90, 1),
        "within_5min_ratio": round(len(within) / len(decided), 4) if decided else None,
    }


def service_report(visits: Iterable[VisitWait], now: datetime) -> dict:
    visits = list(visits)
    by_day: dict[str, list[VisitWait]] = defaultdict(list)
    for visit in visits:
        by_day[visit.day].append(visit)
    report = summarize(visits, now)
    report["days"] = [{"date": day} | summarize(by_day[day], now) for day in sorted(by_day)]
    return report
