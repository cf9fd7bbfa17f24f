"""Softcopy for a signed-in reader: every copy is made for that reader at that moment, with the watermark (who, their
e-mail, when in office time, and the download id) burned into every page. The download is logged first, so the id
in a leaked copy always leads back to a row of `downloads`. Nothing is cached: each request writes its own file.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from cloud import stamping
from cloud.accounts import AccountView
from cloud.catalogue import CatalogueError
from cloud.db import Database
from pst.clock import Clock
from pst.i18n import N_
from pst.ids import new_id
from pst.watermark import clean_text, watermark_lines

WITA = ZoneInfo("Asia/Makassar")  # the offices so far are in Southeast Sulawesi; offices get their own zone later
PORTAL = "PST Pustaka · Badan Pusat Statistik"


@dataclass(frozen=True)
class Copy:
    path: Path  # a temporary file of this request only; the caller deletes it once sent
    filename: str
    download_id: str
    media_type: str = "application/pdf"  # a requested table is XLSX or CSV (cloud.deliverables)


class Reading:
    def __init__(self, db: Database, clock: Clock, data_dir: Path, tz: ZoneInfo = WITA):
        self.db, self.clock, self.data_dir, self.tz = db, clock, Path(data_dir), tz

    async def softcopy(self, publication_id: str, reader: AccountView, disposition: str = "inline") -> Copy:
        """The watermarked PDF in a temporary file; 404 when the publication or its file is missing."""
        rows = await self.db.execute(
            "SELECT p.title, p.year, p.catalogue_number, p.softcopy_sha256, f.storage_path, o.name AS office_name"
            " FROM publications p JOIN softcopy_files f ON f.sha256 = p.softcopy_sha256"
            " LEFT JOIN offices o ON o.code = p.office_code WHERE p.id = {}", str(publication_id)[:100],
        )
        if not rows:
            raise CatalogueError(404, N_("Publikasi ini tidak memiliki salinan digital"))
        row = rows[0]
        source = self.data_dir / row["storage_path"]
        if not source.is_file():
            raise CatalogueError(503, N_("Berkas salinan digital sedang tidak tersedia"))
        now = self.clock.now()
        download_id = new_id()
        await self.db.execute(
            "INSERT INTO downloads (id, account_id, publication_id, softcopy_sha256, disposition, at)"
            " VALUES ({}, {}, {}, {}, {}, {})",
            download_id, reader.id, str(publication_id), row["softcopy_sha256"], disposition, now,
        )
        lines = reader_lines(row["office_name"] or PORTAL, reader, now, self.tz, download_id)
        path = await stamping.stamped(source, lines)
        return Copy(path, f"{row['catalogue_number']}-{row['year']}.pdf", download_id)


def reader_lines(office: str, reader: AccountView, moment, tz: ZoneInfo, download_id: str) -> list[str]:
    """The shared watermark rule with the reader's e-mail beside the name, and the whole download id (a copy from
    the portal is traced by its download, not by a visit)."""
    lines = watermark_lines(office, reader.name, moment, tz, download_id)
    lines[1] += f" <{clean_text(reader.email, 254)}>"
    lines[3] = f"unduhan {download_id}"
    return lines


def stamp_copy(source: Path, lines: list[str], stop_when: Path | None = None) -> Path:
    """Stamp every page and write the whole file (never an incremental save) to a new temporary file. Once a file
    `stop_when` exists, the work ends early (pst.pdfstamp.Stopped) and nothing is left behind."""
    import pymupdf

    from pst.pdfstamp import Stopped, stamp

    stop = (lambda: stop_when.exists()) if stop_when is not None else None
    handle, name = tempfile.mkstemp(prefix="pst-softcopy-", suffix=".pdf")
    os.close(handle)
    try:
        with pymupdf.open(source, filetype="pdf") as doc:
            stamp(doc, lines, stop=stop)
            if stop is not None and stop():
                raise Stopped(doc.page_count, doc.page_count)  # before the save, the last long step
            doc.save(name, garbage=0, deflate=False)
    except BaseException:
        os.unlink(name)
        raise
    return Path(name)
