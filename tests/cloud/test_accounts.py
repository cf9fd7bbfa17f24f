"""Accounts over the JSON API, on SQLite and PostgreSQL: registration, mailed verification, sign-in and out,
lockout, password reset; and that a refused request stores nothing."""

from __future__ import annotations

import pytest

from tests.cloud.conftest import SECRET, link_token, rows_in, run_db

PASSWORD = "kopi-toraja-2026"
TABLES = ("accounts", "account_tokens", "sessions")


def register(client, email="wa.ode@example.id", name="Wa Ode Sitti", password=PASSWORD):
    return client.post("/api/accounts", json={"email": email, "name": name, "password": password})


def registered_and_verified(client, mailbox, email="wa.ode@example.id", password=PASSWORD) -> None:
    assert register(client, email=email, password=password).status_code == 201
    token = link_token(mailbox.mails()[0], "/akun/verifikasi")
    assert client.post("/api/accounts/verify", json={"token": token}).status_code == 200


def login(client, email="wa.ode@example.id", password=PASSWORD):
    return client.post("/api/session", json={"email": email, "password": password})


def stored(client) -> dict[str, int]:
    return {table: rows_in(client, table) for table in TABLES}


def test_healthz_names_the_database_engine(client, database):
    answer = client.get("/healthz")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok", "database": database.split(":")[0]}


def test_register_verify_login_and_logout(client, mailbox):
    answer = register(client, email="  Wa.Ode@Example.ID ")
    assert answer.status_code == 201
    assert answer.json() | {"id": None} == {
        "id": None, "email": "wa.ode@example.id", "name": "Wa Ode Sitti", "role": "reader", "verified": False,
    }
    [mail] = mailbox.mails()
    assert mail.to == ["wa.ode@example.id"] and "Verifikasi" in mail.subject
    token = link_token(mail, "/akun/verifikasi")

    assert login(client).status_code == 403  # not verified yet
    assert client.post("/api/accounts/verify", json={"token": token}).json() == {"verified": True}

    signed_in = login(client, email="WA.ODE@example.id")
    assert signed_in.status_code == 200 and signed_in.json()["verified"] is True
    cookie = signed_in.headers["set-cookie"]
    assert "pst_cloud_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert client.get("/api/session").json()["email"] == "wa.ode@example.id"

    assert client.delete("/api/session").status_code == 200
    assert client.get("/api/session").status_code == 401
    assert rows_in(client, "sessions") == 0


def test_tokens_and_sessions_are_stored_only_as_keyed_hashes(client, mailbox):
    registered_and_verified(client, mailbox)
    mailed = link_token(mailbox.mails()[0], "/akun/verifikasi")
    login(client)
    cookie = client.cookies["pst_cloud_session"]
    hashes = [r["token_hash"] for r in run_db(client, "SELECT token_hash FROM account_tokens")]
    sessions = [r["id"] for r in run_db(client, "SELECT id FROM sessions")]
    assert mailed not in hashes and cookie not in sessions
    assert len(hashes) == 1 and len(sessions) == 1 and SECRET not in hashes[0]
    hashed = run_db(client, "SELECT password_hash FROM accounts")[0]["password_hash"]
    assert hashed.startswith("$argon2id$") and PASSWORD not in hashed


def test_the_same_email_in_other_letters_is_taken(client, mailbox):
    assert register(client).status_code == 201
    before = stored(client)
    again = register(client, email="WA.ODE@EXAMPLE.ID", name="Orang Lain")
    assert again.status_code == 409 and "email" in again.json()["errors"]
    assert stored(client) == before and len(mailbox.mails()) == 1


@pytest.mark.parametrize("password, why", [
    ("pendek", "minimal 10 karakter"),
    ("1234567890123", "tidak boleh hanya angka"),
    ("wa.ode@example.id", "tidak boleh sama dengan alamat email"),
])
def test_weak_password_is_refused_with_the_field(client, mailbox, password, why):
    answer = register(client, password=password)
    assert answer.status_code == 400
    assert answer.json()["errors"] == {"password": why}
    assert stored(client) == dict.fromkeys(TABLES, 0) and mailbox.mails() == []


