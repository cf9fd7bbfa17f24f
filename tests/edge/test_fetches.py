"""Fetch-from-storage requests: every status and every refusal, in-house use counts, the librarian's queue, checkout."""

from __future__ import annotations

import itertools
import re

import pytest

from edge import outbox
from edge.catalogue import CatalogueError
from edge.fetches import FINAL, STATUS_WORDS, TRANSITIONS, FetchError
from edge.users import add_user
from tests.edge.test_catalogue import SHELVES

GUEST = {"gender": "P", "occupation": "pelajar", "purposes": ["baca_tercetak"], "id_type": "KTM"}
# how to reach each status from a new request
PATHS = {
    "diminta": (), "diambil": ("diambil",), "diserahkan": ("diambil", "diserahkan"),
    "tidak_tersedia": ("tidak_tersedia",), "dikembalikan": ("diambil", "diserahkan", "dikembalikan"),
    "dibatalkan": ("dibatalkan",),
}
REFUSED = [(a, b) for a, b in itertools.product(STATUS_WORDS, STATUS_WORDS) if a not in TRANSITIONS.get(b, ())]


@pytest.fixture
def room(appliance):
    """The appliance with a few shelves of publications."""
    appliance.catalogue.import_rows(SHELVES)
    return appliance


def visit(appliance, name):
    return appliance.check_in(GUEST | {"name": name, "email": f"{name.lower()}@example.id"}).visit["id"]


def publication(appliance, catalogue_number, year=None):
    items = appliance.catalogue.search(catalogue_number)["items"]
    return next(i for i in items if i["catalogue_number"] == catalogue_number and (year is None or i["year"] == year))


def events(appliance, entity="fetch_request"):
    return [e for e in outbox.pending(appliance.store.read, limit=10_000) if e["entity"] == entity]


def storage_item(room):
    return publication(room, "1102001.7411")["id"]  # Kolaka Timur Dalam Angka 2024, storage G-03-1, one copy


def test_a_request_goes_from_diminta_to_dikembalikan_with_its_times_and_staff(room, clock):
    guest, item = visit(room, "Ani"), storage_item(room)
    made = room.fetches.request(guest, item, "pustakawan-1")
    assert (made["status"], made["requested_by"], made["publication"]["shelf"]) == ("diminta", "pustakawan-1", "G-03-1")
    clock.advance(minutes=3)
    fetched = room.fetches.advance(made["id"], "diambil", "pustakawan-1")
    clock.advance(minutes=2)
    handed = room.fetches.advance(made["id"], "diserahkan", "pustakawan-2")
    assert (handed["fetched_by"], handed["handed_by"], handed["waited_s"]) == ("pustakawan-1", "pustakawan-2", 300)
    assert fetched["fetched_at"] < handed["handed_at"] and handed["closed_at"] is None
    clock.advance(minutes=40)
    returned = room.fetches.advance(made["id"], "dikembalikan", "pustakawan-1", note="  dibaca   di meja 3 ")
    assert (returned["status"], returned["closed_by"], returned["note"]) == ("dikembalikan", "pustakawan-1", "dibaca di meja 3")
    assert returned["closed_at"] > returned["handed_at"]
    assert [e["op"] for e in events(room)] == ["diminta", "diambil", "diserahkan", "dikembalikan"]
    assert {e["payload"]["catalogue_number"] for e in events(room)} == {"1102001.7411"}


@pytest.mark.parametrize("before", [(), ("diambil",)])
def test_an_item_that_cannot_be_found_is_tidak_tersedia(room, before):
    request = room.fetches.request(visit(room, "Ani"), storage_item(room))
    for status in before:
        room.fetches.advance(request["id"], status)
    gone = room.fetches.advance(request["id"], "tidak_tersedia", "pustakawan-1", note="sedang dijilid ulang")
    assert gone["status"] == "tidak_tersedia" and gone["unavailable_at"] == gone["closed_at"] is not None
    assert gone["note"] == "sedang dijilid ulang" and gone["closed_by"] == "pustakawan-1"
    assert publication(room, "1102001.7411")["in_house_uses"] == 0


@pytest.mark.parametrize("current, target", REFUSED)
def test_every_other_move_is_refused_with_the_reason(room, current, target):
    request = room.fetches.request(visit(room, "Ani"), storage_item(room))
    for status in PATHS[current]:
        room.fetches.advance(request["id"], status)
    before = len(events(room))
    with pytest.raises(FetchError) as refused:
        room.fetches.advance(request["id"], target)
    assert refused.value.status == 409
    reason = str(refused.value)
    if current in FINAL:
        assert reason == f"Permintaan ini sudah selesai ({STATUS_WORDS[current]})"
    elif current == target:
        assert reason == f"Permintaan ini sudah berstatus {STATUS_WORDS[current]}"
    else:
        assert re.search(r"belum diambil|belum diserahkan|sudah diserahkan|kembali menjadi diminta", reason)
    assert room.fetches.get(request["id"])["status"] == current and len(events(room)) == before


