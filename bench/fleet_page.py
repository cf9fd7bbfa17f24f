"""The back office's fleet page with 500 appliances of 500 offices in 34 provinces, each with 30 days of 5-minute
health history (4.3 million samples, summed up per six hours as the health writer keeps them) and ten visits a day:
p50/p95 of `GET /kantor/perangkat` as staff over HTTP (a real uvicorn server on loopback), against the bare list
query in the same run — the roster statement `cloud.fleet.Fleet.roster` runs (every appliance with its latest
health), on the bare driver (sqlite3 / asyncpg, no pool, no ORM, no HTTP), rows fetched. The page filters, counts and
sorts the whole fleet and draws its first page (`cloud.routes.fleet.PAGE` rows, with their sparklines); before the
timing, every page is fetched once to check each appliance is listed once. For reference it also prints the four
statements the page runs (the roster, the open alerts, the page's six-hour summaries, its visits per day) on the bare
driver. The goal is HTTP p95 ≤ 3× the bare list query's p95.

SQLite by default; `--engine postgresql` (or `both`) runs it on a throwaway PostgreSQL cluster as bench.sync does.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import re
import sqlite3
import tempfile
import time
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx

from bench.harness import percentile, portal_in_thread, summary
from cloud import fleet_alerts
from cloud.accounts import Accounts
from cloud.db import Database
from cloud.fleet import SLOT_S, Fleet, slot
from cloud.migrations import migrate
from cloud.routes.fleet import PAGE, _week
from cloud.tables import TABLES
from pst.clock import SystemClock

PROVINCES = ("11", "12", "13", "14", "15", "16", "17", "18", "19", "21", "31", "32", "33", "34", "35", "36", "51",
             "52", "53", "61", "62", "63", "64", "65", "71", "72", "73", "74", "75", "76", "81", "82", "91", "94")
HISTORY = ("device_id", "slot", "received_at", "version", "software", "disk_free_pct", "disk_free", "db_bytes", "ntp",
           "clock_offset_ms", "printer", "scanner", "pending", "oldest_pending_s", "backup_at", "backup_ok",
           "alert_count")
PASSWORD = "kopi-toraja-2026"


def offices(count: int) -> list[tuple[str, str]]:
    """Province offices (NN00) first, then regencies and cities, spread over the provinces."""
    found = []
    for index in range(count):
        province, number = PROVINCES[index % len(PROVINCES)], index // len(PROVINCES)
        found.append((f"{province}{number:02d}", f"BPS Provinsi {province}" if number == 0
                      else f"BPS Kabupaten {province}{number:02d}"))
    return found


def samples(rng: random.Random, device: str, now: datetime, days: int):
    """One device's history: a sample every five minutes, a backlog that builds up now and then."""
    first, last = slot(now - timedelta(days=days)) + 1, slot(now)
    backlog, disk = 0, rng.uniform(20, 90)
    for number in range(first, last + 1):
        backlog = max(0, backlog + rng.choice((-3, -1, 0, 0, 0, 1, 2)) if rng.random() < 0.3 else backlog - 1)
        yield (device, number, datetime.fromtimestamp(number * SLOT_S + 7, UTC), 1, "1.4.0", round(disk, 1),
               int(disk * 3e8), 40_000_000, True, rng.randint(-900, 900), "ok", "ok", backlog, backlog * 30,
               int(now.timestamp()) - 86_400, True, 0)


class Driver:
    """The bare driver: bulk loading, and a statement the service runs, fetched."""

    def __init__(self, url: str, loop: asyncio.AbstractEventLoop):
        self.url, self.loop = url, loop
        if url.startswith("sqlite"):
            self.sqlite, self.pg = sqlite3.connect(url[len("sqlite:///"):]), None
        else:
            self.sqlite, self.pg = None, loop.run_until_complete(asyncpg.connect(url))

    def insert(self, table: str, columns: tuple[str, ...], rows) -> None:
        if self.sqlite is not None:
            marks = ", ".join("?" for _ in columns)
            with self.sqlite:
                self.sqlite.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
                                        ([_sqlite(v) for v in row] for row in rows))
            return
        self.loop.run_until_complete(self.pg.copy_records_to_table(table, records=list(rows), columns=list(columns)))

    def settle(self) -> None:
        """Fresh planner statistics, as the portal's start (SQLite) or autovacuum (PostgreSQL) would have them."""
        if self.sqlite is not None:
            self.sqlite.execute("ANALYZE")
        else:
            self.loop.run_until_complete(self.pg.execute("VACUUM ANALYZE"))

    def run(self, sql: str, args: tuple) -> list:
        if self.sqlite is not None:
            return self.sqlite.execute(sql.replace("{}", "?"), [_sqlite(v) for v in args]).fetchall()
        parts = sql.split("{}")
        numbered = "".join(f"{part}${i}" if i < len(parts) else part for i, part in enumerate(parts, start=1))
        return self.loop.run_until_complete(self.pg.fetch(numbered, *args))

    def close(self) -> None:
        if self.sqlite is not None:
            self.sqlite.close()
        else:
            self.loop.run_until_complete(self.pg.close())


def _sqlite(value):
    """A value as Piccolo binds it on SQLite: an aware time in UTC, as text."""
    return str(value.astimezone(UTC)) if isinstance(value, datetime) else value


class Recorder(Database):
    """The app's database, keeping the statements it is asked to run (to run them again on the bare driver)."""

    def __init__(self, url: str):
        super().__init__(url)
        self.statements: list[tuple[str, tuple]] = []

    async def execute(self, sql: str, *args) -> list[dict]:
        self.statements.append((sql, args))
        return await super().execute(sql, *args)


