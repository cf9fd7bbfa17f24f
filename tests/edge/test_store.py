import sqlite3
import threading

import pytest

from edge import outbox
from edge.migrations import migrate, migrations
from edge.store import EdgeStore, StoreCorrupt, connect


def pragmas(db):
    return {
        name: db.execute(f"PRAGMA {name}").fetchone()[0]
        for name in ("journal_mode", "synchronous", "busy_timeout", "foreign_keys")
    }


def test_every_connection_is_opened_durable(store):
    expected = {"journal_mode": "wal", "synchronous": 2, "busy_timeout": 10_000, "foreign_keys": 1}
    assert pragmas(store.read) == expected
    with store.writer() as db:
        assert pragmas(db) == expected
    assert pragmas(connect(store.path)) == expected


def test_migrations_are_idempotent(tmp_path):
    store = EdgeStore(tmp_path / "edge.db")
    assert migrate(store) == [m.name for m in migrations._migrations]
    schema = store.read.execute("SELECT sql FROM sqlite_master ORDER BY name").fetchall()
    device = outbox.device_id(store.read)
    assert migrate(store) == []
    store.close()
    again = EdgeStore(tmp_path / "edge.db")
    assert migrate(again) == []
    assert again.read.execute("SELECT sql FROM sqlite_master ORDER BY name").fetchall() == schema
    assert outbox.device_id(again.read) == device  # the device keeps its identity
    again.close()


def test_a_failed_business_write_leaves_no_outbox_event(store, clock):
    with pytest.raises(sqlite3.IntegrityError):
        with store.write() as db:
            outbox.append(db, "ticket", "t1", "issued", {"n": 1}, clock.now())
            db.execute("INSERT INTO tickets (id) VALUES ('t1')")  # violates NOT NULL
    assert outbox.backlog(store.read) == 0


def test_outbox_refuses_to_write_outside_a_transaction(store, clock):
    with store.writer() as db, pytest.raises(RuntimeError, match="transaction"):
        outbox.append(db, "ticket", "t1", "issued", {}, clock.now())


def test_outbox_sequence_is_gapless_and_ordered(store, clock):
    for i in range(5):
        with store.write() as db:
            outbox.append(db, "ticket", f"t{i}", "issued", {"i": i}, clock.now())
    events = outbox.pending(store.read)
    assert [e["seq"] for e in events] == [1, 2, 3, 4, 5]
    assert [e["payload"]["i"] for e in events] == [0, 1, 2, 3, 4]
    assert len({e["event_id"] for e in events}) == 5


def test_backup_is_consistent_while_writes_go_on(store, clock, tmp_path):
    stop = threading.Event()

    def keep_writing():
        i = 0
        while not stop.is_set():
            with store.write() as db:
                outbox.append(db, "ticket", f"t{i}", "issued", {"i": i}, clock.now())
            i += 1

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        copy = store.backup(tmp_path / "backups" / "edge-copy.db")
    finally:
        stop.set()
        writer.join()
    backup = sqlite3.connect(copy)
    assert backup.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    seqs = [row[0] for row in backup.execute("SELECT seq FROM outbox ORDER BY seq")]
    assert seqs == list(range(1, len(seqs) + 1))


def test_a_damaged_file_is_refused(tmp_path):
    path = tmp_path / "edge.db"
    store = EdgeStore(path)
    migrate(store)
    with store.write() as db:
        db.execute("CREATE TABLE filler (x TEXT)")
        for _ in range(200):
            db.execute("INSERT INTO filler VALUES (?)", ["x" * 500])
    store.close()
    sqlite3.connect(path).execute("PRAGMA wal_checkpoint(TRUNCATE)").close()
    data = bytearray(path.read_bytes())
    page = 4096
    data[page * 3 : page * 3 + 64] = b"\xff" * 64  # scribble over a b-tree page header
    path.write_bytes(bytes(data))
    damaged = EdgeStore(path)
    with pytest.raises(StoreCorrupt, match="integrity check failed"):
        damaged.ensure_sound()
    damaged.close()


def test_what_follows_a_commit_runs_after_the_outermost_commit_and_never_after_a_rollback(store):
    seen: list[int] = []

    def count_calls() -> None:  # what a board woken by the announcement reads
        seen.append(store.read.execute("SELECT count(*) FROM tickets WHERE status = 'called'").fetchone()[0])

    store.after_commit(lambda: seen.append(-1))  # no transaction open: at once
    assert seen == [-1]
    with store.write() as outer:
        with store.write() as inner:  # a service's own write inside an audited act
            inner.execute("INSERT INTO tickets (id, service, service_day, seq, number, source, status, issued_at)"
                          " VALUES ('t1', 'A', '2026-12-07', 1, 'A001', 'button', 'called', '2026-12-07T00:00:00Z')")
        store.after_commit(count_calls)
        assert seen == [-1]  # not yet: the outer transaction is still open
    assert seen == [-1, 1]
    with pytest.raises(RuntimeError), store.write():
        store.after_commit(lambda: seen.append(99))
        raise RuntimeError("the act fails")
    store.after_commit(lambda: seen.append(2))
    assert seen == [-1, 1, 2]
