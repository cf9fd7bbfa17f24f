"""The appliance's /metrics: what was done at the desk, read back through a Prometheus text parser; LAN only."""

import pytest
from litestar.testing import TestClient
from prometheus_client.parser import text_string_to_metric_families

from edge.metrics import on_the_lan
from tests.edge.test_guestbook import VALID


class ClientAt:
    """The app as seen from one client address (Litestar's test client always says `testclient`)."""

    def __init__(self, app, host: str):
        self.app, self.host = app, host

    async def __call__(self, scope, receive, send):
        if scope["type"] != "lifespan":
            scope = {**scope, "client": (self.host, 50000)}
        await self.app(scope, receive, send)


@pytest.fixture
def office_pc(app):
    with TestClient(ClientAt(app, "192.168.10.20")) as test_client:
        yield test_client


def scrape(client) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(response.text) for sample in family.samples}


def test_the_days_tickets_visits_and_failed_prints_are_counted(office_pc, app):
    first = office_pc.post("/api/tickets").json()
    office_pc.post("/api/tickets")
    office_pc.post("/api/visits", json=VALID | {"ticket_number": first["number"]})
    app.state.appliance.spooler.wait_idle()
    app.state.appliance.hardware.emulator.set_paper("out")
    office_pc.post("/api/tickets")
    app.state.appliance.spooler.wait_idle()
    found = scrape(office_pc)
    assert found[("pst_edge_tickets_issued_today", (("service", "A"),))] == 3
    assert found[("pst_edge_visits_today", ())] == 1
    assert found[("pst_edge_tickets_print_failed_today", ())] == 1
    assert found[("pst_edge_tickets_print_pending", ())] == 1
    assert found[("pst_edge_printer_ok", ())] == 0
    assert found[("pst_edge_database_readable", ())] == 1


def test_a_visitor_waiting_past_5_minutes_is_a_breach_and_the_backlog_ages(office_pc, app, clock):
    office_pc.post("/api/visits", json=VALID)
    app.state.appliance.spooler.wait_idle()
    found = scrape(office_pc)
    assert found[("pst_edge_sla_breaches_today", ())] == 0
    backlog = found[("pst_edge_sync_backlog", ())]
    assert backlog >= 3  # the ticket, its print and the visit, at least
    clock.advance(minutes=6)
    found = scrape(office_pc)
    assert found[("pst_edge_sla_breaches_today", ())] == 1
    assert found[("pst_edge_sync_backlog", ())] == backlog
    assert found[("pst_edge_sync_backlog_oldest_age_seconds", ())] == 360


def test_latency_is_kept_per_route_template_never_per_path(office_pc):
    ticket = office_pc.post("/api/tickets").json()
    office_pc.get(f"/api/tickets/{ticket['id']}")
    office_pc.get("/api/tickets/no-such-ticket")
    found = scrape(office_pc)
    routes = {dict(labels).get("route") for name, labels in found if name.startswith("pst_edge_http_request_")}
    assert ticket["id"] not in "".join(routes) and "no-such-ticket" not in "".join(routes)
    counts = {dict(labels)["status"]: value for (name, labels), value in found.items()
              if name == "pst_edge_http_request_duration_seconds_count"
              and dict(labels)["route"] == "/api/tickets/{ticket_id}"}
    assert counts == {"2xx": 1, "4xx": 1}
    posted = (("method", "POST"), ("route", "/api/tickets"), ("status", "2xx"))
    assert found[("pst_edge_http_request_duration_seconds_count", posted)] == 1
    assert found[("pst_edge_http_request_duration_seconds_bucket", (("le", "+Inf"), *posted))] == 1


def test_a_client_outside_the_lan_is_refused(app):
    with TestClient(ClientAt(app, "203.0.113.7")) as outsider:
        assert outsider.get("/metrics").status_code == 403
    with TestClient(app) as unnamed:  # no address at all
        assert unnamed.get("/metrics").status_code == 403


@pytest.mark.parametrize("address, allowed", [
    ("127.0.0.1", True), ("10.1.2.3", True), ("172.16.0.9", True), ("172.31.255.1", True), ("192.168.1.5", True),
    ("169.254.10.1", True), ("::1", True), ("fd12:3456::1", True), ("fe80::1%eth0", True),
    ("::ffff:192.168.1.5", True),
    ("172.32.0.1", False), ("8.8.8.8", False), ("100.64.0.1", False), ("2001:db8::1", False),
    ("::ffff:8.8.8.8", False), ("testclient", False), ("", False), (None, False),
])
def test_only_loopback_and_private_lan_addresses_may_scrape(address, allowed):
    assert on_the_lan(address) is allowed


def test_the_appliance_does_not_load_prometheus_client_until_scraped():
    import subprocess
    import sys

    code = "import sys, edge.app; print('prometheus_client' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "False\n"
