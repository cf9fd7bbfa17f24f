"""The public satisfaction survey (SKM) and its index (IKM), as PermenPANRB No. 14 Tahun 2017 computes them.

Shared by the appliance and the cloud; pure (no web or database imports). Also here: how an answer sheet and a
comment are read (`read_scores`, `read_comment`) and the complaint rules (channels, life cycle, tracking numbers),
so that a desk and the portal refuse and accept alike.

Elements are kept by code AND name, because some implementations swap U8 and U9: here U8 is complaint handling and
U9 facilities, as in the list of elements of the regulation (its sample questionnaire prints them the other way round).

The survey is reported per period (`Period`): a month, a quarter (triwulan), a semester or a year.

Arithmetic is exact (`Fraction`): each weight is exactly 1/9 (the regulation prints 0.11, with which a perfect
score would give 99.0). Rounding happens only for display, and there by cutting, never rounding up (`shown`):
a shown value then never lands in a grade band its exact value is not in.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

SCALE = (1, 2, 3, 4)
WEIGHT = Fraction(1, 9)
CONVERSION = 25  # IKM = weighted NRR × 25, from 25 to 100


@dataclass(frozen=True)
class Element:
    code: str
    name: str
    question: str
    answers: tuple[str, str, str, str]  # the words for scores 1, 2, 3, 4

    def answer(self, score: int) -> str:
        return self.answers[score - 1]


ELEMENTS: tuple[Element, ...] = (
    Element("U1", "Persyaratan",
            "Bagaimana pendapat Saudara tentang kesesuaian persyaratan pelayanan dengan jenis pelayanannya?",
            ("Tidak sesuai", "Kurang sesuai", "Sesuai", "Sangat sesuai")),
    Element("U2", "Sistem, mekanisme, dan prosedur",
            "Bagaimana pemahaman Saudara tentang kemudahan prosedur pelayanan di unit ini?",
            ("Tidak mudah", "Kurang mudah", "Mudah", "Sangat mudah")),
    Element("U3", "Waktu penyelesaian",
            "Bagaimana pendapat Saudara tentang kecepatan waktu dalam memberikan pelayanan?",
            ("Tidak cepat", "Kurang cepat", "Cepat", "Sangat cepat")),
    Element("U4", "Biaya/tarif",
            "Bagaimana pendapat Saudara tentang kewajaran biaya/tarif dalam pelayanan?",
            ("Sangat mahal", "Cukup mahal", "Murah", "Gratis")),
    Element("U5", "Produk spesifikasi jenis pelayanan",
            "Bagaimana pendapat Saudara tentang kesesuaian produk pelayanan antara yang tercantum dalam standar"
            " pelayanan dengan hasil yang diberikan?",
            ("Tidak sesuai", "Kurang sesuai", "Sesuai", "Sangat sesuai")),
    Element("U6", "Kompetensi pelaksana",
            "Bagaimana pendapat Saudara tentang kompetensi/kemampuan petugas dalam pelayanan?",
            ("Tidak kompeten", "Kurang kompeten", "Kompeten", "Sangat kompeten")),
    Element("U7", "Perilaku pelaksana",
            "Bagaimana pendapat Saudara tentang perilaku petugas dalam pelayanan terkait kesopanan dan keramahan?",
            ("Tidak sopan dan ramah", "Kurang sopan dan ramah", "Sopan dan ramah", "Sangat sopan dan ramah")),
    Element("U8", "Penanganan pengaduan, saran dan masukan",
            "Bagaimana pendapat Saudara tentang penanganan pengaduan pengguna layanan?",
            ("Tidak ada", "Ada tetapi tidak berfungsi", "Berfungsi kurang maksimal", "Dikelola dengan baik")),
    Element("U9", "Sarana dan prasarana",
            "Bagaimana pendapat Saudara tentang kualitas sarana dan prasarana?",
            ("Buruk", "Cukup", "Baik", "Sangat baik")),
)
CODES = tuple(e.code for e in ELEMENTS)
BY_CODE = {e.code: e for e in ELEMENTS}
SCALE_WORDS = ("Tidak baik", "Kurang baik", "Baik", "Sangat baik")  # the generic meaning of 1..4


@dataclass(frozen=True)
class Grade:
    letter: str       # mutu pelayanan
    performance: str  # kinerja unit pelayanan
    lower: Fraction   # the weighted NRR (NI) from which the band starts (inclusive)


# The regulation's table, NI column: D 1.00–2.5996, C 2.60–3.064, B 3.0644–3.532, A 3.5324–4.00. Its printed
# ends leave gaps (2.5996…2.60, 3.064…3.0644, 3.532…3.5324); each band here runs up to the next one's lower
# bound, exclusive. The IKM column (×25) agrees exactly: 65.00, 76.61 and 88.31 are the same lower bounds, and
# its printed upper ends (64.99, 76.60, 88.30) leave the same gaps, closed the same way. An IKM of 76.605 is C;
# rounded half up it would read 76.61 beside a C, which is why `shown` cuts instead.
GRADES = (
    Grade("A", "Sangat baik", Fraction("3.5324")),
    Grade("B", "Baik", Fraction("3.0644")),
    Grade("C", "Kurang baik", Fraction("2.60")),
    Grade("D", "Tidak baik", Fraction(1)),
)


def grade_bands() -> list[tuple[Grade, Decimal, Decimal, Decimal, Decimal]]:
    """The regulation's table as it prints it, lowest band first: (grade, NI from, NI to, IKM from, IKM to). A band's
    printed upper end is the next band's lower bound less 0.0004 (NI) or 0.01 (IKM): 2.5996 and 64.99 for D."""
    bands = []
    upper_ni, upper_ikm = Decimal(4), Decimal(100)
    for grade in GRADES:  # A first: each band ends where the one above it starts
        lower_ni = Decimal(grade.lower.numerator) / Decimal(grade.lower.denominator)
        lower_ikm = shown(grade.lower * CONVERSION, 2)
        bands.append((grade, lower_ni, upper_ni, lower_ikm, upper_ikm))
        upper_ni, upper_ikm = lower_ni - Decimal("0.0004"), lower_ikm - Decimal("0.01")
    return bands[::-1]


