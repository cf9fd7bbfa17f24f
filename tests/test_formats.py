"""Numbers, dates, times and periods as people read them, in the page's language (Babel): the functions and the Jinja
filters both apps register."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal
from fractions import Fraction

import pytest
from jinja2 import Environment

from pst import formats
from pst.i18n import current_language
from pst.skm import Period
from tests.conftest import WITA


@pytest.mark.parametrize("value, places, most, indonesian, english", [
    (1234567, 0, None, "1.234.567", "1,234,567"),
    (3.21, 2, None, "3,21", "3.21"),
    (1234.5, 1, None, "1.234,5", "1,234.5"),
    (Fraction(10, 3), 4, None, "3,3333", "3.3333"),
    (Decimal("2.5996"), 2, 4, "2,5996", "2.5996"),
    (Decimal("2.6"), 2, 4, "2,60", "2.60"),
    (0, 2, None, "0,00", "0.00"),
    (None, 2, None, "—", "—"),
    (float("nan"), 1, None, "—", "—"),
    (float("inf"), 0, None, "—", "—"),
])
def test_decimals_in_indonesian_and_english(value, places, most, indonesian, english):
    assert formats.decimal(value, places, "id", most) == indonesian
    assert formats.decimal(value, places, "en", most) == english


@pytest.mark.parametrize("ratio, indonesian, english", [
    (0.5714, "57,1%", "57.1%"), (1, "100,0%", "100.0%"), (0, "0,0%", "0.0%"), (None, "—", "—"),
    (float("nan"), "—", "—"),
])
def test_a_share_never_reads_nan(ratio, indonesian, english):
    assert (formats.percent(ratio, 1, "id"), formats.percent(ratio, 1, "en")) == (indonesian, english)


def test_ikm_figures_are_cut_not_rounded():
    assert formats.cut(Fraction(766099, 10000), 2, "id") == "76,60"  # rounded it would read 76,61: grade B
    assert formats.cut(Fraction(2, 3), 4, "en") == "0.6666"
    assert formats.cut(None, 2, "id") == "—"


@pytest.mark.parametrize("seconds, indonesian, english", [
    (167.4, "2 mnt 47 dtk", "2 min 47 s"), (7500, "2 jam 5 mnt", "2 h 5 min"), (93600, "1 hari 2 jam", "1 d 2 h"),
    (None, "—", "—"),
])
def test_durations(seconds, indonesian, english):
    assert (formats.duration(seconds, "id"), formats.duration(seconds, "en")) == (indonesian, english)


def test_dates_and_times_one_way():
    moment = datetime(2026, 12, 5, 6, 2, tzinfo=timezone.utc)  # 14.02 in Kendari
    assert formats.day(date(2026, 12, 5), "id") == "5 Des 2026" and formats.day("2026-12-05", "en") == "5 Dec 2026"
    assert formats.day_words(date(2026, 12, 5), "id") == "5 Desember 2026"
    assert formats.clock(moment, WITA, "id") == "14.02" and formats.clock(moment, WITA, "en") == "14:02"
    assert formats.day_and_time(moment, WITA, "id") == "5 Des 2026 14.02"
    assert formats.day(None) == "—" and formats.clock(None, WITA) == "—"


@pytest.mark.parametrize("start, end, indonesian, english", [
    (date(2026, 11, 1), date(2026, 11, 30), "November 2026", "November 2026"),
    (date(2026, 7, 1), date(2026, 9, 30), "Triwulan III 2026", "Quarter III 2026"),
    (date(2026, 1, 1), date(2026, 6, 30), "Semester I 2026", "Semester I 2026"),
    (date(2026, 1, 1), date(2026, 12, 31), "Tahun 2026", "Year 2026"),
    (date(2026, 11, 30), date(2026, 11, 30), "30 November 2026", "30 November 2026"),
    (date(2026, 11, 3), date(2026, 11, 9), "3 November 2026 s.d. 9 November 2026",
     "3 November 2026 – 9 November 2026"),
])
def test_a_range_in_words_names_the_period_it_makes_up(start, end, indonesian, english):
    catalogue = {"Triwulan III 2026": "Quarter III 2026", "Tahun 2026": "Year 2026"}
    assert formats.range_words(start, end, "id") == indonesian
    assert formats.range_words(start, end, "en", lambda words: catalogue.get(words, words)) == english


def test_the_filters_follow_the_page_language():
    environment = Environment(autoescape=True)
    environment.filters["translated"] = lambda words: {"Triwulan III 2026": "Quarter III 2026"}.get(words, words)
    formats.register(environment)
    page = environment.from_string(
        "{{ n | decimal }} {{ r | percent }} {{ v | cut(4) }} {{ d | day }} {{ p | period }} {{ s | duration }}")
    values = {"n": 1234, "r": 0.5, "v": Fraction(10, 3), "d": date(2026, 12, 5), "p": Period(2026, "triwulan", 3),
              "s": 300}
    assert page.render(values) == "1.234 50,0% 3,3333 5 Des 2026 Triwulan III 2026 5 mnt 0 dtk"
    token = current_language.set("en")
    try:
        assert page.render(values) == "1,234 50.0% 3.3333 5 Dec 2026 Quarter III 2026 5 min 0 s"
    finally:
        current_language.reset(token)
