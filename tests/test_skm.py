"""SKM/IKM against tables computed by hand: exact 1/9 weights, both sides of every grade boundary, partial answers."""

from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pst import skm
from pst.skm import BY_CODE, CODES, ELEMENTS, compute_ikm, grade_of, shown


def table(columns: dict[str, list[int]]) -> list[dict[str, int]]:
    """Ratings from a table written by column: columns[code][i] is respondent i's score (0 = not answered)."""
    rows = max(len(scores) for scores in columns.values())
    return [{code: scores[i] for code, scores in columns.items() if i < len(scores) and scores[i]} for i in range(rows)]


def spread(counts: dict[int, int]) -> list[int]:
    """A column given as how many answered each score: {4: 661, 3: 1339, 2: 500}."""
    return [score for score, n in sorted(counts.items(), reverse=True) for _ in range(n)]


def test_the_nine_elements_in_the_regulations_order_with_u8_complaints_and_u9_facilities():
    assert CODES == ("U1", "U2", "U3", "U4", "U5", "U6", "U7", "U8", "U9")
    assert BY_CODE["U4"].name == "Biaya/tarif" and BY_CODE["U4"].answers == ("Sangat mahal", "Cukup mahal", "Murah", "Gratis")
    assert BY_CODE["U8"].name.startswith("Penanganan pengaduan") and BY_CODE["U9"].name == "Sarana dan prasarana"
    assert all(len(e.answers) == 4 and e.question.endswith("?") for e in ELEMENTS)


def test_a_small_office_day_computed_by_hand():
    # 4 respondents. Column sums: U1 14, U2 13, U3 12, U4 16, U5 13, U6 14, U7 15, U8 11, U9 12 → Σ = 120
    # NRR: 3.5, 3.25, 3, 4, 3.25, 3.5, 3.75, 2.75, 3; weighted = 120 / 4 / 9 = 3.3333…; IKM = 83.333… → B
    ratings = table({
        "U1": [4, 3, 4, 3], "U2": [3, 3, 4, 3], "U3": [3, 3, 3, 3], "U4": [4, 4, 4, 4], "U5": [4, 3, 3, 3],
        "U6": [4, 3, 4, 3], "U7": [4, 4, 4, 3], "U8": [3, 2, 3, 3], "U9": [3, 3, 3, 3],
    })
    result = compute_ikm(ratings)
    assert result.respondents == 4
    assert result.nrr == {
        "U1": Fraction(7, 2), "U2": Fraction(13, 4), "U3": 3, "U4": 4, "U5": Fraction(13, 4), "U6": Fraction(7, 2),
        "U7": Fraction(15, 4), "U8": Fraction(11, 4), "U9": 3,
    }
    assert result.nrr_weighted == Fraction(10, 3) and result.ikm == Fraction(250, 3)
    assert (result.grade.letter, result.grade.performance) == ("B", "Baik")
    assert shown(result.ikm, 2) == Decimal("83.33") and shown(result.nrr_weighted, 4) == Decimal("3.3333")
    assert [e.code for e, _ in result.weakest_first()][:3] == ["U8", "U3", "U9"]  # ties keep code order


def test_exact_weights_give_100_for_a_perfect_score_not_99():
    result = compute_ikm([dict.fromkeys(CODES, 4)] * 3)
    assert result.ikm == 100 and result.grade.letter == "A"
    assert compute_ikm([dict.fromkeys(CODES, 1)]).ikm == 25


# Five respondents per element: Σ = 13 per column gives NRR 2.6 exactly (NI 2.60, IKM 65.00).
AT_C = [3, 3, 3, 2, 2]
# 2,500 respondents: Σ 7,661 gives 3.0644 (IKM 76.61); Σ 8,831 gives 3.5324 (IKM 88.31).
AT_B = spread({4: 661, 3: 1339, 2: 500})
AT_A = spread({4: 1500, 3: 831, 2: 169})


