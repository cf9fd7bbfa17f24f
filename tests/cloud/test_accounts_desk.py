"""A visitor the desk already knows by e-mail and the portal's reader are one account, on SQLite and PostgreSQL:
registering with that e-mail activates it by a mailed set-password link, every mail to it carries such a link, and
sign-in returns to the page that asked for it, never to another site."""

from __future__ import annotations

import re
from urllib.parse import quote, unquote

import pytest

from tests.cloud.conftest import COOKIE, READER_PASSWORD, as_, rows_in, run_db, sign_in, write_pdf

EMAIL, DESK_NAME = "wa.ode@uho.ac.id", "Wa Ode Nurhaliza"
NEW_PASSWORD = "sagu-papeda-kendari"
SHA = "ab" * 32


def desk_account(client, clock, email: str = EMAIL) -> str:
    """What the sync leaves for a visitor who scanned at the desk: a reader account with no password, unverified,
    and her scan in it."""
    account_id = "desk-" + email.split("@")[0]
    run_db(client, "INSERT INTO accounts (id, email, name, password_hash, role, created_at)"
                   " VALUES ({}, {}, {}, '!', 'reader', {})", account_id, email, DESK_NAME, clock.now())
    run_db(client, "INSERT INTO deliverables (id, office_code, account_id, pages, sha256, bytes, scanned_at,"
                   " received_at) VALUES ({}, '7400', {}, 3, {}, 1234, {}, {})",
           f"scan-{account_id}", account_id, SHA, clock.now(), clock.now())
    return account_id


def register(client, email=EMAIL, name="Wa Ode", password=READER_PASSWORD):
    return client.post("/api/accounts", json={"email": email, "name": name, "password": password})


def set_password_link(mail) -> tuple[str, str]:
    """The token and the `next` of the set-password link in a mail."""
    found = re.search(r"http://portal\.test/akun/buat-sandi\?token=([A-Za-z0-9_-]+)&next=(\S+)", mail.body)
    assert found, f"no set-password link in: {mail.body}"
    return found.group(1), unquote(found.group(2))


def csrf(page) -> str:
    return re.search(r'name="_csrf_token" value="([^"]+)"', page.text).group(1)


def test_registering_with_a_desk_email_answers_like_any_registration_and_mails_an_activation(client, mailbox, clock):
    account_id = desk_account(client, clock)
    answer = register(client, email=" WA.ODE@uho.ac.id ")
    fresh = register(client, email="la.ode@example.id", name="La Ode")
    assert answer.status_code == fresh.status_code == 201
    assert set(answer.json()) == set(fresh.json())
    assert answer.json() | {"id": None} == {"id": None, "email": EMAIL, "name": "Wa Ode", "role": "reader",
                                            "verified": False}
    assert rows_in(client, "accounts") == 2  # hers and La Ode's: no second account for her address
    stored = run_db(client, "SELECT password_hash, verified_at FROM accounts WHERE id = {}", account_id)
    assert stored == [{"password_hash": "!", "verified_at": None}]  # the typed password proves nothing yet
    [activation] = [m for m in mailbox.mails() if m.to == [EMAIL]]
    assert "Aktifkan" in activation.subject and "7 hari" in activation.body
    token, next_path = set_password_link(activation)
    assert next_path == "/akun"
    assert token not in str(run_db(client, "SELECT token_hash FROM account_tokens"))

    assert client.post("/api/session", json={"email": EMAIL, "password": READER_PASSWORD}).status_code == 401
    chosen = client.post("/api/accounts/password", json={"token": token, "password": NEW_PASSWORD})
    assert chosen.status_code == 200 and chosen.json()["verified"] is True and chosen.json()["id"] == account_id
    assert [d["pages"] for d in client.get("/api/deliverables").json()["deliverables"]] == [3]  # her scan is there
    client.cookies.delete(COOKIE)
    assert client.post("/api/session", json={"email": EMAIL, "password": NEW_PASSWORD}).status_code == 200


