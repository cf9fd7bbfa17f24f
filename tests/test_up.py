"""`pst up` owns the processes it starts: stopped by Ctrl-C or SIGTERM it stops the portal and the sync agent and
waits for them (nothing left running, no zombie); a demo whose portal cannot start stops and says why."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from cloud.mailsink import free_port

PST = [str(Path(sys.executable).with_name("pst"))]


def children(pid: int) -> set[int]:
    """The processes whose parent is `pid`, read from /proc."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.add(int(entry.name))
    return found


def demo_processes(data_dir: str) -> dict[int, str | None]:
    """Every process running with this demo's data folder in its environment, with its state."""
    found = {}
    marker = f"PST_DATA_DIR={data_dir}".encode()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if marker in (entry / "environ").read_bytes().split(b"\0"):
                    found[int(entry.name)] = state(int(entry.name))
            except OSError:
                continue
    return found


def state(pid: int) -> str | None:
    """'R', 'S', 'Z' (a zombie) … or None when the process is gone."""
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def demo_env(tmp_path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PST_")}
    return env | {"PST_DATA_DIR": str(tmp_path / "var"), "PST_EDGE_PORT": str(free_port()),
                  "PST_CLOUD_PORT": str(free_port()), "PST_SYNC_INTERVAL": "1"}


def start_up(env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("w") as out:
        return subprocess.Popen([*PST, "up"], env=env, stdout=out, stderr=subprocess.STDOUT)


def healthy(url: str) -> bool:
    try:
        return httpx.get(url + "/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_stopping_up_stops_the_portal_and_the_sync_agent(demo_env, tmp_path, sig):
    log = tmp_path / "up.log"
    up = start_up(demo_env, log)
    try:
        wait_for(lambda: healthy(f"http://127.0.0.1:{demo_env['PST_EDGE_PORT']}")
                 and healthy(f"http://127.0.0.1:{demo_env['PST_CLOUD_PORT']}"), 90, "the demo to answer")
        wait_for(lambda: len(children(up.pid)) >= 2, 60, "the portal and the sync agent")
        started = children(up.pid)
        up.send_signal(sig)
        assert up.wait(timeout=40) != 0 or sig == signal.SIGINT
    finally:
        if up.poll() is None:
            up.kill()
            up.wait()
    left = {pid: state(pid) for pid in started if state(pid) is not None} | demo_processes(demo_env["PST_DATA_DIR"])
    assert not left, f"still there after `pst up` ended: {left}\n{log.read_text()[-2000:]}"
    assert not healthy(f"http://127.0.0.1:{demo_env['PST_CLOUD_PORT']}")


def test_up_stops_and_says_so_when_its_portal_cannot_start(demo_env, tmp_path):
    with socket.socket() as taken:  # another program holds the portal's port
        taken.bind(("127.0.0.1", int(demo_env["PST_CLOUD_PORT"])))
        taken.listen()
        log = tmp_path / "up.log"
        up = start_up(demo_env, log)
        try:
            code = up.wait(timeout=90)
        finally:
            if up.poll() is None:
                up.kill()
                up.wait()
    output = log.read_text()
    assert code != 0 and "the demo portal stopped" in output, output[-2000:]
    assert not demo_processes(demo_env["PST_DATA_DIR"])
