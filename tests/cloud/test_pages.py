"""The reader pages work without JavaScript: register, open the mailed link, sign in, sign out, reset a password;
and the demo's mailbox shows the mails only in the demo."""

from __future__ import annotations

import re

from litestar.testing import TestClient

from cloud.app import create_app
from cloud.settings import CloudSettings
from tests.cloud.conftest import rows_in

PASSWORD = "kopi-toraja-2026"


def csrf(page) -> str:
    found = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
    assert found, "form without CSRF token"
    return found.group(1)


def submit(client, path: str, fields: dict, page_path: str | None = None):
    page = client.get(page_path or path)
    return client.post(path, data={**fields, "_csrf_token": csrf(page)}, follow_redirects=False)


def mailed_path(mailbox, path: str) -> str:
    found = re.search(rf"http://portal\.test({re.escape(path)}\?token=[A-Za-z0-9_-]+)", mailbox.mails()[0].body)
    assert found
    return found.group(1)


def test_register_verify_sign_in_and_out_through_the_pages(client, mailbox):
    home = client.get("/")
    assert home.status_code == 200 and 'lang="id"' in home.text and "Daftar" in home.text
    done = submit(client, "/akun/daftar", {"name": "Wa Ode Sitti", "email": "wa.ode@example.id", "password": PASSWORD})
    assert done.status_code == 201 and "Periksa email Anda" in done.text
    verify = mailed_path(mailbox, "/akun/verifikasi")
    verified = submit(client, "/akun/verifikasi", {"token": verify.split("=", 1)[1]}, page_path=verify)
    assert verified.status_code == 200 and "Email terverifikasi" in verified.text

    signed_in = submit(client, "/akun/masuk", {"email": "wa.ode@example.id", "password": PASSWORD})
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/akun"
    assert "Wa Ode Sitti" in client.get("/akun").text
    out = submit(client, "/akun/keluar", {}, page_path="/akun")
    assert out.status_code == 303 and rows_in(client, "sessions") == 0
    assert client.get("/akun", follow_redirects=False).headers["location"] == "/akun/masuk"


def test_a_refused_form_shows_the_field_and_keeps_what_was_typed(client, mailbox):
    answer = submit(client, "/akun/daftar", {"name": "Ani", "email": "ani@example.id", "password": "123"})
    assert answer.status_code == 400
    assert "minimal 10 karakter" in answer.text and 'value="ani@example.id"' in answer.text
    assert rows_in(client, "accounts") == 0 and mailbox.mails() == []


def test_a_form_without_its_csrf_token_is_refused(client):
    client.get("/akun/daftar")
    answer = client.post("/akun/daftar", data={"name": "Ani", "email": "ani@example.id", "password": PASSWORD})
    assert answer.status_code == 403 and rows_in(client, "accounts") == 0


def test_password_reset_through_the_pages(client, mailbox):
    submit(client, "/akun/daftar", {"name": "La Ode", "email": "la.ode@example.id", "password": PASSWORD})
    sent = submit(client, "/akun/lupa-sandi", {"email": "la.ode@example.id"})
    assert sent.status_code == 202 and "Jika email tersebut terdaftar" in sent.text
    reset = mailed_path(mailbox, "/akun/atur-ulang")
    token = reset.split("=", 1)[1]
    changed = submit(client, "/akun/atur-ulang", {"token": token, "password": "sagu-papeda-baru"}, page_path=reset)
    assert changed.status_code == 200 and "Kata sandi diganti" in changed.text
    signed_in = submit(client, "/akun/masuk", {"email": "la.ode@example.id", "password": "sagu-papeda-baru"})
    assert signed_in.status_code == 303  # a reset link also proves the address


def test_the_demo_mailbox_shows_mails_only_in_the_demo(cloud_env, mailbox, clock):
    demo = CloudSettings.from_env(cloud_env | {"PST_CLOUD_DEMO": "1", "PST_DATA_DIR": str(mailbox.folder.parent)})
    with TestClient(create_app(demo, clock=clock)) as client:
        client.post("/api/accounts", json={"email": "ani@example.id", "name": "Ani", "password": PASSWORD})
        page = client.get("/_dev/mail")
        assert page.status_code == 200 and "Verifikasi email akun PST Pustaka" in page.text
        assert 'href="http://portal.test/akun/verifikasi?token=' in page.text
    with TestClient(create_app(CloudSettings.from_env(cloud_env), clock=clock)) as client:
        assert client.get("/_dev/mail").status_code == 404
