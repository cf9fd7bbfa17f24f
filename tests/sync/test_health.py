"""The appliance's health rides on every round's state request (sync/PROTOCOL.md, "Health"), on both engines: it
arrives and is kept, an older agent without it is served, an unreadable one is ignored without stopping the round,
the history is thinned and pruned, and the idle round stays one request under 1 KB."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import httpx
import msgspec
import pytest

from bench.sync_wire import head_size
from cloud.fleet import Fleet
from edge.alerts import raise_alert
from edge.health import record_backup
from edge.printing import FAULT_MESSAGES
from pst.clock import ManualClock
from sync.protocol import HEALTH_HEADER, HEALTH_VERSION, Health, health_header
from tests.conftest import MONDAY_MORNING
from tests.sync.conftest import START, Forward, desk_visit, enrol, run

BUSY = Health(HEALTH_VERSION, software="0.1.0+g1a2b3c4", boot_at=1_764_900_000, disk_free=28_123_456_789,
              disk_free_pct=87.4, db_bytes=1_234_567_890, ntp=True, clock_offset_ms=-123_456, printer="paper_out",
              scanner="scanning", lockers=[3, 12], pending=123_456, oldest_pending_s=86_400, backup_at=1_764_900_000,
              backup_ok=False, alerts=["locker_12", "locker_3", "printer", "storage_full"], alert_count=4,
              opening_hours="Asia/Pontianak " + " ".join(["0730-1600"] * 5 + ["0800-1200"] * 2))  # all seven days


def fleet(cloud) -> Fleet:
    return Fleet(cloud.app.state.db)


def latest(cloud) -> dict[str, dict]:
    return cloud.blocking_portal.call(fleet(cloud).latest)


def agent_for(store, enrolment, cloud, clock=None, health=True):
    from sync.agent import Agent

    transport = Forward(cloud)
    agent = Agent(store, enrolment, clock=clock, transport=transport, health=health)
    if agent.probe is not None:
        agent.probe.ntp = lambda: True  # what `timedatectl` would say on the Pi
    return agent, transport


def test_the_appliances_health_arrives_with_the_round_and_is_kept(cloud, edge_store, tmp_path):
    enrolment = enrol(cloud, tmp_path / "var-edge")
    desk_visit(edge_store, START)
    raise_alert(edge_store, "printer", FAULT_MESSAGES["paper_out"], START)
    raise_alert(edge_store, "locker_3", "Pintu loker 3 masih terbuka; mohon ditutup.", START)
    record_backup(tmp_path / "backups", START, True)
    agent, transport = agent_for(edge_store, enrolment, cloud)
    run(agent.round())
    health = latest(cloud)[enrolment.device_id]
    assert health["version"] == HEALTH_VERSION and health["software"] == "0.1.0"
    assert health["printer"] == "paper_out" and health["lockers"] == [3] and health["scanner"] == "ok"
    assert health["alerts"] == ["locker_3", "printer"] and health["alert_count"] == 2
    assert health["pending"] == 4 and health["oldest_pending_s"] > 0  # read before this round sent them
    assert health["backup_at"] == int(START.timestamp()) and health["backup_ok"] is True
    assert health["ntp"] is True and health["clock_offset_ms"] is None  # no answer of the cloud yet
    assert health["disk_free"] > 0 and 0 < health["disk_free_pct"] <= 100
    assert health["db_bytes"] >= (tmp_path / "edge-a.db").stat().st_size > 0
    assert health["boot_at"] > 0
    # the next round is idle: one request, which carries the health, backlog now empty
    transport.log.clear()
    assert run(agent.round()).requests == 1 and len(transport.log) == 1
    assert latest(cloud)[enrolment.device_id]["pending"] == 4  # within the minute, only what staff act on is new
    history = cloud.blocking_portal.call(fleet(cloud).history, enrolment.device_id, MONDAY_MORNING)
    assert len(history) == 1 and history[0]["pending"] == 4  # one sample per five minutes: the first of them
    cloud.app.state.clock.advance(61)
    run(agent.round())
    assert latest(cloud)[enrolment.device_id]["pending"] == 0
    raise_alert(edge_store, "printer", FAULT_MESSAGES["offline"], START)
    run(agent.round())
    assert latest(cloud)[enrolment.device_id]["printer"] == "offline"  # written at once


def test_the_clock_offset_is_measured_against_the_clouds_answer(cloud, edge_store, tmp_path):
    enrolment = enrol(cloud, tmp_path / "var-edge")
    ahead = ManualClock(MONDAY_MORNING + timedelta(seconds=90))  # the cloud's clock stands at MONDAY_MORNING
    agent, _ = agent_for(edge_store, enrolment, cloud, clock=ahead)
    run(agent.round())
    assert agent.clock_offset_ms == 90_000
    cloud.app.state.clock.advance(120)  # the latest row is rewritten once a minute
    ahead.advance(120)
    run(agent.round())
    assert latest(cloud)[enrolment.device_id]["clock_offset_ms"] == 90_000


def test_an_older_agent_without_health_is_still_served(cloud, edge_store, tmp_path):
    enrolment = enrol(cloud, tmp_path / "var-edge")
    desk_visit(edge_store, START)
    agent, transport = agent_for(edge_store, enrolment, cloud, health=False)
    result = run(agent.round())
    assert result.sent == 4 and all(status == 200 for _, _, status in transport.log)
    assert latest(cloud) == {}


def state(cloud, enrolment, health: str | None):
    headers = {"Authorization": f"Bearer {enrolment.credential}"}
    if health is not None:
        headers[HEALTH_HEADER] = health
    return cloud.get("/sync/v1/state", params={"epoch": "e1", "after": 0}, headers=headers)


@pytest.mark.parametrize("value", [
    "not json", "[]", "{}", '{"v": 0}', '{"v": 1, "pend": -1}', '{"v": 1, "dfp": 101}', '{"v": 1, "sw": 7}',
    '{"v": 1, "sw": "a b"}', '{"v": 1, "al": ["x"' + ', "x"' * 20 + "]}", '{"v": 1, "off": 1e400}',
    '{"v": 1, "sw": "' + "9" * 2000 + '"}', '{"v": 1, "ntp": "yes"}', '{"v":1,"x":' + "[" * 300 + "]" * 300 + "}",
], ids=lambda v: v[:24])
def test_unreadable_health_is_ignored_and_the_round_goes_on(cloud, tmp_path, value):
    enrolment = enrol(cloud, tmp_path / "var-edge")
    answer = state(cloud, enrolment, value)
    assert answer.status_code == 200 and answer.json()["epoch"] == "e1"
    assert answer.headers[HEALTH_HEADER + "-Ignored"]
    assert latest(cloud) == {}


def test_a_newer_appliances_health_is_kept_without_what_this_cloud_does_not_know(cloud, tmp_path):
    enrolment = enrol(cloud, tmp_path / "var-edge")
    answer = state(cloud, enrolment, '{"v": 2, "sw": "0.2.0", "pend": 5, "fan_rpm": 1200}')
    assert answer.status_code == 200 and HEALTH_HEADER + "-Ignored" not in answer.headers
    kept = latest(cloud)[enrolment.device_id]
    assert (kept["version"], kept["software"], kept["pending"], kept["printer"]) == (2, "0.2.0", 5, None)


def test_the_history_keeps_one_sample_per_five_minutes_and_forgets_after_30_days(cloud, tmp_path):
    device = enrol(cloud, tmp_path / "var-edge").device_id
    service, start = fleet(cloud), datetime(2026, 12, 1, 8, 0, tzinfo=timezone.utc)
    for second in range(0, 15 * 60, 30):  # a round every 30 s for a quarter of an hour
        cloud.blocking_portal.call(service.record, device, Health(HEALTH_VERSION, pending=second), start
                                   + timedelta(seconds=second))
    samples = cloud.blocking_portal.call(service.history, device, start)
    assert [s["pending"] for s in samples] == [0, 300, 600]
    later = start + timedelta(days=30, minutes=12)
    cloud.blocking_portal.call(service.record, device, Health(HEALTH_VERSION, pending=1), later)
    samples = cloud.blocking_portal.call(service.history, device, start)
    assert [s["pending"] for s in samples] == [600, 1]  # the two oldest were past 30 days
    assert latest(cloud)[device]["pending"] == 1
    cloud.blocking_portal.call(service.prune, later + timedelta(days=30, minutes=5))  # a device that stopped reporting
    assert cloud.blocking_portal.call(service.history, device, start) == []
    assert latest(cloud)[device]["pending"] == 1  # the latest stays


class Measured(Forward):
    """Counts each exchange as HTTP/1.1 puts it on the wire (bench.sync_wire.head_size), with the headers a real
    server adds (date, server)."""

    def __init__(self, client):
        super().__init__(client)
        self.sizes: list[tuple[int, int]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await super().handle_async_request(request)
        up = head_size(b"%s %s HTTP/1.1" % (request.method.encode(), request.url.raw_path), request.headers.raw)
        served = [*response.headers.raw, (b"date", b"Sat, 05 Dec 2026 17:00:00 GMT"), (b"server", b"uvicorn")]
        self.sizes.append((up + len(request.content), head_size(b"HTTP/1.1 200 OK", served) + len(response.content)))
        return response


def test_the_idle_round_with_health_stays_one_request_under_1_kb_both_ways_together(cloud, edge_store, tmp_path):
    from sync.agent import Agent

    enrolment = enrol(cloud, tmp_path / "var-edge")
    desk_visit(edge_store, START)
    transport = Measured(cloud)
    agent = Agent(edge_store, enrolment, transport=transport)
    agent.probe.collect = lambda now, offset: msgspec.structs.replace(BUSY, clock_offset_ms=offset)  # every field
    run(agent.round())
    transport.sizes.clear()
    run(agent.round())
    assert len(transport.sizes) == 1
    (up, down), = transport.sizes
    assert len(health_header(BUSY)) < 400
    assert up + down < 1024, (up, down)  # request line, headers with the health; status line, headers, JSON body
    assert down < 400, down  # the sync API's answers carry nosniff, not the browser headers (pst/security_headers.py)


def test_the_back_office_shows_each_devices_latest_health_beside_it(cloud, tmp_path):
    from tests.cloud.conftest import sign_in

    enrolment = enrol(cloud, tmp_path / "var-edge")
    assert state(cloud, enrolment, health_header(BUSY)).status_code == 200
    sign_in(cloud, "admin@bps.go.id", "Admin PST", "admin")
    page = cloud.get("/kantor/kantor")
    assert page.status_code == 200
    line = " ".join(page.text.split())
    for shown in ("versi 0.1.0+g1a2b3c4", "disk kosong 87%", "123456 catatan menunggu", "printer kehabisan kertas",
                  "4 peringatan"):
        assert shown in line, shown
    cloud.get("/bahasa/en")
    english = " ".join(cloud.get("/kantor/kantor").text.split())
    assert "disk 87% free" in english and "123456 records waiting" in english and "printer out of paper" in english
