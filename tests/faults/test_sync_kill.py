"""The sync between real processes: `pst cloud serve` on an ephemeral PostgreSQL cluster, `pst edge serve` on
simulated hardware fed through its HTTP API, and `pst sync run` killed with SIGKILL, started late, or revoked.

Every visit and rating made at the desk must reach the cloud exactly once, whatever happened in between.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from cloud.mailsink import free_port
from pst import skm
from tests.cloud.conftest import SECRET, postgres_cluster  # noqa: F401

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
PST = [sys.executable, "-c", "from pst.cli import main; main()"]
STAFF, STAFF_PASSWORD = "wa_ode", "rahasia-loket-1"
GUEST = {"gender": "P", "age": 31, "education": "s1", "occupation": "peneliti", "institution": "Universitas Halu Oleo",
         "purposes": ["baca_tercetak"], "id_type": "KTP"}
SCORES = dict.fromkeys(skm.CODES, 4) | {"U3": 3}
STARTUP_S = 60.0  # generous: a loaded CI machine starts Python servers slowly


def wait_for(condition: Callable[[], object], timeout: float, what: str, every: float = 0.1):
    """Polls until `condition()` is truthy and returns it; fails with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(every)


def environment(env: dict[str, str]) -> dict[str, str]:
    """The process's environment without the machine's own PST_* settings (the module's portal starts before the
    autouse fixture clears them), plus the test's."""
    return {k: v for k, v in os.environ.items() if not k.startswith("PST_")} | env


def pst(env: dict[str, str], *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*PST, *args], env=environment(env), cwd=ROOT, input=stdin, capture_output=True,
                          text=True, timeout=60, check=False)


def pst_ok(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    done = pst(env, *args, stdin=stdin)
    assert done.returncode == 0, f"pst {' '.join(args)}: {done.stdout}{done.stderr}"
    return done.stdout


class Processes:
    """Every server and agent a test starts; whatever still runs at the end is stopped (SIGTERM, then SIGKILL)."""

    def __init__(self, logs: Path):
        self.logs = logs
        self.logs.mkdir(parents=True, exist_ok=True)
        self.started: list[subprocess.Popen] = []

    def spawn(self, env: dict[str, str], *args: str, log: str) -> subprocess.Popen:
        with (self.logs / f"{log}.log").open("a") as out:
            proc = subprocess.Popen([*PST, *args], env=environment(env), cwd=ROOT, stdout=out,
                                    stderr=subprocess.STDOUT)
        self.started.append(proc)
        return proc

    def stop_all(self) -> None:
        for proc in reversed(self.started):
            if proc.poll() is None:
                proc.terminate()
        for proc in self.started:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.TransportError:
        return False


class Cloud:
    """`pst cloud serve` on its own database of the ephemeral cluster, on a fixed free port (it restarts there)."""

    def __init__(self, processes: Processes, database_url: str, data_dir: Path, smtp_url: str):
        self.processes, self.database_url = processes, database_url
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {"PST_DATA_DIR": str(data_dir), "PST_CLOUD_DATABASE_URL": database_url,
                    "PST_CLOUD_SMTP_URL": smtp_url, "PST_CLOUD_SECRET": SECRET, "PST_CLOUD_PORT": str(self.port)}
        self.proc: subprocess.Popen | None = None

    def start(self) -> Cloud:
        self.proc = self.processes.spawn(self.env, "cloud", "serve", log="cloud")
        wait_for(lambda: answers(f"{self.url}/healthz") or self.proc.poll() is not None, STARTUP_S,
                 "the portal did not answer")
        assert self.proc.poll() is None, "the portal stopped during start-up (see cloud.log)"
        return self

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=15)

    def enrolment_code(self, office: str) -> str:
        if not self.query("SELECT id FROM offices WHERE code = $1", office):
            pst_ok(self.env, "cloud", "office", "add", office, f"BPS {office}")
        return pst_ok(self.env, "cloud", "device", "add", "--office", office, "--name", f"Meja depan {office}").strip()

    def query(self, sql: str, *args) -> list[dict]:
        import asyncpg

        async def fetch() -> list[dict]:
            connection = await asyncpg.connect(self.database_url)
            try:
                return [dict(row) for row in await connection.fetch(sql, *args)]
            finally:
                await connection.close()

        return asyncio.run(fetch())

    def ids(self, table: str, device_id: str, column: str = "id") -> list[str]:
        return [r[column] for r in self.query(f"SELECT {column} FROM {table} WHERE device_id = $1", device_id)]


