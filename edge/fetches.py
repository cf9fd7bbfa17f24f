"""Fetch-from-storage requests (step 5a of the standard): a visitor asks for a publication that is not on the display
shelf, the librarian takes it from the storage room and hands it over when a copy is free.

diminta → diambil → diserahkan → dikembalikan; diminta or diambil → tidak_tersedia, or dibatalkan when the visitor
no longer needs it. Checkout closes what is still open: an item being fetched is cancelled, an item in the visitor's
hands is returned. Handing over counts one in-house use. Every change is one transaction with its outbox event.
"""

from __future__ import annotations

from datetime import datetime

from sqlite_utils import Database

from edge import outbox
from edge.catalogue import record_use
from edge.i18n import N_
from edge.store import EdgeStore
from pst.clock import Clock, iso
from pst.ids import new_id

# The tables are made by migration m005_reading_room (edge/migrations.py).

STATUS_WORDS = {
    "diminta": N_("diminta"), "diambil": N_("diambil dari penyimpanan"), "diserahkan": N_("diserahkan"),
    "tidak_tersedia": N_("tidak tersedia"), "dikembalikan": N_("dikembalikan"), "dibatalkan": N_("dibatalkan"),
}
# target → the statuses it may follow
TRANSITIONS = {
    "diambil": ("diminta",),
    "diserahkan": ("diambil",),
    "tidak_tersedia": ("diminta", "diambil"),
    "dikembalikan": ("diserahkan",),
    "dibatalkan": ("diminta", "diambil"),
}
FINAL = ("tidak_tersedia", "dikembalikan", "dibatalkan")
STAMPS = {"diambil": ("fetched_at", "fetched_by"), "diserahkan": ("handed_at", "handed_by")}
COLUMNS = (
    "id", "visit_id", "publication_id", "status", "requested_at", "requested_by", "fetched_at", "fetched_by",
    "handed_at", "handed_by", "unavailable_at", "closed_at", "closed_by", "note",
)
VIEW = (
    f"SELECT {', '.join('f.' + c for c in COLUMNS)}, p.catalogue_number, p.title, p.year, p.shelf, p.copies,"
    " v.name, t.number FROM fetch_requests f JOIN publications p ON p.id = f.publication_id"
    " JOIN visits v ON v.id = f.visit_id JOIN tickets t ON t.id = v.ticket_id"
)


