"""The figures of the office head's report, computed from plain rows: visits per day, week and month, who came and
why, queue waits against the 5-minute standard, hardcopy fetches, scanned pages, the IKM and complaints.

Shared by the appliance (rows from its SQLite store) and the cloud (rows from its tables, per office or for all
offices); pure, no web or database imports. Days, weeks and months are the office's (its time zone); a week runs
Monday to Sunday and is cut at the ends of the period.

A wait is counted in whole seconds, rounded up (`wait_seconds`): the portal keeps the appliance's waits that way, and
the same rule on both sides is what makes the two report the same median and 90th percentile.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

from pst import formats
from pst.skm import ELEMENTS, MONTHS, WEIGHT, IkmResult, Period, compute_ikm, shown

SERVICE_STANDARD = timedelta(minutes=5)  # served at most 5 minutes after filling the guestbook
TOP_INSTITUTIONS = 10
MAX_DAYS = 366

# The guestbook's words (edge/guestbook.py asks with these; tests/test_reports.py keeps the two lists equal).
PURPOSES = {
    "baca_tercetak": "Membaca pustaka tercetak", "pustaka_digital": "Pustaka digital", "pindai": "Memindai",
    "softcopy": "Meminta softcopy", "lainnya": "Lainnya",
}
EDUCATION = {"sma": "≤ SMA", "diploma": "D1/D2/D3", "s1": "D4/S1", "s2": "S2", "s3": "S3"}
OCCUPATIONS = {
    "pelajar": "Pelajar/Mahasiswa", "peneliti": "Peneliti/Dosen", "asn": "ASN/TNI/Polri", "bumn": "Pegawai BUMN/BUMD",
    "swasta": "Karyawan swasta", "wiraswasta": "Wiraswasta", "jurnalis": "Jurnalis", "lainnya": "Lainnya",
}
COMPLAINT_STATUSES = {"diterima": "Diterima", "ditindaklanjuti": "Ditindaklanjuti", "selesai": "Selesai"}
NOT_FILLED = "Tidak diisi"
OTHERS = "Lainnya"
ZONE_NAMES = {"Asia/Jakarta": "WIB", "Asia/Pontianak": "WIB", "Asia/Makassar": "WITA", "Asia/Jayapura": "WIT"}


# --- rows in ---------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class VisitRow:
    checked_in_at: datetime  # aware
    wait_s: float | None  # guestbook submitted → service started; None while not served
    purposes: tuple[str, ...] = ()
    institution: str | None = None
    education: str | None = None
    occupation: str | None = None


@dataclass(frozen=True)
class FetchRow:
    requested_at: datetime
    status: str  # diminta, diambil, diserahkan, dikembalikan, tidak_tersedia, dibatalkan


@dataclass(frozen=True)
class ScanRow:
    at: datetime
    pages: int
    status: str  # ready | failed | scanning


@dataclass(frozen=True)
class ComplaintRow:
    received_at: datetime
    status: str
    resolved_at: datetime | None = None


@dataclass(frozen=True)
class RatingRow:
    rated_at: datetime
    scores: Mapping[str, int]  # code → 1..4, the elements answered


# --- figures out -----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Count:
    key: str
    label: str
    value: int


@dataclass(frozen=True)
class Waits:
    visits: int
    served: int
    median_s: float | None
    p90_s: float | None
    within: int  # served within the standard
    decided: int  # served, or waiting past the standard
    ratio: float | None  # within / decided


@dataclass(frozen=True)
class Day:
    day: date
    waits: Waits


@dataclass(frozen=True)
class Fetches:
    requests: int
    handed: int  # handed to the visitor (returned ones included)
    unavailable: int
    cancelled: int
    open: int


@dataclass(frozen=True)
class Scans:
    jobs: int
    pages: int
    failed: int


@dataclass(frozen=True)
class Complaints:
    total: int
    by_status: tuple[Count, ...]
    resolved: int
    median_resolve_s: float | None


@dataclass(frozen=True)
class Figures:
    office_code: str  # "" for all offices
    office_name: str  # "Provinsi Sulawesi Tenggara", without "BPS"
    start: date
    end: date  # inclusive
    tz: ZoneInfo
    made_at: datetime
    waits: Waits
    days: tuple[Day, ...]  # days with visits, in order (the API's "days")
    by_day: tuple[Count, ...]  # every day of the period, zeros included
    by_week: tuple[Count, ...]
    by_month: tuple[Count, ...]
    purposes: tuple[Count, ...]
    institutions: tuple[Count, ...]  # the top ones, then "Lainnya" for the rest
    education: tuple[Count, ...]
    occupation: tuple[Count, ...]
    fetches: Fetches
    scans: Scans
    ikm: IkmResult
    complaints: Complaints

    @property
    def visits(self) -> int:
        return self.waits.visits

    @property
    def zone(self) -> str:
        return ZONE_NAMES.get(self.tz.key, self.tz.key)

    @property
    def empty(self) -> bool:
        """Nothing happened in the period: no visit, rating, complaint, fetch or scan (the page says so plainly)."""
        return not (self.visits or self.ikm.respondents or self.complaints.total or self.fetches.requests
                    or self.scans.jobs)


@dataclass(frozen=True)
class IkmLine:
    """One element's row of the IKM sheet."""

    code: str
    name: str
    answers: int
    nrr: Fraction | None
    weighted: Fraction | None  # NRR × 1/9, exact


