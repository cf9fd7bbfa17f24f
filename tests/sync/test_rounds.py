"""Rounds of the sync agent against the cloud on both engines: exactly once, whatever is lost or repeated."""

from __future__ import annotations

import pytest

from tests.cloud.conftest import rows_in, run_db
from tests.sync.conftest import START, desk_visit, enrol, make_agent, run


def test_a_round_carries_visits_and_ratings_once(cloud, edge_store, tmp_path):
    enrolment = enrol(cloud, tmp_path / "var-edge")
    ids = [desk_visit(edge_store, START) for _ in range(3)]
    agent, transport = make_agent(edge_store, enrolment, cloud)
    result = run(agent.round())
    assert result.sent == 3 * 4
    visits = run_db(cloud, "SELECT id, office_code, wait_s, ticket_number FROM visits ORDER BY id")
    assert sorted(v["id"] for v in visits) == sorted(ids)
    assert {v["office_code"] for v in visits} == {"7400"}
    assert {v["wait_s"] for v in visits} == {120}
    assert {v["ticket_number"] for v in visits} == {"A001"}
    assert rows_in(cloud, "ratings") == 3
    # a second round is idle: one small request
    transport.log.clear()
    again = run(agent.round())
    assert again.sent == 0 and again.requests == 1
    assert rows_in(cloud, "ratings") == 3


def _posts(transport) -> list[int]:
    return [status for method, path, status in transport.log if method == "POST"]


@pytest.mark.parametrize("fault", ["drop_request", "drop_answer", "error_after_commit", "duplicate"])
def test_a_lost_or_repeated_batch_is_applied_once(cloud, edge_store, tmp_path, fault):
    from sync.agent import SyncError

    enrolment = enrol(cloud, tmp_path / "var-edge")
    for _ in range(5):
        desk_visit(edge_store, START)
    agent, transport = make_agent(edge_store, enrolment, cloud, batch=7)
    played = []

    def once(request):
        if request.method == "POST" and not played:
            played.append(fault)
            return fault
        return None

    transport.faults.append(once)
    if fault == "duplicate":
        run(agent.round())
    else:
        with pytest.raises(SyncError):
            run(agent.round())
        run(agent.round())  # the next round asks where the cloud stands and goes on from there
    assert rows_in(cloud, "visits") == 5 and rows_in(cloud, "ratings") == 5
    assert rows_in(cloud, "sync_events") == 20
    assert edge_store.read.execute("SELECT count(*) FROM outbox WHERE sent_at IS NULL").fetchone()[0] == 0


def test_a_batch_that_does_not_follow_the_cursor_gets_409_and_the_agent_resumes(cloud, edge_store, tmp_path):
    enrolment = enrol(cloud, tmp_path / "var-edge")
    for _ in range(3):
        desk_visit(edge_store, START)
    agent, transport = make_agent(edge_store, enrolment, cloud, batch=4)
    run(agent.round())
    # the cloud loses the last batches (restored from an older copy): its cursor goes back
    run_db(cloud, "DELETE FROM sync_events WHERE seq > 4")
    run_db(cloud, "DELETE FROM ratings WHERE id NOT IN (SELECT entity_id FROM sync_events WHERE entity = 'rating')")
    run_db(cloud, "DELETE FROM visits WHERE id NOT IN (SELECT entity_id FROM sync_events WHERE entity = 'visit')")
    epoch = edge_store.read.execute("SELECT value FROM meta WHERE key = 'device_id'").fetchone()[0]
    run_db(cloud, "UPDATE sync_cursors SET last_seq = 4, last_event_id = (SELECT event_id FROM sync_events"
                  " WHERE seq = 4 AND epoch = {}) WHERE epoch = {}", epoch, epoch)
    # an agent that believes the cloud is further sends a batch that does not follow: refused with the cursor
    from sync.protocol import Batch, encode

    events = agent._events(9)
    response = cloud.post("/sync/v1/events", content=encode(Batch(epoch, 1, events)),
                          headers={"Authorization": f"Bearer {enrolment.credential}",
                                   "Content-Type": "application/json"})
    assert response.status_code == 409 and response.json()["last_seq"] == 4
    result = run(agent.round())  # already acknowledged rows are sent again from the cloud's cursor
    assert result.sent == 8
    assert rows_in(cloud, "visits") == 3 and rows_in(cloud, "ratings") == 3


def test_a_record_the_cloud_cannot_take_goes_to_dead_letters_and_blocks_nothing(cloud, edge_store, tmp_path):
    from edge import outbox

    enrolment = enrol(cloud, tmp_path / "var-edge")
    desk_visit(edge_store, START)
    with edge_store.write() as db:
        outbox.append(db, "rating", "bad-rating", "submitted", {"u1": 9, "rated_at": "2026-11-30T09:00:00+08:00"},
                      START)
        outbox.append(db, "teleport", "x", "beamed", {}, START)
    desk_visit(edge_store, START)
    agent, _ = make_agent(edge_store, enrolment, cloud)
    result = run(agent.round())
    assert result.dead == 2 and result.sent == 8
    dead = run_db(cloud, "SELECT entity, reason FROM sync_dead_letters ORDER BY seq")
    assert [d["entity"] for d in dead] == ["rating", "teleport"]
    assert "U1 must be 1..4" in dead[0]["reason"] and "unknown kind" in dead[1]["reason"]
    assert rows_in(cloud, "visits") == 2 and rows_in(cloud, "ratings") == 2
    assert run(agent.round()).dead == 0  # never again


