import subprocess
import sys
import threading

import pytest

from edge import outbox
from edge.config import load_config, parse_config
from edge.migrations import migrate
from edge.store import EdgeStore
from edge.tickets import QueueService, UnknownService

CONFIG = load_config()


@pytest.fixture
def queue(store, clock):
    return QueueService(store, CONFIG, clock)


def numbers(tickets):
    return [t.number for t in tickets]


def test_numbers_count_up_within_a_day(queue):
    assert numbers(queue.issue("button") for _ in range(3)) == ["A001", "A002", "A003"]


def test_numbering_starts_again_at_the_next_opening(queue, clock):
    queue.issue("kiosk")
    queue.issue("kiosk")
    clock.advance(hours=8)  # Monday 17:00 WITA, closed: belongs to Tuesday
    late = queue.issue("kiosk")
    clock.advance(hours=15)  # Tuesday 08:00
    morning = queue.issue("kiosk")
    assert (late.number, late.service_day) == ("A001", "2026-12-01")
    assert (morning.number, morning.service_day) == ("A002", "2026-12-01")


def test_each_service_has_its_own_prefix_and_sequence(store, clock):
    raw = {
        "office": {"code": "7400", "name": "BPS Provinsi Sulawesi Tenggara"},
        "printer": {"connection": "none"},
        "services": [
            {"code": "pustaka", "name": "Perpustakaan", "prefix": "A"},
            {"code": "konsultasi", "name": "Konsultasi Statistik", "prefix": "B"},
        ],
    }
    queue = QueueService(store, parse_config(raw), clock)
    issued = [queue.issue("kiosk", s) for s in ("pustaka", "konsultasi", "pustaka", "konsultasi")]
    assert numbers(issued) == ["A001", "B001", "A002", "B002"]
    with pytest.raises(UnknownService):
        queue.issue("kiosk", "fotokopi")


def test_numbering_survives_a_restart(tmp_path, clock):
    for expected in ("A001", "A002"):
        store = EdgeStore(tmp_path / "edge.db")
        migrate(store)
        assert QueueService(store, CONFIG, clock).issue("button").number == expected
        store.close()


def test_people_ahead_are_those_still_waiting_before_you(queue, store):
    first, second, third = (queue.issue("kiosk") for _ in range(3))
    assert [queue.ahead(t) for t in (first, second, third)] == [0, 1, 2]
    with store.write() as db:
        db.execute("UPDATE tickets SET status = 'called' WHERE id = ?", [first.id])
    assert queue.ahead(third) == 1


def test_every_ticket_and_its_outbox_event_commit_together(queue, store):
    tickets = [queue.issue("kiosk") for _ in range(4)]
    events = outbox.pending(store.read)
    assert [e["entity_id"] for e in events] == [t.id for t in tickets]
    assert {e["op"] for e in events} == {"issued"}
    assert events[0]["payload"]["number"] == "A001"


def test_concurrent_issuing_from_threads_gives_no_duplicates(queue):
    results, barrier = [], threading.Barrier(8)

    def issue_many():
        barrier.wait()
        for _ in range(25):
            results.append(queue.issue("kiosk").seq)

    threads = [threading.Thread(target=issue_many) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == list(range(1, 201))


ISSUER = """
import sys
from datetime import datetime
from zoneinfo import ZoneInfo
from edge.config import load_config
from edge.store import EdgeStore
from edge.tickets import QueueService
from pst.clock import ManualClock
store = EdgeStore(sys.argv[1])
queue = QueueService(store, load_config(), ManualClock(datetime(2026, 11, 30, 9, tzinfo=ZoneInfo("Asia/Makassar"))))
for _ in range(int(sys.argv[2])):
    print(queue.issue("kiosk").seq, flush=True)
"""


def test_concurrent_issuing_from_processes_gives_no_duplicates(store):
    procs = [
        subprocess.Popen([sys.executable, "-c", ISSUER, str(store.path), "60"], stdout=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    seqs = []
    for proc in procs:
        out, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0
        seqs += [int(line) for line in out.split()]
    assert sorted(seqs) == list(range(1, 181))


def test_a_ticket_is_worth_printing_late_only_while_its_visitor_waits(queue, store, clock):
    ticket = queue.issue("kiosk")
    assert queue.still_waits(ticket)
    clock.advance(minutes=CONFIG.queue.reprint_window_min + 1)
    assert not queue.still_waits(queue.get(ticket.id))
    fresh = queue.issue("kiosk")
    with store.write() as db:
        db.execute("UPDATE tickets SET status = 'called' WHERE id = ?", [fresh.id])
    assert not queue.still_waits(queue.get(fresh.id))


def test_print_outcomes_are_recorded_with_the_outbox(queue, store):
    ticket = queue.issue("kiosk")
    queue.record_print(ticket.id, "failed", "paper_out: printer is out of paper")
    queue.record_print(ticket.id, "printed")
    final = queue.get(ticket.id)
    assert (final.print_status, final.print_attempts, final.print_error) == ("printed", 2, None)
    assert [e["op"] for e in outbox.pending(store.read)] == ["issued", "print_failed", "print_printed"]
