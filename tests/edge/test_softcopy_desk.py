"""Softcopy requests taken at the desk: recorded with the visitor's e-mail, queued for the cloud, shown on the visit."""

import re

import pytest

from edge.users import add_user

GUEST = {"name": "Rina Marlina", "gender": "P", "occupation": "pelajar", "purposes": ["softcopy"], "id_type": "KTM",
         "email": "rina@example.id"}


@pytest.fixture
def signed_in(client, app, clock):
    add_user(app.state.appliance.store, clock, "loket1", "frontliner", "rahasia-loket-1")
    assert client.post("/api/session", json={"username": "loket1", "password": "rahasia-loket-1"}).status_code == 200
    return client


def _visit(client) -> str:
    answer = client.post("/api/visits", json=GUEST)
    assert answer.status_code == 201, answer.text
    return answer.json()["id"]


def test_a_request_is_recorded_for_the_cloud_and_shown_on_the_visit(signed_in, app):
    visit_id = _visit(signed_in)
    made = signed_in.post("/api/softcopy-requests", json={
        "visit_id": visit_id, "description": "IPM Kota Kendari 2020–2025", "purpose": "tugas_kuliah"})
    assert made.status_code == 201 and made.json()["status"] == "diajukan" and made.json()["email"] == "rina@example.id"
    store = app.state.appliance.store
    event = store.read.execute("SELECT op, payload FROM outbox WHERE entity = 'softcopy_request'").fetchone()
    assert event[0] == "created" and '"rina@example.id"' in event[1]
    page = signed_in.get(f"/petugas/kunjungan/{visit_id}").text
    assert "IPM Kota Kendari 2020–2025" in page and "diajukan" in page
    # the status the sync brings back is what the page shows
    with store.write() as db:
        db.execute("UPDATE softcopy_requests SET status = 'ditolak', reason = 'Belum terbit'")
    page = signed_in.get(f"/petugas/kunjungan/{visit_id}").text
    assert "ditolak" in page and "Belum terbit" in page


@pytest.mark.parametrize("body, field", [
    ({"description": "x", "purpose": "iseng"}, "purpose"),
    ({"purpose": "penelitian"}, "description"),
    ({"description": "x" * 1001, "purpose": "penelitian"}, "description"),
    ({"description": "x", "purpose": "penelitian", "publication_id": "nope"}, "publication_id"),
])
def test_bad_requests_store_nothing(signed_in, app, body, field):
    visit_id = _visit(signed_in)
    answer = signed_in.post("/api/softcopy-requests", json={"visit_id": visit_id} | body)
    assert answer.status_code == 400 and field in answer.json()["errors"]
    store = app.state.appliance.store
    assert store.read.execute("SELECT count(*) FROM softcopy_requests").fetchone()[0] == 0
    assert store.read.execute("SELECT count(*) FROM outbox WHERE entity = 'softcopy_request'").fetchone()[0] == 0


def test_the_visit_page_form_needs_a_session_and_csrf(client, signed_in):
    visit_id = _visit(signed_in)
    page = signed_in.get(f"/petugas/kunjungan/{visit_id}").text
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page).group(1)
    assert signed_in.post(f"/petugas/kunjungan/{visit_id}/softcopy",
                          data={"description": "Tabel inflasi", "purpose": "penelitian"}).status_code == 403
    done = signed_in.post(f"/petugas/kunjungan/{visit_id}/softcopy", follow_redirects=False,
                          data={"description": "Tabel inflasi", "purpose": "penelitian", "_csrf_token": token})
    assert done.status_code == 303 and "softcopy" in done.headers["location"]
    assert "Tabel inflasi" in signed_in.get(f"/petugas/kunjungan/{visit_id}").text
