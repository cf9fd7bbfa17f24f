"""Softcopy requests taken at the desk: a visitor asks for the digital file of a publication (or describes what
they need). The appliance records it, with the visitor's e-mail from the guestbook, and the sync carries it to the
cloud, where staff fulfil it and the visitor receives it through the portal. From then on the status belongs to the
cloud: the sync brings it back down, and the visit page shows it.
"""

from __future__ import annotations

from edge import outbox
from edge.i18n import N_
from edge.store import EdgeStore
from pst.clock import Clock, iso
from pst.ids import new_id

# the purposes of the cloud's request form (cloud.requests.PURPOSES): the request is fulfilled there
PURPOSE_WORDS = {
    "penelitian": N_("Penelitian"), "tugas_kuliah": N_("Tugas kuliah / skripsi"),
    "perencanaan": N_("Perencanaan pembangunan"), "jurnalistik": N_("Jurnalistik"), "lainnya": N_("Lainnya"),
}
PURPOSES = tuple(PURPOSE_WORDS)
STATUS_WORDS = {"diajukan": N_("diajukan"), "diproses": N_("diproses"), "selesai": N_("selesai — dikirim ke portal"),
                "ditolak": N_("ditolak")}
DESCRIPTION_MAX = 1000
COLUMNS = ("id", "visit_id", "email", "name", "catalogue_number", "year", "description", "purpose", "status",
           "reason", "created_at", "status_at")


class SoftcopyRequestError(Exception):
    def __init__(self, status: int, message: str, errors: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.errors = status, message, errors or {}


class SoftcopyRequestService:
    def __init__(self, store: EdgeStore, clock: Clock):
        self.store, self.clock = store, clock

    def create(self, visit_id: object, publication_id: object = None, description: object = None,
               purpose: object = None) -> dict:
        errors: dict[str, str] = {}
        if purpose not in PURPOSES:
            errors["purpose"] = N_("pilih salah satu keperluan")
        text = description.strip() if isinstance(description, str) else None
        if description is not None and not isinstance(description, str):
            errors["description"] = N_("harus berupa teks")
        elif text and len(text) > DESCRIPTION_MAX:
            errors["description"] = N_("paling banyak 1000 karakter")
        if not publication_id and not text:
            errors["description"] = N_("pilih publikasi dari katalog atau tuliskan data yang dibutuhkan")
        if errors:
            raise SoftcopyRequestError(400, N_("Permintaan softcopy belum lengkap"), errors)
        now = self.clock.now()
        with self.store.write() as db:
            visit = db.execute("SELECT name, email FROM visits WHERE id = ?", [str(visit_id)]).fetchone()
            if visit is None:
                raise SoftcopyRequestError(404, N_("Kunjungan tidak ditemukan"))
            if not visit[1]:
                raise SoftcopyRequestError(400, N_("Kunjungan ini tidak mencatat e-mail; softcopy dikirim lewat"
                                                   " portal ke e-mail pengunjung"), {"email": N_("wajib")})
            number = year = None
            if publication_id:
                found = db.execute("SELECT catalogue_number, year FROM publications WHERE id = ?",
                                   [str(publication_id)]).fetchone()
                if found is None:
                    raise SoftcopyRequestError(400, N_("Publikasi tidak ada di katalog"),
                                               {"publication_id": N_("tidak dikenal")})
                number, year = found
            row = {"id": new_id(), "visit_id": str(visit_id), "email": visit[1], "name": visit[0],
                   "catalogue_number": number, "year": year, "description": text or None, "purpose": purpose,
                   "status": "diajukan", "reason": None, "created_at": iso(now), "status_at": iso(now)}
            db["softcopy_requests"].insert(row)
            outbox.append(db, "softcopy_request", row["id"], "created",
                          {k: row[k] for k in COLUMNS if k not in ("status", "reason", "status_at")}, now)
        return row

    def of_visit(self, visit_id: str) -> list[dict]:
        rows = self.store.read.execute(
            f"SELECT {', '.join(COLUMNS)} FROM softcopy_requests WHERE visit_id = ? ORDER BY created_at", [visit_id]
        ).fetchall()
        return [dict(zip(COLUMNS, r)) for r in rows]

    def get(self, request_id: str) -> dict | None:
        row = self.store.read.execute(
            f"SELECT {', '.join(COLUMNS)} FROM softcopy_requests WHERE id = ?", [request_id]
        ).fetchone()
        return dict(zip(COLUMNS, row)) if row else None
