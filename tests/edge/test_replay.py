"""A replacement appliance: a morning's work, a backup part way, more work; the outbox rows after the backup, replayed
onto the backup copy, give back every business table row for row (the exceptions are listed in `EXCEPTIONS`), and the
restored appliance goes on: the next ticket number, today's open visits, the ID cards in the lockers."""

from __future__ import annotations

import json
import shutil
import sqlite3
from contextlib import closing
from datetime import timedelta

import pytest

from edge import audit
from edge.appliance import Appliance, secret_key
from edge.demo_activity import FeederScanner
from edge.lockers import LockerError
from edge.migrations import migrate
from edge.replay import ReplayRefused, database_epoch, replay
from edge.settings import EdgeSettings
from edge.softcopy_requests import PURPOSES
from edge.store import EdgeStore
from edge.users import add_user
from pst import skm
from tests.edge.test_catalogue import SHELVES
from tests.edge.test_lockers import LOCKER_CONFIG, NIK, wait_pulse_done

SIM = "1234-5678-9012"  # Citra's driving licence
GUEST = {"gender": "P", "occupation": "pelajar", "purposes": ["baca_tercetak"], "id_type": "KTP"}
# table → its key and the columns a replay cannot give back (NOT_RESTORED in edge/replay.py), for rows made after
# the backup; every other column of every row must be equal
TABLES = {
    "tickets": ("id", ()), "visits": ("id", ("visitor_token",)), "locker_uses": ("id", ("id_hash",)),
    "lockers": ("number", ()), "scans": ("id", ("download_code", "code_expires_at")), "fetch_requests": ("id", ()),
    "publication_uses": ("id", ()), "publications": ("id", ()), "ratings": ("id", ()), "complaints": ("id", ()),
    "softcopy_requests": ("id", ()), "audit_log": ("id", ()), "users": ("id", ()),
}
EXCEPTIONS = {(table, column) for table, (_, columns) in TABLES.items() for column in columns}
OUTBOX = "seq, event_id, device_id, entity, entity_id, op, payload, created_at, hlc, clock_flag"


@pytest.fixture
def env(tmp_path):
    config = tmp_path / "pst.toml"
    config.write_text(LOCKER_CONFIG)
    return {"PST_DATA_DIR": str(tmp_path / "var"), "PST_EDGE_HARDWARE": "sim", "PST_EDGE_CONFIG": str(config)}


def check_in(appliance, name: str, **extra) -> str:
    data = GUEST | {"name": name, "email": f"{name.lower()}@example.id"} | extra
    return appliance.check_in(data).visit["id"]


def events_after(store: EdgeStore, seq: int) -> list[dict]:
    """The outbox rows after `seq` as the agent sends them (sync.agent.Agent._events) and the cloud keeps them."""
    rows = store.read.execute(
        "SELECT event_id, seq, entity, entity_id, op, payload, created_at, hlc, clock_flag FROM outbox WHERE seq > ?"
        " ORDER BY seq", [seq]).fetchall()
    keys = ("event_id", "seq", "entity", "entity_id", "op", "payload", "created_at", "hlc", "clock_flag")
    return [dict(zip(keys, row)) | {"payload": json.loads(row[5]), "corrected_at": None} for row in rows]


def rows(store: EdgeStore, table: str) -> dict:
    key = TABLES[table][0]
    cursor = store.read.execute(f"SELECT * FROM {table} ORDER BY {key}")
    names = [d[0] for d in cursor.description]
    return {row[names.index(key)]: dict(zip(names, row)) for row in cursor.fetchall()}


def tables(store: EdgeStore) -> dict[str, dict]:
    return {table: rows(store, table) for table in TABLES}


def max_seq(store: EdgeStore) -> int:
    return store.read.execute("SELECT max(seq) FROM outbox").fetchone()[0]


