"""The appliances' health as their sync rounds report it (sync/PROTOCOL.md, "Health"): the latest per device, and a
thinned history — one sample per device per five minutes, kept 30 days — for the back office's fleet views.

A fleet of hundreds reports every 30 seconds, so the latest row is rewritten only when something staff would act on
changed (a printer, an alert, a backup, the software) or once a minute, as `devices.last_seen_at` is."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from cloud.db import Database
from sync.protocol import Health

SLOT_S = 300  # one history sample per device per slot
KEEP = timedelta(days=30)
FRESH = timedelta(minutes=1)  # the latest row is rewritten at most this often while nothing that matters changed
FACTS = ("version", "software", "boot_at", "disk_free", "disk_free_pct", "db_bytes", "ntp", "clock_offset_ms",
         "printer", "scanner", "lockers", "pending", "oldest_pending_s", "backup_at", "backup_ok", "alerts",
         "alert_count")
LISTS = ("lockers", "alerts")  # stored as JSON arrays


def slot(moment: datetime) -> int:
    return int(moment.timestamp()) // SLOT_S


def state_key(health: Health) -> str:
    """What staff would act on, as text: a change of it is written at once."""
    return json.dumps([health.version, health.software, health.printer, health.scanner, health.lockers, health.ntp,
                       health.alerts, health.backup_at, health.backup_ok], separators=(",", ":"))


def _values(health: Health) -> list:
    return [json.dumps(getattr(health, name)) if name in LISTS and getattr(health, name) is not None
            else getattr(health, name) for name in FACTS]


def _read(row: dict) -> dict:
    """A stored row as the service hands it out: lists as lists, booleans as booleans on either engine."""
    for name in LISTS:
        row[name] = json.loads(row[name]) if row.get(name) is not None else None
    for name in ("ntp", "backup_ok"):
        if row.get(name) is not None:
            row[name] = bool(row[name])
    return row


class Fleet:
    def __init__(self, db: Database):
        self.db = db

    async def record(self, device_id: str, health: Health, now: datetime) -> None:
        """Keep a round's health: the latest (see the module's note), and the slot's sample if it has none yet; a new
        sample also prunes that device's samples past KEEP."""
        columns, values = ", ".join(FACTS), _values(health)
        marks = ", ".join("{}" for _ in FACTS)
        updates = ", ".join(f"{name} = excluded.{name}" for name in ("received_at", "state_key", "hours", *FACTS))
        async with self.db.transaction():
            await self.db.execute(
                f"INSERT INTO device_health (device_id, received_at, state_key, hours, {columns}) VALUES ({{}}, {{}},"
                f" {{}}, {{}}, {marks}) ON CONFLICT (device_id) DO UPDATE SET {updates}"
                " WHERE device_health.received_at < {} OR device_health.state_key <> excluded.state_key",
                device_id, now, state_key(health), health.opening_hours, *values, now - FRESH,
            )
            added = await self.db.execute(
                f"INSERT INTO device_health_history (device_id, slot, received_at, {columns}) VALUES ({{}}, {{}}, {{}},"
                f" {marks}) ON CONFLICT (device_id, slot) DO NOTHING RETURNING slot",
                device_id, slot(now), now, *values,
            )
            if added:
                await self.db.execute("DELETE FROM device_health_history WHERE device_id = {} AND slot < {}",
                                      device_id, slot(now - KEEP))

    async def latest(self, office_code: str | None = None) -> dict[str, dict]:
        """device id → its latest health (with `received_at`, and `hours`: the opening hours it reports, `oh`), for the
        devices that ever reported one."""
        where, args = ("WHERE o.code = {}", [office_code]) if office_code else ("", [])
        rows = await self.db.execute(
            f"SELECT h.device_id, h.received_at, h.hours, {', '.join('h.' + name for name in FACTS)}"
            " FROM device_health h"
            f" JOIN devices d ON d.id = h.device_id JOIN offices o ON o.id = d.office_id {where}", *args,
        )
        return {row["device_id"]: _read(row) for row in rows}

    async def history(self, device_id: str, since: datetime) -> list[dict]:
        """The device's samples received since `since`, oldest first (one per five minutes at most)."""
        rows = await self.db.execute(
            f"SELECT received_at, {', '.join(FACTS)} FROM device_health_history WHERE device_id = {{}} AND slot >= {{}}"
            " AND received_at >= {} ORDER BY slot", device_id, slot(since), since,
        )
        return [_read(row) for row in rows]

    async def prune(self, now: datetime) -> None:
        """Every device's samples past KEEP (a device that stopped reporting prunes nothing by itself)."""
        await self.db.execute("DELETE FROM device_health_history WHERE slot < {}", slot(now - KEEP))
