"""Display boards receive calls over server-sent events from the appliance on a real uvicorn server.

Litestar's TestClient buffers whole responses, so an endless event stream is read here from a real server in a
thread, with httpx. Every read is bounded by the client's read timeout: a call that never arrives fails the test
instead of hanging the suite.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack

import httpx
import pytest
import uvicorn

from edge.app import create_app
from edge.users import add_user

DELIVERY_S = 2.0  # a call shows on every board within this, measured from the moment staff press "call"
DISPLAYS = 3


class EventStream:
    """One display board's connection to `/api/display/events`, parsed into (event, data) pairs."""

    def __init__(self, response: httpx.Response):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        self._lines = response.iter_lines()

    def next_event(self) -> tuple[str, dict]:
        """The next event; comments (keep-alive pings) and the retry field are skipped."""
        name, data = "message", []
        for line in self._lines:  # each read waits at most the client's read timeout
            if not line:
                if data:
                    return name, json.loads("\n".join(data))
                continue
            field, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if field == "event":
                name = value
            elif field == "data":
                data.append(value)
        raise AssertionError("the event stream ended")


@pytest.fixture
def base_url(settings, clock) -> Iterator[str]:
    """The appliance on a real uvicorn server in a thread, with one frontliner account."""
    app = create_app(settings, clock=clock)
    server = uvicorn.Server(uvicorn.Config(
        app, host="127.0.0.1", port=0, log_config=None, log_level="warning", access_log=False, ws="none",
        lifespan="on", timeout_graceful_shutdown=3,
    ))
    thread = threading.Thread(target=server.run, name="uvicorn")
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        assert server.started, "the appliance's server did not start"
        add_user(app.state.appliance.store, clock, "wa_ode", "frontliner", "rahasia-loket-1")
        yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
    assert not thread.is_alive(), "the appliance's server did not stop"


@pytest.fixture
def staff(base_url) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=5) as client:
        signed_in = client.post("/api/session", json={"username": "wa_ode", "password": "rahasia-loket-1"})
        assert signed_in.status_code == 200
        yield client


@pytest.fixture
def waiting_ticket(base_url) -> dict:
    response = httpx.post(f"{base_url}/api/tickets", json={}, timeout=5)
    assert response.status_code == 201
    return response.json()


@pytest.fixture
def displays(base_url, waiting_ticket) -> Iterator[list[EventStream]]:
    """Display boards connected (and past their first `board` event) before anyone is called."""
    with ExitStack() as stack:
        boards = []
        for _ in range(DISPLAYS):
            client = stack.enter_context(httpx.Client(base_url=base_url, timeout=httpx.Timeout(5, read=DELIVERY_S)))
            boards.append(EventStream(stack.enter_context(client.stream("GET", "/api/display/events"))))
        for board in boards:
            assert board.next_event() == ("board", {"current": None, "recent": [], "waiting": 1})
        yield boards


def next_call(display: EventStream, deadline: float) -> dict:
    name, data = display.next_event()
    assert name == "call", f"expected a call, got {name}: {data}"
    assert time.monotonic() <= deadline, "the call arrived later than the display's promise"
    return data


def test_every_connected_display_receives_the_call_with_number_and_counter(staff, displays, waiting_ticket):
    deadline = time.monotonic() + DELIVERY_S
    called = staff.post("/api/counters/1/call")
    assert called.status_code == 200 and called.json()["number"] == waiting_ticket["number"]

    calls = [next_call(display, deadline) for display in displays]

    assert [(c["number"], c["counter"], c["repeat"], c["id"]) for c in calls] == [
        (waiting_ticket["number"], 1, False, waiting_ticket["id"])
    ] * DISPLAYS


def test_a_recall_reaches_every_display_as_a_repeated_call(staff, displays, waiting_ticket):
    staff.post("/api/counters/2/call").raise_for_status()
    first = [next_call(display, time.monotonic() + DELIVERY_S) for display in displays]

    deadline = time.monotonic() + DELIVERY_S
    recalled = staff.post(f"/api/tickets/{waiting_ticket['id']}/recall")
    assert recalled.status_code == 200
    again = [next_call(display, deadline) for display in displays]

    assert {(c["id"], c["number"], c["counter"], c["repeat"]) for c in first} == {
        (waiting_ticket["id"], waiting_ticket["number"], 2, False)
    }
    assert {(c["id"], c["number"], c["counter"], c["repeat"]) for c in again} == {
        (waiting_ticket["id"], waiting_ticket["number"], 2, True)
    }


def test_a_display_connecting_after_a_call_is_shown_it_at_once(base_url, staff, waiting_ticket):
    staff.post("/api/counters/1/call").raise_for_status()
    with httpx.Client(base_url=base_url, timeout=httpx.Timeout(5, read=DELIVERY_S)) as client:
        with client.stream("GET", "/api/display/events") as response:
            name, board = EventStream(response).next_event()
    assert name == "board"
    current = board["current"]
    assert (current["number"], current["counter"], board["waiting"]) == (waiting_ticket["number"], 1, 0)


def test_a_call_with_nobody_waiting_sends_nothing_to_the_displays(base_url, staff, displays, waiting_ticket):
    staff.post("/api/counters/1/call").raise_for_status()
    deadline = time.monotonic() + DELIVERY_S
    assert {next_call(display, deadline)["number"] for display in displays} == {waiting_ticket["number"]}
    assert staff.post("/api/counters/1/call").status_code == 204

    httpx.post(f"{base_url}/api/tickets", json={}, timeout=5).raise_for_status()
    deadline = time.monotonic() + DELIVERY_S
    staff.post("/api/counters/1/call").raise_for_status()

    # the event after A001's call is A002's: the empty call sent nothing in between
    assert {next_call(display, deadline)["number"] for display in displays} == {"A002"}
