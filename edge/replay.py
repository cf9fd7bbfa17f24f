"""A replacement appliance: after the latest backup is restored on a new SD card, the events the cloud kept of this
database's epoch since that backup go back into the outbox (as sent) and onto the business tables they describe.

The outbox ends where the cloud's cursor stands, so the agent takes no new epoch and sends nothing twice; new events
continue the sequence. What no event carries is listed in `NOT_RESTORED`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import msgspec
from sqlite_utils import Database

from edge import outbox
from edge.privacy import blank_visits, scrub_outbox
from edge.visits import new_token
from pst import hlc, privacy
from pst.clock import iso
from sync.protocol import Event

# What stays as the backup left it, or takes a placeholder: no event carries it (see the docstrings below).
NOT_RESTORED = {
    "visits.visitor_token": "a new token: the key to the visitor's own page never leaves the appliance",
    "locker_uses.id_hash": "'' (the keyed hash never leaves the appliance): checkout matches the card by its last four",
    "scans.download_code, scans.code_expires_at": "NULL: a short-lived key to the file, kept on the appliance",
    "scans (the PDF file)": "not in the database; the cloud has the visitor's copy (pdf_path names the lost file)",
    "tables without events": "users, login_attempts, signin_failures, alerts, lockers.in_service, publications "
                             "(but in_house_uses), sync_anchors, sync_uploads: as in the backup",
}


class ReplayRefused(ValueError):
    """The events do not continue this database: nothing was changed."""


@dataclass
class ReplayResult:
    applied: int = 0  # events put back
    skipped: int = 0  # already in the database (a second replay, or events older than the backup)
    last_seq: int | None = None  # where the outbox (and the cloud's cursor) stands now
    kinds: dict[str, int] = field(default_factory=dict)  # "entity/op" → events applied
    erased_files: list[str] = field(default_factory=list)  # scan files an erasure among the events asks to delete


def replay(db: Database, events: Iterable[Event | Mapping[str, Any]], now: datetime, epoch: str) -> ReplayResult:
    """Put `events` (the cloud's copies of this database's outbox rows, epoch `epoch`) back, inside the caller's
    write transaction (`with store.write() as db:`). Raises ReplayRefused for another epoch, a hole in the sequence
    or a different event where this database has one; events it already holds are skipped."""
    if not db.conn.in_transaction:
        raise RuntimeError("replay must run inside one write transaction")
    own = database_epoch(db)
    if epoch != own:
        raise ReplayRefused(f"the events are of epoch {epoch}, this database is epoch {own}")
    result = ReplayResult()
    ordered = sorted((_event(e) for e in events), key=lambda e: e.seq)
    fresh = _fresh(db, ordered, result)
    for event in fresh:
        _restore_row(db, event, now)
        APPLY[event.entity](db, event, result)
        kind = f"{event.entity}/{event.op}"
        result.kinds[kind] = result.kinds.get(kind, 0) + 1
    result.applied = len(fresh)
    result.last_seq = outbox.highest_seq(db) or None
    if fresh:
        _advance_clock(db, fresh)
    if ordered:  # the cloud holds all of these: rows the backup had not sent yet count as sent (as the agent's ack)
        db.execute("UPDATE outbox SET sent_at = ? WHERE seq <= ? AND sent_at IS NULL", [iso(now), ordered[-1].seq])
        db.execute("UPDATE sync_state SET cloud_seq = ? WHERE id = 1", [ordered[-1].seq])
    return result


database_epoch = outbox.epoch  # the epoch this database's outbox belongs to


def _event(item: Event | Mapping[str, Any]) -> Event:
    return item if isinstance(item, Event) else msgspec.convert(dict(item), Event)


def _fresh(db: Database, events: list[Event], result: ReplayResult) -> list[Event]:
    """The events after this database's last one, checked to continue it without a hole."""
    high, fresh = outbox.highest_seq(db), []
    for event in events:
        held = db.execute("SELECT seq FROM outbox WHERE event_id = ?", [event.event_id]).fetchone()
        at_seq = db.execute("SELECT event_id FROM outbox WHERE seq = ?", [event.seq]).fetchone()
        if (held and held[0] != event.seq) or (at_seq and at_seq[0] != event.event_id):
            raise ReplayRefused(f"event {event.event_id} (seq {event.seq}) differs from this database's history")
        if held or event.seq <= high:
            result.skipped += 1
            continue
        expected = high + len(fresh) + 1
        if event.seq != expected:
            raise ReplayRefused(f"the events jump from seq {expected - 1} to {event.seq}: a hole")
        if event.entity not in APPLY:
            raise ReplayRefused(f"event {event.seq} is of an unknown kind: {event.entity}/{event.op}")
        fresh.append(event)
    return fresh


