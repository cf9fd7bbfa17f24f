"""Press → all ticket bytes received by the printer emulator, over 1,000 presses, while two CPU-bound processes
run beside the appliance on this 2-core machine (a Pi's appliance shares its cores with the kiosk's Chromium).
Goals: p99 ≤ 20 ms, and p99 ≤ 1.5× the baseline's p99.

Baseline, measured in the same run and under the same load: the same ticket printed straight through python-escpos
to the emulator, with no button, database or spooler, so the ratio shows what the appliance adds over the printing
floor. The appliance runs at the priority its systemd unit gives it (`Nice=` of pst-edge.service, applied here when
this process may raise its priority, i.e. as root); the neighbours at the default. The same figures with nothing
beside it are printed first.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from datetime import datetime
from zoneinfo import ZoneInfo

from bench.harness import percentile, summary
from edge.appliance import Appliance
from edge.settings import EdgeSettings
from edge.slip import ticket_slip
from pst.clock import ManualClock

GOAL_P99_MS = 20.0
GOAL_RATIO = 1.5
UNIT = Path(__file__).parent.parent / "ansible/roles/appliance/templates/pst-edge.service.j2"


@contextmanager
def neighbours(count: int):
    """`count` CPU-bound processes (a busy loop each) for as long as the block runs."""
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]
    try:
        time.sleep(0.5)  # on their cores before the first press
        yield
    finally:
        for process in busy:
            process.kill()
            process.wait()


def unit_priority() -> int:
    """The `Nice=` the appliance's unit sets (0 when it sets none)."""
    found = re.search(r"^Nice=(-?\d+)$", UNIT.read_text(encoding="utf-8"), re.MULTILINE)
    return int(found[1]) if found else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--presses", type=int, default=1000)
    parser.add_argument("--neighbours", type=int, default=2, help="CPU-bound processes beside the appliance")
    args = parser.parse_args()
    nice = unit_priority()
    try:
        os.setpriority(os.PRIO_PROCESS, 0, nice)
        print(f"appliance at nice {nice}, as pst-edge.service sets it")
    except PermissionError:
        print(f"appliance at nice {os.getpriority(os.PRIO_PROCESS, 0)} (pst-edge.service sets {nice}; needs root here)")
    with tempfile.TemporaryDirectory() as tmp:
        settings = EdgeSettings.from_env({"PST_DATA_DIR": tmp, "PST_EDGE_HARDWARE": "sim"})
        clock = ManualClock(datetime(2026, 11, 30, 9, tzinfo=ZoneInfo("Asia/Makassar")))
        appliance = Appliance(settings, clock=clock).start()
        try:
            measure(appliance, clock, 20)  # warm: the first presses open the printer's connection and the caches
            idle = measure(appliance, clock, args.presses // 2)
            with neighbours(args.neighbours):
                press, floor = measure(appliance, clock, args.presses)
        finally:
            appliance.stop()
    print("nothing beside it:")
    report("  press → ticket received", idle[0])
    report("  baseline: escpos print only", idle[1])
    print(f"{args.neighbours} CPU-bound processes beside it:")
    report("  press → ticket received", press)
    report("  baseline: escpos print only", floor)
    p99, ratio = percentile(press, 99), percentile(press, 99) / percentile(floor, 99)
    print(f"ratio p50 press/baseline: {statistics.median(press) / statistics.median(floor):.2f}x")
    print(f"goal p99 ≤ {GOAL_P99_MS:.0f} ms under load: {'met' if p99 <= GOAL_P99_MS else 'MISSED'} ({p99:.2f} ms)")
    print(f"goal p99 press / p99 baseline ≤ {GOAL_RATIO}x: {'met' if ratio <= GOAL_RATIO else 'MISSED'}"
          f" ({ratio:.2f}x)")
    figure, baseline = f"press → ticket p99, {args.neighbours} busy beside", percentile(floor, 99)
    summary(figure, p99, "ms", baseline, "escpos print only p99", f"≤ {GOAL_P99_MS:.0f} ms", p99 <= GOAL_P99_MS)
    summary(figure, p99, "ms", baseline, "escpos print only p99", f"≤ {GOAL_RATIO}×", ratio <= GOAL_RATIO)
    summary("press → ticket p99, nothing beside", percentile(idle[0], 99), "ms", percentile(idle[1], 99),
            "escpos print only p99")


def measure(appliance: Appliance, clock: ManualClock, presses: int) -> tuple[list[float], list[float]]:
    emulator, printer = appliance.hardware.emulator, appliance.hardware.printer
    emulator.clear()  # each series counts its own tickets
    press_ms, floor_ms = [], []
    for i in range(presses):
        clock.advance(appliance.config.queue.min_press_interval_s)
        start = time.perf_counter()
        appliance.hardware.press_button()
        emulator.wait_for_tickets(2 * i + 1, timeout=5)
        press_ms.append((time.perf_counter() - start) * 1000)
        appliance.spooler.wait_idle()
        ticket = appliance.queue.of_day()[-1]
        slip = ticket_slip(ticket, 0, appliance.config, appliance.settings.public_url)
        start = time.perf_counter()
        printer.print_receipt(slip)
        emulator.wait_for_tickets(2 * i + 2, timeout=5)
        floor_ms.append((time.perf_counter() - start) * 1000)
    return press_ms, floor_ms


def report(name: str, samples: list[float]) -> None:
    print(
        f"{name:34s} n={len(samples)}  p50={percentile(samples, 50):6.2f} ms  "
        f"p99={percentile(samples, 99):6.2f} ms  max={max(samples):6.2f} ms"
    )


if __name__ == "__main__":
    main()
