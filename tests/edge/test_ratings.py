"""SKM ratings on the appliance: one per visit, the kiosk form asks all nine, the API takes partial answers, the
respondent's profile comes from the guestbook, and the IKM report computes as pst.skm does.
"""

import re
import sqlite3

import pytest

from edge.ratings import RatingError, age_band
from edge.users import add_user
from pst import skm

GUEST = {"gender": "P", "age": 22, "education": "s1", "occupation": "pelajar", "purposes": ["baca_tercetak"],
         "id_type": "KTM"}
ALL_FOUR = dict.fromkeys(skm.CODES, 4)


def sign_in(client, app, clock):
    add_user(app.state.appliance.store, clock, "kepala", "admin", "rahasia-kepala-1")
    assert client.post("/api/session", json={"username": "kepala", "password": "rahasia-kepala-1"}).status_code == 200
    return client


@pytest.fixture
def staff(client, app, clock):
    return sign_in(client, app, clock)


def visit(client, name="Wa Ode", **change) -> dict:
    """A guestbook entry's answer: the visit's `id` and the visitor's own key, `token`."""
    ticket = client.post("/api/tickets").json()
    body = GUEST | {"ticket_number": ticket["number"], "name": name, "email": f"{name.split()[0].lower()}@example.id"}
    answer = client.post("/api/visits", json=body | change)
    assert answer.status_code == 201, answer.text
    return answer.json()


def csrf(page: str) -> str:
    return re.search(r'name="_csrf_token" value="([^"]+)"', page).group(1)


def count(app, table="ratings") -> int:
    return app.state.appliance.store.read.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


# --- one rating per visit, over the API ----------------------------------------------------------------------------
def test_a_visit_is_rated_once_and_a_second_rating_is_409(client, app):
    token = visit(client)["token"]
    first = client.post("/api/ratings", json={"token": token, "scores": ALL_FOUR, "comment": "Bagus"})
    assert first.status_code == 201 and first.json()["anonymous"] is False
    second = client.post("/api/ratings", json={"token": token, "scores": dict.fromkeys(skm.CODES, 1)})
    assert second.status_code == 409 and "sudah dinilai" in second.json()["detail"]
    assert count(app) == 1


def test_the_database_refuses_a_second_rating_even_past_the_check(appliance):
    visit_id = appliance.check_in(GUEST | {"name": "Ani", "email": "ani@example.id"}).visit["id"]
    appliance.ratings.submit(visit_id, ALL_FOUR)
    with appliance.store.write() as db, pytest.raises(sqlite3.IntegrityError):
        db.execute("INSERT INTO ratings (id, visit_id, source, rated_at) VALUES ('x', ?, 'api', 'now')", [visit_id])


def test_the_respondent_profile_is_copied_from_the_guestbook_without_the_name(client, app):
    made = visit(client, "Wa Ode Nurhaliza", age=34, occupation="peneliti", gender="P", education="s2")
    client.post("/api/ratings", json={"visit_id": made["id"], "token": made["token"], "scores": ALL_FOUR})
    row = app.state.appliance.store.read.execute(
        "SELECT gender, age_band, education, occupation FROM ratings").fetchone()
    assert row == ("P", "30-39", "s2", "peneliti")
    event = app.state.appliance.store.read.execute(
        "SELECT entity, op, payload FROM outbox WHERE entity = 'rating'").fetchone()
    assert event[:2] == ("rating", "submitted") and '"u4": 4' in event[2] and "Nurhaliza" not in event[2]


@pytest.mark.parametrize("age, band", [(None, None), (10, "<20"), (19, "<20"), (20, "20-29"), (59, "50-59"), (60, "60+")])
def test_age_bands(age, band):
    assert age_band(age) == band


def test_a_walk_up_rating_has_no_visit_and_is_marked_anonymous(client, app):
    answer = client.post("/api/ratings", json={"scores": ALL_FOUR})
    assert answer.status_code == 201 and answer.json() | {"id": None, "rated_at": None} == {
        "id": None, "visit_id": None, "anonymous": True, "scores": ALL_FOUR, "comment": None, "rated_at": None}
    payload = app.state.appliance.store.read.execute("SELECT payload FROM outbox WHERE entity = 'rating'").fetchone()[0]
    assert '"anonymous": true' in payload


def test_the_api_takes_a_partial_answer(client):
    answer = client.post("/api/ratings", json={"scores": {"U3": 2, "U7": 4}})
    assert answer.status_code == 201 and answer.json()["scores"] == {"U3": 2, "U7": 4}


