"""Catalogue writes from the back office: add and edit an edition, attach or remove its softcopy, remove it.

Fields are checked by the rules of the CSV import and PDFs by its file checks; a refusal stores nothing. Every write
goes through `CatalogueAdmin._write`, one transaction together with its downlink change.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path
from typing import BinaryIO

from cloud import catalogue_import
from cloud.catalogue import SAME_OFFICE, CatalogueError, publication_written, subject_list
from cloud.catalogue_import import _Bad, _catalogue_number, _isbn, _subjects, _text, _year, check_pdf, store_pdf
from cloud.db import Database, is_unique_violation
from cloud.requests import safe_filename
from pst.clock import Clock
from pst.i18n import N_
from pst.ids import new_id

FIELDS = ("title", "year", "type", "subjects", "catalogue_number", "isbn", "abstract", "office_code")
MAX_UPLOAD = 200 * 2**20  # a web upload; larger files go in by `pst cloud catalogue import`


class CatalogueAdmin:
    def __init__(self, db: Database, clock: Clock, data_dir: Path):
        self.db, self.clock, self.data_dir = db, clock, Path(data_dir)

    async def form(self, publication_id: str) -> dict | None:
        """The edition's fields as the form shows them, and its softcopy; None when there is no such edition."""
        rows = await self.db.execute(
            "SELECT p.id, p.title, p.year, p.type, p.subjects, p.catalogue_number, p.isbn, p.abstract, p.office_code,"
            " p.softcopy_sha256, f.pages, f.size FROM publications p"
            " LEFT JOIN softcopy_files f ON f.sha256 = p.softcopy_sha256 WHERE p.id = {}", _id(publication_id),
        )
        if not rows:
            return None
        row = rows[0]
        fields = {name: "" if row[name] is None else str(row[name]) for name in FIELDS}
        fields["subjects"] = "; ".join(subject_list(row["subjects"]))
        softcopy = {"sha256": row["softcopy_sha256"], "pages": row["pages"], "size": row["size"]}
        return {"id": row["id"], "fields": fields, "softcopy": softcopy if row["softcopy_sha256"] else None}

    async def offices(self) -> list[dict]:
        return await self.db.execute("SELECT code, name FROM offices ORDER BY code")

    async def add(self, raw: dict) -> str:
        """A new edition from the form's fields; its id. 400 naming the fields, 409 when the edition exists."""
        row = await self._clean(raw)
        publication_id, now = new_id(), self.clock.now()
        columns = ("id", "catalogue_number", "year", "title", "type", "subjects", "isbn", "abstract", "office_code",
                   "created_at", "updated_at")
        marks = ", ".join("{}" for _ in columns)
        values = (publication_id, row["catalogue_number"], row["year"], row["title"], row["type"],
                  ";".join(row["subjects"]), row["isbn"], row["abstract"], row["office_code"], now, now)
        await self._write(publication_id, row["office_code"], [
            (f"INSERT INTO publications ({', '.join(columns)}) VALUES ({marks}) RETURNING id",
             *values),
            *_subject_rows(publication_id, row["subjects"]),
        ])
        return publication_id

    async def edit(self, publication_id: str, raw: dict) -> None:
        current = await self._existing(publication_id)
        row = await self._clean(raw, publication_id)
        await self._write(publication_id, row["office_code"], previous_office=current["office_code"], statements=[
            ("UPDATE publications SET catalogue_number = {}, year = {}, title = {}, type = {}, subjects = {},"
             " isbn = {}, abstract = {}, office_code = {}, updated_at = {} WHERE id = {} RETURNING id",
             row["catalogue_number"], row["year"], row["title"], row["type"], ";".join(row["subjects"]), row["isbn"],
             row["abstract"], row["office_code"], self.clock.now(), publication_id),
            ("DELETE FROM publication_subjects WHERE publication_id = {}", publication_id),
            *_subject_rows(publication_id, row["subjects"]),
        ])

    async def attach(self, publication_id: str, upload: BinaryIO, filename: str | None) -> dict:
        """The uploaded PDF becomes the edition's softcopy (replacing any): name, size and content are checked
        before anything is stored; the file is kept by its SHA-256 like the import's."""
        current = await self._existing(publication_id)
        name = safe_filename(filename)
        softcopy, relative = await asyncio.to_thread(_receive, upload, name, self.data_dir)
        now = self.clock.now()
        await self._write(publication_id, current["office_code"], [
            ("INSERT INTO softcopy_files (sha256, size, pages, storage_path, created_at) VALUES ({}, {}, {}, {}, {})"
             " ON CONFLICT (sha256) DO NOTHING", softcopy.sha256, softcopy.size, softcopy.pages, relative, now),
            ("UPDATE publications SET softcopy_sha256 = {}, updated_at = {} WHERE id = {} RETURNING id",
             softcopy.sha256, now, publication_id),
        ])
        return {"sha256": softcopy.sha256, "pages": softcopy.pages, "size": softcopy.size}

    async def detach(self, publication_id: str) -> None:
        """The edition no longer has a softcopy; the stored file stays (a request or another edition may share it)."""
        current = await self._existing(publication_id)
        if current["softcopy_sha256"] is None:
            raise CatalogueError(409, N_("Publikasi ini tidak memiliki salinan digital"))
        await self._write(publication_id, current["office_code"], [
            ("UPDATE publications SET softcopy_sha256 = NULL, updated_at = {} WHERE id = {} RETURNING id",
             self.clock.now(), publication_id),
        ])

    async def remove(self, publication_id: str) -> None:
        """Refused (409) once a reader has downloaded or requested it: those records name the edition. OAI-PMH
        harvesters go on seeing it as a deleted record, stamped in the same transaction (publication_written)."""
        current = await self._existing(publication_id)
        used = await self.db.execute(
            "SELECT (SELECT count(*) FROM downloads WHERE publication_id = {}) AS downloads,"
            " (SELECT count(*) FROM softcopy_requests WHERE publication_id = {}) AS requests",
            publication_id, publication_id,
        )
        if used[0]["downloads"] or used[0]["requests"]:
            raise CatalogueError(409, N_("Publikasi ini sudah pernah diunduh atau diminta pembaca, sehingga catatannya"
                                         " harus tetap ada. Ubah datanya atau lepas salinan digitalnya saja."))
        await self._write(publication_id, current["office_code"], [
            ("DELETE FROM publications WHERE id = {} RETURNING id", publication_id),
        ])

    # inside

    async def _write(self, publication_id: str, office_code: str | None, statements: list[tuple],
                     previous_office: object = SAME_OFFICE) -> None:
        """Every catalogue write of the back office: its statements and the downlink change in one transaction. A
        statement with RETURNING that finds no row means the edition went away meanwhile (404, nothing kept)."""
        try:
            async with self.db.transaction():
                for sql, *args in statements:
                    if not await self.db.execute(sql, *args) and "RETURNING" in sql:
                        raise CatalogueError(404, N_("Publikasi tidak ditemukan"))
                await publication_written(self.db, publication_id, office_code, self.clock.now(), previous_office)
        except Exception as exc:
            if is_unique_violation(exc):  # another hand added the same edition since the check
                raise _duplicate() from None
            raise

    async def _existing(self, publication_id: str) -> dict:
        rows = await self.db.execute("SELECT id, office_code, softcopy_sha256 FROM publications WHERE id = {}",
                                     _id(publication_id))
        if not rows:
            raise CatalogueError(404, N_("Publikasi tidak ditemukan"))
        return rows[0]

    async def _clean(self, raw: dict, publication_id: str | None = None) -> dict:
        """The form's fields by the import's rules; 400 with a message for each bad field, 409 for a duplicate."""
        offices = {office["code"] for office in await self.offices()}
        checks = (
            ("title", lambda v: _text(v, 300, required=True)), ("year", lambda v: _year(v, self.clock.now().year + 1)),
            ("type", lambda v: _text(v, 60) or None), ("subjects", _subjects),
            ("catalogue_number", _catalogue_number), ("isbn", _isbn), ("abstract", lambda v: _text(v, 5000) or None),
            ("office_code", lambda v: _office(v, offices)),
        )
        row, errors = {}, {}
        for name, check in checks:
            try:
                row[name] = check(raw.get(name) if isinstance(raw.get(name), str) else "")
            except _Bad as bad:
                errors[name] = str(bad)
        if errors:
            raise CatalogueError(400, N_("Data publikasi belum benar; periksa kolom yang ditandai"), errors)
        same = await self.db.execute(
            "SELECT id, title FROM publications WHERE catalogue_number = {} AND year = {}", row["catalogue_number"],
            row["year"],
        )
        if same and same[0]["id"] != publication_id:
            raise _duplicate(same[0]["title"])
        return row


