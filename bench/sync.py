"""The sync between a front-desk appliance and the cloud on PostgreSQL, over real HTTP: `pst cloud serve` (uvicorn) on
a free loopback port in its own process, and `Agent.round()` with its default batch size, through a transport that
counts what goes on the wire (bench.sync_wire). Each figure is compared with a baseline measured in the same run.

1. Backlog drain: 100,000 outbox records (bench.desk_events: tickets, check-ins, starts of service, ratings,
   complaints) in one round; records/s, goal ≥ 2,000/s. Floor: the same rows by plain multi-row INSERTs (one
   statement and one commit per batch of the agent's size) into an unindexed table of the same database.
2. Idle round (after the drain): requests and bytes both ways, request and status lines and headers included; goal
   one request under 1 KB. Beside it, the smallest exchange of the portal: `GET /healthz` by a plain httpx client.
3. Incremental round: a round sending 1,000 new records to a cloud already holding 1,000,000 synced records, against
   a cloud holding 1,000 (medians of `--rounds` rounds, the two clouds taking turns, each on its own database and
   server; the small one grows by 1,000 a round). Goal: within 10 %. The 999,000 oldest records of the large cloud
   are not sent but loaded (`preload`): a block of the same desk events goes through the apply's own `Projection`
   in memory, its rows are loaded with COPY into visits, ratings, complaints, edge_records and sync_events, the block
   is repeated in SQL with ids, times and sequence numbers moved on, and the cursor is set after the last one; the
   next 1,000 come through a real round (as in the small cloud) before the timed rounds start.
4. Bytes per record on the wire during the drain: gzip batches with their HTTP heads, beside the gzip bodies alone and
   the JSON before compression.

PostgreSQL: a throwaway cluster made with initdb/pg_ctl (as tests/cloud/conftest.py does) but durable, fsync and
synchronous commit on as a production server runs.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx

from bench import desk_events
from bench.harness import PST, free_port, summary
from bench.sync_wire import Wire
from cloud.db import Database
from cloud.devices import DeviceAuth, Devices
from cloud.settings import CloudSettings
from edge import outbox
from edge.migrations import migrate
from edge.store import EdgeStore
from pst.clock import SystemClock, iso
from pst.hlc import Stamp
from pst.ids import new_id
from sync.agent import BATCH, Agent, Enrolment, enroll
from sync.projection import Projection
from sync.protocol import Event

SECRET = "bench-sync-" + "0123456789abcdef" * 2
START = datetime(2026, 1, 5, 0, 30, tzinfo=UTC)


# --- PostgreSQL and the portal --------------------------------------------------------------------------------------

@contextmanager
def postgres() -> Iterator[object]:
    """A throwaway cluster with the server's default durability; `.new_database()` gives URLs of empty databases."""
    from tests.cloud.conftest import PostgresCluster, postgres_bindir

    class Durable(PostgresCluster):
        def start(self) -> Durable:
            data = str(self.root / "data")
            self._run("initdb", "-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C")
            options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1"
            self._run("pg_ctl", "-D", data, "-o", options, "-l", str(self.root / "server.log"), "-w", "start")
            return self

    bindir = postgres_bindir()
    if bindir is None:
        raise SystemExit("PostgreSQL server binaries (initdb, pg_ctl) not found; `make system-deps` installs them")
    cluster = Durable(bindir).start()
    try:
        yield cluster
    finally:
        cluster.stop()


class Server:
    """`pst cloud serve` on a database, in its own process."""

    def __init__(self, url: str, data_dir: Path, workers: int = 1):
        self.url, self.port = url, free_port()
        self.env = os.environ | {"PST_DATA_DIR": str(data_dir), "PST_CLOUD_DATABASE_URL": url,
                                 "PST_CLOUD_PORT": str(self.port), "PST_CLOUD_SMTP_URL": "smtp://127.0.0.1:1",
                                 "PST_CLOUD_SECRET": SECRET}
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen([*PST, "cloud", "serve", "--workers", str(workers)], env=self.env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("the portal did not start") from None
                time.sleep(0.1)

    async def enrol(self, data_dir: Path) -> Enrolment:
        """A device of office 7400 added by the back office, enrolled by the appliance over HTTP."""
        db = Database(self.url)
        await db.start()
        try:
            devices = Devices(db, SystemClock(), CloudSettings.from_env(self.env).signing_key())
            await devices.ensure_office("7400", "BPS Provinsi Sulawesi Tenggara")
            _, code = await devices.add_device("7400", "Meja depan")
        finally:
            await db.stop()
        return await asyncio.to_thread(enroll, self.base, code, data_dir)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=15)


