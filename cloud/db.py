"""The database the settings name: a Piccolo engine (SQLiteEngine or PostgresEngine) bound to the cloud's tables.

On SQLite, Piccolo opens a connection (in a thread of its own) for every statement outside a transaction, with a
busy timeout; a SELECT outside a transaction instead runs on a connection kept open by a few reader threads
(`_Readers`: WAL lets them read beside the writer, each statement sees what was committed before it), which takes a
tenth of the time. PostgreSQL runs a connection pool that the app starts and stops in its lifespan, on the event loop
that serves the requests.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
import warnings
from datetime import datetime, timezone
from urllib.parse import unquote, urlsplit

import asyncpg
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType

from cloud.settings import database_kind
from cloud.tables import TABLES
from pst.privacy import private_file


class Database:
    def __init__(self, url: str, pool_size: int = 10):
        self.url = url
        self.kind = database_kind(url)
        self.pool_size = pool_size
        self._readers: _Readers | None = None
        if self.kind == "sqlite":
            path = Path(unquote(url[len("sqlite:///"):]))
            path.parent.mkdir(parents=True, exist_ok=True)  # a fresh data folder: the first command makes it
            private_file(path)
            self.engine = SQLiteEngine(path=str(path), timeout=15)
        else:
            # Piccolo connects once here to read the server version and only warns when it cannot; the first query
            # then reports an unreachable server properly, so that warning is not repeated.
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=".*Unable to (fetch server version|connect)")
                # Custom plans always: a cached generic plan cannot see how many rows a full-text query matches and
                # picked plans several times slower for catalogue searches (bench/cloud_search.py).
                self.engine = PostgresEngine(config={
                    "dsn": "postgresql" + url[url.index(":"):],
                    "server_settings": {"plan_cache_mode": "force_custom_plan"},
                })
        for table in TABLES:  # Piccolo binds tables to one engine: one Database per process, the last one made
            table._meta.db = self.engine

    async def start(self) -> None:
        if self.kind == "postgresql":
            await self.engine.start_connection_pool(min_size=1, max_size=self.pool_size)

    async def stop(self) -> None:
        if self.kind == "postgresql":
            await self.engine.close_connection_pool()
        if self._readers is not None:
            readers, self._readers = self._readers, None
            await asyncio.to_thread(readers.close)

    def transaction(self):
        """A write transaction; on SQLite it takes the write lock at once, so two writers never deadlock."""
        if self.kind == "sqlite":
            return self.engine.transaction(transaction_type=TransactionType.immediate)
        return self.engine.transaction()

    async def execute(self, sql: str, *args) -> list[dict]:
        """Plain SQL with `{}` placeholders, which Piccolo turns into each engine's own."""
        from piccolo.querystring import QueryString

        query = QueryString(sql, *args)
        if self.kind == "sqlite" and sql.lstrip()[:6].upper() == "SELECT" and not self.engine.current_transaction.get():
            if self._readers is None:
                self._readers = _Readers(self.engine.connection_kwargs)
            return await self._readers.run(*query.compile_string(engine_type="sqlite"))
        rows = await self.engine.run_querystring(query)
        return [dict(row) for row in rows or []]

    async def run_ddl(self, ddl: str) -> None:
        await self.engine.run_ddl(ddl)

    @property
    def where(self) -> str:
        """The URL without its password, for messages."""
        parts = urlsplit(self.url)
        if parts.password:
            return self.url.replace(f":{parts.password}@", ":***@")
        return self.url


class _Readers:
    """SELECTs on SQLite connections kept open, one per reader thread, opened as Piccolo opens its own (autocommit,
    the same type detection; rows as dicts, made in one go rather than by a row factory)."""

    THREADS = 4

    def __init__(self, connection_kwargs: dict):
        self.connection_kwargs = connection_kwargs
        self.threads = ThreadPoolExecutor(max_workers=self.THREADS, thread_name_prefix="sqlite-reader")
        self.local = threading.local()
        self.opened: list[sqlite3.Connection] = []
        self.lock = threading.Lock()

    async def run(self, sql: str, args: list) -> list[dict]:
        return await asyncio.get_running_loop().run_in_executor(self.threads, self._read, sql, args)

    def _read(self, sql: str, args: list) -> list[dict]:
        connection = getattr(self.local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(**self.connection_kwargs, check_same_thread=False)
            self.local.connection = connection
            with self.lock:
                self.opened.append(connection)
        cursor = connection.execute(sql, args)
        try:
            rows = cursor.fetchall()  # read whole: no statement keeps an old snapshot open
        finally:
            cursor.close()
        names = [column[0] for column in cursor.description or ()]
        return [dict(zip(names, row)) for row in rows]

    def close(self) -> None:
        self.threads.shutdown(wait=True)
        with self.lock:
            for connection in self.opened:
                connection.close()
            self.opened.clear()


def is_unique_violation(exc: BaseException) -> bool:
    if isinstance(exc, asyncpg.exceptions.UniqueViolationError):
        return True
    return isinstance(exc, sqlite3.IntegrityError) and "UNIQUE" in str(exc)


def moment(value) -> datetime | None:
    """A TIMESTAMPTZ as either engine hands it back: a datetime (PostgreSQL) or ISO text (SQLite); aware, UTC when
    the text carries no offset."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace(" ", "T", 1) if "T" not in value else value)
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
