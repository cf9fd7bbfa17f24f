"""Softcopy requests: a reader asks for a publication of the catalogue, or describes what is needed, and says why.
Staff take it up (diajukan → diproses) and either reject it with a reason (ditolak) or fulfil it by attaching a PDF
or a table as XLSX or CSV (selesai, see cloud.deliverables); the reader is mailed either way and finds the file,
made for them (a watermark, or their name in the table), under "Permintaan saya".

An attached file is stored like the catalogue's softcopy: content-addressed under $PST_DATA_DIR/softcopy/, written
to a temporary name and renamed, one row in `softcopy_files`. A reader has at most MAX_ACTIVE requests waiting.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import re
import tempfile
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from cloud.accounts import AccountView
from cloud.catalogue import CatalogueError
from cloud.catalogue_import import MAX_PAGES, Softcopy, store_pdf
from cloud.changes import record_change
from cloud.db import Database
from cloud.deliverables import DeliverableError, Kind, check_table, kind_of, kind_of_stored, personal_copy, store_file
from cloud.mail import Mail, MailError
from cloud import stamping
from cloud.reading import PORTAL, WITA, Copy, reader_lines
from pst.clock import Clock
from pst.i18n import N_
from pst.ids import new_id
from pst.privacy import mask  # an address in a log line is personal data

log = logging.getLogger(__name__)
PURPOSES = {  # the labels are msgids of the portal's catalogue (shown through the `translated` filter)
    "penelitian": N_("Penelitian"),
    "tugas_kuliah": N_("Tugas kuliah / skripsi"),
    "perencanaan": N_("Perencanaan pembangunan"),
    "jurnalistik": N_("Jurnalistik"),
    "lainnya": N_("Lainnya"),
}
STATUSES = ("diajukan", "diproses", "selesai", "ditolak")
ACTIVE = ("diajukan", "diproses")
MAX_ACTIVE = 3
MAX_PDF = 50 * 1024 * 1024
MAX_DESCRIPTION = 2000
MAX_REASON = 1000
STAFF_ROLES = ("staff", "admin")
_COLUMNS = ("r.id, r.account_id, r.publication_id, r.description, r.purpose, r.status, r.reason, r.softcopy_sha256,"
            " r.created_at, r.processed_at, r.finished_at, p.title AS publication_title")
_FROM = " FROM softcopy_requests r LEFT JOIN publications p ON p.id = r.publication_id"


class RequestError(CatalogueError):
    """Refused: `status` is the HTTP answer, `errors` names the fields."""


def _when(value) -> str | None:
    if value is None:
        return None
    return value.isoformat() if isinstance(value, datetime) else str(value)


def as_json(row: dict) -> dict:
    return {
        "id": row["id"], "publication_id": row["publication_id"], "publication_title": row["publication_title"],
        "description": row["description"], "purpose": row["purpose"], "purpose_label": PURPOSES.get(row["purpose"], ""),
        "status": row["status"], "reason": row["reason"], "has_softcopy": row["softcopy_sha256"] is not None,
        "created_at": _when(row["created_at"]), "processed_at": _when(row["processed_at"]),
        "finished_at": _when(row["finished_at"]),
    }


def safe_filename(name: str | None) -> str:
    """The upload's file name as sent, refused (400) when it tries a path: separators, '..', control characters."""
    text = name or ""
    if (not text or len(text) > 200 or "/" in text or "\\" in text or ".." in text or text.startswith(".")
            or re.search(r"[\x00-\x1f\x7f]", text) or re.match(r"^[A-Za-z]:", text)):
        raise RequestError(400, N_("Nama berkas tidak sah"),
                           {"file": N_("nama berkas tanpa jalur, '..' atau karakter kendali")})
    return text


