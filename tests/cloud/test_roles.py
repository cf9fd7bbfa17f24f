"""Roles on the portal: every back-office route (under /kantor, /api/staff, /api/audit, /api/reports), taken from the
app's own route list, answers a reader, staff and an admin as MATRIX says (a refused role gets 403 and nothing
changes; signed out: 401 or the sign-in page); the README's portal table is this one."""

from __future__ import annotations

import hashlib
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from litestar.testing import TestClient

from cloud.accounts import STAFF_ROLES
from cloud.mailsink import MailSink
from cloud.settings import CloudSettings
from cloud.tables import ROLES
from pst.clock import ManualClock
from tests.cloud.conftest import SECRET, add_reader, as_, run_db, sign_in
from tests.conftest import MONDAY_MORNING

README = Path(__file__).parents[2] / "README.md"
BACK_OFFICE = ("/kantor", "/api/staff/", "/api/audit", "/api/reports/")
STAFF, ADMIN = "staff", "admin"
# (method, path) → the least role that may use it: staff (staff and admins) or admin
MATRIX = {
    ("GET", "/kantor"): STAFF,
    ("GET", "/kantor/katalog"): STAFF,
    ("GET", "/kantor/katalog/baru"): STAFF,
    ("POST", "/kantor/katalog/baru"): STAFF,
    ("GET", "/kantor/katalog/{publication_id:str}"): STAFF,
    ("POST", "/kantor/katalog/{publication_id:str}"): STAFF,
    ("GET", "/kantor/katalog/{publication_id:str}/hapus"): STAFF,
    ("POST", "/kantor/katalog/{publication_id:str}/hapus"): STAFF,
    ("POST", "/kantor/katalog/{publication_id:str}/softcopy"): STAFF,
    ("POST", "/kantor/katalog/{publication_id:str}/softcopy/hapus"): STAFF,
    ("GET", "/api/staff/publications/{publication_id:str}/locations"): STAFF,
    ("PUT", "/api/staff/publications/{publication_id:str}/locations/{office:str}"): STAFF,
    ("GET", "/kantor/permintaan"): STAFF,
    ("POST", "/kantor/permintaan/{request_id:str}/proses"): STAFF,
    ("POST", "/kantor/permintaan/{request_id:str}/tolak"): STAFF,
    ("POST", "/kantor/permintaan/{request_id:str}/selesai"): STAFF,
    ("GET", "/api/staff/requests"): STAFF,
    ("POST", "/api/staff/requests/{request_id:str}/process"): STAFF,
    ("POST", "/api/staff/requests/{request_id:str}/reject"): STAFF,
    ("POST", "/api/staff/requests/{request_id:str}/fulfil"): STAFF,
    ("GET", "/kantor/pengaduan"): STAFF,
    ("POST", "/kantor/pengaduan"): STAFF,
    ("POST", "/kantor/pengaduan/{complaint_id:str}/{action:str}"): STAFF,
    ("GET", "/api/staff/complaints"): STAFF,
    ("POST", "/api/staff/complaints/{complaint_id:str}/{action:str}"): STAFF,
    ("GET", "/kantor/laporan"): STAFF,
    ("GET", "/kantor/laporan/csv"): STAFF,
    ("GET", "/kantor/laporan/xlsx"): STAFF,
    ("GET", "/kantor/laporan/pdf"): STAFF,
    ("GET", "/kantor/ikm"): STAFF,
    ("GET", "/kantor/ikm/pdf"): STAFF,
    ("GET", "/api/reports/service"): STAFF,
    ("GET", "/api/reports/ikm"): STAFF,
    ("GET", "/kantor/perangkat"): STAFF,
    ("GET", "/kantor/perangkat/{device_id:str}"): STAFF,
    ("GET", "/kantor/kantor"): STAFF,
    ("POST", "/kantor/kantor"): ADMIN,
    ("POST", "/kantor/kantor/email"): ADMIN,
    ("POST", "/kantor/kantor/perangkat"): ADMIN,
    ("GET", "/kantor/kantor/perangkat/{device_id:str}/cabut"): ADMIN,
    ("POST", "/kantor/kantor/perangkat/{device_id:str}/cabut"): ADMIN,
    ("GET", "/kantor/kantor/perangkat/{device_id:str}/ditolak"): STAFF,  # linked from the offices page for staff too
    ("GET", "/kantor/kantor/perangkat/{device_id:str}/ganti"): ADMIN,
    ("POST", "/kantor/kantor/perangkat/{device_id:str}/ganti"): ADMIN,
    ("GET", "/kantor/kantor/perangkat/{device_id:str}/cadangan/{backup_id:str}"): ADMIN,
    ("GET", "/kantor/audit"): ADMIN,
    ("GET", "/api/audit"): ADMIN,
    ("GET", "/kantor/privasi"): ADMIN,
    ("POST", "/kantor/privasi/ekspor"): ADMIN,
    ("POST", "/kantor/privasi/hapus"): ADMIN,
}
ALLOWED = {STAFF: STAFF_ROLES, ADMIN: (ADMIN,)}
FORMS = {  # what each change is sent with, so that an allowed one would change something
    "/kantor/kantor": {"code": "7471", "name": "BPS Kota Kendari"},
    "/kantor/kantor/email": {"office": "7400", "email": "pst7400@example.id"},
    "/kantor/kantor/perangkat": {"office": "7400", "name": "Meja PST 2"},
    "/kantor/kantor/perangkat/{device_id:str}/cabut": {"confirm": "ya"},
    "/kantor/pengaduan": {"channel": "email", "text": "AC ruang baca mati sejak pagi."},
    "/kantor/pengaduan/{complaint_id:str}/{action:str}": {"response": "Sudah kami perbaiki."},
    "/api/staff/complaints/{complaint_id:str}/{action:str}": {"response": "Sudah kami perbaiki."},
    "/kantor/permintaan/{request_id:str}/tolak": {"reason": "Data ini belum terbit."},
    "/api/staff/requests/{request_id:str}/reject": {"reason": "Data ini belum terbit."},
    "/kantor/katalog/baru": {"title": "Statistik Daerah Kota Kendari 2025", "year": "2025", "type": "Statistik Daerah"},
    "/kantor/privasi/hapus": {"email": "ani@example.id", "confirm": "ya"},
    "/kantor/privasi/ekspor": {"email": "ani@example.id"},
}


