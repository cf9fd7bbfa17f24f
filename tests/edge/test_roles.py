"""Roles on the appliance: every route behind staff_only, taken from the app's own route list, answers every role as
edge.roles says (403 and nothing changed for a refused role, 401 or the sign-in page when signed out); no staff page
offers a role a link or a form that would answer 403; the README's role matrix is the one in the code."""

from __future__ import annotations

import hashlib
import re
import tempfile
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest
from litestar.testing import TestClient

from edge.auth import REFUSED, staff_only
from edge.roles import CAPABILITIES, ROLES, allowed, matrix_markdown
from edge.users import add_user
from pst.clock import ManualClock
from tests.conftest import MONDAY_MORNING
from tests.edge.test_catalogue import SHELVES

README = Path(__file__).parents[2] / "README.md"
PASSWORD = "rahasia-peran-2026"
GUEST = {"name": "Wa Ode Ani", "email": "ani@example.id", "gender": "P", "occupation": "pelajar",
         "purposes": ["baca_tercetak"], "id_type": "KTM"}
SIGN_IN_PAGE = "/petugas/masuk"


def staff_routes(app) -> list[tuple[str, str, str | None]]:
    """(method, path, capability) of every handler guarded by staff_only, from the app's route list."""
    found = set()
    for route in app.routes:
        for handler in getattr(route, "route_handlers", ()):
            if staff_only in (handler.guards or ()):
                for method in handler.http_methods - {"HEAD", "OPTIONS"}:
                    found.add((method, route.path, handler.opt.get("capability")))
    return sorted(found, key=lambda route: (route[1], route[0]))


@cache
def listed_routes() -> tuple[tuple[str, str, str | None], ...]:
    from edge.app import create_app
    from edge.settings import EdgeSettings

    with tempfile.TemporaryDirectory() as folder:
        settings = EdgeSettings.from_env({"PST_DATA_DIR": folder, "PST_EDGE_HARDWARE": "sim"})
        return tuple(staff_routes(create_app(settings)))


