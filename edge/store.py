"""The appliance's SQLite store: durable pragmas on every open, one writer, online backup.

Acknowledged means committed with `synchronous=FULL` in WAL mode: a power cut after the answer loses nothing.
Writes go through one connection behind one lock (BEGIN IMMEDIATE, so a second process waits on
`busy_timeout` instead of failing); reads use a connection per thread.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from sqlite_utils import Database

BUSY_TIMEOUT_MS = 10_000
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


class StoreCorrupt(RuntimeError):
    """`PRAGMA integrity_check` did not answer ok: the appliance must not write to this file."""


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
            raise StoreCorrupt(f"{self.path}: not a usable SQLite database ({exc}); restore the latest backup") from exc
        self._write_lock = threading.RLock()
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
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._writer
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

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

    def ensure_sound(self) -> None:
        result = self.integrity_check()
        if result != "ok":
            raise StoreCorrupt(
                f"{self.path}: integrity check failed ({result.splitlines()[0]}); "
                "restore the latest backup from the backups folder"
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