def test_a_recreated_appliance_database_is_a_new_epoch(cloud, tmp_path):
    from tests.sync.conftest import new_store

    enrolment = enrol(cloud, tmp_path / "var-edge")
    first = new_store(tmp_path / "one.db")
    desk_visit(first, START)
    run(make_agent(first, enrolment, cloud)[0].round())
    second = new_store(tmp_path / "two.db")  # the SD card replaced: same credential, empty database
    desk_visit(second, START)
    run(make_agent(second, enrolment, cloud)[0].round())
    assert rows_in(cloud, "visits") == 2
    assert rows_in(cloud, "sync_cursors") == 2


def test_a_database_restored_from_a_backup_continues_under_a_new_epoch(cloud, edge_store, tmp_path):
    from edge.store import EdgeStore

    enrolment = enrol(cloud, tmp_path / "var-edge")
    kept = desk_visit(edge_store, START)
    backup = edge_store.backup(tmp_path / "backup.db")
    lost_to_cloud_only = desk_visit(edge_store, START)  # synced, then the card dies
    run(make_agent(edge_store, enrolment, cloud)[0].round())
    restored = EdgeStore(backup)
    after = desk_visit(restored, START)  # new events reuse sequence numbers the cloud has seen
    result = run(make_agent(restored, enrolment, cloud)[0].round())
    assert result.epoch_rotated
    ids = {r["id"] for r in run_db(cloud, "SELECT id FROM visits")}
    assert ids == {kept, lost_to_cloud_only, after}
    assert rows_in(cloud, "ratings") == 3
    restored.close()


def test_devices_are_authenticated_revocable_and_see_only_their_office(cloud, tmp_path):
    from cloud.devices import Devices
    from sync.agent import SyncError
    from tests.sync.conftest import new_store

    kendari = enrol(cloud, tmp_path / "a", "7400")
    kolaka = enrol(cloud, tmp_path / "b", "7401")
    store_a, store_b = new_store(tmp_path / "a.db"), new_store(tmp_path / "b.db")
    visit_a = desk_visit(store_a, START)
    run(make_agent(store_a, kendari, cloud)[0].round())
    # the other office's appliance sends an event about a visit of Kendari: refused, Kendari's record untouched
    from edge import outbox

    with store_b.write() as db:
        outbox.append(db, "visit", visit_a, "checked_out", {"at": "2026-11-30T12:00:00+08:00"}, START)
    result = run(make_agent(store_b, kolaka, cloud)[0].round())
    assert result.dead == 1
    assert run_db(cloud, "SELECT office_code, checked_out_at FROM visits")[0] == {"office_code": "7400",
                                                                                 "checked_out_at": None}
    assert cloud.get("/sync/v1/state?epoch=x&after=0").status_code == 401
    assert cloud.get("/sync/v1/state?epoch=x&after=0",
                     headers={"Authorization": "Bearer pstd1.forged.secret"}).status_code == 401
    app = cloud.app
    devices = Devices(app.state.db, app.state.clock, app.state.settings.signing_key())
    assert cloud.blocking_portal.call(devices.revoke, kolaka.device_id)
    with pytest.raises(SyncError) as refused:
        run(make_agent(store_b, kolaka, cloud)[0].round())
    assert refused.value.permanent and "401" in str(refused.value)
    assert edge_store_status(store_b)["last_error"].startswith("401")
    store_a.close()
    store_b.close()


def edge_store_status(store):
    from sync.agent import status

    return status(store)


def test_enrolment_codes_work_once(cloud, tmp_path):
    from tests.sync.conftest import add_device

    code = add_device(cloud)
    assert cloud.post("/sync/v1/enroll", json={"code": code.lower().replace("-", " ")}).status_code == 201
    again = cloud.post("/sync/v1/enroll", json={"code": code})
    assert again.status_code == 400 and again.json()["errors"]["code"]
    assert cloud.post("/sync/v1/enroll", json={"kode": code}).status_code == 400


def test_a_busy_cloud_answers_429_with_retry_after_and_nothing_is_lost(cloud, edge_store, tmp_path):
    from cloud.sync_admission import Admission, SyncAdmission
    from sync.agent import SyncError

    enrolment = enrol(cloud, tmp_path / "var-edge")
    desk_visit(edge_store, START)
    admitted = cloud.app.state.sync_admission = SyncAdmission(Admission(2), Admission(1, max_wait=0, queue_per_slot=0))
    admitted.batches.in_flight = 1  # every slot taken, none to wait for
    agent, _ = make_agent(edge_store, enrolment, cloud)
    agent.busy_patience = 0  # the round ends at the first 429 instead of waiting its turn
    with pytest.raises(SyncError) as busy:
        run(agent.round())
    assert "429" in str(busy.value) and 0 < busy.value.retry_after <= 1
    assert rows_in(cloud, "visits") == 0
    admitted.batches.in_flight = 0
    run(agent.round())
    assert rows_in(cloud, "visits") == 1