def _restore_row(db: Database, e: Event, now: datetime) -> None:
    """The outbox row as it was, marked sent (the cloud has it); sqlite_sequence follows the explicit seq."""
    device = db.execute("SELECT value FROM meta WHERE key = 'device_id'").fetchone()[0]
    db.execute(
        "INSERT INTO outbox (seq, event_id, device_id, entity, entity_id, op, payload, created_at, sent_at, hlc,"
        " clock_flag) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [e.seq, e.event_id, device, e.entity, e.entity_id, e.op, json.dumps(e.payload, ensure_ascii=False),
         e.created_at, iso(now), e.hlc, e.clock_flag],
    )


def _advance_clock(db: Database, events: list[Event]) -> None:
    """meta 'hlc' to the highest stamp: the next event's stamp follows the restored ones."""
    row = db.execute("SELECT value FROM meta WHERE key = 'hlc'").fetchone()
    stamps = [hlc.Stamp.parse(e.hlc) for e in events if e.hlc] + ([hlc.Stamp.parse(row[0])] if row else [])
    if stamps:
        db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('hlc', ?)", [str(max(stamps))])


# --- each kind of event, the inverse of its outbox.append ------------------------------------------------------

def _columns(db: Database, table: str, payload: Mapping[str, Any], **extra: Any) -> dict[str, Any]:
    """The payload's keys that are columns of `table` (events carry a few more for the cloud), and `extra`."""
    names = db[table].columns_dict
    return {k: v for k, v in payload.items() if k in names} | extra


TICKET_STAMPS = {"called": "called_at", "serving": "serving_at", "done": "done_at", "skipped": "skipped_at"}


def _ticket(db: Database, e: Event, result: ReplayResult) -> None:
    """edge.tickets (issued, print_*), edge.calls (called, serving, done, skipped) and edge.checkout (done,
    skipped, `"by": "checkout"`)."""
    p = e.payload
    if e.op == "issued":
        db["tickets"].insert(_columns(db, "tickets", p))
    elif e.op.startswith("print_"):
        db.execute(
            "UPDATE tickets SET print_status = ?, print_attempts = print_attempts + ?,"
            " printed_at = CASE WHEN ? = 'printed' THEN ? ELSE printed_at END, print_error = ? WHERE id = ?",
            [p["print_status"], 0 if e.op == "print_not_printed" else 1, p["print_status"], p["at"],
             p.get("print_error"), e.entity_id],
        )
    elif e.op in TICKET_STAMPS:
        stamp = TICKET_STAMPS[e.op]
        counter = ", counter = :counter" if "counter" in p else ""  # checkout leaves the counter as it was
        db.execute(
            f"UPDATE tickets SET status = :status, {stamp} = :at{counter}, call_count = call_count + :calls,"
            " staff_id = coalesce(:staff, staff_id) WHERE id = :id",
            {"status": e.op, "at": p["at"], "counter": p.get("counter"), "calls": int(e.op == "called"),
             "staff": p.get("staff_id"), "id": e.entity_id},
        )
    else:
        raise ReplayRefused(f"unknown ticket event: {e.op}")


def _visit(db: Database, e: Event, result: ReplayResult) -> None:
    """edge.visits (checked_in), edge.calls (service_started), edge.checkout (checked_out), edge.privacy
    (anonymised). A visit comes back with a new visitor token: the old one never left the appliance."""
    p = e.payload
    if e.op == "checked_in":
        row = _columns(db, "visits", p, purposes=json.dumps(p["purposes"]), visitor_token=new_token())
        if p.get("erased"):  # its person was erased before the event went up: the identity is gone from it
            row |= {"name": row.get("name") or privacy.ERASED_NAME, "email": row.get("email") or ""}
        db["visits"].insert(row)
    elif e.op == "service_started":
        db.execute("UPDATE visits SET service_started_at = ?, wait_s = ? WHERE id = ?",
                   [p["at"], p.get("wait_s"), e.entity_id])
    elif e.op == "checked_out":
        db.execute("UPDATE visits SET finished_at = ? WHERE id = ?", [p["at"], e.entity_id])
    elif e.op == "anonymised":
        erase = p.get("reason") == "erasure"
        result.erased_files += blank_visits(db, [e.entity_id], p["at"], erase)
        if erase:  # as edge.privacy.erase_in left them: the person is in no payload the outbox holds
            hanging = [r[0] for table in ("scans", "ratings", "locker_uses", "softcopy_requests")
                       for r in db.execute(f"SELECT id FROM {table} WHERE visit_id = ?", [e.entity_id])]
            scrub_outbox(db, [e.entity_id, *hanging])
    else:
        raise ReplayRefused(f"unknown visit event: {e.op}")


def _locker_use(db: Database, e: Event, result: ReplayResult) -> None:
    """edge.lockers: assigned (without the keyed hash: see LockerService._card_matches), released."""
    p = e.payload
    if e.op == "assigned":
        db.execute("INSERT OR IGNORE INTO lockers (number) VALUES (?)", [p["locker"]])
        db["locker_uses"].insert(_columns(db, "locker_uses", p, id=e.entity_id, id_hash=""))
    elif e.op == "released":
        db.execute("UPDATE locker_uses SET released_at = ? WHERE id = ?", [p["at"], e.entity_id])
    else:
        raise ReplayRefused(f"unknown locker use event: {e.op}")