@pytest.fixture
def day(appliance, clock, tmp_path):
    """A morning at the desk on `appliance`, backed up part way: (the backup file, its last outbox seq, staff)."""
    appliance.catalogue.import_rows(SHELVES)
    rina = add_user(appliance.store, clock, "rina", "frontliner", "kata-sandi-rina-panjang")
    desk = audit.Actor("rina", "10.0.0.2")
    storage = next(i for i in appliance.catalogue.search("1102001.7411")["items"])["id"]
    appliance.issue("button")  # A001: a walk-in who never fills the guestbook
    ani = check_in(appliance, "Ani")  # A002
    appliance.lockers.assign(ani, "KTP", NIK, staff_id=rina.id, actor=desk)
    wait_pulse_done(appliance.hardware.lockers, 1)
    appliance.hardware.set_door(1, True)
    appliance.hardware.set_door(1, False)
    clock.advance(minutes=3)
    called = appliance.desk.call_next(1, staff_id=rina.id)
    appliance.desk.act(called.id, "serve", staff_id=rina.id)
    budi = check_in(appliance, "Budi")
    appliance.lockers.assign(budi, "KTP", "7471012301990123", staff_id=rina.id, actor=desk)
    request = appliance.fetches.request(budi, storage, staff_id=rina.id)
    appliance.fetches.advance(request["id"], "diambil", staff_id=rina.id)
    appliance.spooler.wait_idle()
    backup = appliance.store.backup(tmp_path / "backups" / "edge-20261130.db")
    backed_up = max_seq(appliance.store)

    clock.advance(minutes=20)  # after the backup: the work the cloud keeps and the backup lacks
    appliance.fetches.advance(request["id"], "diserahkan", staff_id=rina.id)  # counts an in-house use
    citra = check_in(appliance, "Citra", id_type="SIM")
    appliance.lockers.assign(citra, "SIM", SIM, staff_id=rina.id, actor=desk)
    appliance.desk.act(called.id, "done", staff_id=rina.id)
    nxt = appliance.desk.call_next(2, staff_id=rina.id)
    appliance.desk.act(nxt.id, "recall", staff_id=rina.id)
    appliance.desk.act(nxt.id, "serve", staff_id=rina.id)
    appliance.scans.scanner = FeederScanner()
    appliance.scans.scanner.waiting = 2
    appliance.scans.wait(appliance.scans.start(visit_id=budi))
    appliance.ratings.submit(ani, dict.fromkeys(skm.CODES, 4), "Pelayanan cepat", source="kiosk")
    appliance.checkout.checkout(ani, NIK, actor=desk)
    appliance.hardware.set_door(1, True)
    appliance.hardware.set_door(1, False)  # locker 1 is free again
    complaint = appliance.complaints.submit("langsung", "Antrian terlalu lama di pagi hari", "0812 3456 7890",
                                            staff_id=rina.id)
    appliance.complaints.advance(complaint["id"], "ditindaklanjuti", rina.id)
    appliance.softcopy_requests.create(citra, storage, None, PURPOSES[0])
    check_in(appliance, "Dedi")
    appliance.privacy.erase("dedi@example.id", actor="rina")
    appliance.issue("kiosk")
    appliance.spooler.wait_idle()
    return backup, backed_up, rina


@pytest.fixture
def original(day, appliance):
    """The old card's database once its appliance has stopped (nothing writes to it any more)."""
    appliance.stop()
    store = EdgeStore(appliance.settings.db_path)
    yield store
    store.close()


@pytest.fixture
def restored(day, appliance, original, tmp_path):
    """The backup copy on a new card (a data folder of its own), with the events after it replayed."""
    backup, backed_up, _ = day
    folder = tmp_path / "new-card"
    folder.mkdir()
    shutil.copy(backup, folder / "edge.db")
    store = EdgeStore(folder / "edge.db")
    migrate(store)
    events = events_after(original, backed_up)
    with store.write() as db:
        result = replay(db, events, appliance.clock.now(), epoch=database_epoch(original.read))
    assert result.applied == len(events) and result.skipped == 0 and result.last_seq == max_seq(original)
    yield store, events
    store.close()


