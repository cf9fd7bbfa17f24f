"""The sync protocol's HTTP side (sync/PROTOCOL.md): enrolment, the round's state request, uplink batches.

Every request but enrolment carries the device credential; a revoked or unknown one gets 401. Back-pressure
(cloud.sync_admission): each worker applies as many batches at once as its database pool sustains, lets the next
few wait their turn, and answers 429 beyond that with the Retry-After at which the batch's turn will come.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import re
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Annotated

import msgspec
from litestar import Request, Response, get, post, put
from litestar.response import File
from litestar.params import FromPath, HeaderParameter
from litestar.di import NamedDependency

from cloud.backups import MAX_BACKUP, Backups, BackupError
from cloud.db import Database
from cloud.devices import DeviceAuth, Devices
from cloud.errors import ApiError
from cloud.fleet import Fleet
from cloud.openapi import BATCH, ENROL, STATE_QUERY, documented
from cloud.sync_admission import Busy, SyncAdmission
from pst.clock import Clock
from pst.openapi import content
from sync import apply
from sync.protocol import EPOCH, HEALTH_HEADER, MAX_BODY, MAX_SEQ, PREFIX, Batch, Enrol, decode, encode, read_health

log = logging.getLogger(__name__)
DevicesDep = NamedDependency[Devices]
DatabaseDep = NamedDependency[Database]
HealthHeader = Annotated[str | None, HeaderParameter(
    name=HEALTH_HEADER, required=False,
    description="The appliance's health (sync.protocol.Health) as compact JSON; ignored when unreadable")]


def _json(value, status: int = 200, headers: dict | None = None) -> Response:
    return Response(encode(value), status_code=status, media_type="application/json", headers=headers)


async def _device(request: Request, devices: Devices) -> DeviceAuth:
    header = request.headers.get("authorization", "")
    scheme, _, credential = header.partition(" ")
    device = await devices.authenticate(credential.strip()) if scheme.lower() == "bearer" else None
    if device is None:
        raise ApiError(401, "Perangkat tidak dikenal atau sudah dicabut", {"credential": "daftarkan ulang perangkat"})
    await devices.seen(device.device_id)
    return device


async def _body(request: Request, kind: type):
    raw = await request.body()
    try:
        return decode(raw, kind, gzipped=request.headers.get("content-encoding", "").lower() == "gzip")
    except (msgspec.DecodeError, msgspec.ValidationError, ValueError, EOFError, OSError) as exc:
        raise ApiError(400, "Isi permintaan sinkronisasi tidak sah", {"body": str(exc)[:200]}) from None


@post(f"{PREFIX}/enroll", status_code=201, operation_class=documented(ENROL))
async def enroll(request: Request, devices: DevicesDep) -> Response:
    data = await _body(request, Enrol)
    device, credential = await devices.enroll(data.code, request.client.host if request.client else None)
    clock: Clock = request.app.state.clock
    return _json({"device_id": device.device_id, "office_code": device.office_code, "name": device.name,
                  "credential": credential, "cloud_time": clock.now().isoformat(timespec="milliseconds")}, 201)


@get(f"{PREFIX}/state", operation_class=documented(query=STATE_QUERY, required=("epoch",)))
async def state(request: Request, devices: DevicesDep, db: DatabaseDep, health: HealthHeader = None) -> Response:
    try:
        async with admission(request.app, db).rounds.slot():  # a fleet's rounds take turns, readers keep theirs
            device = await _device(request, devices)
            epoch, after = _epoch_after(request, "0")
            mark = request.query_params.get("mark", "")[:200]
            now = request.app.state.clock.now()
            ignored = await _health(health, db, device, now)
            answer = await apply.state(db, device, epoch, after, mark, now)
    except Busy as busy:
        return _busy(busy)
    return _json(answer, headers={f"{HEALTH_HEADER}-Ignored": ignored} if ignored else None)


def _epoch_after(request: Request, default_after: str = "") -> tuple[str, int]:
    """The `epoch` and `after` of a request's query, checked (400 otherwise)."""
    epoch = request.query_params.get("epoch", "")
    try:
        after = int(request.query_params.get("after", default_after))
    except ValueError:
        after = -1
    if not re.fullmatch(EPOCH, epoch) or not 0 <= after <= MAX_SEQ:
        raise ApiError(400, "Parameter tidak sah", {"epoch": "wajib", "after": "bilangan ≥ 0"})
    return epoch, after


