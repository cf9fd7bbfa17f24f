"""The back office's fleet page and appliance page: each device's state from its last round and health, the
province and state filters, sorting, the sparkline, the appliance's history, who may open them, and bad query
values answered with a page, never a 5xx."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from cloud.fleet import Fleet, slot
from sync.protocol import Health
from tests.cloud.conftest import COOKIE, READER_PASSWORD, add_reader, as_, run_db

OFFICES = (("7400", "BPS Provinsi Sulawesi Tenggara"), ("7471", "BPS Kota Kendari"),
           ("7300", "BPS Provinsi Sulawesi Selatan"), ("7371", "BPS Kota Makassar"), ("7601", "BPS Kabupaten Majene"))
HEALTHY = dict(software="1.4.0", disk_free_pct=62.0, printer="ok", scanner="ok", pending=0, ntp=True,
               clock_offset_ms=40, backup_ok=True, alert_count=0)
DEVICES = {  # name → (office, what its last round reported, minutes since it was last seen; None: never enrolled)
    "Meja Kendari": ("7471", HEALTHY, 1),
    "Meja Sultra": ("7400", HEALTHY | {"printer": "paper_out"}, 1),
    "Meja Makassar": ("7371", HEALTHY | {"pending": 40, "oldest_pending_s": 900}, 2),
    "Meja Sulsel": ("7300", HEALTHY, 90),
    "Meja Majene": ("7601", None, None),
}
EXPECTED = {"Meja Kendari": "sehat", "Meja Sultra": "bermasalah", "Meja Makassar": "peringatan",
            "Meja Sulsel": "senyap", "Meja Majene": "belum terdaftar"}


def add_account(client, email: str, role: str) -> str:
    from cloud.accounts import Accounts

    accounts = Accounts(client.app.state.db, client.app.state.clock, None, b"", "")
    client.blocking_portal.call(accounts.add, email, role, READER_PASSWORD, email.split("@")[0])
    return client.post("/api/session", json={"email": email, "password": READER_PASSWORD}).cookies[COOKIE]


def add_history(client, device: str, health: dict, last) -> None:
    """A day of 5-minute samples up to `last`, in one statement; the backlog rose in its last ten hours."""
    values, marks = [], []
    for back in range(5, 24 * 60, 5):
        moment = last - timedelta(minutes=back)
        values += [device, slot(moment), moment, 1, health["pending"] + max(0, 10 - back // 60),
                   health["disk_free_pct"], health["clock_offset_ms"]]
        marks.append("({}, {}, {}, {}, {}, {}, {})")
    run_db(client, "INSERT INTO device_health_history (device_id, slot, received_at, version, pending, disk_free_pct,"
           f" clock_offset_ms) VALUES {', '.join(marks)}", *values)


@pytest.fixture
def fleet(client, clock) -> dict[str, str]:
    """Five offices of three provinces, one device each, with a day of 5-minute health and a few visits; the
    client signed in as staff. Device name → id."""
    now, ids, history = clock.now(), {}, Fleet(client.app.state.db)
    backup = {"backup_at": int((now - timedelta(hours=3)).timestamp())}
    for code, name in OFFICES:
        run_db(client, "INSERT INTO offices (id, code, name, created_at) VALUES ({}, {}, {}, {})",
               f"office-{code}", code, name, now)
    for index, (name, (office, health, minutes)) in enumerate(DEVICES.items()):
        ids[name] = device = f"device-{index}"
        run_db(client, "INSERT INTO devices (id, office_id, name, created_at, key_hash, last_seen_at)"
               " VALUES ({}, {}, {}, {}, {}, {})", device, f"office-{office}", name, now,
               None if minutes is None else f"hash-{index}",
               None if minutes is None else now - timedelta(minutes=minutes))
        if health:
            add_history(client, device, health, now - timedelta(minutes=minutes))
            client.blocking_portal.call(history.record, device, Health(version=1, **health | backup),
                                        now - timedelta(minutes=minutes))
    client.blocking_portal.call(history.summarise_history)  # the samples added in bulk, summed up as the writer does
    alerts = (("alert-1", "backlog", "Catatan tertua belum terkirim ke portal sejak 30 Nov 2026 07.45 WITA", None),
              ("alert-0", "printer", "Printer kehabisan kertas sejak 29 Nov 2026 10.00 WITA", now - timedelta(days=1)))
    for alert, kind, text, closed in alerts:
        run_db(client, "INSERT INTO fleet_alerts (id, device_id, kind, open_key, text, since, opened_at, closed_at)"
               " VALUES ({}, {}, {}, {}, {}, {}, {}, {})", alert, ids["Meja Makassar"], kind,
               None if closed else f"{ids['Meja Makassar']}:{kind}", text, now - timedelta(days=2),
               now - timedelta(days=2 if closed else 0, hours=1), closed)
    for visit in range(6):
        run_db(client, "INSERT INTO visits (id, office_code, device_id, checked_in_at) VALUES ({}, {}, {}, {})",
               f"visit-{visit}", "7471", ids["Meja Kendari"], now - timedelta(hours=visit * 20))
    as_(client, add_account(client, "petugas@bps.go.id", "staff"))
    return ids


def rows(page: str) -> dict[str, str]:
    """Device name → its row's text, in the page's order."""
    found = {}
    for row in re.findall(r"<tr>(.*?)</tr>", page.split("<tbody>")[1], re.S):
        name = re.search(r'<th scope="row"><a href="[^"]+">([^<]+)</a>', row)
        if name:
            found[name.group(1)] = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row))
    return found


def test_every_device_is_listed_with_its_state(client, fleet):
    page = client.get("/kantor/perangkat")
    assert page.status_code == 200
    listed = rows(page.text)
    assert set(listed) == set(DEVICES)
    for name, state in EXPECTED.items():
        assert f" {state} " in listed[name], (name, listed[name])
    assert "printer kehabisan kertas" in listed["Meja Sultra"]
    assert "ada peringatan terbuka" in listed["Meja Makassar"] and listed["Meja Makassar"].endswith(" 1 ")
    assert "1.4.0" in listed["Meja Kendari"] and "62%" in listed["Meja Kendari"]


def test_the_sparkline_draws_the_backlog_and_the_visits(client, fleet):
    page = client.get("/kantor/perangkat").text
    makassar = page.split("Meja Makassar")[1].split("</tr>")[0]
    assert re.search(r'<svg class="spark"[^>]*role="img"[^>]*aria-label="[^"]*tertinggi', makassar)
    assert "<polyline" in makassar
    assert "tertinggi 50, terakhir 40;" in makassar  # the highest of six hours from the summary; the latest health's
    kendari = page.split("Meja Kendari")[1].split("</tr>")[0]
    assert "kunjungan 7 hari: 6" in kendari


@pytest.mark.parametrize(("query", "names"), [
    ("provinsi=74", {"Meja Kendari", "Meja Sultra"}),
    ("provinsi=73", {"Meja Makassar", "Meja Sulsel"}),
    ("keadaan=bermasalah", {"Meja Sultra"}),
    ("provinsi=73&keadaan=senyap", {"Meja Sulsel"}),
    ("keadaan=belum-terdaftar", {"Meja Majene"}),
])
def test_the_list_filters_by_province_and_state(client, fleet, query, names):
    page = client.get(f"/kantor/perangkat?{query}")
    assert page.status_code == 200
    assert set(rows(page.text)) == names


def test_provinces_are_named_where_the_portal_knows_the_province_office(client, fleet):
    page = client.get("/kantor/perangkat").text
    assert '<option value="74">74 · BPS Provinsi Sulawesi Tenggara</option>' in page
    assert '<option value="76">76</option>' in page


def test_the_list_sorts_by_a_column_both_ways(client, fleet):
    ascending = client.get("/kantor/perangkat?urut=antrean").text
    assert list(rows(ascending))[-2:] == ["Meja Makassar", "Meja Majene"]  # the unknown last
    assert re.search(r'aria-sort="ascending"><a href="/kantor/perangkat\?urut=-antrean"', ascending)
    descending = client.get("/kantor/perangkat?urut=-antrean").text
    assert list(rows(descending))[0] == "Meja Makassar" and list(rows(descending))[-1] == "Meja Majene"
    by_state = list(rows(client.get("/kantor/perangkat?urut=keadaan").text))
    assert by_state[0] == "Meja Sultra" and by_state[-1] == "Meja Kendari"


def test_a_long_wait_reads_in_days_and_hours(client, fleet):
    run_db(client, "UPDATE device_health SET oldest_pending_s = {} WHERE device_id = {}", 42_869 * 60,
           fleet["Meja Makassar"])
    assert "29 hari 18 jam" in rows(client.get("/kantor/perangkat").text)["Meja Makassar"]
    assert "tertua 29 hari 18 jam" in client.get(f"/kantor/perangkat/{fleet['Meja Makassar']}").text
    client.cookies.set("pst_lang", "en")
    assert "29 d 18 h" in rows(client.get("/kantor/perangkat").text)["Meja Makassar"]
    assert "oldest 29 d 18 h" in client.get(f"/kantor/perangkat/{fleet['Meja Makassar']}").text


@pytest.fixture
def two_a_page(monkeypatch):
    monkeypatch.setattr("cloud.routes.fleet.PAGE", 2)


def pages(client, query: str) -> list[list[str]]:
    """Each page's device names, following the pager's next links from the page `query` asks for."""
    found, link = [], f"/kantor/perangkat?{query}"
    while link:
        page = client.get(link.replace("&amp;", "&")).text
        found.append(list(rows(page)))
        following = re.search(r'<a href="([^"]+)" rel="next">', page)
        link = following and following.group(1)
    return found


def test_a_page_of_the_sorted_fleet_at_a_time_and_every_appliance_reachable(client, fleet, two_a_page):
    assert pages(client, "") == [["Meja Sulsel", "Meja Makassar"], ["Meja Sultra", "Meja Kendari"], ["Meja Majene"]]
    by_backlog = pages(client, "urut=-antrean")
    assert [name for page in by_backlog for name in page][0] == "Meja Makassar"
    assert by_backlog[-1] == ["Meja Majene"] and sorted(sum(by_backlog, [])) == sorted(DEVICES)
    page = client.get("/kantor/perangkat?urut=-antrean&halaman=2").text
    assert "3–4 dari 5 perangkat yang cocok (semua: 5)" in page
    assert '<a href="/kantor/perangkat?urut=-antrean" rel="prev">' in page  # the first page keeps the order
    assert '<span aria-current="page">2</span>' in page and page.count('class="spark"') == 2


def test_the_filters_apply_before_the_pages_and_a_page_past_the_last_is_the_last(client, fleet, two_a_page):
    assert pages(client, "provinsi=73") == [["Meja Sulsel", "Meja Makassar"]]
    page = client.get("/kantor/perangkat?provinsi=74&urut=perangkat&halaman=9").text
    assert list(rows(page)) == ["Meja Kendari", "Meja Sultra"] and "rel=\"next\"" not in page
    assert 'href="/kantor/perangkat?provinsi=74&amp;urut=-perangkat"' in page  # sorting again starts at page 1


@pytest.mark.parametrize(("query", "message"), [
    ("urut=harga", "Urutan tidak dikenal"),
    ("provinsi=9x", "Provinsi tidak dikenal"),
    ("provinsi=11", "Provinsi tidak dikenal"),
    ("keadaan=rusak", "Keadaan tidak dikenal"),
    ("urut=%00&provinsi=" + "7" * 500, "Provinsi tidak dikenal"),
    ("halaman=0", "Halaman tidak dikenal"),
    ("halaman=-2", "Halaman tidak dikenal"),
    ("halaman=%D9%A3", "Halaman tidak dikenal"),  # an Arabic-Indic three is a digit to Python, not a page
])
def test_a_bad_query_value_is_ignored_with_a_word(client, fleet, query, message):
    page = client.get(f"/kantor/perangkat?{query}")
    assert page.status_code == 200
    assert message in page.text
    assert len(rows(page.text)) == len(DEVICES)


def test_the_appliance_page_shows_its_health_and_history(client, fleet):
    page = client.get(f"/kantor/perangkat/{fleet['Meja Makassar']}")
    assert page.status_code == 200
    assert "Meja Makassar" in page.text and "BPS Kota Makassar" in page.text and "peringatan" in page.text
    assert "tertua 15 mnt 0 dtk" in page.text and "1.4.0" in page.text
    assert page.text.count('<svg xmlns="http://www.w3.org/2000/svg" class="chart line"') == 6
    assert "Catatan menunggu" in page.text and "<polyline" in page.text
    alerts = page.text.split("Peringatan terakhir")[1].split("</table>")[0]
    assert alerts.index("Catatan tertua belum terkirim") < alerts.index("Printer kehabisan kertas")  # newest first
    assert alerts.count("terbuka") == 1


def test_an_unknown_appliance_is_a_404_page(client, fleet):
    page = client.get("/kantor/perangkat/tidak-ada")
    assert page.status_code == 404
    assert "Perangkat tidak ditemukan" in page.text


def test_readers_are_refused_and_the_signed_out_sent_to_sign_in(client, fleet):
    as_(client, add_reader(client, "wa.ode@example.id", "Wa Ode Nurhaliza"))
    for path in ("/kantor/perangkat", f"/kantor/perangkat/{fleet['Meja Kendari']}"):
        assert client.get(path).status_code == 403
    as_(client, None)
    for path in ("/kantor/perangkat", f"/kantor/perangkat/{fleet['Meja Kendari']}"):
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"] == "/akun/masuk"


def test_admins_open_it_too_and_the_menu_links_it(client, fleet):
    as_(client, add_account(client, "admin@bps.go.id", "admin"))
    page = client.get("/kantor/perangkat")
    assert page.status_code == 200
    assert '<a href="/kantor/perangkat" class="on" aria-current="page">' in page.text
    assert 'href="/kantor/perangkat"' in client.get("/kantor/kantor").text
