"""The demo's month of desk activity: made through the appliance's services, so it lands in the outbox like a real
month, once."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime

from edge.catalogue import CatalogueService
from edge.demo_activity import ensure_demo_activity, generate_activity, office_days
from edge.demo_catalogue import seed_demo_catalogue
from edge.reports import report_figures

UNTIL = date(2026, 11, 30)  # a Monday: the month before it is 2026-10-31 … 2026-11-29


def test_a_month_of_office_days_goes_through_the_services_into_the_outbox(store, settings, clock):
    seed_demo_catalogue(CatalogueService(store, clock))
    visits = generate_activity(store, settings, UNTIL)
    days = office_days(settings.config, UNTIL)
    assert len(days) == 20 and days[0] == date(2026, 11, 2) and days[-1] == date(2026, 11, 27)
    read = store.read
    per_day = Counter(day for (day,) in read.execute("SELECT service_day FROM visits"))
    assert set(per_day) == {d.isoformat() for d in days} and min(per_day.values()) >= 9 and visits > 200
    assert read.execute("SELECT count(*) FROM visits WHERE finished_at IS NULL OR wait_s IS NULL").fetchone()[0] == 0
    events = Counter(read.execute("SELECT entity, op FROM outbox").fetchall())
    assert events[("visit", "checked_in")] == visits == events[("ticket", "issued")] == events[("visit", "checked_out")]
    for entity in ("rating", "complaint", "fetch_request", "scan", "locker_use"):
        assert any(e == entity for e, _ in events), entity
    statuses = {status for (status,) in read.execute("SELECT status FROM complaints")}
    assert statuses == {"diterima", "ditindaklanjuti", "selesai"}
    figures = report_figures(store, settings.config, date(2026, 10, 31), date(2026, 11, 29), clock.now())
    assert figures.visits == visits and figures.scans.pages > 0 and figures.fetches.handed > 0
    assert 0.7 < figures.waits.ratio < 0.97  # mostly inside the standard, not always
    assert figures.ikm.grade is not None and figures.ikm.respondents > 50


def test_the_demo_makes_its_month_once(settings):
    first = ensure_demo_activity(settings)
    assert first > 200
    assert ensure_demo_activity(settings) == 0
