"""The appliance's side of a replacement (cloud.backups): its backups go up, a new SD card brings them back.

Up: after `pst edge backup` has written a good copy, the agent sends it in its next round (`PUT /sync/v1/backup`,
gzip-compressed, with the copy's epoch and highest outbox sequence, and the SHA-256 of the database).
Back: `pst edge restore` puts a backup in place (the latest from the cloud, or a file), then `catch_up` replays the
events the cloud's journal holds after it (edge.replay), page by page, each page in one transaction with its outbox
rows: the database then stands where the cloud stands — the cursor of the agent equals the cloud's, and queue
numbers go on from the last one issued. Until that is done the database is marked (`meta.restore_pending`): the agent
does not sync and the appliance does not start, since either would build on a past the cloud has moved beyond (the
agent would send the backup's events as a new epoch; the desk would issue today's numbers again).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx

from edge import outbox
from edge.store import EdgeStore
from pst.clock import Clock, SystemClock
from sync.protocol import PREFIX

RESTORE_PENDING = "restore_pending"  # meta key: a restored database not yet caught up with the cloud
CHUNK = 1 << 20


class RestoreError(Exception):
    pass


@dataclass(frozen=True)
class BackupFacts:
    epoch: str
    seq: int  # the highest outbox sequence the copy ever used
    sha256: str
    size: int


def backup_facts(path: Path) -> BackupFacts:
    """What the cloud stores beside a backup: read from the copy itself (opened read-only, never changed)."""
    db = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)
    try:
        epoch, seq = outbox.epoch(db), outbox.highest_seq(db)
    finally:
        db.close()
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return BackupFacts(epoch, seq, digest.hexdigest(), path.stat().st_size)


def cloud_copy(path: Path) -> Path:
    """The copy of a backup that goes to the cloud, beside it: without the appliance's key and the keyed hashes of
    the ID cards in the lockers. With both, a visitor's full ID number could be found by trying the possible numbers;
    the cloud needs neither (a card restored from it is checked by its last four characters, as the pages show it).
    Freed pages are overwritten and the file rebuilt, so nothing of either remains in it. Its name is hidden from
    the backups' `edge-*.db`: `pst edge restore` must never take it for the newest backup (it has no key), nor a
    copy left by a power cut while it was being made."""
    target = path.with_name(f".{path.stem}.for-cloud.db")
    shutil.copyfile(path, target)
    db = sqlite3.connect(target)
    try:
        db.execute("PRAGMA secure_delete = ON")
        db.execute("DELETE FROM meta WHERE key = 'secret_key'")
        db.execute("UPDATE locker_uses SET id_hash = '' WHERE id_hash != ''")
        db.commit()
        db.execute("VACUUM")
    except BaseException:
        db.close()
        target.unlink(missing_ok=True)
        raise
    db.close()
    return target


def keep_a_key(store: EdgeStore) -> bool:
    """A database restored from the cloud's copy has no key: it gets a new one (edge.appliance.secret_key reads it),
    which its next backups carry. True when one was made."""
    import secrets

    with store.write() as db:
        if db.execute("SELECT 1 FROM meta WHERE key = 'secret_key'").fetchone():
            return False
        db.execute("INSERT INTO meta (key, value) VALUES ('secret_key', ?)", [secrets.token_hex(32)])
        return True


def compressed(path: Path, level: int = 6) -> bytes:
    """The backup as it goes up. On a Pi a year's database compresses to a few megabytes in seconds."""
    with path.open("rb") as source:
        return gzip.compress(source.read(), compresslevel=level, mtime=0)


# --- a new SD card ---------------------------------------------------------------------------------------------------

def _client(cloud_url: str, credential: str, transport: httpx.BaseTransport | None) -> httpx.Client:
    return httpx.Client(base_url=cloud_url, transport=transport, timeout=httpx.Timeout(30, read=120),
                        headers={"Authorization": f"Bearer {credential}", "User-Agent": "pst-sync/1"})


