"""Wire types of the sync protocol, version 1 (described in sync/PROTOCOL.md).

Bodies are JSON, gzip-compressed when the sender sets `Content-Encoding: gzip` (the agent always does for batches).
Every type is strict: an unknown field in a request is refused, so a newer agent talking to an older cloud fails
loudly instead of losing data quietly.
"""

from __future__ import annotations

import gzip
import io
from typing import Annotated, Any

import msgspec

from pst.bodies import too_deep

VERSION = 1
PREFIX = "/sync/v1"
MAX_BATCH = 1000  # events per uplink request
MAX_BODY = 8 * 2**20  # bytes of an uncompressed request body
CREDENTIAL_HEADER = "Authorization"  # "Bearer <credential>"
MAX_SEQ = 2**63 - 1  # sequences and cursors are SQL BIGINTs on both sides
Seq = Annotated[int, msgspec.Meta(ge=0, le=MAX_SEQ)]
EPOCH = r"^[0-9A-Za-z._:-]{1,36}$"  # an appliance database's id (a UUID); also the state request's `epoch`
Epoch = Annotated[str, msgspec.Meta(pattern=EPOCH)]
Text = Annotated[str, msgspec.Meta(pattern=r"^[^\x00]*$")]  # PostgreSQL's text cannot hold a NUL character


def _text(most: int) -> Any:
    """Text of at most `most` characters: the width of the cloud's column it goes into (SQLite would store more)."""
    return Annotated[str, msgspec.Meta(pattern=r"^[^\x00]*$", max_length=most)]


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

    event_id: _text(36)  # a UUIDv7
    seq: Seq
    entity: _text(24)
    entity_id: _text(64)
    op: _text(24)
    payload: dict[str, Any]
    created_at: _text(40)
    hlc: _text(64) | None = None
    clock_flag: _text(40) | None = None
    corrected_at: _text(40) | None = None


class Batch(msgspec.Struct, forbid_unknown_fields=True):
    """Events of one appliance database (`epoch`) in sequence order, starting right after the cloud's cursor.
    `epoch_start` is the lowest sequence the appliance still holds: where a cursor the cloud does not know begins."""

    epoch: Epoch
    epoch_start: Seq
    events: Annotated[list[Event], msgspec.Meta(max_length=MAX_BATCH)]


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


HEALTH_VERSION = 1
HEALTH_HEADER = "PST-Health"  # on the state request: the appliance's health as compact JSON (no request of its own)
MAX_HEALTH = 1024  # bytes of the header's value; a longer one is ignored
Count = Annotated[int, msgspec.Meta(ge=0, le=MAX_SEQ)]
Word = Annotated[str, msgspec.Meta(max_length=40, pattern=r"^[!-~]*$")]  # printable ASCII: it travels in a header


class Health(msgspec.Struct, omit_defaults=True, rename={
    "version": "v", "software": "sw", "boot_at": "boot", "disk_free": "df", "disk_free_pct": "dfp",
    "db_bytes": "db", "ntp": "ntp", "clock_offset_ms": "off", "printer": "prn", "scanner": "scn",
    "lockers": "lk", "pending": "pend", "oldest_pending_s": "age", "backup_at": "bk", "backup_ok": "bko",
    "alerts": "al", "alert_count": "aln", "opening_hours": "oh"}):
    """The appliance's health, sent with every state request in the `PST-Health` header (sync/PROTOCOL.md,
    "Health"). `v` is the format's version, always sent; short names and no empty field keep the idle round under
    1 KB; every other field may be missing (None: unknown). Unlike the other types, unknown fields are ignored: a
    newer appliance's extra facts never stop its sync with an older cloud. Times are Unix seconds."""

    version: Annotated[int, msgspec.Meta(ge=1, le=1000)]  # HEALTH_VERSION: always sent
    software: Word | None = None  # the `pst` version
    boot_at: Count | None = None
    disk_free: Count | None = None  # bytes free on the data folder's file system
    disk_free_pct: Annotated[float, msgspec.Meta(ge=0, le=100)] | None = None
    db_bytes: Count | None = None  # the database file and its WAL
    ntp: bool | None = None  # the system clock is NTP-synchronised (None: cannot tell)
    clock_offset_ms: Annotated[int, msgspec.Meta(ge=-MAX_SEQ, le=MAX_SEQ)] | None = None  # appliance − cloud
    printer: Word | None = None  # "ok", "paper_out", "offline", "unplugged", "error"
    scanner: Word | None = None  # "ok", "scanning"
    lockers: Annotated[list[Annotated[int, msgspec.Meta(ge=0, le=9999)]], msgspec.Meta(max_length=64)] | None = None
    pending: Count | None = None  # outbox rows not yet acknowledged
    oldest_pending_s: Count | None = None
    backup_at: Count | None = None  # the last `pst edge backup`
    backup_ok: bool | None = None
    alerts: Annotated[list[Word], msgspec.Meta(max_length=16)] | None = None  # kinds of the open alerts
    alert_count: Count | None = None
    # the office's zone and week, Monday first: "Asia/Makassar 0800-1530 0800-1530 0800-1530 0800-1530 0800-1600 - -"
    opening_hours: Annotated[str, msgspec.Meta(max_length=120, pattern=r"^[!-~ ]*$")] | None = None


def health_header(health: Health) -> str:
    return msgspec.json.encode(health).decode("ascii")


def read_health(value: str) -> Health:
    """The header's value; raises ValueError (or msgspec's errors) for one the cloud ignores."""
    raw = value.encode("latin-1")
    if len(raw) > MAX_HEALTH:
        raise ValueError("health too large")
    if too_deep(raw):
        raise ValueError("health nested too deeply")
    return msgspec.json.decode(raw, type=Health)


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
    if too_deep(body):  # msgspec recurses once per level: refused before it starts
        raise ValueError("body nested too deeply")
    return msgspec.json.decode(body, type=kind)



def json_schema(kind: type) -> dict[str, Any]:
    """The JSON Schema of a wire type with every reference written out, for the cloud's OpenAPI document."""
    schema = msgspec.json.schema(kind)
    definitions = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return inline(definitions[node["$ref"].rsplit("/", 1)[1]])
            return {key: inline(value) for key, value in node.items()}
        return [inline(value) for value in node] if isinstance(node, list) else node

    return inline(schema)
