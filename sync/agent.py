"""The appliance's sync agent: rounds of (ask where the cloud stands → take the downlink → send what it lacks).

Design against silent stalls and misplaced checkpoints:
- the cloud owns the uplink cursor; the agent asks for it at the start of every round and sends from there, so a
  cloud restored from an older backup gets back what it lost (acknowledged rows are kept `RETAIN` long);
- the downlink cursor is stored in the same transaction as the changes it covers;
- rounds are driven by a timer, with exponential backoff and full jitter after failures, whether or not anything
  new was written; `429`/`503` with `Retry-After` are honoured (a batch turned away with 429 waits its turn and goes
  again within the round); every failure is recorded where the console and `pst sync status` show it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import random
import sqlite3
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import httpx
import msgspec

from edge import catalogue as edge_catalogue
from edge import outbox
from edge import privacy as edge_privacy
from edge.health import BACKUP_MARKER, Probe
from edge.store import EdgeStore
from pst import hlc
from pst.clock import Clock, SystemClock, iso
from pst.ids import new_id
from sync import restore
from sync.protocol import (
    HEALTH_HEADER, MAX_BATCH, PREFIX, Ack, Batch, Enrolled, Event, State, decode, encode, health_header,
)

log = logging.getLogger(__name__)
ENROLMENT_FILE = "sync-enrolment.json"
RETAIN = timedelta(days=45)  # acknowledged outbox rows kept this long: a cloud restored from a backup gets them back
BATCH = 500
BASE_DELAY = 2.0  # seconds; the first retry after a failure waits up to this, doubling up to MAX_DELAY
MAX_DELAY = 300.0
MAX_PASSES = 10_000  # uplink requests in one round at most (a backlog of 5 million events)
BACKUP_SENT = "cloud_backup"  # meta key: the time (as in the backup marker) of the last backup the cloud has
BACKUP_RETRY = 600  # seconds after a failed backup upload
BUSY_PATIENCE = 120.0  # seconds a round waits at most, in all, for the turns of batches the cloud turned away


class SyncError(Exception):
    """A round that did not finish; `retry_after` when the cloud said how long to wait."""

    def __init__(self, message: str, retry_after: float | None = None, permanent: bool = False):
        super().__init__(message)
        self.retry_after, self.permanent = retry_after, permanent


@dataclass(frozen=True)
class Enrolment:
    cloud_url: str
    device_id: str
    office_code: str
    name: str
    credential: str

    @classmethod
    def load(cls, data_dir: Path) -> Enrolment | None:
        path = Path(data_dir) / ENROLMENT_FILE
        if not path.exists():
            return None
        return cls(**json.loads(path.read_text()))

    def save(self, data_dir: Path) -> Path:
        """Written whole (temporary file, fsync, rename), readable by its owner only: it holds the credential."""
        path = Path(data_dir) / ENROLMENT_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(asdict(self), handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
        return path


def enroll(cloud_url: str, code: str, data_dir: Path, transport: httpx.BaseTransport | None = None) -> Enrolment:
    """Trade the one-time code from the back office for this appliance's credential, and keep it."""
    url = cloud_url.rstrip("/")
    with httpx.Client(base_url=url, transport=transport, timeout=30) as client:
        response = client.post(f"{PREFIX}/enroll", content=encode({"code": code}),
                               headers={"Content-Type": "application/json"})
    if response.status_code != 201:
        raise SyncError(_problem(response), permanent=True)
    answer = decode(response.content, Enrolled)
    enrolment = Enrolment(url, answer.device_id, answer.office_code, answer.name, answer.credential)
    enrolment.save(data_dir)
    return enrolment


@dataclass
class RoundResult:
    sent: int = 0
    duplicates: int = 0
    dead: int = 0
    received: int = 0
    requests: int = 0
    busy: int = 0  # batches the cloud turned away (429) and the round sent again at their turn
    waited: float = 0.0  # seconds the round waited for those turns
    bytes_up: int = 0
    bytes_down: int = 0
    epoch_rotated: bool = False


