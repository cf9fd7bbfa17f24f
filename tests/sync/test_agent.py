"""The agent's loop, its clock handling, how it waits its turn when the cloud is busy, and what the appliance shows
about it."""

from __future__ import annotations

import asyncio
import gzip
import json
import time
from datetime import UTC, datetime, timedelta, timezone

import httpx
import pytest

from edge import outbox
from pst import hlc
from pst.clock import iso
from sync.agent import Agent, Enrolment, SyncError, _retry_after, backoff, status
from tests.cloud.conftest import run_db
from tests.sync.conftest import START, desk_visit, enrol, make_agent, run

ENROLMENT = Enrolment("http://portal.test", "dev", "7400", "Meja depan", "pstd1.dev.secret")


def test_hlc_orders_events_whatever_the_wall_clock_does():
    first, flag = hlc.tick(None, START)
    assert flag is None
    cold_boot = datetime(1970, 1, 1, 0, 0, 5, tzinfo=timezone.utc)
    second, flag = hlc.tick(first, cold_boot)
    assert flag == hlc.UNSET and second > first
    stale = START - timedelta(days=2)  # fake-hwclock's saved time after a power cut
    third, flag = hlc.tick(second, stale)
    assert flag == hlc.BEHIND and third > second
    fourth, flag = hlc.tick(third, START + timedelta(seconds=1))
    assert flag is None and fourth > third and fourth.counter == 0
    assert hlc.Stamp.parse(str(fourth)) == fourth
    assert str(first) < str(second) < str(third) < str(fourth)  # the text sorts like the stamps
    slewed, flag = hlc.tick(fourth, START)  # a second back: NTP slew, not a stale clock
    assert flag is None and slewed > fourth


def test_backoff_is_full_jitter_and_capped():
    for failures in (1, 3, 10, 50):
        draws = [backoff(failures) for _ in range(200)]
        assert all(0 <= d <= min(300, 2 * 2 ** (failures - 1)) for d in draws)
    assert max(backoff(50) for _ in range(200)) > 150  # spread over the whole range, not clustered at the cap


def test_records_made_with_an_unset_clock_are_flagged_kept_in_order_and_corrected(cloud, edge_store, tmp_path):
    enrolment = enrol(cloud, tmp_path / "var-edge")
    desk_visit(edge_store, START)
    cold_boot = datetime(1970, 1, 1, 0, 3, tzinfo=timezone.utc)
    in_the_dark = desk_visit(edge_store, cold_boot)
    rows = edge_store.read.execute("SELECT hlc, clock_flag FROM outbox ORDER BY seq").fetchall()
    assert [r[0] for r in rows] == sorted(r[0] for r in rows)
    assert [r[1] for r in rows[4:]] == ["unset"] * 4
    agent, _ = make_agent(edge_store, enrolment, cloud)
    run(agent.round())
    visit = run_db(cloud, "SELECT checked_in_at, clock_flag FROM visits WHERE id = {}", in_the_dark)[0]
    assert visit["clock_flag"] == "unset"
    checked_in = visit["checked_in_at"]
    checked_in = datetime.fromisoformat(checked_in) if isinstance(checked_in, str) else checked_in
    # placed by the cloud's clock (this machine's monotonic clock against the cloud's answer), not in 1970
    assert checked_in.year >= 2026


