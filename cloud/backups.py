"""A replacement appliance: every appliance's backups in the cloud, and the journal of what it sent since.

When an appliance's SD card dies, a new card must be serving within minutes with the day's queue, its open visits
and the ID cards held in its lockers. The appliance's nightly backup comes up over the sync channel (`PUT
/sync/v1/backup`, stored here per device: the newest KEEP_BACKUPS, gzip-compressed files under the data folder); the
events the appliance sent are also kept as they came (`sync_journal`, per device, epoch and sequence) back to the
oldest stored backup. `pst edge restore --from-cloud` fetches the latest backup, puts it in place and replays the
journal's events after it (edge.replay), so the database stands where the cloud stands: queue numbers go on, and the
agent's cursor equals the cloud's (nothing sent twice, nothing missing).

The journal holds what the appliance sent, personal data included (a visit's name and e-mail go up and the
projection drops them), so it is kept short: rows older than the oldest stored backup go when a backup arrives, and
every row goes after JOURNAL_DAYS whatever happens. An erasure strips the identity from the journal at once
(`scrub`); the stored backups, which cannot be edited, age out within KEEP_BACKUPS nights.
"""

from __future__ import annotations

import hashlib
import json
import os
import zlib
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import msgspec

from cloud.db import Database, moment
from pst.ids import new_id
from pst.privacy import PAYLOAD_IDENTITY_KEYS
from sync.protocol import Event

KEEP_BACKUPS = 3  # per device: the newest
JOURNAL_DAYS = 14
MAX_BACKUP = 200 * 2**20  # bytes as uploaded (gzip; the portal's proxy takes 210 MB at most)
MAX_DATABASE = 8 * 2**30  # bytes of the database inside
SQLITE_MAGIC = b"SQLite format 3\x00"
FOLDER = "device-backups"
JOURNAL_PAGE = 1000


class BackupError(Exception):
    def __init__(self, status: int, detail: str, errors: dict[str, str] | None = None):
        super().__init__(detail)
        self.status, self.detail, self.errors = status, detail, errors or {}


COLUMNS = "id, device_id, epoch, seq, taken_at, received_at, size, stored_size, sha256, storage_path"