def test_an_email_that_already_has_a_password_is_refused_pointing_at_lupa_sandi(client, mailbox, clock):
    sign_in(client, EMAIL, DESK_NAME, "reader")
    again = register(client, name="Orang Lain")
    assert again.status_code == 409 and "Lupa kata sandi" in again.json()["detail"]
    assert "email" in again.json()["errors"] and mailbox.mails() == []


def test_a_set_password_link_is_single_use_and_expires_after_seven_days(client, mailbox, clock):
    desk_account(client, clock)
    register(client)
    assert register(client).status_code == 201 and len(mailbox.mails()) == 1  # at once again: no second mail
    clock.advance(minutes=5, seconds=1)
    register(client)  # later: a second link
    first, _ = set_password_link(mailbox.mails()[1])
    second, _ = set_password_link(mailbox.mails()[0])
    clock.advance(days=7, minutes=-5)  # the first link is 7 days and a second old, the second not quite 7 days
    late = client.post("/api/accounts/password", json={"token": first, "password": NEW_PASSWORD})
    assert late.status_code == 400 and "token" in late.json()["errors"]
    register(client)
    third, _ = set_password_link(mailbox.mails()[0])
    weak = client.post("/api/accounts/password", json={"token": third, "password": "123"})
    assert weak.status_code == 400 and "password" in weak.json()["errors"]
    assert client.post("/api/accounts/password", json={"token": third, "password": NEW_PASSWORD}).status_code == 200
    for spent in (third, second):  # used, or spent with it: an old mail opens nothing once she has a password
        again = client.post("/api/accounts/password", json={"token": spent, "password": "lain-lagi-12345"})
        assert again.status_code == 400
    assert run_db(client, "SELECT count(*) AS n FROM account_tokens WHERE used_at IS NULL")[0]["n"] == 0


def desk_request(client, clock, account_id: str) -> str:
    run_db(client, "INSERT INTO softcopy_requests (id, account_id, description, purpose, status, created_at, origin,"
                   " office_code) VALUES ('req-desk', {}, 'Tabel penduduk per kecamatan', 'penelitian', 'diajukan',"
                   " {}, 'edge', '7400')", account_id, clock.now())
    return "req-desk"


def test_the_softcopy_ready_mail_to_a_desk_account_leads_through_a_new_password_to_the_request(
        client, mailbox, clock, tmp_path):
    request_id = desk_request(client, clock, desk_account(client, clock))
    as_(client, sign_in(client, "petugas@bps.go.id", "Petugas PST", "staff"))
    pdf = write_pdf(tmp_path / "upload" / "tabel.pdf", pages=2).read_bytes()
    done = client.post(f"/api/staff/requests/{request_id}/fulfil", files={"file": ("tabel.pdf", pdf, "application/pdf")})
    assert done.status_code == 200, done.text
    [ready] = mailbox.mails()
    assert "sudah tersedia" in ready.subject and "belum memiliki kata sandi" in ready.body
    token, next_path = set_password_link(ready)
    assert next_path == "/akun/permintaan"

    as_(client, None)
    page = client.get(f"/akun/buat-sandi?token={token}&next={next_path}")
    assert page.status_code == 200 and 'name="next" value="/akun/permintaan"' in page.text
    chosen = client.post("/akun/buat-sandi", data={"token": token, "next": next_path, "password": NEW_PASSWORD,
                                                   "_csrf_token": csrf(page)}, follow_redirects=False)
    assert chosen.status_code == 303 and chosen.headers["location"] == "/akun/permintaan"
    mine = client.get("/api/requests").json()["requests"]
    assert [(r["id"], r["status"], r["has_softcopy"]) for r in mine] == [(request_id, "selesai", True)]


def test_a_mail_to_an_account_with_a_password_mentions_lupa_sandi_and_carries_no_link(client, mailbox, clock, tmp_path):
    reader = sign_in(client, EMAIL, DESK_NAME, "reader")
    as_(client, reader)
    made = client.post("/api/requests", json={"purpose": "penelitian", "description": "Tabel khusus"}).json()
    as_(client, sign_in(client, "petugas@bps.go.id", "Petugas PST", "staff"))
    client.post(f"/api/staff/requests/{made['id']}/reject", json={"reason": "Data belum dirilis"})
    [rejected] = mailbox.mails()
    assert "Lupa kata sandi?" in rejected.body and "http://portal.test/akun/lupa-sandi" in rejected.body
    assert "buat-sandi" not in rejected.body and rows_in(client, "account_tokens") == 0