@pytest.mark.parametrize("body, fields", [
    ({}, {"email", "name", "password"}),
    ({"email": "bukan-email", "name": "Ani", "password": PASSWORD}, {"email"}),
    ({"email": "ani@example.id", "name": " ", "password": PASSWORD}, {"name"}),
])
def test_incomplete_registration_names_the_fields(client, mailbox, body, fields):
    answer = client.post("/api/accounts", json=body)
    assert answer.status_code == 400 and set(answer.json()["errors"]) == fields
    assert answer.json()["detail"]
    assert stored(client) == dict.fromkeys(TABLES, 0) and mailbox.mails() == []


def test_the_api_takes_only_json(client):
    answer = client.post("/api/accounts", data={"email": "a@b.id", "name": "A", "password": PASSWORD})
    assert answer.status_code == 415 and rows_in(client, "accounts") == 0


def test_bad_expired_and_reused_verification_tokens_are_refused(client, mailbox, clock):
    assert client.post("/api/accounts/verify", json={"token": "tidak-ada"}).status_code == 400
    register(client)
    token = link_token(mailbox.mails()[0], "/akun/verifikasi")
    clock.advance(hours=49)
    late = client.post("/api/accounts/verify", json={"token": token})
    assert late.status_code == 400 and "token" in late.json()["errors"]
    assert run_db(client, "SELECT verified_at FROM accounts")[0]["verified_at"] is None

    register(client, email="la.ode@example.id")
    fresh = link_token(mailbox.mails()[0], "/akun/verifikasi")
    assert client.post("/api/accounts/verify", json={"token": fresh}).status_code == 200
    assert client.post("/api/accounts/verify", json={"token": fresh}).status_code == 400


def test_five_wrong_passwords_lock_the_address_for_fifteen_minutes(client, mailbox, clock):
    registered_and_verified(client, mailbox)
    for _ in range(5):
        assert login(client, password="salah-sekali-123").status_code == 401
    locked = login(client)  # even the right password waits
    assert locked.status_code == 429 and 0 < int(locked.headers["retry-after"]) <= 15 * 60
    assert "15 menit" in locked.json()["detail"]
    assert login(client, email="lain@example.id").status_code == 401  # others are not locked out
    clock.advance(minutes=15, seconds=1)
    assert login(client).status_code == 200
    assert rows_in(client, "login_attempts") == 1  # the other address's failure; a success forgives its own


def test_unknown_email_and_wrong_password_get_the_same_answer(client, mailbox):
    registered_and_verified(client, mailbox)
    wrong = login(client, password="salah-sekali-123")
    unknown = login(client, email="siapa@example.id")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()


def test_password_reset_by_mailed_link(client, mailbox, clock):
    registered_and_verified(client, mailbox)
    assert login(client).status_code == 200
    assert client.get("/api/session").status_code == 200

    unknown = client.post("/api/password-resets", json={"email": "siapa@example.id"})
    known = client.post("/api/password-resets", json={"email": "WA.ODE@example.id"})
    assert unknown.status_code == known.status_code == 202 and unknown.json() == known.json()
    assert len(mailbox.mails()) == 2  # the verification, then one reset mail: none for the unknown address
    token = link_token(mailbox.mails()[0], "/akun/atur-ulang")

    weak = client.post("/api/password-resets/confirm", json={"token": token, "password": "123"})
    assert weak.status_code == 400 and "password" in weak.json()["errors"]
    new = "sagu-papeda-baru"
    assert client.post("/api/password-resets/confirm", json={"token": token, "password": new}).status_code == 200
    assert client.get("/api/session").status_code == 401  # every session ended
    assert login(client).status_code == 401
    assert login(client, password=new).status_code == 200
    reused = client.post("/api/password-resets/confirm", json={"token": token, "password": "lain-lagi-12345"})
    assert reused.status_code == 400


def test_reset_link_expires_after_an_hour(client, mailbox, clock):
    registered_and_verified(client, mailbox)
    client.post("/api/password-resets", json={"email": "wa.ode@example.id"})
    token = link_token(mailbox.mails()[0], "/akun/atur-ulang")
    clock.advance(hours=1, seconds=1)
    late = client.post("/api/password-resets/confirm", json={"token": token, "password": "sagu-papeda-baru"})
    assert late.status_code == 400 and login(client).status_code == 200


def test_expired_session_is_not_accepted(client, mailbox, clock):
    registered_and_verified(client, mailbox)
    login(client)
    clock.advance(days=14, seconds=1)
    assert client.get("/api/session").status_code == 401