def grade_of(nrr_weighted: Fraction) -> Grade:
    """The band of an exact weighted NRR (NI), decided on the unrounded value."""
    for grade in GRADES:
        if nrr_weighted >= grade.lower:
            return grade
    return GRADES[-1]  # below 1 cannot come from scores 1..4


@dataclass(frozen=True)
class IkmResult:
    respondents: int
    answers: dict[str, int]               # code → how many answered that element
    nrr: dict[str, Fraction | None]       # code → average score; None when nobody answered it
    nrr_weighted: Fraction | None         # None unless every element has at least one answer
    ikm: Fraction | None
    grade: Grade | None

    @property
    def missing(self) -> tuple[str, ...]:
        return tuple(code for code in CODES if self.nrr[code] is None)

    def weakest_first(self) -> list[tuple[Element, Fraction | None]]:
        """Elements from the lowest average up (what to improve first); unanswered ones last, in code order."""
        answered = sorted((e for e in ELEMENTS if self.nrr[e.code] is not None), key=lambda e: self.nrr[e.code])
        return [(e, self.nrr[e.code]) for e in answered] + [(e, None) for e in ELEMENTS if self.nrr[e.code] is None]


def compute_ikm(ratings: Iterable[Mapping[str, int]]) -> IkmResult:
    """IKM over `ratings`, each a mapping code → score 1..4; an element may be missing (a partial answer).

    NRR_i = sum of the scores given for element i / number of answers for element i, so a partial answer counts
    for the elements it answers and no other. A rating with no answer at all is not a respondent.

    An element that nobody answered has NRR None, and then the weighted NRR, IKM and grade are None too: the
    index is defined over all nine elements with 1/9 each, and re-weighting over the answered ones would give a
    figure that looks like an IKM but is not comparable with other periods or offices (dropping U4, nearly always
    "Gratis" = 4 at BPS, would lower it). The per-element averages are still reported.
    """
    sums = dict.fromkeys(CODES, 0)
    counts = dict.fromkeys(CODES, 0)
    respondents = 0
    for rating in ratings:
        check_scores(rating)
        if rating:
            respondents += 1
        for code, score in rating.items():
            sums[code] += score
            counts[code] += 1
    nrr = {code: Fraction(sums[code], counts[code]) if counts[code] else None for code in CODES}
    if any(value is None for value in nrr.values()):
        return IkmResult(respondents, counts, nrr, None, None, None)
    weighted = sum((value * WEIGHT for value in nrr.values()), Fraction(0))
    return IkmResult(respondents, counts, nrr, weighted, weighted * CONVERSION, grade_of(weighted))


def check_scores(rating: Mapping[str, int]) -> None:
    """ValueError unless every key is an element code and every score an integer 1..4."""
    for code, score in rating.items():
        if code not in BY_CODE:
            raise ValueError(f"unknown element {code!r}")
        if isinstance(score, bool) or not isinstance(score, int) or score not in SCALE:
            raise ValueError(f"{code}: score must be an integer 1..4, got {score!r}")