class Requests:
    def __init__(self, db: Database, clock: Clock, mailer, data_dir: Path, public_url: str = "", tz: ZoneInfo = WITA):
        self.db, self.clock, self.mailer, self.data_dir = db, clock, mailer, Path(data_dir)
        self.public_url, self.tz = public_url, tz

    # readers

    async def create(self, reader: AccountView, publication_id=None, description=None, purpose=None) -> dict:
        publication_id = publication_id.strip() if isinstance(publication_id, str) else publication_id
        description = description.strip() if isinstance(description, str) else description
        errors = {}
        if bool(publication_id) == bool(description):
            errors["publication_id"] = errors["description"] = N_("isi salah satu: publikasi atau uraian kebutuhan")
        elif publication_id and not isinstance(publication_id, str):
            errors["publication_id"] = N_("tidak sah")
        elif description and (not isinstance(description, str) or len(description) > MAX_DESCRIPTION):
            errors["description"] = N_("paling banyak %(count)s karakter") % {"count": MAX_DESCRIPTION}
        if purpose not in PURPOSES:
            errors["purpose"] = N_("salah satu dari %(choices)s") % {"choices": ", ".join(PURPOSES)}
        if errors:
            raise RequestError(400, N_("Data permintaan belum benar"), errors)
        if publication_id and not await self.db.execute(
                "SELECT id FROM publications WHERE id = {}", publication_id[:100]):
            raise RequestError(400, N_("Publikasi tidak ditemukan"), {"publication_id": N_("tidak ada di katalog")})
        request_id = new_id()
        async with self.db.transaction():
            if self.db.kind == "postgresql":  # one reader's requests are counted one at a time
                await self.db.execute("SELECT id FROM accounts WHERE id = {} FOR UPDATE", reader.id)
            active = await self.db.execute(
                "SELECT count(*) AS n FROM softcopy_requests WHERE account_id = {} AND status IN ('diajukan', 'diproses')",
                reader.id,
            )
            if active[0]["n"] >= MAX_ACTIVE:
                raise RequestError(409, N_("Anda sudah memiliki %(count)s permintaan yang belum selesai; tunggu"
                                           " hingga salah satunya selesai") % {"count": MAX_ACTIVE})
            await self.db.execute(
                "INSERT INTO softcopy_requests (id, account_id, publication_id, description, purpose, status, created_at)"
                " VALUES ({}, {}, {}, {}, {}, 'diajukan', {})",
                request_id, reader.id, publication_id or None, description or None, purpose, self.clock.now(),
            )
        return await self._one(request_id)

    async def mine(self, reader: AccountView) -> list[dict]:
        rows = await self.db.execute(
            f"SELECT {_COLUMNS}{_FROM} WHERE r.account_id = {{}} ORDER BY r.created_at DESC, r.id DESC", reader.id
        )
        return [as_json(row) for row in rows]

    async def get(self, reader: AccountView, request_id: str) -> dict:
        """The reader's own request; another reader's is as missing as one that never was (404)."""
        row = await self._row(request_id)
        if row is None or row["account_id"] != reader.id:
            raise RequestError(404, N_("Permintaan tidak ditemukan"))
        return as_json(row)

    async def softcopy(self, reader: AccountView, request_id: str) -> Copy:
        """The fulfilled file watermarked for its reader, logged first (the download id is in the watermark)."""
        rows = await self.db.execute(
            "SELECT r.id, r.account_id, r.status, r.softcopy_sha256, f.storage_path FROM softcopy_requests r"
            " LEFT JOIN softcopy_files f ON f.sha256 = r.softcopy_sha256 WHERE r.id = {}", str(request_id)[:100],
        )
        if not rows or rows[0]["account_id"] != reader.id:
            raise RequestError(404, N_("Permintaan tidak ditemukan"))
        row = rows[0]
        if row["status"] != "selesai" or not row["storage_path"]:
            raise RequestError(404, "Permintaan ini belum memiliki salinan digital")
        source = self.data_dir / row["storage_path"]
        if not source.is_file():
            raise RequestError(503, "Berkas salinan digital sedang tidak tersedia")
        now = self.clock.now()
        download_id = new_id()
        await self.db.execute(
            "INSERT INTO request_downloads (id, account_id, request_id, softcopy_sha256, at) VALUES ({}, {}, {}, {}, {})",
            download_id, reader.id, row["id"], row["softcopy_sha256"], now,
        )
        lines = reader_lines(PORTAL, reader, now, self.tz, download_id)
        kind = kind_of_stored(row["storage_path"])
        if kind.suffix == ".pdf":
            path = await stamping.stamped(source, lines)
        else:
            path = await asyncio.to_thread(personal_copy, kind, source, lines)
        return Copy(path, f"permintaan-{row['id']}{kind.suffix}", download_id, kind.media_type)

    # staff

    async def all(self, staff: AccountView, status: str = "") -> list[dict]:
        _staff_only(staff)
        if status and status not in STATUSES:
            raise RequestError(400, N_("Status tidak dikenal"),
                               {"status": N_("salah satu dari %(choices)s") % {"choices": ", ".join(STATUSES)}})
        where = " WHERE r.status = {}" if status else ""
        rows = await self.db.execute(
            f"SELECT {_COLUMNS}, a.email AS reader_email, a.name AS reader_name{_FROM}"
            f" JOIN accounts a ON a.id = r.account_id{where} ORDER BY r.created_at, r.id", *([status] if status else [])
        )
        return [{**as_json(row), "reader_email": row["reader_email"], "reader_name": row["reader_name"]} for row in rows]

    async def process(self, staff: AccountView, request_id: str) -> dict:
        _staff_only(staff)
        await self._move(request_id, ("diajukan",), "diproses",
                         {"processed_at": self.clock.now(), "processed_by": staff.id})
        return await self._one(request_id)

    async def reject(self, staff: AccountView, request_id: str, reason) -> dict:
        _staff_only(staff)
        reason = reason.strip() if isinstance(reason, str) else ""
        if not reason or len(reason) > MAX_REASON:
            raise RequestError(400, N_("Alasan penolakan wajib diisi"),
                               {"reason": N_("wajib diisi, paling banyak %(count)s karakter") % {"count": MAX_REASON}})
        now = self.clock.now()
        await self._move(request_id, ACTIVE, "ditolak", {"reason": reason, "finished_at": now, "finished_by": staff.id})
        row = await self._row(request_id)
        await self._mail(row, "Permintaan softcopy ditolak", (
            f"Permintaan softcopy Anda ({_what(row)}) tidak dapat dipenuhi.\n\nAlasan: {reason}\n\n"
            f"Lihat di {self.public_url}/akun/permintaan\n"
        ))
        return as_json(row)

    async def fulfil(self, staff: AccountView, request_id: str, data: bytes, filename: str | None) -> dict:
        """Attach the file: a PDF, or a table as XLSX or CSV, checked whole (name, size, content: pymupdf or openpyxl
        opens it) before anything is stored."""
        _staff_only(staff)
        kind = _kind(safe_filename(filename))
        row = await self._row(request_id)
        if row is None:
            raise RequestError(404, N_("Permintaan tidak ditemukan"))
        if row["status"] not in ACTIVE:
            raise RequestError(409, N_("Permintaan sudah %(status)s") % {"status": row["status"]})
        if len(data) > MAX_PDF:
            raise RequestError(400, N_("Berkas terlalu besar (maks. %(mb)s MB)") % {"mb": MAX_PDF // 2**20},
                               {"file": N_("terlalu besar")})
        sha256 = hashlib.sha256(data).hexdigest()
        if kind.suffix == ".pdf":
            if not data.startswith(b"%PDF-"):
                raise RequestError(400, N_("Berkas bukan PDF"), {"file": N_("harus berkas PDF")})
            pages = await asyncio.to_thread(_pages, data)
            _, relative = await asyncio.to_thread(_store, self.data_dir, data, sha256, pages)
        else:  # a table: `pages` counts its sheets (XLSX) or lines (CSV)
            pages = await asyncio.to_thread(_table, kind, data)
            relative = await asyncio.to_thread(store_file, self.data_dir, data, sha256, kind)
        now = self.clock.now()
        async with self.db.transaction():
            await self.db.execute(
                "INSERT INTO softcopy_files (sha256, size, pages, storage_path, created_at) VALUES ({}, {}, {}, {}, {})"
                " ON CONFLICT (sha256) DO NOTHING", sha256, len(data), pages, relative, now,
            )
            await self._move(request_id, ACTIVE, "selesai",
                             {"softcopy_sha256": sha256, "finished_at": now, "finished_by": staff.id})
            # taken straight from diajukan: it counts as processed by the same hand at the same moment
            await self.db.execute(
                "UPDATE softcopy_requests SET processed_at = {}, processed_by = {} WHERE id = {} AND processed_at IS NULL",
                now, staff.id, request_id,
            )
        row = await self._row(request_id)
        await self._mail(row, "Softcopy yang Anda minta sudah tersedia", (
            f"Permintaan softcopy Anda ({_what(row)}) sudah selesai. Berkasnya dapat dibaca dan diunduh di menu "
            f"\"Permintaan saya\":\n\n{self.public_url}/akun/permintaan\n\nSetiap salinan diberi tanda air dengan nama "
            f"dan email Anda.\n"
        ))
        return as_json(row)

    # inside

    async def _row(self, request_id: str) -> dict | None:
        rows = await self.db.execute(
            f"SELECT {_COLUMNS}, a.email AS reader_email, a.name AS reader_name{_FROM}"
            " JOIN accounts a ON a.id = r.account_id WHERE r.id = {}", str(request_id)[:100],
        )
        return rows[0] if rows else None

    async def _one(self, request_id: str) -> dict:
        return as_json(await self._row(request_id))

    async def _move(self, request_id: str, sources: tuple[str, ...], target: str, values: dict) -> None:
        """One guarded UPDATE, so two staff members acting at once cannot both move it: 404 or 409 for the loser."""
        sets = ", ".join(f"{column} = {{}}" for column in values)
        marks = ", ".join("{}" for _ in sources)
        async with self.db.transaction():  # the move and its downlink change commit together (or join the caller's)
            moved = await self.db.execute(
                f"UPDATE softcopy_requests SET status = {{}}, {sets} WHERE id = {{}} AND status IN ({marks})"
                " RETURNING id, office_code, origin", target, *values.values(), str(request_id)[:100], *sources,
            )
            if moved and moved[0]["origin"] == "edge":  # only a desk's request has an appliance to tell
                await record_change(self.db, "softcopy_request", moved[0]["id"], moved[0]["office_code"],
                                    self.clock.now())
        if not moved:
            row = await self._row(request_id)
            if row is None:
                raise RequestError(404, N_("Permintaan tidak ditemukan"))
            raise RequestError(409, N_("Permintaan sudah %(status)s") % {"status": row["status"]})

    async def _mail(self, row: dict, subject: str, body: str) -> None:
        """After the change is committed; a mail that cannot be sent is logged, the reader still sees it on the page."""
        try:
            await self.mailer.send(Mail(row["reader_email"], subject, f"Halo {row['reader_name']},\n\n{body}",
                                        next="/akun/permintaan"))
        except MailError:
            log.exception("request mail to %s not sent", mask(row["reader_email"]))


def _staff_only(account: AccountView) -> None:
    if account.role not in STAFF_ROLES:
        raise RequestError(403, N_("Hanya petugas yang dapat melakukan ini"))


def _what(row: dict) -> str:
    text = row["publication_title"] or row["description"] or ""
    return text if len(text) <= 120 else text[:117] + "..."


def _kind(filename: str) -> Kind:
    try:
        return kind_of(filename)
    except DeliverableError as exc:
        raise RequestError(400, str(exc), {"file": exc.field}) from None


def _table(kind: Kind, data: bytes) -> int:
    try:
        return check_table(kind, data)
    except DeliverableError as exc:
        raise RequestError(400, str(exc), {"file": exc.field}) from None


def _pages(data: bytes) -> int:
    import pymupdf

    try:
        with pymupdf.open(stream=data, filetype="pdf") as doc:
            if doc.needs_pass or doc.is_encrypted:
                raise RequestError(400, N_("PDF terkunci kata sandi tidak dapat diberi tanda air"),
                                   {"file": N_("terkunci")})
            if doc.page_count < 1:
                raise RequestError(400, N_("PDF tanpa halaman"), {"file": N_("tanpa halaman")})
            if doc.page_count > MAX_PAGES:
                most = {"most": MAX_PAGES}
                raise RequestError(400, N_("PDF lebih dari %(most)s halaman") % most,
                                   {"file": N_("lebih dari %(most)s halaman") % most})
            return doc.page_count
    except RequestError:
        raise
    except (RuntimeError, ValueError):
        raise RequestError(400, N_("PDF rusak, tidak dapat dibuka"), {"file": N_("rusak")}) from None


def _store(data_dir: Path, data: bytes, sha256: str, pages: int) -> tuple[Softcopy, str]:
    """Through the catalogue's own store_pdf, from a temporary file of this upload."""
    handle, name = tempfile.mkstemp(prefix="pst-upload-", suffix=".pdf")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        return store_pdf(data_dir, Softcopy(sha256, len(data), pages, Path(name)))
    finally:
        os.unlink(name)