def test_unknown_requests_and_statuses_are_not_found(room):
    request = room.fetches.request(visit(room, "Ani"), storage_item(room))
    for request_id, status in ((request["id"], "hilang"), ("nope", "diambil")):
        with pytest.raises(FetchError) as missing:
            room.fetches.advance(request_id, status)
        assert missing.value.status == 404


def test_requests_that_make_no_sense_are_refused(room):
    ani, budi = visit(room, "Ani"), visit(room, "Budi")
    on_display = publication(room, "1102001.74", 2024)["id"]
    with pytest.raises(FetchError, match="ada di rak pajang R-01") as display:
        room.fetches.request(ani, on_display)
    assert display.value.status == 409
    first = room.fetches.request(ani, storage_item(room))
    with pytest.raises(FetchError, match=r"sudah diminta untuk kunjungan ini \(status: diminta\)"):
        room.fetches.request(ani, storage_item(room))
    room.fetches.request(budi, storage_item(room))  # another visitor may ask for it too
    room.fetches.advance(first["id"], "dibatalkan")
    assert room.fetches.request(ani, storage_item(room))["status"] == "diminta"  # once closed, ask again
    room.checkout.checkout(budi)
    for visit_id, item, status in ((budi, storage_item(room), 409), ("nope", storage_item(room), 404), (ani, "nope", 404),
                                   (ani, None, 400)):
        with pytest.raises(FetchError) as refused:
            room.fetches.request(visit_id, item)
        assert refused.value.status == status
    room.catalogue.import_rows([{"title": "Arsip", "year": 1999, "catalogue_number": "1102001.74", "copies": 0}])
    with pytest.raises(FetchError, match="tidak memiliki eksemplar"):
        room.fetches.request(ani, publication(room, "1102001.74", 1999)["id"])


def test_a_copy_is_fetched_only_when_one_is_free(room):
    ani, budi = visit(room, "Ani"), visit(room, "Budi")
    first = room.fetches.request(ani, storage_item(room))
    second = room.fetches.request(budi, storage_item(room))
    room.fetches.advance(first["id"], "diambil")
    with pytest.raises(FetchError, match=r"Semua eksemplar \(1\) sedang dipakai"):
        room.fetches.advance(second["id"], "diambil")
    room.fetches.advance(first["id"], "diserahkan")
    room.fetches.advance(first["id"], "dikembalikan")
    assert room.fetches.advance(second["id"], "diambil")["status"] == "diambil"


def test_handing_over_and_reading_from_the_display_shelf_count_in_house_uses(room):
    ani = visit(room, "Ani")
    for _ in range(2):
        request = room.fetches.request(ani, storage_item(room))
        for status in ("diambil", "diserahkan", "dikembalikan"):
            room.fetches.advance(request["id"], status)
    assert publication(room, "1102001.7411")["in_house_uses"] == 2
    on_display = publication(room, "1102001.74", 2024)["id"]
    assert room.catalogue.count_use(on_display, "pustakawan-1") == {"id": on_display, "in_house_uses": 1}
    with pytest.raises(CatalogueError, match="dihitung saat diserahkan") as storage:
        room.catalogue.count_use(storage_item(room))
    assert storage.value.status == 409
    uses = events(room, "publication_use")
    assert [(u["payload"]["catalogue_number"], bool(u["payload"]["fetch_request_id"])) for u in uses] == [
        ("1102001.7411", True), ("1102001.7411", True), ("1102001.74", False),
    ]
    assert room.store.read.execute("SELECT count(*) FROM publication_uses").fetchone()[0] == 3


def test_the_librarians_queue_is_oldest_first_with_visitor_and_wait(room, clock):
    ani, budi = visit(room, "Ani"), visit(room, "Budi")
    late = room.fetches.request(budi, storage_item(room))
    clock.advance(minutes=1)
    pdrb = publication(room, "9302008.7471")["id"]
    room.fetches.request(ani, pdrb)
    done = room.fetches.request(ani, publication(room, "3205011.74")["id"])
    room.fetches.advance(done["id"], "tidak_tersedia")
    clock.advance(minutes=4)
    queue = room.fetches.queue()
    assert [(r["visitor"]["name"], r["publication"]["catalogue_number"], r["waited_s"]) for r in queue] == [
        ("Budi", "1102001.7411", 300), ("Ani", "9302008.7471", 240),
    ]
    assert queue[0]["id"] == late["id"] and re.fullmatch(r"A\d{3}", queue[0]["visitor"]["ticket_number"])
    assert [r["status"] for r in room.fetches.of_visit(ani)] == ["diminta", "tidak_tersedia"]
    assert [r["status"] for r in room.fetches.open_for_visit(ani)] == ["diminta"]