@pytest.mark.parametrize(
    "body, field, status",
    [
        ({"scores": {}}, "scores", 400),
        ({}, "scores", 400),
        ({"scores": [4] * 9}, "scores", 400),
        ({"scores": {"U1": 5}}, "U1", 400),
        ({"scores": {"U1": 0}}, "U1", 400),
        ({"scores": {"U1": True}}, "U1", 400),
        ({"scores": {"U1": 3.5}}, "U1", 400),
        ({"scores": {"U10": 3}}, "U10", 400),
        ({"scores": ALL_FOUR, "comment": "x" * 1001}, "comment", 400),
        ({"scores": ALL_FOUR, "comment": 12}, "comment", 400),
        ({"scores": ALL_FOUR, "rating": 5}, "rating", 400),
        ({"scores": ALL_FOUR, "visit_id": "no-such-visit"}, "token", 403),
        ({"scores": ALL_FOUR, "token": "no-such-visitor-page-key"}, "token", 403),
        ({"scores": ALL_FOUR, "token": 12}, "token", 403),
    ],
)
def test_a_bad_rating_is_refused_and_nothing_is_stored(client, app, body, field, status):
    answer = client.post("/api/ratings", json=body)
    assert answer.status_code == status
    if field:
        assert field in answer.json()["errors"]
    assert count(app) == 0 and "rating" not in str(app.state.appliance.store.read.execute("SELECT entity FROM outbox").fetchall())


def test_the_comment_is_stored_as_typed_and_escaped_where_shown(client, app):
    comment = "Ruang baca <b>dingin</b>\nAC terlalu kencang & bising"
    client.post("/api/ratings", json={"scores": ALL_FOUR, "comment": comment})
    assert app.state.appliance.store.read.execute("SELECT comment FROM ratings").fetchone()[0] == comment


def test_walk_up_ratings_are_braked_after_a_few_a_minute(appliance, clock):
    for _ in range(6):
        appliance.ratings.submit(None, ALL_FOUR)
    with pytest.raises(RatingError) as error:
        appliance.ratings.submit(None, ALL_FOUR)
    assert error.value.status == 429
    clock.advance(61)
    appliance.ratings.submit(None, ALL_FOUR)


# --- the kiosk questionnaire -----------------------------------------------------------------------------------------
def test_the_questionnaire_asks_the_nine_elements_with_the_regulations_answer_words(client):
    page = client.get(f"/penilaian/{visit(client)['token']}")
    assert page.status_code == 200 and 'name="_csrf_token"' in page.text
    for element in skm.ELEMENTS:
        assert element.question in page.text and element.name in page.text
        assert len(re.findall(rf'type="radio" name="{element.code}" value="[1-4]"', page.text)) == 4
    for word in ("Sangat mahal", "Cukup mahal", "Murah", "Gratis", "Dikelola dengan baik", "Sangat sopan dan ramah"):
        assert word in page.text


def test_the_kiosk_form_needs_all_nine_and_keeps_what_was_chosen(client, app):
    token = visit(client)["token"]
    page = client.get(f"/penilaian/{token}").text
    form = {"_csrf_token": csrf(page), **{code: "3" for code in skm.CODES if code != "U4"}, "comment": "Baik"}
    answer = client.post(f"/penilaian/{token}", data=form)
    assert answer.status_code == 400 and 'id="err-U4"' in answer.text
    assert 'name="U1" value="3" required checked' in answer.text and ">Baik</textarea>" in answer.text
    assert count(app) == 0


def test_the_kiosk_form_rates_the_visit_and_then_only_thanks(client, app):
    made = visit(client)
    page = client.get(f"/penilaian/{made['token']}").text
    form = {"_csrf_token": csrf(page), **{code: "4" for code in skm.CODES}}
    done = client.post(f"/penilaian/{made['token']}", data=form)
    assert done.status_code == 200 and str(done.url).endswith("/penilaian/terima-kasih") and "Terima kasih" in done.text
    again = client.get(f"/penilaian/{made['token']}")
    assert "sudah dinilai" in again.text and count(app) == 1
    row = app.state.appliance.store.read.execute("SELECT source, visit_id FROM ratings").fetchone()
    assert row == ("kiosk", made["id"])


def test_the_walk_up_form_makes_an_anonymous_rating(client, app):
    page = client.get("/penilaian").text
    assert 'action="/penilaian"' in page
    client.post("/penilaian", data={"_csrf_token": csrf(page), **{code: "2" for code in skm.CODES}})
    assert app.state.appliance.store.read.execute("SELECT visit_id, u9 FROM ratings").fetchone() == (None, 2)


def test_an_unknown_visit_has_no_questionnaire(client):
    assert client.get("/penilaian/tidak-ada").status_code == 404
    known = visit(client)
    assert client.get(f"/penilaian/{known['id']}").status_code == 404  # a visit's id is not its visitor's key


