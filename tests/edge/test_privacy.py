"""Personal data on the appliance (UU No. 27/2022): the notice, retention that keeps the statistics, a person's
export and erasure, the admins' page, and the audit lines that never name the e-mail."""

import json
from dataclasses import asdict
from datetime import date, datetime

import pytest

from edge.config import ConfigError, parse_config
from edge.reports import report_figures
from edge.users import add_user
from pst import skm
from tests.conftest import MONDAY_MORNING, WITA
from tests.edge.test_ratings import csrf

EMAIL = "rahmat.hidayat@example.id"
GUEST = {"gender": "L", "age": 34, "education": "s2", "occupation": "peneliti", "institution": "Universitas Halu Oleo",
         "purposes": ["baca_tercetak", "pindai"], "id_type": "KTP", "phone": "0812-3456-7890"}
TWO_YEARS_AGO = datetime(2024, 9, 2, 9, 0, tzinfo=WITA)  # a Monday, office open


def check_in(appliance, name: str, email: str, **change) -> str:
    visit = appliance.check_in(GUEST | {"name": name, "email": email} | change).visit
    return visit["id"]


def served_and_rated(appliance, clock, visit_id: str) -> None:
    ticket = appliance.store.read.execute("SELECT ticket_id FROM visits WHERE id = ?", [visit_id]).fetchone()[0]
    appliance.desk.call_next(1)
    clock.advance(120)
    appliance.desk.act(ticket, "serve", 1)
    appliance.lockers.assign(visit_id, "KTP", "7471012345670001")
    appliance.checkout.checkout(visit_id)
    appliance.ratings.submit(visit_id, dict.fromkeys(skm.CODES, 3), "Petugas ramah, saya Rahmat")


@pytest.fixture
def history(appliance, clock):
    """Two years ago: Rahmat (served, with a locker and a rating) and Sari; today: Rahmat again."""
    clock.set(TWO_YEARS_AGO)
    old = check_in(appliance, "Rahmat Hidayat", EMAIL)
    served_and_rated(appliance, clock, old)
    check_in(appliance, "Sari Wulandari", "sari@example.id", gender="P", phone="0813-9999-0000")
    appliance.complaints.submit("langsung", "AC ruang baca mati", EMAIL)
    clock.set(MONDAY_MORNING)
    today = check_in(appliance, "Rahmat Hidayat", EMAIL)
    return {"old": old, "today": today}


def figures(appliance, clock, day: date) -> dict:
    found = asdict(report_figures(appliance.store, appliance.config, day, day, clock.now()))
    found.pop("institutions")  # retention keeps them too; an erasure moves the person's to "not filled"
    return found


def everything(appliance) -> str:
    """Every table of the appliance as text, to look for a value anywhere."""
    db = appliance.store.read
    tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'"
                                       " AND name NOT LIKE '%fts%'").fetchall()]
    return json.dumps({t: db.execute(f"SELECT * FROM {t}").fetchall() for t in tables}, default=str)


def test_retention_blanks_old_identities_and_keeps_the_figures(appliance, clock, history):
    before_report = figures(appliance, clock, TWO_YEARS_AGO.date())
    counts = appliance.privacy.apply()
    assert counts["visits"] == 2 and counts["complaints"] == 1
    db = appliance.store.read
    old = db.execute("SELECT name, email, phone, institution, gender, education, wait_s, anonymised_at FROM visits"
                     " WHERE id = ?", [history["old"]]).fetchone()
    assert old[:3] == ("(dihapus)", "", None) and old[3] == "Universitas Halu Oleo" and old[4:6] == ("L", "s2")
    assert old[6] is not None and old[7] is not None
    assert db.execute("SELECT id_last4, id_hash FROM locker_uses").fetchone() == ("", "")
    assert db.execute("SELECT email FROM visits WHERE id = ?", [history["today"]]).fetchone()[0] == EMAIL
    assert figures(appliance, clock, TWO_YEARS_AGO.date()) == before_report
    events = db.execute("SELECT entity_id FROM outbox WHERE entity = 'visit' AND op = 'anonymised'").fetchall()
    assert {e[0] for e in events} >= {history["old"]}


def test_retention_twice_changes_nothing_more_and_is_audited(appliance, history):
    appliance.privacy.apply()
    events = "SELECT count(*) FROM outbox WHERE op = 'anonymised'"
    pending = appliance.store.read.execute(events).fetchone()[0]
    again = appliance.privacy.apply()
    assert again == {"visits": 0, "softcopy_requests": 0, "complaints": 0, "locker_uses": 0}
    db = appliance.store.read
    assert db.execute(events).fetchone()[0] == pending
    lines = db.execute("SELECT actor, detail FROM audit_log WHERE action = 'retention.apply'").fetchall()
    assert len(lines) == 2 and lines[0][0] == "system" and json.loads(lines[0][1])["months"] == 24


def test_the_daily_run_happens_once_per_office_day(appliance, history):
    assert appliance.privacy.daily("2026-11-30") is not None
    assert appliance.privacy.daily("2026-11-30") is None
    assert appliance.privacy.daily("2026-12-01") is not None


