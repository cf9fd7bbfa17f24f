"""The appliance's audit trail: every staff act leaves its line (who, what, which record, when, from where), the
table refuses UPDATE and DELETE, secrets never enter it, and only admins read it, filtered, on the page and in JSON."""

from __future__ import annotations

import itertools
import json
import re
import sqlite3
from datetime import timedelta

import pytest
from click.testing import CliRunner

from edge import audit
from edge.settings import EdgeSettings
from edge.store import EdgeStore
from edge.users import add_user
from pst.cli import main
from tests.edge.test_catalogue import SHELVES

GUEST = {"gender": "P", "occupation": "pelajar", "purposes": ["baca_tercetak"], "id_type": "KTP"}
NIK = "7471012301990004"
PASSWORDS = {"kepala": "rahasia-kepala-1", "loket1": "rahasia-loket-1"}
VISITORS = itertools.count(1)
ADDRESS = "testclient"  # the TestClient's client address


def staff_desk(appliance, clock) -> None:
    """Shelves, an admin (kepala) and a frontliner (loket1)."""
    appliance.catalogue.import_rows(SHELVES)
    add_user(appliance.store, clock, "kepala", "admin", PASSWORDS["kepala"])
    add_user(appliance.store, clock, "loket1", "frontliner", PASSWORDS["loket1"])


@pytest.fixture
def desk(client, app, clock):
    """The desk of `staff_desk`, the client signed in as kepala."""
    staff_desk(app.state.appliance, clock)
    sign_in(client, "kepala")
    return client


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """One running appliance for the acts below (each act is independent of the others): (client, app, clock)."""
    from litestar.testing import TestClient

    from edge.app import create_app
    from pst.clock import ManualClock
    from tests.conftest import MONDAY_MORNING

    folder = tmp_path_factory.mktemp("desk")
    settings = EdgeSettings.from_env({"PST_DATA_DIR": str(folder / "var"), "PST_EDGE_HARDWARE": "sim"})
    clock = ManualClock(MONDAY_MORNING)
    app = create_app(settings, clock=clock)
    with TestClient(app) as client:
        staff_desk(app.state.appliance, clock)
        yield client, app, clock


def sign_in(client, username: str) -> None:
    answer = client.post("/api/session", json={"username": username, "password": PASSWORDS[username]})
    assert answer.status_code == 200, answer.text


def lines(app, **filters) -> list[dict]:
    return audit.search(app.state.appliance.store.read, **filters, limit=500)


def new_visit(client) -> dict:
    """A new visitor each time (the same e-mail again would be the same visit)."""
    n = next(VISITORS)
    made = client.post("/api/visits", json=GUEST | {"name": f"Tamu {n}", "email": f"tamu{n}@example.id"})
    assert made.status_code == 201, made.text
    return made.json()


def ticket_of(app, visit_id: str) -> str:
    return app.state.appliance.visits.get(visit_id)["ticket_id"]


def csrf(client, path: str) -> str:
    return re.search(r'name="_csrf_token" value="([^"]+)"', client.get(path).text).group(1)


# --- each act and the line it leaves -------------------------------------------------------------------------------
def _signin_ok(client, app):
    sign_in(client, "loket1")
    return "signin.ok", "loket1", ""


def _signin_failed(client, app):
    assert client.post("/api/session", json={"username": "loket1", "password": "salah-sekali-99"}).status_code == 401
    return "signin.failed", "loket1", ""


def _signout(client, app):
    assert client.delete("/api/session").status_code == 204
    return "signout", "kepala", ""


def _call_next(client, app):
    visit = new_visit(client)
    assert client.post("/api/counters/1/call").status_code == 200
    return "visit.update", "kepala", f"ticket:{ticket_of(app, visit['id'])}"


def _serve(client, app):
    ticket = ticket_of(app, new_visit(client)["id"])
    assert client.post(f"/api/tickets/{ticket}/serve").status_code == 200
    return "visit.update", "kepala", f"ticket:{ticket}"


def _assign(client, app):
    visit = new_visit(client)["id"]
    given = client.post(f"/api/visits/{visit}/locker", json={"id_type": "KTP", "id_number": NIK})
    assert given.status_code == 201, given.text
    client.post(f"/api/visits/{visit}/checkout", json={"id_number": NIK})  # the locker is free again once closed
    return "locker.assign", "kepala", f"locker:{given.json()['locker']}"


def _open(client, app):
    visit = new_visit(client)["id"]
    client.post(f"/api/visits/{visit}/locker", json={"id_type": "KTP", "id_number": NIK})
    done = client.post(f"/api/visits/{visit}/checkout", json={"id_number": NIK})
    assert done.status_code == 200 and done.json()["locker"], done.text
    return "locker.open", "kepala", f"locker:{done.json()['locker']}"


def _checkout(client, app):
    visit = new_visit(client)["id"]
    assert client.post(f"/api/visits/{visit}/checkout", json={}).status_code == 200
    return "locker.checkout", "kepala", f"visit:{visit}"


