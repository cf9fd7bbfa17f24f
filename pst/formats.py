"""How reports and their pages write numbers, dates and times for people, in the page's language, through Babel:
"1.234" and "3,21" in Indonesian, "1,234" and "3.21" in English; a date "5 Des 2026", a time "14.02" ("14:02"
outside Indonesian), a period in words ("Triwulan III 2026"). Also the Jinja filters both apps register (`register`).

Files for machines (CSV, XLSX, JSON) keep machine numbers and never come through here. Framework-free.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal, format_percent

from pst.i18n import language
from pst.skm import Period, period_covering, shown

if TYPE_CHECKING:
    from jinja2 import Environment

NOTHING = "—"  # what a figure that does not exist (yet) shows: never 0, never NaN
CLOCK_PATTERNS = {"id": "HH.mm"}  # Indonesian writes 14.02; other languages 14:02
DAY, DAY_WORDS = "d MMM y", "d MMMM y"  # "5 Des 2026" in tables and lines; "5 Desember 2026" in headings, signatures
UNITS = {"id": ("dtk", "mnt", "jam", "hari"), "en": ("s", "min", "h", "d")}
RANGE_JOINS = {"id": " s.d. "}  # "1 November 2026 s.d. 15 November 2026"; other languages an en dash


def _locale(locale: str | None) -> str:
    return locale or language()


def _plain(value):
    """A number Babel writes exactly: a Fraction (pst.skm's averages) becomes a Decimal of its float."""
    if isinstance(value, Fraction):
        return Decimal(repr(float(value)))
    return value


def _finite(value) -> bool:
    """A figure to write: not None, not NaN or infinite (a share of nothing must never read "NaN%")."""
    if value is None:
        return False
    try:
        return math.isfinite(value)
    except TypeError:
        return False


def decimal(value, places: int = 0, locale: str | None = None, most: int | None = None) -> str:
    """1234.5 → "1.234,50" with places=2 (Indonesian) or "1,234.50" (English); up to `most` decimals when the value
    has them (2.5996 with places=2, most=4 → "2,5996", 2.6 → "2,60"); "—" for nothing."""
    if not _finite(value):
        return NOTHING
    fraction = "0" * places + "#" * max(0, (most or places) - places)
    pattern = "#,##0" + ("." + fraction if fraction else "")
    return format_decimal(_plain(value), format=pattern, locale=_locale(locale))


def percent(ratio, places: int = 1, locale: str | None = None) -> str:
    """0.5714 → "57,1%"; "—" for a share of nothing."""
    if not _finite(ratio):
        return NOTHING
    pattern = "#,##0" + ("." + "0" * places if places else "") + "%"
    return format_percent(_plain(ratio), format=pattern, locale=_locale(locale))


def cut(value, places: int, locale: str | None = None) -> str:
    """An IKM figure cut (never rounded up) to `places` decimals, as pst.skm.shown: 76.6099… reads 76,60."""
    return decimal(shown(value, places) if isinstance(value, Fraction) else value, places, locale)


def duration(seconds, locale: str | None = None) -> str:
    """"3 mnt 20 dtk", "2 jam 5 mnt", "3 hari 4 jam" (English "3 min 20 s", "2 h 5 min", "3 d 4 h")."""
    if not _finite(seconds):
        return NOTHING
    s, m, h, d = UNITS.get(_locale(locale), UNITS["en"])
    seconds = int(round(seconds))
    if seconds < 3600:
        return f"{seconds // 60} {m} {seconds % 60} {s}"
    if seconds < 86400:
        return f"{seconds // 3600} {h} {seconds % 3600 // 60} {m}"
    return f"{seconds // 86400} {d} {seconds % 86400 // 3600} {h}"


def _date(value) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return date.fromisoformat(value[:10])
    return value.date() if isinstance(value, datetime) else value


def day(value, locale: str | None = None) -> str:
    """"5 Des 2026" (English "5 Dec 2026"); a datetime by its own date (give office time)."""
    value = _date(value)
    return NOTHING if value is None else format_date(value, DAY, locale=_locale(locale))


def day_words(value, locale: str | None = None) -> str:
    """"5 Desember 2026": a date in words, for headings and the signature."""
    value = _date(value)
    return NOTHING if value is None else format_date(value, DAY_WORDS, locale=_locale(locale))


def clock(moment: datetime | None, tz: ZoneInfo, locale: str | None = None) -> str:
    """"14.02" in office time ("14:02" outside Indonesian)."""
    if moment is None:
        return NOTHING
    locale = _locale(locale)
    return format_datetime(moment, CLOCK_PATTERNS.get(locale, "HH:mm"), tzinfo=tz, locale=locale)


def day_and_time(moment: datetime | None, tz: ZoneInfo, locale: str | None = None) -> str:
    """"5 Des 2026 14.02" in office time."""
    if moment is None:
        return NOTHING
    return f"{day(moment.astimezone(tz), locale)} {clock(moment, tz, locale)}"


def period_name(period: Period, locale: str | None = None, translate=None) -> str:
    """A period in words: a month by Babel in the page's language ("November 2026"); a quarter, a semester or a
    year as pst.skm writes it ("Triwulan III 2026"), through `translate` (the page's catalogue) when given."""
    locale = _locale(locale)
    if period.kind == "bulan":
        return format_date(period.start, "LLLL y", locale=locale)
    words = period.words()
    return translate(words) if translate and locale != "id" else words


def range_words(start, end, locale: str | None = None, translate=None) -> str:
    """Days start..end in words: the period they make up when they are one ("Triwulan III 2026", "November 2026"),
    else one day or "1 November 2026 s.d. 15 November 2026"."""
    start, end = _date(start), _date(end)
    if start is None or end is None:
        return NOTHING
    locale = _locale(locale)
    whole = period_covering(start, end)
    if whole is not None:
        return period_name(whole, locale, translate)
    if start == end:
        return day_words(start, locale)
    return RANGE_JOINS.get(locale, " – ").join(day_words(d, locale) for d in (start, end))


# --- Jinja ------------------------------------------------------------------------------------------------------------
def register(environment: Environment) -> None:
    """The filters in `environment` (after the app's catalogue is installed, whose `translated` they use):
    `decimal`, `percent`, `cut`, `duration`, `day`, `day_words`, `clock`, `day_and_time`, `period`, `range_words`."""
    def translate(text: str) -> str:
        return environment.filters.get("translated", str)(text)

    environment.filters.update({
        "decimal": decimal, "percent": percent, "cut": cut, "duration": duration, "day": day,
        "day_words": day_words, "clock": clock, "day_and_time": day_and_time,
        "period": lambda period: period_name(period, translate=translate),
        "range_words": lambda start, end: range_words(start, end, translate=translate),
    })