def one_point_less(column: list[int]) -> list[int]:
    lowered = list(column)
    lowered[lowered.index(3)] = 2
    return lowered


@pytest.mark.parametrize(
    "column, weighted, ikm_shown, letter",
    [
        (AT_C, Fraction("2.60"), "65.00", "C"),
        (AT_B, Fraction("3.0644"), "76.61", "B"),
        (AT_A, Fraction("3.5324"), "88.31", "A"),
    ],
)
def test_a_table_exactly_on_a_boundary_is_in_the_upper_band_and_one_point_less_is_not(column, weighted, ikm_shown, letter):
    on = compute_ikm(table(dict.fromkeys(CODES, column)))
    assert on.nrr_weighted == weighted and shown(on.ikm, 2) == Decimal(ikm_shown) and on.grade.letter == letter
    below = compute_ikm(table(dict.fromkeys(CODES, column) | {"U5": one_point_less(column)}))
    assert below.nrr_weighted == weighted - Fraction(1, 9 * len(column))
    assert below.grade.letter == chr(ord(letter) + 1)
    # cut, not rounded: 76.6088… shows as 76.60 (C), never as 76.61 beside a grade C
    assert shown(below.ikm, 2) < Decimal(ikm_shown) and shown(below.nrr_weighted, 4) < shown(weighted, 4)


@pytest.mark.parametrize(
    "weighted, letter",
    [
        ("1", "D"), ("2.5996", "D"), ("2.5999", "D"), ("2.599999999", "D"), ("2.60", "C"),
        ("3.064", "C"), ("3.0643", "C"), ("3.064399999", "C"), ("3.0644", "B"),
        ("3.532", "B"), ("3.5323", "B"), ("3.532399999", "B"), ("3.5324", "A"), ("4", "A"),
    ],
)
def test_both_sides_of_every_grade_boundary_including_the_gaps_of_the_printed_table(weighted, letter):
    assert grade_of(Fraction(weighted)).letter == letter


@pytest.mark.parametrize(
    "ikm, letter", [("64.99", "D"), ("64.9999", "D"), ("65.00", "C"), ("76.60", "C"), ("76.6099", "C"),
                    ("76.61", "B"), ("88.30", "B"), ("88.3099", "B"), ("88.31", "A"), ("100", "A")],
)
def test_the_ikm_column_gives_the_same_bands(ikm, letter):
    assert grade_of(Fraction(ikm) / 25).letter == letter


def test_partial_answers_average_over_those_who_answered_each_element():
    # U1: 4, 2 → 3; U2: 3 (one answer); U4: 4, 4, 4; the rest answered by respondent 3 only, all 3.
    third = {code: 3 for code in CODES if code not in ("U1", "U2")} | {"U4": 4}
    ratings = [{"U1": 4, "U2": 3, "U4": 4}, {"U1": 2, "U4": 4}, third]
    result = compute_ikm(ratings)
    assert result.respondents == 3 and result.answers["U1"] == 2 and result.answers["U4"] == 3
    assert result.nrr["U1"] == 3 and result.nrr["U2"] == 3 and result.nrr["U4"] == 4 and result.nrr["U9"] == 3
    # (3 + 3 + 3 + 4 + 3 × 5) / 9 = 28 / 9 = 3.111… → IKM 77.777… → B
    assert result.nrr_weighted == Fraction(28, 9) and result.grade.letter == "B"


def test_an_element_nobody_answered_leaves_the_index_empty_but_reports_the_others():
    result = compute_ikm([{code: 4 for code in CODES if code != "U4"}] * 2)
    assert result.nrr["U4"] is None and result.missing == ("U4",) and result.nrr["U1"] == 4
    assert result.nrr_weighted is None and result.ikm is None and result.grade is None
    assert [e.code for e, _ in result.weakest_first()][-1] == "U4"


