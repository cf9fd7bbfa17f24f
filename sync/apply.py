"""How the cloud applies what an appliance sends, and what it sends back (the server side of sync/PROTOCOL.md).

One batch is one transaction: the events new to the cloud are projected onto its tables (visits, ratings,
complaints, and `edge_records` for the rest), every event id is remembered in `sync_events`, and the cursor of the
appliance database moves — all committed together, and only then answered. An event the cloud can never take (an
unknown kind, a malformed payload, a record of another office) goes to `sync_dead_letters` with the reason and the
cursor moves past it: one bad record never blocks the rest.

The projection itself (what each kind of record becomes in the cloud) is sync.projection.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from datetime import datetime
from typing import Any

import asyncpg

from cloud import backups
from cloud.db import Database, moment
from cloud.devices import DeviceAuth
from pst.clock import iso
from pst.ids import new_id
from sync.projection import Projection, Refused, bulk_insert, chunks
from sync.protocol import Ack, Batch, Change, Event, State

log = logging.getLogger(__name__)
CHANGES_PER_STATE = 200


class Gap(Exception):
    """The batch does not start where the cloud stands: the agent must ask again and resend from there."""

    def __init__(self, last_seq: int | None, last_event_id: str | None):
        super().__init__(f"batch does not follow the cursor ({last_seq})")
        self.last_seq, self.last_event_id = last_seq, last_event_id


# --- the cursor and the round's first request -------------------------------------------------------------------

async def cursor(db: Database, device: DeviceAuth, epoch: str) -> tuple[int | None, str | None]:
    rows = await db.execute(
        "SELECT last_seq, last_event_id FROM sync_cursors WHERE device_id = {} AND epoch = {}", device.device_id, epoch
    )
    return (rows[0]["last_seq"], rows[0]["last_event_id"]) if rows else (None, None)


async def state(db: Database, device: DeviceAuth, epoch: str, after: int, mark: str, now: datetime,
                limit: int = CHANGES_PER_STATE) -> State:
    """Where the cloud stands for the epoch, and the downlink after the agent's cursor. The cursor comes with the
    mark of the change it stopped at; when the journal no longer has that change (the cloud was restored from an
    older copy, and may even have numbered new changes alike), the agent is told to take everything again."""
    last_seq, last_event_id = await cursor(db, device, epoch)
    reset = False
    if after > 0:
        rows = await db.execute("SELECT entity, entity_id, at FROM changes WHERE seq = {}", after)
        reset = not rows or _mark(rows[0]) != mark
    changes, more = await changes_after(db, device.office_code, 0 if reset else after, limit)
    return State(epoch, last_seq, last_event_id, changes, more, iso(now), reset)


def _mark(row: dict) -> str:
    return f"{row['entity']}:{row['entity_id']}:{iso(moment(row['at']))}"


async def changes_after(db: Database, office_code: str, after: int, limit: int) -> tuple[list[Change], bool]:
    """Downlink changes for an office after a cursor, each with the record's current state. Change numbers are
    given in commit order (cloud.changes), so nothing below a number already seen can still appear."""
    rows = await db.execute(
        "SELECT seq, entity, entity_id, at FROM changes WHERE seq > {} AND (office_code IS NULL OR office_code = {})"
        " ORDER BY seq LIMIT {}",
        after, office_code, limit + 1,
    )
    more = len(rows) > limit
    rows = rows[:limit]
    publications = await _current(db, "publication", {r["entity_id"] for r in rows if r["entity"] == "publication"},
                                  office_code)
    requests = await _current(db, "softcopy_request",
                              {r["entity_id"] for r in rows if r["entity"] == "softcopy_request"}, office_code)
    erasures = await _erasures(db, {r["entity_id"] for r in rows if r["entity"] == "erasure"})
    found = {"publication": publications, "softcopy_request": requests, "erasure": erasures}
    for record in publications.values():  # an edition of another office: this appliance drops it
        if record["office_code"] not in (None, office_code):
            record.clear()
    return [
        Change(r["seq"], r["entity"], r["entity_id"], found.get(r["entity"], {}).get(r["entity_id"]) or None,
               _mark(r))
        for r in rows
    ], more


async def _current(db: Database, entity: str, ids: set[str], office_code: str | None = None) -> dict[str, dict]:
    if not ids:
        return {}
    marks = ", ".join("{}" for _ in ids)
    if entity == "publication":
        rows = await db.execute(
            "SELECT p.id, p.catalogue_number, p.year, p.title, p.type, p.subjects, p.isbn, p.abstract, p.office_code,"
            " p.softcopy_sha256 IS NOT NULL AS has_softcopy, l.location, l.shelf, l.copies FROM publications p"
            " LEFT JOIN publication_locations l ON l.publication_id = p.id AND l.office_code = {}"
            f" WHERE p.id IN ({marks})", office_code, *ids,
        )
        return {r["id"]: {k: v for k, v in r.items() if v is not None or k not in ("location", "shelf", "copies")}
                | {"has_softcopy": bool(r["has_softcopy"])} for r in rows}
    rows = await db.execute(
        "SELECT id, status, reason, softcopy_sha256 IS NOT NULL AS has_file, processed_at, finished_at"
        f" FROM softcopy_requests WHERE origin = 'edge' AND office_code = {{}} AND id IN ({marks})",
        office_code, *ids,
    )
    return {r["id"]: {"status": r["status"], "reason": r["reason"], "has_file": bool(r["has_file"]),
                      "at": _text_time(r["finished_at"] or r["processed_at"])} for r in rows}


async def _erasures(db: Database, ids: set[str]) -> dict[str, dict]:
    """A person's erasure for every appliance: the salted digest of their e-mail, never the e-mail."""
    if not ids:
        return {}
    marks = ", ".join("{}" for _ in ids)
    rows = await db.execute(f"SELECT id, salt, digest FROM erasures WHERE id IN ({marks})", *ids)
    return {r["id"]: {"salt": r["salt"], "digest": r["digest"]} for r in rows}