@dataclass(frozen=True)
class IkmReport:
    """The IKM of one office (or of all, `office_code` "") over one period: what the A4 sheet and the IKM pages show,
    on the appliance and on the portal alike."""

    office_code: str
    office_name: str  # "Provinsi Sulawesi Tenggara", without "BPS"; "" for all offices
    period: Period
    result: IkmResult
    tz: ZoneInfo
    made_at: datetime

    @property
    def empty(self) -> bool:
        return not self.result.respondents

    @property
    def made_on(self) -> date:
        """The office day it was made: the date beside the signature."""
        return self.made_at.astimezone(self.tz).date()

    @property
    def lines(self) -> list[IkmLine]:
        """U1..U9 in the regulation's order."""
        result = self.result
        return [IkmLine(e.code, e.name, result.answers[e.code], result.nrr[e.code],
                        None if result.nrr[e.code] is None else result.nrr[e.code] * WEIGHT) for e in ELEMENTS]

    @property
    def lowest(self) -> list[IkmLine]:
        """The answered elements from the lowest average up, at most three: what to improve first."""
        by_code = {line.code: line for line in self.lines}
        return [by_code[e.code] for e, value in self.result.weakest_first() if value is not None][:3]


def ikm_filename(report: IkmReport) -> str:
    """"ikm-7400-2026-T3.pdf"; "semua" for all offices."""
    return f"ikm-{report.office_code or 'semua'}-{report.period.key}.pdf"


