"""Staff sessions on the appliance: stored only when there is something to keep, under an id the appliance made and
a new one at every sign-in (form and JSON), dropped at sign-out, expired ones purged."""

from __future__ import annotations

import asyncio
import re

from edge.users import add_user

PASSWORD = "rahasia-loket-1"


def session_files(app) -> list:
    folder = app.state.appliance.settings.data_dir / "sessions"
    return sorted(path for path in folder.iterdir() if path.is_file()) if folder.exists() else []


def given(answer) -> str | None:
    """The session id an answer sets."""
    found = re.search(r"pst_session=([^;]*)", answer.headers.get("set-cookie", ""))
    return found.group(1) if found else None


def browser(client, session_id: str):
    client.cookies.clear()
    client.cookies.set("pst_session", session_id)
    return client


def staff_page(client) -> int:
    """200 for a signed-in browser, a redirect to the sign-in page otherwise."""
    return client.get("/petugas", follow_redirects=False).status_code


def staff(app, clock, name="dewi") -> None:
    add_user(app.state.appliance.store, clock, name, "frontliner", PASSWORD)


def test_requests_without_a_session_store_nothing_and_set_no_cookie(client, app):
    for _ in range(50):
        answer = client.get("/api/queue")
        assert answer.status_code == 200 and "pst_session" not in answer.headers.get("set-cookie", "")
    for path in ("/", "/buku-tamu", "/layar", "/petugas/masuk", "/healthz"):
        assert client.get(path).status_code == 200
    client.cookies.set("pst_session", "dipilih-oleh-penyerang")
    answer = client.get("/api/queue")  # an id the appliance never made: forgotten, not kept
    assert "pst_session=null" in answer.headers.get("set-cookie", "")
    assert session_files(app) == []


def test_every_sign_in_gets_a_new_id_and_a_planted_one_is_never_a_staff_session(client, app, clock):
    staff(app, clock)
    planted = "a" * 64
    signed_in = browser(client, planted).post("/api/session", json={"username": "dewi", "password": PASSWORD})
    first = given(signed_in)
    assert signed_in.status_code == 200 and first and first != planted and len(session_files(app)) == 1
    assert staff_page(browser(client, planted)) == 303  # the planted id opens nothing

    browser(client, first)
    page = client.get("/petugas/masuk")  # signing in again through the form: another new id, the old one gone
    csrf = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
    form = {"username": "dewi", "password": PASSWORD} | ({"_csrf_token": csrf.group(1)} if csrf else {})
    again = client.post("/petugas/masuk", data=form, follow_redirects=False)
    second = given(again)
    assert again.status_code == 303 and second not in (None, first, planted) and len(session_files(app)) == 1
    assert staff_page(browser(client, first)) == 303
    assert staff_page(browser(client, second)) == 200

    assert client.delete("/api/session").status_code == 204  # signing out deletes the session
    assert session_files(app) == [] and staff_page(client) == 303


def test_a_cross_site_link_leaves_the_staff_session_alone(client, app, clock):
    """A link from another site arrives without the Strict cookie: the answer sets none, so the browser keeps the
    staff's (it used to get a new anonymous one in its place, and staff were signed out)."""
    staff(app, clock)
    session = given(client.post("/api/session", json={"username": "dewi", "password": PASSWORD}))
    client.cookies.clear()
    for path in ("/petugas", "/", "/api/queue"):
        assert given(client.get(path, follow_redirects=False)) is None, path
    assert staff_page(browser(client, session)) == 200


def test_expired_sessions_are_purged(client, app, clock):
    from edge.sessions import purge

    staff(app, clock)
    assert client.post("/api/session", json={"username": "dewi", "password": PASSWORD}).status_code == 200
    store = app.stores.get("sessions")
    client.blocking_portal.call(store.set, "lama", b"{}", 1)  # a session that expired long ago
    assert len(session_files(app)) == 2

    async def expire_and_purge() -> None:
        await asyncio.sleep(1.2)  # past the old session's second
        stop = asyncio.Event()
        task = asyncio.create_task(purge(store, stop, every=60))  # its first pass at once
        await asyncio.sleep(0.2)
        stop.set()
        await task

    client.blocking_portal.call(expire_and_purge)
    assert len(session_files(app)) == 1 and staff_page(client) == 200
