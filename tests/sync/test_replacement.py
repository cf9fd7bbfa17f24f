"""A replacement appliance, the cloud's side (cloud.backups, sync.restore), on both engines: backups go up with the
round and are stored whole or not at all, the journal keeps what came after the oldest stored backup and loses a
person who was erased, and a backup and its journal are given only to the device itself or another of its office —
never to another office or a revoked device."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import sqlite3
import time
from pathlib import Path

import httpx
import pytest

from cloud.backups import KEEP_BACKUPS, Backups
from cloud.devices import Devices
from edge.health import record_backup
from edge.store import EdgeStore
from sync import restore
from sync.agent import Agent, Enrolment
from tests.sync.conftest import START, Forward, add_device, desk_visit, enrol, run


class Passing(httpx.BaseTransport):
    """The blocking client of `pst edge restore` talking to the portal app in-process."""

    def __init__(self, client):
        self.client = client

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        answer = self.client.request(request.method, request.url.raw_path.decode(), content=request.read(),
                                     headers=headers)
        return httpx.Response(answer.status_code, headers=answer.headers, content=answer.content, request=request)


def agent_for(store: EdgeStore, enrolment: Enrolment, cloud, data_dir: Path) -> Agent:
    agent = Agent(store, enrolment, transport=Forward(cloud), data_dir=data_dir, health=False)
    return agent


def nightly_backup(store: EdgeStore, data_dir: Path, name: str, at=START) -> Path:
    """What `pst edge backup` does: a checked copy and the marker the agent reads."""
    copy = store.backup(data_dir / "backups" / f"edge-{name}.db")
    record_backup(data_dir / "backups", at, True, str(copy.resolve()))
    return copy


def db_rows(cloud, sql: str, *args) -> list[dict]:
    return cloud.blocking_portal.call(cloud.app.state.db.execute, sql, *args)


def journal_seqs(cloud, device_id: str) -> list[int]:
    return [r["seq"] for r in db_rows(cloud, "SELECT seq FROM sync_journal WHERE device_id = {} ORDER BY seq",
                                      device_id)]


def test_the_backup_goes_up_once_and_the_journal_keeps_only_what_came_after(cloud, edge_store, tmp_path):
    data_dir = tmp_path / "var-edge"
    enrolment = enrol(cloud, data_dir)
    agent = agent_for(edge_store, enrolment, cloud, data_dir)
    desk_visit(edge_store, START)
    run(agent.round())
    assert journal_seqs(cloud, enrolment.device_id) == [1, 2, 3, 4]  # every event as it came
    with sqlite3.connect(edge_store.path) as db:  # a card in a locker: its keyed hash stays on the appliance
        db.execute("INSERT INTO locker_uses (id, locker, visit_id, id_type, id_last4, id_hash, assigned_at)"
                   " VALUES ('u1', 1, 'v1', 'KTP', '0004', ?, ?)", ["ab" * 32, START.isoformat()])
    copy = nightly_backup(edge_store, data_dir, "1")
    desk_visit(edge_store, START, rate=False)
    result = run(agent.round())
    assert result.requests == 3  # state, the batch, the backup
    stored = run_backups(cloud).latest(enrolment.device_id)
    sent = gzip.decompress(run_backups(cloud).path(stored).read_bytes())
    assert stored["seq"] == 4 and stored["size"] == len(sent)
    assert stored["sha256"] == hashlib.sha256(sent).hexdigest()
    (tmp_path / "sent.db").write_bytes(sent)
    cloud_copy = sqlite3.connect(tmp_path / "sent.db")
    assert cloud_copy.execute("SELECT count(*) FROM outbox").fetchone()[0] == 4  # the desk's records, all there
    assert cloud_copy.execute("SELECT id_last4, id_hash FROM locker_uses").fetchall() == [("0004", "")]
    assert cloud_copy.execute("SELECT value FROM meta WHERE key = 'secret_key'").fetchone() is None
    key = sqlite3.connect(copy).execute("SELECT value FROM meta WHERE key = 'secret_key'").fetchone()[0]
    assert key.encode() not in sent and b"ab" * 32 not in sent  # not even in a freed page
    assert sqlite3.connect(copy).execute("SELECT id_hash FROM locker_uses").fetchone()[0] == "ab" * 32
    assert sorted(path.name for path in copy.parent.iterdir() if path.suffix == ".db") == [copy.name]  # sent, gone
    assert journal_seqs(cloud, enrolment.device_id) == [5, 6, 7]  # what the backup holds is dropped
    event = json.loads(db_rows(cloud, "SELECT event FROM sync_journal WHERE seq = 6")[0]["event"])
    assert event["entity"] == "visit" and event["op"] == "checked_in" and event["payload"]["name"] == "Siti Rahmawati"
    assert run(agent.round()).requests == 1  # sent once: the idle round stays one request


def run_backups(cloud) -> _Blocking:
    return _Blocking(cloud)


class _Blocking:
    def __init__(self, cloud):
        self.cloud, self.backups = cloud, Backups(cloud.app.state.db, cloud.app.state.settings.data_dir)

    def __getattr__(self, name):
        method = getattr(self.backups, name)
        if name == "path":
            return method
        return lambda *args: self.cloud.blocking_portal.call(method, *args)


def test_the_newest_backups_are_kept_and_any_of_them_can_be_caught_up(cloud, edge_store, tmp_path):
    data_dir = tmp_path / "var-edge"
    enrolment = enrol(cloud, data_dir)
    agent = agent_for(edge_store, enrolment, cloud, data_dir)
    files = []
    for night in range(KEEP_BACKUPS + 1):
        desk_visit(edge_store, START, rate=False)
        nightly_backup(edge_store, data_dir, str(night), START.replace(day=START.day - 3 + night))
        run(agent.round())
        files.append(run_backups(cloud).latest(enrolment.device_id))
    kept = run_backups(cloud).list(enrolment.device_id)
    assert [b["id"] for b in kept] == [b["id"] for b in reversed(files[1:])]
    assert not run_backups(cloud).path(files[0]).exists()  # the oldest is gone, file and row
    assert all(run_backups(cloud).path(b).is_file() for b in kept)
    # the journal still reaches back to the oldest backup kept (3 events a night)
    assert journal_seqs(cloud, enrolment.device_id) == list(range(files[1]["seq"] + 1, 13))
    page = run_backups(cloud).journal(enrolment.device_id, files[1]["epoch"], files[1]["seq"])
    assert [e["seq"] for e in page["events"]] == list(range(7, 13)) and not page["more"]
    with pytest.raises(Exception) as refused:  # what only the dropped backup held is no longer in the journal
        run_backups(cloud).journal(enrolment.device_id, files[0]["epoch"], files[0]["seq"] - 3)
    assert getattr(refused.value, "status", None) == 410


@pytest.mark.parametrize("damage", ["not_gzip", "truncated", "not_sqlite", "wrong_sha", "bad_query"])
def test_a_damaged_backup_is_refused_and_nothing_is_stored(cloud, edge_store, tmp_path, damage):
    data_dir = tmp_path / "var-edge"
    enrolment = enrol(cloud, data_dir)
    copy = edge_store.backup(tmp_path / "copy.db")
    plain = copy.read_bytes()
    body, sha = gzip.compress(plain), hashlib.sha256(plain).hexdigest()
    query = {"epoch": "e1", "seq": "0", "taken": "2026-12-01T01:00:00+00:00", "sha256": sha}
    if damage == "not_gzip":
        body = plain
    elif damage == "truncated":
        body = body[: len(body) // 2]
    elif damage == "not_sqlite":
        body = gzip.compress(b"hello" * 1000)
        query["sha256"] = hashlib.sha256(b"hello" * 1000).hexdigest()
    elif damage == "wrong_sha":
        query["sha256"] = "0" * 64
    else:
        query["taken"] = "yesterday"
    answer = cloud.put("/sync/v1/backup", params=query, content=body,
                       headers={"Authorization": f"Bearer {enrolment.credential}"})
    assert answer.status_code == 400, answer.text
    assert answer.json()["detail"]
    assert db_rows(cloud, "SELECT count(*) AS n FROM device_backups")[0]["n"] == 0
    folder = Path(cloud.app.state.settings.data_dir) / "device-backups"
    assert not folder.exists() or not any(folder.rglob("*.*"))


def test_a_backup_and_journal_go_only_to_the_device_its_office_and_never_after_revocation(cloud, edge_store,
                                                                                          tmp_path):
    data_dir = tmp_path / "var-edge"
    kendari = enrol(cloud, data_dir)
    agent = agent_for(edge_store, kendari, cloud, data_dir)
    desk_visit(edge_store, START)
    copy = nightly_backup(edge_store, data_dir, "1")
    run(agent.round())
    # a second device of the same office may take it (an office that added a device instead of a replacement code)
    sibling = enrol(cloud, tmp_path / "var-sibling")
    fetched = restore.fetch_backup("http://portal.test", sibling.credential, tmp_path / "sibling", kendari.device_id,
                                   transport=Passing(cloud))
    assert fetched.device_id == kendari.device_id
    assert restore.backup_facts(fetched.path).seq == restore.backup_facts(copy).seq == 4
    assert restore.backup_facts(fetched.path).epoch == restore.backup_facts(copy).epoch
    # another office's device may not
    kolaka = enrol(cloud, tmp_path / "var-kolaka", office_code="7401")
    with pytest.raises(restore.RestoreError, match="403"):
        restore.fetch_backup("http://portal.test", kolaka.credential, tmp_path / "kolaka", kendari.device_id,
                             transport=Passing(cloud))
    answer = cloud.get("/sync/v1/journal", params={"epoch": "x", "after": 0, "device": kendari.device_id},
                       headers={"Authorization": f"Bearer {kolaka.credential}"})
    assert answer.status_code == 403
    # a revoked device gets nothing, and no replacement code either
    devices = Devices(cloud.app.state.db, cloud.app.state.clock, cloud.app.state.settings.signing_key())
    assert cloud.blocking_portal.call(devices.revoke, kendari.device_id)
    with pytest.raises(restore.RestoreError, match="401"):
        restore.fetch_backup("http://portal.test", kendari.credential, tmp_path / "revoked", None,
                             transport=Passing(cloud))
    with pytest.raises(Exception, match="dicabut"):
        cloud.blocking_portal.call(devices.replacement_code, kendari.device_id)
    assert not list((tmp_path / "kolaka").glob("*.db")) and not list((tmp_path / "revoked").glob("*.db"))


def test_a_replacement_code_hands_the_device_to_the_new_card_and_shuts_out_the_old(cloud, edge_store, tmp_path):
    from sync.agent import enroll

    old = enrol(cloud, tmp_path / "var-old")
    agent = agent_for(edge_store, old, cloud, tmp_path / "var-old")
    run(agent.round())
    devices = Devices(cloud.app.state.db, cloud.app.state.clock, cloud.app.state.settings.signing_key())
    code = cloud.blocking_portal.call(devices.replacement_code, old.device_id)
    run(agent.round())  # until the new card enrols, the old one still syncs (a code asked for by mistake)
    new = enroll("http://portal.test", code, tmp_path / "var-new", transport=Passing(cloud))
    assert new.device_id == old.device_id and new.credential != old.credential
    with pytest.raises(Exception, match="401"):
        run(agent.round())
    answer = cloud.get("/sync/v1/state", params={"epoch": "e", "after": 0},
                       headers={"Authorization": f"Bearer {new.credential}"})
    assert answer.status_code == 200
    actions = [r["action"] for r in db_rows(cloud, "SELECT action FROM audit_log WHERE device_id = {}",
                                            old.device_id)]
    assert actions.count("device.replace") == 1 and actions.count("device.enrol") == 2


def test_an_erased_person_leaves_the_journal(cloud, edge_store, tmp_path):
    from edge import outbox
    from pst.clock import iso

    data_dir = tmp_path / "var-edge"
    enrolment = enrol(cloud, data_dir)
    agent = agent_for(edge_store, enrolment, cloud, data_dir)
    visit_id = desk_visit(edge_store, START)
    other = desk_visit(edge_store, START)
    run(agent.round())
    with edge_store.write() as db:  # as edge.privacy sends it
        outbox.append(db, "visit", visit_id, "anonymised", {"at": iso(START), "reason": "erasure"}, START)
    run(agent.round())
    events = {(r["entity_id"], json.loads(r["event"])["op"]): json.loads(r["event"])["payload"]
              for r in db_rows(cloud, "SELECT entity_id, event FROM sync_journal")}
    erased = events[(visit_id, "checked_in")]
    assert "name" not in erased and "email" not in erased and erased["erased"] is True
    assert erased["gender"] == "P"  # the record itself stays, for a restore
    assert events[(other, "checked_in")]["name"] == "Siti Rahmawati"
    # an erasure made in the portal by e-mail reaches the journal as well
    from cloud.privacy import erase_in

    async def erase():
        async with cloud.app.state.db.transaction():
            await erase_in(cloud.app.state.db, "SITI@example.id", START)

    cloud.blocking_portal.call(erase)
    payloads = [json.loads(r["event"])["payload"] for r in db_rows(cloud, "SELECT event FROM sync_journal")]
    assert not any("siti@example.id" in json.dumps(p).lower() for p in payloads)


def test_the_backup_facts_come_from_the_copy_itself(edge_store, tmp_path):
    desk_visit(edge_store, START)
    copy = edge_store.backup(tmp_path / "copy.db")
    with edge_store.write() as db:
        db.execute("DELETE FROM outbox")  # purged rows: AUTOINCREMENT still knows the highest sequence
    second = edge_store.backup(tmp_path / "second.db")
    facts = restore.backup_facts(copy)
    assert facts.seq == 4 and restore.backup_facts(second).seq == 4
    device_id = sqlite3.connect(copy).execute("SELECT value FROM meta WHERE key = 'device_id'").fetchone()[0]
    assert facts.epoch == device_id and facts.size == copy.stat().st_size


@pytest.mark.parametrize("method, path, params", [
    ("GET", "/sync/v1/journal", {}),
    ("GET", "/sync/v1/journal", {"epoch": "e", "after": "-1"}),
    ("GET", "/sync/v1/journal", {"epoch": "e" * 40, "after": "0"}),
    ("GET", "/sync/v1/journal", {"epoch": "e", "after": str(2**64)}),
    ("GET", "/sync/v1/journal", {"epoch": "e", "after": "0", "device": "x" * 500}),
    ("GET", "/sync/v1/backup", {"device": "\u0000"}),
    ("GET", "/sync/v1/backup", {}),
    ("PUT", "/sync/v1/backup", {}),
    ("PUT", "/sync/v1/backup", {"epoch": "e", "seq": "1", "taken": "2026-12-01T00:00:00", "sha256": "0" * 64}),
    ("PUT", "/sync/v1/backup", {"epoch": "e", "seq": "1", "taken": "2026-12-01T00:00:00+00:00", "sha256": "0" * 64}),
])
def test_bad_requests_about_backups_get_a_clear_4xx(cloud, tmp_path, method, path, params):
    enrolment = enrol(cloud, tmp_path / "var-edge")
    answer = cloud.request(method, path, params=params, content=b"" if method == "PUT" else None,
                           headers={"Authorization": f"Bearer {enrolment.credential}"})
    assert 400 <= answer.status_code < 500, answer.text
    assert answer.json()["detail"]
    assert db_rows(cloud, "SELECT count(*) AS n FROM device_backups")[0]["n"] == 0


def test_the_copy_for_the_cloud_is_never_taken_for_a_backup(edge_store, tmp_path):
    """While the agent makes it (or after a power cut in the middle), the keyless copy lies beside the backups: a
    restore of the newest good backup and the pruning of old ones do not see it."""
    from edge.store import newest_good_backup, prune_backups

    copy = nightly_backup(edge_store, tmp_path / "var-edge", "1")
    for_cloud = restore.cloud_copy(copy)
    os.utime(for_cloud, (time.time() + 60, time.time() + 60))  # newer than the backup
    assert list(copy.parent.glob("edge-*.db")) == [copy]
    assert newest_good_backup(copy.parent)[0] == copy
    os.utime(for_cloud, (time.time() - 30 * 86400, time.time() - 30 * 86400))  # and older than any kept
    assert prune_backups(copy.parent, 7, keep=copy) == [] and for_cloud.exists()
