"""Catalogue search over 100,000 generated publications: p50/p95 of `GET /api/publications?q=` on a real uvicorn
server on loopback, against the same searches called on the service in-process, and against the database alone.
SQLite by default; `--database postgresql://…` (an empty database) for PostgreSQL.

The database-alone baseline ("raw answer") is exactly the SQL the endpoint runs for its answer, taken from
`Catalogue.statements` and run on the bare driver (sqlite3 / asyncpg, no pool, no ORM, no HTTP): the statement that
counts the matches and makes the year, type and subject facets, then the page of 20 ranked items (skipped, as the
service skips it, when nothing matches). Its rows are fetched, not converted. The goal is HTTP p95 ≤ 3× the raw
answer's p95. For reference it also prints the page statement alone (the floor the goal was first stated against:
a search cannot answer without ranking its matches).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import sqlite3
import tempfile
import time
from datetime import UTC, datetime

import asyncpg
import httpx

from bench.harness import percentile, portal_in_thread
from cloud.catalogue import Catalogue, Query
from cloud.db import Database
from cloud.migrations import migrate
from cloud.tables import TABLES

SERIES = (("1102001", "{area} Dalam Angka", "Dalam Angka", "Kependudukan;Pemerintahan"),
          ("1101002", "Statistik Daerah {area}", "Statistik Daerah", "Pemerintahan"),
          ("4102004", "Indikator Kesejahteraan Rakyat {area}", "Publikasi Tematik", "Kemiskinan;Kesehatan;Pendidikan"),
          ("9302008", "Produk Domestik Regional Bruto {area} Menurut Lapangan Usaha", "Publikasi Tematik", "Neraca Regional"),
          ("2303003", "Keadaan Angkatan Kerja {area}", "Publikasi Tematik", "Ketenagakerjaan"),
          ("7102002", "Statistik Harga Konsumen {area}", "Publikasi Tematik", "Harga"))
SYLLABLES = ("ka", "ro", "wa", "tu", "me", "la", "bo", "ne", "si", "pa", "da", "mu", "ke", "ndi", "ra", "ha")
SEARCHES = ("kendari", "dalam angka 2020", "statistik daerah", "kemiskinan", "pdrb", "angkatan kerja kar",
            "1102001.74", "indikator kesejahteraan", "ka", "harga konsumen 2015", "' OR 1=1 --", "wakatobi")


def generate(target: int, seed: int = 7400) -> tuple[list[tuple], list[tuple]]:
    """Editions of the series for made-up districts, one per (number, year)."""
    rng = random.Random(seed)
    rows, subjects, n = [], [], 0
    areas = [("7471", "Kota Kendari"), ("7407", "Kabupaten Wakatobi")]
    areas += [(f"74{i:04d}", "Kecamatan " + "".join(rng.choice(SYLLABLES) for _ in range(3)).title())
              for i in range(1, target // (len(SERIES) * 25) + 2)]
    now = datetime(2026, 11, 28, tzinfo=UTC)
    for code, area in areas:
        for series, pattern, kind, subject in SERIES:
            for year in range(2001, 2026):
                if n == target:
                    break
                n += 1
                pid = f"bench-{n:08d}"
                rows.append((pid, f"{series}.{code}", year, f"{pattern.format(area=area)} {year}", kind, subject, now, now))
                subjects += [(f"{pid}-{i}", pid, s) for i, s in enumerate(subject.split(";"))]
    return rows, subjects


INSERT_PUBLICATION = ("INSERT INTO publications (id, catalogue_number, year, title, type, subjects, created_at, updated_at)"
                      " VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
INSERT_SUBJECT = "INSERT INTO publication_subjects (id, publication_id, subject) VALUES (?, ?, ?)"

def numbered(sql: str) -> str:
    parts = sql.split("?")
    return "".join(f"{part}${i}" if i < len(parts) else part for i, part in enumerate(parts, start=1))


def migrated(url: str) -> tuple[asyncio.AbstractEventLoop, Database, Driver]:
    """An empty catalogue's database migrated on its own loop, with the bare driver beside the service."""
    loop = asyncio.new_event_loop()
    db = Database(url)
    loop.run_until_complete(db.start())
    loop.run_until_complete(migrate(db))
    return loop, db, Driver(url, loop, Catalogue(db))


