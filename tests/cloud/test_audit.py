"""The cloud's audit trail on SQLite and PostgreSQL: each act in the portal and the back office leaves its line (who,
what, which record, when, from where, which office), the database itself refuses UPDATE and DELETE, and only admins
read the trail, filtered, on /kantor/audit and GET /api/audit."""

from __future__ import annotations

import itertools
import json
import re
from datetime import timedelta

import pytest

from cloud import audit
from cloud.mailsink import MailSink
from cloud.settings import CloudSettings
from pst.clock import ManualClock
from tests.cloud.conftest import READER_PASSWORD, SECRET, as_, run_db, write_csv, write_pdf
from tests.conftest import MONDAY_MORNING

ADDRESS = "testclient"  # the TestClient's client address
EMAILS = {"reader": "wa.ode@example.id", "staff": "petugas@bps.go.id", "admin": "admin@bps.go.id"}
SERIAL = itertools.count(1)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def portal(request, tmp_path_factory):
    """One portal per engine for this module (Piccolo binds its tables to the last database made, so nothing else
    here makes one): (client, clock, session tokens by role)."""
    from litestar.testing import TestClient

    from cloud.accounts import Accounts
    from cloud.app import create_app

    folder = tmp_path_factory.mktemp(request.param)
    url = (f"sqlite:///{folder / 'cloud.db'}" if request.param == "sqlite"
           else request.getfixturevalue("postgres_cluster").new_database())
    with MailSink(folder / "mail") as sink:
        settings = CloudSettings.from_env({
            "PST_DATA_DIR": str(folder / "var"), "PST_CLOUD_DATABASE_URL": url, "PST_CLOUD_SMTP_URL": sink.url,
            "PST_CLOUD_SECRET": SECRET, "PST_CLOUD_PUBLIC_URL": "http://portal.test",
        })
        clock = ManualClock(MONDAY_MORNING)
        with TestClient(create_app(settings, clock=clock), base_url="http://portal.test") as client:
            accounts = Accounts(client.app.state.db, clock, None, b"", "")
            for role, email in EMAILS.items():
                client.blocking_portal.call(accounts.add, email, role, READER_PASSWORD, email.split("@")[0])
            run_db(client, "INSERT INTO offices (id, code, name, created_at) VALUES ({}, {}, {}, {})",
                   "office-7400", "7400", "BPS Provinsi Sulawesi Tenggara", clock.now())
            _catalogue(client, clock, folder)
            yield client, clock, {role: sign_in(client, role) for role in EMAILS}


def _catalogue(client, clock, folder) -> None:
    from cloud.catalogue_import import import_csv

    write_pdf(folder / "katalog" / "pdf" / "sultra.pdf", pages=3, text="Sultra Dalam Angka")
    csv = write_csv(folder / "katalog" / "katalog.csv", [{
        "title": "Provinsi Sulawesi Tenggara Dalam Angka 2024", "year": "2024", "catalogue_number": "1102001.74",
        "type": "Dalam Angka", "subjects": "Kependudukan", "file": "pdf/sultra.pdf", "office_code": "7400",
    }])
    state = client.app.state
    client.blocking_portal.call(import_csv, state.db, clock, state.settings.data_dir, csv)


def sign_in(client, role: str) -> str:
    as_(client, None)
    answer = client.post("/api/session", json={"email": EMAILS[role], "password": READER_PASSWORD})
    assert answer.status_code == 200, answer.text
    return answer.cookies["pst_cloud_session"]


def form(client, path: str, data: dict | None = None, files=None):
    if not client.cookies.get("pst_cloud_csrf"):
        client.get("/kantor/katalog")
    return client.post(path, data={**(data or {}), "_csrf_token": client.cookies.get("pst_cloud_csrf")},
                       files=files, follow_redirects=False)


def a_pdf(tmp_path_factory) -> bytes:
    return write_pdf(tmp_path_factory.mktemp("pdf") / "berkas.pdf", pages=2, text="Tabel khusus").read_bytes()


def lines(client, **filters) -> list[dict]:
    return client.blocking_portal.call(lambda: audit.search(client.app.state.db, **filters, limit=500))


# --- each act and its line -----------------------------------------------------------------------------------------
def _signin_staff(client, tokens):
    sign_in(client, "staff")
    return "signin.ok", EMAILS["staff"], "account:"


def _signin_reader(client, tokens):
    sign_in(client, "reader")
    return "signin.ok", "pembaca:", "account:"  # a reader by account id: the trail holds no reader's e-mail


