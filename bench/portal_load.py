"""The portal under public load: Locust (headless, bounded in time, loopback only) plays 100 concurrent readers
(bench/locust_portal.py: the home page, catalogue searches with and without facets, publication pages, and for the
signed-in quarter of them watermarked softcopy downloads) against `pst cloud serve` on PostgreSQL, with 1 and with 2
worker processes, on a catalogue of 20,000 editions, 100 of them with a 20-page softcopy.

Printed per route and worker count: requests, requests/s, p50/p95/p99 and failures (goal: none), as Locust counts
them. Baseline, from the same run: the search's bare answer — the statements `GET /katalog?q=` runs for its page
(`Catalogue.statements`, the count with its facets and the ranked page) on the bare driver, one at a time on an idle
database (bench.cloud_search.Driver.answer). Goal: the search route's p95 under load ≤ 3× the bare answer's p95.

Locust runs on the same two cores as the portal and the database: what it spends (shown as its CPU time) is not the
portal's. One process of each kind: nothing is shared but the loopback interface.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import logging
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.cloud_search import SEARCHES, generate, migrated, timed
from bench.harness import percentile, summary
from bench.scan_watermark import text_pdf
from bench.sync import Server, postgres
from cloud.accounts import Accounts
from cloud.catalogue_admin import CatalogueAdmin
from pst.clock import SystemClock

LOCUSTFILE = Path(__file__).with_name("locust_portal.py")
PASSWORD = "baca-publikasi-bps-2026"
ROUTES = ("/", "/katalog?q", "/katalog?q&facet", "/publikasi/{id}", "/publikasi/{id}/unduh", "Aggregated")
FACETS = ({"year": "2020"}, {"type": "Publikasi Tematik"}, {"subject": "Kemiskinan"}, {"year": "2015", "type": "Dalam Angka"})


def prepare(url: str, data_dir: Path, publications: int, softcopies: int, readers: int) -> dict:
    """The catalogue (bulk-loaded as bench.cloud_search does), softcopies attached through the back office's
    service, readers' accounts; returns the plan without sessions, and the bare search's samples."""
    loop, db, driver = migrated(url)
    try:
        rows, subjects = generate(publications)
        driver.load(rows, subjects)
        pdf = text_pdf(20)
        librarian = CatalogueAdmin(db, SystemClock(), data_dir)
        with_copy = [row[0] for row in rows[:: max(1, len(rows) // softcopies)][:softcopies]]
        for publication_id in with_copy:
            loop.run_until_complete(librarian.attach(publication_id, io.BytesIO(pdf), "publikasi.pdf"))
        accounts = Accounts(db, SystemClock(), None, b"", "")
        emails = [f"pembaca{n:03d}@example.id" for n in range(readers)]
        for n, email in enumerate(emails):
            loop.run_until_complete(accounts.add(email, "reader", PASSWORD, f"Pembaca {n}"))
        bare = timed(driver.answer, 10)
    finally:
        driver.close()
        loop.run_until_complete(db.stop())
        loop.close()
    return {"publications": [row[0] for row in rows[:: max(1, len(rows) // 2000)]], "softcopies": with_copy,
            "words": list(SEARCHES), "facets": list(FACETS), "emails": emails, "bare": bare}


def sign_in(base: str, emails: list[str]) -> list[str]:
    """Each reader signs in over HTTP once; their session tokens."""
    tokens = []
    with httpx.Client(base_url=base, timeout=30) as client:
        for email in emails:
            answer = client.post("/api/session", json={"email": email, "password": PASSWORD})
            answer.raise_for_status()
            tokens.append(answer.cookies["pst_cloud_session"])
    return tokens


def locust(base: str, plan_file: Path, users: int, seconds: int, out: Path, classes: list[str]) -> tuple[dict, float]:
    """Locust headless against `base`; its rows per route and the CPU seconds it spent itself."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(f"{out}.log", "w", encoding="utf-8") as log:
        subprocess.run([sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--only-summary",
                        "--users", str(users), "--spawn-rate", str(max(1, users // 5)), "--run-time", f"{seconds}s",
                        "--stop-timeout", "10", "--host", base, "--csv", str(out), "--loglevel", "WARNING", *classes],
                       env=os.environ | {"PST_LOAD_PLAN": str(plan_file)}, check=False, stdout=log, stderr=log)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(f"{out}_stats.csv", newline="", encoding="utf-8") as handle:
        rows = {row["Name"]: row for row in csv.DictReader(handle)}
    return rows, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def show(workers: int, rows: dict, seconds: int, cpu: float) -> None:
    print(f"\n{workers} worker{'s' if workers > 1 else ''}: {seconds} s of load, Locust itself used {cpu:.0f} CPU s")
    print(f"  {'route':24s} {'requests':>9s} {'req/s':>7s} {'p50 ms':>7s} {'p95 ms':>7s} {'p99 ms':>7s} {'failed':>7s}")
    for name in ROUTES:
        row = rows.get(name)
        if row is None:
            continue
        print(f"  {name:24s} {int(row['Request Count']):9,d} {float(row['Requests/s']):7.1f} {row['50%']:>7s}"
              f" {row['95%']:>7s} {row['99%']:>7s} {int(row['Failure Count']):7,d}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--publications", type=int, default=20_000)
    parser.add_argument("--softcopies", type=int, default=100)
    parser.add_argument("--readers", type=int, default=25, help="accounts the signed-in users share")
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--without-downloads", action="store_true", help="visitors only, nobody signed in")
    args = parser.parse_args()
    logging.getLogger("httpx").setLevel(logging.WARNING)
    results = {}
    with tempfile.TemporaryDirectory() as tmp, postgres() as cluster:
        url, data_dir = cluster.new_database(), Path(tmp) / "portal"
        started = time.perf_counter()
        plan = prepare(url, data_dir, args.publications, args.softcopies, args.readers)
        bare = plan.pop("bare")
        print(f"postgresql: {args.publications:,} editions, {len(plan['softcopies'])} softcopies and {args.readers}"
              f" readers ready in {time.perf_counter() - started:.0f} s")
        sessions = None
        for workers in (int(n) for n in args.workers.split(",")):
            server = Server(url, data_dir, workers=workers)
            try:
                sessions = sessions or sign_in(server.base, plan["emails"])
                plan_file = Path(tmp) / "plan.json"
                plan_file.write_text(json.dumps(plan | {"sessions": sessions}), encoding="utf-8")
                rows, cpu = locust(server.base, plan_file, args.users, args.seconds, Path(tmp) / f"load-{workers}",
                                   ["Visitor"] if args.without_downloads else [])
            finally:
                server.stop()
            show(workers, rows, args.seconds, cpu)
            results[workers] = rows
    print(f"\nbaseline: the search's bare answer (idle database, one at a time)  p50 {percentile(bare, 50):.2f} ms"
          f"   p95 {percentile(bare, 95):.2f} ms   ({len(bare)} searches)")
    for workers, rows in results.items():
        search = rows.get("/katalog?q")
        failures = int(rows["Aggregated"]["Failure Count"]) if "Aggregated" in rows else -1
        if search:
            print(f"{workers} worker(s): search p95 {search['95%']} ms = {float(search['95%']) / percentile(bare, 95):.1f}x"
                  f" the bare answer (goal ≤ 3x); failures {failures} (goal 0)")
            p95 = float(search["95%"])
            summary(f"search p95 under load, {workers} worker(s)", p95, "ms", percentile(bare, 95),
                    "bare answer p95", "≤ 3×", p95 <= 3 * percentile(bare, 95))
        if failures >= 0:
            summary(f"failed requests, {workers} worker(s)", failures, "", goal="0", met=failures == 0)


if __name__ == "__main__":
    asyncio.set_event_loop_policy(None)
    main()