def _refused(response: httpx.Response, what: str) -> RestoreError:
    try:
        detail = str(response.json().get("detail"))[:200]
    except ValueError:
        detail = response.text[:200]
    return RestoreError(f"{what}: the cloud answered {response.status_code} ({detail})")


@dataclass(frozen=True)
class Fetched:
    path: Path
    taken_at: datetime
    device_id: str
    size: int


def fetch_backup(cloud_url: str, credential: str, folder: Path, device: str | None = None,
                 transport: httpx.BaseTransport | None = None) -> Fetched:
    """The latest backup the cloud holds of this appliance (or of `device`, of the same office), written to
    `folder` as a database once its SHA-256 matches."""
    folder.mkdir(parents=True, exist_ok=True)
    with _client(cloud_url, credential, transport) as client:
        with client.stream("GET", f"{PREFIX}/backup", params={"device": device} if device else None) as response:
            if response.status_code != 200:
                response.read()
                raise _refused(response, "no backup fetched")
            taken = datetime.fromisoformat(response.headers["PST-Backup-Taken"])
            wanted, device_id = response.headers["PST-Backup-Sha256"], response.headers["PST-Backup-Device"]
            packed = folder / f"cloud-{taken:%Y%m%d-%H%M%S}.db.gz.part"
            with packed.open("wb") as out:
                for chunk in response.iter_bytes(CHUNK):
                    out.write(chunk)
    target = folder / f"cloud-{taken:%Y%m%d-%H%M%S}.db"
    partial = target.with_suffix(".db.part")
    try:
        digest = hashlib.sha256()
        with gzip.open(packed, "rb") as source, partial.open("wb") as out:
            while chunk := source.read(CHUNK):
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != wanted:
            raise RestoreError("the backup fetched from the cloud does not match its SHA-256; not restored")
        shutil.move(partial, target)
    except (OSError, EOFError) as exc:
        raise RestoreError(f"the backup fetched from the cloud cannot be read: {exc}") from None
    finally:
        packed.unlink(missing_ok=True)
        partial.unlink(missing_ok=True)
    return Fetched(target, taken, device_id, target.stat().st_size)


def mark_pending(store: EdgeStore, pending: bool) -> None:
    with store.write() as db:
        if pending:
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, '1')", [RESTORE_PENDING])
        else:
            db.execute("DELETE FROM meta WHERE key = ?", [RESTORE_PENDING])


def is_pending(db) -> bool:
    return db.execute("SELECT 1 FROM meta WHERE key = ?", [RESTORE_PENDING]).fetchone() is not None


def catch_up(store: EdgeStore, cloud_url: str, credential: str, device: str | None = None,
             transport: httpx.BaseTransport | None = None, clock: Clock | None = None,
             data_dir: Path | None = None) -> int:
    """Replays the cloud's journal after the database's highest sequence, for its epoch; returns the events
    replayed. Each page is one transaction, so an interruption leaves a database that a second call continues.
    Clears the pending mark at the end."""
    from edge.replay import replay

    clock = clock or SystemClock()
    replayed = 0
    with _client(cloud_url, credential, transport) as client:
        while True:
            db = store.read
            epoch, after = outbox.epoch(db), outbox.highest_seq(db)
            params = {"epoch": epoch, "after": after} | ({"device": device} if device else {})
            response = client.get(f"{PREFIX}/journal", params=params)
            if response.status_code != 200:
                raise _refused(response, "the records made after the backup could not be fetched")
            page = json.loads(response.content)
            if page["events"]:
                with store.write() as db:
                    result = replay(db, page["events"], clock.now(), epoch)
                for relative in result.erased_files:  # a scan of a person erased since the backup: after the commit
                    ((data_dir or Path(store.path).parent) / relative).unlink(missing_ok=True)
                replayed += len(page["events"])
            if not page["more"]:
                break
    mark_pending(store, False)
    return replayed
