"""The portal's web surface, on SQLite and PostgreSQL: the security headers on every kind of answer and HSTS behind
TLS, a CSP the pages keep to, the cookies' attributes, sign-ins throttled per client address in the database, and
passwords checked for strength wherever one is set."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from litestar.testing import TestClient

from cloud.accounts import AccountError, Accounts
from cloud.app import create_app
from cloud.settings import CloudSettings
from pst.security_headers import HEADERS, MACHINE_API, security_headers
from pst.throttle import ADDRESS_LIMIT
from sync.protocol import PREFIX
from tests.cloud.conftest import READER_PASSWORD, add_reader, link_token, rows_in, run_db
from tests.cloud.test_cli import run
from tests.edge.test_web_surface import assert_security_headers, attributes, cookies_of

CLOUD = Path(__file__).parents[2] / "cloud"
ANSWERS = {"page": ("GET", "/"), "json": ("GET", "/healthz"), "error page": ("GET", "/tidak-ada"),
           "json error": ("POST", "/api/session")}
TOO_EASY = "Kata sandi terlalu mudah ditebak"


@pytest.mark.parametrize("kind", ANSWERS)
def test_every_kind_of_answer_carries_the_security_headers(client, kind):
    method, path = ANSWERS[kind]
    answer = client.request(method, path, json={} if method == "POST" else None)
    assert answer.status_code == {"error page": 404, "json error": 400}.get(kind, 200)
    assert_security_headers(answer)
    assert "strict-transport-security" not in answer.headers  # plain HTTP, public address http://


def test_hsts_goes_out_over_tls_only(client):
    proxied = client.get("/healthz", headers={"x-forwarded-proto": "https"})
    assert proxied.headers["strict-transport-security"] == "max-age=31536000"
    assert "strict-transport-security" not in client.get("/healthz", headers={"x-forwarded-proto": "http"}).headers


BROWSER_ONLY = {"content-security-policy", "x-frame-options", "referrer-policy", "permissions-policy",
                "strict-transport-security"}


@pytest.mark.parametrize("proto", ["http", "https"])
def test_the_sync_apis_json_carries_nosniff_alone_and_pages_keep_every_header(client, proto):
    """The appliances' agent reads the sync API, no browser renders it: the headers that govern a rendered document
    (and HSTS, which browsers learn from the pages) stay off its 1 KB idle round (pst/security_headers.py)."""
    forwarded = {"x-forwarded-proto": proto}
    machine = client.get(f"{PREFIX}/state", params={"epoch": "e1"}, headers=forwarded)  # no credential: a JSON 401
    assert machine.status_code == 401 and machine.headers["content-type"].startswith("application/json")
    assert machine.headers["x-content-type-options"] == "nosniff"
    assert not BROWSER_ONLY & set(machine.headers)
    for path in ("/", "/tidak-ada", "/healthz"):
        answer = client.get(path, headers=forwarded)
        assert_security_headers(answer)
        assert ("strict-transport-security" in answer.headers) is (proto == "https")


@pytest.mark.parametrize("content_type", [b"text/html; charset=utf-8", b"application/pdf", None])
def test_an_answer_under_the_sync_prefix_that_is_not_json_keeps_every_header(content_type):
    message = {"type": "http.response.start", "status": 404,
               "headers": [(b"content-type", content_type)] if content_type else []}
    scope = {"type": "http", "path": f"{PREFIX}/tidak-ada", "scheme": "https", "headers": []}
    asyncio.run(security_headers(strict_transport=True)(message, scope))
    sent = {name.decode() for name, _ in message["headers"]}
    assert set(HEADERS) | {"strict-transport-security"} <= sent
    assert MACHINE_API == PREFIX + "/"  # the hook's own copy of the prefix (pst/ does not import sync)


# An inline <script> is code unless it is exactly `<script type="application/ld+json">`: a data block (the JSON-LD of
# cloud.seo) that browsers never run and the CSP does not govern; anything else in the tag makes it code again.
INLINE_SCRIPT = re.compile(r'<script(?![^>]*\bsrc=)(?! type="application/ld\+json">)[^>]*>', re.IGNORECASE)
DATA_BLOCK = re.compile(r'<script type="application/ld\+json">(.*?)</script>', re.DOTALL)


@pytest.mark.parametrize("path", sorted(p.name for p in (CLOUD / "templates").glob("*.html")))
def test_no_page_holds_code_the_policy_would_block(path):
    text = (CLOUD / "templates" / path).read_text()
    assert not INLINE_SCRIPT.search(text), "an inline <script>"
    for block in DATA_BLOCK.findall(text):  # data written through cloud.seo.script_json, nothing else
        assert block == "{{ seo.json_ld | safe }}", "a data block holding more than the escaped JSON-LD"
    assert not re.search(r"\son[a-z]+\s*=", text, re.IGNORECASE), "an on…= handler"
    assert "javascript:" not in text.lower()


@pytest.mark.parametrize("tag, code", [
    ("<script>", True), ('<script type="module">', True), ('<script type="text/javascript">', True),
    ('<script type="application/ld+json" nonce="x">', True), ('<script type="application/ld+json ">', True),
    ('<SCRIPT type="application/json">', True), ('<script src="/static/board.js">', False),
    ('<script type="application/ld+json">', False),
])
def test_only_a_json_ld_data_block_passes_for_inline(tag, code):
    assert bool(INLINE_SCRIPT.search(tag)) is code


@pytest.fixture(params=["http://127.0.0.1:8100", "https://pustaka.bps.go.id"])
def portal(request, cloud_env, clock):
    settings = CloudSettings.from_env(cloud_env | {"PST_CLOUD_PUBLIC_URL": request.param})
    with TestClient(create_app(settings, clock=clock)) as test_client:
        yield test_client, request.param.startswith("https://")


def test_cookies_are_httponly_samesite_lax_and_secure_behind_tls(portal):
    client, secure = portal
    add_reader(client, "ani@example.id", "Ani")
    csrf = cookies_of(client.get("/akun/masuk"))["pst_cloud_csrf"]
    session = cookies_of(client.post("/api/session", json={"email": "ani@example.id", "password": READER_PASSWORD}))
    for line in (csrf, session["pst_cloud_session"]):
        assert {"httponly", "samesite=lax"} <= attributes(line)
        assert ("secure" in attributes(line)) is secure
    assert ("strict-transport-security" in client.get("/").headers) is secure


def test_too_many_wrong_sign_ins_from_one_address_hold_that_address_only(client, clock):
    add_reader(client, "ani@example.id", "Ani")
    for number in range(ADDRESS_LIMIT - 1):  # earlier wrong sign-ins from the test client's address, other names
        run_db(client, "INSERT INTO signin_failures (id, address, at) VALUES ({}, {}, {})", f"f{number}",
               "testclient", clock.now())
    wrong = client.post("/api/session", json={"email": "tamu@example.id", "password": "salah-sekali-123"})
    assert wrong.status_code == 401  # the last one allowed, and counted
    refused = client.post("/api/session", json={"email": "ani@example.id", "password": READER_PASSWORD})
    assert refused.status_code == 429 and 0 < int(refused.headers["retry-after"]) <= 15 * 60
    assert refused.json()["detail"].startswith("Terlalu banyak percobaan masuk yang salah dari alamat ini")
    token = re.search(r'name="_csrf_token" value="([^"]+)"', client.get("/akun/masuk").text)[1]
    form = client.post("/akun/masuk", data={"email": "ani@example.id", "password": READER_PASSWORD,
                                             "_csrf_token": token})
    assert form.status_code == 429 and 0 < int(form.headers["retry-after"]) <= 15 * 60  # the page says how long too
    assert "Terlalu banyak percobaan masuk" in form.text

    accounts = Accounts(client.app.state.db, client.app.state.clock, None, b"", "")
    elsewhere = client.blocking_portal.call(accounts.login, "ani@example.id", READER_PASSWORD, "198.51.100.4")
    assert elsewhere[1].email == "ani@example.id"  # another address signs in meanwhile
    with pytest.raises(AccountError) as held:
        client.blocking_portal.call(accounts.login, "ani@example.id", READER_PASSWORD, "testclient")
    assert held.value.status == 429 and held.value.retry_after > 0
    clock.advance(minutes=15, seconds=1)
    assert client.post("/api/session", json={"email": "ani@example.id", "password": READER_PASSWORD}).status_code == 200


@pytest.mark.parametrize("password, why", [
    ("password123", TOO_EASY),
    ("qwertyuiop", TOO_EASY),
    ("nurhayati123", f"{TOO_EASY}: jangan memakai nama"),
])
def test_a_weak_password_is_refused_at_registration_in_indonesian(client, mailbox, password, why):
    answer = client.post("/api/accounts", json={"email": "wa.ode@example.id", "name": "Wa Ode Nurhayati",
                                                "password": password})
    assert answer.status_code == 400 and answer.json()["errors"]["password"].startswith(why)
    assert rows_in(client, "accounts") == 0 and mailbox.mails() == []


def test_a_weak_password_is_refused_on_reset_and_the_old_one_still_works(client, mailbox):
    add_reader(client, "ani@example.id", "Ani")
    client.post("/api/password-resets", json={"email": "ani@example.id"})
    token = link_token(mailbox.mails()[0], "/akun/atur-ulang")
    weak = client.post("/api/password-resets/confirm", json={"token": token, "password": "ani@example.id2026"})
    assert weak.status_code == 400 and weak.json()["errors"]["password"].startswith(TOO_EASY)
    assert client.post("/api/session", json={"email": "ani@example.id", "password": READER_PASSWORD}).status_code == 200


def test_pst_cloud_user_add_refuses_a_guessable_password(cloud_env):
    weak = run(cloud_env, "cloud", "user", "add", "petugas@bps.go.id", "--role", "staff", input="password1234\n")
    assert weak.exit_code == 1 and TOO_EASY in weak.output
