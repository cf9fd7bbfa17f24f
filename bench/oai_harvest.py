"""OAI-PMH harvest of a 100,000-edition catalogue (cloud.oai), over real HTTP (the portal on uvicorn in a thread,
bench.harness) by Sickle, the harvester the tests use, each figure beside a baseline from the same run:

1. Full harvest, ListRecords in `oai_dc` and in `marc21` (records/s), every resumption token followed, each edition
   once; against the bare catalogue query: the very page statements the repository runs (`Repository.page_statement`,
   keyset by datestamp and id), one after the other on the bare driver (sqlite3 / asyncpg: no pool, no ORM, no XML,
   no HTTP), rows fetched.
2. One page of ListRecords (a resumption token from the middle of the list): p50/p95 over HTTP in `oai_dc` (and, for
   reference, in `marc21`) against the same page's statement on the bare driver. Goal: HTTP p95 ≤ 3× the bare
   query's p95.

SQLite by default; `--engine postgresql` (or `both`) runs on a throwaway PostgreSQL cluster as bench.sync does.
The catalogue goes in by multi-row INSERTs (tests.cloud.test_oai.load_publications), headers stamped a second apart.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import tempfile
import time
from contextlib import nullcontext
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import httpx
from lxml import etree
from sickle import Sickle

from bench.fleet_page import Driver, timed
from bench.harness import percentile, portal_in_thread, summary
from cloud.db import Database, moment
from cloud.migrations import migrate
from cloud.oai import OAI, PAGE, Listing, Repository
from cloud.tables import TABLES
from tests.cloud.test_oai import load_publications


def bare_harvest(driver: Driver, repository: Repository, listing: Listing) -> int:
    """Every page of the list by its own statement on the bare driver; the rows fetched."""
    fetched = 0
    while True:
        rows = driver.run(*_statement(repository, listing))[:PAGE]
        fetched += len(rows)
        if len(rows) < PAGE:
            return fetched
        listing = replace(listing, after=(moment(rows[-1][1]), rows[-1][0]))


def _statement(repository: Repository, listing: Listing) -> tuple[str, tuple]:
    sql, *args = repository.page_statement(listing, PAGE)
    return sql, tuple(args)


def http_harvest(base: str, prefix: str) -> tuple[int, list[str]]:
    """Sickle through every page; the records and the resumption tokens it followed."""
    harvester = Sickle(f"{base}/oai", timeout=120)
    seen, tokens = set(), []
    records = harvester.ListRecords(metadataPrefix=prefix)
    for record in records:
        seen.add(record.header.identifier)
        if records.resumption_token and records.resumption_token.token and (
                not tokens or tokens[-1] != records.resumption_token.token):
            tokens.append(records.resumption_token.token)
    return len(seen), tokens


def measure(url: str, tmp: str, count: int, rounds: int) -> None:
    loop = asyncio.new_event_loop()
    db = Database(url)
    loop.run_until_complete(db.start())
    loop.run_until_complete(migrate(db))
    started = time.perf_counter()
    loop.run_until_complete(load_publications(db, count, datetime.now(UTC) - timedelta(minutes=1)))
    driver = Driver(url, loop)
    driver.settle()
    print(f"{db.kind}: {count:,} editions loaded in {time.perf_counter() - started:.0f} s")
    repository = Repository(db, "http://127.0.0.1", b"b" * 32, "pst@bps.go.id")
    listing, _ = loop.run_until_complete(repository.first("ListRecords", {"metadataPrefix": "oai_dc"}))
    try:
        with portal_in_thread(tmp, url) as base, httpx.Client(base_url=base, timeout=120) as client:
            figures, middle = {}, {}
            for prefix in ("oai_dc", "marc21"):
                began = time.perf_counter()
                harvested, tokens = http_harvest(base, prefix)
                figures[prefix] = (harvested, time.perf_counter() - began)
                assert harvested == count, f"{prefix}: {harvested} records, not {count}"
                middle[prefix] = tokens[len(tokens) // 2]

            def page(prefix: str) -> bytes:
                answer = client.get("/oai", params={"verb": "ListRecords", "resumptionToken": middle[prefix]})
                answer.raise_for_status()
                return answer.content

            for prefix in middle:  # the page is whole; then timed as a harvester receives it, not as it parses it
                assert len(etree.fromstring(page(prefix)).findall(f".//{{{OAI}}}record")) == PAGE

            http = timed(lambda: page("oai_dc"), rounds)
            http_marc = timed(lambda: page("marc21"), rounds)
            floor = timed(lambda: client.get("/healthz").raise_for_status(), rounds)
            for table in TABLES:  # the server's app bound Piccolo's tables to its own engine; back to this one
                table._meta.db = db.engine
            began = time.perf_counter()
            assert bare_harvest(driver, repository, listing) == count
            bare_whole = time.perf_counter() - began
            # the portal signs with the key bench.harness gives it, which this repository has too
            statement = _statement(repository, repository.read_token(middle["oai_dc"], "ListRecords",
                                                                     datetime.now(UTC)))
            bare = timed(lambda: driver.run(*statement), rounds)
    finally:
        driver.close()
        loop.run_until_complete(db.stop())
        loop.close()
    print(f"{db.kind:10s} bare page statements, every page  {count / bare_whole:10,.0f} records/s"
          f"   ({bare_whole:.1f} s, {-(-count // PAGE)} pages of {PAGE})")
    for prefix, (harvested, taken) in figures.items():
        print(f"{db.kind:10s} HTTP ListRecords {prefix:7s} (Sickle)    {harvested / taken:10,.0f} records/s"
              f"   ({taken:.1f} s; {bare_whole / taken * 100:.0f} % of the bare statements' rate)")
    for name, taken in (("HTTP one ListRecords page (oai_dc)", http), ("HTTP one ListRecords page (marc21)", http_marc),
                        ("bare query of that page", bare), ("HTTP GET /healthz (the floor)", floor)):
        print(f"{db.kind:10s} {name:36s} p50 {percentile(taken, 50):8.2f} ms   p95 {percentile(taken, 95):8.2f} ms"
              f"   ({len(taken)} requests)")
    print(f"{db.kind:10s} p95 ratio: page / its bare query {percentile(http, 95) / percentile(bare, 95):.2f}x"
          " (goal ≤ 3x)")
    for prefix, (harvested, taken) in figures.items():
        summary(f"harvest, ListRecords {prefix} ({db.kind})", harvested / taken, "records/s", count / bare_whole,
                "bare page statements")
    page_p95, bare_p95 = percentile(http, 95), percentile(bare, 95)
    summary(f"one ListRecords page oai_dc p95 ({db.kind})", page_p95, "ms", bare_p95, "bare query p95", "≤ 3×",
            page_p95 <= 3 * bare_p95)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--engine", choices=("sqlite", "postgresql", "both"), default="sqlite")
    args = parser.parse_args()
    logging.getLogger("httpx").setLevel(logging.WARNING)
    for kind in ("sqlite", "postgresql") if args.engine == "both" else (args.engine,):
        if kind == "postgresql":
            from bench.sync import postgres
        with tempfile.TemporaryDirectory() as tmp, (postgres() if kind == "postgresql" else nullcontext()) as cluster:
            url = cluster.new_database() if cluster else f"sqlite:///{tmp}/cloud.db"
            measure(url, tmp, args.count, args.rounds)


if __name__ == "__main__":
    main()
