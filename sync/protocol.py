"""Wire types of the sync protocol, version 1 (described in sync/PROTOCOL.md).

Bodies are JSON, gzip-compressed when the sender sets `Content-Encoding: gzip` (the agent always does for batches).
Every type is strict: an unknown field in a request is refused, so a newer agent talking to an older cloud fails
loudly instead of losing data quietly.
"""

from __future__ import annotations

import gzip
import io
from typing import Any

import msgspec

VERSION = 1
PREFIX = "/sync/v1"
MAX_BATCH = 1000  # events per uplink request
MAX_BODY = 8 * 2**20  # bytes of an uncompressed request body
CREDENTIAL_HEADER = "Authorization"  # "Bearer <credential>"


class Enrol(msgspec.Struct, forbid_unknown_fields=True):
    code: str


class Enrolled(msgspec.Struct):
    device_id: str
    office_code: str
    name: str
    credential: str
    cloud_time: str


class Event(msgspec.Struct, forbid_unknown_fields=True):
    """One outbox row. `created_at` is the appliance's wall clock; `hlc` its ordering stamp; `clock_flag` says the
    wall clock was not trustworthy, and then `corrected_at` (when known) is the cloud-clock time of the event."""

    event_id: str
    seq: int
    entity: str
    entity_id: str
    op: str
    payload: dict[str, Any]
    created_at: str
    hlc: str | None = None
    clock_flag: str | None = None
    corrected_at: str | None = None


class Batch(msgspec.Struct, forbid_unknown_fields=True):
    """Events of one appliance database (`epoch`) in sequence order, starting right after the cloud's cursor.
    `epoch_start` is the lowest sequence the appliance still holds: where a cursor the cloud does not know begins."""

    epoch: str
    epoch_start: int
    events: list[Event]


class Ack(msgspec.Struct):
    """Sent only after the batch is committed: the cloud's cursor for the epoch and what became of the events."""

    epoch: str
    last_seq: int
    last_event_id: str | None
    applied: int
    duplicates: int
    dead: int
    cloud_time: str


class Change(msgspec.Struct):
    """A downlink change: `data` is the record's current state, or None when it was removed."""

    seq: int
    entity: str
    entity_id: str
    data: dict[str, Any] | None
    mark: str = ""  # what this change is (entity, id, time): sent back with the cursor to prove it is still there


class State(msgspec.Struct):
    """The answer of a round's first request: where the cloud stands for this epoch, and downlink changes after
    `after`. An idle round is this one small request."""

    epoch: str
    last_seq: int | None  # None: the cloud has nothing of this epoch (new database, or the cloud lost it)
    last_event_id: str | None
    changes: list[Change]
    more: bool
    cloud_time: str
    reset: bool = False  # the agent's downlink cursor is not in the cloud's journal (restored): changes from 0


def encode(value: Any, compress: bool = False) -> bytes:
    body = msgspec.json.encode(value)
    return gzip.compress(body, compresslevel=6) if compress else body


def decode(body: bytes, kind: type, gzipped: bool = False) -> Any:
    """Parse a body; raises msgspec.ValidationError / DecodeError (the cloud answers 400) or ValueError."""
    if gzipped:
        with gzip.GzipFile(fileobj=io.BytesIO(body)) as stream:  # read at most MAX_BODY: no gzip bomb
            body = stream.read(MAX_BODY + 1)
        if len(body) > MAX_BODY:
            raise ValueError("body too large")
    return msgspec.json.decode(body, type=kind)