class Desk:
    """An appliance: its own PST_DATA_DIR, `pst edge serve` on a free port, a signed-in staff session, and its agent."""

    def __init__(self, processes: Processes, data_dir: Path, name: str):
        self.processes, self.data_dir, self.name = processes, data_dir, name
        self.port = free_port()
        self.env = {"PST_DATA_DIR": str(data_dir), "PST_EDGE_HARDWARE": "sim", "PST_EDGE_PORT": str(self.port),
                    "PST_SYNC_INTERVAL": "0.2"}
        self.url = f"http://127.0.0.1:{self.port}"
        self.http = httpx.Client(base_url=self.url, timeout=10)
        self.agent: subprocess.Popen | None = None

    def set_up(self, cloud: Cloud, office: str) -> None:
        """Enrolled with the cloud for the office (`pst cloud device add`, `pst edge enroll`) while the appliance
        gets its staff account and starts serving; then the staff member signs in."""
        side_by_side(lambda: self._enroll(cloud, office), self._serve)
        signed_in = self.http.post("/api/session", json={"username": STAFF, "password": STAFF_PASSWORD})
        assert signed_in.status_code == 200, signed_in.text

    def _enroll(self, cloud: Cloud, office: str) -> None:
        code = cloud.enrolment_code(office)
        pst_ok(self.env, "edge", "enroll", "--cloud", cloud.url, "--code", code)
        self.device_id = json.loads((self.data_dir / "sync-enrolment.json").read_text())["device_id"]

    def _serve(self) -> None:
        pst_ok(self.env, "edge", "user", "add", STAFF, "--role", "frontliner", stdin=STAFF_PASSWORD + "\n")
        server = self.processes.spawn(self.env, "edge", "serve", log=f"{self.name}-edge")
        wait_for(lambda: answers(f"{self.url}/healthz") or server.poll() is not None, STARTUP_S,
                 "the appliance did not answer")
        assert server.poll() is None, f"the appliance stopped during start-up (see {self.name}-edge.log)"

    # --- the desk's day, through the appliance's HTTP API ---

    def _post(self, path: str, body: dict | None = None, status: int = 200) -> dict:
        answer = self.http.post(path, json=body if body is not None else {})
        assert answer.status_code == status, f"POST {path}: {answer.status_code} {answer.text}"
        return answer.json()

    def visitor(self, number: int, rate: bool = True) -> None:
        """Number, guestbook, call, service, done, and (usually) a rating of the visit."""
        ticket = self._post("/api/tickets", status=201)
        guest = GUEST | {"ticket_number": ticket["number"], "name": f"Tamu {number}",
                         "email": f"tamu{number}@example.id"}
        visit = self._post("/api/visits", guest, status=201)
        called = self._post("/api/counters/1/call")
        assert called["id"] == ticket["id"]
        self._post(f"/api/tickets/{ticket['id']}/serve")
        self._post(f"/api/tickets/{ticket['id']}/done")
        if rate:
            self._post("/api/ratings", {"token": visit["token"], "scores": SCORES, "comment": f"nomor {number}"},
                       status=201)

    def anonymous_rating(self) -> None:
        self._post("/api/ratings", {"scores": {"U1": 2, "U9": 4}}, status=201)

    # --- the agent ---

    def start_agent(self) -> subprocess.Popen:
        self.agent = self.processes.spawn(self.env, "sync", "run", log=f"{self.name}-sync")
        return self.agent

    def kill_agent(self) -> None:
        self.agent.send_signal(signal.SIGKILL)
        self.agent.wait()

    def sync_once(self) -> subprocess.CompletedProcess:
        return pst(self.env, "sync", "once")

    def status(self) -> dict[str, str]:
        lines = pst_ok(self.env, "sync", "status").splitlines()
        return {key.strip(): value.strip() for key, _, value in (line.partition(":") for line in lines)}

    def unsent(self) -> int:
        """The backlog as `pst sync status` counts it, read straight from the database (cheap enough to poll)."""
        return self.column("SELECT count(*) FROM outbox WHERE sent_at IS NULL")[0]

    def last_error(self) -> str | None:
        return self.column("SELECT last_error FROM sync_state WHERE id = 1")[0]

    def last_attempt(self) -> str | None:
        return self.column("SELECT last_attempt_at FROM sync_state WHERE id = 1")[0]

    def in_round(self) -> bool:
        """A round has begun and not finished (nor failed)."""
        begun, done, failed = self.row("SELECT last_attempt_at, last_success_at, last_error_at FROM sync_state")
        return begun is not None and begun > max(done or "", failed or "")

    def next_attempt_in(self) -> float:
        """Seconds until the agent's next round, as it scheduled it (after failures: its backoff)."""
        planned = self.column("SELECT next_attempt_at FROM sync_state WHERE id = 1")[0]
        return (datetime.fromisoformat(planned) - datetime.now(UTC)).total_seconds() if planned else 0.0

    # --- what the appliance holds ---

    def row(self, sql: str) -> tuple:
        db = sqlite3.connect(f"file:{self.data_dir / 'edge.db'}?mode=ro", uri=True)
        try:
            return db.execute(sql).fetchone()
        finally:
            db.close()

    def column(self, sql: str) -> list:
        db = sqlite3.connect(f"file:{self.data_dir / 'edge.db'}?mode=ro", uri=True)
        try:
            return [row[0] for row in db.execute(sql)]
        finally:
            db.close()