def test_old_acknowledged_rows_are_purged_but_the_cursor_row_stays(cloud, edge_store, tmp_path):
    from datetime import timedelta

    from pst.clock import ManualClock

    enrolment = enrol(cloud, tmp_path / "var-edge")
    for _ in range(2):
        desk_visit(edge_store, START)
    later = ManualClock(START)
    agent, _ = make_agent(edge_store, enrolment, cloud, clock=later)
    run(agent.round())
    later.advance(timedelta(days=46).total_seconds())
    result = run(agent.round())
    assert not result.epoch_rotated and result.sent == 0
    left = edge_store.read.execute("SELECT seq FROM outbox").fetchall()
    assert left == [(8,)]  # only the row the cloud's cursor points at
    again = run(agent.round())
    assert not again.epoch_rotated and again.sent == 0
    desk_visit(edge_store, START)
    assert run(agent.round()).sent == 4


def test_the_back_office_shows_each_devices_records_and_what_was_refused(cloud, edge_store, tmp_path, mailbox):
    from cloud.accounts import Accounts
    from cloud.mail import SmtpMailer
    from edge import outbox

    enrolment = enrol(cloud, tmp_path / "var-edge")
    desk_visit(edge_store, START)
    with edge_store.write() as db:
        outbox.append(db, "teleport", "x", "beamed", {"note": "<script>alert(1)</script>"}, START)
    run(make_agent(edge_store, enrolment, cloud)[0].round())
    state = cloud.app.state
    accounts = Accounts(state.db, state.clock, SmtpMailer(mailbox.url, "pustaka@test"), b"k" * 32, "http://portal.test")
    cloud.blocking_portal.call(accounts.add, "petugas@bps.go.id", "staff", "Rahasia-petugas-1", "Petugas")
    page = f"/kantor/kantor/perangkat/{enrolment.device_id}/ditolak"
    assert cloud.get(page, follow_redirects=False).status_code == 303
    assert cloud.post("/api/session", json={"email": "petugas@bps.go.id",
                                            "password": "Rahasia-petugas-1"}).status_code == 200
    listing = cloud.get("/kantor/kantor").text
    assert "1 ditolak" in listing and f"/perangkat/{enrolment.device_id}/ditolak" in listing
    refused = cloud.get(page).text
    assert "unknown kind of record" in refused and "teleport" in refused
    assert "<script>alert(1)</script>" not in refused  # shown as text
    assert cloud.get("/kantor/kantor/perangkat/nope/ditolak").status_code == 404


def test_a_record_the_database_refuses_unforeseen_is_set_aside_alone(cloud, edge_store, tmp_path, monkeypatch):
    import sqlite3

    from edge import outbox
    from sync import apply

    original = apply.Projection.flush

    async def flush(self):  # as if the database refused this one visit for a reason no check foresaw
        if any(self.visits.rows[key]["institution"] == "Dinas Ledakan" for key in self.visits.dirty):
            raise sqlite3.IntegrityError("CHECK constraint failed")
        await original(self)

    monkeypatch.setattr(apply.Projection, "flush", flush)
    enrolment = enrol(cloud, tmp_path / "var-edge")
    desk_visit(edge_store, START)
    with edge_store.write() as db:
        outbox.append(db, "visit", "01a0c0de-0000-7000-8000-0000000000b0", "checked_in", {
            "id": "01a0c0de-0000-7000-8000-0000000000b0", "gender": "L", "institution": "Dinas Ledakan",
            "purposes": ["lainnya"], "checked_in_at": "2026-11-30T09:00:00+08:00"}, START)
    desk_visit(edge_store, START)
    result = run(make_agent(edge_store, enrolment, cloud)[0].round())
    assert result.dead == 1 and result.sent == 8
    assert rows_in(cloud, "visits") == 2 and rows_in(cloud, "ratings") == 2
    reasons = [r["reason"] for r in run_db(cloud, "SELECT reason FROM sync_dead_letters")]
    assert reasons == ["database: IntegrityError"]


def test_a_passing_database_failure_refuses_nothing_for_good(cloud, edge_store, tmp_path, monkeypatch):
    from sync import apply
    from sync.agent import SyncError

    original, failures = apply.Projection.flush, []

    async def flush(self):  # the connection drops once
        if not failures:
            failures.append(1)
            raise ConnectionResetError("connection lost")
        await original(self)

    monkeypatch.setattr(apply.Projection, "flush", flush)
    enrolment = enrol(cloud, tmp_path / "var-edge")
    desk_visit(edge_store, START)
    agent, _ = make_agent(edge_store, enrolment, cloud)
    with pytest.raises(SyncError):
        run(agent.round())
    assert rows_in(cloud, "sync_dead_letters") == 0 and rows_in(cloud, "sync_events") == 0
    assert run(agent.round()).sent == 4