def test_export_holds_everything_about_the_email_and_the_audit_line_does_not_name_it(appliance, history):
    document = appliance.privacy.export(EMAIL.upper(), actor="kepala")
    assert [v["name"] for v in document["visits"]] == ["Rahmat Hidayat", "Rahmat Hidayat"]
    assert all(v["ticket_number"].startswith("A") for v in document["visits"])
    assert document["lockers"][0]["id_last4"] == "0001" and "id_hash" not in document["lockers"][0]
    assert document["ratings"][0]["comment"] == "Petugas ramah, saya Rahmat"
    assert document["complaints"][0]["text"] == "AC ruang baca mati"
    assert "Sari" not in json.dumps(document)
    target, detail = appliance.store.read.execute(
        "SELECT target, detail FROM audit_log WHERE action = 'privacy.export'").fetchone()
    assert target.startswith("email:") and EMAIL not in target + detail and "r***@example.id" in detail


def test_erasure_anonymises_every_record_keeps_counts_and_goes_up_as_a_digest(appliance, clock, history):
    old_report = figures(appliance, clock, TWO_YEARS_AGO.date())
    ikm_before = old_report["ikm"]
    counts = appliance.privacy.erase(EMAIL, actor="kepala")
    assert counts["visits"] == 2 and counts["complaints"] == 1
    stored = everything(appliance)
    for trace in (EMAIL, "Rahmat", "081234567890", '"0001"', "saya Rahmat"):
        assert trace not in stored, trace
    assert "sari@example.id" in stored  # nobody else is touched
    after = figures(appliance, clock, TWO_YEARS_AGO.date())
    for kept in ("waits", "by_day", "purposes", "education", "occupation", "scans", "complaints"):
        assert after[kept] == old_report[kept], kept
    assert after["ikm"] == ikm_before
    payload = appliance.store.read.execute(
        "SELECT payload FROM outbox WHERE entity = 'erasure' AND op = 'requested'").fetchone()[0]
    sent = json.loads(payload)
    assert set(sent) == {"salt", "digest", "at"} and EMAIL not in payload
    assert appliance.store.read.execute("SELECT count(*) FROM visits").fetchone()[0] == 3


def test_an_erasure_from_the_cloud_finds_the_email_by_its_digest(appliance, clock, history):
    from edge.privacy import erase_by_digest
    from pst.privacy import erasure_digest

    salt, digest = erasure_digest(EMAIL)
    with appliance.store.write() as db:
        counts, _ = erase_by_digest(db, salt, digest, clock.now())
        nobody, _ = erase_by_digest(db, *erasure_digest("orang.lain@example.id"), clock.now())
    assert counts["visits"] == 2 and nobody["visits"] == 0
    db = appliance.store.read
    assert db.execute("SELECT count(*) FROM outbox WHERE entity = 'erasure'").fetchone()[0] == 0  # not sent back
    assert db.execute("SELECT actor FROM audit_log WHERE action = 'privacy.erase'").fetchone()[0] == "sync"


@pytest.mark.parametrize("change, key", [
    ({"identity_months": 0}, "privacy.identity_months: must be between 1 and 120"),
    ({"identity_months": "dua"}, "privacy.identity_months: must be an integer"),
    ({"contact": 42}, "privacy.contact: must be a string"),
    ({"identity_months": 12, "kontak": "x"}, "privacy.kontak: unknown key"),
])
def test_privacy_settings_are_checked_with_the_file_and_key(change, key):
    raw = {"office": {"code": "7400", "name": "BPS"}, "printer": {"connection": "none"}, "privacy": change}
    with pytest.raises(ConfigError, match=key.replace("(", r"\(")):
        parse_config(raw, source="pst.toml")


# --- pages ---------------------------------------------------------------------------------------------------------
def test_the_guestbook_and_privasi_show_the_configured_months_and_contact(client):
    page = client.get("/buku-tamu").text
    assert "setelah 24 bulan" in page and "meja layanan perpustakaan" in page and 'href="/privasi"' in page
    full = client.get("/privasi").text
    assert "24 bulan" in full and "penghapusan" in full
    client.cookies.set("pst_lang", "en")
    assert "after 24 months" in client.get("/buku-tamu").text


def test_the_staff_page_is_for_admins_and_erases_only_after_confirmation(client, app, clock):
    appliance = app.state.appliance
    add_user(appliance.store, clock, "petugas", "frontliner", "rahasia-petugas-1")
    add_user(appliance.store, clock, "kepala", "admin", "rahasia-kepala-1")
    check_in(appliance, "Rahmat Hidayat", EMAIL)
    client.post("/api/session", json={"username": "petugas", "password": "rahasia-petugas-1"})
    assert client.get("/petugas/privasi").status_code == 403
    client.post("/api/session", json={"username": "kepala", "password": "rahasia-kepala-1"})
    token = csrf(client.get("/petugas/privasi").text)
    download = client.post("/petugas/privasi/ekspor", data={"_csrf_token": token, "email": EMAIL})
    assert download.status_code == 200 and "no-store" in download.headers["cache-control"]
    assert "attachment" in download.headers["content-disposition"] and download.json()["visits"][0]["email"] == EMAIL
    asked = client.post("/petugas/privasi/hapus", data={"_csrf_token": token, "email": EMAIL})
    assert "Ditemukan 1 kunjungan" in asked.text and appliance.privacy is not None
    assert appliance.store.read.execute("SELECT email FROM visits").fetchone()[0] == EMAIL
    done = client.post("/petugas/privasi/hapus", data={"_csrf_token": token, "email": EMAIL, "confirm": "ya"})
    assert "Dihapus: 1 kunjungan" in done.text
    assert appliance.store.read.execute("SELECT email FROM visits").fetchone()[0] == ""
    bad = client.post("/petugas/privasi/hapus", data={"_csrf_token": token, "email": "bukan-email"})
    assert bad.status_code == 400
