"""The guestbook: validation as a table, nothing stored on a bad entry, one visit per visitor."""

import pytest

from edge.guestbook import GuestbookError, validate

VALID = {
    "name": "Wa Ode Nurhaliza",
    "gender": "P",
    "age": 22,
    "education": "s1",
    "occupation": "pelajar",
    "institution": "Universitas Halu Oleo",
    "email": "wa.ode@uho.ac.id",
    "phone": "0812-3100-7474",
    "purposes": ["baca_tercetak", "pindai"],
    "id_type": "KTM",
    "has_portal_account": False,
}


def test_a_valid_entry_is_cleaned():
    clean = validate(VALID | {"email": "Wa.Ode@UHO.ac.id", "name": "  Wa Ode   Nurhaliza ", "id_type": "ktm"})
    assert clean["name"] == "Wa Ode Nurhaliza"
    assert clean["email"] == "Wa.Ode@uho.ac.id"  # the domain is case-insensitive, the local part is not
    assert clean["phone"] == "081231007474"
    assert clean["id_type"] == "KTM"
    assert clean["purposes"] == ["baca_tercetak", "pindai"]


def test_labels_are_accepted_as_well_as_codes():
    clean = validate(VALID | {"occupation": "Peneliti/Dosen", "education": "D4/S1", "id_type": "Paspor"})
    assert (clean["occupation"], clean["education"], clean["id_type"]) == ("peneliti", "s1", "PASPOR")


@pytest.mark.parametrize(
    "change, field",
    [
        ({"email": "wa.ode@"}, "email"),
        ({"email": "wa ode@uho.ac.id"}, "email"),
        ({"email": None}, "email"),
        ({"name": ""}, "name"),
        ({"name": "W"}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"institution": "Universitas " * 20}, "institution"),
        ({"gender": "X"}, "gender"),
        ({"gender": None}, "gender"),
        ({"age": 7}, "age"),
        ({"age": "dua puluh"}, "age"),
        ({"age": True}, "age"),
        ({"occupation": "astronot"}, "occupation"),
        ({"purposes": []}, "purposes"),
        ({"purposes": ["membaca", "baca_tercetak"]}, "purposes"),
        ({"purposes": "x" * 5000}, "purposes"),
        ({"id_type": "NPWP"}, "id_type"),
        ({"phone": "12ab"}, "phone"),
        ({"has_portal_account": "mungkin"}, "has_portal_account"),
        ({"name": ["Wa Ode"]}, "name"),
        ({"hobby": "membaca"}, "hobby"),
    ],
)
def test_bad_fields_are_named_in_indonesian(change, field):
    with pytest.raises(GuestbookError) as error:
        validate(VALID | change)
    assert field in error.value.errors
    assert error.value.errors[field]


def test_every_bad_field_is_reported_at_once():
    with pytest.raises(GuestbookError) as error:
        validate({"email": "bukan-email", "purposes": ["x"]})
    assert {"name", "gender", "occupation", "id_type", "email", "purposes"} <= set(error.value.errors)


def visit_count(app):
    return app.state.appliance.store.read.execute("SELECT count(*) FROM visits").fetchone()[0]


def outbox_count(app):
    return app.state.appliance.store.read.execute("SELECT count(*) FROM outbox").fetchone()[0]


@pytest.mark.parametrize(
    "change",
    [{"email": "wa.ode@"}, {"name": ""}, {"purposes": ["makan"]}, {"name": "x" * 500}, {"ticket_number": "Z999"}],
)
def test_a_bad_entry_gets_400_and_stores_nothing(client, app, change):
    before = outbox_count(app)
    response = client.post("/api/visits", json=VALID | change)
    assert response.status_code == 400
    body = response.json()
    assert body["detail"] and set(body["errors"]) & set(change)
    assert visit_count(app) == 0
    assert outbox_count(app) == before
    assert app.state.appliance.store.read.execute("SELECT count(*) FROM tickets").fetchone()[0] == 0