class Agent:
    def __init__(self, store: EdgeStore, enrolment: Enrolment, clock: Clock | None = None,
                 transport: httpx.AsyncBaseTransport | None = None, batch: int = BATCH, timeout: float = 30.0,
                 data_dir: Path | None = None, health: bool = True, busy_patience: float = BUSY_PATIENCE):
        self.store, self.enrolment, self.clock = store, enrolment, clock or SystemClock()
        self.busy_patience = busy_patience
        self.data_dir = Path(data_dir) if data_dir else Path(store.path).parent  # where scans keep their PDFs
        self.probe = Probe(store, self.data_dir) if health else None  # the health sent with each round's state
        self.clock_offset_ms: int | None = None  # this clock against the cloud's, from the last answer
        self.batch = min(batch, MAX_BATCH)
        self._backup_retry = 0.0  # monotonic time before which a failed backup upload is not tried again
        self.client = httpx.AsyncClient(  # every header is paid on each idle round, which must stay under 1 KB
            base_url=enrolment.cloud_url, transport=transport, timeout=timeout,
            headers={"Authorization": f"Bearer {enrolment.credential}", "User-Agent": "pst-sync/1",
                     "Accept-Encoding": "gzip"},  # what the portal's proxy compresses with (no deflate)
        )
        for default in ("Accept", "Connection"):  # */* and keep-alive are what HTTP/1.1 assumes without them
            del self.client.headers[default]

    async def close(self) -> None:
        await self.client.aclose()

    # --- one round ---

    async def round(self) -> RoundResult:
        """Ask, take the downlink, send the uplink; records success or the error in `sync_state`."""
        result = RoundResult()
        self._note(last_attempt_at=iso(self.clock.now()))
        try:
            await self._round(result)
        except SyncError as exc:
            self._failed(str(exc))
            raise
        except (httpx.HTTPError, msgspec.MsgspecError, ValueError) as exc:
            self._failed(f"{type(exc).__name__}: {exc}"[:300])
            raise SyncError(f"{type(exc).__name__}: {exc}") from exc
        self._note(last_success_at=iso(self.clock.now()), last_error=None, last_error_at=None, failures=0)
        return result

    async def _round(self, result: RoundResult) -> None:
        if restore.is_pending(self.store.read):
            raise SyncError("the restore of this database has not finished: run `pst edge restore --catch-up` "
                            "(or `--offline`)", permanent=True)
        state = await self._state(result, self._health())
        if state.reset:  # the cloud was restored from an older copy: its changes come again from the start
            log.warning("the cloud no longer has the change this appliance stopped at: taking every change again")
        while True:  # the downlink, page by page, each page stored with its cursor
            self._apply_changes(state)
            result.received += len(state.changes)
            if not state.more:
                break
            state = await self._state(result)
        if self._diverged(state):
            self._rotate_epoch()
            result.epoch_rotated = True
            state = await self._state(result)
        await self._uplink(state, result)
        await self._upload_files(result)
        await self._upload_backup(result)
        self._purge()

    async def _state(self, result: RoundResult, health: str | None = None) -> State:
        epoch, (after, mark) = self._epoch(), self._downlink_after()
        started, sent_at = time.monotonic(), self.clock.now()
        response = await self.client.get(f"{PREFIX}/state", params={"epoch": epoch, "after": after, "mark": mark},
                                         headers={HEALTH_HEADER: health} if health else None)
        result.requests += 1
        result.bytes_down += len(response.content)
        self._check(response)
        if health and (why := response.headers.get(HEALTH_HEADER + "-Ignored")):
            log.warning("the cloud ignored this appliance's health: %s", why)
        state = decode(response.content, State)
        self._anchor(state.cloud_time, (started + time.monotonic()) / 2)
        midway = sent_at + (self.clock.now() - sent_at) / 2
        self.clock_offset_ms = round((midway - datetime.fromisoformat(state.cloud_time)).total_seconds() * 1000)
        self._note(cloud_seq=state.last_seq)
        return state

    def _health(self) -> str | None:
        """The health header for this round's first request; none when it cannot be read (the sync goes on)."""
        if self.probe is None:
            return None
        try:
            return health_header(self.probe.collect(self.clock.now(), self.clock_offset_ms))
        except (sqlite3.Error, OSError, ValueError) as exc:
            log.warning("health not sent: %s: %s", type(exc).__name__, exc)
            return None

    async def _uplink(self, state: State, result: RoundResult) -> None:
        if state.last_seq is not None:  # the cloud has these, even if its answer never arrived (lost, or killed)
            self._acknowledged(state.last_seq)
        start = self._start(state.last_seq)
        for _ in range(MAX_PASSES):
            events = self._events(start)
            if not events:
                return
            body = encode(Batch(self._epoch(), self._lowest_seq(), events), compress=True)
            response = await self.client.post(
                f"{PREFIX}/events", content=body,
                headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
            )
            result.requests += 1
            result.bytes_up += len(body)
            result.bytes_down += len(response.content)
            if response.status_code == 409:  # not where the cloud stands (an older answer was lost): start over
                where = response.json()
                start = self._start(where.get("last_seq"))
                continue
            if await self._waited_turn(response, result):  # turned away: the same batch again at its turn
                continue
            self._check(response)
            ack = decode(response.content, Ack)
            self._acknowledged(ack.last_seq)
            result.sent += ack.applied
            result.duplicates += ack.duplicates
            result.dead += ack.dead
            start = ack.last_seq + 1
        raise SyncError("uplink did not finish in one round")

    async def _waited_turn(self, response: httpx.Response, result: RoundResult) -> bool:
        """A batch turned away (429) with the time of its turn: waits for it, when the round's patience allows,
        without a backoff of its own — the cloud computed the turn from its queue."""
        wait = _retry_after(response) if response.status_code == 429 else None
        if wait is None or result.waited + wait > self.busy_patience:
            return False
        await asyncio.sleep(wait)
        result.busy += 1
        result.waited += wait
        return True

    async def _upload_files(self, result: RoundResult) -> None:
        """Scanned PDFs whose records the cloud has: each file once, by its SHA-256."""
        rows = self.store.read.execute(
            "SELECT DISTINCT s.pdf_sha256, s.pdf_path FROM scans s JOIN outbox o ON o.entity = 'scan'"
            " AND o.entity_id = s.id AND o.op = 'ready' AND o.sent_at IS NOT NULL"
            " WHERE s.status = 'ready' AND s.pdf_sha256 IS NOT NULL"
            " AND s.pdf_sha256 NOT IN (SELECT sha256 FROM sync_uploads) LIMIT 50"
        ).fetchall()
        for sha256, relative in rows:
            path = self.data_dir / relative
            if not path.is_file():
                log.warning("scan file %s is gone; the visitor's portal account will not get it", relative)
                self._uploaded(sha256)
                continue
            size = path.stat().st_size  # sent in blocks: a 50-page scan is not held whole in the agent
            response = await self.client.put(f"{PREFIX}/files/{sha256}", content=_blocks(path),
                                             headers={"Content-Type": "application/pdf", "Content-Length": str(size)})
            result.requests += 1
            result.bytes_up += size
            self._check(response)
            self._uploaded(sha256)

    async def _upload_backup(self, result: RoundResult) -> None:
        """The newest good backup that `pst edge backup` wrote, once, for a replacement appliance (sync.restore).
        A failed upload does not fail the round: it is tried again after BACKUP_RETRY; one the cloud refuses
        for what it is (too large, unreadable) is not sent again."""
        marker = _backup_marker(self.data_dir)
        if marker is None or self._meta(BACKUP_SENT) == marker["at"] or time.monotonic() < self._backup_retry:
            return
        path = Path(marker["detail"])
        if not path.is_absolute():
            path = self.data_dir / "backups" / path.name
        if not path.is_file():
            log.warning("backup %s is gone; the cloud keeps the previous one", path)
            self._set_meta(BACKUP_SENT, marker["at"])
            return
        copy = None
        try:
            copy = await asyncio.to_thread(restore.cloud_copy, path)
            facts = await asyncio.to_thread(restore.backup_facts, copy)
            body = await asyncio.to_thread(restore.compressed, copy)
            response = await self.client.put(
                f"{PREFIX}/backup", content=body, headers={"Content-Type": "application/gzip"},
                params={"epoch": facts.epoch, "seq": facts.seq, "taken": marker["at"], "sha256": facts.sha256})
        except (OSError, sqlite3.Error, httpx.HTTPError) as exc:
            log.warning("backup not sent (tried again in %d min): %s: %s", BACKUP_RETRY // 60,
                        type(exc).__name__, exc)
            self._backup_retry = time.monotonic() + BACKUP_RETRY
            return
        finally:
            if copy is not None:
                copy.unlink(missing_ok=True)
        result.requests += 1
        result.bytes_up += len(body)
        if response.status_code == 201:
            log.info("backup %s sent to the cloud (%d bytes, %d compressed)", path.name, facts.size, len(body))
        elif 400 <= response.status_code < 500 and response.status_code not in (401, 408, 429):
            log.warning("the cloud refused backup %s: %s", path.name, _problem(response))
        else:
            log.warning("backup not sent (tried again in %d min): %d %s", BACKUP_RETRY // 60,
                        response.status_code, _problem(response))
            self._backup_retry = time.monotonic() + BACKUP_RETRY
            return
        self._set_meta(BACKUP_SENT, marker["at"])

    def _meta(self, key: str) -> str | None:
        row = self.store.read.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
        return row[0] if row else None

    def _set_meta(self, key: str, value: str) -> None:
        with self.store.write() as db:
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", [key, value])

    def _uploaded(self, sha256: str) -> None:
        with self.store.write() as db:
            db.execute("INSERT OR IGNORE INTO sync_uploads (sha256, uploaded_at) VALUES (?, ?)",
                       [sha256, iso(self.clock.now())])

    # --- the appliance's side of the cursors ---

    def _epoch(self) -> str:
        return outbox.epoch(self.store.read)

    def _downlink_after(self) -> tuple[int, str]:
        after, mark = self.store.read.execute(
            "SELECT downlink_after, downlink_mark FROM sync_state WHERE id = 1").fetchone()
        return after, mark or ""

    def _lowest_seq(self) -> int:
        row = self.store.read.execute("SELECT min(seq) FROM outbox").fetchone()
        return row[0] or 1

    def _start(self, cloud_seq: int | None) -> int:
        return self._lowest_seq() if cloud_seq is None else cloud_seq + 1

    def _diverged(self, state: State) -> bool:
        """The cloud knows this epoch further than this database does, or knows a different event at its cursor:
        this database was restored from a backup. Its new events must not take sequence numbers the cloud has
        already seen, so it continues under a new epoch (the cloud skips what it already has by event id)."""
        if state.last_seq is None:
            return False
        db = self.store.read
        row = db.execute("SELECT event_id FROM outbox WHERE seq = ?", [state.last_seq]).fetchone()
        if row is not None:
            return row[0] != state.last_event_id
        # the highest sequence number this database ever gave (AUTOINCREMENT's high-water mark, kept across purges)
        issued = db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'").fetchone()
        return state.last_seq > (issued[0] if issued else 0)  # (a purged acknowledged row is fine)

    def _rotate_epoch(self) -> None:
        epoch = new_id()
        with self.store.write() as db:
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('epoch', ?)", [epoch])
            db.execute("UPDATE outbox SET sent_at = NULL")
        log.warning("this database went back in time (restored?): continuing as epoch %s", epoch)

    def _events(self, start: int) -> list[Event]:
        rows = self.store.read.execute(
            "SELECT seq, event_id, entity, entity_id, op, payload, created_at, hlc, clock_flag, boot_id, mono"
            " FROM outbox WHERE seq >= ? ORDER BY seq LIMIT ?", [start, self.batch],
        ).fetchall()
        anchors = dict(
            (boot, (mono, cloud)) for boot, mono, cloud in
            self.store.read.execute("SELECT boot_id, mono, cloud_time FROM sync_anchors").fetchall()
        )
        events = []
        for seq, event_id, entity, entity_id, op, payload, created_at, stamp, flag, boot, mono in rows:
            if events and seq != events[-1].seq + 1:
                break  # a hole (rows purged in between): the cloud decides where to go on
            events.append(Event(event_id, seq, entity, entity_id, op, json.loads(payload), created_at, stamp, flag,
                                _corrected(flag, boot, mono, anchors, stamp)))
        return events

    def _acknowledged(self, last_seq: int) -> None:
        with self.store.write() as db:
            db.execute("UPDATE outbox SET sent_at = ? WHERE seq <= ? AND sent_at IS NULL",
                       [iso(self.clock.now()), last_seq])
            db.execute("UPDATE sync_state SET cloud_seq = ? WHERE id = 1", [last_seq])

    def _purge(self) -> None:
        cloud_seq = self.store.read.execute("SELECT cloud_seq FROM sync_state WHERE id = 1").fetchone()[0]
        if cloud_seq is None:
            return
        with self.store.write() as db:
            # the row at the cloud's cursor stays: it is how a database restored from a backup is recognised
            db.execute("DELETE FROM outbox WHERE sent_at IS NOT NULL AND sent_at < ? AND seq < ?",
                       [iso(self.clock.now() - RETAIN), cloud_seq])

    def _anchor(self, cloud_time: str, mono: float) -> None:
        with self.store.write() as db:
            db.execute("INSERT OR REPLACE INTO sync_anchors (boot_id, mono, cloud_time) VALUES (?, ?, ?)",
                       [hlc.boot_id(), mono, cloud_time])

    def _apply_changes(self, state: State) -> None:
        if not state.changes:
            return
        with self.store.write() as db:
            publications = [c for c in state.changes if c.entity == "publication"]
            apply_publications(db, publications, self.clock.now())
            erased_files = []
            for change in state.changes:
                if change.entity == "erasure" and change.data is not None:  # a person's erasure (edge.privacy)
                    erased_files += edge_privacy.erase_by_digest(db, change.data.get("salt", ""),
                                                                 change.data.get("digest", ""), self.clock.now())[1]
                if change.entity == "softcopy_request" and change.data is not None:
                    db.execute(
                        "UPDATE softcopy_requests SET status = ?, reason = ?, status_at = ? WHERE id = ?",
                        [change.data.get("status"), change.data.get("reason"), change.data.get("at"),
                         change.entity_id],
                    )
            last = state.changes[-1]
            db.execute("UPDATE sync_state SET downlink_after = ?, downlink_mark = ? WHERE id = 1",
                       [last.seq, last.mark])
        for relative in erased_files:  # after the commit: an erasure rolled back keeps its files
            (self.data_dir / relative).unlink(missing_ok=True)

    # --- bookkeeping ---

    def _note(self, **fields: Any) -> None:
        assignments = ", ".join(f"{k} = ?" for k in fields)
        with self.store.write() as db:
            db.execute(f"UPDATE sync_state SET {assignments} WHERE id = 1", list(fields.values()))

    def _failed(self, message: str) -> None:
        with self.store.write() as db:
            db.execute("UPDATE sync_state SET last_error = ?, last_error_at = ?, failures = failures + 1"
                       " WHERE id = 1", [message[:300], iso(self.clock.now())])

    def _check(self, response: httpx.Response) -> None:
        if response.status_code < 300:
            return
        wait = _retry_after(response)
        permanent = response.status_code in (400, 401, 403)
        raise SyncError(f"{response.status_code}: {_problem(response)}", wait, permanent)

    # --- the loop ---

    async def run(self, interval: float, stop: asyncio.Event, on_round: Callable[[], None] | None = None) -> None:
        """Rounds every `interval` seconds; after failures, exponential backoff with full jitter (or the cloud's
        Retry-After). Runs until `stop` is set."""
        failures = 0
        while not stop.is_set():
            try:
                await self.round()
                failures, delay = 0, interval
            except SyncError as exc:
                failures += 1
                delay = exc.retry_after if exc.retry_after is not None else backoff(failures)
                log.warning("sync round failed (%d in a row): %s; next in %.1f s", failures, exc, delay)
            except Exception:  # never let the loop die quietly: record it and try again later
                failures += 1
                delay = backoff(failures)
                log.exception("sync round crashed; next in %.1f s", delay)
                self._failed("internal error (see the agent's log)")
            self._note(next_attempt_at=iso(self.clock.now() + timedelta(seconds=delay)))
            if on_round:
                on_round()
            try:
                await asyncio.wait_for(stop.wait(), timeout=delay)
            except TimeoutError:
                pass


