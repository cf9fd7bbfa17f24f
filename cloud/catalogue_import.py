"""`pst cloud catalogue import FILE.csv`: publications from a UTF-8 CSV and their PDFs from the CSV's folder.

Every row and every file is checked before anything is written: one bad cell and nothing is imported, and each
problem names its line and column. PDFs are stored under $PST_DATA_DIR/softcopy/ by the SHA-256 of their content
(never by a name from the CSV), written to a temporary name and renamed, so workers sharing the folder never see
half a file.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from cloud.catalogue import Catalogue, CatalogueError
from cloud.db import Database
from pst import catalogue_csv
from pst.catalogue_csv import Problem
from pst.clock import Clock
from pst.i18n import N_
from pst.ids import new_id

COLUMNS = ("title", "year", "type", "subjects", "catalogue_number", "isbn", "abstract", "office", "file")
REQUIRED = ("title", "year", "catalogue_number")
CATALOGUE_NUMBER = re.compile(r"\d{4,10}(\.\d{1,10}){0,3}")
OFFICE_CODE = re.compile(r"\d{4}")
MAX_PDF = 500 * 1024 * 1024
# Every copy a reader downloads is stamped page by page; the longest BPS publications (Statistik Indonesia) have some
# 800 pages. A file of more pages is refused where it comes in, so no download can keep a core busy for long.
MAX_PAGES = 3_000
# Offices named in a CSV are added when they are one of these (the province of the first offices); any other code
# must already be in `offices`.
KNOWN_OFFICES = {
    "7400": "BPS Provinsi Sulawesi Tenggara", "7401": "BPS Kabupaten Buton", "7402": "BPS Kabupaten Muna",
    "7403": "BPS Kabupaten Konawe", "7404": "BPS Kabupaten Kolaka", "7405": "BPS Kabupaten Konawe Selatan",
    "7406": "BPS Kabupaten Bombana", "7407": "BPS Kabupaten Wakatobi", "7408": "BPS Kabupaten Kolaka Utara",
    "7409": "BPS Kabupaten Buton Utara", "7410": "BPS Kabupaten Konawe Utara", "7411": "BPS Kabupaten Kolaka Timur",
    "7412": "BPS Kabupaten Konawe Kepulauan", "7413": "BPS Kabupaten Muna Barat", "7414": "BPS Kabupaten Buton Tengah",
    "7415": "BPS Kabupaten Buton Selatan", "7471": "BPS Kota Kendari", "7472": "BPS Kota Baubau",
}


class ImportRefused(CatalogueError):
    """Bad rows: each problem names its line and column; nothing was stored."""

    def __init__(self, problems: list[Problem]):
        shown = catalogue_csv.refusal(problems)
        super().__init__(400, f"Tidak ada yang diimpor — {shown}", {"file": shown})
        self.problems = problems


class _Bad(ValueError):
    pass


@dataclass(frozen=True)
class Softcopy:
    sha256: str
    size: int
    pages: int
    source: Path


async def import_csv(db: Database, clock: Clock, data_dir: Path, path: Path) -> dict:
    """Adds or updates (by catalogue number and year); `{"added", "updated", "unchanged"}`."""
    path = Path(path)
    known = {r["code"] for r in await db.execute("SELECT code FROM offices")}
    rows = _validate(read_csv(path), path.parent, known, clock.now().year + 1)
    stored = {row["file"].sha256: store_pdf(data_dir, row["file"]) for row in rows if row["file"]}
    counts = {"added": 0, "updated": 0, "unchanged": 0}
    now = clock.now()
    catalogue = Catalogue(db)
    async with db.transaction():
        for code in sorted({row["office_code"] for row in rows if row["office_code"]} - known):
            await db.execute("INSERT INTO offices (id, code, name, created_at) VALUES ({}, {}, {}, {})",
                             new_id(), code, KNOWN_OFFICES[code], now)
        for sha256, (softcopy, storage_path) in stored.items():
            await db.execute(
                "INSERT INTO softcopy_files (sha256, size, pages, storage_path, created_at) VALUES ({}, {}, {}, {}, {})"
                " ON CONFLICT (sha256) DO NOTHING", sha256, softcopy.size, softcopy.pages, storage_path, now,
            )
        for row in rows:
            row["softcopy_sha256"] = row["file"].sha256 if row["file"] else None
            counts[await catalogue.upsert(row, now)] += 1
    return counts


def read_csv(path: Path) -> list[tuple[int, dict[str, str]]]:
    """(line, {column: cell}) for every non-empty row, after the header is checked."""
    try:
        return catalogue_csv.read_csv(path, COLUMNS, REQUIRED)
    except catalogue_csv.CsvRefused as refused:
        raise ImportRefused(refused.problems) from None


def _validate(rows: list[tuple[int, dict]], folder: Path, offices: set[str], year_max: int) -> list[dict]:
    clean, problems, seen = [], [], {}
    for line, raw in rows:
        row: dict = {}
        checks = (("title", lambda v: _text(v, 300, required=True)), ("year", lambda v: _year(v, year_max)),
                  ("type", lambda v: _text(v, 60) or None), ("subjects", _subjects),
                  ("catalogue_number", _catalogue_number), ("isbn", _isbn), ("abstract", lambda v: _text(v, 5000) or None),
                  ("office", lambda v: _office(v, offices)), ("file", lambda v: check_pdf(folder, v)))
        for column, check in checks:
            try:
                row[column] = check(raw.get(column, ""))
            except _Bad as bad:
                problems.append(Problem(line, column, str(bad)))
        row["office_code"] = row.pop("office", None)
        key = (row.get("catalogue_number"), row.get("year"))
        if None not in key and key in seen:
            problems.append(Problem(line, "catalogue_number", f"{key[0]} tahun {key[1]} sudah ada di baris {seen[key]}"))
        seen.setdefault(key, line)
        clean.append(row)
    if problems:
        raise ImportRefused(problems)
    return clean


def check_pdf(folder: Path, cell: str) -> Softcopy | None:
    """The PDF a `file` cell names, inside the CSV's folder only, and a real PDF that opens; None when empty."""
    text = (cell or "").strip()
    if not text:
        return None
    relative = Path(text.replace("\\", "/"))
    base = folder.resolve()
    if relative.is_absolute() or ".." in relative.parts or re.match(r"^[A-Za-z]:", text):
        raise _Bad(f"jalur harus di dalam folder CSV, tanpa '..' atau awalan '/' (tertulis {text!r})")
    path = (base / relative).resolve()
    if not path.is_relative_to(base):  # a symbolic link leading out
        raise _Bad(f"berkas berada di luar folder CSV: {text!r}")
    if not path.is_file():
        raise _Bad(f"berkas tidak ditemukan: {text!r}")
    size = path.stat().st_size
    if size > MAX_PDF:
        raise _Bad(N_("berkas terlalu besar (maks. %(mb)s MB): %(name)s")
                   % {"mb": MAX_PDF // 2**20, "name": repr(text)})
    with path.open("rb") as handle:
        if handle.read(5) != b"%PDF-":
            raise _Bad(N_("bukan berkas PDF: %(name)s") % {"name": repr(text)})
    return Softcopy(_sha256(path), size, _pages(path, text), path)


def _pages(path: Path, shown: str) -> int:
    import pymupdf  # only the import and the reading need it

    try:
        with pymupdf.open(path, filetype="pdf") as doc:
            if doc.needs_pass or doc.is_encrypted:
                raise _Bad(N_("PDF terkunci kata sandi tidak dapat diberi tanda air: %(name)s") % {"name": repr(shown)})
            if doc.page_count < 1:
                raise _Bad(N_("PDF tanpa halaman: %(name)s") % {"name": repr(shown)})
            if doc.page_count > MAX_PAGES:
                raise _Bad(N_("PDF lebih dari %(most)s halaman: %(name)s") % {"most": MAX_PAGES, "name": repr(shown)})
            return doc.page_count
    except _Bad:
        raise
    except (RuntimeError, ValueError):  # pymupdf.FileDataError (a RuntimeError) and the like for damaged files
        raise _Bad(N_("PDF rusak, tidak dapat dibuka: %(name)s") % {"name": repr(shown)}) from None


def store_pdf(data_dir: Path, softcopy: Softcopy) -> tuple[Softcopy, str]:
    """The file under softcopy/<aa>/<sha256>.pdf (kept when already there); the path relative to data_dir."""
    def copy(out: BinaryIO) -> None:
        with softcopy.source.open("rb") as source:
            while chunk := source.read(1 << 20):
                out.write(chunk)

    return softcopy, store_content(data_dir, softcopy.sha256, ".pdf", copy)


def store_content(data_dir: Path, sha256: str, suffix: str, write: Callable[[BinaryIO], None]) -> str:
    """A file under softcopy/<aa>/<sha256><suffix>, kept when already there, else written whole by `write` under a
    temporary name and renamed; the path relative to data_dir."""
    relative = f"softcopy/{sha256[:2]}/{sha256}{suffix}"
    target = Path(data_dir) / relative
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=target.parent, suffix=".part")
        try:
            with os.fdopen(handle, "wb") as out:
                write(out)
            os.replace(temporary, target)
        finally:
            if os.path.exists(temporary):
                os.unlink(temporary)
    return relative


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


# --- the check of each cell: the cleaned value, or _Bad with the reason (messages are for the librarian) -----------
def _text(value: str, limit: int, required: bool = False) -> str:
    text = " ".join(unicodedata.normalize("NFC", value or "").split())
    if required and not text:
        raise _Bad(N_("wajib diisi"))
    if len(text) > limit:
        raise _Bad(N_("terlalu panjang (maks. %(limit)s karakter)") % {"limit": limit})
    return text


def _year(value: str, year_max: int) -> int:
    text = _text(value, 10)
    if not (text.isascii() and text.isdigit()) or not 1900 <= int(text) <= year_max:
        raise _Bad(N_("tahun harus angka 1900–%(last)s (tertulis %(text)s)") % {"last": year_max, "text": repr(text)})
    return int(text)


def _subjects(value: str) -> list[str]:
    subjects: list[str] = []
    for part in (value or "").split(";"):
        subject = _text(part, 80)
        if subject and subject.casefold() not in (s.casefold() for s in subjects):
            subjects.append(subject)
    if len(subjects) > 20:
        raise _Bad(N_("paling banyak 20 subjek"))
    return subjects


def _catalogue_number(value: str) -> str:
    text = _text(value, 40, required=True)
    if not CATALOGUE_NUMBER.fullmatch(text):
        raise _Bad(N_("nomor katalog berbentuk angka bertitik seperti 1102001.74 (tertulis %(text)s)")
                   % {"text": repr(text)})
    return text


def _isbn(value: str) -> str | None:
    text = _text(value, 40)
    bare = re.sub(r"^(ISBN|ISSN)[:\s]*", "", text.upper()).replace("-", "").replace(" ", "")
    if text and not re.fullmatch(r"\d{7}[\dX]|\d{9}[\dX]|\d{13}", bare):
        raise _Bad(N_("ISBN (10 atau 13 angka) atau ISSN (8 angka) tidak sah: %(text)s") % {"text": repr(text)})
    return text or None


def _office(value: str, known: set[str]) -> str | None:
    text = _text(value, 8)
    if not text:
        return None
    if not OFFICE_CODE.fullmatch(text) or (text not in known and text not in KNOWN_OFFICES):
        raise _Bad(f"kode kantor BPS tidak dikenal (empat angka seperti 7400): {text!r}")
    return text