def test_check_in_links_the_ticket_and_promises_service_within_5_minutes(client, app):
    ticket = client.post("/api/tickets").json()
    response = client.post("/api/visits", json=VALID | {"ticket_number": ticket["number"]})
    assert response.status_code == 201
    visit = response.json()
    assert visit["ticket_number"] == "A001"
    assert visit["checked_in_at"] == "2026-11-30T09:00:00.000+08:00"
    assert visit["serve_by"] == "2026-11-30T09:05:00.000+08:00"
    assert visit["welcome_back"] is False


def test_a_visitor_without_a_number_gets_one(client, emulator):
    visit = client.post("/api/visits", json=VALID).json()
    assert visit["ticket_number"] == "A001"
    [printed] = emulator.wait_for_tickets(1)
    assert "A001" in printed.text


def test_a_ticket_cannot_check_in_twice(client):
    ticket = client.post("/api/tickets").json()
    client.post("/api/visits", json=VALID | {"ticket_number": ticket["number"]})
    again = client.post("/api/visits", json=VALID | {"ticket_number": ticket["number"], "email": "lain@example.id"})
    assert again.status_code == 400 and "sudah dipakai" in again.json()["errors"]["ticket_number"]


def test_a_repeat_within_the_window_greets_back_without_a_duplicate(client, app, clock):
    first = client.post("/api/visits", json=VALID).json()
    clock.advance(minutes=30)
    again = client.post("/api/visits", json=VALID | {"email": "WA.ODE@uho.ac.id", "name": "Wa Ode N."})
    assert again.status_code == 200
    assert again.json()["id"] == first["id"] and again.json()["welcome_back"] is True
    assert visit_count(app) == 1
    clock.advance(minutes=app.state.appliance.config.desk.repeat_window_min)
    later = client.post("/api/visits", json=VALID)
    assert later.status_code == 201 and later.json()["id"] != first["id"]
    assert visit_count(app) == 2


def test_script_payloads_are_stored_as_typed_and_shown_inert(client, app):
    payload = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    visit = client.post("/api/visits", json=VALID | {"name": payload, "institution": payload}).json()
    stored = app.state.appliance.visits.get(visit["id"])
    assert stored["name"] == payload
    from edge.users import add_user

    add_user(app.state.appliance.store, app.state.appliance.clock, "petugas", "frontliner", "rahasia-loket")
    client.post("/api/session", json={"username": "petugas", "password": "rahasia-loket"})
    for page in ("/petugas", "/petugas/kunjungan", f"/petugas/kunjungan/{visit['id']}"):
        html = client.get(page).text
        assert "<script>alert" not in html and "<img src=x" not in html
        assert "&lt;script&gt;alert(" in html


def test_the_guestbook_form_shows_errors_next_to_the_fields(client, app):
    import re

    ticket = client.post("/api/tickets").json()
    form = client.get(f"/buku-tamu/{ticket['id']}")
    assert "A001" in form.text
    token = re.search(r'name="_csrf_token" value="([^"]+)"', form.text).group(1)
    data = {"_csrf_token": token, "ticket_id": ticket["id"], "name": "La Ode Budi", "gender": "L",
            "email": "laode@", "occupation": "jurnalis", "id_type": "SIM"}
    response = client.post("/buku-tamu", data=data)
    assert response.status_code == 400
    assert 'id="err-email">alamat e-mail tidak sah' in response.text
    assert 'id="err-purposes">pilih minimal satu keperluan' in response.text
    assert 'value="La Ode Budi"' in response.text  # what was typed is kept
    assert visit_count(app) == 0
    done = client.post("/buku-tamu", data=data | {"email": "laode@kendaripos.co.id", "purposes": ["softcopy", "lainnya"]})
    assert done.status_code == 200 and done.url.path.startswith("/kunjungan/")
    assert "A001" in done.text and "09.05" in done.text
    assert visit_count(app) == 1


def test_the_kiosk_guestbook_opens_without_a_ticket(client):
    page = client.get("/buku-tamu", params={"nomor": "A007"})
    assert page.status_code == 200
    assert 'name="ticket_number" value="A007"' in page.text
