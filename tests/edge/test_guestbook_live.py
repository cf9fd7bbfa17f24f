"""The visitor's own page follows her ticket over server-sent events, on a real uvicorn server (see
test_display_sse.py for why): her call arrives at once, other visitors' calls never reach her stream."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from tests.edge.test_display_sse import DELIVERY_S, EventStream, base_url, staff  # noqa: F401  (fixtures)

GUEST = {"gender": "P", "occupation": "pelajar", "purposes": ["baca_tercetak"], "id_type": "KTP"}


def checked_in(base_url: str, name: str, email: str) -> str:
    """A number taken and its guestbook sent: her visitor token."""
    with httpx.Client(base_url=base_url, timeout=5, follow_redirects=True) as phone:
        ticket = phone.post("/api/tickets", json={}).json()
        form = phone.get(f"/buku-tamu/{ticket['id']}").text
        token = form.split('name="_csrf_token" value="', 1)[1].split('"', 1)[0]
        sent = phone.post("/buku-tamu", data=GUEST | {"_csrf_token": token, "ticket_id": ticket["id"], "name": name,
                                                      "email": email})
        assert sent.status_code == 200 and "/kunjungan/" in str(sent.url)
        return str(sent.url).rsplit("/", 1)[1]


@pytest.fixture
def stream_of(base_url) -> Iterator:  # noqa: F811
    clients = []

    def open_stream(token: str) -> EventStream:
        client = httpx.Client(base_url=base_url, timeout=httpx.Timeout(5, read=DELIVERY_S + 6))
        clients.append((client, client.stream("GET", f"/api/visitor/{token}/events")))
        return EventStream(clients[-1][1].__enter__())

    yield open_stream
    for client, stream in clients:
        stream.__exit__(None, None, None)
        client.close()


def test_her_call_reaches_her_page_at_once_and_only_hers(base_url, staff, stream_of):  # noqa: F811
    checked_in(base_url, "Wa Ode Nurhaliza", "waode@example.id")
    second = checked_in(base_url, "La Ode Budi", "laode@example.id")
    mine = stream_of(second)
    assert mine.next_event() == ("state", {
        "number": "A002", "status": "waiting", "ahead": 1, "counter": None, "call_count": 0,
        "serve_by": "2026-11-30T09:05:00.000+08:00", "seconds_left": 300, "downloads": 0,
    })

    staff.post("/api/counters/1/call").raise_for_status()  # A001, another visitor: only her place in line moves
    name, state = mine.next_event()
    assert (name, state["status"], state["ahead"]) == ("state", "waiting", 0)
    assert "A001" not in str(state)

    deadline = time.monotonic() + DELIVERY_S
    staff.post("/api/counters/2/call").raise_for_status()
    name, state = mine.next_event()
    assert time.monotonic() <= deadline, "her call arrived later than the board's promise"
    assert (name, state["number"], state["status"], state["counter"], state["call_count"]) == (
        "state", "A002", "called", 2, 1)


def test_a_stream_for_an_unknown_token_is_refused(base_url):  # noqa: F811
    response = httpx.get(f"{base_url}/api/visitor/not-a-real-visitor-token/events", timeout=5)
    assert response.status_code == 404 and response.json()["detail"] == "Halaman antrian tidak ditemukan"
