"""Where each office keeps an edition in its reading room. Set here (the office's librarian, in the back office or
by the staff API), sent down to that office's appliance with the catalogue by the sync."""

from __future__ import annotations

from cloud.accounts import AccountError
from cloud.changes import record_change
from cloud.db import Database
from pst.catalogue_csv import SHELF
from pst.clock import Clock

LOCATIONS = ("display", "storage")


class Locations:
    def __init__(self, db: Database, clock: Clock):
        self.db, self.clock = db, clock

    async def of(self, publication_id: str) -> list[dict]:
        return await self.db.execute(
            "SELECT office_code, location, shelf, copies FROM publication_locations WHERE publication_id = {}"
            " ORDER BY office_code", publication_id[:100],
        )

    async def put(self, publication_id: str, office_code: str, location: object, shelf: object,
                  copies: object) -> dict:
        errors = {}
        if location not in LOCATIONS:
            errors["location"] = "display (rak pajang) atau storage (ruang penyimpanan)"
        shelf_text = shelf.strip().upper().replace(" ", "") if isinstance(shelf, str) else None
        if (shelf is not None and not isinstance(shelf, str)) or (shelf_text and not SHELF.fullmatch(shelf_text)):
            errors["shelf"] = "kode rak seperti R-03 atau G-12-4"
        if isinstance(copies, bool) or not isinstance(copies, int) or not 0 <= copies <= 999:
            errors["copies"] = "jumlah eksemplar 0–999"
        if errors:
            raise AccountError(400, "Lokasi belum benar", errors)
        now = self.clock.now()
        async with self.db.transaction():
            if not await self.db.execute("SELECT 1 AS yes FROM publications WHERE id = {}", publication_id[:100]):
                raise AccountError(404, "Publikasi tidak ditemukan")
            if not await self.db.execute("SELECT 1 AS yes FROM offices WHERE code = {}", office_code[:8]):
                raise AccountError(404, "Kantor tidak dikenal")
            await self.db.execute(
                "INSERT INTO publication_locations (publication_id, office_code, location, shelf, copies, updated_at)"
                " VALUES ({}, {}, {}, {}, {}, {}) ON CONFLICT (publication_id, office_code) DO UPDATE SET"
                " location = excluded.location, shelf = excluded.shelf, copies = excluded.copies,"
                " updated_at = excluded.updated_at",
                publication_id, office_code, location, shelf_text or None, copies, now,
            )
            await record_change(self.db, "publication", publication_id, office_code, now)
        return {"publication_id": publication_id, "office_code": office_code, "location": location,
                "shelf": shelf_text or None, "copies": copies}
