"""The database the settings name: a Piccolo engine (SQLiteEngine or PostgresEngine) bound to the cloud's tables.

SQLite opens a connection per query (Piccolo's way) with a busy timeout; PostgreSQL runs a connection pool that the
app starts and stops in its lifespan, on the event loop that serves the requests.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
import warnings
from datetime import datetime, timezone
from urllib.parse import unquote, urlsplit

import asyncpg
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType

from cloud.settings import database_kind
from cloud.tables import TABLES


class Database:
    def __init__(self, url: str, pool_size: int = 10):
        self.url = url
        self.kind = database_kind(url)
        self.pool_size = pool_size
        if self.kind == "sqlite":
            path = Path(unquote(url[len("sqlite:///"):]))
            path.parent.mkdir(parents=True, exist_ok=True)  # a fresh data folder: the first command makes it
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

    def transaction(self):
        """A write transaction; on SQLite it takes the write lock at once, so two writers never deadlock."""
        if self.kind == "sqlite":
            return self.engine.transaction(transaction_type=TransactionType.immediate)
        return self.engine.transaction()

    async def execute(self, sql: str, *args) -> list[dict]:
        """Plain SQL with `{}` placeholders, which Piccolo turns into each engine's own."""
        from piccolo.querystring import QueryString

        rows = await self.engine.run_querystring(QueryString(sql, *args))
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
