"""The outbox: every business write appends an event here in the same transaction.

The sync agent sends events in `seq` order (the per-device sequence) and marks them sent; the cloud applies each
`event_id` once. Nothing here is ever rewritten except `sent_at`.
"""

from __future__ import annotations

import json
import time
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from pst import hlc
from pst.clock import iso
from pst.ids import new_id

_BOOT = hlc.boot_id()


def device_id(db: Database) -> str:
    return db.execute("SELECT value FROM meta WHERE key = 'device_id'").fetchone()[0]


def epoch(db) -> str:
    """The identity of this database's outbox history (sync/PROTOCOL.md "Identities"): `meta.epoch` once the
    database went back in time and took a new one, else its device id."""
    row = db.execute("SELECT value FROM meta WHERE key = 'epoch'").fetchone()
    return row[0] if row else device_id(db)


def highest_seq(db) -> int:
    """The highest sequence this outbox ever gave (AUTOINCREMENT's mark survives the purge of old rows)."""
    row = db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'").fetchone()
    top = db.execute("SELECT max(seq) FROM outbox").fetchone()[0]
    return max(row[0] if row else 0, top or 0)


def append(db: Database, entity: str, entity_id: str, op: str, payload: dict[str, Any], now: datetime) -> int:
    """Record one event; call inside the transaction of the change it describes."""
    if not db.conn.in_transaction:
        raise RuntimeError("outbox.append must run inside the business write's transaction")
    row = db.execute("SELECT value FROM meta WHERE key = 'hlc'").fetchone()
    stamp, flag = hlc.tick(hlc.Stamp.parse(row[0]) if row else None, now)
    db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('hlc', ?)", [str(stamp)])
    cursor = db.execute(
        "INSERT INTO outbox (event_id, device_id, entity, entity_id, op, payload, created_at, hlc, clock_flag,"
        " boot_id, mono) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [new_id(), device_id(db), entity, entity_id, op, json.dumps(payload, ensure_ascii=False), iso(now),
         str(stamp), flag, _BOOT, time.monotonic()],
    )
    return cursor.lastrowid


def pending(db: Database, limit: int = 500) -> list[dict[str, Any]]:
    rows = db.execute(
        "SELECT seq, event_id, device_id, entity, entity_id, op, payload, created_at FROM outbox"
        " WHERE sent_at IS NULL ORDER BY seq LIMIT ?",
        [limit],
    ).fetchall()
    keys = ("seq", "event_id", "device_id", "entity", "entity_id", "op", "payload", "created_at")
    return [dict(zip(keys, row)) | {"payload": json.loads(row[6])} for row in rows]


def backlog(db: Database) -> int:
    return db.execute("SELECT count(*) FROM outbox WHERE sent_at IS NULL").fetchone()[0]