def test_checkout_closes_the_open_requests_and_never_blocks(room, clock):
    ani = visit(room, "Ani")
    waiting = room.fetches.request(ani, storage_item(room))
    reading = room.fetches.request(ani, publication(room, "9302008.7471")["id"])
    gone = room.fetches.request(ani, publication(room, "3205011.74")["id"])
    for status in ("diambil", "diserahkan"):
        room.fetches.advance(reading["id"], status)
    room.fetches.advance(gone["id"], "tidak_tersedia")
    clock.advance(minutes=30)
    result = room.checkout.checkout(ani)
    after = {r["id"]: r for r in room.fetches.of_visit(ani)}
    assert (after[waiting["id"]]["status"], after[reading["id"]]["status"]) == ("dibatalkan", "dikembalikan")
    assert after[waiting["id"]]["closed_at"] == after[reading["id"]]["closed_at"] == result["finished_at"]
    assert after[gone["id"]]["closed_at"] < result["finished_at"]  # already closed: left alone
    assert room.fetches.queue() == []
    by_checkout = [e for e in events(room) if e["payload"]["by"] == "checkout"]
    assert sorted(e["op"] for e in by_checkout) == ["dibatalkan", "dikembalikan"]


# --- over HTTP ------------------------------------------------------------------------------------------------------------
@pytest.fixture
def desk(client, app, clock):
    """A signed-in librarian, with a few shelves."""
    appliance = app.state.appliance
    appliance.catalogue.import_rows(SHELVES)
    add_user(appliance.store, clock, "pustakawan", "librarian", "rahasia-pustaka")
    return client


def sign_in(client):
    assert client.post("/api/session", json={"username": "pustakawan", "password": "rahasia-pustaka"}).status_code == 200


def csrf(client, path):
    return re.search(r'name="_csrf_token" value="([^"]+)"', client.get(path).text).group(1)


@pytest.mark.parametrize(
    "method, path",
    [("post", "/api/visits/x/fetches"), ("get", "/api/visits/x/fetches"), ("post", "/api/fetches/x/diambil"),
     ("get", "/api/fetches"), ("post", "/api/catalogue/x/use")],
)
def test_fetch_endpoints_are_for_staff(desk, method, path):
    response = getattr(desk, method)(path)
    assert response.status_code == 401 and response.json()["detail"]


