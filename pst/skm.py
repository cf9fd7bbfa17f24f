"""The public satisfaction survey (SKM) and its index (IKM), as PermenPANRB No. 14 Tahun 2017 computes them.

Shared by the appliance and the cloud; pure (no web or database imports). Elements are kept by code AND name,
because some implementations swap U8 and U9: here U8 is complaint handling and U9 facilities, as in the list of
elements of the regulation (its sample questionnaire prints them the other way round).

Arithmetic is exact (`Fraction`): each weight is exactly 1/9 (the regulation prints 0.11, with which a perfect
score would give 99.0). Rounding happens only for display, and there by cutting, never rounding up (`shown`):
a shown value then never lands in a grade band its exact value is not in.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
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