def _signin_failed(client, tokens):
    answer = client.post("/api/session", json={"email": EMAILS["staff"], "password": "bukan-sandinya-99"})
    assert answer.status_code == 401
    return "signin.failed", EMAILS["staff"], ""


def _signout(client, tokens):
    as_(client, sign_in(client, "staff"))
    assert client.delete("/api/session").status_code == 200
    return "signout", EMAILS["staff"], "account:"


def _publication(client) -> str:
    return run_db(client, "SELECT id FROM publications ORDER BY created_at LIMIT 1")[0]["id"]


def _catalogue_add(client, tokens):
    as_(client, tokens["staff"])
    n = next(SERIAL)
    added = form(client, "/kantor/katalog/baru", {"title": f"Statistik Daerah {n}", "year": "2025",
                                                  "catalogue_number": f"1101002.{7400 + n}", "office_code": "7400"})
    assert added.status_code == 303, added.text
    return "catalogue.add", EMAILS["staff"], "publication:" + added.headers["location"].split("/")[3].split("?")[0]


def _catalogue_edit(client, tokens):
    as_(client, tokens["staff"])
    publication = _publication(client)
    current = run_db(client, "SELECT * FROM publications WHERE id = {}", publication)[0]
    fields = {k: str(current[k] or "") for k in ("title", "year", "type", "subjects", "catalogue_number", "isbn",
                                                  "abstract", "office_code")}
    assert form(client, f"/kantor/katalog/{publication}", fields | {"abstract": "Ringkasan baru"}).status_code == 303
    return "catalogue.edit", EMAILS["staff"], f"publication:{publication}"


def _new_publication(client, tokens) -> str:
    return _catalogue_add(client, tokens)[2].split(":", 1)[1]


def _catalogue_remove(client, tokens):
    publication = _new_publication(client, tokens)
    assert form(client, f"/kantor/katalog/{publication}/hapus").status_code == 303
    return "catalogue.remove", EMAILS["staff"], f"publication:{publication}"


def _softcopy_attach(client, tokens, pdf: bytes):
    publication = _new_publication(client, tokens)
    answer = form(client, f"/kantor/katalog/{publication}/softcopy", files={"file": ("t.pdf", pdf, "application/pdf")})
    assert answer.status_code == 303, answer.text
    return publication


def _catalogue_attach(client, tokens, pdf):
    return "catalogue.softcopy_attach", EMAILS["staff"], f"publication:{_softcopy_attach(client, tokens, pdf)}"


def _catalogue_detach(client, tokens, pdf):
    publication = _softcopy_attach(client, tokens, pdf)
    assert form(client, f"/kantor/katalog/{publication}/softcopy/hapus").status_code == 303
    return "catalogue.softcopy_detach", EMAILS["staff"], f"publication:{publication}"


def _office_add(client, tokens):
    as_(client, tokens["admin"])
    code = str(7480 + next(SERIAL))
    assert form(client, "/kantor/kantor", {"code": code, "name": f"BPS Kabupaten {code}"}).status_code == 303
    return "office.add", EMAILS["admin"], f"office:{code}"


def _catalogue_location(client, tokens):
    as_(client, tokens["staff"])
    publication = _publication(client)
    placed = client.put(f"/api/staff/publications/{publication}/locations/7400",
                        json={"location": "display", "shelf": "R-01", "copies": 2})
    assert placed.status_code == 200, placed.text
    return "catalogue.location", EMAILS["staff"], f"publication:{publication}"


def _request(client, tokens, verb: str, pdf: bytes = b""):
    as_(client, tokens["reader"])
    made = client.post("/api/requests", json={"purpose": "penelitian", "description": f"Tabel {next(SERIAL)}"})
    assert made.status_code == 201, made.text
    as_(client, tokens["staff"])
    if verb == "fulfil":
        answer = client.post(f"/api/staff/requests/{made.json()['id']}/fulfil",
                             files={"file": ("tabel.pdf", pdf, "application/pdf")})
    else:
        body = {"reason": "Data belum dirilis"} if verb == "reject" else {}
        answer = client.post(f"/api/staff/requests/{made.json()['id']}/{verb}", json=body)
    assert answer.status_code == 200, answer.text
    return f"request.{verb}", EMAILS["staff"], f"softcopy_request:{made.json()['id']}"