def percentile(values: list[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (as numpy's default); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return float(ordered[low] + (ordered[high] - ordered[low]) * (position - low))


def wait_seconds(wait_s: float | None) -> int | None:
    """A wait in whole seconds, rounded up: 300.4 s is past the 5 minutes, 167.4 s counts as 168.

    The appliance measures a wait to the millisecond; the portal keeps it in whole seconds, rounded up (the sync
    stores it so). Both sides pass their waits through here before any figure, so a median or a 90th percentile
    is the same on the appliance and on the portal, and rounding up never flatters the service standard.
    """
    return None if wait_s is None else math.ceil(wait_s)


def summarize_waits(visits: Iterable, now: datetime) -> Waits:
    """Over rows with `checked_in_at` and `wait_s` (seconds, `wait_seconds` applied here). A visitor still inside
    their 5 minutes is not yet a success or a failure and is left out of the share; one waiting past them counts as
    a failure. `now` is the clock of the side that reports."""
    visits = list(visits)
    seconds = [wait_seconds(v.wait_s) for v in visits]
    waits = [s for s in seconds if s is not None]
    decided = [s for v, s in zip(visits, seconds) if s is not None or now - v.checked_in_at >= SERVICE_STANDARD]
    within = sum(1 for s in decided if s is not None and s <= SERVICE_STANDARD.total_seconds())
    return Waits(
        visits=len(visits), served=len(waits), median_s=percentile(waits, 50), p90_s=percentile(waits, 90),
        within=within, decided=len(decided), ratio=within / len(decided) if decided else None,
    )


def wait_json(waits: Waits) -> dict:
    """The service standard's figures as the API has always given them."""
    return {
        "visits": waits.visits,
        "served": waits.served,
        "median_wait_s": None if waits.median_s is None else round(waits.median_s, 1),
        "p90_wait_s": None if waits.p90_s is None else round(waits.p90_s, 1),
        "within_5min_ratio": None if waits.ratio is None else round(waits.ratio, 4),
    }


def compute_figures(
    start: date, end: date, tz: ZoneInfo, now: datetime, *, office_code: str = "", office_name: str = "",
    visits: Iterable[VisitRow] = (), ratings: Iterable[RatingRow] = (), complaints: Iterable[ComplaintRow] = (),
    fetches: Iterable[FetchRow] = (), scans: Iterable[ScanRow] = (), top: int = TOP_INSTITUTIONS,
) -> Figures:
    """Every figure over the office days start..end (inclusive); rows outside them are left out."""
    inside = _inside(start, end, tz)
    visits = [v for v in visits if inside(v.checked_in_at)]
    by_date: dict[date, list[VisitRow]] = defaultdict(list)
    for visit in visits:
        by_date[visit.checked_in_at.astimezone(tz).date()].append(visit)
    daily = {day: len(rows) for day, rows in by_date.items()}
    return Figures(
        office_code=office_code, office_name=office_name, start=start, end=end, tz=tz, made_at=now,
        waits=summarize_waits(visits, now),
        days=tuple(Day(day, summarize_waits(by_date[day], now)) for day in sorted(by_date)),
        by_day=tuple(Count(d.isoformat(), short_date(d), daily.get(d, 0))
                     for d in _dates(start, end)),
        by_week=_weeks(start, end, daily),
        by_month=_months(start, end, daily),
        purposes=_tally((p for v in visits for p in v.purposes), PURPOSES),
        institutions=top_institutions((v.institution for v in visits), top),
        education=_tally((v.education for v in visits), EDUCATION),
        occupation=_tally((v.occupation for v in visits), OCCUPATIONS),
        fetches=_fetches([f for f in fetches if inside(f.requested_at)]),
        scans=_scans([s for s in scans if inside(s.at)]),
        ikm=compute_ikm(r.scores for r in ratings if inside(r.rated_at) and r.scores),
        complaints=_complaints([c for c in complaints if inside(c.received_at)]),
    )


def _inside(start: date, end: date, tz: ZoneInfo):
    since = datetime.combine(start, datetime.min.time(), tz)
    until = datetime.combine(end + timedelta(days=1), datetime.min.time(), tz)
    return lambda moment: since <= moment < until


def _dates(start: date, end: date) -> list[date]:
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


def _weeks(start: date, end: date, daily: Mapping[date, int]) -> tuple[Count, ...]:
    weeks: dict[date, list[date]] = defaultdict(list)
    for day in _dates(start, end):
        weeks[day - timedelta(days=day.weekday())].append(day)
    counts = []
    for monday, days in weeks.items():
        first, last = days[0], days[-1]
        label = f"{short_date(first)}–{short_date(last)}" if first != last else short_date(first)
        counts.append(Count(f"{monday.isocalendar().year}-W{monday.isocalendar().week:02d}", label,
                            sum(daily.get(d, 0) for d in days)))
    return tuple(counts)


def _months(start: date, end: date, daily: Mapping[date, int]) -> tuple[Count, ...]:
    months: dict[tuple[int, int], int] = {}
    for day in _dates(start, end):
        months[(day.year, day.month)] = months.get((day.year, day.month), 0) + daily.get(day, 0)
    return tuple(Count(f"{y}-{m:02d}", f"{MONTHS[m - 1]} {y}", n) for (y, m), n in months.items())


def _tally(values: Iterable[str | None], words: Mapping[str, str]) -> tuple[Count, ...]:
    """Every known code in the guestbook's order (zeros kept, so periods compare), then unknown codes, then blanks."""
    counted = Counter(values)
    rows = [Count(code, label, counted.pop(code, 0)) for code, label in words.items()]
    blank = counted.pop(None, 0) + counted.pop("", 0)
    rows += [Count(code, code, n) for code, n in sorted(counted.items())]
    if blank:
        rows.append(Count("", NOT_FILLED, blank))
    return tuple(rows)


def institutions(names: Iterable[str | None]) -> tuple[Count, ...]:
    """Institutions as visitors typed them, counted alike whatever the case and spacing; each shown in its most
    frequent spelling; the most visiting first (ties by name), blanks last."""
    spellings: dict[str, Counter] = defaultdict(Counter)
    blank = 0
    for name in names:
        tidy = " ".join((name or "").split())
        if not tidy:
            blank += 1
            continue
        spellings[tidy.casefold()][tidy] += 1
    rows = [Count(key, seen.most_common(1)[0][0], sum(seen.values())) for key, seen in spellings.items()]
    rows.sort(key=lambda c: (-c.value, c.label.casefold()))
    return tuple(rows) + ((Count("", NOT_FILLED, blank),) if blank else ())


def top_institutions(names: Iterable[str | None], top: int) -> tuple[Count, ...]:
    """The `top` most visiting institutions and one "Lainnya" row for the rest, so the rows add up to the visits."""
    every = institutions(names)
    named = [c for c in every if c.key]
    rest = sum(c.value for c in named[top:])
    tail = [Count("*", OTHERS, rest)] if rest else []
    return tuple(named[:top] + tail + [c for c in every if not c.key])


def _fetches(rows: list[FetchRow]) -> Fetches:
    statuses = Counter(r.status for r in rows)
    return Fetches(
        requests=len(rows), handed=statuses["diserahkan"] + statuses["dikembalikan"],
        unavailable=statuses["tidak_tersedia"], cancelled=statuses["dibatalkan"],
        open=statuses["diminta"] + statuses["diambil"],
    )


def _scans(rows: list[ScanRow]) -> Scans:
    return Scans(jobs=len(rows), pages=sum(r.pages for r in rows), failed=sum(1 for r in rows if r.status == "failed"))


def _complaints(rows: list[ComplaintRow]) -> Complaints:
    statuses = Counter(r.status for r in rows)
    took = [(r.resolved_at - r.received_at).total_seconds() for r in rows if r.resolved_at is not None]
    return Complaints(
        total=len(rows),
        by_status=tuple(Count(code, label, statuses.get(code, 0)) for code, label in COMPLAINT_STATUSES.items()),
        resolved=len(took), median_resolve_s=percentile(took, 50),
    )


class RangeError(ValueError):
    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def read_range(start: str | None, end: str | None, today: date, default_start: date | None = None) -> tuple[date, date]:
    """The office days a report covers, from `?from=&to=` (YYYY-MM-DD, inclusive); today when not given, or from
    `default_start`. RangeError names each bad field, in Indonesian."""
    errors = {}
    parsed = {}
    for key, value, default in (("from", start, default_start or today), ("to", end, today)):
        try:
            parsed[key] = date.fromisoformat(value) if value else default
        except ValueError:
            errors[key] = "tanggal harus YYYY-MM-DD"
    if not errors and parsed["from"] > parsed["to"]:
        errors["from"] = "tidak boleh setelah 'to'"
    if not errors and (parsed["to"] - parsed["from"]).days >= MAX_DAYS:
        errors["to"] = f"rentang maks. {MAX_DAYS} hari"
    if errors:
        raise RangeError(errors)
    return parsed["from"], parsed["to"]


# --- words and numbers for people (pst.formats writes them; the A4 files are always Indonesian) ----------------------
def short_date(day: date) -> str:
    """"2 Nov": a chart's day."""
    return f"{day.day} {MONTHS[day.month - 1][:3]}"


def long_date(day: date) -> str:
    """"28 November 2026"."""
    return formats.day_words(day, "id")


def period_words(start: date, end: date) -> str:
    """"November 2026", "Triwulan III 2026" for a whole period, else "1 November 2026 s.d. 15 November 2026"."""
    return formats.range_words(start, end, "id")


def number(value: float | int | None, places: int = 0, locale: str = "id") -> str:
    """Indonesian: 1.234,5 — a dot between thousands, a comma before decimals; English 1,234.5; "—" for nothing."""
    return formats.decimal(value, places, locale)


def percent(ratio: float | None, locale: str = "id") -> str:
    return formats.percent(ratio, 1, locale)


def duration(seconds: float | None, locale: str = "id") -> str:
    """"3 mnt 20 dtk", "2 jam 5 mnt", "3 hari 4 jam" (English "3 min 20 s", "2 h 5 min", "3 d 4 h")."""
    return formats.duration(seconds, locale)


def ikm_number(result: IkmResult, locale: str = "id") -> str:
    return formats.cut(result.ikm, 2, locale)


def office_heading(figures: Figures) -> str:
    """The letterhead: "Badan Pusat Statistik Provinsi Sulawesi Tenggara"."""
    return f"Badan Pusat Statistik {figures.office_name}" if figures.office_name else "Badan Pusat Statistik"


def bare_office_name(name: str) -> str:
    """"BPS Kota Kendari" → "Kota Kendari"."""
    name = " ".join(name.split())
    for prefix in ("Badan Pusat Statistik ", "BPS "):
        if name.startswith(prefix):
            return name[len(prefix):]
    return name


# --- the API's shape ------------------------------------------------------------------------------------------------
def ikm_json(result: IkmResult) -> dict:
    """The IKM as the API gives it; values cut (not rounded) to 4 decimals, IKM to 2 (see pst.skm.shown)."""
    def cut(value, places):
        value = shown(value, places)
        return float(value) if value is not None else None

    return {
        "respondents": result.respondents,
        "nrr": {code: cut(value, 4) for code, value in result.nrr.items()},
        "answers": result.answers,
        "nrr_weighted": cut(result.nrr_weighted, 4),
        "ikm": cut(result.ikm, 2),
        "grade": result.grade.letter if result.grade else None,
        "performance": result.grade.performance if result.grade else None,
        "missing": list(result.missing),
        "weight": "1/9",
        "weakest_first": [element.code for element, _ in result.weakest_first()],
    }


def service_json(figures: Figures) -> dict:
    """`GET /api/reports/service`: the contract's fields first, then the report's other figures."""
    def counts(rows: tuple[Count, ...]) -> list[dict]:
        return [{"key": c.key, "label": c.label, "count": c.value} for c in rows]

    complaints = figures.complaints
    return wait_json(figures.waits) | {
        "days": [{"date": d.day.isoformat()} | wait_json(d.waits) for d in figures.days],
        "within_5min": figures.waits.within,
        "weeks": counts(figures.by_week),
        "months": counts(figures.by_month),
        "purposes": counts(figures.purposes),
        "institutions": counts(figures.institutions),
        "education": counts(figures.education),
        "occupation": counts(figures.occupation),
        "fetches": asdict(figures.fetches),
        "scans": asdict(figures.scans),
        "complaints": {
            "total": complaints.total, "resolved": complaints.resolved,
            "by_status": {c.key: c.value for c in complaints.by_status},
            "median_resolve_s": None if complaints.median_resolve_s is None else round(complaints.median_resolve_s),
        },
    }