def test_no_ratings_and_empty_ratings_count_no_respondent():
    for ratings in ([], [{}]):
        result = compute_ikm(ratings)
        assert result.respondents == 0 and result.ikm is None and result.missing == CODES


@pytest.mark.parametrize("rating", [{"U1": 5}, {"U1": 0}, {"U10": 3}, {"U1": "4"}, {"U1": True}, {"U1": 3.0}])
def test_a_score_outside_the_scale_is_refused(rating):
    with pytest.raises(ValueError):
        compute_ikm([rating])


complete = st.fixed_dictionaries({code: st.integers(1, 4) for code in CODES})
partial = st.dictionaries(st.sampled_from(CODES), st.integers(1, 4), min_size=1)


@given(st.lists(complete, min_size=1, max_size=40))
def test_complete_ratings_give_25_times_the_mean_of_all_scores(ratings):
    result = compute_ikm(ratings)
    total = sum(sum(r.values()) for r in ratings)
    assert result.ikm == Fraction(total * 25, 9 * len(ratings)) and 25 <= result.ikm <= 100
    assert result.grade == grade_of(result.nrr_weighted)


@given(st.lists(partial, min_size=1, max_size=40), st.randoms())
def test_the_order_of_ratings_does_not_matter(ratings, random):
    shuffled = list(ratings)
    random.shuffle(shuffled)
    assert compute_ikm(shuffled) == compute_ikm(ratings)


@given(st.lists(partial, min_size=1, max_size=30))
def test_weakest_first_is_sorted_and_lists_every_element_once(ratings):
    order = compute_ikm(ratings).weakest_first()
    assert sorted(e.code for e, _ in order) == list(CODES)
    values = [v for _, v in order if v is not None]
    assert values == sorted(values)


@given(st.fractions(min_value=1, max_value=4))
def test_a_shown_value_never_crosses_into_a_higher_band(value):
    assert grade_of(Fraction(shown(value, 4))).lower <= grade_of(value).lower
    assert grade_of(Fraction(shown(value * 25, 2)) / 25).lower <= grade_of(value).lower


# --- the answer sheet and the tracking number, as the appliance and the portal both read them ---------------------------
ALL_THREE = dict.fromkeys(CODES, 3)


@pytest.mark.parametrize(
    "scores, require_all, text_digits, clean, problems",
    [
        (ALL_THREE, True, False, ALL_THREE, {}),
        ({"U3": 2, "U7": 4}, False, False, {"U3": 2, "U7": 4}, {}),
        ({"U3": 2}, True, False, {"U3": 2}, {c: skm.UNANSWERED for c in CODES if c != "U3"}),
        ({"U1": "4"}, False, True, {"U1": 4}, {}),  # a form posts text
        ({"U1": "4"}, False, False, {}, {"U1": skm.NOT_A_SCORE}),  # a JSON API may want numbers
        ({"U1": 0, "U2": 5, "U3": True, "U4": 3.5, "U5": "baik"}, False, True, {},
         dict.fromkeys(("U1", "U2", "U3", "U4", "U5"), skm.NOT_A_SCORE)),
        ({"U1": 4, "U10": 4}, False, False, {"U1": 4}, {"U10": skm.UNKNOWN_ELEMENT}),
        ({"U1": None, "U2": ""}, False, True, {}, {"scores": skm.NO_ANSWER}),
        ([4] * 9, False, False, {}, {"scores": skm.NOT_AN_OBJECT}),
    ],
)
def test_an_answer_sheet_is_read_alike_at_the_desk_and_on_the_portal(scores, require_all, text_digits, clean, problems):
    assert skm.read_scores(scores, require_all, text_digits) == (clean, problems)


@pytest.mark.parametrize(
    "comment, read",
    [(None, (None, None)), ("  ", (None, None)), ("Bagus", ("Bagus", None)), (12, (None, skm.NOT_TEXT)),
     ("x" * skm.COMMENT_MAX, ("x" * skm.COMMENT_MAX, None)), ("x" * (skm.COMMENT_MAX + 1), (None, skm.TOO_LONG))],
)
def test_the_comment_is_kept_as_typed_up_to_the_limit(comment, read):
    assert skm.read_comment(comment) == read