def _complaint(client, tokens, step: str, body: dict):
    as_(client, None)
    made = client.post("/api/complaints", json={"office": "7400", "channel": "website",
                                                "text": f"Antrean loket lama sekali, nomor {next(SERIAL)}."})
    assert made.status_code == 201, made.text
    complaint = run_db(client, "SELECT id FROM complaints WHERE tracking = {}", made.json()["tracking"])[0]["id"]
    as_(client, tokens["staff"])
    assert client.post(f"/api/staff/complaints/{complaint}/{step}", json=body).status_code == 200
    return f"complaint:{complaint}"


def _complaint_enter(client, tokens):
    as_(client, tokens["staff"])
    text = f"Surat keluhan lewat kotak saran nomor {next(SERIAL)}."
    answer = form(client, "/kantor/pengaduan", {"office": "7400", "channel": "kotak_saran", "text": text})
    assert answer.status_code == 303, answer.text
    complaint = run_db(client, "SELECT id FROM complaints WHERE text = {}", text)[0]["id"]
    return "complaint.enter", EMAILS["staff"], f"complaint:{complaint}"


def _complaint_answer(client, tokens):
    target = _complaint(client, tokens, "tanggapan", {"response": "Loket kedua dibuka mulai besok."})
    return "complaint.answer", EMAILS["staff"], target


def _complaint_status(client, tokens):
    return "complaint.status", EMAILS["staff"], _complaint(client, tokens, "ditindaklanjuti", {})


def _export(client, tokens):
    as_(client, tokens["staff"])
    assert client.get("/kantor/laporan/xlsx", params={"office": "7400"}).status_code == 200
    return "export.report", EMAILS["staff"], "report:service"


def _add_device(client, tokens) -> tuple[str, str]:
    as_(client, tokens["admin"])
    added = form(client, "/kantor/kantor/perangkat", {"office": "7400", "name": f"Meja {next(SERIAL)}"})
    assert added.status_code == 201, added.text
    code = re.search(r'<p class="code">([A-Z0-9-]+)</p>', added.text).group(1)
    device = run_db(client, "SELECT id FROM devices ORDER BY created_at DESC, id DESC LIMIT 1")[0]["id"]
    return device, code


def _device_add(client, tokens):
    device, _ = _add_device(client, tokens)
    return "device.add", EMAILS["admin"], f"device:{device}"


def _device_revoke(client, tokens):
    device, _ = _add_device(client, tokens)
    assert form(client, f"/kantor/kantor/perangkat/{device}/cabut").status_code == 303
    return "device.revoke", EMAILS["admin"], f"device:{device}"


def _device_enrol(client, tokens):
    device, code = _add_device(client, tokens)
    as_(client, None)
    answer = client.post("/sync/v1/enroll", content=json.dumps({"code": code}),
                         headers={"content-type": "application/json"})
    assert answer.status_code == 201, answer.text
    return "device.enrol", None, f"device:{device}"


ACTS = {
    "signin.ok staff": _signin_staff, "signin.ok reader": _signin_reader, "signin.failed": _signin_failed,
    "signout": _signout, "catalogue.add": _catalogue_add, "catalogue.edit": _catalogue_edit,
    "catalogue.location": _catalogue_location,
    "catalogue.remove": _catalogue_remove, "catalogue.softcopy_attach": _catalogue_attach,
    "catalogue.softcopy_detach": _catalogue_detach, "office.add": _office_add,
    "request.process": lambda c, t: _request(c, t, "process"), "request.reject": lambda c, t: _request(c, t, "reject"),
    "request.fulfil": lambda c, t, pdf: _request(c, t, "fulfil", pdf), "complaint.enter": _complaint_enter,
    "complaint.answer": _complaint_answer, "complaint.status": _complaint_status, "export.report": _export,
    "device.add": _device_add, "device.revoke": _device_revoke, "device.enrol": _device_enrol,
}


@pytest.mark.parametrize("act", ACTS.values(), ids=ACTS.keys())
def test_each_act_leaves_its_line_with_who_what_record_when_and_where(portal, act, tmp_path_factory):
    client, clock, tokens = portal
    clock.advance(minutes=7)
    needs_pdf = act.__code__.co_argcount == 3
    action, actor, target = act(client, tokens, a_pdf(tmp_path_factory)) if needs_pdf else act(client, tokens)
    found = [line for line in lines(client, action=action)
             if line["actor"] == actor or actor.endswith(":") and line["actor"].startswith(actor)]
    assert found, f"no {action} line by {actor}"
    line = found[0]
    assert line["at"] == clock.now() and line["address"] == ADDRESS and line["origin"] == "cloud"
    assert line["target"].startswith(target) if target.endswith(":") else line["target"] == target
    if action.startswith(("device.", "export.", "complaint.")):
        assert line["office_code"] == "7400"
    if action == "office.add":
        assert line["office_code"] == target.split(":")[1]


