"""The portal's HTTP API fuzzed from its own OpenAPI document: anonymous, as staff, as a reader, and as an enrolled
appliance on /sync/v1. On SQLite in `make test`; on PostgreSQL too in `make soak`."""

from __future__ import annotations

import json

import pytest

from tests.cloud.conftest import add_reader, sign_in
from tests.faults.soak import SOAK
from tests.fuzz.campaign import ERROR_BODY, fuzz, load, load_document, report
from tests.sync.conftest import enrol

SIGN_OUT = ("DELETE /api/session", "POST /akun/keluar")
ENGINES = ["sqlite", "postgresql"] if SOAK else ["sqlite"]


@pytest.fixture(params=ENGINES)
def database(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'cloud.db'}"
    return request.getfixturevalue("postgres_cluster").new_database()


def engine(portal) -> str:
    return portal.app.state.db.kind


def signed_in(portal) -> bool:
    return portal.get("/api/session").status_code == 200


@pytest.mark.soak
def test_no_input_ends_in_a_server_error_for_an_anonymous_visitor(portal):
    tally = fuzz(portal, load(portal), f"cloud anonymous ({engine(portal)})")
    assert tally.server_errors == 0 and not tally.failures, report(tally)
    assert tally.cases > 100


@pytest.mark.soak
def test_no_input_ends_in_a_server_error_for_staff(portal):
    sign_in(portal, "petugas@bps.go.id", "Petugas PST", "staff")  # the session cookie stays in the client
    tally = fuzz(portal, load(portal), f"cloud staff ({engine(portal)})", skip=SIGN_OUT)
    assert tally.server_errors == 0 and not tally.failures, report(tally)
    assert signed_in(portal)


@pytest.mark.soak
def test_no_input_ends_in_a_server_error_for_a_reader(portal):
    add_reader(portal, "pembaca@example.id", "Pembaca Setia")
    tally = fuzz(portal, load(portal), f"cloud reader ({engine(portal)})", skip=SIGN_OUT)
    assert tally.server_errors == 0 and not tally.failures, report(tally)
    assert signed_in(portal)


@pytest.mark.soak
def test_no_input_ends_in_a_server_error_for_an_enrolled_appliance(portal, tmp_path):
    enrolment = enrol(portal, tmp_path / "edge")
    credential = {"Authorization": f"Bearer {enrolment.credential}"}
    tally = fuzz(portal, load(portal), f"cloud device ({engine(portal)})", headers=credential, only="/sync/v1")
    assert tally.server_errors == 0 and not tally.failures, report(tally)
    epoch = "0" * 36
    assert portal.get("/sync/v1/state", params={"epoch": epoch}, headers=credential).status_code == 200


def test_every_operation_documents_its_4xx_as_the_error_body_and_the_json_bodies(portal):
    schema = load_document(portal)
    assert schema["components"]["schemas"]["ErrorBody"]["required"] == ["detail", "errors"]
    for item in schema["paths"].values():
        for operation in item.values():
            assert operation["responses"]["4XX"]["content"]["application/json"]["schema"] == ERROR_BODY
    for path in ("/api/accounts", "/api/session", "/api/ratings", "/sync/v1/enroll", "/sync/v1/events"):
        assert "application/json" in schema["paths"][path]["post"]["requestBody"]["content"], path
    state = {p["name"]: p for p in schema["paths"]["/sync/v1/state"]["get"]["parameters"]}
    assert state["after"]["schema"]["maximum"] == 2**63 - 1 and state["epoch"]["required"]


def test_the_documents_say_where_a_form_goes_and_what_a_file_is(portal):
    paths = load_document(portal)["paths"]
    added = paths["/kantor/katalog/baru"]["post"]["responses"]
    assert "201" not in added and added["303"]["headers"]["Location"]["required"]
    assert "not signed in" in added["303"]["description"]  # the back office's own redirect too
    assert set(added["4XX"]["content"]) == {"application/json", "text/html"}
    copy = paths["/api/requests/{request_id}/softcopy"]["get"]["responses"]["200"]["content"]
    assert set(copy) == {"application/pdf", "text/csv",
                         "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def test_a_portal_made_again_documents_the_same(portal, cloud_settings, clock):
    from cloud.app import create_app

    first = load_document(portal)  # its handlers are module-level: a second app must not document them twice
    again = create_app(cloud_settings, clock=clock).openapi_schema.to_schema()
    assert json.loads(json.dumps(again)) == first