def _service(client, app):
    assert client.post("/api/lockers/2/service", json={"in_service": False}).status_code == 200
    return "locker.service", "kepala", "locker:2"


def _complaint(client, app) -> str:
    made = client.post("/api/complaints", json={"channel": "langsung", "text": "Kursi ruang baca rusak dan goyah."})
    assert made.status_code == 201, made.text
    return next(c["id"] for c in app.state.appliance.complaints.queue() if c["tracking"] == made.json()["tracking"])


def _answer(client, app):
    complaint = _complaint(client, app)
    answer = client.post(f"/api/complaints/{complaint}/ditindaklanjuti", json={"response": "Kursi sudah diganti."})
    assert answer.status_code == 200, answer.text
    return "complaint.answer", "kepala", f"complaint:{complaint}"


def _status(client, app):
    complaint = _complaint(client, app)
    assert client.post(f"/api/complaints/{complaint}/ditindaklanjuti", json={}).status_code == 200
    return "complaint.status", "kepala", f"complaint:{complaint}"


def _enter(client, app):
    text = f"Keluhan dari kotak saran nomor {next(VISITORS)}."
    answer = client.post("/petugas/pengaduan", follow_redirects=False, data={
        "channel": "kotak_saran", "text": text, "_csrf_token": csrf(client, "/petugas/pengaduan")})
    assert answer.status_code == 303, answer.text
    complaint = next(c["id"] for c in app.state.appliance.complaints.queue() if c["text"] == text)
    return "complaint.enter", "kepala", f"complaint:{complaint}"


def _fetch(client, app):
    visit = new_visit(client)["id"]
    item = client.get("/api/catalogue", params={"q": "1102001.7411"}).json()["items"][0]
    made = client.post(f"/api/visits/{visit}/fetches", json={"publication_id": item["id"]})
    assert made.status_code == 201, made.text
    return "fetch.request", "kepala", f"fetch_request:{made.json()['id']}"


def _fetch_step(client, app):
    visit = new_visit(client)["id"]
    item = client.get("/api/catalogue", params={"q": "1102001.7411"}).json()["items"][0]
    request_id = client.post(f"/api/visits/{visit}/fetches", json={"publication_id": item["id"]}).json()["id"]
    assert client.post(f"/api/fetches/{request_id}/diambil", json={}).status_code == 200
    return "fetch.diambil", "kepala", f"fetch_request:{request_id}"


def _softcopy(client, app):
    visit = new_visit(client)["id"]
    made = client.post("/api/softcopy-requests", json={"visit_id": visit, "description": "IPM Kendari 2024",
                                                        "purpose": "tugas_kuliah"})
    assert made.status_code == 201, made.text
    return "request.create", "kepala", f"softcopy_request:{made.json()['id']}"


def _export(client, app):
    assert client.get("/petugas/laporan/csv").status_code == 200
    return "export.report", "kepala", "report:service"


ACTS = {
    "signin.ok": _signin_ok, "signin.failed": _signin_failed, "signout": _signout, "visit.update call": _call_next,
    "visit.update serve": _serve, "locker.assign": _assign, "locker.open": _open, "locker.checkout": _checkout,
    "locker.service": _service, "complaint.answer": _answer, "complaint.status": _status, "complaint.enter": _enter,
    "fetch.request": _fetch,
    "fetch.diambil": _fetch_step, "request.create": _softcopy, "export.report": _export,
}


@pytest.mark.parametrize("act", ACTS.values(), ids=ACTS.keys())
def test_each_staff_act_leaves_its_line_with_who_what_record_when_and_where(shared, act):
    client, app, clock = shared
    sign_in(client, "kepala")
    clock.advance(minutes=7)
    action, actor, target = act(client, app)
    found = [line for line in lines(app, action=action) if line["actor"] == actor]
    assert found, f"no {action} line by {actor}"
    line = found[0]
    assert line["at"] == clock.now().isoformat(timespec="milliseconds")
    assert line["address"] == ADDRESS
    if target:
        assert line["target"] == target
    sent = app.state.appliance.store.read.execute(
        "SELECT payload FROM outbox WHERE entity = 'audit' AND entity_id = ?", [line["id"]]).fetchone()
    assert json.loads(sent[0])["action"] == action  # goes up with the sync


def test_a_refused_act_leaves_no_line(desk, app):
    before = len(lines(app))
    assert desk.post("/api/tickets/nope/serve").status_code == 404
    assert desk.post("/api/visits/nope/locker", json={"id_type": "KTP", "id_number": NIK}).status_code == 404
    assert len(lines(app)) == before


def test_no_id_card_number_or_password_enters_the_trail_or_the_outbox(desk, app):
    visit = new_visit(desk)["id"]
    desk.post(f"/api/visits/{visit}/locker", json={"id_type": "KTP", "id_number": NIK})
    desk.post("/api/session", json={"username": "loket1", "password": "rahasia-loket-salah"})
    db = app.state.appliance.store.read
    kept = json.dumps(db.execute("SELECT * FROM audit_log").fetchall())
    sent = json.dumps(db.execute("SELECT payload FROM outbox WHERE entity = 'audit'").fetchall())
    for secret in (NIK, NIK[-4:], "rahasia-loket-salah", PASSWORDS["kepala"]):
        assert secret not in kept and secret not in sent