def _backup_marker(data_dir: Path) -> dict | None:
    """The last `pst edge backup`, when it passed (edge.health writes the marker whatever the outcome)."""
    try:
        marker = json.loads((data_dir / "backups" / BACKUP_MARKER).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(marker, dict) or marker.get("ok") is not True or not marker.get("detail"):
        return None
    return marker


def backoff(failures: int, base: float = BASE_DELAY, cap: float = MAX_DELAY) -> float:
    """Full jitter: uniform in [0, min(cap, base·2^(n-1))] — a fleet that failed together spreads out."""
    return random.uniform(0, min(cap, base * 2 ** max(failures - 1, 0)))


def apply_publications(db, changes: list, now: datetime) -> None:
    """Catalogue changes from the cloud into the reading room's catalogue, in the caller's transaction. The cloud
    does not know shelves: location, shelf and copies stay as the office set them."""
    rows = [c.data for c in changes if c.data is not None]
    if rows:
        edge_catalogue.apply_cloud_rows(db, [r | {"cloud_id": c.entity_id} for c, r in
                                             zip([c for c in changes if c.data is not None], rows)], now)
    for change in changes:
        if change.data is None:
            edge_catalogue.remove_cloud_row(db, change.entity_id)


def status(store: EdgeStore) -> dict:
    """Backlog and the last round, for `pst sync status`, the console and `GET /api/sync`."""
    db = store.read
    pending = db.execute("SELECT count(*) FROM outbox WHERE sent_at IS NULL").fetchone()[0]
    row = db.execute(
        "SELECT last_success_at, last_error, last_error_at, last_attempt_at, failures, next_attempt_at, cloud_seq,"
        " downlink_after FROM sync_state WHERE id = 1"
    ).fetchone()
    keys = ("last_success_at", "last_error", "last_error_at", "last_attempt_at", "failures", "next_attempt_at",
            "cloud_seq", "downlink_after")
    flagged = db.execute("SELECT count(*) FROM outbox WHERE clock_flag IS NOT NULL AND sent_at IS NULL").fetchone()[0]
    return {"pending": pending, "clock_flagged_pending": flagged} | dict(zip(keys, row))


def _corrected(flag: str | None, boot: str | None, mono: float | None, anchors: dict, stamp: str | None) -> str | None:
    """The cloud-clock time of an event made while the wall clock was unset: from a later (or earlier) answer of
    the cloud in the same boot, by the monotonic clock; else the HLC's wall time, which keeps the order."""
    if not flag:
        return None
    if boot in anchors and mono is not None:
        anchor_mono, cloud_time = anchors[boot]
        return iso(datetime.fromisoformat(cloud_time) - timedelta(seconds=anchor_mono - mono))
    if stamp:
        return iso(hlc.Stamp.parse(stamp).wall)
    return None


async def _blocks(path: Path, size: int = 64 * 1024):
    """A file's bytes, a block at a time, read off the event loop."""
    with path.open("rb") as handle:
        while block := await asyncio.to_thread(handle.read, size):
            yield block


def _retry_after(response: httpx.Response, now: datetime | None = None) -> float | None:
    """Seconds to wait from `Retry-After`: a number of seconds, fractions allowed (the cloud's back-pressure gives
    tenths and hundredths), or an HTTP date; kept within 0 … MAX_DELAY. None when absent or unreadable."""
    value = (response.headers.get("retry-after") or "").strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = (parsedate_to_datetime(value) - (now or datetime.now(UTC))).total_seconds()
        except (TypeError, ValueError, IndexError):
            return None
    if not math.isfinite(seconds):
        return MAX_DELAY if seconds > 0 else None
    return min(max(seconds, 0.0), MAX_DELAY)


def _problem(response: httpx.Response) -> str:
    try:
        return str(response.json().get("detail"))[:200]
    except ValueError:
        return response.text[:200]
