"""What a visitor types never becomes a formula in the office head's spreadsheets: hostile institutions go in through
the appliance's guestbook (and, for the portal, through the sync), and every CSV and XLSX export on both sides is
downloaded over HTTP and opened as a spreadsheet program would."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from edge import outbox
from edge.users import add_user
from pst.clock import iso
from pst.ids import new_id
from pst.spreadsheet import FORMULA_STARTS, cell, text_cell
from tests.cloud.conftest import as_, cloud_env, cloud_settings, database, mailbox, postgres_cluster, sign_in  # noqa: F401
from tests.conftest import MONDAY_MORNING
from tests.sync.conftest import cloud, enrol, make_agent, run  # noqa: F401

HOSTILE = ["=1+2+cmd|' /C calc'!A0", "+1+2+cmd|' /C calc'!A0", "-1+2", "@SUM(1+1)*cmd|' /C calc'!A0",
           "\t=1+2 tab", "\r=1+2 cr"]
GUEST = {"name": "Wa Ode Nurhayati", "gender": "P", "occupation": "peneliti", "education": "s2",
         "purposes": ["baca_tercetak"], "id_type": "KTP"}
MONDAY = {"from": "2026-11-30", "to": "2026-11-30"}


def as_typed(text: str) -> str:
    """A hostile text as the report shows it: one line, single spaces (the guestbook tidies what is typed)."""
    return " ".join(text.split())


@pytest.mark.parametrize("value, written", [
    ("=1+2", "'=1+2"), ("+62 812", "'+62 812"), ("-1", "'-1"), ("@SUM(A1)", "'@SUM(A1)"), ("\t=1", "'\t=1"),
    ("\r=1", "'\r=1"), ("Universitas Halu Oleo", "Universitas Halu Oleo"), ("a=b", "a=b"), ("", ""),
    (-3, -3), (2.5, 2.5), (0, 0), (None, None),
])
def test_a_text_that_would_be_a_formula_gets_a_quote_and_numbers_stay_numbers(value, written):
    assert cell(value) == written
    assert type(cell(value)) is type(written)


def test_a_quote_is_added_once_and_only_in_front():
    assert text_cell("'=1") == "'=1" and text_cell(text_cell("=1")) == "'=1"


def cells_of_csv(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def assert_no_formula(book) -> list:
    """Every cell of every sheet: none a formula, no text that a spreadsheet would evaluate. The cells, for more."""
    cells = [c for ws in book.worksheets for row in ws.iter_rows() for c in row if c.value is not None]
    assert cells
    for c in cells:
        assert c.data_type != "f", (c.coordinate, c.value)
        if isinstance(c.value, str):
            assert c.data_type == "s" and not c.value.startswith(FORMULA_STARTS), (c.coordinate, c.value)
    return cells


def assert_csv_neutral(rows: list[list[str]]) -> None:
    assert rows[0] == ["bagian", "kunci", "label", "nilai"]
    for row in rows:
        assert not any(text.startswith(FORMULA_STARTS) for text in row), row


@pytest.fixture
def desk(client, app, clock):
    """The appliance's guestbook with one visit per hostile institution, and the office head signed in."""
    add_user(app.state.appliance.store, clock, "kepala", "admin", "rahasia-kepala-1")
    assert client.post("/api/session", json={"username": "kepala", "password": "rahasia-kepala-1"}).status_code == 200
    for number, institution in enumerate(HOSTILE):
        answer = client.post("/api/visits", json=GUEST | {"email": f"tamu{number}@example.id", "institution": institution})
        assert answer.status_code == 201, answer.text
    return client