class Desk:
    """An appliance: its store, its enrolment, its agent (default batch size) and the desk writing to the outbox."""

    def __init__(self, folder: Path, enrolment: Enrolment, first_seq: int = 1):
        self.store = EdgeStore(folder / "edge.db")
        migrate(self.store)
        if first_seq > 1:  # the older events were acknowledged long ago and purged
            with self.store.write() as db:
                db.execute("DELETE FROM sqlite_sequence WHERE name = 'outbox'")
                db.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('outbox', ?)", [first_seq - 1])
        self.enrolment, self.wire = enrolment, Wire()
        self.agent = Agent(self.store, enrolment, transport=self.wire)
        self.epoch = outbox.device_id(self.store.read)
        self.events = desk_events.events(START)

    def write(self, events: Iterator[tuple], count: int, per_transaction: int = 10_000) -> None:
        for start in range(0, count, per_transaction):
            with self.store.write() as db:
                for _ in range(min(per_transaction, count - start)):
                    at, entity, entity_id, op, payload = next(events)
                    outbox.append(db, entity, entity_id, op, payload, at)

    async def round(self, expected: int) -> float:
        started = time.perf_counter()
        result = await self.agent.round()
        elapsed = time.perf_counter() - started
        if result.sent != expected or result.dead:
            raise SystemExit(f"round applied {result.sent} records and refused {result.dead}; {expected} expected")
        return elapsed

    async def close(self) -> None:
        await self.agent.close()
        self.store.close()


# --- 1, 2, 4: the drain of a backlog, the floor, the idle round -----------------------------------------------------

