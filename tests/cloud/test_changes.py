"""The downlink's journal numbers changes in commit order: a reader's cursor can never pass a change that is still
being written (the classic way a change feed skips rows committed out of order)."""

from __future__ import annotations

import asyncio

import pytest

from cloud.changes import record_change
from cloud.db import Database
from cloud.migrations import migrate


def test_a_change_numbered_later_waits_for_the_earlier_to_commit(database):
    async def scenario() -> tuple[list, bool, list]:
        first, second, reader = Database(database), Database(database), Database(database)
        for db in (first, second, reader):
            await db.start()
        await migrate(first)
        numbered, release = asyncio.Event(), asyncio.Event()

        async def slow_writer():
            async with first.transaction():
                await record_change(first, "publication", "p-slow", None)
                numbered.set()
                await release.wait()  # a long catalogue import, still open

        async def quick_writer():
            async with second.transaction():
                await record_change(second, "publication", "p-quick", None)

        slow = asyncio.create_task(slow_writer())
        await numbered.wait()
        quick = asyncio.create_task(quick_writer())
        await asyncio.sleep(0.5)
        seen_meanwhile = await reader.execute("SELECT seq, entity_id FROM changes ORDER BY seq")
        quick_waited = not quick.done()
        release.set()
        await slow
        await quick
        final = await reader.execute("SELECT seq, entity_id FROM changes ORDER BY seq")
        for db in (first, second, reader):
            await db.stop()
        return seen_meanwhile, quick_waited, final

    seen_meanwhile, quick_waited, final = asyncio.run(scenario())
    assert seen_meanwhile == []  # nothing a cursor could step over
    assert quick_waited
    assert [(r["seq"], r["entity_id"]) for r in final] == [(1, "p-slow"), (2, "p-quick")]


def test_a_change_is_journaled_only_inside_its_write(database):
    async def scenario():
        db = Database(database)
        await db.start()
        await migrate(db)
        try:
            with pytest.raises(RuntimeError):
                await record_change(db, "publication", "p", None)
            try:
                async with db.transaction():
                    await record_change(db, "publication", "p", None)
                    raise ValueError("the write failed")
            except ValueError:
                pass
            return await db.execute("SELECT count(*) AS n FROM changes")
        finally:
            await db.stop()

    assert asyncio.run(scenario())[0]["n"] == 0  # rolled back with the write
