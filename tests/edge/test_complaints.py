"""Complaints over HTTP: entered at the kiosk or by staff, tracked by number through diterima → ditindaklanjuti →
selesai, and looked up by the complainant without seeing anything but the status and the response."""

import re

import pytest

from edge.complaints import TRACKING, normalise_tracking
from tests.edge.test_ratings import count, csrf, sign_in


@pytest.fixture
def staff(client, app, clock):
    return sign_in(client, app, clock)


TEXT = "Pendingin ruangan di ruang baca mati sejak pagi; ruangan panas sekali."


def complain(client, **change):
    answer = client.post("/api/complaints", json={"channel": "langsung", "text": TEXT} | change)
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_a_complaint_goes_from_received_to_resolved_and_the_complainant_sees_each_step(client, staff, clock):
    staff.delete("/api/session")
    made = complain(client, contact="ani@example.id")
    assert TRACKING.fullmatch(made["tracking"]) and made["tracking"].startswith("ADU-7400-2611-")
    assert set(made) == {"tracking", "status", "received_at"} and made["status"] == "diterima"
    looked = client.get(f"/api/complaints/{made['tracking']}").json()
    assert looked == {"tracking": made["tracking"], "status": "diterima", "received_at": made["received_at"],
                      "resolved_at": None, "response": None}
    client.post("/api/session", json={"username": "kepala", "password": "rahasia-kepala-1"})
    queue = client.get("/api/complaints").json()
    assert [c["tracking"] for c in queue] == [made["tracking"]] and queue[0]["contact"] == "ani@example.id"
    complaint_id = queue[0]["id"]
    clock.advance(hours=1)
    followed = client.post(f"/api/complaints/{complaint_id}/ditindaklanjuti", json={})
    assert followed.status_code == 200 and followed.json()["status"] == "ditindaklanjuti"
    clock.advance(hours=2, minutes=30)
    done = client.post(f"/api/complaints/{complaint_id}/selesai", json={"response": "AC sudah diperbaiki teknisi."})
    assert done.json()["status"] == "selesai" and done.json()["resolve_s"] == 3 * 3600 + 30 * 60
    client.delete("/api/session")
    public = client.get(f"/api/complaints/{made['tracking'].lower()}").json()
    assert public["status"] == "selesai" and public["response"] == "AC sudah diperbaiki teknisi."
    assert TEXT not in str(public) and "ani@example.id" not in str(public)


def test_the_outbox_carries_every_step(client, staff, app):
    made = staff.post("/api/complaints", json={"channel": "whatsapp", "text": TEXT, "contact": "0812 3100 7474"}).json()
    staff.post(f"/api/complaints/{made['id']}/selesai", json={"response": "Sudah kami hubungi lewat WhatsApp."})
    events = app.state.appliance.store.read.execute(
        "SELECT op FROM outbox WHERE entity = 'complaint' AND entity_id = ? ORDER BY seq", [made["id"]]).fetchall()
    assert [e[0] for e in events] == ["diterima", "selesai"]


@pytest.mark.parametrize(
    "steps, status",
    [
        ([("selesai", {"response": "Selesai"}), ("ditindaklanjuti", {})], 409),
        ([("ditindaklanjuti", {}), ("ditindaklanjuti", {})], 409),
        ([("selesai", {})], 400),
        ([("selesai", {"response": "   "})], 400),
        ([("diterima", {})], 404),
        ([("dibuang", {})], 404),
    ],
)
def test_the_status_only_moves_forward_and_resolving_needs_a_response(staff, steps, status):
    made = staff.post("/api/complaints", json={"channel": "email", "text": TEXT}).json()
    answers = [staff.post(f"/api/complaints/{made['id']}/{target}", json=body) for target, body in steps]
    assert answers[-1].status_code == status


def test_the_kiosk_takes_its_own_channels_and_staff_enter_the_others(client, staff, app):
    staff.delete("/api/session")
    for channel in ("email", "whatsapp", "lapor", "website"):
        refused = client.post("/api/complaints", json={"channel": channel, "text": TEXT})
        assert refused.status_code == 400 and "channel" in refused.json()["errors"]
    complain(client, channel="kotak_saran")
    client.post("/api/session", json={"username": "kepala", "password": "rahasia-kepala-1"})
    for channel in ("email", "whatsapp", "lapor", "website"):
        assert complain(client, channel=channel)["entered_by"] is not None
    assert count(app, "complaints") == 5


@pytest.mark.parametrize(
    "body, field",
    [({"channel": "langsung"}, "text"), ({"channel": "langsung", "text": "panas"}, "text"),
     ({"channel": "langsung", "text": "x" * 2001}, "text"), ({"channel": "langsung", "text": TEXT, "contact": 5}, "contact"),
     ({"channel": "telepon", "text": TEXT}, "channel"), ({"channel": "langsung", "text": TEXT, "name": "Ani"}, "name")],
)
def test_a_bad_complaint_is_refused_and_nothing_is_stored(client, app, body, field):
    answer = client.post("/api/complaints", json=body)
    assert answer.status_code == 400 and field in answer.json()["errors"]
    assert count(app, "complaints") == 0