async def floor(url: str, rows: list[tuple], batch: int) -> float:
    """Seconds to insert the rows, `batch` per multi-row INSERT and commit, into an unindexed table."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("CREATE TABLE bench_floor (event_id text, seq bigint, entity text, entity_id text,"
                           " op text, payload text, created_at text, hlc text)")
        width = len(rows[0])
        started = time.perf_counter()
        for i in range(0, len(rows), batch):
            chunk = rows[i:i + batch]
            values = ", ".join("(" + ", ".join(f"${r * width + c + 1}" for c in range(width)) + ")"
                               for r in range(len(chunk)))
            await conn.execute(f"INSERT INTO bench_floor VALUES {values}", *[v for row in chunk for v in row])
        elapsed = time.perf_counter() - started
        await conn.execute("DROP TABLE bench_floor")
    finally:
        await conn.close()
    return elapsed


async def drain(url: str, tmp: Path, records: int) -> dict:
    server = Server(url, tmp / "cloud-drain")
    try:
        desk = Desk(tmp / "desk-drain", await server.enrol(tmp / "desk-drain"))
        started = time.perf_counter()
        desk.write(desk_events.events(START), records)
        print(f"drain: {records:,} outbox records written in {time.perf_counter() - started:.1f} s")
        rows = desk.store.read.execute(
            "SELECT event_id, seq, entity, entity_id, op, payload, created_at, hlc FROM outbox ORDER BY seq"
        ).fetchall()
        floor_s = await floor(url, rows, BATCH)
        drain_s = await desk.round(records)
        posts = [x for x in desk.wire.exchanges if x.method == "POST"]
        json_bytes = sum(len(gzip.decompress(x.body)) for x in posts)
        for _ in range(2):
            await desk.round(0)
        desk.wire.exchanges.clear()
        await desk.round(0)
        idle = list(desk.wire.exchanges)
        probe = Wire()
        async with httpx.AsyncClient(transport=probe) as client:
            (await client.get(f"{server.base}/healthz")).raise_for_status()
        bare = probe.exchanges[0]
        await desk.close()
    finally:
        server.stop()
    return {"floor_s": floor_s, "drain_s": drain_s, "posts": posts, "json_bytes": json_bytes, "idle": idle,
            "bare": bare, "records": records}


# --- 3: a round with 1,000,000 records already synced, and with 1,000 -----------------------------------------------

async def preload(url: str, device: DeviceAuth, epoch: str, count: int) -> datetime:
    """What the cloud holds after `count` events of the desk were applied, without sending them: a block of the
    desk's events goes through the apply's own projection in memory, its rows are loaded with COPY, and the block is
    repeated in SQL with every id, time and sequence number moved on (ids are UUIDv7: their time moves too). The
    cursor is set after the last event. Returns the time after which the desk goes on."""
    copies = next(k for k in range(50, 0, -1) if count % k == 0)
    block, now = count // copies, datetime.now(UTC)
    events = desk_events.events(START)
    projection, remembered = Projection(None, device, now), []
    for seq in range(1, block + 1):
        at, entity, entity_id, op, payload = next(events)
        ms = int(at.timestamp() * 1000)
        event = Event(new_id(ms), seq, entity, entity_id, op, payload, iso(at), str(Stamp(ms, 0)))
        projection.apply(event)
        remembered.append((event.event_id, device.device_id, epoch, seq, entity, entity_id, op, event.hlc, now))
    span = next(events)[0] - START  # the block's time; copy k is k spans later
    conn = await asyncpg.connect(url)
    try:
        for table in (projection.visits, projection.ratings, projection.complaints, projection.records):
            await conn.copy_records_to_table(table.name, columns=table.columns,
                                             records=[tuple(r[c] for c in table.columns) for r in table.rows.values()])
        await conn.copy_records_to_table(
            "sync_events", records=remembered,
            columns=("event_id", "device_id", "epoch", "seq", "entity", "entity_id", "op", "hlc", "applied_at"))
        await conn.execute(LATER)
        await conn.execute("SET session_replication_role = replica")  # no foreign key checks: the rows are known good
        for statement in REPEAT:
            await conn.execute(statement.format(copies=copies - 1, ms=span // timedelta(milliseconds=1), block=block))
        last = await conn.fetchval("SELECT event_id FROM sync_events WHERE seq = $1", count)
        await conn.execute("INSERT INTO sync_cursors (device_id, epoch, last_seq, last_event_id, updated_at)"
                           " VALUES ($1, $2, $3, $4, $5)", device.device_id, epoch, count, last, now)
    finally:
        await conn.close()
    return START + copies * span


HEX = "lpad(to_hex(('x' || substr(id, 1, 8) || substr(id, 10, 4))::bit(48)::bigint + ms), 12, '0')"
LATER = f"""CREATE FUNCTION pg_temp.later(id text, ms bigint) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT substr({HEX}, 1, 8) || '-' || substr({HEX}, 9, 4) || substr(id, 14) $$"""
# Copy k of the block: ids and times k * {ms} milliseconds later, sequence numbers k * {block} further.
PLACES = {"SHIFT": "k::bigint * {ms}", "MOVED": "k * interval '{ms} milliseconds'"}
REPEAT = tuple(statement.replace("SHIFT", PLACES["SHIFT"]).replace("MOVED", PLACES["MOVED"]) for statement in (
    """INSERT INTO visits SELECT pg_temp.later(id, SHIFT), office_code, device_id, ticket_number, gender, age_band,
        education, occupation, institution, purposes, checked_in_at + MOVED, service_started_at + MOVED, wait_s,
        checked_out_at + MOVED, clock_flag FROM visits, generate_series(1, {copies}) AS k""",
    """INSERT INTO ratings SELECT pg_temp.later(id, SHIFT), office_code, source, device_id,
        pg_temp.later(visit_id, SHIFT), account_id, u1, u2, u3, u4, u5, u6, u7, u8, u9, comment, gender, age_band,
        education, occupation, rated_at + MOVED, received_at, clock_flag
        FROM ratings, generate_series(1, {copies}) AS k""",
    """INSERT INTO complaints SELECT pg_temp.later(id, SHIFT), tracking || '-' || k, office_code, origin, device_id,
        account_id, channel, text, contact, entered_by, status, received_at + MOVED, followed_up_at + MOVED,
        followed_up_by, resolved_at + MOVED, resolved_by, response, responded_at + MOVED, updated_at, clock_flag
        FROM complaints, generate_series(1, {copies}) AS k""",
    """INSERT INTO edge_records SELECT entity, pg_temp.later(record_id, SHIFT), office_code, device_id, data,
        born_at + MOVED, updated_at FROM edge_records, generate_series(1, {copies}) AS k""",
    """INSERT INTO sync_events SELECT pg_temp.later(event_id, SHIFT), device_id, epoch, seq + k * {block}, entity,
        pg_temp.later(entity_id, SHIFT), op,
        lpad((split_part(hlc, '.', 1)::bigint + SHIFT)::text, 13, '0') || '.' || split_part(hlc, '.', 2),
        applied_at FROM sync_events, generate_series(1, {copies}) AS k""",
))


async def analyze(url: str) -> None:
    """Statistics of the loaded tables, as autovacuum would soon have them."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()


