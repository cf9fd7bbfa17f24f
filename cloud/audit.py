"""The cloud's audit trail: one append-only line per staff act, sign-in and export, and the appliances' lines as the
sync brings them (office and device of the sender). The table refuses UPDATE and DELETE on both engines (m010_audit).

Times are stored UTC and shown in the office's zone, as the reports do (cloud.reports.OFFICE_TZ).
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

from cloud.db import Database, moment
from pst.audit import ACTOR_MAX, ADDRESS_MAX, TARGET_MAX, bound, check_action, clean_detail, conditions, cut
from pst.ids import new_id

OFFICE_TZ = ZoneInfo("Asia/Makassar")  # the zone the reports show (cloud.reports.OFFICE_TZ): every office so far
PAGE = 50
COLUMNS = ("id", "at", "actor", "action", "target", "detail", "address", "office_code", "device_id", "origin",
           "received_at")


def line(now: datetime, *, actor: str | None, action: str, target: str = "", detail: dict | None = None,
         address: str | None = None, office_code: str | None = None, device_id: str | None = None,
         line_id: str | None = None, origin: str = "cloud", received_at: datetime | None = None) -> dict[str, Any]:
    """One line as stored, checked and cut to size (the projection of appliance lines uses it too)."""
    return {
        "id": line_id or new_id(), "at": now.astimezone(timezone.utc), "actor": cut(actor, ACTOR_MAX),
        "action": check_action(action), "target": (target or "")[:TARGET_MAX],
        "detail": json.dumps(clean_detail(detail), ensure_ascii=False, sort_keys=True),
        "address": cut(address, ADDRESS_MAX), "office_code": cut(office_code, 8),
        "device_id": cut(device_id, 36), "origin": origin, "received_at": received_at or now,
    }


async def record(db: Database, now: datetime, *, actor: str | None, action: str, target: str = "",
                 detail: dict | None = None, address: str | None = None, office_code: str | None = None,
                 device_id: str | None = None) -> None:
    """Append one line; inside the caller's `db.transaction()` it commits (or rolls back) with the act."""
    row = line(now, actor=actor, action=action, target=target, detail=detail, address=address,
               office_code=office_code, device_id=device_id)
    await db.execute(f"INSERT INTO audit_log ({', '.join(COLUMNS)}) VALUES ({', '.join('{}' for _ in COLUMNS)})",
                     *[row[c] for c in COLUMNS])


def _where(actor, action, target, office_code, date_from, date_to, tz) -> tuple[str, list]:
    clauses, args = conditions("{}", actor, action, target)
    if office_code:
        clauses.append("office_code = {}")
        args.append(office_code)
    for value, op, end in ((date_from, ">=", False), (date_to, "<", True)):
        instant = bound(value, tz, end)
        if instant:
            clauses.append(f"at {op} {{}}")
            args.append(instant)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", args


async def search(db: Database, *, actor: str | None = None, action: str | None = None, target: str | None = None,
                 office_code: str | None = None, date_from=None, date_to=None, limit: int = PAGE, offset: int = 0,
                 tz: ZoneInfo = OFFICE_TZ) -> list[dict[str, Any]]:
    """Lines newest first, filtered as edge.audit.search does, and by office."""
    where, args = _where(actor, action, target, office_code, date_from, date_to, tz)
    rows = await db.execute(
        f"SELECT {', '.join(COLUMNS)} FROM audit_log{where} ORDER BY at DESC, id DESC LIMIT {{}} OFFSET {{}}",
        *args, max(1, min(int(limit), 500)), max(0, int(offset)),
    )
    return [row | {"at": moment(row["at"]), "received_at": moment(row["received_at"]),
                   "detail": json.loads(row["detail"] or "{}")} for row in rows]


async def count(db: Database, *, actor: str | None = None, action: str | None = None, target: str | None = None,
                office_code: str | None = None, date_from=None, date_to=None, tz: ZoneInfo = OFFICE_TZ) -> int:
    where, args = _where(actor, action, target, office_code, date_from, date_to, tz)
    rows = await db.execute(f"SELECT count(*) AS n FROM audit_log{where}", *args)
    return int(rows[0]["n"])