def test_a_failed_sign_in_names_staff_by_e_mail_and_anyone_else_masked(portal):
    client, clock, tokens = portal
    for email in (EMAILS["reader"], "orang.asing@example.id"):
        assert client.post("/api/session", json={"email": email, "password": "bukan-sandinya-99"}).status_code == 401
    actors = {line["actor"] for line in lines(client, action="signin.failed")}
    assert "o***@example.id" in actors and any(a.startswith("pembaca:") for a in actors)
    assert not {EMAILS["reader"], "orang.asing@example.id"} & actors


def test_no_password_or_enrolment_code_enters_the_trail(portal):
    client, clock, tokens = portal
    client.post("/api/session", json={"email": EMAILS["admin"], "password": "Sandi-Yang-Salah-77"})
    _, code = _add_device(client, tokens)
    kept = json.dumps(run_db(client, "SELECT * FROM audit_log"), default=str)
    for secret in ("Sandi-Yang-Salah-77", READER_PASSWORD, code, code.replace("-", "")):
        assert secret not in kept


def test_the_database_refuses_update_and_delete_of_a_line(portal):
    client, clock, tokens = portal
    before = len(lines(client))
    assert before > 0
    for sql in ("UPDATE audit_log SET actor = 'lain'", "DELETE FROM audit_log"):
        with pytest.raises(Exception, match="append-only"):
            run_db(client, sql)
    if client.app.state.db.kind == "postgresql":
        with pytest.raises(Exception, match="append-only"):
            run_db(client, "TRUNCATE audit_log")
    assert len(lines(client)) == before and all(line["actor"] != "lain" for line in lines(client))


def test_search_filters_by_person_action_record_office_and_office_dates(portal):
    client, clock, _ = portal
    now, db = clock.now(), client.app.state.db
    marker = f"filter{next(SERIAL)}"

    async def write():
        await audit.record(db, now, actor=f"{marker}@bps.go.id", action="catalogue.remove",
                           target=f"publication:{marker}", office_code="7471")
        await audit.record(db, now, actor=f"{marker}@bps.go.id", action="export.report", target="report:service",
                           office_code="7400")

    client.blocking_portal.call(write)

    def actions(**filters):
        return sorted(line["action"] for line in lines(client, actor=marker.upper(), **filters))

    assert actions() == ["catalogue.remove", "export.report"]
    assert actions(action="catalogue") == actions(action="catalogue.*") == ["catalogue.remove"]
    assert actions(target=f"publication:{marker}") == ["catalogue.remove"]
    assert actions(office_code="7471") == ["catalogue.remove"]
    today = now.astimezone(audit.OFFICE_TZ).date()
    assert actions(date_from=today.isoformat(), date_to=today.isoformat()) == ["catalogue.remove", "export.report"]
    assert actions(date_to=(today - timedelta(days=1)).isoformat()) == []


def test_admins_read_the_trail_on_the_page_and_in_json(portal):
    client, clock, tokens = portal
    as_(client, tokens["admin"])
    page = client.get("/kantor/audit", params={"action": "device", "office": "7400"})
    assert page.status_code == 200 and "device.add" in page.text and "signin.ok" not in page.text
    assert "WITA" in page.text and 'href="/kantor/audit"' in page.text
    assert page.headers["content-type"].startswith("text/html")  # a page, not its source shown as JSON
    answer = client.get("/api/audit", params={"person": EMAILS["admin"], "action": "device.add"})
    assert answer.status_code == 200 and answer.json()["total"] >= 1
    assert {line["action"] for line in answer.json()["lines"]} == {"device.add"}
    assert answer.json()["lines"][0]["at_local"].endswith("+08:00")
    assert client.get("/api/audit", params={"to": "besok"}).status_code == 400


def test_the_trail_is_refused_to_staff_readers_and_anonymous_visitors(portal):
    client, clock, tokens = portal
    as_(client, None)
    assert client.get("/api/audit").status_code == 401
    anonymous = client.get("/kantor/audit", follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"] == "/akun/masuk"
    for role in ("reader", "staff"):
        as_(client, tokens[role])
        assert client.get("/api/audit").status_code == 403
        assert client.get("/kantor/audit", follow_redirects=False).status_code == 403
    assert 'href="/kantor/audit"' not in client.get("/kantor/katalog").text
    as_(client, tokens["admin"])
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        assert client.request(method, "/api/audit", json={}).status_code in (404, 405)
