"""A fleet reconnecting at once: 500 appliances of 500 offices, each with a backlog, start their agents together
against one portal (`pst cloud serve`, one process, on PostgreSQL as in bench.sync) — what happens when the
internet of a whole province comes back.

Printed: time until every backlog is drained and everything checked in the cloud (each record exactly once, none
refused), how many requests the portal turned away with 429 + Retry-After (sent again within the round or in a
later one), whether any failed otherwise, and how the portal answered a reader meanwhile: p95 of `GET /healthz` (a
database round trip) probed every 100 ms during the storm by a process of its own, against the same probe on the
idle portal before it (the baseline, same run). Beside the drain, the same number of records drained by one
appliance alone (second baseline): the fleet pays for its 500 × 2 requests and the waits it was asked to make.

The agents are made before the clock starts, as they stand when the internet comes back (their HTTP clients made,
`timedatectl` asked): 500 of them share this machine's cores, where 500 appliances would each have their own.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import resource
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx

from bench import desk_events
from bench.harness import percentile, summary
from bench.sync import START, Desk, Server, postgres
from cloud.db import Database
from cloud.devices import Devices
from cloud.settings import CloudSettings
from edge import outbox
from edge.migrations import migrate
from edge.store import EdgeStore
from pst.clock import SystemClock
from pst.ids import new_id
from sync.agent import Agent, Enrolment, SyncError, backoff


async def enrol_fleet(server: Server, offices: int) -> list[Enrolment]:
    """Offices 7001… with one device each, enrolled in-process (the HTTP enrolment is not what is measured)."""
    db = Database(server.url)
    await db.start()
    try:
        devices = Devices(db, SystemClock(), CloudSettings.from_env(server.env).signing_key())
        fleet = []
        for n in range(offices):
            code = f"{7001 + n:04d}"
            await devices.ensure_office(code, f"BPS Kantor {code}")
            _, one_time = await devices.add_device(code, "Meja depan")
            auth, credential = await devices.enroll(one_time)
            fleet.append(Enrolment(server.base, auth.device_id, auth.office_code, auth.name, credential))
        return fleet
    finally:
        await db.stop()


def make_stores(tmp: Path, count: int, records: int) -> list[EdgeStore]:
    """Appliance databases from one migrated template (each its own epoch), `records` desk events in each."""
    template = EdgeStore(tmp / "template.db")
    migrate(template)
    template.close()
    stores = []
    for n in range(count):
        path = tmp / f"desk-{n}.db"
        shutil.copy(tmp / "template.db", path)
        store = EdgeStore(path)
        events = desk_events.events(START, seed=n)
        with store.write() as db:
            db.execute("UPDATE meta SET value = ? WHERE key = 'device_id'", [new_id()])
            for _ in range(records):
                at, entity, entity_id, op, payload = next(events)
                outbox.append(db, entity, entity_id, op, payload, at)
        stores.append(store)
    return stores


class Counts:
    def __init__(self):
        self.busy = self.failed = self.rounds = 0


def ready_agent(store: EdgeStore, enrolment: Enrolment, limits: httpx.Limits) -> Agent:
    """An appliance's agent as it stands when the internet comes back: its client made, its health probe warm (an
    agent that has run for a while asked `timedatectl` already). Made before the clock starts: on one machine 500
    agents' TLS contexts and `timedatectl` calls would take seconds of this process, not of the portal."""
    agent = Agent(store, enrolment, transport=httpx.AsyncHTTPTransport(limits=limits))
    agent.probe.collect(datetime.now(UTC))
    return agent


async def drain_one(agent: Agent, counts: Counts) -> None:
    """One appliance's agent until its backlog is empty: what `Agent.run` does, without the idle interval."""
    failures = 0
    try:
        while agent.store.read.execute("SELECT count(*) FROM outbox WHERE sent_at IS NULL").fetchone()[0]:
            counts.rounds += 1
            try:
                result = await agent.round()
                counts.busy += result.busy  # sent again at their turn; added after the await, not across it
                failures = 0
            except SyncError as exc:
                failures += 1
                if "429" in str(exc):
                    counts.busy += 1
                else:
                    counts.failed += 1
                await asyncio.sleep(exc.retry_after if exc.retry_after is not None else backoff(failures))
    finally:
        await agent.close()


def probe(base: str, ready, stop, answer) -> None:
    """A reader of the portal, in a process of its own (the fleet's event loop would delay it, not the portal):
    `GET /healthz` every 100 ms until `stop` is set; the durations are sent to `answer`."""
    samples = []
    with httpx.Client(base_url=base, timeout=30) as client:
        while not stop.is_set():
            started = time.perf_counter()
            response = client.get("/healthz")
            if response.status_code == 200:
                samples.append(time.perf_counter() - started)
            ready.set()
            stop.wait(0.1)
    answer.send(samples)


