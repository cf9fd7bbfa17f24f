"""The idle round's bytes with the appliance's health on it, beside the same round without (an older agent), over real
HTTP: `pst cloud serve` (uvicorn) on SQLite in its own process, and `Agent.round()` through the transport that counts
what goes on the wire (bench.sync_wire: request and status lines, headers and bodies). Goal: one request, the
request and its answer together under 1,024 B, with health.

The desk first syncs a few records, so both idle rounds find nothing to send; the health is what the appliance really
reads (edge.health: its database, data folder, alerts, backup marker), with a printer alert and a locker alert open
and a backup recorded, so the lists are not empty. Then, for the widest health the protocol lets an appliance send
in practice (every field, four alerts, seven open days), the header alone and the pair it would make.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path

from bench.harness import summary
from bench.sync import START, Desk, Server
from bench.sync_wire import Exchange, Wire
from edge.alerts import raise_alert
from edge.health import record_backup
from edge.printing import FAULT_MESSAGES
from sync.agent import Agent
from sync.protocol import HEALTH_VERSION, Health, health_header

WIDEST = Health(HEALTH_VERSION, software="0.1.0+g1a2b3c4", boot_at=1_764_900_000, disk_free=28_123_456_789,
                disk_free_pct=87.4, db_bytes=1_234_567_890, ntp=True, clock_offset_ms=-123_456, printer="paper_out",
                scanner="scanning", lockers=[3, 12], pending=123_456, oldest_pending_s=86_400,
                backup_at=1_764_900_000, backup_ok=False, alerts=["locker_12", "locker_3", "printer", "storage_full"],
                alert_count=4, opening_hours="Asia/Pontianak " + " ".join(["0730-1600"] * 5 + ["0800-1200"] * 2))
GOAL = 1024  # bytes, the request and its answer together


async def idle(agent: Agent, wire: Wire, rounds: int) -> list[Exchange]:
    """The exchanges of the last of `rounds` idle rounds (the first carries the clock offset from no answer yet)."""
    for _ in range(rounds):
        wire.exchanges.clear()
        result = await agent.round()
        if result.sent or result.received:
            raise SystemExit(f"the round was not idle: sent {result.sent}, received {result.received}")
    return list(wire.exchanges)


async def measure(tmp: Path, records: int) -> dict:
    server = Server(f"sqlite:///{tmp / 'cloud' / 'cloud.db'}", tmp / "cloud")
    try:
        desk = Desk(tmp / "desk", await server.enrol(tmp / "desk"))
        desk.write(desk.events, records)
        await desk.round(records)
        raise_alert(desk.store, "printer", FAULT_MESSAGES["paper_out"], START)
        raise_alert(desk.store, "locker_3", "Pintu loker 3 masih terbuka; mohon ditutup.", START)
        record_backup(tmp / "desk" / "backups", START, True)
        with_health = await idle(desk.agent, desk.wire, 2)
        header = desk.agent._health() or ""
        older_wire = Wire()
        older = Agent(desk.store, desk.enrolment, transport=older_wire, health=False)
        without = await idle(older, older_wire, 1)
        await older.close()
        await desk.close()
    finally:
        server.stop()
    return {"with": with_health, "without": without, "header": header}


def line(name: str, exchanges: list[Exchange]) -> str:
    up, down = sum(x.up for x in exchanges), sum(x.down for x in exchanges)
    return f"{name:<24} {len(exchanges)} request(s) {up:>5} B up {down:>5} B down {up + down:>6} B"


def report(measured: dict) -> None:
    with_health, without = measured["with"], measured["without"]
    up_with, up_without = sum(x.up for x in with_health), sum(x.up for x in without)
    pair = up_with + sum(x.down for x in with_health)
    widest = len(health_header(WIDEST))
    print("idle round, bytes on the wire (request and status lines, headers, bodies)")
    print(line("without health (older)", without))
    print(line("with health", with_health))
    print(f"health header: {len(measured['header'])} B as read on this desk: {measured['header']}")
    print(f"health adds {up_with - up_without} B up; widest health in practice: {widest} B,"
          f" which would make the pair {pair - len(measured['header']) + widest} B")
    goal = len(with_health) == 1 and pair < GOAL
    print(f"goal one request, request and answer together under {GOAL:,} B, with health:"
          f" {'met' if goal else 'NOT MET'}")
    summary("idle round with health, request and answer", pair, "B",
            up_without + sum(x.down for x in without), "without health (older agent)", f"1 request, < {GOAL:,} B",
            goal)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=20, help="records synced before the idle rounds (default 20)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pst-bench-health-") as folder:
        report(asyncio.run(measure(Path(folder), args.records)))


if __name__ == "__main__":
    main()