def login_form(client, next_path: str | None):
    page = client.get("/akun/masuk" + (f"?next={quote(next_path)}" if next_path else ""))
    fields = {"email": EMAIL, "password": READER_PASSWORD, "_csrf_token": csrf(page)}
    return page, client.post("/akun/masuk", data=fields | ({"next": next_path} if next_path else {}),
                             follow_redirects=False)


@pytest.mark.parametrize("asked, lands", [
    ("/akun/permintaan?publikasi=abc", "/akun/permintaan?publikasi=abc"),
    ("/publikasi/01a2/baca", "/publikasi/01a2/baca"),
    (None, "/akun"),
    ("//evil.example/akun", "/akun"),
    ("https://evil.example/", "/akun"),
    ("/\\evil.example", "/akun"),
    ("/\t/evil.example", "/akun"),
    ("javascript:alert(1)", "/akun"),
    ("akun/pindaian", "/akun"),
])
def test_sign_in_returns_only_to_a_page_of_this_site(client, clock, asked, lands):
    sign_in(client, EMAIL, DESK_NAME, "reader")
    client.cookies.delete(COOKIE)
    page, signed_in = login_form(client, asked)
    assert signed_in.status_code == 303 and signed_in.headers["location"] == lands
    carried = 'name="next"' in page.text
    assert carried == (lands != "/akun")  # a refused next is not even put in the form


def test_a_page_that_needs_a_session_sends_to_sign_in_and_the_form_keeps_it_through_a_wrong_password(client, clock):
    sign_in(client, EMAIL, DESK_NAME, "reader")
    client.cookies.delete(COOKIE)
    asked = client.get("/akun/pindaian", follow_redirects=False)
    assert asked.status_code == 303 and asked.headers["location"] == "/akun/masuk?next=/akun/pindaian"
    page = client.get(asked.headers["location"])
    wrong = client.post("/akun/masuk", data={"email": EMAIL, "password": "salah-sekali-123", "next": "/akun/pindaian",
                                             "_csrf_token": csrf(page)}, follow_redirects=False)
    assert wrong.status_code == 401 and 'name="next" value="/akun/pindaian"' in wrong.text
    right = client.post("/akun/masuk", data={"email": EMAIL, "password": READER_PASSWORD, "next": "/akun/pindaian",
                                             "_csrf_token": csrf(wrong)}, follow_redirects=False)
    assert right.headers["location"] == "/akun/pindaian"
    assert "Hasil pindaian saya" in client.get("/akun/pindaian").text


def test_a_publication_and_its_request_form_send_to_sign_in_and_back(client, clock, catalogue):
    sign_in(client, EMAIL, DESK_NAME, "reader")
    client.cookies.delete(COOKIE)
    pid = catalogue["Statistik Daerah Kota Kendari 2024"]
    with_copy = catalogue["Kota Kendari Dalam Angka 2024"]
    assert f'href="/akun/masuk?next=/publikasi/{with_copy}"' in client.get(f"/publikasi/{with_copy}").text
    asked = client.get(f"/akun/permintaan?publikasi={pid}", follow_redirects=False)
    assert asked.headers["location"] == f"/akun/masuk?next=/akun/permintaan%3Fpublikasi%3D{pid}"
    page = client.get(asked.headers["location"])
    assert f'name="next" value="/akun/permintaan?publikasi={pid}"' in page.text
    back = client.post("/akun/masuk", data={"email": EMAIL, "password": READER_PASSWORD,
                                            "next": f"/akun/permintaan?publikasi={pid}", "_csrf_token": csrf(page)},
                       follow_redirects=False)
    assert back.headers["location"] == f"/akun/permintaan?publikasi={pid}"
    assert f'value="{pid}"' in client.get(back.headers["location"]).text  # the form is filled in for her