def _locker(db: Database, e: Event, result: ReplayResult) -> None:
    """edge.lockers: the door shut after a release, the locker is free again."""
    db.execute("UPDATE locker_uses SET door_closed_at = ? WHERE locker = ? AND released_at IS NOT NULL"
               " AND door_closed_at IS NULL", [e.payload["at"], int(e.entity_id)])


def _scan(db: Database, e: Event, result: ReplayResult) -> None:
    """edge.scans: a finished job (ready or failed); its start wrote no event, so the row may be new here."""
    p = e.payload
    row = {"id": e.entity_id, "visit_id": p["visit_id"], "status": e.op, "pages": p["pages"],
           "finished_at": p["finished_at"], "pdf_path": p.get("file"), "pdf_sha256": p.get("sha256"),
           "download_code": None, "code_expires_at": None, "error": p.get("error")}
    started = p.get("started_at") or p["finished_at"]  # an older event has no start: its end stands in
    if db.execute("SELECT 1 FROM scans WHERE id = ?", [e.entity_id]).fetchone():
        db["scans"].update(e.entity_id, row)
    else:
        db["scans"].insert(row | {"started_at": started})


def _fetch_request(db: Database, e: Event, result: ReplayResult) -> None:
    """edge.fetches: every event carries the whole request."""
    row = _columns(db, "fetch_requests", e.payload)
    row["publication_id"] = _publication(db, e.payload)
    db["fetch_requests"].upsert(row, pk="id")


def _publication_use(db: Database, e: Event, result: ReplayResult) -> None:
    """edge.catalogue.record_use: one in-house use, counted on the publication too."""
    row = _columns(db, "publication_uses", e.payload)
    row["publication_id"] = _publication(db, e.payload)
    db["publication_uses"].insert(row)
    db.execute("UPDATE publications SET in_house_uses = in_house_uses + 1 WHERE id = ?", [row["publication_id"]])


def _publication(db: Database, p: Mapping[str, Any]) -> str:
    """The publication by its id, else by catalogue number and year (the catalogue may have been loaded again)."""
    row = db.execute("SELECT id FROM publications WHERE id = ?", [p["publication_id"]]).fetchone() or db.execute(
        "SELECT id FROM publications WHERE catalogue_number = ? AND year = ?",
        [p.get("catalogue_number"), p.get("year")]).fetchone()
    if row is None:
        raise ReplayRefused(f"publication {p.get('catalogue_number')} ({p.get('year')}) is not in this database's"
                            " catalogue: load the catalogue, then replay again")
    return row[0]


def _rating(db: Database, e: Event, result: ReplayResult) -> None:
    """edge.ratings: the whole row (and `anonymous`, for the cloud)."""
    db["ratings"].insert(_columns(db, "ratings", e.payload))


def _complaint(db: Database, e: Event, result: ReplayResult) -> None:
    """edge.complaints (diterima: the whole row; a status: its changed columns) and edge.privacy (anonymised)."""
    p = e.payload
    if e.op == "diterima":
        db["complaints"].insert(_columns(db, "complaints", p))
    elif e.op == "anonymised":
        db.execute("UPDATE complaints SET contact = NULL WHERE id = ?", [e.entity_id])
        if p.get("reason") == "erasure":
            scrub_outbox(db, [e.entity_id])
    else:
        changes = {k: v for k, v in _columns(db, "complaints", p).items() if k not in ("id", "tracking")}
        db["complaints"].update(e.entity_id, changes | {"status": e.op})


def _softcopy_request(db: Database, e: Event, result: ReplayResult) -> None:
    """edge.softcopy_requests: made at the desk as `diajukan`; later statuses come down from the cloud again
    (the downlink cursor is the backup's)."""
    p = e.payload
    row = _columns(db, "softcopy_requests", p, status="diajukan", reason=None, status_at=p["created_at"])
    if p.get("erased"):
        row |= {"name": row.get("name") or privacy.ERASED_NAME, "email": row.get("email") or ""}
    db["softcopy_requests"].insert(row)


def _audit(db: Database, e: Event, result: ReplayResult) -> None:
    """edge.audit: the line as stored (its detail written as edge.audit writes it)."""
    detail = json.dumps(e.payload.get("detail") or {}, ensure_ascii=False, sort_keys=True)
    db["audit_log"].insert(_columns(db, "audit_log", e.payload, detail=detail))


def _erasure(db: Database, e: Event, result: ReplayResult) -> None:
    """edge.privacy: its effects came as the `anonymised` events before it; the digest names nobody here."""


APPLY: dict[str, Callable[[Database, Event, ReplayResult], None]] = {
    "ticket": _ticket, "visit": _visit, "locker_use": _locker_use, "locker": _locker, "scan": _scan,
    "fetch_request": _fetch_request, "publication_use": _publication_use, "rating": _rating,
    "complaint": _complaint, "softcopy_request": _softcopy_request, "audit": _audit, "erasure": _erasure,
}