def _id(publication_id: str) -> str:
    """An id as given; one too long to be an id matches nothing (never cut to a real one)."""
    return publication_id if len(publication_id) <= 36 else ""


def _duplicate(title: str | None = None) -> CatalogueError:
    message = (N_("nomor katalog dan tahun ini sudah dipakai publikasi lain (%(title)s)") % {"title": title} if title
               else N_("nomor katalog dan tahun ini sudah dipakai publikasi lain"))
    return CatalogueError(409, N_("Publikasi dengan nomor katalog dan tahun yang sama sudah ada"),
                          {"catalogue_number": message, "year": N_("satu edisi per nomor katalog dan tahun")})


def _office(value: str, offices: set[str]) -> str | None:
    text = _text(value, 8)
    if text and text not in offices:
        raise _Bad(N_("pilih kantor dari daftar (tambahkan kantornya dulu di menu Kantor & perangkat)"))
    return text or None


def _subject_rows(publication_id: str, subjects: list[str]) -> list[tuple]:
    return [("INSERT INTO publication_subjects (id, publication_id, subject) VALUES ({}, {}, {})",
             new_id(), publication_id, subject) for subject in subjects]


def _receive(upload: BinaryIO, name: str, data_dir: Path) -> tuple[catalogue_import.Softcopy, str]:
    """The upload copied to a folder of its own under its checked name, checked like an imported file, and stored."""
    limit = min(MAX_UPLOAD, catalogue_import.MAX_PDF)
    folder = Path(tempfile.mkdtemp(prefix="pst-softcopy-"))
    try:
        size = 0
        upload.seek(0)
        with (folder / name).open("wb") as out:
            while chunk := upload.read(1 << 20):
                size += len(chunk)
                if size > limit:
                    most = {"mb": limit // 2**20}
                    raise CatalogueError(400, N_("Berkas terlalu besar (maks. %(mb)s MB)") % most,
                                         {"file": N_("berkas terlalu besar (maks. %(mb)s MB)") % most})
                out.write(chunk)
        try:
            softcopy = check_pdf(folder, name)
        except _Bad as bad:
            raise CatalogueError(400, N_("Berkas tidak dapat dipakai sebagai salinan digital"),
                                 {"file": str(bad)}) from None
        return store_pdf(data_dir, softcopy)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
