"""A request fulfilled with a table, as the BPS publishes them: the reader gets an XLSX with their name in its
document properties and on a first notice sheet, or a CSV whose first line names them; what is not a table is 400."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import Workbook, load_workbook

from tests.cloud.conftest import rows_in
from tests.cloud.test_requests import READER, as_, ask, people, stored_files  # noqa: F401  (people is a fixture)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TABLE = [("Kecamatan", "Nelayan 2024"), ("Wangi-Wangi", 1520), ("Kaledupa", 873)]


def xlsx_bytes() -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = "Tabel 3.1"
    for row in TABLE:
        sheet.append(row)
    sheet["B4"] = "=SUM(B2:B3)"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def fulfilled_with(client, people, name: str, content: bytes, media_type: str):
    request_id = ask(client, description="Jumlah nelayan per kecamatan di Wakatobi").json()["id"]
    as_(client, people["staff"])
    sent = client.post(f"/api/staff/requests/{request_id}/fulfil", files={"file": (name, content, media_type)})
    assert sent.status_code == 200, sent.text
    as_(client, people["reader"])
    copy = client.get(f"/api/requests/{request_id}/softcopy?unduh=1")
    assert copy.status_code == 200 and "no-store" in copy.headers["cache-control"]
    return copy


def test_an_xlsx_carries_the_reader_in_its_properties_and_on_a_first_sheet(client, people):
    copy = fulfilled_with(client, people, "nelayan-wakatobi.xlsx", xlsx_bytes(), XLSX)
    assert copy.headers["content-type"].startswith(XLSX)
    assert copy.headers["content-disposition"].endswith('.xlsx"')
    book = load_workbook(io.BytesIO(copy.content))
    download_id = copy.headers["x-download-id"]
    assert READER[1] in book.properties.subject and READER[0] in book.properties.subject
    assert download_id in book.properties.description
    assert book.sheetnames == ["Keterangan", "Tabel 3.1"] and book.active.title == "Keterangan"
    notice = [cell.value for cell in book["Keterangan"]["A"]]
    assert any(READER[1] in line for line in notice) and any(download_id in line for line in notice)
    table = book["Tabel 3.1"]
    assert [tuple(c.value for c in row) for row in table.iter_rows(max_row=3)] == TABLE
    assert table["B4"].value == "=SUM(B2:B3)"  # the data and its formulas are where they were


@pytest.mark.parametrize("encoding, newline", [("utf-8", "\n"), ("cp1252", "\r\n")])
def test_a_csv_gets_a_first_comment_line_naming_the_reader(client, people, encoding, newline):
    original = newline.join(["Kecamatan;Nelayan 2024", "Wangi-Wangi;1520", "Kaledupa;873", "Tomia · Binongko;412", ""])
    copy = fulfilled_with(client, people, "nelayan.csv", original.encode(encoding), "text/csv")
    assert copy.headers["content-type"].startswith("text/csv")
    first, rest = copy.content.split(newline.encode(), 1)
    line = first.decode(encoding)
    assert line.startswith("# ") and READER[1] in line and READER[0] in line and copy.headers["x-download-id"] in line
    assert rest == original.encode(encoding)  # the table itself, byte for byte, in its own encoding
    assert next(csv.reader(io.StringIO(rest.decode(encoding)), delimiter=";")) == ["Kecamatan", "Nelayan 2024"]


@pytest.mark.parametrize("name, content", [
    ("tabel.xlsx", b"Kecamatan;Nelayan\nWangi-Wangi;1520\n"),  # a CSV under an XLSX name
    ("tabel.xlsx", b"PK\x03\x04 not really a workbook"),
    ("tabel.csv", b"\x00\x01\x02 binary"),
    ("tabel.csv", b"   \n"),
    ("tabel.docx", b"PK\x03\x04 a Word file"),
])
def test_what_is_not_a_pdf_or_a_table_is_400_and_nothing_is_stored(client, people, tmp_path, name, content):
    request_id = ask(client, description="data saya").json()["id"]
    before, files = stored_files(tmp_path), rows_in(client, "softcopy_files")
    as_(client, people["staff"])
    answer = client.post(f"/api/staff/requests/{request_id}/fulfil", files={"file": (name, content, "text/plain")})
    assert answer.status_code == 400, answer.text
    assert answer.json()["errors"]["file"]
    assert stored_files(tmp_path) == before and rows_in(client, "softcopy_files") == files