def back_office_routes(app) -> list[tuple[str, str]]:
    found = set()
    for route in app.routes:
        if route.path.startswith(BACK_OFFICE):
            for handler in getattr(route, "route_handlers", ()):
                found |= {(method, route.path) for method in handler.http_methods - {"HEAD", "OPTIONS"}}
    return sorted(found, key=lambda route: (route[1], route[0]))


@dataclass
class Portal:
    client: TestClient
    sessions: dict[str, str]
    ids: dict[str, str]
    csrf: str

    def fingerprint(self) -> str:
        """Every row of every table but the sessions' (a request may touch its own session)."""
        digest = hashlib.sha256()
        tables = run_db(self.client, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        for table in (row["name"] for row in tables if row["name"] not in ("sessions", "login_attempts")):
            for row in run_db(self.client, f'SELECT * FROM "{table}"'):
                digest.update(repr((table, sorted(row.items()))).encode())
        return digest.hexdigest()


@pytest.fixture(scope="module")
def portal(tmp_path_factory):
    from cloud.app import create_app
    from cloud.devices import Devices

    folder = tmp_path_factory.mktemp("roles")
    with MailSink(folder / "mail") as mailbox:
        settings = CloudSettings.from_env({
            "PST_DATA_DIR": str(folder / "var"), "PST_CLOUD_DATABASE_URL": f"sqlite:///{folder / 'cloud.db'}",
            "PST_CLOUD_SMTP_URL": mailbox.url, "PST_CLOUD_SECRET": SECRET, "PST_CLOUD_PUBLIC_URL": "http://portal.test",
        })
        clock = ManualClock(MONDAY_MORNING)
        with TestClient(create_app(settings, clock=clock), base_url="http://portal.test") as client:
            sessions = {"reader": add_reader(client, "ani@example.id", "Ani"),
                        STAFF: sign_in(client, "petugas@bps.go.id", "Petugas", STAFF),
                        ADMIN: sign_in(client, "kepala@bps.go.id", "Kepala", ADMIN)}
            devices = Devices(client.app.state.db, clock, settings.signing_key())
            client.blocking_portal.call(devices.add_office, "7400", "BPS Provinsi Sulawesi Tenggara")
            device, _ = client.blocking_portal.call(devices.add_device, "7400", "Meja PST 1")
            reader = as_(client, sessions["reader"])
            wanted = reader.post("/api/requests", json={"description": "Jumlah penduduk per kecamatan 2024",
                                                        "purpose": "penelitian"}).json()
            complaint = reader.post("/api/complaints", json={"office": "7400", "text": "Unduhan gagal terus."}).json()
            csrf = re.search(r'name="_csrf_token" value="([^"]+)"', as_(client, None).get("/akun/masuk").text).group(1)
            ids = {"device_id": device["id"], "request_id": wanted.get("id", "x"), "complaint_id": complaint.get("id", "x"),
                   "action": "ditindaklanjuti", "publication_id": "x", "office": "7400", "backup_id": "x"}
            yield Portal(client, sessions, ids, csrf)


def filled(path: str, ids: dict[str, str]) -> str:
    return re.sub(r"{(\w+):\w+}", lambda m: ids[m.group(1)], path)


def send(portal: Portal, role: str | None, method: str, path: str):
    client, url, body = as_(portal.client, portal.sessions.get(role)), filled(path, portal.ids), FORMS.get(path, {})
    if method == "GET":
        return client.get(url, follow_redirects=False)
    if path.startswith("/api/"):
        return client.request(method, url, json=body, follow_redirects=False)
    return client.request(method, url, data=body | {"_csrf_token": portal.csrf}, follow_redirects=False)


def listed_routes() -> list[tuple[str, str]]:
    """From an app that is made but never started (nothing is opened before its start)."""
    from cloud.app import create_app

    with tempfile.TemporaryDirectory() as folder:
        settings = CloudSettings.from_env({
            "PST_DATA_DIR": folder, "PST_CLOUD_SECRET": SECRET, "PST_CLOUD_SMTP_URL": "smtp://127.0.0.1:1",
            "PST_CLOUD_DATABASE_URL": f"sqlite:///{folder}/cloud.db", "PST_CLOUD_PUBLIC_URL": "http://portal.test"})
        return back_office_routes(create_app(settings))


ROUTES = listed_routes()
CASES = [pytest.param(method, path, role, id=f"{method} {path} {role or 'anonymous'}")
         for method, path in ROUTES for role in (None, *ROLES)]


def test_every_back_office_route_is_in_the_matrix():
    assert len(ROUTES) > 40
    assert sorted(set(ROUTES) - set(MATRIX)) == [], "add the route to MATRIX (and the README's table)"
    assert sorted(set(MATRIX) - set(ROUTES)) == []


@pytest.mark.parametrize("method, path, role", CASES)
def test_each_role_gets_what_the_matrix_gives_it(portal, method, path, role):
    before = portal.fingerprint()
    answer = send(portal, role, method, path)
    if role in ALLOWED[MATRIX[(method, path)]]:
        assert answer.status_code not in (401, 403), answer.text[:300]
        return
    if role is None:  # the API and the exports answer 401, the pages send the browser to the sign-in page
        assert answer.status_code == 401 or (answer.status_code, answer.headers["location"]) == (303, "/akun/masuk")
    else:
        assert answer.status_code == 403, answer.text[:300]
    assert portal.fingerprint() == before, "a refused request changed the database"


def matrix_markdown() -> str:
    lines = [f"| route | {' | '.join(ROLES)} |", f"|---|{'---|' * len(ROLES)}"]
    for method, path in sorted(MATRIX, key=lambda route: (route[1], route[0])):
        marks = " | ".join("✓" if role in ALLOWED[MATRIX[(method, path)]] else "—" for role in ROLES)
        lines.append(f"| `{method} {path}` | {marks} |")
    return "\n".join(lines) + "\n"


def test_the_readme_shows_the_portal_matrix():
    table = matrix_markdown()
    assert table in README.read_text(), f"put this table in README.md (Roles, the portal):\n{table}"