async def incremental(urls: list[str], tmp: Path, synced: int, new: int, rounds: int) -> dict:
    servers, desks = [], []
    try:
        for url, name, already in zip(urls, ("small", "large"), (new, synced)):
            servers.append(server := Server(url, tmp / f"cloud-{name}"))
            enrolment = await server.enrol(tmp / f"desk-{name}")
            desks.append(desk := Desk(tmp / f"desk-{name}", enrolment, first_seq=already - new + 1))
            if already > new:
                started = time.perf_counter()
                device = DeviceAuth(enrolment.device_id, enrolment.office_code, enrolment.name)
                desk.events = desk_events.events(await preload(url, device, desk.epoch, already - new), seed=7401)
                print(f"incremental: {already - new:,} synced records loaded in {time.perf_counter() - started:.1f} s")
            desk.write(desk.events, new)
            await desk.round(new)  # the last `new` of the records already synced come through a real round
            await analyze(url)
        times: dict[str, list[float]] = {"small": [], "large": []}
        for _ in range(rounds):
            for name, desk in zip(times, desks):
                desk.write(desk.events, new)
                times[name].append(await desk.round(new))
        for desk in desks:
            await desk.close()
    finally:
        for server in servers:
            server.stop()
    return times


# --- the report -----------------------------------------------------------------------------------------------------

def spread(seconds: list[float]) -> str:
    return f"{min(seconds) * 1000:.0f}–{max(seconds) * 1000:.0f}"


def report(drained: dict, times: dict, synced: int, new: int) -> None:
    n, posts = drained["records"], drained["posts"]
    rate, floor_rate = n / drained["drain_s"], n / drained["floor_s"]
    print(f"1. drain of {n:,} records: {drained['drain_s']:.1f} s, {rate:,.0f} records/s (goal ≥ 2,000/s)"
          f"   floor, plain multi-row INSERT unindexed: {floor_rate:,.0f} records/s"
          f"   drain / floor: {rate / floor_rate:.2f}x   ({len(posts)} batches of {BATCH})")
    summary(f"drain of {n:,} records", rate, "records/s", floor_rate, "plain multi-row INSERT", "≥ 2,000/s",
            rate >= 2000)
    idle, bare = drained["idle"], drained["bare"]
    total = sum(x.up + x.down for x in idle)
    print(f"2. idle round: {len(idle)} request(s), {sum(x.up for x in idle)} B up + {sum(x.down for x in idle)} B down"
          f" = {total} B (goal 1 request < 1,024 B)"
          f"   GET /healthz by a plain client: {bare.up + bare.down} B ({total / (bare.up + bare.down):.2f}x)")
    summary("idle round, request and answer", total, "B", bare.up + bare.down, "GET /healthz", "1 request, < 1,024 B",
            len(idle) == 1 and total < 1024)
    small, large = statistics.median(times["small"]), statistics.median(times["large"])
    print(f"3. round sending {new:,} records: {large * 1000:.0f} ms with {synced:,} synced"
          f"   vs {small * 1000:.0f} ms with {new:,} synced: {large / small:.2f}x (goal ≤ 1.10x)"
          f"   [{spread(times['large'])} / {spread(times['small'])} ms, {len(times['small'])} rounds each]")
    summary(f"round of {new:,} records, {synced:,} synced, median", large * 1000, "ms", small * 1000,
            f"with {new:,} synced", "≤ 1.10×", large / small <= 1.10)
    up, down = sum(x.up for x in posts), sum(x.down for x in posts)
    print(f"4. on the wire per record: {up / n:.1f} B up (requests with their heads) + {down / n:.2f} B down (acks)"
          f"   gzip body alone {sum(len(x.body) for x in posts) / n:.1f} B   JSON before gzip"
          f" {drained['json_bytes'] / n:.1f} B ({drained['json_bytes'] / sum(len(x.body) for x in posts):.1f}x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=100_000, help="backlog to drain")
    parser.add_argument("--synced", type=int, default=1_000_000, help="records the large cloud already holds")
    parser.add_argument("--new", type=int, default=1_000, help="records of an incremental round")
    parser.add_argument("--rounds", type=int, default=11, help="timed incremental rounds per cloud")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, postgres() as cluster:
        tmp = Path(folder)
        drain_url, *urls = (cluster.new_database() for _ in range(3))
        drained = asyncio.run(drain(drain_url, tmp, args.records))
        times = asyncio.run(incremental(urls, tmp, args.synced, args.new, args.rounds))
    report(drained, times, args.synced, args.new)


if __name__ == "__main__":
    main()