def test_a_visit_id_learnt_elsewhere_rates_nothing_and_the_visitor_still_can(client, app):
    """A scan started with a ticket number (anyone can type one) no longer tells its visit; and even a visit's id
    is no proof: the rating needs the visitor's own key."""
    made = visit(client)
    scan = client.post("/api/scans", json={"ticket_number": made["ticket_number"]})
    assert scan.status_code == 201
    state = client.get(f"/api/scans/{scan.json()['id']}").json()
    assert made["id"] not in str(state) and "visit_id" not in state
    forged = client.post("/api/ratings", json={"visit_id": made["id"], "scores": dict.fromkeys(skm.CODES, 1)})
    assert forged.status_code == 403 and count(app) == 0
    other = visit(client, "Budi")
    mixed = client.post("/api/ratings", json={"visit_id": made["id"], "token": other["token"], "scores": ALL_FOUR})
    assert mixed.status_code == 403 and count(app) == 0
    assert client.post("/api/ratings", json={"token": made["token"], "scores": ALL_FOUR}).status_code == 201


def test_the_questionnaire_in_english(client):
    client.cookies.set("pst_lang", "en")
    page = client.get("/penilaian").text
    assert "Free" in page and "Requirements" in page and "Gratis" not in page


def test_every_word_of_the_questionnaire_is_in_the_catalogue():
    from edge.routes.quality import SKM_WORDS

    texts = {text for e in skm.ELEMENTS for text in (e.name, e.question, *e.answers)}
    texts |= set(skm.SCALE_WORDS) | {g.performance for g in skm.GRADES}
    assert texts == set(SKM_WORDS)


# --- the IKM report ------------------------------------------------------------------------------------------------
def test_the_ikm_report_matches_a_table_computed_by_hand(staff, clock):
    # Three visitors. Column sums: 4+3+3 = 10 for U1..U8 (NRR 3.3333), U9 4+4+4 = 12 (NRR 4)
    # weighted = (8 × 10/3 + 4) / 9 = 92/27 = 3.40740… → IKM 85.185… → B; U9 strongest, U1 first of the ties
    threes = dict.fromkeys(skm.CODES, 3) | {"U9": 4}
    for name, scores in (("Ani", ALL_FOUR), ("Budi", threes), ("Citra", threes)):
        assert staff.post("/api/ratings", json={"token": visit(staff, name)["token"], "scores": scores}).status_code == 201
    report = staff.get("/api/reports/ikm").json()
    assert report["respondents"] == 3 and report["nrr"]["U1"] == 3.3333 and report["nrr"]["U9"] == 4.0
    assert report["nrr_weighted"] == 3.4074 and report["ikm"] == 85.18 and report["grade"] == "B"
    assert report["weakest_first"][0] == "U1" and report["weakest_first"][-1] == "U9" and report["weight"] == "1/9"


def test_the_report_covers_office_days_and_leaves_the_index_empty_when_an_element_has_no_answer(staff, clock):
    staff.post("/api/ratings", json={"scores": {code: 4 for code in skm.CODES if code != "U8"}})
    clock.advance(days=1)
    staff.post("/api/ratings", json={"scores": ALL_FOUR})
    today = staff.get("/api/reports/ikm").json()
    assert today["respondents"] == 1 and today["ikm"] == 100.0 and today["grade"] == "A"
    both = staff.get("/api/reports/ikm", params={"from": "2026-11-30", "to": "2026-12-01"}).json()
    assert both["respondents"] == 2 and both["answers"]["U8"] == 1 and both["ikm"] == 100.0
    monday = staff.get("/api/reports/ikm", params={"from": "2026-11-30", "to": "2026-11-30"}).json()
    assert monday["nrr"]["U8"] is None and monday["ikm"] is None and monday["grade"] is None and monday["missing"] == ["U8"]


def test_the_ikm_report_is_for_staff_and_checks_its_dates(client, staff):
    staff.delete("/api/session")
    assert client.get("/api/reports/ikm").status_code == 401
    client.post("/api/session", json={"username": "kepala", "password": "rahasia-kepala-1"})
    bad = client.get("/api/reports/ikm", params={"from": "2026-12-02", "to": "2026-12-01"})
    assert bad.status_code == 400 and "from" in bad.json()["errors"]


def test_the_ikm_page_shows_the_table_weakest_first(staff):
    staff.post("/api/ratings", json={"scores": dict.fromkeys(skm.CODES, 4) | {"U3": 2}})
    page = staff.get("/petugas/ikm").text
    assert page.index("U3 · Waktu penyelesaian") < page.index("U1 · Persyaratan")
    assert "1/9" in page and "<strong>94,44</strong>" in page and "<strong>A</strong>" in page
