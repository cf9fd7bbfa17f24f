"""Inputs that once ended in a 500, each on the exact request that did: numbers past SQL's BIGINT, JSON nested
100,000 deep, paths the file system cannot look up. Each is now a 4xx in the contract's shape and stores nothing."""

from __future__ import annotations

import gzip
import json

import pytest

from pst.bodies import MAX_DEPTH, has_nul, too_deep
from pst.ids import new_id
from tests.cloud.conftest import rows_in
from tests.sync.conftest import enrol

BIGINT_MAX = 2**63 - 1
DEEP = b"[" * 100_000 + b"]" * 100_000
DEEP_OBJECT = b'{"a":' * 100_000 + b"1" + b"}" * 100_000
JSON = {"Content-Type": "application/json"}


def refused(answer, status: int = 400) -> dict:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert set(body) >= {"detail", "errors"} and isinstance(body["errors"], dict), body
    return body


# --- the depth check itself ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "deep"), [
    (b"[" * MAX_DEPTH + b"]" * MAX_DEPTH, False),
    (b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1), True),
    (b'{"a":' * (MAX_DEPTH + 1) + b"1" + b"}" * (MAX_DEPTH + 1), True),
    (b"[" * 100_000, True),  # never closed: the parser would still recurse before it noticed
    (b'["' + b"[" * 100 + b'"]', False),  # brackets inside a string are text
    (b'["\\"' + b"{" * 100 + b'"]', False),  # an escaped quote does not end the string
    (b'[{"a": [1, 2, {"b": "]]]]"}]}' + b", []" * 1000 + b"]", False),  # many brackets, shallow
])
def test_nesting_deeper_than_the_limit_is_found_without_parsing(text, deep):
    assert too_deep(text) is deep


def test_a_nul_character_is_found_in_keys_and_nested_text():
    assert has_nul({"a": [{"b": "x\x00"}]}) and has_nul({"k\x00": 1})
    assert not has_nul({"a": ["\\u0000", 1, None, {"b": True}]})


# --- the appliance ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/static/%00", "/static/pst.css%00.txt", "/static/" + "a" * 300 + ".css"])
def test_a_static_path_the_file_system_cannot_look_up_is_not_found(client, path):
    refused(client.get(path), 404)
    assert client.get("/static/pst.css").status_code == 200


@pytest.mark.parametrize(("path", "table"), [("/api/visits", "visits"), ("/api/ratings", "ratings")])
@pytest.mark.parametrize("body", [DEEP, DEEP_OBJECT], ids=["arrays", "objects"])
def test_deeply_nested_json_to_the_kiosk_is_refused_before_parsing(client, app, path, table, body):
    answer = refused(client.post(path, content=body, headers=JSON))
    assert "dalam" in answer["detail"]
    assert app.state.appliance.store.read.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0


def test_a_nul_character_in_kiosk_text_is_refused_before_it_reaches_the_outbox(client, app):
    visit = {"name": "Siti\u0000Rahma", "gender": "P", "occupation": "asn", "email": "siti@example.id",
             "purposes": ["baca_tercetak"], "id_type": "KTP"}
    assert "NUL" in refused(client.post("/api/visits", json=visit))["detail"]
    assert app.state.appliance.store.read.execute("SELECT count(*) FROM outbox").fetchone()[0] == 0


def test_a_body_larger_than_any_kiosk_request_is_refused(client):
    refused(client.post("/api/ratings", content=b'{"comment": "' + b"a" * 2**21 + b'"}', headers=JSON), 413)


# --- the portal, on SQLite and PostgreSQL ----------------------------------------------------------------------------
def test_deeply_nested_json_to_the_portal_is_refused_before_parsing(portal):
    refused(portal.post("/api/accounts", content=DEEP, headers=JSON))
    refused(portal.post("/api/accounts", content=DEEP_OBJECT, headers=JSON))
    assert rows_in(portal, "accounts") == 0


def test_a_nul_character_in_portal_text_is_refused(portal):
    answer = portal.post("/api/accounts", json={"email": "nul@example.id", "name": "Nama\u0000", "password": "x" * 20})
    assert "NUL" in refused(answer)["detail"]
    assert rows_in(portal, "accounts") == 0


@pytest.mark.parametrize("path", ["/static/%00", "/static/pst.css%00.txt"])
def test_a_path_with_a_nul_byte_is_not_found_on_the_portal(portal, path):
    refused(portal.get(path), 404)


@pytest.fixture
def device(portal, tmp_path) -> dict[str, str]:
    return {"Authorization": f"Bearer {enrol(portal, tmp_path / 'edge').credential}"}


def test_a_downlink_cursor_past_bigint_is_refused(portal, device):
    refused(portal.get("/sync/v1/state?after=9223372036854775808", headers=device))
    refused(portal.get(f"/sync/v1/state?epoch={new_id()}&after=9223372036854775808", headers=device))
    answer = portal.get("/sync/v1/state", params={"epoch": new_id(), "after": BIGINT_MAX}, headers=device)
    assert answer.status_code == 200, answer.text  # the largest BIGINT is still a cursor


def _batch(seq: int, epoch_start: int = 1) -> dict:
    return {"epoch": new_id(), "epoch_start": epoch_start, "events": [{
        "event_id": new_id(), "seq": seq, "entity": "ticket", "entity_id": new_id(), "op": "issued",
        "payload": {"number": "A001"}, "created_at": "2026-11-30T01:00:00+00:00",
    }]}


