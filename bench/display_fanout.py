"""Call → display fan-out: the time from sending `POST /api/counters/1/call` until every one of 100 connected display
boards has the `call` event on its server-sent event stream (`/api/display/events`); p50/p95/max over ≥20 calls.

The appliance runs as `pst edge serve` does (real uvicorn, its own process, simulated hardware, loopback); the boards
are httpx.AsyncClient streams in this process, so the figure includes reading and parsing 100 streams here.

Baseline, in the same run on the same server: the same calls with one board connected, so the ratio shows what fanning
a call out to 100 boards costs over delivering it to one.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from collections import defaultdict

import httpx

from bench.harness import appliance_server, percentile, summary

STAFF, PASSWORD = "bench", "bench-fanout-1"
WAIT_S = 10.0  # a call not on every board by then aborts the run


class Boards:
    """`n` display boards on one event loop: when each has connected, and when each got which call."""

    def __init__(self, n: int):
        self.n = n
        self.connected = 0
        self.all_connected = asyncio.Event()
        self.arrivals: dict[str, list[float]] = defaultdict(list)
        self.all_arrived: dict[str, asyncio.Event] = defaultdict(asyncio.Event)

    async def watch(self, client: httpx.AsyncClient) -> None:
        async with client.stream("GET", "/api/display/events") as response:
            response.raise_for_status()
            event = None
            async for line in response.aiter_lines():
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:") and event == "board":
                    self.connected += 1
                    if self.connected == self.n:
                        self.all_connected.set()
                elif line.startswith("data:") and event == "call":
                    number = json.loads(line[5:])["number"]
                    self.arrivals[number].append(time.perf_counter())
                    if len(self.arrivals[number]) == self.n:
                        self.all_arrived[number].set()
                elif not line:
                    event = None


async def fan_out(base: str, boards_n: int, calls: int, warmup: int) -> list[float]:
    """Milliseconds from sending each call until the last of `boards_n` boards has it."""
    limits = httpx.Limits(max_connections=boards_n + 1, max_keepalive_connections=boards_n + 1)
    timeout = httpx.Timeout(WAIT_S, read=None)  # boards wait for calls; each wait below is bounded instead
    async with httpx.AsyncClient(base_url=base, timeout=10) as staff, \
            httpx.AsyncClient(base_url=base, timeout=timeout, limits=limits) as displays:
        (await staff.post("/api/session", json={"username": STAFF, "password": PASSWORD})).raise_for_status()
        for _ in range(warmup + calls):
            (await staff.post("/api/tickets", json={})).raise_for_status()
        boards = Boards(boards_n)
        watchers = [asyncio.create_task(boards.watch(displays)) for _ in range(boards_n)]
        try:
            await asyncio.wait_for(boards.all_connected.wait(), WAIT_S)
            latencies = []
            for i in range(warmup + calls):
                start = time.perf_counter()
                response = await staff.post("/api/counters/1/call")
                response.raise_for_status()
                number = response.json()["number"]
                await asyncio.wait_for(boards.all_arrived[number].wait(), WAIT_S)
                if i >= warmup:
                    latencies.append((max(boards.arrivals[number]) - start) * 1000)
            return latencies
        finally:
            for watcher in watchers:
                watcher.cancel()
            await asyncio.gather(*watchers, return_exceptions=True)


def report(name: str, samples: list[float]) -> None:
    print(
        f"{name:34s} n={len(samples)}  p50={percentile(samples, 50):6.2f} ms  "
        f"p95={percentile(samples, 95):6.2f} ms  max={max(samples):6.2f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--boards", type=int, default=100, help="display boards connected at once")
    parser.add_argument("--calls", type=int, default=30, help="timed calls per round (at least 20 is meaningful)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed calls first in each round")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, appliance_server(tmp, (STAFF, PASSWORD)) as base:
        one = asyncio.run(fan_out(base, 1, args.calls, args.warmup))
        many = asyncio.run(fan_out(base, args.boards, args.calls, args.warmup))
    report(f"call → all {args.boards} boards have it", many)
    report("baseline: call → 1 board has it", one)
    print(f"ratio {args.boards} boards/1 board: p50 {percentile(many, 50) / percentile(one, 50):.2f}x  "
          f"p95 {percentile(many, 95) / percentile(one, 95):.2f}x")
    summary(f"call → all {args.boards} boards p95", percentile(many, 95), "ms", percentile(one, 95),
            "call → 1 board p95")


if __name__ == "__main__":
    main()
