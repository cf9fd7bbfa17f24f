"""What the appliance asks of a Raspberry Pi: the memory of `pst edge serve` and `pst sync run` together, and how soon
a started appliance answers and prints. Goals: ≤ 120 MB together at rest after a morning of work, ≤ 180 MB at the
peak of a 50-page scan and the month's report export, /healthz ≤ 0.8 s and the first ticket ≤ 1.0 s after the
process starts.

The real processes, simulated hardware, on loopback: the appliance, and its sync agent enrolled with a portal (`pst
cloud serve` on SQLite, in a process of its own that is not counted). The morning: 200 presses of the simulated button
(`POST /_sim/button`), guestbook entries, a scan of a few pages with its download, a sign-in and the staff's report
page; then the busiest minute of the day: a 50-page scan with its download, and the month's report exported as XLSX
and as PDF, until the agent has carried the scan to the portal. Resident (RSS) and proportional (PSS: shared pages
divided among the processes sharing them) sizes come from /proc/<pid>/smaps_rollup, sampled through the morning and
through the busy minute for their peaks (the appliance's own worker processes, which make PDFs and spreadsheets,
counted with it) and read at rest after each once the agent has sent everything; the kernel's own high-water mark
(VmHWM) is printed beside. The goal at rest (≤ 120 MB PSS together) is after the morning; the goal's peak (≤ 180 MB
together) is the busy minute's, and the morning's peak includes the sign-in's argon2 hash (64 MiB, RFC 9106's
low-memory profile).

The appliance's processes (and the hello app) see only the packages an appliance has, those of
`requirements/edge.txt`: the others installed here (pydantic, attrs, …) are hidden from them by a `sitecustomize`
on their PYTHONPATH, since Litestar loads its pydantic and attrs plugins whenever it can import them, and a Pi
cannot. `--all-packages` measures them with everything this machine has.

Baselines, measured in the same run: for memory, a bare interpreter waiting on its standard input, and a hello-world
Litestar app on uvicorn at rest; for start, the interpreter's own start and exit (`python -c pass`), and the hello
app's start → its first 200.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from bench.harness import PST, free_port, summary

GOAL_REST_MB, GOAL_PEAK_MB, GOAL_HEALTHZ_S, GOAL_TICKET_S = 120.0, 180.0, 0.8, 1.0
ROOT = Path(__file__).parents[1]
DEFAULT_TOML = ROOT / "edge" / "default.toml"
EDGE_LOCK = ROOT / "requirements" / "edge.txt"
HIDING = """
import sys

HIDDEN = frozenset({hidden!r})


class NotOnTheAppliance:
    \"\"\"Imports of the packages an appliance does not have fail as they would there.\"\"\"

    @staticmethod
    def find_spec(name, path=None, target=None):
        if name.partition(".")[0] in HIDDEN:
            raise ModuleNotFoundError(f"No module named {{name!r}} (not in requirements/edge.txt)", name=name)
        return None


sys.meta_path.insert(0, NotOnTheAppliance)
"""
HELLO_APP = """
import uvicorn
from litestar import Litestar, get

@get("/healthz", sync_to_thread=False)
def healthz() -> dict:
    return {"status": "ok"}

uvicorn.run(Litestar([healthz]), host="127.0.0.1", port=int(__import__("sys").argv[1]), log_level="warning")
"""
GUEST = {"gender": "P", "occupation": "peneliti", "institution": "Universitas Halu Oleo", "id_type": "KTP"}


def memory_kb(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of a process in kB."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:])
    return int(fields["Rss"].split()[0]), int(fields["Pss"].split()[0])


def high_water_kb(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(status.split("VmHWM:")[1].split()[0])


class Sampler:
    """Reads the processes' sizes every `every` seconds in a thread; keeps the highest of each and of their sum."""

    def __init__(self, pids: dict[str, int], every: float = 0.02):  # each pid with its worker processes
        self.pids, self.every = pids, every
        self.peak = {name: [0, 0] for name in [*pids, "together"]}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            sizes = {name: tree_kb(pid) for name, pid in self.pids.items()}
            sizes["together"] = tuple(map(sum, zip(*sizes.values())))
            for name, (rss, pss) in sizes.items():
                self.peak[name] = [max(self.peak[name][0], rss), max(self.peak[name][1], pss)]


def until_ok(client: httpx.Client, url: str, proc: subprocess.Popen, started: float) -> float:
    """Seconds from `started` to the first 200 from `url`, polled every 5 ms."""
    while True:
        try:
            if client.get(url).status_code == 200:
                return time.monotonic() - started
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() - started > 60:
            raise SystemExit(f"{url}: the process did not start")
        time.sleep(0.005)