@pytest.fixture(scope="module")
def portal(postgres_cluster, tmp_path_factory) -> Iterator[Cloud]:  # noqa: F811
    """One portal for the module (each test enrols its own devices); its own database of the cluster, its own mail
    sink."""
    from cloud.mailsink import MailSink

    root = tmp_path_factory.mktemp("portal")
    started = Processes(root / "logs")
    with MailSink(root / "mail") as sink:
        try:
            yield Cloud(started, postgres_cluster.new_database(), root / "var", sink.url).start()
        finally:
            started.stop_all()


@pytest.fixture
def cloud(portal) -> Cloud:
    """The module's portal, running (a test that stopped it and failed before starting it again leaves it stopped)."""
    if portal.proc.poll() is not None:
        portal.start()
    return portal


@pytest.fixture
def desks(tmp_path) -> Iterator[Callable[..., list[Desk]]]:
    """Makes appliances, each enrolled with the cloud for its office, serving, and with a staff member signed in.
    The appliances are set up side by side; their servers and agents stop when the test ends."""
    processes = Processes(tmp_path / "logs")
    made: list[Desk] = []

    def make(cloud: Cloud, *offices: str) -> list[Desk]:
        batch = [Desk(processes, tmp_path / f"desk-{len(made) + i + 1}", f"desk-{len(made) + i + 1}")
                 for i in range(len(offices))]
        made.extend(batch)
        side_by_side(*(lambda d=desk, o=office: d.set_up(cloud, o) for desk, office in zip(batch, offices, strict=True)))
        return batch

    yield make
    processes.stop_all()
    for desk in made:
        desk.http.close()


def side_by_side(*steps: Callable[[], object]) -> list:
    """Runs the steps in threads and returns their results; the first error is raised here."""
    results: list = [None] * len(steps)
    errors: list[Exception] = []

    def run(index: int, step: Callable[[], object]) -> None:
        try:
            results[index] = step()
        except Exception as exc:  # noqa: BLE001 — raised again in the caller's thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i, step)) for i, step in enumerate(steps)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results


def assert_in_cloud_exactly_once(desk: Desk, cloud: Cloud) -> None:
    """Every outbox event of the appliance is remembered once; every visit and rating is there once, served visits
    with their service time; nothing was set aside."""
    events = desk.column("SELECT event_id FROM outbox ORDER BY seq")
    remembered = cloud.ids("sync_events", desk.device_id, "event_id")
    assert len(remembered) == len(set(remembered)) == len(events)
    assert set(remembered) == set(events)
    visits, ratings = desk.column("SELECT id FROM visits"), desk.column("SELECT id FROM ratings")
    assert sorted(cloud.ids("visits", desk.device_id)) == sorted(visits)
    assert sorted(cloud.ids("ratings", desk.device_id)) == sorted(ratings)
    served = cloud.query("SELECT id FROM visits WHERE device_id = $1 AND service_started_at IS NOT NULL",
                         desk.device_id)
    assert sorted(r["id"] for r in served) == sorted(
        desk.column("SELECT id FROM visits WHERE service_started_at IS NOT NULL"))
    rated = cloud.query("SELECT visit_id FROM ratings WHERE device_id = $1 AND visit_id IS NOT NULL", desk.device_id)
    assert sorted(r["visit_id"] for r in rated) == sorted(
        desk.column("SELECT visit_id FROM ratings WHERE visit_id IS NOT NULL"))
    cursor = cloud.query("SELECT last_seq FROM sync_cursors WHERE device_id = $1", desk.device_id)
    assert [c["last_seq"] for c in cursor] == [max(desk.column("SELECT seq FROM outbox"))]
    assert cloud.query("SELECT count(*) AS n FROM sync_dead_letters")[0]["n"] == 0


class Workload(threading.Thread):
    """Visitors at the desk, one after another, until stopped; an error ends it and is raised by `finish()`."""

    def __init__(self, desk: Desk):
        super().__init__(name=f"workload-{desk.name}")
        self.desk, self.stop, self.served, self.error = desk, threading.Event(), 0, None

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                self.served += 1
                self.desk.visitor(self.served, rate=self.served % 4 != 0)
                if self.served % 5 == 0 and self.served <= 20:  # walk-up ratings: the kiosk takes 6 a minute
                    self.desk.anonymous_rating()
        except Exception as exc:  # noqa: BLE001 — raised again by finish()
            self.error = exc

    def finish(self) -> int:
        self.stop.set()
        self.join(30)
        assert not self.is_alive(), "the workload did not stop"
        if self.error is not None:
            raise self.error
        return self.served


