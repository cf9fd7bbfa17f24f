from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.config import load_config
from edge.queue import PressGate, format_number, next_opening, service_day
from tests.conftest import WITA

CONFIG = load_config()


def day_of(local: datetime, reset_at: str = "opening") -> date:
    return service_day(local, WITA, CONFIG.hours, reset_at)


@pytest.mark.parametrize(
    "local, expected",
    [
        (datetime(2026, 11, 30, 9, 0), date(2026, 11, 30)),  # Monday, open
        (datetime(2026, 11, 30, 7, 15), date(2026, 11, 30)),  # before opening: first in line that day
        (datetime(2026, 11, 30, 16, 0), date(2026, 12, 1)),  # after closing: next opening
        (datetime(2026, 12, 4, 15, 45), date(2026, 12, 4)),  # Friday closes 16:00
        (datetime(2026, 12, 4, 16, 30), date(2026, 12, 7)),  # Friday evening → Monday
        (datetime(2026, 12, 5, 10, 0), date(2026, 12, 7)),  # Saturday → Monday
    ],
)
def test_numbers_belong_to_the_current_or_next_opening(local, expected):
    assert day_of(local.replace(tzinfo=WITA)) == expected


def test_a_fixed_reset_time_starts_the_day_there():
    assert day_of(datetime(2026, 11, 30, 4, 59, tzinfo=WITA), "05:00") == date(2026, 11, 29)
    assert day_of(datetime(2026, 11, 30, 5, 0, tzinfo=WITA), "05:00") == date(2026, 11, 30)


def test_service_day_uses_office_time_not_utc():
    # 23:30 UTC on Sunday is 07:30 WITA on Monday
    assert day_of(datetime(2026, 11, 29, 23, 30, tzinfo=timezone.utc)) == date(2026, 11, 30)


@given(st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(WITA)))
def test_service_day_is_never_before_today_nor_beyond_a_week(moment):
    day = day_of(moment)
    assert moment.date() <= day <= moment.date() + timedelta(days=7)
    assert CONFIG.hours[("mon", "tue", "wed", "thu", "fri", "sat", "sun")[day.weekday()]] is not None


def test_next_opening_is_none_while_open():
    assert next_opening(datetime(2026, 11, 30, 9, 0, tzinfo=WITA), WITA, CONFIG.hours) is None
    assert next_opening(datetime(2026, 12, 5, 9, 0, tzinfo=WITA), WITA, CONFIG.hours) == datetime(
        2026, 12, 7, 8, 0, tzinfo=WITA
    )


@pytest.mark.parametrize("seq, number", [(1, "A001"), (42, "A042"), (999, "A999"), (1000, "A1000")])
def test_numbers_never_wrap(seq, number):
    assert format_number("A", seq) == number


def test_press_gate_takes_one_press_per_interval():
    gate = PressGate(2.0)
    assert gate.accept(100.0)
    assert not gate.accept(101.9)
    assert gate.accept(102.0)
    assert PressGate(0).accept(1.0) and PressGate(0).accept(1.0)
