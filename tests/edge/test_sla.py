"""The 5-minute standard: countdown states, the report's arithmetic, and the report over HTTP with a set clock."""

from datetime import datetime, timedelta, timezone

import pytest

from edge.sla import VisitWait, percentile, service_report, sla_state, summarize
from edge.users import add_user

T0 = datetime(2026, 11, 30, 1, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    "seconds, state", [(0, "ok"), (239, "ok"), (240, "warning"), (299, "warning"), (300, "breach"), (900, "breach")]
)
def test_warning_at_four_minutes_breach_at_five(seconds, state):
    assert sla_state(timedelta(seconds=seconds)) == state


def test_percentiles_interpolate_between_ranks():
    assert percentile([], 50) is None
    assert percentile([60.0], 90) == 60.0
    assert percentile([10, 20, 30, 40], 50) == 25
    assert percentile(list(range(1, 11)), 90) == pytest.approx(9.1)


def test_a_visitor_still_inside_their_five_minutes_is_neither_success_nor_failure():
    visits = [
        VisitWait("2026-11-30", T0, 120.0),  # served in 2 min
        VisitWait("2026-11-30", T0, 420.0),  # served in 7 min
        VisitWait("2026-11-30", T0, None),  # waiting 10 min: already a breach
        VisitWait("2026-11-30", T0 + timedelta(minutes=8), None),  # waiting 2 min: undecided
    ]
    report = summarize(visits, now=T0 + timedelta(minutes=10))
    assert report == {
        "visits": 4, "served": 2, "median_wait_s": 270.0, "p90_wait_s": 390.0, "within_5min_ratio": round(1 / 3, 4),
    }


def test_report_days_are_split_and_totalled():
    visits = [VisitWait("2026-11-30", T0, 60.0), VisitWait("2026-12-01", T0 + timedelta(days=1), 360.0)]
    report = service_report(visits, now=T0 + timedelta(days=2))
    assert [d["date"] for d in report["days"]] == ["2026-11-30", "2026-12-01"]
    assert [d["within_5min_ratio"] for d in report["days"]] == [1.0, 0.0]
    assert report["within_5min_ratio"] == 0.5 and report["visits"] == 2


GUEST = {"name": "La Ode Budi", "gender": "L", "occupation": "jurnalis", "purposes": ["baca_tercetak"], "id_type": "KTP"}


@pytest.fixture
def staff_client(client, app, clock):
    """The office head at the desk: calls visitors and reads the report."""
    add_user(app.state.appliance.store, clock, "petugas", "admin", "rahasia-loket")
    assert client.post("/api/session", json={"username": "petugas", "password": "rahasia-loket"}).status_code == 200
    return client


def check_in(client, email):
    return client.post("/api/visits", json=GUEST | {"email": email}).json()


def test_wait_runs_from_guestbook_to_service_start(staff_client, app, clock):
    quick = check_in(staff_client, "cepat@example.id")
    clock.advance(seconds=30)
    slow = check_in(staff_client, "lambat@example.id")
    clock.advance(seconds=60)
    first = staff_client.post("/api/counters/1/call").json()
    assert first["number"] == quick["ticket_number"]
    staff_client.post(f"/api/tickets/{first['id']}/serve")  # 90 s after check-in
    clock.advance(minutes=6)
    second = staff_client.post("/api/counters/2/call").json()
    staff_client.post(f"/api/tickets/{second['id']}/serve")  # 60 + 360 = 420 s after check-in
    assert app.state.appliance.visits.get(slow["id"])["wait_s"] == 420.0
    report = staff_client.get("/api/reports/service", params={"from": "2026-11-30", "to": "2026-11-30"}).json()
    assert report["visits"] == 2 and report["served"] == 2
    assert report["median_wait_s"] == 255.0
    assert report["within_5min_ratio"] == 0.5
    assert report["days"][0]["date"] == "2026-11-30"


def test_report_needs_staff_and_a_sane_range(client, staff_client):
    assert staff_client.get("/api/reports/service", params={"from": "30-11-2026"}).status_code == 400
    assert staff_client.get("/api/reports/service", params={"from": "2026-12-02", "to": "2026-12-01"}).status_code == 400
    staff_client.delete("/api/session")
    assert client.get("/api/reports/service").status_code == 401


def test_console_warns_at_four_minutes_and_flags_a_breach(staff_client, clock):
    visit = check_in(staff_client, "tunggu@example.id")
    clock.advance(minutes=4)
    alerts = staff_client.get("/api/alerts").json()
    assert [a["kind"] for a in alerts] == ["sla_warning"] and visit["ticket_number"] in alerts[0]["message"]
    clock.advance(minutes=1)
    alerts = staff_client.get("/api/alerts").json()
    assert [a["kind"] for a in alerts] == ["sla_breach"]
    row = staff_client.get("/api/console").json()["waiting"][0]
    assert row["visit"]["sla"] == "breach" and row["visit"]["remaining_s"] == 0