def shown(value: Fraction | None, places: int) -> Decimal | None:
    """`value` cut (not rounded) to `places` decimals, for display: 76.6099… shows as 76.60, still grade C."""
    if value is None:
        return None
    return Decimal(math.floor(value * 10**places)).scaleb(-places)


# --- the periods the survey is reported over -------------------------------------------------------------------------
MONTHS = ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September", "Oktober",
          "November", "Desember")
PERIOD_MONTHS = {"bulan": 1, "triwulan": 3, "semester": 6, "tahun": 12}  # kind → its length in months
ROMAN = ("I", "II", "III", "IV")
PERIOD_KEY = re.compile(r"(?P<year>\d{4})(?:-(?:(?P<month>\d{2})|T(?P<quarter>[1-4])|S(?P<semester>[12])))?")
RELATIVE = re.compile(r"(?P<kind>bulan|triwulan|semester|tahun)-(?P<which>ini|lalu)")
BAD_PERIOD = "periode harus TTTT, TTTT-BB, TTTT-T1..T4, TTTT-S1..S2 atau mis. triwulan-ini, triwulan-lalu"


class PeriodError(ValueError):
    """A period that cannot be read; `errors` names the field, as the report's range errors do."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class Period:
    """A month, quarter, semester or year; `number` counts within the year from 1 (month 1..12, quarter 1..4)."""

    year: int
    kind: str
    number: int = 1

    @property
    def start(self) -> date:
        return date(self.year, (self.number - 1) * PERIOD_MONTHS[self.kind] + 1, 1)

    @property
    def end(self) -> date:
        """The last day, inclusive."""
        return self.following().start - timedelta(days=1)

    @property
    def key(self) -> str:
        """"2026-11", "2026-T3", "2026-S2", "2026": what a link carries (`read_period` reads it back)."""
        prefix = {"bulan": f"{self.number:02d}", "triwulan": f"T{self.number}", "semester": f"S{self.number}"}
        return f"{self.year}-{prefix[self.kind]}" if self.kind in prefix else str(self.year)

    def words(self) -> str:
        """"November 2026", "Triwulan III 2026", "Semester II 2026", "Tahun 2026"."""
        if self.kind == "bulan":
            return f"{MONTHS[self.number - 1]} {self.year}"
        if self.kind == "tahun":
            return f"Tahun {self.year}"
        return f"{self.kind.capitalize()} {ROMAN[self.number - 1]} {self.year}"

    def previous(self) -> Period:
        if self.number > 1:
            return Period(self.year, self.kind, self.number - 1)
        return Period(self.year - 1, self.kind, 12 // PERIOD_MONTHS[self.kind])

    def following(self) -> Period:
        if self.number < 12 // PERIOD_MONTHS[self.kind]:
            return Period(self.year, self.kind, self.number + 1)
        return Period(self.year + 1, self.kind, 1)


def period_of(kind: str, day: date) -> Period:
    """The `kind` of period `day` falls in: period_of("triwulan", 5 August 2026) is Triwulan III 2026."""
    return Period(day.year, kind, (day.month - 1) // PERIOD_MONTHS[kind] + 1)


def periods_around(today: date) -> list[tuple[Period, Period]]:
    """For each kind, the period `today` is in and the one before it: the choices a report offers at one click."""
    return [(period_of(kind, today), period_of(kind, today).previous()) for kind in PERIOD_MONTHS]


def read_period(text: str | None, today: date) -> Period:
    """A period from a link: a key ("2026-T3") or one relative to today ("triwulan-ini", "bulan-lalu"); this
    month when not given. PeriodError otherwise; nothing after the year 9999 or before 2000."""
    text = (text or "bulan-ini").strip()
    relative = RELATIVE.fullmatch(text)
    if relative:
        current = period_of(relative["kind"], today)
        return current if relative["which"] == "ini" else current.previous()
    found = PERIOD_KEY.fullmatch(text)
    if not found or not 2000 <= int(found["year"]) <= 9998:
        raise PeriodError({"periode": BAD_PERIOD})
    year = int(found["year"])
    if found["month"]:
        if not 1 <= int(found["month"]) <= 12:
            raise PeriodError({"periode": BAD_PERIOD})
        return Period(year, "bulan", int(found["month"]))
    if found["quarter"]:
        return Period(year, "triwulan", int(found["quarter"]))
    if found["semester"]:
        return Period(year, "semester", int(found["semester"]))
    return Period(year, "tahun")


def period_covering(start: date, end: date) -> Period | None:
    """The month, quarter, semester or year that is exactly start..end, if any (the shortest kind first)."""
    for kind in PERIOD_MONTHS:
        period = period_of(kind, start)
        if period.start == start and period.end == end:
            return period
    return None


# --- reading an answer sheet: the rules the appliance and the portal both apply --------------------------------------
# Each side words the problems in its own message catalogue; these are their kinds.
NOT_AN_OBJECT = "not_an_object"  # the scores are not a mapping of codes
UNKNOWN_ELEMENT = "unknown_element"
NOT_A_SCORE = "not_a_score"      # anything but an integer 1..4 (True, 3.5, "baik", 0, 5)
UNANSWERED = "unanswered"        # an element left out where all nine are asked
NO_ANSWER = "no_answer"          # not one element answered
COMMENT_MAX = 1000
NOT_TEXT, TOO_LONG = "not_text", "too_long"


def read_scores(scores: object, require_all: bool, text_digits: bool = True) -> tuple[dict[str, int], dict[str, str]]:
    """An answer sheet as ({code: 1..4}, {field: problem}); the sheet is good when the problems are empty.

    An empty value (None, "") leaves the element unanswered. Digits as text count as the number when
    `text_digits` (an HTML form posts text); a JSON API may refuse them. At least one element is always needed,
    all nine when `require_all` (a questionnaire the respondent fills in alone). A problem's field is the
    element's code, cut to 10 characters when the code is not one of ours, or "scores" for the sheet as a whole.
    """
    if not isinstance(scores, Mapping):
        return {}, {"scores": NOT_AN_OBJECT}
    clean: dict[str, int] = {}
    problems: dict[str, str] = {}
    for code, value in scores.items():
        if code not in BY_CODE:
            problems[str(code)[:10]] = UNKNOWN_ELEMENT
            continue
        if text_digits and isinstance(value, str) and value.strip().isdigit():
            value = int(value)
        if value is None or value == "":
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value not in SCALE:
            problems[code] = NOT_A_SCORE
        else:
            clean[code] = value
    if require_all:
        problems |= {code: UNANSWERED for code in CODES if code not in clean and code not in problems}
    if not clean and not problems:
        problems["scores"] = NO_ANSWER
    return clean, problems


def read_comment(comment: object) -> tuple[str | None, str | None]:
    """The respondent's suggestion as typed (None when blank) and its problem, if any."""
    if comment is None or (isinstance(comment, str) and not comment.strip()):
        return None, None
    if not isinstance(comment, str):
        return None, NOT_TEXT
    if len(comment) > COMMENT_MAX:
        return None, TOO_LONG
    return comment, None