class Backups:
    def __init__(self, db: Database, data_dir: str | Path):
        self.db, self.data_dir = db, Path(data_dir)

    # --- backups ---

    async def receive(self, device_id: str, epoch: str, seq: int, taken_at: datetime, sha256: str,
                      body: AsyncIterator[bytes], now: datetime) -> dict:
        """Stores an uploaded backup (the database, gzip-compressed) once it is whole: the gzip stream complete, a
        SQLite file inside, its SHA-256 the one announced. Then keeps the newest KEEP_BACKUPS and trims the
        journal to the oldest of them."""
        folder = self.data_dir / FOLDER / device_id
        folder.mkdir(parents=True, exist_ok=True)
        backup_id = new_id()
        final = folder / f"{backup_id}.db.gz"
        partial = final.with_suffix(".part")
        inflate, digest = zlib.decompressobj(wbits=31), hashlib.sha256()
        stored = size = 0
        head = b""
        try:
            with partial.open("wb") as out:
                async for chunk in body:
                    stored += len(chunk)
                    if stored > MAX_BACKUP:
                        raise BackupError(413, "Cadangan terlalu besar", {"body": f"paling besar {MAX_BACKUP} byte"})
                    out.write(chunk)
                    try:
                        plain = inflate.decompress(chunk)
                    except zlib.error as exc:
                        raise BackupError(400, "Cadangan bukan berkas gzip yang utuh", {"body": str(exc)}) from None
                    if len(head) < len(SQLITE_MAGIC):
                        head += plain[:len(SQLITE_MAGIC) - len(head)]
                    size += len(plain)
                    if size > MAX_DATABASE:
                        raise BackupError(413, "Cadangan terlalu besar", {"body": f"isi paling besar {MAX_DATABASE} byte"})
                    digest.update(plain)
                out.flush()
                os.fsync(out.fileno())
            if not inflate.eof or inflate.unused_data:
                raise BackupError(400, "Cadangan terpotong atau berisi data lebih", {"body": "gzip tidak lengkap"})
            if head != SQLITE_MAGIC:
                raise BackupError(400, "Cadangan bukan basis data SQLite", {"body": "bukan SQLite"})
            if digest.hexdigest() != sha256:
                raise BackupError(400, "Isi cadangan tidak cocok dengan SHA-256-nya", {"sha256": "tidak cocok"})
            os.replace(partial, final)
        finally:
            partial.unlink(missing_ok=True)
        row = {"id": backup_id, "device_id": device_id, "epoch": epoch, "seq": seq, "taken_at": taken_at,
               "received_at": now, "size": size, "stored_size": stored, "sha256": sha256,
               "storage_path": str(final.relative_to(self.data_dir))}
        async with self.db.transaction():
            await self.db.execute(
                f"INSERT INTO device_backups ({COLUMNS}) VALUES ({', '.join('{}' for _ in row)})", *row.values())
            rest = f"LIMIT -1 OFFSET {KEEP_BACKUPS}" if self.db.kind == "sqlite" else f"OFFSET {KEEP_BACKUPS}"
            gone = await self.db.execute("SELECT id, storage_path FROM device_backups WHERE device_id = {}"
                                         f" ORDER BY received_at DESC, taken_at DESC, id DESC {rest}", device_id)
            for old in gone:
                await self.db.execute("DELETE FROM device_backups WHERE id = {}", old["id"])
            await self._trim_journal(device_id)
        for old in gone:  # after the commit: a file is never missing under a row
            (self.data_dir / old["storage_path"]).unlink(missing_ok=True)
        return row

    async def _trim_journal(self, device_id: str) -> None:
        """Drops what every stored backup already holds: per epoch, the rows up to the lowest stored backup's
        sequence (a restore from any stored backup still finds every row after it)."""
        kept = await self.db.execute(
            "SELECT epoch, min(seq) AS seq FROM device_backups WHERE device_id = {} GROUP BY epoch", device_id)
        for row in kept:
            await self.db.execute("DELETE FROM sync_journal WHERE device_id = {} AND epoch = {} AND seq <= {}",
                                  device_id, row["epoch"], row["seq"])
        if kept:  # an epoch older than every stored backup's can never be restored again
            oldest = await self.db.execute("SELECT min(received_at) AS at FROM device_backups WHERE device_id = {}",
                                           device_id)
            marks = ", ".join("{}" for _ in kept)
            await self.db.execute(f"DELETE FROM sync_journal WHERE device_id = {{}} AND epoch NOT IN ({marks})"
                                  " AND at < {}", device_id, *[r["epoch"] for r in kept], moment(oldest[0]["at"]))

    async def latest(self, device_id: str) -> dict | None:
        rows = await self.db.execute(f"SELECT {COLUMNS} FROM device_backups WHERE device_id = {{}}"
                                     " ORDER BY received_at DESC, taken_at DESC, id DESC LIMIT 1", device_id)
        return _backup(rows[0]) if rows else None

    async def list(self, device_id: str) -> list[dict]:
        rows = await self.db.execute(f"SELECT {COLUMNS} FROM device_backups WHERE device_id = {{}}"
                                     " ORDER BY received_at DESC, taken_at DESC, id DESC", device_id)
        return [_backup(row) for row in rows]

    async def get(self, device_id: str, backup_id: str) -> dict | None:
        rows = await self.db.execute(f"SELECT {COLUMNS} FROM device_backups WHERE device_id = {{}} AND id = {{}}",
                                     device_id, backup_id[:36])
        return _backup(rows[0]) if rows else None

    def path(self, backup: dict) -> Path:
        return self.data_dir / backup["storage_path"]

    # --- the journal ---

    async def journal(self, device_id: str, epoch: str, after: int, limit: int = JOURNAL_PAGE) -> dict:
        """The events of the epoch after `after`, in order, as the appliance sent them. Refused (410) when the
        journal no longer holds the first of them — the backup being caught up is older than what is kept."""
        rows = await self.db.execute(
            "SELECT seq, event FROM sync_journal WHERE device_id = {} AND epoch = {} AND seq > {} ORDER BY seq"
            " LIMIT {}", device_id, epoch, after, limit + 1)
        cursor = await self.db.execute("SELECT last_seq FROM sync_cursors WHERE device_id = {} AND epoch = {}",
                                       device_id, epoch)
        last_seq = cursor[0]["last_seq"] if cursor else None
        if last_seq is not None and last_seq > after and (not rows or rows[0]["seq"] != after + 1):
            raise BackupError(410, "Jurnal di cloud tidak lagi menyimpan catatan sesudah cadangan ini; pulihkan dari"
                              " cadangan yang lebih baru", {"after": f"jurnal mulai sesudah {after}"})
        more = len(rows) > limit
        return {"epoch": epoch, "last_seq": last_seq, "more": more,
                "events": [msgspec.json.decode(row["event"]) for row in rows[:limit]]}

    async def prune(self, now: datetime) -> int:
        """Rows past JOURNAL_DAYS, whatever else: the journal is for catching up last night's backup."""
        gone = await self.db.execute("DELETE FROM sync_journal WHERE at < {} RETURNING seq",
                                     now - timedelta(days=JOURNAL_DAYS))
        return len(gone)


