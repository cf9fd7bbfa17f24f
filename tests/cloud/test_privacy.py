"""Personal data on the portal (UU No. 27/2022): the registration's notice, the daily retention (once across
workers), a person's export and erasure (sign-in impossible after, counts kept, an erasure sent to every office),
and the admins' page with its confirmation step. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import timedelta

import pytest

from cloud.db import Database
from cloud.settings import CloudSettings, ConfigError
from tests.cloud.conftest import READER_PASSWORD, add_reader, as_, rows_in, run_db

EMAIL = "rahmat.hidayat@example.id"
SHEET = {"U1": 4, "U2": 3, "U3": 2, "U4": 4, "U5": 1, "U6": 3, "U7": 4, "U8": 2, "U9": 3}


@pytest.fixture
def reader(client, offices):
    """Rahmat with an account, a rating with a comment, a complaint with his e-mail, and a softcopy request."""
    token = add_reader(client, EMAIL, "Rahmat Hidayat")
    assert client.post("/api/ratings", json={"office": "7400", "scores": SHEET,
                                             "comment": "Saya Rahmat, terima kasih"}).status_code == 201
    assert client.post("/api/complaints", json={"office": "7400", "channel": "website", "text": "Unduhan lambat",
                                                "contact": EMAIL}).status_code == 201
    assert client.post("/api/requests", json={"purpose": "penelitian", "description": "Sakernas 2024"}
                       ).status_code == 201
    as_(client, None)
    return token


def _service(client):
    from cloud.privacy import Privacy

    state = client.app.state
    return Privacy(state.db, state.clock, state.settings.signing_key(), state.settings.data_dir, 24)


def call(client, fn, *args):
    return client.blocking_portal.call(fn, *args)


def test_registration_shows_the_notice_with_the_configured_months_and_contact(tmp_path, mailbox, clock):
    from litestar.testing import TestClient

    from cloud.app import create_app

    (tmp_path / "var").mkdir()
    env = {"PST_DATA_DIR": str(tmp_path / "var"), "PST_CLOUD_SMTP_URL": mailbox.url, "PST_CLOUD_SECRET": "s" * 32,
           "PST_CLOUD_IDENTITY_MONTHS": "18", "PST_CLOUD_PRIVACY_CONTACT": "pst7400@bps.go.id"}
    with TestClient(create_app(CloudSettings.from_env(env), clock=clock), base_url="http://portal.test") as client:
        page = " ".join(client.get("/akun/daftar").text.split())
        assert "setelah 18 bulan" in page and "pst7400@bps.go.id" in page and 'href="/privasi"' in page
        full = " ".join(client.get("/privasi").text.split())
        assert "setelah 18 bulan" in full and "penghapusan" in full


@pytest.mark.parametrize("months", ["0", "121", "dua"])
def test_a_bad_retention_setting_is_refused_with_its_name(months):
    with pytest.raises(ConfigError, match="PST_CLOUD_IDENTITY_MONTHS"):
        CloudSettings.from_env({"PST_CLOUD_IDENTITY_MONTHS": months})


def test_export_then_erasure_ends_sign_in_keeps_counts_and_is_sent_to_every_office(client, reader):
    document = call(client, _service(client).export, EMAIL.upper(), "admin@bps.go.id")
    assert document["account"]["name"] == "Rahmat Hidayat"
    assert document["ratings"][0]["comment"] == "Saya Rahmat, terima kasih"
    assert document["complaints"][0]["text"] == "Unduhan lambat"
    assert document["softcopy_requests"][0]["description"] == "Sakernas 2024"
    line = run_db(client, "SELECT target, detail FROM audit_log WHERE action = 'privacy.export'")[0]
    assert line["target"].startswith("email:") and "r***@example.id" in line["detail"]
    counts = call(client, _service(client).erase, EMAIL, "admin@bps.go.id")
    assert counts == {"account": 1, "complaints": 1, "ratings": 1, "scans": 0}
    assert rows_in(client, "ratings") == 1 and rows_in(client, "complaints") == 1
    assert rows_in(client, "softcopy_requests") == 1 and rows_in(client, "sessions") == 0
    for table in ("accounts", "ratings", "complaints", "softcopy_requests", "login_attempts",
                  "audit_log", "erasures", "changes"):  # the whole trail: readers are named by account id
        stored = json.dumps(run_db(client, f"SELECT * FROM {table}"), default=str)
        for trace in (EMAIL, "Rahmat"):
            assert trace not in stored, (table, [r for r in stored.split("}, {") if trace in r])
    signed = client.post("/api/session", json={"email": EMAIL, "password": READER_PASSWORD})
    assert signed.status_code == 401
    change = run_db(client, "SELECT office_code, entity, entity_id FROM changes WHERE entity = 'erasure'")
    assert len(change) == 1 and change[0]["office_code"] is None
    assert client.post("/api/accounts", json={"email": EMAIL, "name": "Rahmat", "password": "kopi-toraja-2027"}
                       ).status_code == 201  # the address is free again: a new person


def test_retention_blanks_old_contacts_once_a_day_even_with_two_workers(client, reader, clock, database):
    from cloud.privacy import daily

    old = clock.now() - timedelta(days=800)
    run_db(client, "UPDATE complaints SET received_at = {}", old)

    async def two_workers():
        first, second = Database(database), Database(database)
        await first.start(), await second.start()
        try:
            return await asyncio.gather(daily(first, clock, 24, "2026-11-30"), daily(second, clock, 24, "2026-11-30"))
        finally:
            await first.stop(), await second.stop()

    results = asyncio.run(two_workers())
    assert sorted(r is None for r in results) == [False, True]
    assert [r for r in results if r][0]["complaints"] == 1
    assert run_db(client, "SELECT contact FROM complaints")[0]["contact"] is None
    assert rows_in(client, "complaints") == 1
    assert run_db(client, "SELECT count(*) AS n FROM audit_log WHERE action = 'retention.apply'")[0]["n"] == 1
    clock.advance(days=1)  # the app's own loop takes the next day
    client.blocking_portal.call(_loop_until_run, client.app.state.db, clock, 2)
    assert run_db(client, "SELECT count(*) AS n FROM audit_log WHERE action = 'retention.apply'")[0]["n"] == 2


async def _loop_until_run(db, clock, runs: int) -> None:
    from cloud.privacy import run_daily

    stop = asyncio.Event()
    task = asyncio.create_task(run_daily(db, clock, 24, "/nonexistent", stop, first=0))
    for _ in range(200):
        if (await db.execute("SELECT count(*) AS n FROM privacy_runs"))[0]["n"] == runs:
            break
        await asyncio.sleep(0.02)
    stop.set()
    await task


def _csrf(page: str) -> str:
    return re.search(r'name="_csrf_token" value="([^"]+)"', page).group(1)


def test_the_back_office_page_is_for_admins_and_erases_after_confirmation(client, reader):
    from tests.cloud.test_backoffice import add_account

    as_(client, add_account(client, "petugas@bps.go.id", "staff"))
    assert client.get("/kantor/privasi").status_code == 403
    as_(client, add_account(client, "admin@bps.go.id", "admin"))
    token = _csrf(client.get("/kantor/privasi").text)
    download = client.post("/kantor/privasi/ekspor", data={"_csrf_token": token, "email": EMAIL})
    assert download.status_code == 200 and "no-store" in download.headers["cache-control"]
    assert "attachment" in download.headers["content-disposition"]
    assert download.json()["account"]["email"] == EMAIL
    asked = client.post("/kantor/privasi/hapus", data={"_csrf_token": token, "email": EMAIL})
    assert "1 akun" in asked.text and run_db(client, "SELECT count(*) AS n FROM accounts WHERE email = {}",
                                              EMAIL)[0]["n"] == 1
    done = client.post("/kantor/privasi/hapus", data={"_csrf_token": token, "email": EMAIL, "confirm": "ya"})
    assert done.status_code == 200 and "Dihapus: 1 akun" in done.text
    assert run_db(client, "SELECT count(*) AS n FROM accounts WHERE email = {}", EMAIL)[0]["n"] == 0
    staff = client.post("/kantor/privasi/hapus", data={"_csrf_token": token, "email": "petugas@bps.go.id",
                                                       "confirm": "ya"})
    assert staff.status_code == 409
    bad = client.post("/kantor/privasi/ekspor", data={"_csrf_token": token, "email": "bukan-email"})
    assert bad.status_code == 400