def test_a_tracking_number_is_drawn_from_the_unmistakable_alphabet_and_read_back_however_typed():
    tracking = skm.tracking_number("7471", "2611", lambda alphabet: alphabet[-1])
    assert tracking == "ADU-7471-2611-ZZZZZZ" and skm.TRACKING.fullmatch(tracking)
    assert skm.normalise_tracking(" adu 7471 2611 zzzzzz ") == tracking
    assert skm.normalise_tracking("ADU-7471-2611-ZZZZZO") is None  # O is not in the alphabet
    assert skm.normalise_tracking(None) is None and skm.normalise_tracking("ADU-7471") is None


# --- the periods the survey is reported over ------------------------------------------------------------------------
TODAY = date(2026, 12, 5)


@pytest.mark.parametrize("kind, key, words, start, end", [
    ("bulan", "2026-12", "Desember 2026", date(2026, 12, 1), date(2026, 12, 31)),
    ("triwulan", "2026-T4", "Triwulan IV 2026", date(2026, 10, 1), date(2026, 12, 31)),
    ("semester", "2026-S2", "Semester II 2026", date(2026, 7, 1), date(2026, 12, 31)),
    ("tahun", "2026", "Tahun 2026", date(2026, 1, 1), date(2026, 12, 31)),
])
def test_the_period_a_day_falls_in_with_its_key_words_and_days(kind, key, words, start, end):
    period = skm.period_of(kind, TODAY)
    assert (period.key, period.words(), period.start, period.end) == (key, words, start, end)
    assert skm.read_period(key, TODAY) == period and skm.read_period(f"{kind}-ini", TODAY) == period
    assert skm.period_covering(start, end) == period


def test_the_previous_period_crosses_the_year_and_the_choices_offer_this_one_and_the_one_before():
    assert skm.read_period("triwulan-lalu", TODAY).words() == "Triwulan III 2026"
    assert skm.Period(2026, "triwulan", 1).previous().words() == "Triwulan IV 2025"
    assert skm.Period(2026, "bulan", 1).previous().key == "2025-12"
    assert skm.Period(2025, "semester", 2).following() == skm.Period(2026, "semester", 1)
    assert [(this.key, before.key) for this, before in skm.periods_around(TODAY)] == [
        ("2026-12", "2026-11"), ("2026-T4", "2026-T3"), ("2026-S2", "2026-S1"), ("2026", "2025")]
    assert skm.read_period(None, TODAY).key == "2026-12"  # this month when nothing is asked
    assert skm.Period(2024, "bulan", 2).end == date(2024, 2, 29)


@pytest.mark.parametrize("text", ["2026-13", "2026-T5", "2026-S3", "26-T1", "triwulan-depan", "1999", "2026-t3", "x"])
def test_a_period_that_cannot_be_read_names_the_field(text):
    with pytest.raises(skm.PeriodError) as refused:
        skm.read_period(text, TODAY)
    assert "periode" in refused.value.errors


def test_a_range_that_is_no_whole_period_has_none():
    assert skm.period_covering(date(2026, 11, 2), date(2026, 11, 30)) is None
    assert skm.period_covering(date(2026, 7, 1), date(2026, 12, 30)) is None


def test_the_grading_table_as_the_regulation_prints_it():
    printed = [(g.letter, str(ni_from), str(ni_to), str(ikm_from), str(ikm_to))
               for g, ni_from, ni_to, ikm_from, ikm_to in skm.grade_bands()]
    assert printed == [("D", "1", "2.5996", "25.00", "64.99"), ("C", "2.6", "3.0640", "65.00", "76.60"),
                       ("B", "3.0644", "3.5320", "76.61", "88.30"), ("A", "3.5324", "4", "88.31", "100")]
