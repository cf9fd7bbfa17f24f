"""Scans made at the desk go up with their PDF into the visitor's portal account."""

from __future__ import annotations

import hashlib

import pymupdf

from edge import outbox
from pst.clock import iso
from tests.cloud.conftest import run_db
from tests.sync.conftest import START, enrol, make_agent, run

VISIT = "01a0c0de-0000-7000-8000-00000000000a"


def _scan(store, data_dir, scan_id: str, email: str = "andi.saputra@example.id") -> bytes:
    """A finished scan as edge.scans leaves it: the PDF under scans/, the row, and its outbox event."""
    with pymupdf.open() as doc:
        for number in range(3):
            doc.new_page().insert_text((72, 72), f"Halaman {number + 1} - untuk Andi Saputra")
        data = doc.tobytes()
    relative = f"scans/{scan_id}.pdf"
    (data_dir / "scans").mkdir(parents=True, exist_ok=True)
    (data_dir / relative).write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    with store.write() as db:
        if not db.execute("SELECT 1 FROM visits WHERE id = ?", [VISIT]).fetchone():
            db.execute("INSERT INTO tickets (id, service, service_day, seq, number, issued_at, source)"
                       " VALUES ('t9', 'A', '2026-11-30', 9, 'A009', ?, 'button')", [iso(START)])
            db.execute("INSERT INTO visits (id, ticket_id, service_day, name, gender, occupation, email, purposes,"
                       " id_type, checked_in_at, serve_by) VALUES (?, 't9', '2026-11-30', 'Andi Saputra', 'L',"
                       " 'peneliti', ?, '[\"pindai\"]', 'KTP', ?, ?)", [VISIT, email, iso(START), iso(START)])
        db.execute("INSERT INTO scans (id, visit_id, status, pages, started_at, finished_at, pdf_path, pdf_sha256)"
                   " VALUES (?, ?, 'ready', 3, ?, ?, ?, ?)", [scan_id, VISIT, iso(START), iso(START), relative, digest])
        outbox.append(db, "scan", scan_id, "ready", {
            "visit_id": VISIT, "pages": 3, "file": relative, "sha256": digest, "bytes": len(data),
            "finished_at": iso(START), "error": None, "name": "Andi Saputra", "email": email}, START)
    return data


def test_a_scan_reaches_the_visitors_portal_account_once(cloud, edge_store, tmp_path):
    enrolment = enrol(cloud, tmp_path / "var-edge")
    data = _scan(edge_store, tmp_path, "01a0c0de-0000-7000-8000-0000000000s1")
    agent, transport = make_agent(edge_store, enrolment, cloud)
    run(agent.round())
    assert [p for m, p, s in transport.log if m == "PUT"] == [f"/sync/v1/files/{hashlib.sha256(data).hexdigest()}"]
    run(agent.round())  # never sent twice
    assert len([1 for m, p, s in transport.log if m == "PUT"]) == 1
    owner = run_db(cloud, "SELECT a.email, a.verified_at FROM deliverables d JOIN accounts a ON a.id = d.account_id")
    assert owner == [{"email": "andi.saputra@example.id", "verified_at": None}]
    # the visitor claims the account with "lupa sandi" (which verifies the address), signs in and reads the file
    state = cloud.app.state
    from cloud import credentials

    run_db(cloud, "UPDATE accounts SET password_hash = {}, verified_at = {} WHERE email = 'andi.saputra@example.id'",
           credentials.hash_password("Kata-sandi-andi-1"), START)
    assert cloud.get("/api/deliverables").status_code == 401
    assert cloud.post("/api/session", json={"email": "andi.saputra@example.id",
                                            "password": "Kata-sandi-andi-1"}).status_code == 200
    items = cloud.get("/api/deliverables").json()["deliverables"]
    assert [(i["pages"], i["arrived"], i["office_code"]) for i in items] == [(3, True, "7400")]
    pdf = cloud.get(f"/api/deliverables/{items[0]['id']}/pdf")
    assert pdf.status_code == 200 and pdf.content == data and "no-store" in pdf.headers["cache-control"]
    page = cloud.get("/akun/pindaian").text
    assert "Hasil pindaian saya" in page and "30 Nov 2026, 09.00 WITA" in page  # the office's time
    assert state.db  # the portal served it from its own storage


def test_a_file_is_taken_only_when_it_matches_a_scan_of_the_devices_office(cloud, edge_store, tmp_path):
    enrolment = enrol(cloud, tmp_path / "var-edge")
    headers = {"Authorization": f"Bearer {enrolment.credential}", "Content-Type": "application/pdf"}
    body = b"%PDF-1.7 not really"
    digest = hashlib.sha256(body).hexdigest()
    assert cloud.put(f"/sync/v1/files/{digest}", content=body, headers=headers).status_code == 404
    assert cloud.put("/sync/v1/files/../../etc", content=body, headers=headers).status_code in (400, 404)
    data = _scan(edge_store, tmp_path, "01a0c0de-0000-7000-8000-0000000000s2")
    agent, _ = make_agent(edge_store, enrolment, cloud)
    run(agent.round())
    digest = hashlib.sha256(data).hexdigest()
    wrong = cloud.put(f"/sync/v1/files/{digest}", content=data + b"x", headers=headers)
    assert wrong.status_code == 400 and "SHA-256" in wrong.json()["detail"]
    assert cloud.put(f"/sync/v1/files/{digest}", content=data,
                     headers={"Content-Type": "application/pdf"}).status_code == 401
