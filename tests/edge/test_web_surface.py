"""The appliance's web surface: the security headers on every kind of answer, a CSP the pages keep to, the cookies'
attributes, sign-ins throttled per client address on a real server, and staff passwords checked for strength."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn
from litestar.testing import TestClient

from edge.app import create_app
from edge.settings import EdgeSettings
from edge.users import UserError, add_user
from pst.throttle import ADDRESS_LIMIT, address_wait
from tests.edge.test_ratings import csrf

EDGE = Path(__file__).parents[2] / "edge"
ANSWERS = {"page": ("GET", "/"), "json": ("GET", "/healthz"), "static file": ("GET", "/static/pst.css"),
           "error page": ("GET", "/tidak-ada"), "json error": ("POST", "/api/session")}


def directives(policy: str) -> dict[str, list[str]]:
    return {name: rest for name, *rest in (part.split() for part in policy.split(";") if part.strip())}


def assert_security_headers(answer) -> None:
    policy = directives(answer.headers["content-security-policy"])
    assert policy["script-src"] == ["'self'"] and policy["default-src"] == ["'self'"]
    assert not any("unsafe" in source for source in policy["script-src"] + policy["default-src"])
    assert policy["frame-ancestors"] == ["'none'"] and policy["base-uri"] == ["'self'"]
    assert policy["form-action"] == ["'self'"] and policy["connect-src"] == ["'self'"]
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["x-frame-options"] == "DENY"
    assert answer.headers["referrer-policy"] == "same-origin"
    assert "camera=()" in answer.headers["permissions-policy"]


@pytest.mark.parametrize("kind", ANSWERS)
def test_every_kind_of_answer_carries_the_security_headers(client, kind):
    method, path = ANSWERS[kind]
    answer = client.request(method, path, json={} if method == "POST" else None)
    assert answer.status_code == {"error page": 404, "json error": 400}.get(kind, 200)
    assert_security_headers(answer)
    assert "strict-transport-security" not in answer.headers  # plain HTTP on the office LAN


@pytest.mark.parametrize("path", sorted(p.relative_to(EDGE).as_posix() for p in (EDGE / "templates").glob("*.html")))
def test_no_page_holds_code_the_policy_would_block(path):
    """No inline script, no on…= handler, no javascript: URL: the CSP runs only the files under /static."""
    text = (EDGE / path).read_text()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), "an inline <script>"
    assert not re.search(r"\son[a-z]+\s*=", text, re.IGNORECASE), "an on…= handler"
    assert "javascript:" not in text.lower()


def cookies_of(answer) -> dict[str, str]:
    return {line.split("=", 1)[0]: line for line in answer.headers.get_list("set-cookie")}


def attributes(line: str) -> set[str]:
    return {part.strip().lower() for part in line.split(";")[1:]}


@pytest.mark.parametrize("public_url, secure", [(None, False), ("https://pst.bps7400.test", True)])
def test_cookies_are_httponly_samesite_strict_and_secure_behind_tls(env, clock, public_url, secure):
    settings = EdgeSettings.from_env(env | ({"PST_EDGE_PUBLIC_URL": public_url} if public_url else {}))
    app = create_app(settings, clock=clock)
    with TestClient(app) as client:
        add_user(app.state.appliance.store, clock, "dewi", "frontliner", "rahasia-loket-1")
        cookies = cookies_of(client.get("/petugas/masuk"))  # the form's token; a session only once signed in
        assert "pst_session" not in cookies
        cookies |= cookies_of(client.post("/api/session", json={"username": "dewi", "password": "rahasia-loket-1"}))
    for name in ("pst_session", "pst_csrf"):
        assert {"httponly", "samesite=strict"} <= attributes(cookies[name])
        assert ("secure" in attributes(cookies[name])) is secure


def test_an_address_waits_until_its_oldest_counted_failure_leaves_the_window():
    now = datetime(2026, 11, 30, 1, 0, tzinfo=timezone.utc)
    failures = [now - timedelta(minutes=14)] + [now - timedelta(minutes=1)] * (ADDRESS_LIMIT - 1)
    assert address_wait(failures, now) == 60
    assert address_wait(failures[1:], now) == 0  # one fewer: still allowed
    assert address_wait([now - timedelta(minutes=15, seconds=1)] * 50, now) == 0  # old ones do not count


@contextmanager
def served(app) -> Iterator[str]:
    """The app on a real uvicorn server in a thread, so each request comes from the address its socket has."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, log_level="warning",
                                           access_log=False, ws="none", lifespan="on", timeout_graceful_shutdown=3))
    thread = threading.Thread(target=server.run, name="uvicorn")
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        assert server.started, "the server did not start"
        yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)


def from_address(base_url: str, address: str) -> httpx.Client:
    return httpx.Client(base_url=base_url, timeout=10, transport=httpx.HTTPTransport(local_address=address))


def test_too_many_wrong_sign_ins_from_one_address_hold_that_address_only(settings, clock):
    app = create_app(settings, clock=clock)
    with served(app) as base_url, from_address(base_url, "127.0.0.2") as guesser, \
            from_address(base_url, "127.0.0.1") as desk:
        add_user(app.state.appliance.store, clock, "kepala", "admin", "rahasia-kepala-1")
        for number in range(ADDRESS_LIMIT):  # a different name each time: the account lockout never starts
            wrong = guesser.post("/api/session", json={"username": f"petugas{number}", "password": "salah-sekali"})
            assert wrong.status_code == 401
        held = guesser.post("/api/session", json={"username": "kepala", "password": "rahasia-kepala-1"})
        assert held.status_code == 429 and 0 < int(held.headers["retry-after"]) <= 15 * 60
        assert held.json()["detail"].startswith("Terlalu banyak percobaan masuk yang salah dari alamat ini")
        token = csrf(guesser.get("/petugas/masuk").text)
        form = guesser.post("/petugas/masuk", data={"_csrf_token": token, "username": "kepala",
                                                    "password": "rahasia-kepala-1"})
        assert form.status_code == 429 and "dari alamat ini" in form.text and "retry-after" in form.headers
        assert desk.post("/api/session", json={"username": "kepala", "password": "rahasia-kepala-1"}).status_code == 200
        clock.advance(minutes=15, seconds=1)
        again = guesser.post("/api/session", json={"username": "kepala", "password": "rahasia-kepala-1"})
        assert again.status_code == 200


@pytest.mark.parametrize("password, why", [
    ("pendek-1", "minimal 10 karakter"),
    ("password123", "Kata sandi terlalu mudah ditebak"),
    ("qwertyuiop", "Kata sandi terlalu mudah ditebak"),
    ("aaaaaaaaaaaa", "Kata sandi terlalu mudah ditebak"),
    ("wa_ode_loket", "Kata sandi terlalu mudah ditebak: jangan memakai nama"),
])
def test_a_weak_staff_password_is_refused_in_indonesian_and_nothing_is_stored(store, clock, password, why):
    with pytest.raises(UserError, match=why):
        add_user(store, clock, "wa_ode_loket", "frontliner", password)
    assert store.read.execute("SELECT count(*) FROM users").fetchone()[0] == 0
    add_user(store, clock, "wa_ode_loket", "frontliner", "sagu-papeda-baru")  # a strong one is taken
