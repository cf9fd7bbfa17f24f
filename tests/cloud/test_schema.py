"""Migrations run unchanged on SQLite and PostgreSQL, are idempotent, and match the Piccolo tables column for column."""

from __future__ import annotations

import asyncio
import sqlite3

import asyncpg
import pytest

from cloud.db import Database
from cloud.migrations import MIGRATIONS, migrate
from cloud.tables import ENGINE_COLUMNS, TABLES

ALL = [name for name, _ in MIGRATIONS]


async def columns_of(db: Database, table: str) -> set[str]:
    if db.kind == "sqlite":
        rows = await db.execute(f"SELECT name FROM pragma_table_info('{table}')")
        return {row["name"] for row in rows}
    rows = await db.execute("SELECT column_name FROM information_schema.columns WHERE table_name = {}", table)
    return {row["column_name"] for row in rows}


def test_migrations_apply_once_then_report_up_to_date(database):
    async def twice():
        db = Database(database)
        return await migrate(db), await migrate(db)

    first, second = asyncio.run(twice())
    assert first == ALL and second == []


def test_every_piccolo_table_matches_the_migrated_schema(database):
    async def compare():
        db = Database(database)
        await migrate(db)
        for table in TABLES:
            expected = {column._meta.db_column_name for column in table._meta.columns}
            expected |= ENGINE_COLUMNS[db.kind].get(table._meta.tablename, set())
            assert await columns_of(db, table._meta.tablename) == expected, table._meta.tablename
            await table.select().limit(1)  # Piccolo reads it as declared

    asyncio.run(compare())


def test_workers_starting_together_apply_each_migration_once(database):
    async def together():
        return await asyncio.gather(*(migrate(Database(database)) for _ in range(3)))

    results = asyncio.run(together())
    assert sorted(name for applied in results for name in applied) == sorted(ALL)


def test_a_migration_that_fails_leaves_nothing_behind(database, monkeypatch):
    broken = [("m999_broken", lambda: ["CREATE TABLE half_done (id VARCHAR(36) PRIMARY KEY)", "NOT SQL AT ALL"])]
    monkeypatch.setattr("cloud.migrations.MIGRATIONS", MIGRATIONS + broken)

    async def attempt():
        db = Database(database)
        with pytest.raises((sqlite3.OperationalError, asyncpg.PostgresSyntaxError)):
            await migrate(db)
        return await columns_of(db, "half_done"), await db.execute("SELECT name FROM cloud_migrations")

    leftover, applied = asyncio.run(attempt())
    assert leftover == set() and [row["name"] for row in applied] == ALL
