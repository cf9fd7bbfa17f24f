"""The demo catalogue: about 60 Indonesian editions, most with a generated PDF, the same on every machine, seeded
once through the ordinary import and never over a real catalogue."""

from __future__ import annotations

import asyncio
import hashlib

import pymupdf

from cloud.db import Database
from cloud.demo_catalogue import demo_rows, seed_demo_catalogue, write_demo_pdf
from cloud.migrations import migrate


def test_the_demo_is_the_same_every_time(tmp_path):
    rows = demo_rows()
    assert rows == demo_rows() and 55 <= len(rows) <= 65
    assert len({(r["catalogue_number"], r["year"]) for r in rows}) == len(rows)
    row = next(r for r in rows if r["file"])
    write_demo_pdf(tmp_path / "a.pdf", row)
    write_demo_pdf(tmp_path / "b.pdf", row)
    assert hashlib.sha256((tmp_path / "a.pdf").read_bytes()).digest() == hashlib.sha256((tmp_path / "b.pdf").read_bytes()).digest()
    with pymupdf.open(tmp_path / "a.pdf") as doc:
        assert doc.page_count == 4 and row["title"] in " ".join(doc[0].get_text().split())


def test_seeding_fills_an_empty_catalogue_once(database, clock, tmp_path):
    async def seed_twice():
        db = Database(database)
        await db.start()
        try:
            await migrate(db)
            first = await seed_demo_catalogue(db, clock, tmp_path / "var")
            second = await seed_demo_catalogue(db, clock, tmp_path / "var")
            files = (await db.execute("SELECT count(*) AS n FROM softcopy_files"))[0]["n"]
        finally:
            await db.stop()
        return first, second, files

    first, second, files = asyncio.run(seed_twice())
    assert first == {"added": len(demo_rows()), "updated": 0, "unchanged": 0} and second is None
    assert files == sum(1 for r in demo_rows() if r["file"])
