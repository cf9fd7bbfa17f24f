"""Checkout, step 7 of the standard: the visitor takes the bag back, gets the ID card back and leaves.

One transaction closes the visit, releases the locker (one last unlock after the commit; the locker is free once
its door shuts), records the ID card's return, ends the ticket and lets other parts settle what they hold for the
visit (open fetch requests, for one). A part that needs something settled first refuses with 409 and the reason.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlite_utils import Database

from edge import audit, outbox
from edge.i18n import N_
from edge.lockers import LockerError, LockerService
from edge.store import EdgeStore
from pst.clock import Clock, iso

Settle = Callable[[Database, str, datetime], None]  # may raise LockerError(409, reason)


class CheckoutService:
    def __init__(self, store: EdgeStore, lockers: LockerService, clock: Clock):
        self.store, self.lockers, self.clock = store, lockers, clock
        self.settlers: list[Settle] = []

    def checkout(self, visit_id: str, id_number: object = None, actor: audit.Actor | None = None) -> dict:
        now = self.clock.now()
        with self.store.write() as db:
            row = db.execute("SELECT ticket_id, finished_at FROM visits WHERE id = ?", [visit_id]).fetchone()
            if row is None:
                raise LockerError(404, N_("Kunjungan tidak ditemukan"))
            if row[1] is not None:
                raise LockerError(409, N_("Kunjungan ini sudah selesai (checkout sudah dicatat)"))
            for settle in self.settlers:
                settle(db, visit_id, now)
            locker = self.lockers.release(db, visit_id, id_number, now)
            self._end_ticket(db, row[0], now)
            db.execute("UPDATE visits SET finished_at = ? WHERE id = ?", [iso(now), visit_id])
            outbox.append(db, "visit", visit_id, "checked_out", {"at": iso(now), "locker": locker}, now)
            if actor:
                actor.record(db, now, "locker.checkout", f"visit:{visit_id}", locker=locker)
                if locker is not None:
                    actor.record(db, now, "locker.open", f"locker:{locker}", visit=visit_id, reason="checkout")
        if locker is not None:
            self.lockers.unlock_for_release(locker)
        return {"visit_id": visit_id, "finished_at": iso(now), "locker": locker, "id_card_returned": locker is not None}

    @staticmethod
    def _end_ticket(db: Database, ticket_id: str, now: datetime) -> None:
        """A visitor who leaves is done with the desk: served tickets end, unserved ones are dropped from the queue."""
        status = db.execute("SELECT status FROM tickets WHERE id = ?", [ticket_id]).fetchone()[0]
        target = {"called": "done", "serving": "done", "waiting": "skipped"}.get(status)
        if target is None:
            return
        stamp = "done_at" if target == "done" else "skipped_at"
        db.execute(f"UPDATE tickets SET status = ?, {stamp} = ? WHERE id = ?", [target, iso(now), ticket_id])
        outbox.append(db, "ticket", ticket_id, target, {"status": target, "at": iso(now), "by": "checkout"}, now)
