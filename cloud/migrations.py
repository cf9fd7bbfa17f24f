"""The cloud schema as numbered migrations, each applied once, in order, in one transaction, on either engine.

A migration is a list of statements; a statement is one SQL text both engines accept, or a dict
`{"sqlite": ..., "postgresql": ...}` where they differ (full-text search will). Landed migrations are never edited.
On PostgreSQL an advisory lock makes workers starting together apply each migration once.
"""

from __future__ import annotations

from collections.abc import Callable

from cloud.db import Database
from pst.clock import Clock, SystemClock

Statement = str | dict[str, str]
MIGRATIONS: list[tuple[str, Callable[[], list[Statement]]]] = []
_LOCK_ID = 7_400_100  # any constant; only this program takes it


def migration(fn: Callable[[], list[Statement]]) -> Callable[[], list[Statement]]:
    MIGRATIONS.append((fn.__name__, fn))
    return fn


@migration
def m001_accounts() -> list[Statement]:
    return [
        """CREATE TABLE offices (
            id VARCHAR(36) PRIMARY KEY,
            code VARCHAR(8) NOT NULL UNIQUE,
            name VARCHAR(200) NOT NULL,
            created_at TIMESTAMPTZ NOT NULL)""",
        """CREATE TABLE devices (
            id VARCHAR(36) PRIMARY KEY,
            office_id VARCHAR(36) NOT NULL REFERENCES offices (id) ON DELETE CASCADE,
            name VARCHAR(100) NOT NULL,
            key_hash VARCHAR(64) UNIQUE,
            enrolled_at TIMESTAMPTZ,
            created_at TIMESTAMPTZ NOT NULL)""",
        "CREATE INDEX devices_office ON devices (office_id)",
        """CREATE TABLE accounts (
            id VARCHAR(36) PRIMARY KEY,
            email VARCHAR(254) NOT NULL UNIQUE CHECK (email = lower(email)),
            name VARCHAR(200) NOT NULL,
            password_hash VARCHAR(200) NOT NULL,
            role VARCHAR(8) NOT NULL DEFAULT 'reader' CHECK (role IN ('reader', 'staff', 'admin')),
            verified_at TIMESTAMPTZ,
            created_at TIMESTAMPTZ NOT NULL)""",
        """CREATE TABLE account_tokens (
            id VARCHAR(36) PRIMARY KEY,
            account_id VARCHAR(36) NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
            kind VARCHAR(8) NOT NULL CHECK (kind IN ('verify', 'reset')),
            token_hash VARCHAR(64) NOT NULL UNIQUE,
            expires_at TIMESTAMPTZ NOT NULL,
            used_at TIMESTAMPTZ,
            created_at TIMESTAMPTZ NOT NULL)""",
        "CREATE INDEX account_tokens_account ON account_tokens (account_id)",
        """CREATE TABLE sessions (
            id VARCHAR(64) PRIMARY KEY,
            account_id VARCHAR(36) NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
            created_at TIMESTAMPTZ NOT NULL,
            expires_at TIMESTAMPTZ NOT NULL)""",
        "CREATE INDEX sessions_account ON sessions (account_id)",
        "CREATE INDEX sessions_expires ON sessions (expires_at)",
        """CREATE TABLE login_attempts (
            id VARCHAR(36) PRIMARY KEY,
            email VARCHAR(254) NOT NULL,
            at TIMESTAMPTZ NOT NULL)""",
        "CREATE INDEX login_attempts_email_at ON login_attempts (email, at)",
    ]


async def migrate(db: Database, clock: Clock | None = None) -> list[str]:
    """Apply what is missing; returns the names applied (none when up to date). Safe to run again, and at once."""
    clock = clock or SystemClock()
    if db.kind == "sqlite" and (await db.execute("PRAGMA journal_mode"))[0]["journal_mode"] != "wal":
        await db.execute("PRAGMA journal_mode = WAL")  # persists in the file; readers never wait for the writer
    async with db.transaction():
        await _lock(db)
        await db.run_ddl(
            "CREATE TABLE IF NOT EXISTS cloud_migrations (name VARCHAR(100) PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL)"
        )
    applied = []
    for name, statements in MIGRATIONS:
        async with db.transaction():
            await _lock(db)
            if await db.execute("SELECT 1 AS done FROM cloud_migrations WHERE name = {}", name):
                continue
            for statement in statements():
                await db.run_ddl(statement[db.kind] if isinstance(statement, dict) else statement)
            await db.execute("INSERT INTO cloud_migrations (name, applied_at) VALUES ({}, {})", name, clock.now())
        applied.append(name)
    return applied


async def _lock(db: Database) -> None:
    """On PostgreSQL, one migrating transaction at a time (SQLite's BEGIN IMMEDIATE already is)."""
    if db.kind == "postgresql":
        await db.execute("SELECT pg_advisory_xact_lock({})", _LOCK_ID)