def caught_up(desk: Desk, timeout: float, what: str) -> None:
    """Polls until the backlog is empty and the round that emptied it has finished, then checks that `pst sync status`
    says so too."""
    wait_for(lambda: desk.unsent() == 0 and desk.last_error() is None, timeout, what, every=0.2)
    status = desk.status()
    assert (status["pending"], status["last error"]) == ("0", "-"), status


def wait_for_kill_point(desk: Desk, rng: random.Random) -> None:
    """Half the kills land anywhere (rounds every 0.2 s, idle or not); half just after a round has begun, in its
    requests or its writes, where a kill costs an answer the cloud has already committed."""
    if rng.random() < 0.5:
        time.sleep(rng.uniform(0, 0.8))
        return
    seen = desk.last_attempt()
    wait_for(lambda: desk.last_attempt() != seen, 10, "the agent did not start its next round", every=0.005)
    time.sleep(rng.uniform(0, 0.05))


def test_sync_killed_at_random_points_delivers_every_visit_and_rating_once(cloud, desks):
    [desk] = desks(cloud, "7400")
    seed = random.randrange(2**32)
    print(f"kill delays drawn with random.Random({seed})")
    rng = random.Random(seed)
    workload = Workload(desk)
    workload.start()
    kills = in_round = 0
    try:
        while kills < 6 or workload.served < 12:
            assert kills < 40 and workload.is_alive(), "the desk stopped serving"
            before = desk.last_attempt()
            desk.start_agent()
            wait_for(lambda seen=before: desk.last_attempt() != seen, STARTUP_S, "the agent did not start a round",
                     every=0.02)
            wait_for_kill_point(desk, rng)
            in_round += desk.in_round()
            desk.kill_agent()
            kills += 1
    finally:
        workload.finish()
    print(f"{kills} kills, {in_round} of them during a round")
    assert cloud.ids("sync_events", desk.device_id, "event_id"), "no round finished between the kills"

    desk.start_agent()
    caught_up(desk, 30, "the agent did not catch up after the kills")
    assert_in_cloud_exactly_once(desk, cloud)


def test_work_done_while_the_cloud_is_down_arrives_once_when_it_is_back(cloud, desks):
    [desk] = desks(cloud, "7400")
    agent = desk.start_agent()
    desk.visitor(1)
    wait_for(lambda: desk.unsent() == 0, 30, "the first visit was not synced")

    cloud.stop()
    for number in (2, 3, 4):
        desk.visitor(number, rate=number != 3)
    desk.anonymous_rating()
    wait_for(desk.last_error, 20, "no failed round recorded")
    status = desk.status()
    assert status["last error"] != "-" and int(status["pending"]) > 0, status
    assert agent.poll() is None, "the agent gave up while the cloud was down"

    cloud.start()
    visits, ratings = sorted(desk.column("SELECT id FROM visits")), sorted(desk.column("SELECT id FROM ratings"))
    # the agent backs off after failures: give it until its next planned round, and some
    wait_for(lambda: sorted(cloud.ids("visits", desk.device_id)) == visits
             and sorted(cloud.ids("ratings", desk.device_id)) == ratings, desk.next_attempt_in() + 30,
             "the backlog did not reach the cloud once it was back", every=0.3)
    caught_up(desk, 30, "the backlog was not acknowledged")
    assert agent.poll() is None
    assert_in_cloud_exactly_once(desk, cloud)


def test_two_offices_keep_their_own_records_and_a_revoked_device_is_refused(cloud, desks):
    provinsi, kota = desks(cloud, "7400", "7471")  # BPS Sulawesi Tenggara, BPS Kota Kendari
    for desk in (provinsi, kota):
        desk.visitor(1)
        desk.visitor(2, rate=False)
        desk.anonymous_rating()
    for done in side_by_side(provinsi.sync_once, kota.sync_once):
        assert done.returncode == 0, done.stderr
    for desk, office in ((provinsi, "7400"), (kota, "7471")):
        assert_in_cloud_exactly_once(desk, cloud)
        for table in ("visits", "ratings", "edge_records"):
            offices = cloud.query(f"SELECT DISTINCT office_code FROM {table} WHERE device_id = $1", desk.device_id)
            assert [r["office_code"] for r in offices] == [office], table

    pst_ok(cloud.env, "cloud", "device", "revoke", kota.device_id)
    kota.visitor(3)
    provinsi.visitor(3)
    refused, done = side_by_side(kota.sync_once, provinsi.sync_once)
    assert refused.returncode != 0
    assert "401" in refused.stderr, refused.stderr
    assert "401" in kota.last_error()
    assert len(cloud.ids("visits", kota.device_id)) == 2
    assert done.returncode == 0, done.stderr
    assert_in_cloud_exactly_once(provinsi, cloud)
