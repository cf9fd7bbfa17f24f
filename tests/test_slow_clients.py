"""Clients too slow to send their request are disconnected (pst.serving): against a real uvicorn server on a socket,
with the protocol `pst edge serve` and `pst cloud serve` run, and against those two commands themselves."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
import uvicorn

from cloud.mailsink import MailSink, free_port
from cloud.settings import CloudSettings
from cloud.settings import ConfigError as CloudConfigError
from edge.config import ConfigError as EdgeConfigError
from edge.settings import EdgeSettings
from pst.serving import READ_TIMEOUT, protocol
from tests.conftest import wait_until_healthy

TIMEOUT = 1.0
PST = [str(Path(sys.executable).with_name("pst"))]


class Echo:
    """An app that answers the length of the body it read, or notes that its client went away."""

    def __init__(self) -> None:
        self.disconnected = threading.Event()

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                self.disconnected.set()
                return
            size += len(message.get("body", b""))
            if not message.get("more_body"):
                break
        if scope["path"] == "/slow":
            await asyncio.sleep(TIMEOUT * 2)  # the app's own time never counts against the client
        body = str(size).encode()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


@pytest.fixture(autouse=True)
def broken_pipes_raise():
    """A write to a connection the server has closed raises BrokenPipeError here, as Python sets it up; the signal
    is ignored again for these tests in case a library of another test set it back to its default, which kills."""
    before = signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    yield
    signal.signal(signal.SIGPIPE, before)


@pytest.fixture
def server():
    app = Echo()
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", http=protocol(TIMEOUT),
                            lifespan="off")
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not running.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    app.port = port
    yield app
    running.should_exit = True
    thread.join(timeout=10)


def connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT * 8)


def closed_within(conn: socket.socket, seconds: float) -> bool:
    """Whether the server closes the connection within `seconds` (whatever it sent before closing is read)."""
    conn.settimeout(seconds)
    try:
        while conn.recv(4096):
            pass
        return True
    except (TimeoutError, socket.timeout):
        return False
    except ConnectionResetError:
        return True


def answer(conn: socket.socket) -> bytes:
    """One whole answer of the Echo app (its body is a number, with a Content-Length)."""
    conn.settimeout(TIMEOUT * 8)
    data = b""
    while True:
        head, _, body = data.partition(b"\r\n\r\n")
        length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                       if line.lower().startswith(b"content-length:")), None)
        if length is not None and len(body) >= length:
            return data
        piece = conn.recv(4096)
        if not piece:
            return data
        data += piece


def test_a_connection_that_sends_nothing_is_closed(server):
    with connect(server.port) as conn:
        assert closed_within(conn, TIMEOUT * 8)


def test_headers_trickled_byte_by_byte_are_cut_off_though_bytes_keep_coming(server):
    request = b"GET / HTTP/1.1\r\nHost: x\r\nX-Padding: " + b"a" * 200 + b"\r\n\r\n"
    started = time.monotonic()
    with connect(server.port) as conn:
        cut = False
        for byte in request:  # one byte every 50 ms: the whole request would take 11 s
            try:
                conn.sendall(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                cut = True
                break
            time.sleep(0.05)
            if time.monotonic() - started > TIMEOUT * 6:
                break
        assert cut or closed_within(conn, TIMEOUT * 2)
    assert time.monotonic() - started < TIMEOUT * 8


def test_a_body_that_stops_arriving_is_cut_off_and_the_app_told(server):
    with connect(server.port) as conn:
        conn.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n" + b"x" * 40)
        assert closed_within(conn, TIMEOUT * 8)
    assert server.disconnected.wait(TIMEOUT * 4)


def test_a_slow_but_steady_body_is_read_whole(server):
    with connect(server.port) as conn:
        conn.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 8\r\n\r\n")
        for _ in range(8):  # 8 × 0.4 s: longer than the timeout in all, never a gap as long
            time.sleep(TIMEOUT * 0.4)
            conn.sendall(b"x")
        reply = answer(conn)
    assert reply.startswith(b"HTTP/1.1 200") and reply.endswith(b"\r\n\r\n8"), reply


def test_an_app_slower_than_the_timeout_still_answers_and_the_connection_serves_again(server):
    with connect(server.port) as conn:
        conn.sendall(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        assert answer(conn).startswith(b"HTTP/1.1 200")
        conn.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc")  # kept alive
        assert answer(conn).endswith(b"\r\n\r\n3")


def test_silent_connections_do_not_keep_others_waiting_and_are_all_closed(server):
    silent = [connect(server.port) for _ in range(50)]
    try:
        assert httpx.get(f"http://127.0.0.1:{server.port}/", timeout=TIMEOUT * 4).text == "0"
        assert all(closed_within(conn, TIMEOUT * 8) for conn in silent)
    finally:
        for conn in silent:
            conn.close()


@pytest.mark.parametrize(("settings", "name", "error"), [
    (EdgeSettings, "PST_EDGE_READ_TIMEOUT", EdgeConfigError),
    (CloudSettings, "PST_CLOUD_READ_TIMEOUT", CloudConfigError),
])
def test_the_read_timeout_setting(settings, name, error, tmp_path):
    base = {"PST_DATA_DIR": str(tmp_path)}
    assert settings.from_env(base).read_timeout == READ_TIMEOUT
    assert settings.from_env(base | {name: "45"}).read_timeout == 45
    assert settings.from_env(base | {name: "2.5"}).read_timeout == 2.5
    for bad in ("0", "0.5", "601", "soon", "nan", "inf", "-3"):
        with pytest.raises(error, match=name):
            settings.from_env(base | {name: bad})


@pytest.mark.parametrize("side", ["edge", "cloud"])
def test_the_served_apps_close_silent_connections_and_keep_answering(side, tmp_path):
    port = free_port()
    with MailSink(tmp_path / "mail") as sink:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PST_")} | {
            "PST_DATA_DIR": str(tmp_path / "var"), "PST_EDGE_HARDWARE": "sim", "PST_EDGE_PORT": str(port),
            "PST_CLOUD_PORT": str(port), "PST_CLOUD_SMTP_URL": sink.url,
            f"PST_{side.upper()}_READ_TIMEOUT": str(TIMEOUT),
        }
        if side == "edge":
            subprocess.run([*PST, "edge", "migrate"], env=env, check=True, capture_output=True, timeout=60)
        process = subprocess.Popen([*PST, side, "serve"], env=env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        try:
            url = f"http://127.0.0.1:{port}/healthz"
            wait_until_healthy(f"http://127.0.0.1:{port}", process, f"{side} serve")
            with connect(port) as silent, connect(port) as partial:
                partial.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # the blank line never comes
                assert httpx.get(url, timeout=5).status_code == 200
                assert closed_within(silent, TIMEOUT * 8) and closed_within(partial, TIMEOUT * 8)
            assert httpx.get(url, timeout=5).status_code == 200
        finally:
            process.terminate()
            process.wait(timeout=20)
