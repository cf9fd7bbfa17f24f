"""Queue tickets: issuing numbers, who is ahead, and what became of each ticket's printing.

A number is issued inside one write transaction (next `seq` for the service and day, the ticket row and its
outbox event), so it is committed before anyone sees it and `UNIQUE (service_day, service, seq)` makes a
duplicate impossible, across threads, processes and restarts.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta

from sqlite_utils import Database

from edge import outbox
from edge.config import ApplianceConfig
from edge.queue import format_number, service_day
from edge.store import EdgeStore
from pst.clock import Clock, iso
from pst.ids import new_id

SOURCES = ("button", "kiosk", "staff")
COLUMNS = (
    "id", "service", "service_day", "seq", "number", "issued_at", "source", "status",
    "print_status", "print_attempts", "printed_at", "print_error",
    "counter", "called_at", "call_count", "serving_at", "done_at", "skipped_at",
)


@dataclass(frozen=True)
class Ticket:
    id: str
    service: str
    service_day: str
    seq: int
    number: str
    issued_at: str
    source: str
    status: str
    print_status: str
    print_attempts: int
    printed_at: str | None
    print_error: str | None
    counter: int | None = None
    called_at: str | None = None
    call_count: int = 0
    serving_at: str | None = None
    done_at: str | None = None
    skipped_at: str | None = None

    @property
    def issued(self) -> datetime:
        return datetime.fromisoformat(self.issued_at)


class UnknownService(ValueError):
    pass


class QueueService:
    def __init__(self, store: EdgeStore, config: ApplianceConfig, clock: Clock):
        self.store, self.config, self.clock = store, config, clock

    def today(self) -> date:
        office = self.config.office
        return service_day(self.clock.now(), office.tz, self.config.hours, self.config.queue.reset_at)

    def issue(self, source: str, service: str | None = None) -> Ticket:
        if source not in SOURCES:
            raise ValueError(f"unknown ticket source {source!r}")
        code = service or self.config.queue.button_service
        try:
            prefix = self.config.service(code).prefix
        except KeyError:
            raise UnknownService(code) from None
        now = self.clock.now()
        day = service_day(now, self.config.office.tz, self.config.hours, self.config.queue.reset_at).isoformat()
        with self.store.write() as db:
            seq = db.execute(
                "SELECT coalesce(max(seq), 0) + 1 FROM tickets WHERE service_day = ? AND service = ?", [day, code]
            ).fetchone()[0]
            ticket = Ticket(
                id=new_id(), service=code, service_day=day, seq=seq, number=format_number(prefix, seq),
                issued_at=iso(now), source=source, status="waiting", print_status="pending",
                print_attempts=0, printed_at=None, print_error=None,
            )
            db["tickets"].insert(asdict(ticket))
            outbox.append(db, "ticket", ticket.id, "issued", asdict(ticket), now)
        return ticket

    def get(self, ticket_id: str, db: Database | None = None) -> Ticket | None:
        db = db or self.store.read
        row = db.execute(f"SELECT {', '.join(COLUMNS)} FROM tickets WHERE id = ?", [ticket_id]).fetchone()
        return Ticket(*row) if row else None

    def ahead(self, ticket: Ticket, db: Database | None = None) -> int:
        """People still waiting for the same service who took their number earlier the same day."""
        db = db or self.store.read
        return db.execute(
            "SELECT count(*) FROM tickets WHERE service_day = ? AND service = ? AND seq < ? AND status = 'waiting'",
            [ticket.service_day, ticket.service, ticket.seq],
        ).fetchone()[0]

    def of_day(self, day: date | None = None, statuses: tuple[str, ...] | None = None) -> list[Ticket]:
        day_text = (day or self.today()).isoformat()
        sql = f"SELECT {', '.join(COLUMNS)} FROM tickets WHERE service_day = ?"
        params: list = [day_text]
        if statuses:
            sql += f" AND status IN ({', '.join('?' * len(statuses))})"
            params += list(statuses)
        rows = self.store.read.execute(sql + " ORDER BY issued_at, seq", params).fetchall()
        return [Ticket(*row) for row in rows]

    def pending_prints(self) -> list[Ticket]:
        rows = self.store.read.execute(
            f"SELECT {', '.join(COLUMNS)} FROM tickets WHERE print_status = 'pending' ORDER BY issued_at, seq"
        ).fetchall()
        return [Ticket(*row) for row in rows]

    def still_waits(self, ticket: Ticket) -> bool:
        """Worth printing late: waiting, today's numbering, and not older than the reprint window."""
        window = timedelta(minutes=self.config.queue.reprint_window_min)
        return (
            ticket.status == "waiting"
            and ticket.service_day == self.today().isoformat()
            and self.clock.now() - ticket.issued <= window
        )

    def record_print(self, ticket_id: str, outcome: str, error: str | None = None) -> None:
        """outcome: printed | failed (stays pending, to retry) | not_printed (given up)."""
        now = self.clock.now()
        status = {"printed": "printed", "failed": "pending", "not_printed": "not_printed"}[outcome]
        with self.store.write() as db:
            db.execute(
                "UPDATE tickets SET print_status = ?, print_attempts = print_attempts + ?,"
                " printed_at = CASE WHEN ? = 'printed' THEN ? ELSE printed_at END, print_error = ? WHERE id = ?",
                [status, 0 if outcome == "not_printed" else 1, status, iso(now), error, ticket_id],
            )
            fields = {"print_status": status, "print_error": error, "at": iso(now)}
            outbox.append(db, "ticket", ticket_id, f"print_{outcome}", fields, now)


def local_iso(value: str | None, tz) -> str | None:
    return iso(datetime.fromisoformat(value).astimezone(tz)) if value else None


def ticket_json(ticket: Ticket, tz, ahead: int | None = None) -> dict:
    """A ticket as the HTTP API shows it: times in office time with offset."""
    data = {
        "id": ticket.id,
        "number": ticket.number,
        "service": ticket.service,
        "issued_at": local_iso(ticket.issued_at, tz),
        "status": ticket.status,
        "printed": ticket.print_status,
        "source": ticket.source,
        "counter": ticket.counter,
        "called_at": local_iso(ticket.called_at, tz),
        "serving_at": local_iso(ticket.serving_at, tz),
    }
    if ahead is not None:
        data["ahead"] = ahead
    return data