@contextmanager
def reader(base: str) -> Iterator[list[float]]:
    """The reader's samples while the block runs."""
    spawn = multiprocessing.get_context("spawn")
    ready, stop, (receive, send) = spawn.Event(), spawn.Event(), spawn.Pipe(duplex=False)
    process = spawn.Process(target=probe, args=(base, ready, stop, send), daemon=True)
    process.start()
    ready.wait(60)
    samples: list[float] = []
    try:
        yield samples
    finally:
        stop.set()
        samples += receive.recv()
        process.join()


async def storm(server: Server, stores: list[EdgeStore], fleet: list[Enrolment]) -> dict:
    with reader(server.base) as idle:
        await asyncio.sleep(3)
    counts, limits = Counts(), httpx.Limits(max_connections=1)
    agents = [ready_agent(s, e, limits) for s, e in zip(stores, fleet)]
    with reader(server.base) as busy:
        started = time.perf_counter()
        await asyncio.gather(*(drain_one(agent, counts) for agent in agents))
        elapsed = time.perf_counter() - started
    return {"elapsed": elapsed, "idle": idle, "busy": busy, "counts": counts}


async def alone(server: Server, tmp: Path, records: int) -> float:
    enrolment = await server.enrol(tmp / "alone")
    desk = Desk(tmp / "alone", enrolment)
    desk.write(desk.events, records)
    started = time.perf_counter()
    await desk.round(records)
    elapsed = time.perf_counter() - started
    await desk.close()
    return elapsed


async def check(url: str, offices: int, records: int) -> tuple[int, int, int]:
    db = Database(url)
    await db.start()
    try:
        events = (await db.execute("SELECT count(*) AS n, count(DISTINCT event_id) AS d FROM sync_events"))[0]
        dead = (await db.execute("SELECT count(*) AS n FROM sync_dead_letters"))[0]["n"]
        per_office = await db.execute("SELECT office_code, count(*) AS n FROM visits GROUP BY office_code")
        return events["n"] - events["d"], dead, len(per_office)
    finally:
        await db.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--offices", type=int, default=500)
    parser.add_argument("--records", type=int, default=40, help="backlog of each appliance")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # 500 stores (3 files each) and 500 connections
    with tempfile.TemporaryDirectory() as folder, postgres() as cluster:
        tmp = Path(folder)
        fleet_url, alone_url = cluster.new_database(), cluster.new_database()
        server = Server(fleet_url, tmp / "cloud")
        try:
            fleet = asyncio.run(enrol_fleet(server, args.offices))
            stores = make_stores(tmp, args.offices, args.records)
            result = asyncio.run(storm(server, stores, fleet))
            doubled, dead, offices_seen = asyncio.run(check(fleet_url, args.offices, args.records))
            left = sum(s.read.execute("SELECT count(*) FROM outbox WHERE sent_at IS NULL").fetchone()[0]
                       for s in stores)
            for store in stores:
                store.close()
        finally:
            server.stop()
        single = Server(alone_url, tmp / "cloud-alone")
        try:
            alone_s = asyncio.run(alone(single, tmp, args.offices * args.records))
        finally:
            single.stop()
    counts, total = result["counts"], args.offices * args.records
    idle95, busy95 = percentile(result["idle"], 95) * 1000, percentile(result["busy"], 95) * 1000
    print(f"fleet: {args.offices} appliances × {args.records} records reconnecting at once: drained in"
          f" {result['elapsed']:.1f} s ({total / result['elapsed']:,.0f} records/s); {counts.rounds} rounds,"
          f" {counts.busy} answered 429 + Retry-After, {counts.failed} other failures; left pending {left},"
          f" duplicated {doubled}, refused {dead}, offices with visits {offices_seen}")
    print(f"  the portal meanwhile: GET /healthz p95 {busy95:.0f} ms over {len(result['busy'])} probes"
          f"   idle baseline p95 {idle95:.1f} ms ({busy95 / idle95:.1f}x)")
    print(f"  one appliance alone with the same {total:,} records: {alone_s:.1f} s"
          f"   fleet / alone: {result['elapsed'] / alone_s:.1f}x")
    drained = result["elapsed"]
    summary(f"{args.offices} appliances × {args.records} records drained", drained, "s", alone_s,
            "one appliance alone, the same records", "≤ 3×", drained <= 3 * alone_s)
    summary("GET /healthz p95 during the drain", busy95, "ms", idle95, "idle portal p95", "≤ 5×",
            busy95 <= 5 * idle95)
    wrong = left + doubled + dead + counts.failed
    summary("records left, duplicated or refused; other failures", wrong, "", goal="0", met=wrong == 0)


if __name__ == "__main__":
    main()