async def _health(value: str | None, db: Database, device: DeviceAuth, now) -> str | None:
    """Keeps the health the state request carries (none from an older appliance). One the cloud cannot read is
    ignored, never the round: answers why, for the answer's `PST-Health-Ignored` header."""
    if value is None:
        return None
    try:
        health = read_health(value)
    except (msgspec.MsgspecError, ValueError) as exc:
        reason = "".join(c if " " <= c <= "~" else "?" for c in " ".join(str(exc).split())[:120])
        log.warning("health of device %s ignored: %s", device.device_id, reason)
        return reason or "unreadable"
    await Fleet(db).record(device.device_id, health, now)
    return None


@post(f"{PREFIX}/events", request_max_body_size=MAX_BODY, status_code=200, operation_class=documented(BATCH))
async def events(request: Request, devices: DevicesDep, db: DatabaseDep) -> Response:
    await request.body()  # whole before its turn: a slow line must not hold a slot
    try:
        async with admission(request.app, db).batches.slot():  # and nothing touches the database before it
            device = await _device(request, devices)
            batch = await _body(request, Batch)
            if not 0 < len(batch.epoch) <= 36 or batch.epoch_start < 1:
                raise ApiError(400, "Isi permintaan sinkronisasi tidak sah", {"epoch": "wajib"})
            ack = await apply.apply_batch(db, device, batch, request.app.state.clock.now())
    except Busy as busy:
        return _busy(busy)
    except apply.Gap as gap:
        return _json({"detail": "Urutan tidak sambung dengan posisi di cloud", "errors": {},
                      "last_seq": gap.last_seq, "last_event_id": gap.last_event_id}, 409)
    except ValueError as exc:
        raise ApiError(400, "Isi permintaan sinkronisasi tidak sah", {"events": str(exc)}) from None
    return _json(ack)


def admission(app, db: Database) -> SyncAdmission:
    """The worker's admission of rounds and batches, made at its first request and sized to its database pool."""
    admitted = app.state.get("sync_admission")
    if admitted is None:
        admitted = app.state.sync_admission = SyncAdmission.sized(db.kind, db.pool_size)
    return admitted


def _busy(busy: Busy) -> Response:
    """429 with the turn in Retry-After, in seconds with hundredths (sync/PROTOCOL.md, "Back-pressure")."""
    return _json({"detail": "Sedang sibuk; coba lagi", "errors": {}}, 429, {"Retry-After": f"{busy.retry_after:.2f}"})


MAX_FILE = 200 * 2**20


@put(f"{PREFIX}/files/{{sha256:str}}", request_max_body_size=MAX_FILE, status_code=201)
async def upload_file(request: Request, sha256: FromPath[str], devices: DevicesDep, db: DatabaseDep) -> Response:
    """A scanned PDF for a visitor's portal account, named by its SHA-256; only one a deliverable of this device's
    office names. Idempotent: the same file again is fine."""
    from cloud.catalogue_import import Softcopy, store_pdf

    device = await _device(request, devices)
    if not re.fullmatch(r"[0-9a-f]{64}", sha256):
        raise ApiError(400, "Nama berkas harus SHA-256 (64 huruf heksadesimal)")
    wanted = await db.execute("SELECT 1 AS yes FROM deliverables WHERE sha256 = {} AND office_code = {}",
                              sha256, device.office_code)
    if not wanted:
        raise ApiError(404, "Tidak ada hasil pindaian dengan berkas ini; kirim catatannya dulu")
    body = await request.body()
    if hashlib.sha256(body).hexdigest() != sha256:
        raise ApiError(400, "Isi berkas tidak cocok dengan SHA-256-nya")
    if not body.startswith(b"%PDF-"):
        raise ApiError(400, "Berkas bukan PDF")
    data_dir = Path(request.app.state.settings.data_dir)
    (data_dir / "softcopy").mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=data_dir / "softcopy", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(body)
        pages = await asyncio.to_thread(_pages, temporary)
        if pages is None:
            raise ApiError(400, "PDF tidak dapat dibuka")
        _, relative = await asyncio.to_thread(store_pdf, data_dir, Softcopy(sha256, len(body), pages, Path(temporary)))
    finally:
        Path(temporary).unlink(missing_ok=True)
    now = request.app.state.clock.now()
    async with db.transaction():
        await db.execute(
            "INSERT INTO softcopy_files (sha256, size, pages, storage_path, created_at) VALUES ({}, {}, {}, {}, {})"
            " ON CONFLICT (sha256) DO NOTHING", sha256, len(body), pages, relative, now,
        )
    return _json({"sha256": sha256, "bytes": len(body), "pages": pages}, 201)