def test_replayed_events_give_back_every_business_table_row_for_row(day, original, restored):
    store, events = restored
    backup, backed_up, _ = day
    with closing(sqlite3.connect(backup)) as kept:
        before = {t: {r[0] for r in kept.execute(f"SELECT {TABLES[t][0]} FROM {t}")} for t in TABLES}
    original, copy = tables(original), tables(store)
    for table, (_, exceptions) in TABLES.items():
        assert copy[table].keys() == original[table].keys(), table
        for key, row in original[table].items():
            ignored = () if key in before[table] else exceptions  # rows of the backup stay as they were
            assert {c: v for c, v in copy[table][key].items() if c not in ignored} == \
                   {c: v for c, v in row.items() if c not in ignored}, (table, key)
    assert EXCEPTIONS == {("visits", "visitor_token"), ("locker_uses", "id_hash"), ("scans", "download_code"),
                          ("scans", "code_expires_at")}
    new_visits = [v for k, v in copy["visits"].items() if k not in before["visits"]]
    assert all(v["visitor_token"] and v["visitor_token"] != original["visits"][v["id"]]["visitor_token"]
               for v in new_visits)  # a new key to the visitor's page: the old one never left the appliance
    assert {(u["locker"], u["id_hash"]) for k, u in copy["locker_uses"].items() if k not in before["locker_uses"]} \
        == {(3, "")}  # Citra's card: no hash came back, only its last four
    assert {e["entity"] for e in events} >= {"ticket", "visit", "locker_use", "locker", "scan", "fetch_request",
                                              "publication_use", "rating", "complaint", "softcopy_request", "audit",
                                              "erasure"}


def test_the_outbox_ends_where_the_cloud_stands(original, restored):
    store, events = restored
    outbox = f"SELECT {OUTBOX} FROM outbox ORDER BY seq"
    assert store.read.execute(outbox).fetchall() == original.read.execute(outbox).fetchall()
    assert store.read.execute("SELECT count(*) FROM outbox WHERE sent_at IS NULL").fetchone()[0] == 0
    for query in ("SELECT value FROM meta WHERE key = 'hlc'", "SELECT seq FROM sqlite_sequence WHERE name = 'outbox'",
                  "SELECT value FROM meta WHERE key IN ('device_id', 'epoch', 'secret_key') ORDER BY key"):
        assert store.read.execute(query).fetchall() == original.read.execute(query).fetchall()
    assert store.read.execute("SELECT cloud_seq FROM sync_state").fetchone()[0] == events[-1]["seq"]


@pytest.fixture
def replacement(restored, env, clock, tmp_path):
    """The appliance started on the new card: its data folder holds only the restored database (no key file)."""
    store, _ = restored
    store.close()
    settings = EdgeSettings.from_env(env | {"PST_DATA_DIR": str(tmp_path / "new-card")})
    clock.advance(minutes=5)
    running = Appliance(settings, clock=clock).start()
    yield running
    running.stop()


def test_the_restored_appliance_goes_on_with_the_days_numbers_visits_and_lockers(original, replacement):
    service, day = replacement.config.queue.button_service, replacement.queue.today().isoformat()
    last = original.read.execute("SELECT max(seq) FROM tickets WHERE service = ? AND service_day = ?",
                                 [service, day]).fetchone()[0]
    assert replacement.issue("button").seq == last + 1
    visits = "SELECT v.id, v.name, v.finished_at, t.number, t.status FROM visits v JOIN tickets t ON t.id = v.ticket_id"
    query = visits + " WHERE v.service_day = ? ORDER BY v.checked_in_at, v.id"
    assert replacement.store.read.execute(query, [day]).fetchall() == original.read.execute(query, [day]).fetchall()
    open_visits = [v["name"] for v in replacement.visits.of_day(day) if v["finished_at"] is None]
    assert sorted(open_visits) == ["(dihapus)", "Budi", "Citra"]
    assert [(c["locker"], c["name"], c["id_last4"]) for c in replacement.lockers.checklist()] == \
        [(2, "Budi", "0123"), (3, "Citra", "9012")]