def _text_time(value: Any) -> str | None:
    if value is None:
        return None
    return iso(moment(value))


# --- uplink --------------------------------------------------------------------------------------------------------

async def apply_batch(db: Database, device: DeviceAuth, batch: Batch, now: datetime) -> Ack:
    """Apply one batch in one transaction; raises Gap when it does not follow the cursor."""
    _check_order(batch.events)
    try:
        async with db.transaction():
            return await _apply(db, device, batch, batch.events, now)
    except Exception as exc:
        if not refused_by_data(exc):
            raise  # a lost connection, a deadlock: the agent will send the batch again
        # Something the checks did not foresee made the database refuse the batch. Apply it event by event, so
        # the one that fails is set aside and the others go through; never let it stop the appliance's sync.
        log.exception("batch of %d events from device %s refused by the database; applying one by one",
                      len(batch.events), device.device_id)
    acks = []
    for event in batch.events:
        try:
            async with db.transaction():
                acks.append(await _apply(db, device, batch, [event], now))
        except Exception as exc:
            if not refused_by_data(exc):
                raise
            async with db.transaction():
                acks.append(await _apply(db, device, batch, [event], now,
                                         dead_reason=f"database: {type(exc).__name__}"))
    last = acks[-1]
    return Ack(last.epoch, last.last_seq, last.last_event_id, sum(a.applied for a in acks),
               sum(a.duplicates for a in acks), sum(a.dead for a in acks), last.cloud_time)


def refused_by_data(exc: BaseException) -> bool:
    """The database refused the data itself (a constraint, a value out of range): sending it again cannot help."""
    return isinstance(exc, sqlite3.IntegrityError | sqlite3.DataError | asyncpg.exceptions.DataError
                      | asyncpg.exceptions.IntegrityConstraintViolationError)


def _check_order(events: list[Event]) -> None:
    for before, after in zip(events, events[1:]):
        if after.seq != before.seq + 1:
            raise ValueError("events must be in sequence order without holes")


