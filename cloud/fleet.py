"""The appliances' health as their sync rounds report it (sync/PROTOCOL.md, "Health"): the latest per device, a
thinned history — one sample per device per five minutes, kept 30 days — and a summary of that history per six hours
(`device_health_summary`: samples and the highest backlog, kept as long) that the fleet page draws its sparklines
from.

A fleet of hundreds reports every 30 seconds, so the latest row is rewritten only when something staff would act on
changed (a printer, an alert, a backup, the software) or once a minute, as `devices.last_seen_at` is. The summary is
kept by the same writer as each sample lands, so reading a week of the fleet's backlog never reads its samples."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from cloud.db import Database, moment
from pst.i18n import N_
from sync.protocol import Health

SLOT_S = 300  # one history sample per device per slot
PERIOD_SLOTS = 72  # a summary row per device per six hours (72 slots; periods start at 00, 06, 12 and 18 UTC)
KEEP = timedelta(days=30)
FRESH = timedelta(minutes=1)  # the latest row is rewritten at most this often while nothing that matters changed
FACTS = ("version", "software", "boot_at", "disk_free", "disk_free_pct", "db_bytes", "ntp", "clock_offset_ms",
         "printer", "scanner", "lockers", "pending", "oldest_pending_s", "backup_at", "backup_ok", "alerts",
         "alert_count")
LISTS = ("lockers", "alerts")  # stored as JSON arrays
AGGREGATE = {"sqlite": "group_concat({}, ',')", "postgresql": "string_agg({}, ',')"}  # texts joined, any order


def slot(moment: datetime) -> int:
    return int(moment.timestamp()) // SLOT_S


def period(moment: datetime) -> int:
    return slot(moment) // PERIOD_SLOTS


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

    def reading(self):
        """One read transaction for a page's several statements: one view of the fleet, and on SQLite one
        connection instead of one per statement (deferred: it takes no write lock, and in WAL writers go on)."""
        return self.db.engine.transaction()

    async def record(self, device_id: str, health: Health, now: datetime) -> None:
        """Keep a round's health: the latest (see the module's note), and the slot's sample if it has none yet; a new
        sample is counted into its period's summary and prunes that device's samples and summaries past KEEP."""
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
                await self._summarise(device_id, now, health.pending)
                await self._prune(now, device_id)

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

    async def _summarise(self, device_id: str, now: datetime, pending: int | None) -> None:
        """Count a new sample into its period's summary: one more sample, and the highest backlog (a sample without
        a backlog counts but leaves the highest as it was)."""
        await self.db.execute(
            "INSERT INTO device_health_summary (device_id, period, samples, pending_max) VALUES ({}, {}, 1, {})"
            " ON CONFLICT (device_id, period) DO UPDATE SET samples = device_health_summary.samples + 1,"
            " pending_max = CASE WHEN device_health_summary.pending_max IS NULL"
            " OR excluded.pending_max > device_health_summary.pending_max THEN excluded.pending_max"
            " ELSE device_health_summary.pending_max END",
            device_id, period(now), pending,
        )

    async def _prune(self, now: datetime, device_id: str | None = None) -> None:
        """Samples past KEEP, and the summaries of periods whose every slot is past it (the period holding the
        cut stays until its last slot goes): the summary never outlives its samples by more than six hours."""
        cut = slot(now - KEEP)
        where, args = ("device_id = {} AND ", [device_id]) if device_id else ("", [])
        await self.db.execute(f"DELETE FROM device_health_history WHERE {where}slot < {{}}", *args, cut)
        await self.db.execute(f"DELETE FROM device_health_summary WHERE {where}period < {{}}", *args,
                              cut // PERIOD_SLOTS)

    async def prune(self, now: datetime) -> None:
        """Every device's samples and summaries past KEEP (a device that stopped reporting prunes nothing by
        itself)."""
        async with self.db.transaction():
            await self._prune(now)

    async def summarise_history(self) -> None:
        """Rebuild every summary from the samples, as the writer would have kept them: for history loaded in bulk
        (the benchmark, tests); migration m016 did it once for the history it found."""
        async with self.db.transaction():
            await self.db.execute("DELETE FROM device_health_summary")
            await self.db.execute(SUMMARISE)

    async def roster(self) -> list[dict]:
        """Every device with its office and its latest health (the facts None where it never reported), in one
        query: the back office's fleet page."""
        rows = await self.db.execute(
            "SELECT d.id, d.name, o.code AS office_code, o.name AS office_name, d.revoked_at, d.last_seen_at,"
            f" d.key_hash IS NOT NULL AS enrolled, h.received_at, {', '.join('h.' + name for name in FACTS)}"
            " FROM devices d JOIN offices o ON o.id = d.office_id LEFT JOIN device_health h ON h.device_id = d.id"
            " ORDER BY o.code, d.created_at"
        )
        return [_read(row) for row in rows]

    async def backlog_by_period(self, device_ids: list[str], first: int) -> dict[str, dict[int, int | None]]:
        """device id → period → the highest backlog of its samples, from period `first` on, for the devices named:
        the fleet page's sparklines, one range of the summary's key per device, never the samples. Each device's
        periods come as one text ("period:highest,…"), so a page's 1,400 summaries cost 50 rows to the driver."""
        if not device_ids:
            return {}
        marks = ", ".join("{}" for _ in device_ids)
        points = AGGREGATE[self.db.kind].format(
            "CAST(period AS TEXT) || ':' || COALESCE(CAST(pending_max AS TEXT), '')")
        rows = await self.db.execute(
            f"SELECT device_id, {points} AS points FROM device_health_summary WHERE device_id IN ({marks})"
            " AND period >= {} GROUP BY device_id", *device_ids, first)
        return {row["device_id"]: {int(at): int(most) if most else None
                                   for at, _, most in (point.partition(":") for point in row["points"].split(","))}
                for row in rows}

    async def visits_per_day(self, days: list[datetime], device_ids: list[str]) -> dict[str, list[int]]:
        """device id → visits checked in at its desk on each day, for the devices named; `days` are the days'
        starts, each day ending where the next starts (the last one a day later). One grouped statement through the
        index on device and time, engine-neutral."""
        if not device_ids:
            return {}
        ends = [*days[1:], days[-1] + timedelta(days=1)]
        counts = ", ".join(f"SUM(CASE WHEN checked_in_at >= {{}} AND checked_in_at < {{}} THEN 1 ELSE 0 END) AS d{i}"
                           for i in range(len(days)))
        marks = ", ".join("{}" for _ in device_ids)
        rows = await self.db.execute(
            f"SELECT device_id, {counts} FROM visits WHERE device_id IN ({marks}) AND checked_in_at >= {{}}"
            " AND checked_in_at < {} GROUP BY device_id",
            *[moment for pair in zip(days, ends) for moment in pair], *device_ids, days[0], ends[-1],
        )
        return {row["device_id"]: [int(row[f"d{i}"] or 0) for i in range(len(days))] for row in rows}


