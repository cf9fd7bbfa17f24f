"""SIGKILL campaign: `pst edge serve` killed at random moments while four writers work through its HTTP API
(tickets, guestbook visits, locker assignments, ratings). Every write that was answered 2xx must be in the database
exactly once after the kill, the file must pass `PRAGMA integrity_check`, and the appliance must come back.

`make test` runs a handful of kills; `make soak` (PST_SOAK=1) runs 1,000 and prints the figures.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from pst import skm
from tests.faults.soak import campaign_size
from tests.faults.test_power_cut import free_port

pytestmark = [pytest.mark.slow, pytest.mark.soak]

STAFF, STAFF_PASSWORD = "loket_soak", "rahasia-loket-1"
GUEST = {"gender": "L", "age": 40, "education": "s2", "occupation": "asn", "institution": "Bappeda Sultra",
         "purposes": ["baca_tercetak"], "id_type": "KTP"}
ID_NUMBER = "7471010101900001"
SCORES = dict.fromkeys(skm.CODES, 4)
KILL_AFTER_S = (0.1, 1.5)  # after the appliance answers /healthz
SEED = 20261202


def kill_count() -> int:
    return campaign_size(full=1000, reduced=8)


@dataclass
class Acknowledged:
    """Writes answered 2xx, by kind, with what identifies each one in the database."""

    tickets: list[str] = field(default_factory=list)
    visits: list[tuple[str, str]] = field(default_factory=list)  # (id, e-mail)
    lockers: list[tuple[str, int]] = field(default_factory=list)  # (visit id, locker)
    ratings: list[tuple[str, str]] = field(default_factory=list)  # (id, comment)
    refused: Counter = field(default_factory=Counter)  # status → how many non-2xx answers

    def total(self) -> int:
        return len(self.tickets) + len(self.visits) + len(self.lockers) + len(self.ratings)


class Writers:
    """Four threads against one running appliance until it dies; what they got acknowledged goes to `acked`."""

    def __init__(self, base: str, acked: Acknowledged, serial: iter):
        self.base, self.acked, self.serial = base, acked, serial
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._loop, args=(fn,), daemon=True)
                        for fn in (self._ticket, self._visit, self._locker, self._rating)]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def join(self) -> None:
        for thread in self.threads:
            thread.join(timeout=30)

    def _loop(self, write) -> None:
        with httpx.Client(base_url=self.base, timeout=10) as client:
            try:
                if write == self._locker:
                    self._sign_in(client)
                    self._free_lockers(client)
                while True:
                    write(client)
            except httpx.TransportError:  # the appliance was killed: this round is over
                return

    def _answer(self, response: httpx.Response, kind: str, record) -> dict | None:
        if response.is_success:
            body = response.json()
            with self.lock:
                getattr(self.acked, kind).append(record(body))
            return body
        with self.lock:
            self.acked.refused[response.status_code] += 1
        return None

    def _ticket(self, client: httpx.Client) -> None:
        self._answer(client.post("/api/tickets", json={}), "tickets", lambda body: body["id"])

    def _new_visit(self, client: httpx.Client) -> dict | None:
        email = f"tamu{next(self.serial)}@example.id"
        answer = client.post("/api/visits", json=GUEST | {"name": "Tamu Uji", "email": email})
        return self._answer(answer, "visits", lambda body: (body["id"], email))

    def _visit(self, client: httpx.Client) -> None:
        self._new_visit(client)

    def _rating(self, client: httpx.Client) -> None:
        """A visitor rates the visit (walk-up ratings are limited per minute; a visit's rating is not)."""
        visit = self._new_visit(client)
        if visit is None:
            return
        comment = f"uji {next(self.serial)}"
        answer = client.post("/api/ratings", json={"token": visit["token"], "scores": SCORES, "comment": comment})
        self._answer(answer, "ratings", lambda body: (body["id"], comment))

    def _locker(self, client: httpx.Client) -> None:
        """A visitor leaves the ID card for a locker, then collects it: the locker is free again."""
        visit = self._new_visit(client)
        if visit is None:
            return
        answer = client.post(f"/api/visits/{visit['id']}/locker", json={"id_type": "KTP", "id_number": ID_NUMBER})
        if answer.status_code == 401:
            self._sign_in(client)
            return
        held = self._answer(answer, "lockers", lambda body: (visit["id"], body["locker"]))
        if held is not None:
            self._give_back(client, visit["id"], held["locker"])

    def _give_back(self, client: httpx.Client, visit_id: str | None, locker: int) -> None:
        if visit_id is not None:
            client.post(f"/api/visits/{visit_id}/checkout", json={"id_number": ID_NUMBER})
        for is_open in (True, False):
            client.post(f"/_sim/lockers/{locker}/door", json={"open": is_open})

    def _free_lockers(self, client: httpx.Client) -> None:
        """Lockers left held or open by an earlier kill are given back first (else the bank fills up)."""
        for locker in client.get("/api/lockers").json()["lockers"]:
            if locker["status"] in ("occupied", "releasing"):
                self._give_back(client, locker["visit_id"] if locker["status"] == "occupied" else None,
                                locker["number"])

    def _sign_in(self, client: httpx.Client) -> None:
        answer = client.post("/api/session", json={"username": STAFF, "password": STAFF_PASSWORD})
        assert answer.status_code == 200, answer.text


def start_serving(env: dict, port: int) -> tuple[subprocess.Popen, float]:
    """`pst edge serve`, and the seconds from the process's start to its first /healthz 200."""
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-c", "from pst.cli import main; main()", "edge", "serve"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while time.monotonic() - started < 60:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc, time.monotonic() - started
        except httpx.TransportError:
            time.sleep(0.02)
        if proc.poll() is not None:
            break
    proc.kill()
    raise AssertionError(f"the appliance did not come back (exit {proc.poll()})")


def integrity(db_path: Path) -> str:
    db = sqlite3.connect(db_path)
    try:
        return db.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        db.close()


def missing_and_doubled(db_path: Path, acked: Acknowledged) -> tuple[list, list]:
    """Acknowledged writes not found exactly once, and records the database holds more than once."""
    db = sqlite3.connect(db_path)
    try:
        one = lambda sql, *args: db.execute(sql, args).fetchone()[0]  # noqa: E731
        missing = [t for t in acked.tickets if one("SELECT count(*) FROM tickets WHERE id = ?", t) != 1]
        missing += [v for v, email in acked.visits
                    if one("SELECT count(*) FROM visits WHERE id = ? AND email = ?", v, email) != 1]
        missing += [(v, n) for v, n in acked.lockers
                    if one("SELECT count(*) FROM locker_uses WHERE visit_id = ? AND locker = ?", v, n) != 1]
        missing += [r for r, comment in acked.ratings
                    if one("SELECT count(*) FROM ratings WHERE id = ? AND comment = ?", r, comment) != 1]
        doubled = db.execute(
            "SELECT 'visit', email FROM visits GROUP BY email HAVING count(*) > 1"
            " UNION ALL SELECT 'rating', comment FROM ratings GROUP BY comment HAVING count(*) > 1"
            " UNION ALL SELECT 'ticket', service_day || seq FROM tickets GROUP BY service_day, service, seq"
            " HAVING count(*) > 1"
            " UNION ALL SELECT 'locker', visit_id FROM locker_uses GROUP BY visit_id HAVING count(*) > 1"
            " UNION ALL SELECT entity, entity_id FROM outbox WHERE op IN ('issued', 'checked_in', 'submitted',"
            " 'assigned') GROUP BY entity, entity_id, op HAVING count(*) > 1").fetchall()
    finally:
        db.close()
    return missing, doubled


def figures(name: str, restarts: list[float], acked: Acknowledged, lost: list | None, doubled: list | None,
            damaged: int, began: float) -> str:
    """One greppable line; `lost` and `duplicated` read "unchecked" when the campaign stopped before its check."""
    count = lambda found: "unchecked" if found is None else len(found)  # noqa: E731
    return (f"\nSOAK {name} kills={len(restarts)} acknowledged={acked.total()} (tickets={len(acked.tickets)}"
            f" visits={len(acked.visits)} lockers={len(acked.lockers)} ratings={len(acked.ratings)})"
            f" lost={count(lost)} duplicated={count(doubled)} integrity_failures={damaged} {timings(restarts)}"
            f" refused={dict(acked.refused)} elapsed_s={time.monotonic() - began:.0f}")


def timings(restarts: list[float]) -> str:
    """Restart times (process start → /healthz 200): median, 95th percentile, longest."""
    if not restarts:
        return "restart_p50_s=- restart_p95_s=- restart_max_s=-"
    p95 = statistics.quantiles(restarts, n=20, method="inclusive")[-1] if len(restarts) > 1 else restarts[0]
    return (f"restart_p50_s={statistics.median(restarts):.2f} restart_p95_s={p95:.2f}"
            f" restart_max_s={max(restarts):.2f}")


@pytest.fixture
def staff_env(env, tmp_path) -> dict:
    """The appliance's environment with a staff account made through the store's own functions."""
    from edge.migrations import migrate
    from edge.settings import EdgeSettings
    from edge.store import EdgeStore
    from edge.users import add_user
    from pst.clock import SystemClock

    settings = EdgeSettings.from_env(env)
    store = EdgeStore(settings.db_path)
    migrate(store)
    add_user(store, SystemClock(), STAFF, "frontliner", STAFF_PASSWORD)
    store.close()
    # python-escpos re-parses its printer database and makes a temporary folder on every start unless told where
    # to keep its cache: a second per restart that the figure would otherwise measure
    (tmp_path / "escpos").mkdir()
    return {k: v for k, v in os.environ.items() if not k.startswith("PST_")} | env | {
        "ESCPOS_CAPABILITIES_PICKLE_DIR": str(tmp_path / "escpos")}


def test_sigkill_at_random_moments_loses_and_doubles_no_acknowledged_write(staff_env):
    kills, rng = kill_count(), random.Random(SEED)
    port = free_port()
    env = staff_env | {"PST_EDGE_PORT": str(port)}
    db_path = Path(env["PST_DATA_DIR"]) / "edge.db"
    acked, serial = Acknowledged(), iter(range(10**9))
    restarts, damaged, lost, doubled, began = [], 0, None, None, time.monotonic()  # None: not checked (yet)
    try:
        for kill in range(1, kills + 1):
            proc, restart_s = start_serving(env, port)
            restarts.append(restart_s)
            writers = Writers(f"http://127.0.0.1:{port}", acked, serial)
            writers.start()
            time.sleep(rng.uniform(*KILL_AFTER_S))
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            writers.join()
            damaged += integrity(db_path) != "ok"
            if kill % 100 == 0 and kill < kills:  # figures on the way: a long campaign can be read before its end
                print(figures("sigkill-progress", restarts, acked, *missing_and_doubled(db_path, acked), damaged,
                              began), flush=True)
        lost, doubled = missing_and_doubled(db_path, acked)
    finally:
        print(figures("sigkill", restarts, acked, lost, doubled, damaged, began), flush=True)
    assert (lost, doubled, damaged) == ([], [], 0)
    assert not [status for status in acked.refused if status >= 500]
    assert len(acked.tickets) and len(acked.visits) and len(acked.lockers) and len(acked.ratings)
    proc, _ = start_serving(env, port)  # and after the last kill it still serves
    try:
        assert httpx.post(f"http://127.0.0.1:{port}/api/tickets", json={}).status_code == 201
    finally:
        proc.terminate()
        proc.wait(timeout=15)
