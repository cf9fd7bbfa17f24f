"""What staff may deliver for a softcopy request, in the forms the BPS publishes: a PDF, or a table as XLSX or CSV.
Each kind is recognised by its name and checked by its content, and each copy is made for its reader: a PDF gets the
watermark on every page, an XLSX the reader in its document properties and a first notice sheet, a CSV a first
comment line. Plain functions over files; no web framework, no database.
"""

from __future__ import annotations

import io
import os
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from cloud.catalogue_import import store_content
from pst.i18n import N_


@dataclass(frozen=True)
class Kind:
    suffix: str
    media_type: str


KINDS = {
    ".pdf": Kind(".pdf", "application/pdf"),
    ".xlsx": Kind(".xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ".csv": Kind(".csv", "text/csv"),
}
NOTICE_SHEET = "Keterangan"


class DeliverableError(ValueError):
    """The upload is not a deliverable: `message` for the page, `field` for the form's `file` field."""

    def __init__(self, message: str, field: str):
        super().__init__(message)
        self.message, self.field = message, field


def kind_of(filename: str) -> Kind:
    """The kind a file name announces; anything else is refused."""
    kind = KINDS.get(Path(filename).suffix.lower())
    if kind is None:
        raise DeliverableError(N_("Berkas harus PDF, XLSX atau CSV"), N_("harus berkas PDF, XLSX atau CSV"))
    return kind


def kind_of_stored(path: str | Path) -> Kind:
    """The kind of a stored file, by the suffix it was stored under (older files are all PDFs)."""
    return KINDS.get(Path(path).suffix.lower(), KINDS[".pdf"])


def check_table(kind: Kind, data: bytes) -> int:
    """An XLSX that openpyxl opens (its sheet count), or a CSV of text (its line count)."""
    if kind.suffix == ".xlsx":
        return _sheets(data)
    if b"\x00" in data or not data.strip():
        raise DeliverableError(N_("CSV kosong atau bukan teks"), N_("bukan CSV"))
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:  # BPS tables also come in Windows-1252; any byte decodes there but a few
        if any(byte in data for byte in b"\x81\x8d\x8f\x90\x9d"):
            raise DeliverableError(N_("CSV bukan teks UTF-8 atau Windows-1252"), N_("bukan CSV")) from None
    return max(1, data.count(b"\n"))


def _sheets(data: bytes) -> int:
    from openpyxl import load_workbook

    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise DeliverableError(N_("Berkas bukan XLSX"), N_("harus berkas XLSX"))
    try:
        book = load_workbook(io.BytesIO(data), read_only=True)
    except Exception:  # openpyxl raises many kinds on a damaged or foreign zip
        raise DeliverableError(N_("XLSX rusak, tidak dapat dibuka"), N_("rusak")) from None
    try:
        return len(book.sheetnames)
    finally:
        book.close()


def personal_copy(kind: Kind, source: Path, lines: list[str]) -> Path:
    """A new temporary file: the table made for the reader named in `lines` (the watermark's lines)."""
    handle, name = tempfile.mkstemp(prefix="pst-softcopy-", suffix=kind.suffix)
    os.close(handle)
    try:
        (_stamp_xlsx if kind.suffix == ".xlsx" else _stamp_csv)(source, Path(name), lines)
    except BaseException:
        os.unlink(name)
        raise
    return Path(name)


def _stamp_xlsx(source: Path, target: Path, lines: list[str]) -> None:
    """The reader in the document properties (File > Info) and on a first sheet that opens first. A notice row on
    each sheet would shift every cell the formulas point at, so the notice gets a sheet of its own."""
    from openpyxl import load_workbook

    book = load_workbook(source)
    book.properties.subject = lines[1]
    book.properties.description = " · ".join(lines)
    book.properties.keywords = lines[-1]
    book.properties.lastModifiedBy = lines[0]
    title = NOTICE_SHEET
    while title in book.sheetnames:
        title = f"_{title}"
    notice = book.create_sheet(title, 0)
    for row, line in enumerate(lines, start=1):
        notice.cell(row=row, column=1, value=line)
    notice.column_dimensions["A"].width = 90
    for sheet in book.worksheets:
        sheet.sheet_view.tabSelected = sheet is notice
    book.active = 0
    book.save(target)


def _stamp_csv(source: Path, target: Path, lines: list[str]) -> None:
    """One comment line first, in the file's own encoding and line ending (a BOM stays first)."""
    data = source.read_bytes()
    bom = b"\xef\xbb\xbf" if data.startswith(b"\xef\xbb\xbf") else b""
    try:
        data.decode("utf-8")
        encoding = "utf-8"
    except UnicodeDecodeError:
        encoding = "cp1252"
    newline = b"\r\n" if b"\r\n" in data[:4096] else b"\n"
    comment = ("# " + " · ".join(lines)).replace("\r", " ").replace("\n", " ")
    target.write_bytes(bom + comment.encode(encoding, errors="replace") + newline + data[len(bom):])


def store_file(data_dir: Path, data: bytes, sha256: str, kind: Kind) -> str:
    """The file under softcopy/<aa>/<sha256><suffix> (kept when already there), written whole and renamed; the path
    relative to data_dir."""
    return store_content(data_dir, sha256, kind.suffix, lambda out: out.write(data))