# --- complaints (pengaduan): channels, life cycle and the tracking number -------------------------------------------
# Complaint handling is element U8 of the survey; its rules are kept here with it, for the desk and the portal alike.
CHANNELS = ("langsung", "kotak_saran", "website", "email", "whatsapp", "lapor")
STATUSES = ("diterima", "ditindaklanjuti", "selesai")
TRANSITIONS = {"ditindaklanjuti": ("diterima",), "selesai": ("diterima", "ditindaklanjuti")}  # target → from
COMPLAINT_TEXT_MIN, COMPLAINT_TEXT_MAX, CONTACT_MAX, RESPONSE_MAX = 10, 2000, 200, 2000
# No 0/O, 1/I/L or U: a tracking number reads aloud and types without mistakes, and 30^6 a month per office
# cannot be guessed from a neighbour's.
TRACKING_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
TRACKING = re.compile(r"ADU-\d{4}-\d{4}-[" + TRACKING_ALPHABET + r"]{6}")


def tracking_number(office_code: str, office_month: str, draw: Callable[[str], str]) -> str:
    """`ADU-<office>-<YYMM>-<6 characters>`; `draw(alphabet)` picks one character (secrets.choice)."""
    return f"ADU-{office_code}-{office_month}-{''.join(draw(TRACKING_ALPHABET) for _ in range(6))}"


def normalise_tracking(raw: object) -> str | None:
    """What the complainant typed, as a tracking number: case, spaces and dashes do not matter."""
    if not isinstance(raw, str):
        return None
    compact = re.sub(r"[\s-]", "", raw).upper()
    if not re.fullmatch(r"ADU\d{8}\w{6}", compact):
        return None
    tracking = f"{compact[:3]}-{compact[3:7]}-{compact[7:11]}-{compact[11:]}"
    return tracking if TRACKING.fullmatch(tracking) else None


# The respondent's age band of the SKM profile (the guestbook asks the age; reports count bands).
AGE_BANDS = ((20, "<20"), (30, "20-29"), (40, "30-39"), (50, "40-49"), (60, "50-59"), (200, "60+"))


def age_band(age: int | None) -> str | None:
    if age is None:
        return None
    return next(band for upper, band in AGE_BANDS if age < upper)
