"""What comes down: the catalogue into the reading room, and the status of softcopy requests made at the desk."""

from __future__ import annotations

from cloud.accounts import Accounts
from cloud.catalogue_admin import CatalogueAdmin
from cloud.mail import SmtpMailer
from edge.softcopy_requests import SoftcopyRequestService
from pst.clock import ManualClock
from tests.cloud.conftest import run_db
from tests.sync.conftest import START, enrol, make_agent, run


def _admin(cloud) -> CatalogueAdmin:
    state = cloud.app.state
    return CatalogueAdmin(state.db, state.clock, state.settings.data_dir)


def _edition(title: str, office: str = "") -> dict:
    return {"title": title, "year": "2025", "type": "Dalam Angka", "subjects": "Kependudukan; Sosial",
            "catalogue_number": "1102001.74", "isbn": "", "abstract": "", "office_code": office}


def test_catalogue_changes_come_down_in_order_and_only_for_the_office(cloud, edge_store, tmp_path):
    enrolment = enrol(cloud, tmp_path / "var-edge", "7400")
    cloud.blocking_portal.call(_ensure_office, cloud, "7401")
    admin = _admin(cloud)
    ours = cloud.blocking_portal.call(admin.add, _edition("Provinsi Sulawesi Tenggara Dalam Angka", "7400"))
    national = cloud.blocking_portal.call(admin.add, _edition("Statistik Indonesia") | {"catalogue_number": "1101001"})
    cloud.blocking_portal.call(admin.add, _edition("Kabupaten Kolaka Dalam Angka", "7401")
                               | {"catalogue_number": "1102001.7401"})
    agent, _ = make_agent(edge_store, enrolment, cloud)
    assert run(agent.round()).received == 2
    rows = dict(edge_store.read.execute("SELECT cloud_id, title FROM publications WHERE cloud_id IS NOT NULL"))
    assert rows == {ours: "Provinsi Sulawesi Tenggara Dalam Angka", national: "Statistik Indonesia"}
    # an edit and a removal follow; the cursor was stored with what it covers, so nothing comes twice
    cloud.blocking_portal.call(admin.edit, ours, _edition("Provinsi Sulawesi Tenggara Dalam Angka (revisi)", "7400"))
    cloud.blocking_portal.call(admin.remove, national)
    assert run(agent.round()).received == 2
    titles = [r[0] for r in edge_store.read.execute("SELECT title FROM publications WHERE cloud_id IS NOT NULL")]
    assert titles == ["Provinsi Sulawesi Tenggara Dalam Angka (revisi)"]
    assert run(agent.round()).received == 0


async def _ensure_office(cloud, code):
    from cloud.devices import Devices

    state = cloud.app.state
    await Devices(state.db, state.clock, state.settings.signing_key()).ensure_office(code, f"BPS {code}")


def test_a_softcopy_request_made_at_the_desk_is_fulfilled_in_the_cloud_and_its_status_comes_back(
        cloud, edge_store, tmp_path, mailbox):
    enrolment = enrol(cloud, tmp_path / "var-edge", "7400")
    visit_id = "01a0c0de-0000-7000-8000-000000000001"
    with edge_store.write() as db:
        db.execute("INSERT INTO tickets (id, service, service_day, seq, number, issued_at, source)"
                   " VALUES ('t1', 'A', '2026-11-30', 1, 'A001', '2026-11-30T01:00:00.000+00:00', 'button')")
        db.execute("INSERT INTO visits (id, ticket_id, service_day, name, gender, occupation, email, purposes,"
                   " id_type, checked_in_at, serve_by) VALUES (?, 't1', '2026-11-30', 'Rina Marlina', 'P', 'pelajar',"
                   " 'Rina@Example.ID', '[\"softcopy\"]', 'KTM', '2026-11-30T01:00:00.000+00:00',"
                   " '2026-11-30T01:05:00.000+00:00')", [visit_id])
    service = SoftcopyRequestService(edge_store, ManualClock(START))
    asked = service.create(visit_id, None, "Jumlah penduduk per kecamatan Kota Kendari 2020–2025", "tugas_kuliah")
    agent, _ = make_agent(edge_store, enrolment, cloud)
    run(agent.round())
    in_cloud = run_db(cloud, "SELECT r.status, r.origin, r.office_code, a.email, a.verified_at FROM softcopy_requests r"
                             " JOIN accounts a ON a.id = r.account_id WHERE r.id = {}", asked["id"])
    assert in_cloud == [{"status": "diajukan", "origin": "edge", "office_code": "7400", "email": "rina@example.id",
                         "verified_at": None}]
    # staff reject it in the back office's API; the desk sees the status and the reason after the next round
    state = cloud.app.state
    accounts = Accounts(state.db, state.clock, SmtpMailer(mailbox.url, "pustaka@test"), b"k" * 32, "http://portal.test")
    cloud.blocking_portal.call(accounts.add, "petugas@bps.go.id", "staff", "Rahasia-petugas-1", "Petugas")
    signed_in = cloud.post("/api/session", json={"email": "petugas@bps.go.id", "password": "Rahasia-petugas-1"})
    assert signed_in.status_code == 200
    answer = cloud.post(f"/api/staff/requests/{asked['id']}/reject", json={"reason": "Data per kecamatan belum terbit"})
    assert answer.status_code == 200, answer.text
    run(agent.round())
    assert service.get(asked["id"])["status"] == "ditolak"
    assert service.get(asked["id"])["reason"] == "Data per kecamatan belum terbit"


