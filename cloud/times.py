"""How the portal writes a moment for people: in the office's zone (WITA), day first, with the month's short name
and the clock as the page's language writes them — "5 Des 2026 14.02 WITA", "5 Dec 2026 14:02 WITA"."""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from babel.dates import format_datetime

WITA = ZoneInfo("Asia/Makassar")  # the offices so far (as cloud.reading's watermarks and cloud.audit's pages)
ZONE_NAMES = {"Asia/Jakarta": "WIB", "Asia/Pontianak": "WIB", "Asia/Makassar": "WITA", "Asia/Jayapura": "WIT"}
CLOCKS = {"id": "HH.mm"}  # Indonesian writes 14.02; English and the others 14:02


def office_time(value: datetime | str | None, locale: str = "id", separator: str = " ", tz: ZoneInfo = WITA) -> str:
    """`value` (a datetime, or ISO text; without a zone it is UTC) in office time; "—" when there is none.
    `separator` goes between the date and the clock ("5 Des 2026, 14.02 WITA" on the complaint pages)."""
    if value in (None, ""):
        return "—"
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    day = format_datetime(moment, "d MMM y", tzinfo=tz, locale=locale)
    clock = format_datetime(moment, CLOCKS.get(locale, "HH:mm"), tzinfo=tz, locale=locale)
    return f"{day}{separator}{clock} {ZONE_NAMES.get(tz.key, tz.key)}"
