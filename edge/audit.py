"""The appliance's audit trail: one append-only line per staff act (who, what, which record, when, from where).

A line is written in the transaction of the act it describes, with an outbox event so it goes up with the sync;
the table refuses UPDATE and DELETE (triggers of m008_audit). Secrets and ID-card numbers never enter a line.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

from sqlite_utils import Database

from edge import outbox
from pst.audit import ACTOR_MAX, ADDRESS_MAX, TARGET_MAX, bound, check_action, clean_detail, conditions, cut
from pst.clock import iso
from pst.ids import new_id

PAGE = 50
COLUMNS = ("id", "at", "actor", "action", "target", "detail", "address")


@dataclass(frozen=True)
class Actor:
    """Who acts and from where, as the route knows it; services that write their own line take one."""

    username: str | None
    address: str | None

    def record(self, db: Database, now: datetime, action: str, target: str = "", **detail) -> None:
        record(db, now, actor=self.username, action=action, target=target, detail=detail, address=self.address)


def _line(now: datetime, actor, action: str, target: str, detail, address) -> dict[str, Any]:
    return {
        "id": new_id(), "at": iso(now.astimezone(timezone.utc)), "actor": cut(actor, ACTOR_MAX),
        "action": check_action(action), "target": (target or "")[:TARGET_MAX],
        "detail": json.dumps(clean_detail(detail), ensure_ascii=False, sort_keys=True),
        "address": cut(address, ADDRESS_MAX),
    }


def _write(db: Database, line: dict[str, Any], now: datetime) -> None:
    db.execute(f"INSERT INTO audit_log ({', '.join(COLUMNS)}) VALUES ({', '.join('?' for _ in COLUMNS)})",
               [line[c] for c in COLUMNS])
    outbox.append(db, "audit", line["id"], "record", line | {"detail": json.loads(line["detail"])}, now)


def record(db: Database, now: datetime, *, actor: str | None, action: str, target: str = "",
           detail: dict | None = None, address: str | None = None) -> None:
    """Append one line. Inside the caller's transaction it commits with the act; with none open (a refused
    sign-in) it takes its own — `db` is then the store's write connection, held (`EdgeStore.write`/`writer`)."""
    line = _line(now, actor, action, target, detail, address)
    if db.conn.in_transaction:
        _write(db, line, now)
        return
    db.conn.execute("BEGIN IMMEDIATE")
    try:
        _write(db, line, now)
    except BaseException:
        db.conn.execute("ROLLBACK")
        raise
    db.conn.execute("COMMIT")


def _where(actor, action, target, date_from, date_to, tz) -> tuple[str, list]:
    clauses, args = conditions("?", actor, action, target)
    for value, op, end in ((date_from, ">=", False), (date_to, "<", True)):
        instant = bound(value, tz, end)
        if instant:
            clauses.append(f"at {op} ?")
            args.append(iso(instant))
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", args


def search(db: Database, *, actor: str | None = None, action: str | None = None, target: str | None = None,
           date_from=None, date_to=None, limit: int = PAGE, offset: int = 0,
           tz: ZoneInfo = ZoneInfo("UTC")) -> list[dict[str, Any]]:
    """Lines newest first. `actor` matches part of the name, `action` an action or its family, `target` a record or
    every record of a kind; dates (office dates in `tz`, or instants) bound [from, to]."""
    where, args = _where(actor, action, target, date_from, date_to, tz)
    rows = db.execute(f"SELECT {', '.join(COLUMNS)} FROM audit_log{where} ORDER BY at DESC, rowid DESC LIMIT ? OFFSET ?",
                      [*args, max(1, min(int(limit), 500)), max(0, int(offset))]).fetchall()
    return [dict(zip(COLUMNS, row)) | {"detail": json.loads(row[5] or "{}")} for row in rows]


def count(db: Database, *, actor: str | None = None, action: str | None = None, target: str | None = None,
          date_from=None, date_to=None, tz: ZoneInfo = ZoneInfo("UTC")) -> int:
    where, args = _where(actor, action, target, date_from, date_to, tz)
    return db.execute(f"SELECT count(*) FROM audit_log{where}", args).fetchone()[0]
