"""Self-service scanning: the visitor's pages become one PDF watermarked for them, fetched on the office LAN with a
short code that expires, and queued (outbox) for their portal account.

A job runs in its own thread. Each page is spooled to disk the moment it arrives, so neither a scanner fault nor a
power cut loses what was scanned: the job then ends `failed` with its pages kept in a PDF and a code like any
other (the visitor sees what went wrong, takes what was scanned and scans the rest as a new job).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import secrets
import shutil
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlite_utils import Database

from edge import outbox
from edge.config import Office
from edge.i18n import N_
from edge.lockers import LockerError
from edge.queue import format_number
from edge.store import EdgeStore
from hardware.scanning import Scanner, ScannerFault
from pst.clock import Clock, iso
from pst.ids import new_id
from pst.watermark import watermark_lines

log = logging.getLogger(__name__)

# The tables are made by migration m004_scans (edge/migrations.py).

CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: read aloud or typed without mistakes
CODE_LENGTH = 8  # 31^8 ≈ 8.5e11 codes, each alive for minutes on the LAN only
FAULTS = {
    "empty": N_("Tidak ada kertas di pengumpan. Letakkan dokumen lalu mulai lagi."),
    "jammed": N_("Kertas macet di pemindai. Mohon minta bantuan petugas."),
    "cover_open": N_("Penutup pemindai terbuka. Tutup lalu mulai lagi."),
    "busy": N_("Pemindai sedang sibuk. Coba lagi sebentar lagi."),
    "offline": N_("Pemindai tidak terhubung. Mohon hubungi petugas."),
    "error": N_("Pemindai bermasalah. Mohon hubungi petugas."),
}
INTERRUPTED = N_("Pemindaian terputus karena perangkat dimulai ulang.")
# the PDF is made in a process of its own (edge.scan_pdf); 500 pages at 300 dpi take well under a minute here
PDF_TIMEOUT_S = 600
PDF_FAILED = N_("Berkas PDF tidak dapat dibuat. Mohon hubungi petugas.")
BUSY = N_("Pemindai sedang dipakai pengunjung lain; tunggu sebentar")
COLUMNS = (
    "id", "visit_id", "status", "pages", "started_at", "finished_at", "pdf_path", "pdf_sha256", "download_code",
    "code_expires_at", "error",
)


class ScanError(ValueError):
    def __init__(self, status: int, message: str, errors: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.errors = status, errors or {}


@dataclass(frozen=True)
class ScanJob:
    id: str
    visit_id: str
    status: str
    pages: int
    started_at: str
    finished_at: str | None
    pdf_path: str | None
    pdf_sha256: str | None
    download_code: str | None
    code_expires_at: str | None
    error: str | None

    def expired(self, now: datetime) -> bool:
        return self.code_expires_at is None or now >= datetime.fromisoformat(self.code_expires_at)

    def json(self, now: datetime) -> dict:
        live = self.download_code is not None and not self.expired(now)
        return {
            "id": self.id, "status": self.status, "pages": self.pages,  # never the visit: anyone may start a scan
            "download_code": self.download_code if live else None,
            "code_expires_at": self.code_expires_at if live else None,
            "started_at": self.started_at, "finished_at": self.finished_at, "error": self.error,
        }


def normalise_code(raw: str) -> str:
    """What a visitor types, read kindly: case and the separators of "ABCD-EFGH" do not matter."""
    return re.sub(r"[\s-]", "", raw or "").upper()


def normalise_ticket(raw: object) -> str | None:
    """"a7", "A-007", " A007 " → "A007"; None when it does not look like a queue number."""
    match = re.fullmatch(r"\s*([A-Za-z]{1,2})\s*-?\s*(\d{1,4})\s*", raw) if isinstance(raw, str) else None
    return format_number(match.group(1).upper(), int(match.group(2))) if match else None


class ScanService:
    def __init__(
        self, store: EdgeStore, scanner: Scanner | None, clock: Clock, office: Office, data_dir: Path,
        today: Callable[[], date], code_ttl: timedelta = timedelta(minutes=30), max_pages: int = 200,
    ):
        self.store, self.scanner, self.clock, self.office = store, scanner, clock, office
        self.data_dir, self.today = Path(data_dir), today
        self.code_ttl, self.max_pages = code_ttl, max_pages
        self._progress: dict[str, int] = {}
        self._threads: dict[str, threading.Thread] = {}
        self._stopping = threading.Event()

    @property
    def folder(self) -> Path:
        return self.data_dir / "scans"

    # --- life cycle -------------------------------------------------------------------------------------------

    def start_service(self) -> None:
        """At appliance start: jobs a power cut left `scanning` end now, with the pages they had spooled."""
        self.folder.mkdir(parents=True, exist_ok=True)
        rows = self.store.read.execute("SELECT id, visit_id FROM scans WHERE status = 'scanning'").fetchall()
        for job_id, visit_id in rows:
            log.warning("scan %s was interrupted; keeping the pages it had", job_id)
            self._finish(job_id, visit_id, INTERRUPTED)

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        for thread in list(self._threads.values()):
            thread.join(timeout)

    # --- jobs -------------------------------------------------------------------------------------------------

    def start(self, visit_id: object = None, ticket_number: object = None) -> str:
        """A new job for the visit (by id or by today's queue number); it takes the pages in the feeder."""
        if self.scanner is None:
            raise ScanError(503, N_("Pemindai belum dipasang pada perangkat ini"))
        if self._stopping.is_set():
            raise ScanError(503, N_("Perangkat sedang dimatikan"))
        now, job_id = self.clock.now(), new_id()
        try:
            with self.store.write() as db:
                visit = self._visit(db, visit_id, ticket_number)
                self._check_free(db, visit["id"])
                db.execute(
                    "INSERT INTO scans (id, visit_id, status, pages, started_at) VALUES (?, ?, 'scanning', 0, ?)",
                    [job_id, visit["id"], iso(now)],
                )
        except sqlite3.IntegrityError:  # another process started one in between
            raise ScanError(409, BUSY) from None
        self._progress[job_id] = 0
        thread = threading.Thread(target=self._run, args=(job_id, visit["id"]), name=f"scan-{job_id[-8:]}", daemon=True)
        self._threads[job_id] = thread
        thread.start()
        return job_id

    def _visit(self, db: Database, visit_id: object, ticket_number: object) -> dict:
        if (visit_id is None) == (ticket_number is None):
            raise ScanError(400, N_("Isi salah satu: visit_id atau ticket_number"), {"ticket_number": N_("wajib diisi")})
        if visit_id is not None:
            if not isinstance(visit_id, str):
                raise ScanError(400, N_("Kunjungan tidak sah"), {"visit_id": N_("harus berupa teks")})
            row = db.execute("SELECT id, finished_at FROM visits WHERE id = ?", [visit_id]).fetchone()
            if row is None:
                raise ScanError(404, N_("Kunjungan tidak ditemukan"))
        else:
            row = self._visit_of_ticket(db, ticket_number)
        if row[1] is not None:
            raise ScanError(400, N_("Kunjungan ini sudah selesai (checkout sudah dicatat)"))
        return {"id": row[0]}

    def _visit_of_ticket(self, db: Database, raw: object) -> tuple:
        number = normalise_ticket(raw)
        if number is None:
            raise ScanError(400, N_("Nomor antrian tidak sah"), {"ticket_number": N_("contoh: A007")})
        day = self.today().isoformat()
        row = db.execute(
            "SELECT v.id, v.finished_at FROM tickets t LEFT JOIN visits v ON v.ticket_id = t.id"
            " WHERE t.number = ? AND t.service_day = ? ORDER BY t.issued_at DESC LIMIT 1",
            [number, day],
        ).fetchone()
        if row is None:
            message = N_("Nomor antrian %(number)s tidak ada hari ini") % {"number": number}
            raise ScanError(404, message, {"ticket_number": N_("tidak ditemukan")})
        if row[0] is None:
            message = N_("Nomor antrian %(number)s belum mengisi buku tamu") % {"number": number}
            raise ScanError(404, message, {"ticket_number": N_("isi buku tamu dulu")})
        return row

    @staticmethod
    def _check_free(db: Database, visit_id: str) -> None:
        running = db.execute("SELECT visit_id FROM scans WHERE status = 'scanning'").fetchone()
        if running is None:
            return
        if running[0] == visit_id:
            raise ScanError(409, N_("Pemindaian Anda masih berjalan"))
        raise ScanError(409, BUSY)

    def _run(self, job_id: str, visit_id: str) -> None:
        spool = self._spool(job_id)
        spool.mkdir(parents=True, exist_ok=True)
        error = None
        try:
            for page in self.scanner.pages(limit=self.max_pages, cancel=self._stopping):
                number = self._progress[job_id] + 1
                (spool / f"{number:04d}-{page.dpi:g}.jpg").write_bytes(page.jpeg)
                self._progress[job_id] = number
            if self._stopping.is_set():
                error = INTERRUPTED
        except ScannerFault as fault:
            log.warning("scan %s: scanner fault %s: %s", job_id, fault.kind, fault)
            error = FAULTS.get(fault.kind, FAULTS["error"])
        except Exception:  # a driver bug must still end the job, not leave it scanning for ever
            log.exception("scan %s failed", job_id)
            error = FAULTS["error"]
        try:
            self._finish(job_id, visit_id, error)
        except Exception:
            log.exception("scan %s could not be finished", job_id)
        finally:
            self._progress.pop(job_id, None)
            self._threads.pop(job_id, None)

    def _finish(self, job_id: str, visit_id: str, error: str | None) -> None:
        """One PDF of the spooled pages, watermarked for the visitor, then the row and its outbox event together."""
        spool = self._spool(job_id)
        pages = sorted(spool.glob("*.jpg")) if spool.is_dir() else []
        now = self.clock.now()
        pdf = None
        if pages:
            try:
                pdf = self._write_pdf(job_id, visit_id, pages, now)
            except Exception:
                log.exception("scan %s: the PDF could not be written; its pages stay in %s", job_id, spool)
                error = PDF_FAILED
        with self.store.write() as db:
            code = self._new_code(db) if pdf else None
            expires = iso(now + self.code_ttl) if pdf else None
            status = "failed" if error else "ready"
            relative, digest, size = pdf or (None, None, 0)
            db.execute(
                "UPDATE scans SET status = ?, pages = ?, finished_at = ?, pdf_path = ?, pdf_sha256 = ?,"
                " download_code = ?, code_expires_at = ?, error = ? WHERE id = ?",
                [status, len(pages), iso(now), relative, digest, code, expires, error, job_id],
            )
            # the visitor's e-mail goes with a finished PDF: the cloud puts the file in their portal account
            owner = db.execute("SELECT name, email FROM visits WHERE id = ?", [visit_id]).fetchone() if pdf else None
            started = db.execute("SELECT started_at FROM scans WHERE id = ?", [job_id]).fetchone()[0]
            outbox.append(db, "scan", job_id, status, {
                "visit_id": visit_id, "started_at": started, "pages": len(pages), "file": relative, "sha256": digest,
                "bytes": size, "finished_at": iso(now), "error": error,
                **({"name": owner[0], "email": owner[1]} if owner and owner[1] else {}),
            }, now)
        if pdf:
            shutil.rmtree(spool, ignore_errors=True)

    def _write_pdf(self, job_id: str, visit_id: str, pages: list[Path], now: datetime) -> tuple[str, str, int]:
        name = self.store.read.execute("SELECT name FROM visits WHERE id = ?", [visit_id]).fetchone()[0]
        lines = watermark_lines(self.office.name, name, now, self.office.tz, visit_id)
        target = self.folder / f"{job_id}.pdf"
        job = {"pages": [[str(path), float(path.stem.split("-", 1)[1])] for path in pages], "lines": lines,
               "target": str(target)}
        made = subprocess.run([sys.executable, "-m", "edge.scan_pdf"], input=json.dumps(job), capture_output=True,
                              text=True, timeout=PDF_TIMEOUT_S)
        if made.returncode != 0:
            raise RuntimeError(f"edge.scan_pdf ended with {made.returncode}: {made.stderr.strip()[-1000:]}")
        with target.open("rb") as made_file:  # read in blocks: a long scan's PDF is tens of MB
            digest = hashlib.file_digest(made_file, "sha256").hexdigest()
        return str(target.relative_to(self.data_dir)), digest, target.stat().st_size

    @staticmethod
    def _new_code(db: Database) -> str:
        while True:
            code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
            if db.execute("SELECT 1 FROM scans WHERE download_code = ?", [code]).fetchone() is None:
                return code

    def _spool(self, job_id: str) -> Path:
        return self.folder / f"{job_id}.pages"

    # --- reading ----------------------------------------------------------------------------------------------

    def get(self, job_id: str) -> ScanJob | None:
        progress = self._progress.get(job_id)  # read before the row: a job ending in between shows its final row
        row = self.store.read.execute(f"SELECT {', '.join(COLUMNS)} FROM scans WHERE id = ?", [job_id]).fetchone()
        if row is None:
            return None
        job = ScanJob(*row)
        if job.status == "scanning" and progress is not None:  # progress lives in memory until the job ends
            job = ScanJob(*row[:3], progress, *row[4:])
        return job

    @property
    def state(self) -> str:
        """For `/healthz`: "absent" (no scanner configured), "scanning" or "ok"."""
        if self.scanner is None:
            return "absent"
        return "scanning" if self._threads else "ok"

    def wait(self, job_id: str, timeout: float = 30.0) -> ScanJob | None:
        thread = self._threads.get(job_id)
        if thread is not None:
            thread.join(timeout)
        return self.get(job_id)

    def download(self, code: str) -> Path | None:
        """The PDF for a live code; None when the code is wrong or has expired."""
        code = normalise_code(code)
        if len(code) != CODE_LENGTH or set(code) - set(CODE_ALPHABET):
            return None
        row = self.store.read.execute(f"SELECT {', '.join(COLUMNS)} FROM scans WHERE download_code = ?", [code]).fetchone()
        if row is None:
            return None
        job = ScanJob(*row)
        if job.expired(self.clock.now()) or job.pdf_path is None:
            return None
        path = self.data_dir / job.pdf_path
        return path if path.is_file() else None

    def pages_for_visit(self, visit_id: str) -> int:
        """Every page the visit has scanned, the running job's included."""
        done = self.store.read.execute("SELECT COALESCE(SUM(pages), 0) FROM scans WHERE visit_id = ?", [visit_id]).fetchone()[0]
        running = self.store.read.execute(
            "SELECT id FROM scans WHERE visit_id = ? AND status = 'scanning'", [visit_id]
        ).fetchall()
        return done + sum(self._progress.get(job_id, 0) for (job_id,) in running)

    def of_visit(self, visit_id: str) -> list[ScanJob]:
        """The visit's finished jobs, newest first: what the visitor's own page offers while their codes live."""
        rows = self.store.read.execute(
            f"SELECT {', '.join(COLUMNS)} FROM scans WHERE visit_id = ? AND status != 'scanning' ORDER BY started_at DESC",
            [visit_id],
        ).fetchall()
        return [ScanJob(*row) for row in rows]

    def visitor_name(self, visit_id: str) -> str | None:
        row = self.store.read.execute("SELECT name FROM visits WHERE id = ?", [visit_id]).fetchone()
        return row[0] if row else None

    def purge(self, keep: timedelta = timedelta(days=7)) -> int:
        """Deletes the PDFs whose code expired more than `keep` ago and whose outbox event has reached the cloud:
        a visitor's documents do not stay on the appliance. Returns how many files went."""
        cutoff = iso(self.clock.now() - keep)
        rows = self.store.read.execute(
            "SELECT s.id, s.pdf_path FROM scans s JOIN outbox o ON o.entity = 'scan' AND o.entity_id = s.id"
            " WHERE s.pdf_path IS NOT NULL AND s.code_expires_at < ? AND o.sent_at IS NOT NULL",
            [cutoff],
        ).fetchall()
        removed = 0
        for job_id, relative in rows:
            path = self.data_dir / relative
            if path.exists():
                path.unlink()
                removed += 1
            with self.store.write() as db:
                db.execute("UPDATE scans SET pdf_path = NULL WHERE id = ?", [job_id])
        return removed

    # --- checkout ---------------------------------------------------------------------------------------------

    @staticmethod
    def settle(db: Database, visit_id: str, now: datetime) -> None:
        """Checkout settler: a visitor whose pages are still going through the scanner cannot leave yet."""
        if db.execute("SELECT 1 FROM scans WHERE visit_id = ? AND status = 'scanning'", [visit_id]).fetchone():
            raise LockerError(409, N_("Pemindaian masih berjalan"))