def test_the_appliance_exports_write_hostile_institutions_as_text(desk):
    rows = cells_of_csv(desk.get("/petugas/laporan/csv", params=MONDAY).content)
    assert_csv_neutral(rows)
    labels = {row[2] for row in rows if row[0] == "instansi"}
    assert {text_cell(as_typed(h)) for h in HOSTILE} <= labels
    assert ["ringkasan", "kunjungan", "Kunjungan", str(len(HOSTILE))] in rows

    book = load_workbook(io.BytesIO(desk.get("/petugas/laporan/xlsx", params=MONDAY).content))
    assert_no_formula(book)
    sheet = book["Instansi"]
    shown = {row[0]: row[1] for row in sheet.iter_rows(min_row=5, values_only=True) if row[0]}
    assert {text_cell(as_typed(h)) for h in HOSTILE} <= set(shown)
    assert all(isinstance(count, int) and count == 1 for name, count in shown.items() if name.startswith("'"))


def test_control_characters_typed_by_a_visitor_do_not_break_the_xlsx(client, app, clock):
    """openpyxl refuses the C0 control characters in a cell; a visitor's text holding one still exports."""
    add_user(app.state.appliance.store, clock, "kepala", "admin", "rahasia-kepala-1")
    assert client.post("/api/session", json={"username": "kepala", "password": "rahasia-kepala-1"}).status_code == 200
    answer = client.post("/api/visits", json=GUEST | {"email": "tamu@example.id", "institution": "Dinas\x07 PU\x1b"})
    assert answer.status_code == 201, answer.text
    exported = client.get("/petugas/laporan/xlsx", params=MONDAY)
    assert exported.status_code == 200
    shown = {row[0] for row in load_workbook(io.BytesIO(exported.content))["Instansi"].iter_rows(
        min_row=5, values_only=True) if row[0]}
    assert "Dinas\ufffd PU\ufffd" in shown
    assert client.get("/petugas/laporan/csv", params=MONDAY).status_code == 200
    assert client.get("/petugas/laporan/pdf", params=MONDAY).status_code == 200


def test_the_portal_exports_write_synced_hostile_text_as_text(desk, app, cloud, tmp_path):  # noqa: F811
    """The guestbook's visits reach the portal through the real sync; one more visit comes with a hostile occupation
    and education kept raw (as another appliance could send them), tab and carriage return included."""
    store = app.state.appliance.store
    visit_id = new_id()
    with store.write() as db:
        outbox.append(db, "visit", visit_id, "checked_in", {
            "id": visit_id, "ticket_id": None, "name": "Budi", "email": "budi@example.id", "gender": "L", "age": 30,
            "education": "\t=1+2", "occupation": "\r@SUM(1)", "institution": "-2+3", "purposes": ["baca_tercetak"],
            "checked_in_at": iso(MONDAY_MORNING), "service_started_at": None, "wait_s": None,
        }, MONDAY_MORNING)
    agent, _ = make_agent(store, enrol(cloud, tmp_path / "var-edge"), cloud)
    run(agent.round())
    as_(cloud, sign_in(cloud, "kepala@bps.go.id", "Kepala BPS Sultra", "staff"))
    query = MONDAY | {"office": "7400"}

    rows = cells_of_csv(cloud.get("/kantor/laporan/csv", params=query).content)
    assert_csv_neutral(rows)
    assert {text_cell(as_typed(h)) for h in HOSTILE + ["-2+3"]} <= {row[2] for row in rows if row[0] == "instansi"}
    assert {"'\t=1+2", "'\r@SUM(1)"} <= {row[2] for row in rows if row[0] in ("pendidikan", "pekerjaan")}
    assert ["ringkasan", "kunjungan", "Kunjungan", str(len(HOSTILE) + 1)] in rows

    book = load_workbook(io.BytesIO(cloud.get("/kantor/laporan/xlsx", params=query).content))
    cells = assert_no_formula(book)
    texts = {c.value for c in cells if isinstance(c.value, str)}
    assert {text_cell(as_typed(h)) for h in HOSTILE} | {"'\t=1+2", "'-2+3"} <= texts
    # the carriage return comes back as written where openpyxl writes through lxml (as on the portal, which has it),
    # else as a line feed (an XML parser's end-of-line rule); quoted either way
    assert {"'\r@SUM(1)", "'\n@SUM(1)"} & texts
    visits = dict(book["Ringkasan"].iter_rows(min_row=5, values_only=True))["Kunjungan"]
    assert visits == len(HOSTILE) + 1