def not_on_the_appliance() -> list[str]:
    """The top-level modules installed here whose distributions are all missing from `requirements/edge.txt`."""
    locked = {normal(line.split("==")[0]) for line in EDGE_LOCK.read_text().splitlines() if "==" in line}
    locked.add("pst-pustaka")  # the project itself
    return sorted(module for module, dists in importlib.metadata.packages_distributions().items()
                  if not any(normal(dist) in locked for dist in dists) and not module.startswith("_"))


def normal(name: str) -> str:
    """A distribution's name as PEP 503 compares them."""
    return re.sub(r"[-_.]+", "-", name).lower()


def appliance_environment(root: Path, hidden: list[str]) -> dict:
    """What the appliance's processes run with: the packages in `hidden` cannot be imported."""
    folder = root / "edge-packages-only"
    folder.mkdir()
    (folder / "sitecustomize.py").write_text(HIDING.format(hidden=hidden))
    path = os.pathsep.join(p for p in (str(folder), os.environ.get("PYTHONPATH")) if p)
    return os.environ | {"PYTHONPATH": path}


def process_tree(pid: int) -> list[int]:
    """`pid` and its descendants (the appliance's worker processes)."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # ended meanwhile
            continue
        parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    tree, todo = [], [pid]
    while todo:
        tree.append(todo.pop())
        todo.extend(parents.get(tree[-1], []))
    return tree


def tree_kb(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of `pid` and its descendants, in kB."""
    total = [0, 0]
    for member in process_tree(pid):
        try:
            rss, pss = memory_kb(member)
        except (OSError, KeyError):  # ended meanwhile
            continue
        total = [total[0] + rss, total[1] + pss]
    return total[0], total[1]


def pst(env: dict, *args: str, stdin: str | None = None) -> str:
    return subprocess.run([*PST, *args], env=env, input=stdin, capture_output=True, text=True, check=True).stdout


# --- the baselines --------------------------------------------------------------------------------------------------

def interpreter_start(runs: int) -> float:
    samples = []
    for _ in range(runs):
        started = time.monotonic()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        samples.append(time.monotonic() - started)
    return statistics.median(samples)