def _pages(path: str) -> int | None:
    import pymupdf

    try:
        with pymupdf.open(path) as doc:
            return doc.page_count if doc.is_pdf else None
    except Exception:  # a damaged file: refused
        return None


# --- a replacement appliance (cloud.backups) ---------------------------------------------------------------------

@put(f"{PREFIX}/backup", request_max_body_size=MAX_BACKUP, status_code=201)
async def upload_backup(request: Request, devices: DevicesDep, db: DatabaseDep) -> Response:
    """The appliance's backup (its SQLite database, gzip-compressed), with the epoch and the highest outbox sequence
    it holds, when it was taken and the database's SHA-256 in the query. Stored once whole and checked."""
    device = await _device(request, devices)
    query = request.query_params
    epoch, sha256 = query.get("epoch", ""), query.get("sha256", "")
    errors = {}
    if not re.fullmatch(EPOCH, epoch):
        errors["epoch"] = "wajib"
    try:
        seq = int(query.get("seq", ""))
        if not 0 <= seq <= MAX_SEQ:
            raise ValueError
    except ValueError:
        errors["seq"] = "bilangan ≥ 0"
    try:
        taken = datetime.fromisoformat(query.get("taken", ""))
        if taken.tzinfo is None:
            raise ValueError
    except ValueError:
        errors["taken"] = "waktu ISO 8601 dengan zona"
    if not re.fullmatch(r"[0-9a-f]{64}", sha256):
        errors["sha256"] = "64 huruf heksadesimal"
    if errors:
        raise ApiError(400, "Parameter tidak sah", errors)
    try:
        row = await Backups(db, request.app.state.settings.data_dir).receive(
            device.device_id, epoch, seq, taken, sha256, request.stream(), request.app.state.clock.now())
    except BackupError as exc:
        raise ApiError(exc.status, exc.detail, exc.errors) from None
    log.info("backup of device %s stored: %d bytes (%d as sent)", device.device_id, row["size"], row["stored_size"])
    return _json({"id": row["id"], "size": row["size"], "stored_size": row["stored_size"], "sha256": sha256}, 201)


async def _restoring(request: Request, devices: Devices) -> str:
    """The device whose backup or journal is asked for: the asking device's own, or (`?device=`) another device of
    the same office — an office that added a new device instead of asking a replacement code. 403 otherwise."""
    device = await _device(request, devices)
    wanted = request.query_params.get("device") or device.device_id
    if wanted == device.device_id:
        return wanted
    if not re.fullmatch(EPOCH, wanted):  # a device id is a UUID
        raise ApiError(400, "Parameter tidak sah", {"device": "id perangkat"})
    other = await devices.device(wanted)
    if other is None or other["office_code"] != device.office_code:
        raise ApiError(403, "Cadangan perangkat kantor lain tidak dapat diambil", {"device": "bukan perangkat kantor ini"})
    return other["id"]


@get(f"{PREFIX}/backup", responses={200: content("application/gzip", "The device's latest backup, as it came")})
async def download_backup(request: Request, devices: DevicesDep, db: DatabaseDep) -> Response:
    device_id = await _restoring(request, devices)
    backups = Backups(db, request.app.state.settings.data_dir)
    backup = await backups.latest(device_id)
    if backup is None or not backups.path(backup).is_file():
        raise ApiError(404, "Belum ada cadangan perangkat ini di cloud", {"device": "cadangan dikirim tiap malam"})
    return File(backups.path(backup), filename=f"pst-edge-{backup['taken_at']:%Y%m%d-%H%M%S}.db.gz",
                media_type="application/gzip", headers={
                    "PST-Backup-Id": backup["id"], "PST-Backup-Device": device_id, "PST-Backup-Epoch": backup["epoch"],
                    "PST-Backup-Seq": str(backup["seq"]), "PST-Backup-Sha256": backup["sha256"],
                    "PST-Backup-Taken": backup["taken_at"].isoformat(), "PST-Backup-Size": str(backup["size"])})


@get(f"{PREFIX}/journal")
async def journal(request: Request, devices: DevicesDep, db: DatabaseDep) -> Response:
    """The events a device sent after a sequence of an epoch, a page at a time, as they came."""
    device_id = await _restoring(request, devices)
    epoch, after = _epoch_after(request)
    try:
        page = await Backups(db, request.app.state.settings.data_dir).journal(device_id, epoch, after)
    except BackupError as exc:
        raise ApiError(exc.status, exc.detail, exc.errors) from None
    return _json(page)


routes = [enroll, state, events, upload_file, upload_backup, download_backup, journal]