def load(db: Database, driver: Driver, count: int, days: int, now: datetime) -> None:
    """The fleet, its latest health and history, its visits, and a staff account."""
    rng = random.Random(7400)
    for code, name in offices(count):
        driver.insert("offices", ("id", "code", "name", "created_at"), [(f"o{code}", code, name, now)])
        driver.insert("devices", ("id", "office_id", "name", "created_at", "key_hash", "enrolled_at", "last_seen_at"),
                      [(f"d{code}", f"o{code}", "Meja layanan", now, f"h{code}", now,
                        now - timedelta(seconds=rng.randint(0, 90 if rng.random() < 0.95 else 9000)))])
    for code, _ in offices(count):
        history = list(samples(rng, f"d{code}", now, days))
        driver.insert("device_health_history", HISTORY, history)
        latest = history[-1]
        driver.insert("device_health", ("received_at", "state_key", *HISTORY[3:], "device_id"),
                      [(latest[2], "", *latest[3:], f"d{code}")])
        visits = [(f"v{code}-{n}", code, f"d{code}", now - timedelta(minutes=rng.randint(0, days * 1440)))
                  for n in range(days * 10)]
        driver.insert("visits", ("id", "office_code", "device_id", "checked_in_at"), visits)
    driver.loop.run_until_complete(Fleet(db).summarise_history())  # what the writer keeps as the samples land
    driver.settle()
    driver.loop.run_until_complete(
        Accounts(db, SystemClock(), None, b"", "").add("petugas@bps.go.id", "staff", PASSWORD, "Petugas"))


def timed(fn, rounds: int) -> list[float]:
    """Milliseconds per call, after two untimed calls."""
    fn(), fn()
    found = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        found.append((time.perf_counter() - start) * 1000)
    return found


def measure(url: str, tmp: str, count: int, days: int, rounds: int) -> dict[str, list[float]]:
    loop = asyncio.new_event_loop()
    db = Recorder(url)
    loop.run_until_complete(db.start())
    loop.run_until_complete(migrate(db))
    driver, now = Driver(url, loop), datetime.now(UTC)
    started = time.perf_counter()
    load(db, driver, count, days, now)
    total = driver.run("SELECT count(*) FROM device_health_history", ())[0][0]
    print(f"{db.kind}: {count} appliances, {total:,} health samples, {count * days * 10:,} visits"
          f" loaded in {time.perf_counter() - started:.0f} s")
    db.statements = []  # the page's statements, as the service builds them
    fleet, (periods, days_of_week) = Fleet(db), _week(now)
    first_page = sorted(loop.run_until_complete(fleet.roster()), key=lambda d: (d["office_code"], d["name"]))[:PAGE]
    loop.run_until_complete(fleet_alerts.open_alerts(db))
    loop.run_until_complete(fleet.backlog_by_period([d["id"] for d in first_page], periods[0]))
    loop.run_until_complete(fleet.visits_per_day(days_of_week, [d["id"] for d in first_page]))
    (roster, *_), statements = db.statements[0], list(db.statements)

    try:
        with portal_in_thread(tmp, url) as base, httpx.Client(base_url=base, timeout=60) as client:
            client.post("/api/session", json={"email": "petugas@bps.go.id", "password": PASSWORD}).raise_for_status()

            listed = []
            for number in range(1, -(-count // PAGE) + 1):
                answer = client.get("/kantor/perangkat", params={"halaman": number})
                answer.raise_for_status()
                listed += re.findall(r'<th scope="row"><a href="/kantor/perangkat/([^"]+)"', answer.text)
            assert sorted(listed) == sorted(f"d{code}" for code, _ in offices(count)), "each appliance listed once"

            def page() -> None:
                answer = client.get("/kantor/perangkat")
                answer.raise_for_status()
                assert answer.text.count('class="spark"') == min(count, PAGE), "a page of appliances"

            http = timed(page, rounds)
            for table in TABLES:  # the server's app bound Piccolo's tables to its own engine; back to this one
                table._meta.db = db.engine
            bare = timed(lambda: driver.run(roster, ()), rounds)
            every = timed(lambda: [driver.run(sql, args) for sql, args in statements], rounds)
    finally:
        driver.close()
        loop.run_until_complete(db.stop())
        loop.close()
    return {"HTTP GET /kantor/perangkat": http, "bare list query": bare, "the page's 4 statements, bare": every}


def report(kind: str, found: dict[str, list[float]]) -> None:
    for name, taken in found.items():
        print(f"{kind:10s} {name:32s} p50 {percentile(taken, 50):8.2f} ms   p95 {percentile(taken, 95):8.2f} ms"
              f"   ({len(taken)} requests)")
    http, bare, every = (percentile(taken, 95) for taken in found.values())
    print(f"{kind:10s} p95 ratio: page / bare list query {http / bare:.2f}x (goal ≤ 3x)   "
          f"page / its 4 statements {http / every:.2f}x")
    summary(f"GET /kantor/perangkat p95 ({kind})", http, "ms", bare, "bare list query p95", "≤ 3×", http <= 3 * bare)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--appliances", type=int, default=500)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--engine", choices=("sqlite", "postgresql", "both"), default="sqlite")
    args = parser.parse_args()
    logging.getLogger("httpx").setLevel(logging.WARNING)
    engines = ("sqlite", "postgresql") if args.engine == "both" else (args.engine,)
    for kind in engines:
        if kind == "postgresql":
            from bench.sync import postgres
        with tempfile.TemporaryDirectory() as tmp, (postgres() if kind == "postgresql" else nullcontext()) as cluster:
            url = cluster.new_database() if cluster else f"sqlite:///{tmp}/cloud.db"
            report(kind, measure(url, tmp, args.appliances, args.days, args.rounds))


if __name__ == "__main__":
    main()
