"""The appliance's HTTP API fuzzed from its own OpenAPI document: anonymous, and as a signed-in staff member."""

from __future__ import annotations

import json

import pytest
from litestar.testing import TestClient

from edge.users import add_user
from tests.fuzz.campaign import ERROR_BODY, fuzz, load, load_document, report

PASSWORD = "kopi-toraja-2026"
# Ending the run's own login would leave the rest of the staff run anonymous; these are fuzzed anonymously.
SIGN_OUT = ("DELETE /api/session", "POST /petugas/keluar")
# The display board's event stream never ends, and the TestClient buffers whole answers (tests/edge/test_display_sse.py
# reads it from a real server).
ENDLESS = ("GET /api/display/events",)


@pytest.fixture
def edge(app):
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.mark.soak
def test_no_input_ends_in_a_server_error_for_an_anonymous_visitor(edge):
    tally = fuzz(edge, load(edge), "edge anonymous", skip=ENDLESS)
    assert tally.server_errors == 0 and not tally.failures, report(tally)
    assert tally.cases > 100


@pytest.mark.soak
def test_no_input_ends_in_a_server_error_for_signed_in_staff(edge, app, clock):
    add_user(app.state.appliance.store, clock, "petugas", "admin", PASSWORD)
    signed_in = edge.post("/api/session", json={"username": "petugas", "password": PASSWORD})
    assert signed_in.status_code == 200, signed_in.text
    tally = fuzz(edge, load(edge), "edge staff", skip=SIGN_OUT + ENDLESS)
    assert tally.server_errors == 0 and not tally.failures, report(tally)
    assert edge.get("/api/console").status_code == 200  # still signed in: the run was a staff run throughout


def test_every_operation_documents_its_4xx_as_the_error_body_and_the_kiosk_bodies(edge):
    schema = load_document(edge)
    assert schema["components"]["schemas"]["ErrorBody"]["required"] == ["detail", "errors"]
    for item in schema["paths"].values():
        for operation in item.values():
            assert operation["responses"]["4XX"]["content"]["application/json"]["schema"] == ERROR_BODY
    for path in ("/api/visits", "/api/ratings", "/api/session"):
        assert "application/json" in schema["paths"][path]["post"]["requestBody"]["content"], path


def test_a_staff_page_documents_the_sign_in_and_the_refusal_its_guard_answers(edge):
    paths = load_document(edge)["paths"]
    desk, audit = paths["/petugas/loket"]["post"]["responses"], paths["/petugas/audit"]["get"]["responses"]
    assert "201" not in desk and desk["303"]["headers"]["Location"]["required"]
    assert set(desk["4XX"]["content"]) == {"application/json"}  # every role holds the desk: none is refused
    assert set(audit["4XX"]["content"]) == {"application/json", "text/html"} and "303" in audit


def test_an_appliance_made_again_documents_the_same(edge, settings, clock):
    from edge.app import create_app

    first = load_document(edge)  # its handlers are module-level: a second app must not document them twice
    again = create_app(settings, clock=clock).openapi_schema.to_schema()
    assert json.loads(json.dumps(again)) == first