class FetchError(ValueError):
    def __init__(self, status: int, message: str, errors: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.errors = status, errors or {}


class FetchService:
    def __init__(self, store: EdgeStore, clock: Clock):
        self.store, self.clock = store, clock

    def request(self, visit_id: str, publication_id: object, staff_id: str | None = None, note: object = None) -> dict:
        if not isinstance(publication_id, str) or not publication_id:
            raise FetchError(400, N_("Pilih publikasi yang diminta"), {"publication_id": N_("wajib diisi")})
        now = self.clock.now()
        with self.store.write() as db:
            self._check_visit(db, visit_id)
            self._check_publication(db, visit_id, publication_id)
            row = {c: None for c in COLUMNS} | {
                "id": new_id(), "visit_id": visit_id, "publication_id": publication_id, "status": "diminta",
                "requested_at": iso(now), "requested_by": staff_id, "note": _note(note),
            }
            db["fetch_requests"].insert(row)
            self._event(db, row["id"], "diminta", now, staff_id)
            return self.get(row["id"], db)

    def advance(self, request_id: str, status: str, staff_id: str | None = None, note: object = None) -> dict:
        if status not in STATUS_WORDS:
            raise FetchError(404, N_("Status permintaan tidak dikenal: %(status)s") % {"status": status})
        now = self.clock.now()
        with self.store.write() as db:
            current = self.get(request_id, db)
            if current is None:
                raise FetchError(404, N_("Permintaan tidak ditemukan"))
            if current["status"] not in TRANSITIONS.get(status, ()):
                raise FetchError(409, _refusal(current["status"], status))
            if status == "diambil":
                self._check_copy_free(db, current)
            stamp, by = STAMPS.get(status, ("closed_at", "closed_by"))
            extra = ", unavailable_at = :at" if status == "tidak_tersedia" else ""
            db.execute(
                f"UPDATE fetch_requests SET status = :status, {stamp} = :at, {by} = :staff{extra},"
                " note = coalesce(:note, note) WHERE id = :id",
                {"status": status, "at": iso(now), "staff": staff_id, "note": _note(note), "id": request_id},
            )
            if status == "diserahkan":
                record_use(db, current["publication_id"], now, staff_id, request_id)
            self._event(db, request_id, status, now, staff_id)
            return self.get(request_id, db)

    def settle(self, db: Database, visit_id: str, now: datetime) -> None:
        """Checkout settler, inside checkout's transaction: closes the visit's open requests and never refuses."""
        open_rows = db.execute(
            "SELECT id, status FROM fetch_requests WHERE visit_id = ? AND closed_at IS NULL", [visit_id]
        ).fetchall()
        for request_id, status in open_rows:
            target = "dikembalikan" if status == "diserahkan" else "dibatalkan"
            db.execute("UPDATE fetch_requests SET status = ?, closed_at = ? WHERE id = ?", [target, iso(now), request_id])
            self._event(db, request_id, target, now, None, by="checkout")

    # --- views -----------------------------------------------------------------------------------------------------
    def get(self, request_id: str, db: Database | None = None) -> dict | None:
        row = (db or self.store.read).execute(VIEW + " WHERE f.id = ?", [request_id]).fetchone()
        return self._view(row, self.clock.now()) if row else None

    def of_visit(self, visit_id: str) -> list[dict]:
        """Every request of the visit, open or not, oldest first: what the visitor's frontliner sees."""
        now = self.clock.now()
        rows = self.store.read.execute(VIEW + " WHERE f.visit_id = ? ORDER BY f.requested_at, f.rowid", [visit_id])
        return [self._view(row, now) for row in rows]

    def open_for_visit(self, visit_id: str) -> list[dict]:
        return [r for r in self.of_visit(visit_id) if r["closed_at"] is None]

    def queue(self) -> list[dict]:
        """The librarian's list: open requests, oldest first, with the visitor and how long they have waited."""
        now = self.clock.now()
        rows = self.store.read.execute(VIEW + " WHERE f.closed_at IS NULL ORDER BY f.requested_at, f.rowid")
        return [self._view(row, now) for row in rows]

    def _view(self, row, now: datetime) -> dict:
        item = dict(zip(COLUMNS, row[:len(COLUMNS)]))
        number, title, year, shelf, copies, name, ticket = row[len(COLUMNS):]
        item["publication"] = {"catalogue_number": number, "title": title, "year": year, "shelf": shelf, "copies": copies}
        item["visitor"] = {"name": name, "ticket_number": ticket}
        until = item["handed_at"] or item["closed_at"]
        item["waited_s"] = int(((datetime.fromisoformat(until) if until else now)
                                - datetime.fromisoformat(item["requested_at"])).total_seconds())
        return item

    # --- checks ----------------------------------------------------------------------------------------------------
    @staticmethod
    def _check_visit(db: Database, visit_id: str) -> None:
        row = db.execute("SELECT finished_at FROM visits WHERE id = ?", [visit_id]).fetchone()
        if row is None:
            raise FetchError(404, N_("Kunjungan tidak ditemukan"))
        if row[0] is not None:
            raise FetchError(409, N_("Kunjungan sudah selesai"))

    @staticmethod
    def _check_publication(db: Database, visit_id: str, publication_id: str) -> None:
        row = db.execute("SELECT location, shelf, copies FROM publications WHERE id = ?", [publication_id]).fetchone()
        if row is None:
            raise FetchError(404, N_("Publikasi tidak ditemukan di katalog"), {"publication_id": N_("tidak ditemukan")})
        location, shelf, copies = row
        if location == "display":
            if shelf:
                raise FetchError(409, N_("Publikasi ini ada di rak pajang %(shelf)s: pengunjung dapat mengambilnya"
                                         " sendiri") % {"shelf": shelf})
            raise FetchError(409, N_("Publikasi ini ada di rak pajang: pengunjung dapat mengambilnya sendiri"))
        if copies == 0:
            raise FetchError(409, N_("Perpustakaan tidak memiliki eksemplar tercetak publikasi ini"))
        held = db.execute(
            "SELECT status FROM fetch_requests WHERE visit_id = ? AND publication_id = ? AND closed_at IS NULL",
            [visit_id, publication_id],
        ).fetchone()
        if held:
            raise FetchError(409, N_("Publikasi ini sudah diminta untuk kunjungan ini (status: %(status)s)")
                             % {"status": STATUS_WORDS[held[0]]})

    @staticmethod
    def _check_copy_free(db: Database, current: dict) -> None:
        """A copy is free when fewer are out (taken or handed over, not yet back) than the library holds."""
        out = db.execute(
            "SELECT count(*) FROM fetch_requests WHERE publication_id = ? AND status IN ('diambil', 'diserahkan')"
            " AND closed_at IS NULL", [current["publication_id"]],
        ).fetchone()[0]
        copies = current["publication"]["copies"]
        if out >= copies:
            raise FetchError(409, N_("Semua eksemplar (%(copies)s) sedang dipakai pengunjung lain: tunggu sampai"
                                     " dikembalikan, atau tandai tidak tersedia") % {"copies": copies})

    def _event(self, db: Database, request_id: str, op: str, now: datetime, staff_id: str | None, by: str = "staff") -> None:
        row = db.execute(
            f"SELECT {', '.join('f.' + c for c in COLUMNS)}, p.catalogue_number, p.year FROM fetch_requests f"
            " JOIN publications p ON p.id = f.publication_id WHERE f.id = ?", [request_id],
        ).fetchone()
        payload = dict(zip(COLUMNS + ("catalogue_number", "year"), row)) | {"at": iso(now), "staff_id": staff_id, "by": by}
        outbox.append(db, "fetch_request", request_id, op, payload, now)


def _refusal(current: str, target: str) -> str:
    """Why `current` cannot become `target`, in the words the librarian uses."""
    words = {"status": STATUS_WORDS.get(current, current)}
    if current in FINAL:
        return N_("Permintaan ini sudah selesai (%(status)s)") % words
    if current == target:
        return N_("Permintaan ini sudah berstatus %(status)s") % words
    if target == "diminta":
        return N_("Status permintaan tidak dapat kembali menjadi diminta")
    if current == "diserahkan":
        return N_("Publikasi sudah diserahkan kepada pengunjung: yang dapat dicatat hanya pengembaliannya")
    if target == "diserahkan":
        return N_("Publikasi belum diambil dari ruang penyimpanan")
    return N_("Publikasi belum diserahkan kepada pengunjung")


def _note(note: object) -> str | None:
    if not isinstance(note, str) or not note.strip():
        return None
    return " ".join(note.split())[:300]