def test_a_cloud_restored_behind_the_downlink_cursor_sends_everything_again(cloud, edge_store, tmp_path):
    enrolment = enrol(cloud, tmp_path / "var-edge", "7400")
    admin = _admin(cloud)
    first = cloud.blocking_portal.call(admin.add, _edition("Statistik Daerah Kota Kendari", "7400"))
    agent, _ = make_agent(edge_store, enrolment, cloud)
    run(agent.round())
    # the cloud comes back from an older copy: its journal is empty again, then a new change gets number 1
    run_db(cloud, "DELETE FROM changes")
    run_db(cloud, "UPDATE change_counter SET n = 0 WHERE id = 1")
    run_db(cloud, "DELETE FROM publication_subjects")
    run_db(cloud, "DELETE FROM publications")
    second = cloud.blocking_portal.call(admin.add, _edition("Kota Kendari Dalam Angka", "7400")
                                        | {"catalogue_number": "1102001.7471"})
    run(agent.round())
    cloud_ids = {r[0] for r in edge_store.read.execute("SELECT cloud_id FROM publications WHERE cloud_id IS NOT NULL")}
    assert second in cloud_ids and first in cloud_ids  # the first stays: the room keeps what it had


def test_reading_room_locations_set_in_the_cloud_reach_their_office_only(cloud, edge_store, tmp_path, mailbox):
    enrolment = enrol(cloud, tmp_path / "var-edge", "7400")
    cloud.blocking_portal.call(_ensure_office, cloud, "7401")
    publication = cloud.blocking_portal.call(_admin(cloud).add, _edition("Statistik Daerah Provinsi", "7400"))
    agent, _ = make_agent(edge_store, enrolment, cloud)
    run(agent.round())
    state = cloud.app.state
    accounts = Accounts(state.db, state.clock, SmtpMailer(mailbox.url, "pustaka@test"), b"k" * 32, "http://portal.test")
    cloud.blocking_portal.call(accounts.add, "pustakawan@bps.go.id", "staff", "Rahasia-pustaka-1", "Pustakawan")
    path = f"/api/staff/publications/{publication}/locations"
    assert cloud.put(f"{path}/7400", json={"location": "display", "shelf": "R-03", "copies": 2}).status_code == 401
    assert cloud.post("/api/session", json={"email": "pustakawan@bps.go.id",
                                            "password": "Rahasia-pustaka-1"}).status_code == 200
    bad = cloud.put(f"{path}/7400", json={"location": "atap", "shelf": "rak ../3", "copies": -1})
    assert bad.status_code == 400 and set(bad.json()["errors"]) == {"location", "shelf", "copies"}
    assert cloud.put(f"{path}/7400", json={"location": "display", "shelf": "r-03", "copies": 2}).status_code == 200
    assert cloud.put(f"{path}/7401", json={"location": "storage", "shelf": "G-12-4", "copies": 1}).status_code == 200
    assert len(cloud.get(path).json()["locations"]) == 2
    assert run(agent.round()).received == 1  # only its own office's location change
    row = edge_store.read.execute("SELECT location, shelf, copies FROM publications WHERE cloud_id = ?",
                                  [publication]).fetchone()
    assert row == ("display", "R-03", 2)


def test_an_edition_moved_to_another_office_leaves_the_first_offices_room(cloud, edge_store, tmp_path):
    enrolment = enrol(cloud, tmp_path / "var-edge", "7400")
    cloud.blocking_portal.call(_ensure_office, cloud, "7401")
    admin = _admin(cloud)
    moved = cloud.blocking_portal.call(admin.add, _edition("Kecamatan Mandonga Dalam Angka", "7400"))
    agent, _ = make_agent(edge_store, enrolment, cloud)
    run(agent.round())
    assert edge_store.read.execute("SELECT count(*) FROM publications WHERE cloud_id = ?", [moved]).fetchone()[0] == 1
    cloud.blocking_portal.call(admin.edit, moved, _edition("Kecamatan Mandonga Dalam Angka", "7401"))
    run(agent.round())
    assert edge_store.read.execute("SELECT count(*) FROM publications WHERE cloud_id = ?", [moved]).fetchone()[0] == 0