# Every device's summaries from its samples, as the writer keeps them: each period's samples and highest backlog.
SUMMARISE = f"""INSERT INTO device_health_summary (device_id, period, samples, pending_max)
    SELECT device_id, slot / {PERIOD_SLOTS}, COUNT(*), MAX(pending) FROM device_health_history
    GROUP BY device_id, slot / {PERIOD_SLOTS}"""

SILENT = timedelta(minutes=15)  # a round every 30 s, at most 5 minutes apart when the agent backs off
STATES = ("bermasalah", "peringatan", "senyap", "belum-terdaftar", "sehat", "dicabut")  # worst first
PRINTER_FAULTS = ("paper_out", "offline", "unplugged", "error")


def condition(device: dict, now: datetime, open_alerts: int = 0) -> tuple[str, list[str]]:
    """One word for a device of the roster — STATES — and the reasons (Indonesian, for the page to translate).
    Revoked or never enrolled says so; no round for SILENT is silent; a fault at the desk (printer, disk under 5 %,
    records waiting over an hour, a failed backup) is trouble; an open alert, a disk under 15 %, records waiting over
    ten minutes, an unsynchronised clock or no health yet is a warning."""
    if device["revoked_at"]:
        return "dicabut", []
    if not device["enrolled"]:
        return "belum-terdaftar", []
    seen = moment(device["last_seen_at"])
    if seen is None or now - seen > SILENT:
        return "senyap", [N_("tidak sinkron lebih dari 15 menit")]
    trouble, warning = [], []
    if device.get("printer") in PRINTER_FAULTS:
        trouble.append(N_("printer bermasalah"))
    free, waited = device.get("disk_free_pct"), device.get("oldest_pending_s") or 0
    if free is not None and free < 5:
        trouble.append(N_("disk hampir penuh"))
    elif free is not None and free < 15:
        warning.append(N_("disk mulai penuh"))
    if waited > 3600:
        trouble.append(N_("catatan menunggu lebih dari 1 jam"))
    elif waited > 600:
        warning.append(N_("catatan menunggu lebih dari 10 menit"))
    if device.get("backup_ok") is False:
        trouble.append(N_("cadangan terakhir gagal"))
    if open_alerts or device.get("alert_count"):
        warning.append(N_("ada peringatan terbuka"))
    if device.get("ntp") is False or abs(device.get("clock_offset_ms") or 0) > 60_000:
        warning.append(N_("jam perangkat tidak tepat"))
    if device.get("received_at") is None:
        warning.append(N_("belum melaporkan kesehatan"))
    return ("bermasalah" if trouble else "peringatan" if warning else "sehat"), trouble + warning
