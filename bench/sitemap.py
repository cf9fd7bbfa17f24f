"""The sitemaps over 100,000 generated publications: time to the first byte and to the last of `GET /sitemap.xml`
(the index, one pass over the table) and of each `/sitemap-N.xml` (the first full one holds 50,000 URLs) on a real
uvicorn server on loopback. SQLite by default; `--database postgresql://…` (an empty database) for PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import tempfile
import time

import httpx

from bench.cloud_search import generate, migrated
from bench.harness import percentile, portal_in_thread, summary


def fetch(client: httpx.Client, path: str) -> tuple[float, float, int]:
    """Milliseconds to the first byte and to the last, and the size."""
    start = time.perf_counter()
    with client.stream("GET", path) as answer:
        answer.raise_for_status()
        chunks = answer.iter_bytes()
        size = len(next(chunks, b""))
        first = time.perf_counter()
        size += sum(len(chunk) for chunk in chunks)
    end = time.perf_counter()
    return (first - start) * 1000, (end - start) * 1000, size


def bare_rows(url: str, rounds: int) -> float:
    """The baseline from the same run: p50 milliseconds of the first sitemap's rows (50,000 ids and their times)
    read on the bare driver, nothing written."""
    import sqlite3

    sql = "SELECT id, updated_at FROM publications ORDER BY id LIMIT 50000"
    samples = []
    if url.startswith("sqlite"):
        connection = sqlite3.connect(url[len("sqlite:///"):])
        for _ in range(rounds + 1):
            start = time.perf_counter()
            connection.execute(sql).fetchall()
            samples.append((time.perf_counter() - start) * 1000)
        connection.close()
    else:
        import asyncpg

        async def run() -> None:
            connection = await asyncpg.connect("postgresql" + url[url.index(":"):])
            for _ in range(rounds + 1):
                start = time.perf_counter()
                await connection.fetch(sql)
                samples.append((time.perf_counter() - start) * 1000)
            await connection.close()

        asyncio.run(run())
    return percentile(samples[1:], 50)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--publications", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--database",
                        help="postgresql://… of an empty database (default: SQLite in a temporary folder)")
    args = parser.parse_args()
    logging.getLogger("httpx").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database or f"sqlite:///{tmp}/cloud.db"
        loop, db, driver = migrated(url)
        driver.load(*generate(args.publications))
        driver.close()
        loop.run_until_complete(db.stop())
        loop.close()
        with portal_in_thread(tmp, url) as base, httpx.Client(base_url=base, timeout=120) as client:
            parts = client.get("/sitemap.xml").text.count("<sitemap>")
            bare = bare_rows(url, args.rounds)
            print(f"{db.kind}: {args.publications} publications, {parts} sitemaps; baseline: the first sitemap's "
                  f"50,000 rows on the bare driver, p50 {bare:.1f} ms")
            for path in ["/sitemap.xml", *(f"/sitemap-{n}.xml" for n in range(1, parts + 1))]:
                fetch(client, path)  # one untimed pass
                samples = [fetch(client, path) for _ in range(args.rounds)]
                size = samples[0][2]
                first, whole = [s[0] for s in samples], [s[1] for s in samples]
                print(f"{path:18s} {size / 1e6:6.2f} MB  first byte p50 {percentile(first, 50):7.1f} ms"
                      f"  whole p50 {percentile(whole, 50):7.1f} ms  p95 {percentile(whole, 95):7.1f} ms")
                if path == "/sitemap-1.xml":
                    summary(f"GET /sitemap-1.xml whole p50 ({db.kind})", percentile(whole, 50), "ms", bare,
                            "its rows, bare driver p50")


if __name__ == "__main__":
    main()
