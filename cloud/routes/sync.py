"""The sync protocol's HTTP side (sync/PROTOCOL.md): enrolment, the round's state request, uplink batches.

Every request but enrolment carries the device credential; a revoked or unknown one gets 401. Back-pressure: each
worker applies at most a few batches at once and answers 429 with a jittered Retry-After beyond that, so a fleet
reconnecting at once spreads itself out instead of queueing on the database.
"""

from __future__ import annotations

import asyncio
import logging
import random

import msgspec
from litestar import Request, Response, get, post
from litestar.di import NamedDependency

from cloud.db import Database
from cloud.devices import DeviceAuth, Devices
from cloud.errors import ApiError
from pst.clock import Clock
from sync import apply
from sync.protocol import MAX_BODY, PREFIX, Batch, Enrol, decode, encode

log = logging.getLogger(__name__)
DevicesDep = NamedDependency[Devices]
DatabaseDep = NamedDependency[Database]
APPLYING_AT_ONCE = 4  # per worker
_applying = asyncio.Semaphore(APPLYING_AT_ONCE)  # requests in flight only: nothing kept between requests


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


@post(f"{PREFIX}/enroll", status_code=201)
async def enroll(request: Request, devices: DevicesDep) -> Response:
    data = await _body(request, Enrol)
    device, credential = await devices.enroll(data.code)
    clock: Clock = request.app.state.clock
    return _json({"device_id": device.device_id, "office_code": device.office_code, "name": device.name,
                  "credential": credential, "cloud_time": clock.now().isoformat(timespec="milliseconds")}, 201)


@get(f"{PREFIX}/state")
async def state(request: Request, devices: DevicesDep, db: DatabaseDep) -> Response:
    device = await _device(request, devices)
    epoch = request.query_params.get("epoch", "")
    try:
        after = int(request.query_params.get("after", "0"))
    except ValueError:
        after = -1
    if not 0 < len(epoch) <= 36 or after < 0:
        raise ApiError(400, "Parameter tidak sah", {"epoch": "wajib", "after": "bilangan ≥ 0"})
    mark = request.query_params.get("mark", "")[:200]
    return _json(await apply.state(db, device, epoch, after, mark, request.app.state.clock.now()))


@post(f"{PREFIX}/events", request_max_body_size=MAX_BODY)
async def events(request: Request, devices: DevicesDep, db: DatabaseDep) -> Response:
    device = await _device(request, devices)
    batch = await _body(request, Batch)
    if not 0 < len(batch.epoch) <= 36 or batch.epoch_start < 1:
        raise ApiError(400, "Isi permintaan sinkronisasi tidak sah", {"epoch": "wajib"})
    if _applying.locked():  # checked and taken with no await in between
        wait = random.randint(2, 15)
        return _json({"detail": "Sedang sibuk; coba lagi", "errors": {}}, 429, {"Retry-After": str(wait)})
    async with _applying:
        try:
            ack = await apply.apply_batch(db, device, batch, request.app.state.clock.now())
        except apply.Gap as gap:
            return _json({"detail": "Urutan tidak sambung dengan posisi di cloud", "errors": {},
                          "last_seq": gap.last_seq, "last_event_id": gap.last_event_id}, 409)
        except ValueError as exc:
            raise ApiError(400, "Isi permintaan sinkronisasi tidak sah", {"events": str(exc)}) from None
    return _json(ack)


routes = [enroll, state, events]