def bare_interpreter_kb(env: dict) -> tuple[int, int]:
    proc = subprocess.Popen([sys.executable, "-c", "print('up', flush=True); import sys; sys.stdin.read()"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    try:
        proc.stdout.readline()
        return memory_kb(proc.pid)
    finally:
        proc.stdin.close()
        proc.wait()


def hello_app(runs: int, env: dict) -> tuple[float, tuple[int, int]]:
    """Median start → first 200 of the hello app, and its sizes at rest after the last start."""
    samples, sizes = [], (0, 0)
    with httpx.Client(timeout=1) as client:
        for _ in range(runs):
            port = free_port()
            started = time.monotonic()
            proc = subprocess.Popen([sys.executable, "-c", HELLO_APP, str(port)], env=env)
            try:
                samples.append(until_ok(client, f"http://127.0.0.1:{port}/healthz", proc, started))
                time.sleep(0.5)
                sizes = memory_kb(proc.pid)
            finally:
                proc.terminate()
                proc.wait()
    return statistics.median(samples), sizes


# --- the appliance --------------------------------------------------------------------------------------------------

def setting_up(root: Path, appliance_env: dict) -> tuple[dict, dict, subprocess.Popen]:
    """The environments of the appliance and of the portal, the portal running, the appliance enrolled with it and
    the office head (an admin: the reports are hers) added; presses may follow each other at once (the morning is played
    faster than a desk's)."""
    config = root / "appliance.toml"
    config.write_text(DEFAULT_TOML.read_text().replace("min_press_interval_s = 2.0", "min_press_interval_s = 0"))
    portal_port = free_port()
    portal = os.environ | {"PST_DATA_DIR": str(root / "portal"), "PST_CLOUD_PORT": str(portal_port),
                           "PST_CLOUD_SMTP_URL": "smtp://127.0.0.1:1", "PST_CLOUD_SECRET": "f" * 32}
    edge = appliance_env | {"PST_DATA_DIR": str(root / "edge"), "PST_EDGE_HARDWARE": "sim",
                         "PST_EDGE_PORT": str(free_port()), "PST_EDGE_CONFIG": str(config), "PST_SYNC_INTERVAL": "2"}
    pst(portal, "cloud", "migrate")
    pst(portal, "cloud", "office", "add", "7400", "BPS Provinsi Sulawesi Tenggara")
    code = pst(portal, "cloud", "device", "add", "--office", "7400", "--name", "Meja depan").split()[0]
    proc = subprocess.Popen([*PST, "cloud", "serve"], env=portal, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with httpx.Client(timeout=1) as client:
        until_ok(client, f"http://127.0.0.1:{portal_port}/healthz", proc, time.monotonic())
    pst(edge | {"PST_ENROL_CODE": code}, "edge", "enroll", "--cloud", f"http://127.0.0.1:{portal_port}")
    pst(edge, "edge", "user", "add", "petugas", "--role", "admin", stdin="rahasia-petugas-1\n")
    return edge, portal, proc


def start_appliance(edge: dict, client: httpx.Client) -> tuple[subprocess.Popen, float, float]:
    """`pst edge serve` started: (process, seconds to /healthz 200, seconds to the first ticket in the printer)."""
    started = time.monotonic()
    proc = subprocess.Popen([*PST, "edge", "serve"], env=edge, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    healthy = until_ok(client, "/healthz", proc, started)
    client.post("/_sim/button").raise_for_status()
    while not client.get("/_sim/printer").json()["tickets"]:
        time.sleep(0.005)
    return proc, healthy, time.monotonic() - started


def morning(client: httpx.Client, presses: int, guests: int) -> str:
    """The presses (one was the first ticket), guestbook entries for some of the tickets, a scan, the report page."""
    for _ in range(presses - 1):
        client.post("/_sim/button").raise_for_status()
    visits = []
    for i in range(guests):
        purposes = ["pindai"] if i == 0 else ["baca_tercetak"]
        answer = client.post("/api/visits", json=GUEST | {"name": f"Pengunjung {i}", "email": f"tamu.{i}@contoh.id",
                                                          "ticket_number": f"A{i + 1:03d}", "purposes": purposes})
        answer.raise_for_status()
        visits.append(answer.json()["id"])
    scan(client, visits[0], 5)
    client.post("/api/session", json={"username": "petugas", "password": "rahasia-petugas-1"}).raise_for_status()
    client.get("/petugas/laporan").raise_for_status()
    return visits[0]


def scan(client: httpx.Client, visit: str, pages: int) -> None:
    """`pages` put in the simulated feeder, scanned for `visit`, the PDF downloaded."""
    client.post("/_sim/scanner/feed", json={"pages": pages}).raise_for_status()
    job = client.post("/api/scans", json={"visit_id": visit}).json()["id"]
    while (state := client.get(f"/api/scans/{job}").json())["status"] == "scanning":
        time.sleep(0.1)
    if state["status"] != "ready":
        raise SystemExit(f"the scan ended {state['status']}")
    client.get(f"/d/{state['download_code']}").raise_for_status()


def busy_minute(client: httpx.Client, visit: str, pages: int) -> None:
    """A long scan, then the month's report (the month so far: the page's default) as XLSX and as PDF."""
    scan(client, visit, pages)
    for kind in ("xlsx", "pdf"):
        client.get(f"/petugas/laporan/{kind}").raise_for_status()


def sent(client: httpx.Client) -> None:
    """Waits until the agent has sent every record."""
    deadline = time.monotonic() + 120
    while client.get("/healthz").json()["outbox_pending"]:
        if time.monotonic() > deadline:
            raise SystemExit("the sync agent did not empty the outbox")
        time.sleep(0.5)


def at_rest(client: httpx.Client, pids: dict[str, int], settle: float) -> dict[str, tuple[int, int]]:
    """Sizes once the agent has sent every record and `settle` seconds have passed with nothing to do."""
    sent(client)
    time.sleep(settle)
    sizes = {name: tree_kb(pid) for name, pid in pids.items()}
    return sizes | {"together": tuple(map(sum, zip(*sizes.values())))}


def mb(kb: int) -> str:
    return f"{kb / 1024:6.1f} MB"


def sizes(rss_pss) -> str:
    return f"{rss_pss[0] / 1024:5.1f} / {rss_pss[1] / 1024:5.1f} MB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presses", type=int, default=200)
    parser.add_argument("--guests", type=int, default=20)
    parser.add_argument("--settle", type=float, default=5.0, help="seconds idle before the sizes at rest")
    parser.add_argument("--runs", type=int, default=5, help="starts of each baseline (medians)")
    parser.add_argument("--starts", type=int, default=4, help="starts of the appliance (median of all but the first)")
    parser.add_argument("--pages", type=int, default=50, help="pages of the busy minute's scan")
    parser.add_argument("--all-packages", action="store_true",
                        help="let the appliance import every package installed here, not only requirements/edge.txt's")
    args = parser.parse_args()
    hidden = [] if args.all_packages else not_on_the_appliance()
    with tempfile.TemporaryDirectory() as tmp:
        appliance_env = appliance_environment(Path(tmp), hidden)
        python_start, (bare_rss, bare_pss) = interpreter_start(args.runs), bare_interpreter_kb(appliance_env)
        hello_start, (hello_rss, hello_pss) = hello_app(args.runs, appliance_env)
        edge, _, portal = setting_up(Path(tmp), appliance_env)
        base = f"http://127.0.0.1:{edge['PST_EDGE_PORT']}"
        appliance = agent = None
        try:
            with httpx.Client(base_url=base, timeout=30) as client:
                starts = []  # the first on a fresh data folder (migrations, caches), then as a Pi boots each day
                for _ in range(args.starts):
                    if appliance is not None:
                        appliance.terminate()
                        appliance.wait(timeout=15)
                    appliance, *timings = start_appliance(edge, client)
                    starts.append(timings)
                healthy, first_ticket = (statistics.median(column) for column in zip(*starts[1:] or starts))
                agent = subprocess.Popen([*PST, "sync", "run"], env=edge, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL)
                pids = {"appliance": appliance.pid, "sync agent": agent.pid}
                with Sampler(pids) as sampler:
                    visit = morning(client, args.presses, args.guests)  # the last start's first ticket was a press
                    sent(client)
                rest = at_rest(client, pids, args.settle)
                with Sampler(pids) as busy:
                    busy_minute(client, visit, args.pages)
                    sent(client)  # the agent carries the scan's PDF to the portal
                after = at_rest(client, pids, args.settle)
                high_water = {name: high_water_kb(pid) for name, pid in pids.items()}
        finally:
            for proc in (agent, appliance, portal):
                if proc is not None:
                    proc.terminate()
                    proc.wait(timeout=15)
    seen = "every package installed here" if args.all_packages else \
        f"requirements/edge.txt's packages only ({len(hidden)} others hidden: {', '.join(hidden[:6])}, …)"
    print(f"the appliance's processes import {seen}")
    print(f"memory (RSS / PSS) at rest after the morning ({args.presses} presses, {args.guests} guests, a 5-page "
          f"scan, a sign-in, the report page) and its peak; then the busy minute's peak (a {args.pages}-page scan, "
          f"the month's report as XLSX and PDF) and at rest after it:")
    for name in ("appliance", "sync agent", "together"):
        hwm = f"  VmHWM {mb(high_water[name])}" if name in high_water else ""
        print(f"  {name:10s} at rest {sizes(rest[name])}  peak {sizes(sampler.peak[name])}   busy minute's peak "
              f"{sizes(busy.peak[name])}  at rest after {sizes(after[name])}{hwm}")
    print(f"  baseline: bare interpreter {mb(bare_rss)} / {mb(bare_pss)};  hello app at rest {mb(hello_rss)} / "
          f"{mb(hello_pss)}")
    together = rest["together"][1] / 1024  # PSS: what the processes take from the Pi between them
    print(f"  ratio at rest together/(2 × bare interpreter): RSS {rest['together'][0] / (2 * bare_rss):.1f}x")
    print(f"start: /healthz 200 after {healthy:.2f} s, first ticket printed after {first_ticket:.2f} s (medians of "
          f"{max(1, len(starts) - 1)}; the first start, on a fresh data folder: {starts[0][0]:.2f} s, {starts[0][1]:.2f} s)")
    print(f"  baseline: python -c pass {python_start:.3f} s;  hello app start → 200 {hello_start:.2f} s "
          f"(medians of {args.runs})")
    print(f"  ratio /healthz/hello app: {healthy / hello_start:.1f}x")
    baselines = {"resident at rest together (PSS)": (2 * bare_pss / 1024, "2 × bare interpreter (PSS)"),
                 "start → /healthz": (hello_start, "hello app start → 200")}
    for goal, value, limit, unit in (("resident at rest together (PSS)", together, GOAL_REST_MB, " MB"),
                                     ("peak of the busy minute together (PSS)", busy.peak["together"][1] / 1024,
                                      GOAL_PEAK_MB, " MB"),
                                     ("start → /healthz", healthy, GOAL_HEALTHZ_S, " s"),
                                     ("start → first ticket", first_ticket, GOAL_TICKET_S, " s")):
        print(f"goal {goal} ≤ {limit:g}{unit}: {'met' if value <= limit else 'MISSED'} ({value:.2f}{unit})")
        baseline, baseline_name = baselines.get(goal, (None, ""))
        summary(goal, value, unit.strip(), baseline, baseline_name, f"≤ {limit:g}{unit}", value <= limit)


if __name__ == "__main__":
    main()