@pytest.mark.parametrize("path", ["/petugas/permintaan", "/petugas/kunjungan/x/katalog"])
def test_fetch_pages_send_anonymous_visitors_to_sign_in(desk, path):
    response = desk.get(path, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/petugas/masuk"


def test_fetch_requests_through_every_status_over_http(desk, app, clock):
    guest = desk.post("/api/visits", json=GUEST | {"name": "Citra", "email": "citra@example.id"}).json()["id"]
    sign_in(desk)
    item = desk.get("/api/catalogue", params={"q": "1102001.7411"}).json()["items"][0]
    made = desk.post(f"/api/visits/{guest}/fetches", json={"publication_id": item["id"]})
    assert made.status_code == 201 and made.json()["requested_at"] == "2026-11-30T09:00:00.000+08:00"
    request_id = made.json()["id"]
    again = desk.post(f"/api/visits/{guest}/fetches", json={"publication_id": item["id"]})
    assert again.status_code == 409 and "sudah diminta" in again.json()["detail"]
    display = desk.get("/api/catalogue", params={"q": "1101002.7471"}).json()["items"][0]
    shelf = desk.post(f"/api/visits/{guest}/fetches", json={"publication_id": display["id"]})
    assert shelf.status_code == 409 and "ada di rak pajang R-02" in shelf.json()["detail"]
    early = desk.post(f"/api/fetches/{request_id}/diserahkan")
    assert early.status_code == 409 and early.json()["detail"] == "Publikasi belum diambil dari ruang penyimpanan"
    clock.advance(minutes=2)
    for status in ("diambil", "diserahkan"):
        moved = desk.post(f"/api/fetches/{request_id}/{status}", json={})
        assert moved.status_code == 200 and moved.json()["status"] == status
    assert desk.post(f"/api/fetches/{request_id}/terbang").status_code == 404
    queue = desk.get("/api/fetches").json()["requests"]
    assert [(r["visitor"]["name"], r["status"], r["waited_s"]) for r in queue] == [("Citra", "diserahkan", 120)]
    assert queue[0]["handed_at"].endswith("+08:00")
    use = desk.post(f"/api/catalogue/{display['id']}/use")
    assert use.status_code == 201 and use.json()["in_house_uses"] == 1
    assert desk.get(f"/api/catalogue/{item['id']}").json()["in_house_uses"] == 1
    assert desk.post(f"/api/visits/{guest}/checkout", json={}).status_code == 200
    [closed] = desk.get(f"/api/visits/{guest}/fetches").json()["requests"]
    assert closed["status"] == "dikembalikan" and closed["closed_at"]
    assert desk.get("/api/fetches").json() == {"requests": []}
    assert desk.get("/api/visits/nope/fetches").status_code == 404


def test_the_librarian_works_the_queue_with_forms(desk, app):
    guest = desk.post("/api/visits", json=GUEST | {"name": "Dewi", "email": "dewi@example.id"}).json()["id"]
    sign_in(desk)
    search = desk.get(f"/petugas/kunjungan/{guest}/katalog", params={"q": "kolaka"})
    assert search.status_code == 200 and "Minta ambil" in search.text and "Dewi" in search.text
    item = re.search(r'name="publication_id" value="([^"]+)"', search.text).group(1)
    token = csrf(desk, "/petugas/permintaan")
    back = f"/petugas/kunjungan/{guest}/katalog?q=kolaka"
    made = desk.post(f"/petugas/kunjungan/{guest}/permintaan", follow_redirects=False,
                     data={"_csrf_token": token, "publication_id": item, "kembali": back})
    assert made.status_code == 303 and made.headers["location"] == back  # the message waits in the session
    assert 'role="status">Diminta dari ruang penyimpanan' in desk.get(back).text
    assert desk.post(f"/petugas/kunjungan/{guest}/permintaan", data={"publication_id": item}).status_code == 403  # no token
    page = desk.get("/petugas/permintaan")
    assert "Kabupaten Kolaka Timur Dalam Angka 2024" in page.text and "G-03-1" in page.text and "Dewi" in page.text
    [request_id] = re.findall(r'action="/petugas/permintaan/([^/"]+)/diambil"', page.text)
    moved = desk.post(f"/petugas/permintaan/{request_id}/diambil", follow_redirects=False,
                      data={"_csrf_token": token, "kembali": "https://example.com/petugas"})
    assert moved.status_code == 303 and moved.headers["location"] == "/petugas/permintaan"
    refused = desk.post(f"/petugas/permintaan/{request_id}/dikembalikan", data={"_csrf_token": token})
    assert 'role="alert"><strong>Gagal:</strong> Tidak dapat: Publikasi belum diserahkan kepada pengunjung' in refused.text
    desk.post(f"/petugas/permintaan/{request_id}/tidak_tersedia", data={"_csrf_token": token, "note": "dipinjam kantor"})
    visit_page = desk.get(f"/petugas/kunjungan/{guest}/katalog")
    assert "tidak tersedia" in visit_page.text and "dipinjam kantor" in visit_page.text
    display_item = desk.get("/api/catalogue", params={"q": "1101002.7471"}).json()["items"][0]["id"]
    counted = desk.post(f"/petugas/katalog/{display_item}/pakai", data={"_csrf_token": token, "kembali": "/katalog?q=kendari"})
    assert "Penggunaan di tempat dicatat (sudah 1 kali)" in counted.text and "Hitung dibaca (1)" in counted.text


def test_the_visit_page_include_shows_the_requests_and_offers_a_search(desk, app):
    from edge.routes.catalogue import visit_fetches_context

    appliance = app.state.appliance
    guest = visit(appliance, "Eka")
    request = appliance.fetches.request(guest, publication(appliance, "1102001.7411")["id"])
    appliance.fetches.advance(request["id"], "diambil")
    include = app.template_engine.engine.get_template("visit_fetches.html")
    as_librarian = {"can": lambda capability: capability == "library"}  # as a signed-in librarian sees it
    html = include.render(visit=appliance.visits.get(guest), csrf_input="", **as_librarian,
                          **visit_fetches_context(appliance, guest))
    assert "Kabupaten Kolaka Timur Dalam Angka 2024" in html and "diambil dari penyimpanan" in html
    assert f'action="/petugas/permintaan/{request["id"]}/diserahkan"' in html
    assert f'name="kembali" value="/petugas/kunjungan/{guest}"' in html  # the buttons come back to the visit page
    assert f'action="/petugas/kunjungan/{guest}/katalog"' in html
    appliance.checkout.checkout(guest)
    closed = include.render(visit=appliance.visits.get(guest), csrf_input="", **as_librarian,
                            **visit_fetches_context(appliance, guest))
    assert "dibatalkan" in closed and "/katalog" not in closed and "<button" not in closed
