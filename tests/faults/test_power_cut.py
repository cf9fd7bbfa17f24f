"""SIGKILL the appliance while it issues numbers: nothing acknowledged is lost, nothing is issued twice."""

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time

import httpx
import pytest

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_appliance(env: dict, port: int) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-c", "from pst.cli import main; main()", "edge", "serve"],
        env=os.environ | env | {"PST_EDGE_PORT": str(port)},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the appliance did not start")


def test_sigkill_while_issuing_loses_no_acknowledged_ticket(env):
    port = free_port()
    server = start_appliance(env, port)
    acknowledged: list[dict] = []
    stop = threading.Event()

    def hammer():
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
            while not stop.is_set():
                try:
                    response = client.post("/api/tickets", json={})
                except httpx.TransportError:
                    return
                if response.status_code == 201:
                    acknowledged.append(response.json())

    workers = [threading.Thread(target=hammer) for _ in range(4)]
    for w in workers:
        w.start()
    while len(acknowledged) < 60:
        time.sleep(0.01)
    server.send_signal(signal.SIGKILL)
    server.wait()
    stop.set()
    for w in workers:
        w.join()

    db = sqlite3.connect(f"{env['PST_DATA_DIR']}/edge.db")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    stored = dict(db.execute("SELECT id, number FROM tickets"))
    assert {t["id"]: t["number"] for t in acknowledged}.items() <= stored.items()
    per_day = db.execute("SELECT service_day, count(*), count(DISTINCT seq), max(seq) FROM tickets GROUP BY 1")
    for day, count, distinct, highest in per_day:
        assert count == distinct == highest  # no duplicates, no gaps
    outbox_ids = {row[0] for row in db.execute("SELECT entity_id FROM outbox WHERE op = 'issued'")}
    assert outbox_ids == set(stored)
    db.close()

    server = start_appliance(env, port)
    try:
        after = httpx.post(f"http://127.0.0.1:{port}/api/tickets", json={}).json()
        assert after["number"] not in stored.values()
        assert int(after["number"][1:]) == len(stored) + 1
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_done_when_a_press_on_the_sim_button_shows_a_ticket(env):
    port = free_port()
    server = start_appliance(env, port)
    try:
        base = f"http://127.0.0.1:{port}"
        assert httpx.post(f"{base}/_sim/button").status_code == 204
        deadline = time.monotonic() + 10
        tickets = []
        while not tickets and time.monotonic() < deadline:
            tickets = httpx.get(f"{base}/_sim/printer").json()["tickets"]
            time.sleep(0.05)
        assert "A001" in tickets[0]["text"]
        assert tickets[0]["qr"].startswith(f"http://127.0.0.1:{port}/buku-tamu/")
    finally:
        server.terminate()
        server.wait(timeout=10)
