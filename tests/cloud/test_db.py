"""The portal's database layer on SQLite: its file kept private, and the SELECTs outside a transaction on the reader
threads' kept connections seeing exactly what is committed."""

from __future__ import annotations

import asyncio
import contextvars
import stat

from cloud.db import Database
from cloud.migrations import migrate


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_database_file_is_its_owner_s_alone_whatever_the_umask(tmp_path):
    import os

    async def scenario() -> dict:
        db = Database(f"sqlite:///{tmp_path / 'baru' / 'cloud.db'}")
        await migrate(db)
        await db.execute("INSERT INTO offices (id, code, name, created_at) VALUES ('a', '7400', 'BPS', '2026')")
        await db.execute("SELECT code FROM offices")  # a reader's connection stays open: the WAL stays
        files = {f.name: mode(f) for f in (tmp_path / "baru").iterdir()}
        await db.stop()
        return files

    old = os.umask(0o022)
    try:
        files = asyncio.run(scenario())
    finally:
        os.umask(old)
    assert files == {"cloud.db": 0o600, "cloud.db-shm": 0o600, "cloud.db-wal": 0o600}

    (tmp_path / "lama.db").touch(mode=0o644)
    (tmp_path / "lama.db").chmod(0o644)
    Database(f"sqlite:///{tmp_path / 'lama.db'}")
    assert mode(tmp_path / "lama.db") == 0o600


def test_reads_see_what_is_committed_and_a_transaction_its_own_writes(tmp_path):
    async def scenario() -> None:
        db = Database(f"sqlite:///{tmp_path / 'cloud.db'}")
        await migrate(db)
        insert = "INSERT INTO offices (id, code, name, created_at) VALUES ({}, {}, {}, '2026-12-01')"
        codes = "SELECT code FROM offices ORDER BY code"
        await db.execute(insert, "a", "7400", "BPS Provinsi")
        assert await db.execute(codes) == [{"code": "7400"}]
        async with db.transaction():
            await db.execute(insert, "b", "7471", "BPS Kota Kendari")
            assert len(await db.execute(codes)) == 2  # its own write, on its own connection
            elsewhere = [asyncio.create_task(db.execute(codes), context=contextvars.Context()) for _ in range(8)]
            assert all(len(rows) == 1 for rows in await asyncio.gather(*elsewhere))  # outside it: committed only
        assert [row["code"] for row in await db.execute(codes)] == ["7400", "7471"]
        await db.stop()  # the readers' connections closed; the database serves again after
        assert len(await db.execute(codes)) == 2
        await db.stop()

    asyncio.run(scenario())