async def remember(db: Database, device_id: str, epoch: str, events: list[Event], now: datetime) -> None:
    """Inside the batch's transaction: the events as they came, each once."""
    from sync.projection import bulk_insert

    conflict = " ON CONFLICT (device_id, epoch, seq) DO NOTHING"
    await bulk_insert(db, "sync_journal", ("device_id", "epoch", "seq", "entity_id", "event", "at"),
                      [(device_id, epoch, e.seq, e.entity_id[:64], msgspec.json.encode(e).decode(), now)
                       for e in events], conflict)


async def scrub(db: Database, device_id: str | None, entity_ids: list[str] = (), text: str | None = None) -> int:
    """Strips a person's identity from the journal's payloads (like the appliance's outbox): the events of the
    records `entity_ids` of a device and the events naming them (a locker's use names its visit), or every event
    holding `text` (an e-mail). The event stays, marked `erased`, so a restore still replays its record."""
    clauses, args = [], []
    for entity_id in entity_ids:
        clauses.append("entity_id = {} OR event LIKE {}")
        args += [entity_id, f"%{entity_id}%"]
    if text:
        clauses.append("lower(event) LIKE {}")
        args.append(f"%{text.lower()}%")
    if not clauses:
        return 0
    where = " OR ".join(f"({c})" for c in clauses)
    scope, scope_args = ("device_id = {} AND ", [device_id]) if device_id else ("", [])
    rows = await db.execute(f"SELECT device_id, epoch, seq, event FROM sync_journal WHERE {scope}({where})",
                            *scope_args, *args)
    changed = 0
    for row in rows:
        named = any(entity_id in row["event"] for entity_id in entity_ids) or bool(text and text.lower() in
                                                                                 row["event"].lower())
        event = json.loads(row["event"])
        if not named or event.get("op") == "anonymised":  # LIKE's own wildcards may match more than was meant
            continue
        payload = event.get("payload") or {}
        kept = {k: v for k, v in payload.items() if k not in PAYLOAD_IDENTITY_KEYS}
        if kept == payload:
            continue
        event["payload"] = kept | {"erased": True}
        await db.execute("UPDATE sync_journal SET event = {} WHERE device_id = {} AND epoch = {} AND seq = {}",
                         json.dumps(event, ensure_ascii=False), row["device_id"], row["epoch"], row["seq"])
        changed += 1
    return changed


def _backup(row: dict) -> dict:
    return row | {"taken_at": moment(row["taken_at"]), "received_at": moment(row["received_at"])}
