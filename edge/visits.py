"""Check-in through the guestbook: one visit per visitor per visit, linked to their queue ticket.

A repeat submission with the same e-mail inside the repeat window greets the visitor back and returns the visit
already made, so a double tap or a second device never makes a duplicate.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlite_utils import Database

from edge import outbox
from edge.guestbook import GuestbookError, validate
from edge.i18n import N_
from edge.sla import serve_by
from edge.store import EdgeStore
from edge.tickets import COLUMNS, QueueService, Ticket
from pst.clock import Clock, iso
from pst.ids import new_id

VISIT_COLUMNS = (
    "id", "ticket_id", "service_day", "name", "gender", "age", "education", "occupation", "institution", "email",
    "phone", "purposes", "id_type", "has_portal_account", "checked_in_at", "serve_by", "service_started_at",
    "wait_s", "finished_at",
)
OPEN_STATUSES = ("waiting", "called", "serving")


@dataclass(frozen=True)
class CheckIn:
    visit: dict
    ticket: Ticket
    created: bool  # False: the visitor was already checked in (welcome back)
    new_ticket: bool  # True: no ticket was given, one was issued


class VisitService:
    def __init__(self, store: EdgeStore, queue: QueueService, clock: Clock, repeat_window_min: int):
        self.store, self.queue, self.clock = store, queue, clock
        self.repeat_window = timedelta(minutes=repeat_window_min)

    def check_in(self, data: dict) -> CheckIn:
        clean = validate(data)
        now = self.clock.now()
        with self.store.write() as db:
            repeat = self._repeat(db, clean["email"], now)
            if repeat is not None:
                return CheckIn(repeat, self.queue.get(repeat["ticket_id"], db), created=False, new_ticket=False)
            ticket, new_ticket = self._ticket_for(db, clean)
            visit = self._insert(db, clean, ticket, now)
        return CheckIn(visit, ticket, created=True, new_ticket=new_ticket)

    def get(self, visit_id: str, db: Database | None = None) -> dict | None:
        db = db or self.store.read
        row = db.execute(f"SELECT {', '.join(VISIT_COLUMNS)} FROM visits WHERE id = ?", [visit_id]).fetchone()
        return _visit(row) if row else None

    def for_ticket(self, ticket_id: str, db: Database | None = None) -> dict | None:
        db = db or self.store.read
        row = db.execute(f"SELECT {', '.join(VISIT_COLUMNS)} FROM visits WHERE ticket_id = ?", [ticket_id]).fetchone()
        return _visit(row) if row else None

    def of_day(self, day: str, query: str = "") -> list[dict]:
        sql = f"SELECT {', '.join('v.' + c for c in VISIT_COLUMNS)}, t.number FROM visits v JOIN tickets t ON t.id = v.ticket_id WHERE v.service_day = ?"
        params: list = [day]
        if query:
            sql += " AND (v.name LIKE ? OR v.email LIKE ? OR v.institution LIKE ? OR t.number LIKE ?)"
            params += [f"%{query}%"] * 4
        rows = self.store.read.execute(sql + " ORDER BY v.checked_in_at DESC", params).fetchall()
        return [_visit(row[:-1]) | {"number": row[-1]} for row in rows]

    def by_token(self, token: str) -> dict | None:
        """The visit whose own ticket page this token opens; None for a token that is not one."""
        if not isinstance(token, str) or not 16 <= len(token) <= 64:
            return None
        row = self.store.read.execute(
            f"SELECT {', '.join(VISIT_COLUMNS)} FROM visits WHERE visitor_token = ?", [token]
        ).fetchone()
        return _visit(row) if row else None

    def token_of(self, visit_id: str) -> str:
        """The token of the visitor's own ticket page; a visit made before tokens existed gets one now."""
        row = self.store.read.execute("SELECT visitor_token FROM visits WHERE id = ?", [visit_id]).fetchone()
        if row and row[0]:
            return row[0]
        token = new_token()
        with self.store.write() as db:
            db.execute("UPDATE visits SET visitor_token = coalesce(visitor_token, ?) WHERE id = ?", [token, visit_id])
            return db.execute("SELECT visitor_token FROM visits WHERE id = ?", [visit_id]).fetchone()[0]

    def _repeat(self, db: Database, email: str, now: datetime) -> dict | None:
        row = db.execute(
            f"SELECT {', '.join(VISIT_COLUMNS)} FROM visits WHERE email = ? COLLATE NOCASE AND checked_in_at >= ?"
            " AND finished_at IS NULL ORDER BY checked_in_at DESC LIMIT 1",
            [email, iso(now - self.repeat_window)],
        ).fetchone()
        return _visit(row) if row else None

    def _ticket_for(self, db: Database, clean: dict) -> tuple[Ticket, bool]:
        if not clean["ticket_id"] and not clean["ticket_number"]:
            return self.queue.issue("kiosk"), True
        if clean["ticket_id"]:
            where, value = "id = ?", clean["ticket_id"]
        else:
            where, value = "number = ? COLLATE NOCASE", clean["ticket_number"]
        row = db.execute(
            f"SELECT {', '.join(COLUMNS)} FROM tickets WHERE {where} AND service_day = ?",
            [value, self.queue.today().isoformat()],
        ).fetchone()
        if row is None or Ticket(*row).status not in OPEN_STATUSES:
            raise GuestbookError({"ticket_number": N_("nomor antrian tidak ditemukan untuk hari ini")})
        ticket = Ticket(*row)
        if db.execute("SELECT 1 FROM visits WHERE ticket_id = ?", [ticket.id]).fetchone():
            raise GuestbookError({"ticket_number": N_("nomor antrian ini sudah dipakai mengisi buku tamu")})
        return ticket, False

    def _insert(self, db: Database, clean: dict, ticket: Ticket, now: datetime) -> dict:
        started = now if ticket.status == "serving" else None  # filled in at the counter: no wait
        visit = {
            "id": new_id(), "ticket_id": ticket.id, "service_day": ticket.service_day,
            **{k: clean[k] for k in ("name", "gender", "age", "education", "occupation", "institution", "email",
                                     "phone", "id_type", "has_portal_account")},
            "purposes": json.dumps(clean["purposes"]),
            "checked_in_at": iso(now), "serve_by": iso(serve_by(now)),
            "service_started_at": iso(started) if started else None, "wait_s": 0.0 if started else None,
            "finished_at": None,
        }
        # the token stays on the appliance: it is a key to the visitor's page, not part of the visit's record
        db["visits"].insert(visit | {"visitor_token": new_token()})
        outbox.append(db, "visit", visit["id"], "checked_in", visit | {"purposes": clean["purposes"]}, now)
        return _visit(tuple(visit[c] for c in VISIT_COLUMNS))


def new_token() -> str:
    """128 random bits, URL-safe: the visitor's page cannot be found by counting, as a ticket number can."""
    return secrets.token_urlsafe(16)


def initials(name: str | None) -> str:
    """"Wa Ode Nurhaliza" → "W. O. N.": what a shared screen may show of a visitor found by a ticket number."""
    letters = [word[0].upper() for word in (name or "").split() if word[:1].isalpha()]
    return " ".join(f"{letter}." for letter in letters[:4])


def _visit(row) -> dict:
    visit = dict(zip(VISIT_COLUMNS, row))
    visit["purposes"] = json.loads(visit["purposes"])
    if visit["has_portal_account"] is not None:
        visit["has_portal_account"] = bool(visit["has_portal_account"])
    return visit
