"""What the benchmarks share: percentiles, the appliance as `pst edge serve` runs it, and the portal served from a
thread beside the benchmark's own database connection, each on a free loopback port."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

PST = [sys.executable, "-c", "from pst.cli import main; main()"]


def percentile(samples: list[float], p: float) -> float:
    """Nearest rank."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def appliance_server(data_dir: str, staff: tuple[str, str] | None = None) -> Iterator[str]:
    """`pst edge serve` in its own process with simulated hardware (and a frontliner when `staff` is given);
    yields its base URL and stops it (SIGTERM) on exit."""
    port = free_port()
    env = os.environ | {"PST_DATA_DIR": data_dir, "PST_EDGE_HARDWARE": "sim", "PST_EDGE_PORT": str(port)}
    if staff is not None:
        subprocess.run([*PST, "edge", "user", "add", staff[0], "--role", "frontliner"], input=staff[1] + "\n",
                       env=env, text=True, check=True, stdout=subprocess.DEVNULL)
    proc = subprocess.Popen([*PST, "edge", "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("the appliance did not start") from None
                time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=15)


@contextmanager
def portal_in_thread(data_dir: str, database_url: str) -> Iterator[str]:
    """The portal's app on uvicorn in a thread of this process, so that a benchmark times its bare queries against
    the same database in the same run; yields its base URL and stops it on exit."""
    import uvicorn

    from cloud.app import create_app
    from cloud.settings import CloudSettings

    settings = CloudSettings.from_env({"PST_DATA_DIR": data_dir, "PST_CLOUD_DATABASE_URL": database_url,
                                       "PST_CLOUD_SMTP_URL": "smtp://127.0.0.1:1", "PST_CLOUD_SECRET": "b" * 32})
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join()


def summary(figure: str, value: float, unit: str, baseline: float | None = None, baseline_name: str = "",
            goal: str = "", met: bool | None = None, *, baseline_unit: str | None = None,
            benchmark: str | None = None) -> None:
    """One figure for the table `make bench` prints at the end: a JSON line appended to the file named by
    PST_BENCH_SUMMARY; nothing without it, so a benchmark run alone prints what it always did. `met` is the
    benchmark's own verdict on `goal` (None without a goal); the baseline is in `unit` unless `baseline_unit` says
    otherwise; `benchmark` defaults to the module run with `python -m bench.…`."""
    path = os.environ.get("PST_BENCH_SUMMARY")
    if not path:
        return
    line = {"benchmark": benchmark or _running_benchmark(), "figure": figure, "value": value, "unit": unit,
            "baseline": baseline, "baseline_name": baseline_name, "baseline_unit": baseline_unit or unit,
            "goal": goal, "met": met}
    with open(path, "a", encoding="utf-8") as out:
        out.write(json.dumps(line, ensure_ascii=False) + "\n")


def _running_benchmark() -> str:
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    name = spec.name if spec is not None else Path(sys.argv[0]).stem
    return name.removeprefix("bench.")