@pytest.mark.parametrize(("seq", "epoch_start"), [(2**63, 1), (1, 2**63), (2**64 + 1, 2**64)],
                         ids=["sequence", "epoch-start", "both"])
def test_a_batch_numbered_past_bigint_is_refused_and_nothing_is_stored(portal, device, seq, epoch_start):
    body = gzip.compress(json.dumps(_batch(seq, epoch_start)).encode())
    refused(portal.post("/sync/v1/events", content=body, headers={**device, **JSON, "Content-Encoding": "gzip"}))
    assert rows_in(portal, "sync_events") == 0 and rows_in(portal, "sync_cursors") == 0


@pytest.mark.parametrize("gzipped", [False, True], ids=["plain", "gzip"])
def test_a_deeply_nested_batch_is_refused_before_parsing(portal, device, gzipped):
    headers = {**device, **JSON, **({"Content-Encoding": "gzip"} if gzipped else {})}
    refused(portal.post("/sync/v1/events", content=gzip.compress(DEEP) if gzipped else DEEP, headers=headers))
    assert rows_in(portal, "sync_events") == 0


def test_a_payload_number_past_bigint_does_not_end_the_batch_in_a_server_error(portal, device):
    batch = _batch(1)
    batch["events"][0].update(entity="visit", op="checked_in", payload={"id": new_id(), "age": 2**64, "wait_s": 2**70})
    answer = portal.post("/sync/v1/events", json=batch, headers=device)
    assert answer.status_code == 200, answer.text
    assert answer.json()["last_seq"] == 1  # applied or set aside, the cursor moves past it


def test_an_epoch_with_a_nul_byte_is_refused(portal, device):
    """PostgreSQL's text cannot hold NUL: found by the schema fuzz on `GET /sync/v1/state`."""
    refused(portal.get("/sync/v1/state?epoch=%5E%C3%93%C3%97A2%00%11%C2%97%C2%8F&after=2187847&mark=%C3%9F",
                       headers=device))
    batch = _batch(1)
    batch["epoch"] = "a\x00b"
    refused(portal.post("/sync/v1/events", json=batch, headers=device))


@pytest.mark.parametrize("field", ["event_id", "entity", "entity_id", "op"])
def test_an_event_with_a_nul_byte_in_its_identity_is_refused(portal, device, field):
    batch = _batch(1)
    batch["events"][0][field] = "x\x00y"
    refused(portal.post("/sync/v1/events", json=batch, headers=device))
    assert rows_in(portal, "sync_events") == 0


def test_a_nul_byte_inside_a_payload_does_not_end_the_batch_in_a_server_error(portal, device):
    batch = _batch(1)
    batch["events"][0].update(entity="visit", op="checked_in", payload={
        "id": batch["events"][0]["entity_id"], "institution": "Dinas\x00Kesehatan", "purposes": ["baca\x00"],
        "checked_in_at": "2026-11-30T01:00:00+00:00",
    })
    answer = portal.post("/sync/v1/events", json=batch, headers=device)
    assert answer.status_code == 200, answer.text
    assert answer.json()["last_seq"] == 1  # applied or set aside, the cursor moves past it


def test_a_password_longer_than_the_strength_estimator_takes_is_judged_not_a_server_error(portal):
    """zxcvbn raises on more than 72 characters: found by the schema fuzz on `POST /api/accounts`."""
    answer = portal.post("/api/accounts", json={"email": "panjang@example.id", "name": "Sandi Panjang",
                                                "password": "kopi toraja di pagi hari " * 5})
    assert answer.status_code == 201, answer.text
    refused(portal.post("/api/accounts", json={"email": "lemah@example.id", "name": "Sandi Lemah",
                                               "password": "0" * 300}))


@pytest.mark.parametrize(("field", "width"), [("event_id", 36), ("entity", 24), ("entity_id", 64), ("op", 24),
                                              ("created_at", 40), ("hlc", 64), ("clock_flag", 40),
                                              ("corrected_at", 40)])
def test_an_event_wider_than_the_cloud_s_columns_is_refused_and_nothing_is_stored(portal, device, field, width):
    """SQLite would store a 100,000-character `event_id` in a 36-character column; the protocol's widths are those
    of the columns."""
    for too_wide in ("x" * (width + 1), "x" * 100_000):
        batch = _batch(1)
        batch["events"][0][field] = too_wide
        answer = portal.post("/sync/v1/events", json=batch, headers=device)
        assert answer.status_code == 400 and field in answer.json()["errors"]["body"], answer.text
    assert rows_in(portal, "sync_events") == 0 and rows_in(portal, "sync_cursors") == 0


def test_a_batch_of_more_events_than_the_protocol_allows_is_refused_and_nothing_is_stored(portal, device):
    batch = _batch(1)
    event = batch["events"][0]
    batch["events"] = [event | {"event_id": new_id(), "entity_id": new_id(), "seq": seq} for seq in range(1, 1_502)]
    for body in (json.dumps(batch).encode(), gzip.compress(json.dumps(batch).encode())):
        headers = {**device, **JSON, **({"Content-Encoding": "gzip"} if body[:2] == b"\x1f\x8b" else {})}
        answer = portal.post("/sync/v1/events", content=body, headers=headers)
        assert answer.status_code == 400 and "1000" in answer.json()["errors"]["body"], answer.text
    batch["events"] = batch["events"][:1000]  # the most a batch may carry
    assert portal.post("/sync/v1/events", json=batch, headers=device).status_code == 200
    assert rows_in(portal, "sync_events") == 1000
