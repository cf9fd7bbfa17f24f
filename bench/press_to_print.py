"""Press → all ticket bytes received by the printer emulator, over 1,000 presses (goal: p99 ≤ 20 ms).

Baseline, measured in the same run: the same ticket printed straight through python-escpos to the emulator, with no
button, database or spooler, so the ratio shows what the appliance adds over the printing floor.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import datetime
from zoneinfo import ZoneInfo

from bench.harness import percentile
from edge.appliance import Appliance
from edge.settings import EdgeSettings
from edge.slip import ticket_slip
from pst.clock import ManualClock

GOAL_P99_MS = 20.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--presses", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = EdgeSettings.from_env({"PST_DATA_DIR": tmp, "PST_EDGE_HARDWARE": "sim"})
        clock = ManualClock(datetime(2026, 11, 30, 9, tzinfo=ZoneInfo("Asia/Makassar")))
        appliance = Appliance(settings, clock=clock).start()
        try:
            press, floor = measure(appliance, clock, args.presses)
        finally:
            appliance.stop()
    report("press → ticket received", press)
    report("baseline: escpos print only", floor)
    p99 = percentile(press, 99)
    print(f"ratio p50 press/baseline: {statistics.median(press) / statistics.median(floor):.2f}x")
    print(f"goal p99 ≤ {GOAL_P99_MS:.0f} ms: {'met' if p99 <= GOAL_P99_MS else 'MISSED'} ({p99:.2f} ms)")


def measure(appliance: Appliance, clock: ManualClock, presses: int) -> tuple[list[float], list[float]]:
    emulator, printer = appliance.hardware.emulator, appliance.hardware.printer
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
        f"{name:32s} n={len(samples)}  p50={percentile(samples, 50):6.2f} ms  "
        f"p99={percentile(samples, 99):6.2f} ms  max={max(samples):6.2f} ms"
    )


if __name__ == "__main__":
    main()