@dataclass
class Office:
    """One appliance for the whole module: a session per role, a visit, a fetch request, a complaint."""
    client: TestClient
    app: object
    sessions: dict[str, str]
    ids: dict[str, str]
    csrf: str

    def as_(self, role: str | None) -> TestClient:
        self.client.cookies.delete("pst_session")
        if role:
            self.client.cookies.set("pst_session", self.sessions[role])
        return self.client

    def fingerprint(self) -> str:
        """Every row of every table: the same digest means nothing was written."""
        db = self.app.state.appliance.store.read
        digest = hashlib.sha256()
        for (table,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").fetchall():
            for row in db.execute(f'SELECT * FROM "{table}"').fetchall():
                digest.update(repr((table, row)).encode())
        return digest.hexdigest()


@pytest.fixture(scope="module")
def office(tmp_path_factory):
    from edge.app import create_app
    from edge.settings import EdgeSettings

    clock = ManualClock(MONDAY_MORNING)
    settings = EdgeSettings.from_env({"PST_DATA_DIR": str(tmp_path_factory.mktemp("roles") / "var"),
                                      "PST_EDGE_HARDWARE": "sim"})
    app = create_app(settings, clock=clock)
    with TestClient(app) as client:
        appliance = app.state.appliance
        sessions = {}
        for role in ROLES:
            add_user(appliance.store, clock, role, role, PASSWORD)
            client.cookies.delete("pst_session")
            assert client.post("/api/session", json={"username": role, "password": PASSWORD}).status_code == 200
            sessions[role] = client.cookies["pst_session"]
        appliance.catalogue.import_rows(SHELVES)
        visit = appliance.check_in(GUEST).visit
        items = {item["location"]: item["id"] for item in appliance.catalogue.search("Sulawesi Tenggara")["items"]}
        fetch = appliance.fetches.request(visit["id"], items["storage"])
        complaint = appliance.complaints.submit("langsung", "Ruang baca terlalu dingin sepanjang hari.", "0812 1111")
        ids = {"visit_id": visit["id"], "ticket_id": visit["ticket_id"], "request_id": fetch["id"],
               "complaint_id": complaint["id"], "publication_id": items["display"], "number": "1", "counter": "1",
               "action": "serve"}
        csrf = re.search(r'name="_csrf_token" value="([^"]+)"', client.get(SIGN_IN_PAGE).text).group(1)
        made = Office(client, app, sessions, ids, csrf)
        settled(made)
        yield made


def settled(office: Office) -> None:
    """Until a ticket issued has gone through the printer's thread: then only requests write."""
    deadline = time.monotonic() + 10
    before = office.fingerprint()
    while time.monotonic() < deadline:
        time.sleep(0.2)
        if (now := office.fingerprint()) == before:
            return
        before = now
    raise AssertionError("the appliance kept writing without a request")


def filled(path: str, ids: dict[str, str]) -> str:
    """The route's path with the office's own records in it, so that an allowed change would change something."""
    status = "diambil" if "/fetches/" in path or "/permintaan/" in path else "ditindaklanjuti"
    return re.sub(r"{(\w+):\w+}", lambda m: status if m.group(1) == "status" else ids[m.group(1)], path)


BODIES = {  # what each change is sent with; the rest get an empty body
    "/api/lockers/{number:int}/service": {"in_service": False},
    "/petugas/loker/{number:int}/layanan": {"in_service": "0"},
    "/api/complaints/{complaint_id:str}/{status:str}": {"response": "Sudah kami sampaikan."},
    "/petugas/pengaduan/{complaint_id:str}/{status:str}": {"response": "Sudah kami sampaikan."},
    "/petugas/pengaduan": {"channel": "email", "text": "AC ruang baca mati sejak pagi."},
    "/petugas/pengaduan/baru": {"channel": "email", "text": "AC ruang baca mati sejak pagi."},
    "/petugas/privasi/hapus": {"email": GUEST["email"], "confirm": "ya"},
    "/petugas/privasi/ekspor": {"email": GUEST["email"]},
}


def send(office: Office, role: str | None, method: str, path: str):
    client, url = office.as_(role), filled(path, office.ids)
    body = BODIES.get(path, {})
    if method == "GET":
        return client.get(url, follow_redirects=False)
    if path.startswith("/api/"):
        return client.request(method, url, json=body, follow_redirects=False)
    return client.request(method, url, data=body | {"_csrf_token": office.csrf}, follow_redirects=False)


CASES = [pytest.param(method, path, capability, role, id=f"{method} {path} {role or 'anonymous'}")
         for method, path, capability in listed_routes() for role in (None, *ROLES)]


def test_every_staff_route_names_a_capability_of_the_matrix():
    unnamed = [(method, path) for method, path, capability in listed_routes() if capability not in CAPABILITIES]
    assert len(listed_routes()) > 50 and not unnamed, "give each route opt=needs(...) (edge.roles)"


@pytest.mark.parametrize("method, path, capability, role", CASES)
def test_each_role_gets_what_the_matrix_gives_it(office, method, path, capability, role):
    before = office.fingerprint()
    answer = send(office, role, method, path)
    if role is not None and allowed(role, capability):
        assert answer.status_code not in (401, 403), answer.text[:300]
        if method != "GET":
            settled(office)  # a ticket it printed is written after the answer
        return
    if role is None and path.startswith("/api/"):
        assert answer.status_code == 401
    elif role is None:
        assert (answer.status_code, answer.headers["location"]) == (303, SIGN_IN_PAGE)
    elif path.startswith("/api/"):
        assert (answer.status_code, answer.json()) == (403, {"detail": REFUSED, "errors": {}})
    else:
        assert answer.status_code == 403 and "text/html" in answer.headers["content-type"]
        assert "<h1>Akses ditolak</h1>" in answer.text and f"bukan untuk peran {role}" in answer.text
    assert office.fingerprint() == before, "a refused request changed the database"


def test_a_refused_page_speaks_the_staff_members_language(office):
    client = office.as_("frontliner")
    client.cookies.set("pst_lang", "en")
    try:
        page = client.get("/petugas/laporan")
    finally:
        client.cookies.delete("pst_lang")
    assert page.status_code == 403 and "<h1>Access denied</h1>" in page.text
    assert 'href="/petugas/laporan"' not in page.text  # its own menu leaves out what the role may not open


def offered(html: str) -> set[tuple[str, str]]:
    """The staff links (GET) and forms (their method) a page offers."""
    links = {("GET", href) for href in re.findall(r'<a [^>]*href="(/petugas[^"?#]*)', html)}
    forms = re.findall(r'<form [^>]*method="(\w+)"[^>]*action="(/petugas[^"?#]*)"', html)
    forms += [(method, action) for action, method in re.findall(r'<form [^>]*action="(/petugas[^"?#]*)"[^>]*method="(\w+)"', html)]
    return links | {(method.upper(), action) for method, action in forms}


def route_of(method: str, url: str) -> tuple[str, str | None]:
    for listed_method, path, capability in listed_routes():
        pattern = re.sub(r"{\w+:\w+}", "[^/]+", re.escape(path).replace(r"\{", "{").replace(r"\}", "}"))
        if listed_method == method and re.fullmatch(pattern, url):
            return path, capability
    return url, None


@pytest.mark.parametrize("role", ROLES)
def test_no_staff_page_offers_a_role_what_it_may_not_use(office, role):
    client, visit = office.as_(role), office.ids["visit_id"]
    pages = ["/petugas", "/petugas/loker", "/petugas/kunjungan", f"/petugas/kunjungan/{visit}", "/katalog",
             f"/petugas/kunjungan/{visit}/katalog", "/petugas/pengaduan/baru", "/petugas/permintaan",
             "/petugas/pengaduan", "/petugas/laporan", "/petugas/ikm", "/petugas/ikm/periode", "/petugas/audit",
             "/petugas/privasi"]
    seen = set()
    for page in pages:
        answer = client.get(page)
        if answer.status_code == 403:
            continue
        assert answer.status_code == 200, page
        for method, url in offered(answer.text) - {("POST", "/petugas/keluar")}:
            path, capability = route_of(method, url)
            assert allowed(role, capability), f"{page} offers {method} {url} to a {role}"
            seen.add(capability)
    assert seen == {name for name, found in CAPABILITIES.items() if role in found.roles}  # and all it may use


def test_the_readme_shows_the_role_matrix():
    table = matrix_markdown([route for route in listed_routes()])
    assert table in README.read_text(), f"put this table in README.md (Roles):\n{table}"
