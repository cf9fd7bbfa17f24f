"""Tickets per second through `POST /api/tickets` on a real uvicorn server on loopback.

Baseline, in the same run and on the same server: `GET /healthz`, so the ratio shows the cost of issuing (a durable
SQLite commit with its outbox event, and the hand-off to the printer) over the web stack itself.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time

import httpx
import uvicorn

from bench.harness import summary
from edge.app import create_app
from edge.settings import EdgeSettings


def rate(base: str, method: str, path: str, seconds: float, clients: int) -> tuple[float, int]:
    counts = [0] * clients
    stop = time.perf_counter() + seconds

    def worker(i: int) -> None:
        with httpx.Client(base_url=base, timeout=10) as client:
            while time.perf_counter() < stop:
                response = client.request(method, path, json={} if method == "POST" else None)
                response.raise_for_status()
                counts[i] += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / (time.perf_counter() - start), sum(counts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = EdgeSettings.from_env({"PST_DATA_DIR": tmp, "PST_EDGE_HARDWARE": "sim"})
        app = create_app(settings)
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        port = server.servers[0].sockets[0].getsockname()[1]
        base = f"http://127.0.0.1:{port}"
        try:
            issued, n_issued = rate(base, "POST", "/api/tickets", args.seconds, args.clients)
            health, n_health = rate(base, "GET", "/healthz", args.seconds, args.clients)
            app.state.appliance.spooler.wait_idle(timeout=60)
            numbers = app.state.appliance.store.read.execute("SELECT count(DISTINCT number) FROM tickets").fetchone()[0]
        finally:
            server.should_exit = True
            thread.join()
    print(f"POST /api/tickets: {issued:8.1f} tickets/s  ({n_issued} issued, {numbers} distinct numbers)")
    print(f"baseline GET /healthz: {health:8.1f} requests/s  ({n_health})")
    print(f"ratio issue/baseline: {issued / health:.2f}")
    summary("POST /api/tickets", issued, "tickets/s", health, "GET /healthz", baseline_unit="requests/s")


if __name__ == "__main__":
    main()
