"""Two portal processes on one database behave as one portal: sessions, lockout counters and mailed tokens live in
the database, not in either process (the scale rule). Real `pst cloud serve` processes, real HTTP."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from cloud.mailsink import free_port
from tests.cloud.conftest import link_token

PASSWORD = "kopi-toraja-2026"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def two_workers(cloud_env, tmp_path):
    processes, urls = [], []
    for n in range(2):
        port = free_port()
        env = {**os.environ, **cloud_env, "PST_CLOUD_PORT": str(port), "PYTHONPATH": str(REPO)}
        with (tmp_path / f"worker{n}.log").open("w") as log:  # the child keeps its own copy of the descriptor
            processes.append(subprocess.Popen(
                [sys.executable, "-c", "from pst.cli import main; main()", "cloud", "serve"], env=env, stdout=log,
                stderr=subprocess.STDOUT,
            ))
        urls.append(f"http://127.0.0.1:{port}")
    try:
        for url in urls:
            wait_until_up(url, tmp_path)
        yield urls
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=10)


def wait_until_up(url: str, tmp_path, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    logs = "\n".join(p.read_text() for p in tmp_path.glob("worker*.log"))
    raise AssertionError(f"{url} did not come up:\n{logs}")


def test_two_processes_share_sessions_tokens_and_the_lockout(two_workers, mailbox):
    a, b = two_workers
    body = {"email": "wa.ode@example.id", "name": "Wa Ode", "password": PASSWORD}
    assert httpx.post(f"{a}/api/accounts", json=body).status_code == 201
    token = link_token(mailbox.mails()[0], "/akun/verifikasi")
    assert httpx.post(f"{b}/api/accounts/verify", json={"token": token}).status_code == 200
    assert httpx.post(f"{a}/api/accounts/verify", json={"token": token}).status_code == 400  # used, on the other one

    signed_in = httpx.post(f"{a}/api/session", json={"email": body["email"], "password": PASSWORD})
    cookies = {"pst_cloud_session": signed_in.cookies["pst_cloud_session"]}
    assert httpx.get(f"{b}/api/session", cookies=cookies).json()["email"] == body["email"]
    assert httpx.delete(f"{b}/api/session", cookies=cookies).status_code == 200
    assert httpx.get(f"{a}/api/session", cookies=cookies).status_code == 401

    wrong = {"email": body["email"], "password": "salah-sekali-123"}
    codes = [httpx.post(f"{url}/api/session", json=wrong).status_code for url in (a, b, a, b, a)]
    assert codes == [401] * 5
    assert httpx.post(f"{b}/api/session", json={"email": body["email"], "password": PASSWORD}).status_code == 429


def test_serve_with_workers_starts_that_many_processes_on_one_port(cloud_env, tmp_path):
    port = free_port()
    env = {**os.environ, **cloud_env, "PST_CLOUD_PORT": str(port), "PYTHONPATH": str(REPO), "PST_CLOUD_WORKERS": "2"}
    with (tmp_path / "worker0.log").open("w") as log:
        server = subprocess.Popen([sys.executable, "-c", "from pst.cli import main; main()", "cloud", "serve"],
                                  env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until_up(f"http://127.0.0.1:{port}", tmp_path, seconds=30)
        children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
        workers = [pid for pid in children if "spawn_main" in Path(f"/proc/{pid}/cmdline").read_text()]
        assert len(workers) == 2, children
        answers = {httpx.get(f"http://127.0.0.1:{port}/healthz").status_code for _ in range(10)}
        assert answers == {200}
    finally:
        server.terminate()
        server.wait(timeout=20)
