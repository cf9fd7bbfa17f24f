"""The appliance's SQLite store: durable pragmas on every open, one writer, online backup and restore; a full or
failing disk and a damaged file turn writes into refusals (`StoreUnavailable`), never half-done ones.

Acknowledged means committed with `synchronous=FULL` in WAL mode: a power cut after the answer loses nothing.
Writes go through one connection behind one lock (BEGIN IMMEDIATE, so a second process waits on
`busy_timeout` instead of failing); reads use a connection per thread.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TypeVar

from sqlite_utils import Database

from edge.i18n import N_

BUSY_TIMEOUT_MS = 10_000
SPACE_MARGIN = 1 << 20  # bytes free on the data folder's file system before a full disk counts as fixed
MESSAGES = {
    "full": N_("Penyimpanan appliance penuh; data baru tidak dapat disimpan. Hubungi teknisi."),
    "io": N_("Penyimpanan appliance bermasalah (galat baca/tulis disk); data baru tidak dapat disimpan."
             " Hubungi teknisi."),
    "damaged": N_("Basis data appliance rusak: pemeriksaan integritas gagal. Data baru tidak disimpan agar kerusakan"
                  " tidak bertambah. Teknisi: hentikan layanan lalu jalankan `pst edge restore`."),
}
T = TypeVar("T")


def prune_backups(folder: str | Path, keep_days: int, keep: Path | None = None, now: float | None = None) -> list[Path]:
    """Deletes the `edge-*.db` copies in `folder` last written more than `keep_days` days ago, never `keep`."""
    cutoff = (time.time() if now is None else now) - keep_days * 86_400
    gone = []
    for copy in sorted(Path(folder).glob("edge-*.db")):
        if copy != keep and copy.stat().st_mtime < cutoff:
            copy.unlink(missing_ok=True)
            gone.append(copy)
    return gone


def check_file(path: str | Path) -> str:
    """`PRAGMA integrity_check` of a file opened read-only (looking at a backup never changes it)."""
    try:
        conn = sqlite3.connect(f"file:{Path(path).resolve()}?mode=ro", uri=True)
        try:
            return "\n".join(str(row[0]) for row in conn.execute("PRAGMA integrity_check").fetchall())
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        return str(exc)


def newest_good_backup(folder: str | Path) -> tuple[Path | None, list[tuple[Path, str]]]:
    """The newest `edge-*.db` copy in `folder` that passes the integrity check, and the newer ones that did not
    (with what the check said)."""
    copies = sorted(Path(folder).glob("edge-*.db"), key=lambda p: (p.stat().st_mtime, p.name), reverse=True)
    bad = []
    for copy in copies:
        result = check_file(copy)
        if result == "ok":
            return copy, bad
        bad.append((copy, result.splitlines()[0]))
    return None, bad


def restore_backup(db_path: Path, backup: Path, stamp: str) -> Path | None:
    """Replaces the database with a checked copy of `backup`. The file it replaces (with its -wal and -shm, which
    must not meet the new file) is kept beside it as `<name>.damaged-<stamp>`; answers where, if there was one."""
    partial = db_path.with_name(db_path.name + ".restoring")
    shutil.copyfile(backup, partial)
    with partial.open("rb+") as copied:
        os.fsync(copied.fileno())
    result = check_file(partial)
    if result != "ok":
        partial.unlink(missing_ok=True)
        raise StoreCorrupt(f"{backup}: the copy failed its integrity check ({result.splitlines()[0]}); not restored")
    aside = db_path.with_name(f"{db_path.name}.damaged-{stamp}")
    for suffix in ("", "-wal", "-shm"):
        old = Path(f"{db_path}{suffix}")
        if old.exists():
            os.replace(old, Path(f"{aside}{suffix}"))
    os.replace(partial, db_path)
    folder = os.open(db_path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)  # the rename itself survives a power cut
    finally:
        os.close(folder)
    return aside if aside.exists() else None


@contextmanager
def serve_lock(data_dir: Path) -> Iterator[bool]:
    """An exclusive lock on `<data_dir>/edge-serve.lock`, held by `pst edge serve` while it runs and by `pst edge
    restore`; yields False when another process holds it. The kernel lets go however the holder ends (SIGKILL too)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    with (data_dir / "edge-serve.lock").open("a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True


class StoreCorrupt(RuntimeError):
    """`PRAGMA integrity_check` did not answer ok: the appliance must not write to this file."""


class StoreUnavailable(RuntimeError):
    """A write refused because the disk is full (`state` "full"), failing ("io") or the file damaged ("damaged");
    `message` is the Indonesian text staff and visitors see."""

    def __init__(self, state: str):
        super().__init__(MESSAGES[state])
        self.state, self.message = state, MESSAGES[state]


def disk_fault(exc: sqlite3.Error) -> str | None:
    """The store state an SQLite error means: "full", "io", "damaged", or None for any other error."""
    code = getattr(exc, "sqlite_errorcode", 0) & 0xFF  # the primary code of an extended one
    return {sqlite3.SQLITE_FULL: "full", sqlite3.SQLITE_IOERR: "io", sqlite3.SQLITE_CORRUPT: "damaged",
            sqlite3.SQLITE_NOTADB: "damaged"}.get(code)


def connect(path: str | Path) -> Database:
    """Open the file with the pragmas the appliance relies on (they are per connection, except WAL)."""
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA foreign_keys = ON")
    return Database(conn)


class EdgeStore:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._writer = connect(self.path)
        except sqlite3.DatabaseError as exc:
            raise StoreCorrupt(f"{self.path}: not a usable SQLite database ({exc})") from exc
        self._write_lock = threading.RLock()
        self._on_commit: list[Callable[[], None]] = []  # owned by the thread holding the write lock
        self.damaged: str | None = None  # what the integrity check said, when it failed: no more writes
        # "full" or "io" since a write failed on the disk, and since when; the next write that commits clears both
        self.fault: str | None = None
        self.fault_since: float | None = None
        self._local = threading.local()
        self._readers: list[Database] = []
        self._readers_lock = threading.Lock()

    @contextmanager
    def write(self) -> Iterator[Database]:
        """One transaction on the single write connection; commits on exit, rolls back on error."""
        with self._write_lock:
            conn = self._writer.conn
            if conn.in_transaction:  # nested use joins the outer transaction
                yield self._writer
                return
            if self.damaged:  # writing to a damaged file spreads the damage
                raise StoreUnavailable("damaged")
            try:
                conn.execute("BEGIN IMMEDIATE")
                yield self._writer
                conn.execute("COMMIT")
            except BaseException as exc:
                self._on_commit.clear()  # what was to follow the commit never happened
                if conn.in_transaction:  # SQLite may have rolled back already (a full disk, an I/O error)
                    with suppress(sqlite3.Error):  # a rollback that fails must not hide why
                        conn.execute("ROLLBACK")
                state = disk_fault(exc) if isinstance(exc, sqlite3.Error) else None
                if state is None:
                    raise
                self.refuse(state)
                raise StoreUnavailable(state) from exc
            if self.fault:
                self.fault = self.fault_since = None
            pending, self._on_commit = self._on_commit, []
        for callback in pending:
            callback()

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Runs `callback` once the outermost transaction of this thread has committed (now, when none is open);
        never when it rolls back. Announcements go through here, so a board or a phone woken by one reads the
        committed state even when the act is part of a larger transaction (an audited staff act)."""
        with self._write_lock:
            if self._writer.conn.in_transaction:
                self._on_commit.append(callback)
                return
        callback()

    def refuse(self, state: str) -> None:
        """Note a disk fault or damage found by a write or a read: writes are refused until it is fixed."""
        if state == "damaged":
            self.damaged = self.damaged or "database disk image is malformed (found while writing)"
        elif self.fault != state:
            self.fault, self.fault_since = state, time.time()

    @property
    def state(self) -> str:
        """"ok", "full" or "io" (the last write failed on the disk), or "damaged" (the integrity check failed)."""
        return "damaged" if self.damaged else self.fault or "ok"

    def recheck_space(self) -> None:
        """After a full disk: room again on the data folder's file system counts as fixed (the next write that
        fails says otherwise), so the appliance recovers by itself when space returns."""
        if self.fault == "full" and shutil.disk_usage(self.path.parent).free >= SPACE_MARGIN:
            self.fault = self.fault_since = None

    @contextmanager
    def writer(self) -> Iterator[Database]:
        """The write connection without a transaction, for work that manages its own (migrations)."""
        with self._write_lock:
            yield self._writer

    def run_write(self, fn: Callable[[Database], T]) -> T:
        with self.write() as db:
            return fn(db)

    @property
    def read(self) -> Database:
        """This thread's read connection (WAL readers never block the writer)."""
        db = getattr(self._local, "db", None)
        if db is None:
            db = connect(self.path)
            self._local.db = db
            with self._readers_lock:
                self._readers.append(db)
        return db

    def integrity_check(self) -> str:
        try:
            rows = self._writer.execute("PRAGMA integrity_check").fetchall()
        except sqlite3.DatabaseError as exc:  # damage bad enough that the check itself cannot run
            return str(exc)
        return "\n".join(str(r[0]) for r in rows)

    def check_at_start(self, quick: bool = True) -> str:
        """`PRAGMA quick_check` (or the full integrity check): when it fails the store refuses every write from now
        on, and the appliance says so instead of refusing to start. Answers what the check said."""
        pragma = "quick_check" if quick else "integrity_check"
        try:
            result = "\n".join(str(r[0]) for r in self._writer.execute(f"PRAGMA {pragma}").fetchall())
        except sqlite3.DatabaseError as exc:
            result = str(exc)
        self.damaged = None if result == "ok" else result
        return result

    def ensure_sound(self) -> None:
        result = self.integrity_check()
        if result != "ok":
            raise StoreCorrupt(
                f"{self.path}: integrity check failed ({result.splitlines()[0]}); "
                "restore the latest good backup: `pst edge restore`"
            )

    def backup(self, dest: str | Path) -> Path:
        """A consistent copy taken while the appliance runs (SQLite's online backup API)."""
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        partial = dest.with_name(dest.name + ".partial")
        target = sqlite3.connect(str(partial))
        try:
            with self._write_lock:
                self._writer.conn.backup(target)
            target.execute("PRAGMA journal_mode = DELETE")
            result = target.execute("PRAGMA integrity_check").fetchone()[0]
        finally:
            target.close()
        if result != "ok":
            partial.unlink(missing_ok=True)
            raise StoreCorrupt(f"backup {dest} failed its integrity check: {result}")
        partial.replace(dest)
        return dest

    def close(self) -> None:
        with self._readers_lock:
            for db in self._readers:
                db.conn.close()
            self._readers.clear()
        with self._write_lock:
            self._writer.conn.close()