@pytest.mark.parametrize("name, right, wrong", [
    ("Budi", "7471012301990123", "7471012301990999"),  # assigned before the backup: its keyed hash, the key kept
    ("Citra", SIM, "1234-5678-0000"),  # assigned after it: restored without the hash, matched by the last four
])
def test_a_card_in_a_locker_is_handed_back_only_against_itself(replacement, name, right, wrong):
    [visit] = [v for v in replacement.visits.of_day(replacement.queue.today().isoformat()) if v["name"] == name]
    with pytest.raises(LockerError) as refused:
        replacement.checkout.checkout(visit["id"], wrong)
    assert refused.value.status == 409
    assert replacement.checkout.checkout(visit["id"], right)["id_card_returned"]


def test_the_key_travels_with_the_database(appliance, replacement, tmp_path):
    old_card = appliance.settings
    assert secret_key(replacement.settings.data_dir, replacement.store.path) == \
        secret_key(old_card.data_dir, old_card.db_path)
    assert not (tmp_path / "new-card" / "secret.key").exists()  # no new key was made on the new card


def test_replaying_twice_changes_nothing(appliance, restored):
    store, events = restored
    before = tables(store), store.read.execute(f"SELECT {OUTBOX}, sent_at FROM outbox").fetchall()
    with store.write() as db:
        again = replay(db, events, appliance.clock.now(), epoch=database_epoch(db))
    assert (again.applied, again.skipped) == (0, len(events))
    assert (tables(store), store.read.execute(f"SELECT {OUTBOX}, sent_at FROM outbox").fetchall()) == before


@pytest.fixture
def backup_copy(day, original, tmp_path):
    backup, backed_up, _ = day
    shutil.copy(backup, tmp_path / "copy.db")
    store = EdgeStore(tmp_path / "copy.db")
    yield store, events_after(original, backed_up)
    store.close()


def other_history(events: list[dict]) -> list[dict]:
    """Another event where the backup holds one: a different database's history under the same epoch."""
    return [events[0] | {"event_id": "0190aaaa-not-this-one", "seq": events[0]["seq"] - 1}, *events]


@pytest.mark.parametrize("change, why", [
    (lambda events: events[:3] + events[4:], "hole"),
    (lambda events: events[1:], "hole"),
    (other_history, "differs"),
])
def test_events_that_do_not_continue_the_database_are_refused_whole(backup_copy, appliance, change, why):
    store, events = backup_copy
    before = tables(store), store.read.execute(f"SELECT {OUTBOX}, sent_at FROM outbox").fetchall()
    with pytest.raises(ReplayRefused, match=why):
        with store.write() as db:
            replay(db, change(events), appliance.clock.now(), epoch=database_epoch(db))
    assert (tables(store), store.read.execute(f"SELECT {OUTBOX}, sent_at FROM outbox").fetchall()) == before


def test_events_of_another_epoch_are_refused(backup_copy, appliance):
    store, events = backup_copy
    with pytest.raises(ReplayRefused, match="epoch"):
        with store.write() as db:
            replay(db, events, appliance.clock.now(), epoch="0190aaaa-another-database")
    assert store.read.execute("SELECT max(seq) FROM outbox").fetchone()[0] < events[0]["seq"]


def test_an_upgraded_appliance_keeps_its_key_file(tmp_path):
    """Migration m012 takes the key an appliance already had (its lockers' hashes were made with it)."""
    folder = tmp_path / "var"
    folder.mkdir()
    (folder / "secret.key").write_text("ab" * 32)
    store = EdgeStore(folder / "edge.db")
    migrate(store)
    store.close()
    assert secret_key(folder, folder / "edge.db") == bytes.fromhex("ab" * 32)
    (folder / "secret.key").unlink()  # from now on the database holds it
    assert secret_key(folder, folder / "edge.db") == bytes.fromhex("ab" * 32)
