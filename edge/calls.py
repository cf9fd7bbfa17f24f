"""The frontliner's desk: call the next visitor to a counter, recall, skip a no-show, start and finish service.

Starting service stops the visitor's 5-minute clock (`visits.wait_s`). Every change is one transaction with its
outbox event; calls are announced to the display boards after the commit.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlite_utils import Database

from edge import outbox
from edge.i18n import N_
from edge.store import EdgeStore
from edge.tickets import COLUMNS, QueueService, Ticket
from pst.clock import Clock, iso

# action → (statuses it may start from, status it leads to)
TRANSITIONS = {
    "recall": (("called",), "called"),
    "skip": (("waiting", "called"), "skipped"),
    "serve": (("waiting", "called"), "serving"),
    "done": (("called", "serving"), "done"),
}
STATUS_WORDS = {
    "waiting": N_("menunggu"), "called": N_("dipanggil"), "serving": N_("dilayani"), "done": N_("selesai"),
    "skipped": N_("dilewati"),
}


class DeskError(ValueError):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class CallDesk:
    def __init__(self, store: EdgeStore, queue: QueueService, clock: Clock, announce: Callable[[dict], None]):
        self.store, self.queue, self.clock = store, queue, clock
        self.announce = announce

    def call_next(self, counter: int, staff_id: str | None = None) -> Ticket | None:
        """Visitors who filled the guestbook first (their 5 minutes are running), oldest check-in first;
        then the others by number. None when nobody waits."""
        now = self.clock.now()
        with self.store.write() as db:
            row = db.execute(
                f"SELECT {', '.join('t.' + c for c in COLUMNS)} FROM tickets t LEFT JOIN visits v ON v.ticket_id = t.id"
                " WHERE t.service_day = ? AND t.status = 'waiting'"
                " ORDER BY v.checked_in_at IS NULL, v.checked_in_at, t.seq LIMIT 1",
                [self.queue.today().isoformat()],
            ).fetchone()
            if row is None:
                return None
            ticket = self._move(db, Ticket(*row), "called", now, counter=counter, staff_id=staff_id)
        self._announce(ticket)
        return ticket

    def busy_at(self, counter: int) -> Ticket | None:
        """The ticket a counter is still on today (called, or being served), if any: calling the next one to that
        counter asks the frontliner first."""
        row = self.store.read.execute(
            f"SELECT {', '.join(COLUMNS)} FROM tickets WHERE service_day = ? AND counter = ?"
            " AND status IN ('called', 'serving') ORDER BY called_at DESC LIMIT 1",
            [self.queue.today().isoformat(), counter],
        ).fetchone()
        return Ticket(*row) if row else None

    def act(self, ticket_id: str, action: str, staff_id: str | None = None, counter: int | None = None) -> Ticket:
        if action not in TRANSITIONS:
            raise DeskError(404, N_("tindakan tidak dikenal: %(action)s") % {"action": action})
        allowed, target = TRANSITIONS[action]
        now = self.clock.now()
        with self.store.write() as db:
            ticket = self.queue.get(ticket_id, db)
            if ticket is None:
                raise DeskError(404, N_("tiket tidak ditemukan"))
            if ticket.status not in allowed:
                status = STATUS_WORDS.get(ticket.status, ticket.status)
                message = N_("nomor %(number)s sedang %(status)s") % {"number": ticket.number, "status": status}
                raise DeskError(409, message)
            ticket = self._move(db, ticket, target, now, counter=counter or ticket.counter, staff_id=staff_id)
            if action == "serve":
                self._start_service(db, ticket, now)
        if action == "recall":
            self._announce(ticket)
        return ticket

    def _move(self, db: Database, ticket: Ticket, status: str, now: datetime, counter, staff_id) -> Ticket:
        stamp = {"called": "called_at", "serving": "serving_at", "done": "done_at", "skipped": "skipped_at"}[status]
        calls = 1 if status == "called" else 0
        db.execute(
            f"UPDATE tickets SET status = ?, {stamp} = ?, counter = ?, call_count = call_count + ?,"
            " staff_id = coalesce(?, staff_id) WHERE id = ?",
            [status, iso(now), counter, calls, staff_id, ticket.id],
        )
        # staff_id (an appliance account's id, as the ticket keeps it) lets edge.replay restore the ticket whole
        payload = {"status": status, "counter": counter, "at": iso(now), "staff_id": staff_id}
        outbox.append(db, "ticket", ticket.id, status, payload, now)
        return self.queue.get(ticket.id, db)

    def _start_service(self, db: Database, ticket: Ticket, now: datetime) -> None:
        row = db.execute(
            "SELECT id, checked_in_at FROM visits WHERE ticket_id = ? AND service_started_at IS NULL", [ticket.id]
        ).fetchone()
        if row is None:
            return  # not checked in yet (the guestbook is filled at the counter: no wait) or already started
        wait_s = max(0.0, (now - datetime.fromisoformat(row[1])).total_seconds())
        db.execute("UPDATE visits SET service_started_at = ?, wait_s = ? WHERE id = ?", [iso(now), wait_s, row[0]])
        outbox.append(db, "visit", row[0], "service_started", {"at": iso(now), "wait_s": wait_s}, now)

    def _announce(self, ticket: Ticket) -> None:
        self.store.after_commit(lambda: self.announce(self._call_event(ticket)))

    def _call_event(self, ticket: Ticket) -> dict:
        return {
            "type": "call", "id": ticket.id, "number": ticket.number, "counter": ticket.counter,
            "called_at": iso(datetime.fromisoformat(ticket.called_at).astimezone(self.queue.config.office.tz)),
            "repeat": ticket.call_count > 1,
        }