class Driver:
    """The bare driver of the engine: bulk insert, and the service's own search statements."""

    def __init__(self, url: str, loop: asyncio.AbstractEventLoop, service: Catalogue):
        self.url, self.loop, self.service = url, loop, service
        if url.startswith("sqlite"):
            self.sqlite = sqlite3.connect(url[len("sqlite:///"):])
        else:
            self.sqlite = None
            settings = {"plan_cache_mode": "force_custom_plan"}  # as cloud.db sets it
            self.pg = loop.run_until_complete(asyncpg.connect(url, server_settings=settings))

    def load(self, rows: list[tuple], subjects: list[tuple]) -> None:
        if self.sqlite is not None:
            rows = [(*r[:6], r[6].isoformat(), r[7].isoformat()) for r in rows]
            with self.sqlite:
                self.sqlite.executemany(INSERT_PUBLICATION, rows)
                self.sqlite.executemany(INSERT_SUBJECT, subjects)
            return

        async def load_pg() -> None:
            async with self.pg.transaction():
                await self.pg.executemany(numbered(INSERT_PUBLICATION), rows)
                await self.pg.executemany(numbered(INSERT_SUBJECT), subjects)
            # as autovacuum would soon: statistics, and the GIN index's pending list merged (else scanned each time)
            await self.pg.execute("VACUUM ANALYZE publications")

        self.loop.run_until_complete(load_pg())

    def run(self, sql: str, args: list) -> list:
        if self.sqlite is not None:
            return self.sqlite.execute(sql.replace("{}", "?"), args).fetchall()
        return self.loop.run_until_complete(self.pg.fetch(numbered(sql.replace("{}", "?")), *args))

    def answer(self, q: str) -> None:
        """What the endpoint asks the database, in the same order and with the same skip."""
        (facets, *facet_args), (page, *page_args) = self.statements(q)
        found = self.run(facets, facet_args)
        if any(row[0] == "year" for row in found):  # a year facet row means something matched
            self.run(page, page_args)

    def page(self, q: str) -> None:
        _, (page, *page_args) = self.statements(q)
        self.run(page, page_args)

    def statements(self, q: str) -> tuple[tuple, tuple]:
        return self.service.statements(Query.parse(q))

    def close(self) -> None:
        if self.sqlite is not None:
            self.sqlite.close()
        else:
            self.loop.run_until_complete(self.pg.close())


def timed(fn, rounds: int) -> list[float]:
    """Milliseconds per search, after one untimed pass (the first touch of each index page is not the steady state)."""
    for q in SEARCHES:
        fn(q)
    samples = []
    for _ in range(rounds):
        for q in SEARCHES:
            start = time.perf_counter()
            fn(q)
            samples.append((time.perf_counter() - start) * 1000)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--publications", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--database", help="postgresql://… of an empty database (default: SQLite in a temporary folder)")
    args = parser.parse_args()
    logging.getLogger("httpx").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database or f"sqlite:///{tmp}/cloud.db"
        loop, db, driver = migrated(url)
        service = driver.service
        start = time.perf_counter()
        rows, subjects = generate(args.publications)
        driver.load(rows, subjects)
        print(f"{db.kind}: generated {len(rows)} publications in {time.perf_counter() - start:.1f} s")

        try:
            with portal_in_thread(tmp, url) as base, httpx.Client(base_url=base, timeout=30) as client:
                http = timed(lambda q: client.get("/api/publications", params={"q": q}).raise_for_status(),
                             args.rounds)
                for table in TABLES:  # the server's app bound Piccolo's tables to its own engine; back to this one
                    table._meta.db = db.engine
                in_process = timed(lambda q: loop.run_until_complete(service.search(q=q)), args.rounds)
                raw = timed(driver.answer, args.rounds)
                floor = timed(driver.page, args.rounds)
        finally:
            driver.close()
            loop.run_until_complete(db.stop())
            loop.close()
    for name, samples in (("HTTP GET /api/publications", http), ("service search, in-process", in_process),
                          ("raw answer, bare driver", raw), ("page statement alone", floor)):
        print(f"{name:30s} p50 {percentile(samples, 50):7.2f} ms   p95 {percentile(samples, 95):7.2f} ms"
              f"   ({len(samples)} searches)")
    p95 = {name: percentile(samples, 95) for name, samples in (("http", http), ("raw", raw), ("page", floor))}
    print(f"p95 ratios: HTTP / raw answer {p95['http'] / p95['raw']:.2f}x (goal ≤ 3x)   "
          f"HTTP / page statement alone {p95['http'] / p95['page']:.2f}x")

if __name__ == "__main__":
    main()