@pytest.mark.parametrize("typed", ["adu-7400-2611-{r}", "ADU 7400 2611 {r}", "ADU74002611{r}", " ADU-7400-2611-{r} "])
def test_the_tracking_number_is_found_however_it_is_typed(client, typed):
    tracking = complain(client)["tracking"]
    assert client.get("/api/complaints/" + typed.format(r=tracking[-6:]).strip()).status_code == 200


@pytest.mark.parametrize("raw", ["ADU-7400-2611-0OIL1U", "ADU-7400-2611", "", None, "x" * 100, "ADU-74OO-2611-ABCDEF"])
def test_a_malformed_tracking_number_is_no_number(raw):
    assert normalise_tracking(raw) is None


def test_an_unknown_tracking_number_is_404(client):
    complain(client)
    assert client.get("/api/complaints/ADU-7400-2611-ABCDEF").status_code == 404


def test_the_staff_list_is_for_staff(client):
    assert client.get("/api/complaints").status_code == 401
    assert client.post("/api/complaints/x/selesai", json={"response": "ok"}).status_code == 401


def test_kiosk_complaints_are_braked_after_ten_in_ten_minutes(client, clock):
    for _ in range(10):
        complain(client)
    assert client.post("/api/complaints", json={"channel": "langsung", "text": TEXT}).status_code == 429
    clock.advance(601)
    complain(client)


def test_the_complaint_form_gives_a_number_to_check_later(client):
    page = client.get("/pengaduan").text
    assert 'value="langsung"' in page and 'value="kotak_saran"' in page and 'value="email"' not in page
    done = client.post("/pengaduan", data={"_csrf_token": csrf(page), "channel": "langsung", "text": TEXT, "contact": ""})
    tracking = re.search(r'class="number tracking">([^<]+)<', done.text).group(1)
    assert TRACKING.fullmatch(tracking) and "diterima" in done.text
    check = client.get("/pengaduan/cek", params={"nomor": tracking})
    assert check.status_code == 200 and "Belum ada tanggapan." in check.text and TEXT not in check.text
    assert client.get("/pengaduan/cek", params={"nomor": "ADU-7400-2611-ABCDEF"}).status_code == 404


def test_the_complaint_form_shows_what_is_wrong(client, app):
    page = client.get("/pengaduan").text
    answer = client.post("/pengaduan", data={"_csrf_token": csrf(page), "channel": "langsung", "text": "panas"})
    assert answer.status_code == 400 and 'id="err-text"' in answer.text and ">panas</textarea>" in answer.text
    assert count(app, "complaints") == 0


def test_staff_enter_follow_up_and_resolve_from_the_queue_page(staff):
    page = staff.get("/petugas/pengaduan").text
    entered = staff.post("/petugas/pengaduan", data={"_csrf_token": csrf(page), "channel": "lapor", "text": TEXT})
    assert "Pengaduan dicatat dengan nomor ADU-7400-2611-" in entered.text and "SP4N LAPOR!" in entered.text
    complaint = staff.get("/api/complaints").json()[0]
    form = {"_csrf_token": csrf(entered.text)}
    followed = staff.post(f"/petugas/pengaduan/{complaint['id']}/ditindaklanjuti", data=form | {"response": ""})
    assert f"Pengaduan {complaint['tracking']}: ditindaklanjuti" in followed.text
    refused = staff.post(f"/petugas/pengaduan/{complaint['id']}/selesai", data=form | {"response": ""})
    assert "Tidak dapat" in refused.text
    staff.post(f"/petugas/pengaduan/{complaint['id']}/selesai", data=form | {"response": "Sudah ditangani."})
    final = staff.get("/petugas/pengaduan").text
    assert "Sudah ditangani." in final and "selesai dalam 0 jam 0 mnt" in final


def test_guessing_tracking_numbers_is_braked_per_address(client, app, clock):
    """Some 500 wrong numbers a second were tried: past 20 wrong ones in 10 minutes an address waits (429 with
    Retry-After, on the page too) until the oldest leaves the window, even for a right number; it keeps no record on
    the card."""
    tracking = client.post("/api/complaints", json={"channel": "langsung", "text": TEXT}).json()["tracking"]
    for n in range(20):
        assert client.get(f"/api/complaints/PGD-0000-{n:04d}").status_code == 404
    refused = client.get(f"/api/complaints/{tracking}")
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
    assert refused.json()["detail"].startswith("Terlalu banyak nomor pengaduan yang salah")
    page = client.get("/pengaduan/cek", params={"nomor": tracking})
    assert page.status_code == 429 and "Terlalu banyak nomor pengaduan yang salah" in page.text
    assert "Belum ada tanggapan" not in page.text
    clock.advance(minutes=10)
    assert client.get(f"/api/complaints/{tracking}").status_code == 200
    assert client.get("/pengaduan/cek", params={"nomor": tracking}).status_code == 200
