"""Ratings (SKM) and complaints on the portal: the nine elements on 1..4 checked as at the desk, one rating of an office
a month for a signed-in reader (office month, WITA), complaints of every channel with a tracking number, the life cycle
diterima → ditindaklanjuti → selesai with its times, the public lookup, the staff queue per role, desk complaints
read-only, and text shown inert. Every test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime, timedelta, timezone

import pytest

from pst import skm
from tests.cloud.conftest import COOKIE, add_reader, as_, rows_in, run_db, sign_in
from tests.conftest import MONDAY_MORNING, WITA

SHEET = {"U1": 4, "U2": 3, "U3": 2, "U4": 4, "U5": 1, "U6": 3, "U7": 4, "U8": 2, "U9": 3}
READER = ("wa.ode@example.id", "Wa Ode Nurhaliza")
STAFF = ("petugas@bps.go.id", "Petugas PST Sultra")
COMPLAINT = "Ruang baca terlalu panas, AC tidak menyala sejak pagi."


@pytest.fixture
def people(client, offices):
    """Session tokens of a reader and a staff member; the client is left signed out."""
    tokens = {"reader": add_reader(client, *READER), "staff": sign_in(client, *STAFF, "staff")}
    client.cookies.delete(COOKIE)
    return tokens


def csrf(page) -> str:
    found = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
    assert found, "form without CSRF token"
    return found.group(1)


def rate(client, office="7400", **body):
    return client.post("/api/ratings", json={"office": office, "scores": SHEET, **body})


def complain(client, channel="website", text=COMPLAINT, office="7400", **body):
    return client.post("/api/complaints", json={"office": office, "channel": channel, "text": text, **body})


def when(value) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


# --- ratings ---------------------------------------------------------------------------------------------------------
def test_a_rating_is_stored_with_exactly_the_values_given(client, offices, clock):
    made = rate(client, comment="Petugas ramah, <b>koleksi</b> lengkap")
    assert made.status_code == 201, made.text
    assert made.json()["scores"] == SHEET and made.json()["office"] == "7400" and not made.json()["signed_in"]
    [row] = run_db(client, "SELECT * FROM ratings")
    assert {code: row[code.lower()] for code in skm.CODES} == SHEET
    assert (row["office_code"], row["source"], row["account_id"], row["visit_id"], row["device_id"]) == (
        "7400", "portal", None, None, None)
    assert row["comment"] == "Petugas ramah, <b>koleksi</b> lengkap"
    assert when(row["rated_at"]) == clock.now() == when(row["received_at"])


LONG = "x" * (skm.COMMENT_MAX + 1)


@pytest.mark.parametrize(
    "body, field",
    [
        ({"scores": {code: v for code, v in SHEET.items() if code != "U5"}}, "U5"),  # an element left out
        ({"scores": SHEET | {"U1": 0}}, "U1"),
        ({"scores": SHEET | {"U9": 5}}, "U9"),
        ({"scores": SHEET | {"U3": "4"}}, "U3"),  # the JSON API takes numbers, not text
        ({"scores": SHEET | {"U3": "baik"}}, "U3"),
        ({"scores": SHEET | {"U2": True}}, "U2"),
        ({"scores": SHEET | {"U2": 3.5}}, "U2"),
        ({"scores": SHEET | {"U10": 3}}, "U10"),
        ({"scores": list(SHEET.values())}, "scores"),
        ({"scores": None}, "scores"),
        ({"office": "9999"}, "office"),
        ({"office": ""}, "office"),
        ({"office": 7400}, "office"),
        ({"comment": LONG}, "comment"),
        ({"comment": 12}, "comment"),
        ({"rating": 5}, "rating"),
    ],
)
def test_a_bad_rating_is_400_and_nothing_is_stored(client, offices, body, field):
    answer = client.post("/api/ratings", json={"office": "7400", "scores": SHEET} | body)
    assert answer.status_code == 400, answer.text
    assert field in answer.json()["errors"]
    assert rows_in(client, "ratings") == 0


def test_a_comment_of_exactly_the_limit_is_taken(client, offices):
    assert rate(client, comment="y" * skm.COMMENT_MAX).status_code == 201


def test_a_signed_in_reader_rates_an_office_once_a_calendar_month_in_office_time(client, people, clock):
    as_(client, people["reader"])
    assert rate(client).status_code == 201
    again = rate(client, scores=dict.fromkeys(skm.CODES, 1))
    assert again.status_code == 409 and "bulan ini" in again.json()["detail"]
    assert rate(client, office="7471").status_code == 201  # another office is another rating
    clock.set(datetime(2026, 11, 30, 23, 59, tzinfo=WITA))
    assert rate(client).status_code == 409
    clock.set(datetime(2026, 12, 1, 0, 0, tzinfo=WITA))  # still 30 November in UTC: the office's month has turned
    assert rate(client).status_code == 201
    rows = run_db(client, "SELECT office_code, account_id FROM ratings ORDER BY rated_at")
    assert [r["office_code"] for r in rows] == ["7400", "7471", "7400"] and all(r["account_id"] for r in rows)
    assert "sudah menilai kantor ini bulan ini" in client.get("/penilaian?kantor=7400").text
    assert "sudah menilai kantor ini bulan ini" not in client.get("/penilaian?kantor=7471").text


def test_a_readers_ratings_sent_at_the_same_moment_still_make_one_a_month(client, people):
    from cloud.accounts import AccountView
    from cloud.quality import Quality, QualityError

    reader = AccountView.of(run_db(client, "SELECT id, email, name, role, verified_at FROM accounts WHERE email = {}",
                                   READER[0])[0])
    quality = Quality(client.app.state.db, client.app.state.clock)

    async def all_at_once():
        return await asyncio.gather(*(quality.rate("7400", SHEET, None, None, reader) for _ in range(5)),
                                    return_exceptions=True)

    results = client.blocking_portal.call(all_at_once)
    assert sum(isinstance(r, dict) for r in results) == 1
    assert all(isinstance(r, QualityError) and r.status == 409 for r in results if not isinstance(r, dict))
    assert rows_in(client, "ratings") == 1


def test_anonymous_ratings_have_no_monthly_limit_but_a_brake_per_minute(client, offices, clock):
    from cloud.quality import ANONYMOUS_RATINGS_PER_MINUTE

    for _ in range(ANONYMOUS_RATINGS_PER_MINUTE):
        assert rate(client).status_code == 201
    assert rate(client).status_code == 429
    assert rate(client, office="7471").status_code == 201
    clock.advance(61)
    assert rate(client).status_code == 201


def test_a_rating_of_a_desk_visit_takes_its_office_and_profile_once(client, offices, clock):
    run_db(client, "INSERT INTO visits (id, office_code, gender, age_band, education, occupation, checked_in_at)"
                   " VALUES ({}, {}, {}, {}, {}, {}, {})", "visit-1", "7471", "P", "20-29", "s1", "pelajar", clock.now())
    assert rate(client, office="7400", visit_id="visit-1").status_code == 400  # not that visit's office
    made = client.post("/api/ratings", json={"visit_id": "visit-1", "scores": SHEET})
    assert made.status_code == 201 and made.json()["office"] == "7471"
    row = run_db(client, "SELECT gender, age_band, education, occupation, visit_id FROM ratings")[0]
    assert row == {"gender": "P", "age_band": "20-29", "education": "s1", "occupation": "pelajar", "visit_id": "visit-1"}
    assert client.post("/api/ratings", json={"visit_id": "visit-1", "scores": SHEET}).status_code == 409
    assert client.post("/api/ratings", json={"visit_id": "no-such-visit", "scores": SHEET}).status_code == 404
    bad_sheet = client.post("/api/ratings", json={"visit_id": "no-such-visit", "scores": SHEET | {"U1": 0}})
    assert bad_sheet.status_code == 400 and set(bad_sheet.json()["errors"]) == {"U1"}  # the sheet is checked first
    assert rows_in(client, "ratings") == 1


def test_the_questionnaire_works_without_javascript(client, people):
    as_(client, people["reader"])
    page = client.get("/penilaian")
    assert page.status_code == 200 and "BPS Kota Kendari (7471)" in page.text
    for element in skm.ELEMENTS:
        assert element.question in page.text and element.name in page.text
        assert len(re.findall(rf'type="radio" name="{element.code}" value="[1-4]"', page.text)) == 4
        assert all(word in page.text for word in element.answers)
    form = {"_csrf_token": csrf(page), "office": "7471", **{code: str(v) for code, v in SHEET.items()}}
    partial = client.post("/penilaian", data={**form, "U7": ""})
    assert partial.status_code == 400 and "U7: pilih salah satu jawaban" in partial.text
    assert 'name="U1" value="4" required checked' in partial.text  # what was chosen stays chosen
    assert rows_in(client, "ratings") == 0
    assert client.post("/penilaian", data={k: v for k, v in form.items() if k != "_csrf_token"}).status_code == 403
    done = client.post("/penilaian", data=form | {"comment": "Mantap"}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/penilaian/terima-kasih?kantor=7471"
    assert "Terima kasih" in client.get(done.headers["location"]).text
    row = run_db(client, "SELECT u1, u5, office_code, source, comment, account_id FROM ratings")[0]
    assert (row["u1"], row["u5"], row["office_code"], row["source"], row["comment"]) == (4, 1, "7471", "portal", "Mantap")
    again = client.post("/penilaian", data=form)
    assert again.status_code == 409 and "bulan ini" in again.text


# --- complaints --------------------------------------------------------------------------------------------------------
def test_staff_enter_complaints_of_every_channel_and_the_public_uses_the_website(client, people, clock):
    as_(client, people["staff"])
    for channel in skm.CHANNELS:
        made = complain(client, channel, contact="0812-3456-7890")
        assert made.status_code == 201, made.text
        assert skm.TRACKING.fullmatch(made.json()["tracking"]) and made.json()["tracking"].startswith("ADU-7400-2611-")
        assert made.json()["channel"] == channel and made.json()["entered_by"] == STAFF[1]
    rows = run_db(client, "SELECT channel, origin, entered_by, account_id, status FROM complaints")
    assert sorted(r["channel"] for r in rows) == sorted(skm.CHANNELS)
    assert {(r["origin"], r["status"]) for r in rows} == {("cloud", "diterima")}
    assert all(r["entered_by"] and r["account_id"] is None for r in rows)
    as_(client, None)
    public = complain(client)
    assert public.status_code == 201 and set(public.json()) == {"tracking", "office_code", "status", "received_at"}
    assert rows_in(client, "complaints") == len(skm.CHANNELS) + 1


@pytest.mark.parametrize(
    "who, body, field",
    [
        (None, {"channel": "email"}, "channel"),  # the public complains through the website
        (None, {"channel": "telepon"}, "channel"),
        ("staff", {"channel": "telepon"}, "channel"),
        ("staff", {"channel": None}, "channel"),
        (None, {"text": "panas"}, "text"),
        (None, {"text": ""}, "text"),
        (None, {"text": "x" * (skm.COMPLAINT_TEXT_MAX + 1)}, "text"),
        (None, {"contact": "x" * (skm.CONTACT_MAX + 1)}, "contact"),
        (None, {"office": "9999"}, "office"),
        (None, {"office": None}, "office"),
        (None, {"nama": "Ani"}, "nama"),
    ],
)
def test_a_bad_complaint_is_400_and_nothing_is_stored(client, people, who, body, field):
    as_(client, people.get(who))
    answer = client.post("/api/complaints", json={"office": "7400", "channel": "website", "text": COMPLAINT} | body)
    assert answer.status_code == 400 and field in answer.json()["errors"], answer.text
    assert rows_in(client, "complaints") == 0


def test_the_life_cycle_records_who_and_when_and_the_time_to_resolve(client, people, clock):
    received = clock.now()
    tracking = complain(client, contact="ani@example.id").json()["tracking"]
    as_(client, people["staff"])
    complaint_id = run_db(client, "SELECT id FROM complaints")[0]["id"]
    handle = f"/api/staff/complaints/{complaint_id}"
    assert client.post(f"{handle}/selesai", json={}).status_code == 400  # no response given yet
    clock.advance(hours=1)
    followed = client.post(f"{handle}/ditindaklanjuti", json={})
    assert followed.status_code == 200 and followed.json()["status"] == "ditindaklanjuti"
    assert client.post(f"{handle}/ditindaklanjuti", json={}).status_code == 409
    clock.advance(hours=1)
    answered = client.post(f"{handle}/tanggapan", json={"response": "Teknisi AC dijadwalkan besok pagi."})
    assert answered.status_code == 200 and answered.json()["status"] == "ditindaklanjuti"
    clock.advance(hours=1, minutes=30)
    resolved = client.post(f"{handle}/selesai", json={})  # the response given before is the answer
    assert resolved.status_code == 200 and resolved.json()["resolve_s"] == 12600
    assert client.post(f"{handle}/selesai", json={"response": "lagi"}).status_code == 409
    assert client.post(f"{handle}/tanggapan", json={"response": "lagi"}).status_code == 409
    row = run_db(client, "SELECT * FROM complaints")[0]
    staff_id = run_db(client, "SELECT id FROM accounts WHERE email = {}", STAFF[0])[0]["id"]
    assert row["status"] == "selesai" and row["response"] == "Teknisi AC dijadwalkan besok pagi."
    assert when(row["received_at"]) == received
    assert when(row["followed_up_at"]) == received + timedelta(hours=1) and row["followed_up_by"] == staff_id
    assert when(row["responded_at"]) == received + timedelta(hours=2)
    assert when(row["resolved_at"]) == received + timedelta(hours=3, minutes=30) and row["resolved_by"] == staff_id
    assert when(row["updated_at"]) == when(row["resolved_at"])
    looked_up = client.get(f"/api/complaints/{tracking}").json()
    assert looked_up["status"] == "selesai" and looked_up["response"] == "Teknisi AC dijadwalkan besok pagi."


def test_resolving_straight_away_takes_the_response_with_it(client, people, clock):
    complain(client)
    as_(client, people["staff"])
    complaint_id = run_db(client, "SELECT id FROM complaints")[0]["id"]
    done = client.post(f"/api/staff/complaints/{complaint_id}/selesai", json={"response": "Sudah diperbaiki."})
    assert done.status_code == 200 and done.json()["status"] == "selesai" and done.json()["followed_up_at"] is None
    assert done.json()["responded_at"] == done.json()["resolved_at"]
    assert client.post(f"/api/staff/complaints/{complaint_id}/tutup", json={}).status_code == 404
    assert client.post("/api/staff/complaints/no-such-id/selesai", json={"response": "x"}).status_code == 404


def test_the_lookup_by_tracking_number_tells_the_status_but_not_the_complaint(client, people):
    tracking = complain(client, contact="ani@example.id").json()["tracking"]
    found = client.get(f"/api/complaints/{tracking}")
    assert found.status_code == 200 and found.json()["status"] == "diterima"
    assert found.json()["office_name"] == "BPS Provinsi Sulawesi Tenggara"
    assert not {"text", "contact", "entered_by", "id", "account_id"} & set(found.json())
    assert COMPLAINT not in found.text and "ani@example.id" not in found.text
    typed = tracking.lower().replace("-", " ")
    assert client.get(f"/api/complaints/{typed}").json()["tracking"] == tracking
    assert client.get("/api/complaints/ADU-7400-2611-ZZZZZZ").status_code == 404
    assert client.get("/api/complaints/bukan-nomor").status_code == 404
    page = client.get(f"/pengaduan/lacak?nomor={tracking}")
    assert page.status_code == 200 and "Diterima" in page.text and "Belum ada tanggapan" in page.text
    assert COMPLAINT not in page.text and "ani@example.id" not in page.text
    assert client.get("/pengaduan/lacak?nomor=ADU-7400-2611-ZZZZZZ").status_code == 404


def test_the_complaint_form_works_without_javascript(client, people):
    as_(client, people["reader"])
    page = client.get("/pengaduan?kantor=7471")
    assert page.status_code == 200 and 'value="7471" selected' in page.text
    token = csrf(page)
    short = client.post("/pengaduan", data={"_csrf_token": token, "office": "7471", "text": "panas"})
    assert short.status_code == 400 and "min. 10 karakter" in short.text and rows_in(client, "complaints") == 0
    sent = client.post("/pengaduan", data={"_csrf_token": token, "office": "7471", "text": COMPLAINT},
                       follow_redirects=False)
    assert sent.status_code == 303 and sent.headers["location"].startswith("/pengaduan/lacak?nomor=ADU-7471-2611-")
    shown = client.get(sent.headers["location"])
    row = run_db(client, "SELECT tracking, channel, account_id FROM complaints")[0]
    assert row["tracking"] in shown.text and "sudah diterima" in shown.text
    assert row["channel"] == "website" and row["account_id"]


# --- the staff queue -----------------------------------------------------------------------------------------------------
def test_the_queue_needs_a_staff_session(client, people):
    complaint_id = complain(client) and run_db(client, "SELECT id FROM complaints")[0]["id"]
    for who, page_status, api_status in ((None, 303, 401), ("reader", 403, 403)):
        as_(client, people.get(who))
        page = client.get("/kantor/pengaduan", follow_redirects=False)
        assert page.status_code == page_status
        if who is None:
            assert page.headers["location"] == "/akun/masuk"
        assert client.get("/api/staff/complaints").status_code == api_status
        assert client.post(f"/api/staff/complaints/{complaint_id}/ditindaklanjuti", json={}).status_code == api_status
    assert run_db(client, "SELECT status FROM complaints")[0]["status"] == "diterima"
    as_(client, people["staff"])
    page = client.get("/kantor/pengaduan")
    assert page.status_code == 200 and COMPLAINT in page.text and f"/kantor/pengaduan/{complaint_id}/selesai" in page.text


def test_the_queue_puts_the_oldest_open_first_and_filters(client, people, clock):
    as_(client, people["staff"])
    numbers = {}
    for name, channel, office in (("old", "email", "7400"), ("mid", "whatsapp", "7471"), ("new", "lapor", "7400")):
        numbers[name] = complain(client, channel, office=office, text=f"Pengaduan {name} tentang layanan").json()
        clock.advance(hours=1)
    client.post(f"/api/staff/complaints/{numbers['old']['id']}/selesai", json={"response": "Beres."})
    listed = client.get("/api/staff/complaints").json()["complaints"]
    assert [c["id"] for c in listed] == [numbers["mid"]["id"], numbers["new"]["id"], numbers["old"]["id"]]
    assert listed[0]["open_s"] == 2 * 3600 and listed[2]["resolve_s"] == 3 * 3600
    by = {"status=selesai": ["old"], "office=7471": ["mid"], "channel=lapor": ["new"], "office=7400&status=diterima": ["new"]}
    for query, names in by.items():
        assert [c["id"] for c in client.get(f"/api/staff/complaints?{query}").json()["complaints"]] == [
            numbers[n]["id"] for n in names]
    assert client.get("/api/staff/complaints?status=hilang").status_code == 400
    page = client.get("/kantor/pengaduan?office=7471")
    assert numbers["mid"]["tracking"] in page.text and numbers["new"]["tracking"] not in page.text
    assert "menunggu 2 jam 0 mnt" in page.text
    assert "selesai dalam 3 jam 0 mnt" in client.get("/kantor/pengaduan?status=selesai").text


def test_staff_handle_complaints_through_the_page(client, people, clock):
    as_(client, people["staff"])
    page = client.get("/kantor/pengaduan")
    token = csrf(page)
    entered = client.post("/kantor/pengaduan", data={"_csrf_token": token, "office": "7471", "channel": "kotak_saran",
                                                     "text": "Kertas di kotak saran: minta jam buka sampai sore."},
                          follow_redirects=False)
    assert entered.status_code == 303 and "hasil=dicatat" in entered.headers["location"]
    [row] = run_db(client, "SELECT id, tracking, channel, origin FROM complaints")
    assert (row["channel"], row["origin"]) == ("kotak_saran", "cloud")
    assert f"Pengaduan <strong>{row['tracking']}</strong> dicatat" in client.get(entered.headers["location"]).text
    bad = client.post("/kantor/pengaduan", data={"_csrf_token": token, "office": "7471", "channel": "faks",
                                                 "text": "Isi pengaduan yang cukup panjang"})
    assert bad.status_code == 400 and "saluran tidak sah" in bad.text and rows_in(client, "complaints") == 1
    clock.advance(minutes=45)
    refused = client.post(f"/kantor/pengaduan/{row['id']}/selesai", data={"_csrf_token": token, "response": ""})
    assert refused.status_code == 400 and "Tanggapan wajib diisi" in refused.text
    done = client.post(f"/kantor/pengaduan/{row['id']}/selesai",
                       data={"_csrf_token": token, "response": "Jam buka diperpanjang mulai Senin.", "f_office": "7471"},
                       follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"].startswith("/kantor/pengaduan?office=7471&hasil=selesai")
    shown = client.get(done.headers["location"]).text
    assert "selesai dalam 0 jam 45 mnt" not in shown and "selesai dalam 45 mnt" in shown
    assert f"oleh {STAFF[1]}" in shown and "Jam buka diperpanjang mulai Senin." in shown


def test_complaints_from_a_desk_are_shown_read_only(client, people, clock):
    run_db(client, "INSERT INTO complaints (id, tracking, office_code, origin, channel, text, entered_by, status,"
                   " received_at, updated_at) VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}, {})",
           "edge-1", "ADU-7400-2611-KRTS23", "7400", "edge", "kotak_saran", "Dari loket: antrean terlalu lama.",
           "frontliner-1", "diterima", clock.now(), clock.now())
    as_(client, people["staff"])
    page = client.get("/kantor/pengaduan").text
    assert "Dari loket: antrean terlalu lama." in page and "ditangani di loket" in page
    assert "/kantor/pengaduan/edge-1/" not in page
    for action in ("ditindaklanjuti", "tanggapan", "selesai"):
        refused = client.post(f"/api/staff/complaints/edge-1/{action}", json={"response": "Coba dari portal"})
        assert refused.status_code == 409 and "ditangani di loket" in refused.json()["detail"]
    form = client.post("/kantor/pengaduan/edge-1/selesai", data={"_csrf_token": csrf(client.get("/kantor/pengaduan")),
                                                                  "response": "Coba dari portal"})
    assert form.status_code == 409 and "ditangani di loket" in form.text
    row = run_db(client, "SELECT status, response, resolved_at FROM complaints WHERE id = 'edge-1'")[0]
    assert row == {"status": "diterima", "response": None, "resolved_at": None}
    assert client.get("/api/complaints/ADU-7400-2611-KRTS23").json()["status"] == "diterima"  # the public lookup finds it


def test_script_in_a_complaint_is_stored_as_typed_and_shown_inert(client, people):
    text = '<script>alert("pst")</script> AC mati & ruang baca panas'
    tracking = complain(client, text=text, contact='<img src=x onerror="alert(1)">').json()["tracking"]
    assert run_db(client, "SELECT text FROM complaints")[0]["text"] == text
    as_(client, people["staff"])
    page = client.get("/kantor/pengaduan").text
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(&#34;pst&#34;)&lt;/script&gt; AC mati &amp; ruang baca panas" in page
    complaint_id = run_db(client, "SELECT id FROM complaints")[0]["id"]
    client.post(f"/api/staff/complaints/{complaint_id}/tanggapan", json={"response": "<b>Segera</b> diperbaiki"})
    as_(client, None)
    lookup = client.get(f"/pengaduan/lacak?nomor={tracking}").text
    assert "<b>Segera</b>" not in lookup and "&lt;b&gt;Segera&lt;/b&gt; diperbaiki" in lookup


def test_the_home_page_links_to_the_questionnaire_and_the_complaint_form(client, people):
    home = client.get("/").text
    assert 'href="/penilaian"' in home and 'href="/pengaduan"' in home and "/kantor/pengaduan" not in home
    as_(client, people["staff"])
    assert 'href="/kantor/pengaduan"' in client.get("/").text


def test_times_are_kept_in_utc_and_shown_in_office_time(client, people):
    assert MONDAY_MORNING.astimezone(timezone.utc).hour == 1
    tracking = complain(client).json()["tracking"]
    assert "30 Nov 2026, 09.00 WITA" in client.get(f"/pengaduan/lacak?nomor={tracking}").text