def test_the_loop_retries_on_a_timer_and_honours_retry_after(edge_store):
    calls = []

    def busy(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        return httpx.Response(429, headers={"Retry-After": "0.05"}, json={"detail": "Sedang sibuk"})

    agent = Agent(edge_store, ENROLMENT, transport=httpx.MockTransport(busy))

    async def go():
        stop = asyncio.Event()
        rounds = []

        def counted():
            rounds.append(1)
            if len(rounds) == 3:
                stop.set()

        await asyncio.wait_for(agent.run(3600, stop, on_round=counted), timeout=5)  # never waits the interval
        await agent.close()

    run(go())
    assert calls == ["/sync/v1/state"] * 3  # nothing was written, and it still tried again
    state = status(edge_store)
    assert state["failures"] == 3 and state["last_error"].startswith("429")
    assert state["last_success_at"] is None and state["next_attempt_at"]


def test_an_unreachable_cloud_is_a_recorded_error_and_loses_nothing(edge_store):
    def down(request):
        raise httpx.ConnectError("no route to host", request=request)

    desk_visit(edge_store, START)
    agent = Agent(edge_store, ENROLMENT, transport=httpx.MockTransport(down))
    with pytest.raises(SyncError):
        run(agent.round())
    state = status(edge_store)
    assert state["pending"] == 4 and "ConnectError" in state["last_error"]


def test_the_console_and_api_show_the_sync(client, app, clock):
    from edge.users import add_user

    store = app.state.appliance.store
    assert client.get("/api/sync").status_code == 401
    add_user(store, clock, "loket1", "frontliner", "rahasia-loket-1")
    assert client.post("/api/session", json={"username": "loket1", "password": "rahasia-loket-1"}).status_code == 200
    with store.write() as db:
        outbox.append(db, "locker", "3", "free", {"at": iso(clock.now())}, clock.now())
    answer = client.get("/api/sync").json()
    assert answer["pending"] >= 1 and answer["last_success_at"] is None and answer["enrolled"] is False
    assert "belum didaftarkan" in client.get("/petugas").text
    ENROLMENT.save(app.state.appliance.settings.data_dir)
    with store.write() as db:
        db.execute("UPDATE sync_state SET last_success_at = ?, last_error = ? WHERE id = 1",
                   [iso(clock.now() - timedelta(hours=3)), "ConnectError: no route to host"])
    page = client.get("/petugas").text
    # staff read words they can act on, in office time (WITA); the raw error stays in the API and the agent's log
    since = (clock.now() - timedelta(hours=3)).astimezone(app.state.appliance.config.office.tz).strftime("%H.%M")
    assert "Sinkronisasi ke cloud tertunda" in page and f"Tidak terhubung ke cloud sejak {since}" in page
    assert "ConnectError" not in page and "no route to host" not in page
    assert client.get("/api/sync").json()["last_error"] == "ConnectError: no route to host"


def busy_then_accepted(turned_away: int, retry_after: str):
    """A fake cloud: the state says nothing is there yet; the first `turned_away` batches get 429."""
    calls: list[tuple[str, float]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append((request.url.path, time.monotonic()))
        if request.url.path.endswith("/state"):
            return httpx.Response(200, json={"epoch": request.url.params["epoch"], "last_seq": None,
                                             "last_event_id": None, "changes": [], "more": False,
                                             "cloud_time": "2026-11-30T01:00:00.000+00:00", "reset": False})
        if sum(path.endswith("/events") for path, _ in calls) <= turned_away:
            return httpx.Response(429, headers={"Retry-After": retry_after}, json={"detail": "Sedang sibuk"})
        body = json.loads(gzip.decompress(request.content))
        last = body["events"][-1]
        return httpx.Response(200, json={"epoch": body["epoch"], "last_seq": last["seq"],
                                         "last_event_id": last["event_id"], "applied": len(body["events"]),
                                         "duplicates": 0, "dead": 0, "cloud_time": "2026-11-30T01:00:00.000+00:00"})

    return handler, calls


def test_the_agent_waits_a_short_retry_after_and_sends_the_batch_again_in_the_round(edge_store):
    desk_visit(edge_store, START)
    handler, calls = busy_then_accepted(2, "0.15")
    agent = Agent(edge_store, ENROLMENT, transport=httpx.MockTransport(handler), health=False)
    result = run(agent.round())
    run(agent.close())
    paths = [path.rsplit("/", 1)[1] for path, _ in calls]
    assert paths == ["state", "events", "events", "events"]  # no new round, no state request in between
    gaps = [b - a for (_, a), (_, b) in zip(calls[1:], calls[2:])]
    assert all(0.14 <= gap < 1.0 for gap in gaps)  # the cloud's 0.15 s, no backoff of its own on top
    assert result.sent == 4 and result.busy == 2 and result.waited == pytest.approx(0.3)
    state = status(edge_store)
    assert state["pending"] == 0 and state["failures"] == 0 and state["last_error"] is None


def test_a_round_gives_up_waiting_past_its_patience_and_keeps_the_cloud_s_retry_after(edge_store):
    desk_visit(edge_store, START)
    handler, calls = busy_then_accepted(99, "40")
    agent = Agent(edge_store, ENROLMENT, transport=httpx.MockTransport(handler), health=False, busy_patience=30)
    with pytest.raises(SyncError) as busy:
        run(agent.round())
    run(agent.close())
    assert busy.value.retry_after == 40 and len(calls) == 2  # not waited in the round: the loop waits 40 s
    assert status(edge_store)["pending"] == 4


@pytest.mark.parametrize(("value", "seconds"), [
    ("0.35", 0.35), ("2", 2.0), ("0", 0.0), ("-3", 0.0), ("1e9", 300.0), ("inf", 300.0), ("nan", None),
    ("soon", None), ("Thu, 01 Jan 2026 00:00:30 GMT", 30.0), ("Wed, 31 Dec 2025 23:59:00 GMT", 0.0),
])
def test_retry_after_read_as_fractional_seconds_or_a_date(value, seconds):
    response = httpx.Response(429, headers={"Retry-After": value})
    assert _retry_after(response, now=datetime(2026, 1, 1, tzinfo=UTC)) == seconds