async def _apply(db: Database, device: DeviceAuth, batch: Batch, events: list[Event], now: datetime,
                 dead_reason: str | None = None) -> Ack:
    last_seq, last_event_id = await _lock_cursor(db, device, batch, now)
    fresh = [e for e in events if e.seq > last_seq]
    if fresh and fresh[0].seq != last_seq + 1:
        raise Gap(last_seq, last_event_id)
    seen = await _known_events(db, [e.event_id for e in fresh])
    new = [e for e in fresh if e.event_id not in seen]
    dead: list[tuple[Event, str]] = []
    if dead_reason is not None:
        dead = [(e, dead_reason) for e in new]
    else:
        projection = Projection(db, device, now)
        await projection.load(new)
        for event in new:
            try:
                projection.apply(event)
            except Refused as exc:
                dead.append((event, str(exc)))
        await projection.flush()
    await _remember(db, device, batch.epoch, new, now)
    await backups.remember(db, device.device_id, batch.epoch, fresh, now)  # for a replacement appliance
    anonymised = [e.entity_id for e in new if e.op == "anonymised"]
    if anonymised:  # the person leaves the journal too (cloud.backups)
        await backups.scrub(db, device.device_id, anonymised)
    if dead:
        await bulk_insert(db, "sync_dead_letters",
                           ("id", "device_id", "epoch", "seq", "event_id", "entity", "entity_id", "op", "payload",
                            "reason", "at"),
                           [(new_id(), device.device_id, batch.epoch, e.seq, e.event_id, e.entity[:24],
                             e.entity_id[:64], e.op[:24], json.dumps(e.payload, ensure_ascii=False), reason, now)
                            for e, reason in dead])
    if fresh:
        last_seq, last_event_id = fresh[-1].seq, fresh[-1].event_id
        await db.execute(
            "UPDATE sync_cursors SET last_seq = {}, last_event_id = {}, updated_at = {} WHERE device_id = {}"
            " AND epoch = {}", last_seq, last_event_id, now, device.device_id, batch.epoch,
        )
    return Ack(batch.epoch, last_seq, last_event_id, len(new) - len(dead), len(fresh) - len(new), len(dead), iso(now))


async def _lock_cursor(db: Database, device: DeviceAuth, batch: Batch, now: datetime) -> tuple[int, str | None]:
    """The epoch's cursor, locked for this transaction; a new epoch starts just before `epoch_start`."""
    lock = " FOR UPDATE" if db.kind == "postgresql" else ""
    query = f"SELECT last_seq, last_event_id FROM sync_cursors WHERE device_id = {{}} AND epoch = {{}}{lock}"
    rows = await db.execute(query, device.device_id, batch.epoch)
    if not rows:
        await db.execute(
            "INSERT INTO sync_cursors (device_id, epoch, last_seq, last_event_id, updated_at)"
            " VALUES ({}, {}, {}, NULL, {}) ON CONFLICT (device_id, epoch) DO NOTHING",
            device.device_id, batch.epoch, max(batch.epoch_start, 1) - 1, now,
        )
        rows = await db.execute(query, device.device_id, batch.epoch)
    return rows[0]["last_seq"], rows[0]["last_event_id"]


async def _known_events(db: Database, event_ids: list[str]) -> set[str]:
    known: set[str] = set()
    for chunk in chunks(event_ids, 500):
        marks = ", ".join("{}" for _ in chunk)
        rows = await db.execute(f"SELECT event_id FROM sync_events WHERE event_id IN ({marks})", *chunk)
        known |= {r["event_id"] for r in rows}
    return known


async def _remember(db: Database, device: DeviceAuth, epoch: str, events: list[Event], now: datetime) -> None:
    await bulk_insert(db, "sync_events",
                       ("event_id", "device_id", "epoch", "seq", "entity", "entity_id", "op", "hlc", "applied_at"),
                       [(e.event_id, device.device_id, epoch, e.seq, e.entity[:24], e.entity_id[:64], e.op[:24],
                         (e.hlc or "")[:40] or None, now) for e in events])


