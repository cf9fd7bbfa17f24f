"""A replacement appliance's restore from the portal, for a year-sized appliance database. Goal: ≤ 60 s here.

The desk plays a year of office days through its own services (edge.demo_activity: tickets, guestbook, calls,
lockers, fetches, scans, ratings, complaints), and syncs it to `pst cloud serve` (SQLite, its own process). Its backup
goes up with the next round; then another office day is played and synced, which only the portal's journal holds.
Timed: `pst edge restore --from-cloud` in a new data folder, as a technician runs it — a process that enrols with a
replacement code, fetches the backup, checks it, puts it in place, migrates it and replays the day from the
journal. The baseline from the same run: `pst edge restore FILE --offline` of the same backup already on the card
(the copy, its integrity check and the migration, nothing from the network), and the bare `cp` of the file.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import shutil
import subprocess
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from bench.harness import PST, summary
from bench.sync import Server
from edge.demo_activity import generate_activity
from edge.health import record_backup
from edge.migrations import migrate
from edge.settings import EdgeSettings
from edge.store import EdgeStore
from pst.clock import SystemClock
from sync.agent import Agent

GOAL_S = 60.0
UNTIL = date(2026, 12, 1)


def settings_for(folder: Path) -> EdgeSettings:
    return EdgeSettings.from_env({"PST_DATA_DIR": str(folder), "PST_EDGE_HARDWARE": "sim"})


def play(folder: Path, until: date, days: int) -> int:
    settings = settings_for(folder)
    store = EdgeStore(settings.db_path)
    try:
        migrate(store)
        return generate_activity(store, settings, until, days=days)
    finally:
        store.close()


async def sync_all(folder: Path, enrolment) -> int:
    store = EdgeStore(folder / "edge.db")
    agent = Agent(store, enrolment, data_dir=folder, health=False)
    try:
        sent = 0
        while True:
            result = await agent.round()
            sent += result.sent
            if not result.sent:
                return sent
    finally:
        await agent.close()
        store.close()


def timed(env: dict[str, str], *args: str) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run([*PST, *args], env=os.environ | env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"pst {' '.join(args)} failed: {done.stdout}{done.stderr}")
    return elapsed, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=365, help="calendar days the desk plays before its backup")
    args = parser.parse_args()
    logging.getLogger("edge.scans").setLevel(logging.ERROR)  # the year's jammed scans are part of the story
    with tempfile.TemporaryDirectory(prefix="pst-bench-restore-") as tmp:
        root = Path(tmp)
        desk = root / "desk"
        started = time.perf_counter()
        visits = play(desk, UNTIL - timedelta(days=1), args.days)
        played = time.perf_counter() - started
        server = Server(f"sqlite:///{root / 'cloud' / 'cloud.db'}", root / "cloud")
        try:
            enrolment = asyncio.run(server.enrol(desk))
            asyncio.run(sync_all(desk, enrolment))
            store = EdgeStore(desk / "edge.db")
            try:
                copy = store.backup(desk / "backups" / "edge-year.db")
            finally:
                store.close()
            record_backup(desk / "backups", SystemClock().now(), True, str(copy.resolve()))
            asyncio.run(sync_all(desk, enrolment))  # the round that takes the backup up
            visits_after = play(desk, UNTIL + timedelta(days=1), 2) - visits  # the days after: in the journal only
            sent_after = asyncio.run(sync_all(desk, enrolment))
            code = subprocess.run([*PST, "cloud", "device", "replace", enrolment.device_id], env=server.env,
                                  capture_output=True, text=True, check=True).stdout.strip()
            new_card = root / "new-card"
            restore_s, output = timed({"PST_DATA_DIR": str(new_card), "PST_ENROL_CODE": code},
                                      "edge", "restore", "--from-cloud", "--cloud", server.base)
            if "records made after the backup came back" not in output:
                raise SystemExit(f"the restore did not catch up: {output}")
            local_card = root / "local-card"
            (local_card / "backups").mkdir(parents=True)
            shutil.copy(copy, local_card / "backups" / copy.name)
            local_s, _ = timed({"PST_DATA_DIR": str(local_card)}, "edge", "restore", "--offline")
            started = time.perf_counter()
            shutil.copy(copy, root / "plain-copy.db")
            copy_s = time.perf_counter() - started
        finally:
            server.stop()
        stored = next((root / "cloud" / "device-backups").rglob("*.db.gz")).stat().st_size
        print(f"desk: {args.days} days played in {played:.0f} s, {visits:,} visits; backup {copy.stat().st_size:,} B "
              f"(sent gzip-compressed: {stored:,} B); the two days after: {visits_after} visits, {sent_after:,} records "
              "in the portal's journal only")
        print(f"restore from the portal (enrol, fetch, check, migrate, replay): {restore_s:.1f} s  (goal ≤ {GOAL_S:.0f} s)")
        print(f"baseline, the same backup restored from the card, offline: {local_s:.1f} s; a plain copy: {copy_s:.2f} s")
        for line in output.splitlines():
            print("  " + line)
        summary(f"restore from the portal, {args.days} days", restore_s, "s", local_s, "offline, from the card",
                f"≤ {GOAL_S:.0f} s", restore_s <= GOAL_S)
        if restore_s > GOAL_S:
            raise SystemExit(f"over the goal: {restore_s:.1f} s > {GOAL_S:.0f} s")


if __name__ == "__main__":
    main()