def test_detail_drops_secret_keys_whoever_passes_them(store, clock):
    with store.write() as db:
        audit.record(db, clock.now(), actor="kepala", action="device.enrol", target="device:1",
                     detail={"code": "ABCD-EFGH", "password": "x", "id_number": NIK, "token": "t", "name": "Meja"})
    [line] = audit.search(store.read)
    assert line["detail"] == {"name": "Meja"}


def test_the_table_refuses_update_and_delete(store, clock):
    with store.writer() as db:  # a refused sign-in: the line takes its own transaction
        audit.record(db, clock.now(), actor="tamu", action="signin.failed")
    for sql in ("UPDATE audit_log SET actor = 'lain'", "DELETE FROM audit_log"):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"), store.write() as db:
            db.execute(sql)
    assert [line["actor"] for line in audit.search(store.read)] == ["tamu"]


def test_a_line_commits_with_its_act_or_not_at_all(store, clock):
    with pytest.raises(RuntimeError), store.write() as db:
        audit.record(db, clock.now(), actor="kepala", action="locker.open", target="locker:1")
        raise RuntimeError("the act failed")
    assert audit.count(store.read) == 0
    assert store.read.execute("SELECT count(*) FROM outbox WHERE entity = 'audit'").fetchone()[0] == 0


def test_the_cli_user_add_leaves_a_line_by_cli(env):
    result = CliRunner().invoke(main, ["edge", "user", "add", "la_ode", "--role", "librarian"], env=env,
                                input="Lemari-Arsip-Biru-42\n", catch_exceptions=False)
    assert result.exit_code == 0, result.output
    store = EdgeStore(EdgeSettings.from_env(env).db_path)
    try:
        [line] = audit.search(store.read, action="user.add")
    finally:
        store.close()
    assert line["actor"] == "cli" and line["target"].startswith("user:") and line["detail"]["username"] == "la_ode"


# --- reading the trail ---------------------------------------------------------------------------------------------
def test_search_filters_by_person_action_record_and_office_dates(store, clock):
    now = clock.now()
    with store.write() as db:
        audit.record(db, now - timedelta(days=1), actor="loket1", action="locker.open", target="locker:1")
        audit.record(db, now, actor="kepala", action="locker.assign", target="locker:3")
        audit.record(db, now, actor="kepala", action="export.report", target="report:service")
    read, tz = store.read, EdgeSettings.from_env({}).config.office.tz

    def actions(**filters):
        return [line["action"] for line in audit.search(read, tz=tz, **filters)]

    assert actions(actor="LOKET") == ["locker.open"]
    assert actions(action="locker") == actions(action="locker.*") == ["locker.assign", "locker.open"]
    assert actions(target="locker:3") == ["locker.assign"] and len(actions(target="locker")) == 2
    today = now.astimezone(tz).date().isoformat()
    assert actions(date_from=today) == ["export.report", "locker.assign"]  # newest first, then last written first
    assert actions(date_to=(now - timedelta(days=1)).astimezone(tz).date().isoformat()) == ["locker.open"]
    assert audit.count(read, action="locker") == 2 and audit.count(read, actor="nobody") == 0


def test_admins_read_the_trail_on_the_page_and_in_json_with_filters(desk, app):
    desk.get("/petugas/laporan/pdf")
    desk.post("/api/lockers/3/service", json={"in_service": False})
    page = desk.get("/petugas/audit", params={"action": "locker"})
    assert page.status_code == 200 and "locker.service" in page.text and "export.report" not in page.text
    assert "WITA" in page.text and 'href="/petugas/audit"' in page.text
    answer = desk.get("/api/audit", params={"record": "report:service"}).json()
    assert answer["total"] == 1 and answer["lines"][0]["action"] == "export.report"
    assert answer["lines"][0]["at_local"].endswith("+08:00")
    assert desk.get("/api/audit", params={"from": "kemarin"}).status_code == 400


def test_the_trail_is_refused_to_other_staff_and_to_anonymous_visitors(desk, client):
    desk.delete("/api/session")
    assert client.get("/api/audit").status_code == 401
    anonymous = client.get("/petugas/audit", follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"] == "/petugas/masuk"
    sign_in(client, "loket1")
    assert client.get("/api/audit").status_code == 403
    assert client.get("/petugas/audit", follow_redirects=False).status_code == 403
    assert 'href="/petugas/audit"' not in client.get("/petugas").text


def test_no_route_edits_or_deletes_a_line(desk, app):
    token = csrf(desk, "/petugas/audit")
    for method in ("post", "put", "patch", "delete"):
        answer = desk.request(method.upper(), "/api/audit", json={})
        assert answer.status_code in (404, 405), method
        assert desk.request(method.upper(), "/petugas/audit", data={"_csrf_token": token}).status_code in (404, 405)
