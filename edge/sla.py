"""The service standard's completion time: a visitor is served at most 5 minutes after filling the guestbook.

Pure arithmetic over waits (guestbook submitted → service started), for the console's countdowns and the reports;
the report's arithmetic is shared with the cloud in `pst.reports`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from pst.reports import SERVICE_STANDARD, percentile, summarize_waits, wait_json

__all__ = [
    "STANDARD", "WARNING", "VisitWait", "percentile", "seconds_left", "serve_by", "service_report", "sla_state", "summarize",
]

STANDARD = SERVICE_STANDARD
WARNING = timedelta(minutes=4)


def serve_by(checked_in_at: datetime) -> datetime:
    return checked_in_at + STANDARD


def seconds_left(serve_by_at: datetime, now: datetime) -> int:
    """Whole seconds until the promised time; negative once it has passed (the visitor's page says by how much)."""
    return int((serve_by_at - now).total_seconds() // 1)


def sla_state(waited: timedelta) -> str:
    """ok under 4 minutes, warning from 4, breach from 5."""
    if waited >= STANDARD:
        return "breach"
    if waited >= WARNING:
        return "warning"
    return "ok"


@dataclass(frozen=True)
class VisitWait:
    day: str  # office-time date of the check-in
    checked_in_at: datetime
    wait_s: float | None  # None while not yet served


def summarize(visits: list[VisitWait], now: datetime) -> dict:
    """Visits, served, median and p90 wait, and the share served within 5 minutes (see pst.reports)."""
    return wait_json(summarize_waits(visits, now))


def service_report(visits: Iterable[VisitWait], now: datetime) -> dict:
    visits = list(visits)
    by_day: dict[str, list[VisitWait]] = defaultdict(list)
    for visit in visits:
        by_day[visit.day].append(visit)
    report = summarize(visits, now)
    report["days"] = [{"date": day} | summarize(by_day[day], now) for day in sorted(by_day)]
    return report
