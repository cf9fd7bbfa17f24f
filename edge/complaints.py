"""Complaints (pengaduan) from every channel of the service standard, with a tracking number the complainant can
look up: diterima → ditindaklanjuti → selesai, the staff response and the time to resolve.

A complainant enters one at the kiosk (langsung, kotak saran); staff enter those that came by box, e-mail,
WhatsApp or SP4N LAPOR. The tracking number is `ADU-<office>-<YYMM>-<6 characters>`: the characters are drawn at
random from an alphabet without 0/O, 1/I/L and U, so it reads aloud and types without mistakes and cannot be
guessed from a neighbour's number. The public lookup answers the status and the response, never the complaint's
text or contact. Every change is one transaction with its outbox event.
"""

from __future__ import annotations

import secrets
import sqlite3
from datetime import datetime, timedelta, tzinfo

from sqlite_utils import Database

from edge import outbox
from edge.i18n import N_
from edge.store import EdgeStore
from pst.clock import Clock, iso
from pst.ids import new_id
from pst.skm import COMPLAINT_TEXT_MAX as TEXT_MAX  # the rules the portal shares
from pst.skm import COMPLAINT_TEXT_MIN, CONTACT_MAX, RESPONSE_MAX, TRANSITIONS, tracking_number
from pst.skm import TRACKING as TRACKING, normalise_tracking as normalise_tracking  # noqa: PLC0414 (re-exported)

# The table is made by migration m006_ratings_and_complaints (edge/migrations.py).

CHANNELS = {
    "langsung": N_("Langsung di loket"), "kotak_saran": N_("Kotak saran"), "website": N_("Website"),
    "email": N_("E-mail"), "whatsapp": N_("WhatsApp"), "lapor": N_("SP4N LAPOR!"),
}
PUBLIC_CHANNELS = ("langsung", "kotak_saran")  # what a complainant may choose at the kiosk
STATUS_WORDS = {"diterima": N_("diterima"), "ditindaklanjuti": N_("ditindaklanjuti"), "selesai": N_("selesai")}
STAMPS = {"ditindaklanjuti": ("followed_up_at", "followed_up_by"), "selesai": ("resolved_at", "resolved_by")}
PUBLIC_PER_10_MIN = 10  # complaints from the kiosk in ten minutes before it asks to wait
COLUMNS = (
    "id", "tracking", "channel", "text", "contact", "entered_by", "status", "received_at", "followed_up_at",
    "followed_up_by", "resolved_at", "resolved_by", "response", "responded_at",
)


class ComplaintError(ValueError):
    def __init__(self, status: int, message: str, errors: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.errors = status, errors or {}


def _text(value: object, field: str, limit: int, required: bool, errors: dict) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            errors[field] = N_("wajib diisi")
        return None
    if not isinstance(value, str):
        errors[field] = N_("harus berupa teks")
        return None
    if len(value) > limit:
        errors[field] = N_("terlalu panjang (maks. %(limit)s karakter)") % {"limit": limit}
        return None
    return value.strip()


class ComplaintService:
    def __init__(self, store: EdgeStore, clock: Clock, office_code: str, tz: tzinfo):
        self.store, self.clock, self.office_code, self.tz = store, clock, office_code, tz

    def submit(self, channel: object, text: object, contact: object = None, staff_id: str | None = None) -> dict:
        """A new complaint, status diterima. Without `staff_id` only the kiosk's channels are allowed."""
        errors: dict[str, str] = {}
        allowed = CHANNELS if staff_id else PUBLIC_CHANNELS
        if channel not in allowed:
            choices = {"choices": ", ".join(allowed)}
            errors["channel"] = N_("saluran tidak sah: pilih salah satu dari %(choices)s") % choices
        body = _text(text, "text", TEXT_MAX, True, errors)
        if body is not None and len(body) < COMPLAINT_TEXT_MIN:
            errors["text"] = N_("ceritakan sedikit lebih lengkap (min. 10 karakter)")
        reach = _text(contact, "contact", CONTACT_MAX, False, errors)
        if errors:
            raise ComplaintError(400, N_("Pengaduan belum lengkap atau tidak sah"), errors)
        now = self.clock.now()
        with self.store.write() as db:
            if staff_id is None:
                self._brake(db, now)
            row = dict.fromkeys(COLUMNS) | {
                "id": new_id(), "channel": channel, "text": body, "contact": reach, "entered_by": staff_id,
                "status": "diterima", "received_at": iso(now),
            }
            row["tracking"] = self._insert(db, row, now)
            outbox.append(db, "complaint", row["id"], "diterima", row, now)
        return self.view(row)

    def _insert(self, db: Database, row: dict, now: datetime) -> str:
        month = now.astimezone(self.tz).strftime("%y%m")  # the office's month
        for _ in range(20):
            tracking = tracking_number(self.office_code, month, secrets.choice)
            try:
                db.execute("SAVEPOINT tracking")
                db["complaints"].insert(row | {"tracking": tracking})
                db.execute("RELEASE tracking")
                return tracking
            except sqlite3.IntegrityError:
                db.execute("ROLLBACK TO tracking")
                db.execute("RELEASE tracking")
        raise RuntimeError("no free tracking number after 20 draws")  # 30^6 a month: not in this universe

    def _brake(self, db: Database, now: datetime) -> None:
        recent = db.execute(
            "SELECT count(*) FROM complaints WHERE entered_by IS NULL AND received_at > ?",
            [iso(now - timedelta(minutes=10))],
        ).fetchone()[0]
        if recent >= PUBLIC_PER_10_MIN:
            raise ComplaintError(429, N_("Terlalu banyak pengaduan dalam waktu singkat; coba lagi sebentar lagi"))

    def advance(self, complaint_id: str, status: str, staff_id: str, response: object = None) -> dict:
        """diterima → ditindaklanjuti → selesai (or straight to selesai); selesai needs the response."""
        if status not in TRANSITIONS:
            raise ComplaintError(404, N_("Status pengaduan tidak dikenal: %(status)s") % {"status": str(status)[:30]})
        errors: dict[str, str] = {}
        answer = _text(response, "response", RESPONSE_MAX, status == "selesai", errors)
        if errors:
            raise ComplaintError(400, N_("Tanggapan wajib diisi untuk menyelesaikan pengaduan"), errors)
        now = self.clock.now()
        with self.store.write() as db:
            current = self._get(db, "id", complaint_id)
            if current is None:
                raise ComplaintError(404, N_("Pengaduan tidak ditemukan"))
            if current["status"] not in TRANSITIONS[status]:
                words = {"status": current["status"]}
                raise ComplaintError(409, N_("Pengaduan ini sudah berstatus %(status)s") % words)
            stamp, by = STAMPS[status]
            changes = {"status": status, stamp: iso(now), by: staff_id}
            if answer is not None:
                changes |= {"response": answer, "responded_at": iso(now)}
            db["complaints"].update(complaint_id, changes)
            updated = current | changes
            # the portal knows no appliance account: the event names the staff member too (`by_name`)
            who = db.execute("SELECT username FROM users WHERE id = ?", [staff_id]).fetchone()
            payload = changes | {"tracking": current["tracking"], "by_name": who[0] if who else None}
            outbox.append(db, "complaint", complaint_id, status, payload, now)
        return self.view(updated)

    # --- views -----------------------------------------------------------------------------------------------------
    def lookup(self, raw_tracking: object) -> dict | None:
        """The public answer for a tracking number: status and response, nothing the complainant wrote."""
        tracking = normalise_tracking(raw_tracking)
        row = self._get(self.store.read, "tracking", tracking) if tracking else None
        if row is None:
            return None
        keys = ("tracking", "status", "received_at", "resolved_at", "response")
        return {k: row[k] for k in keys}

    def get(self, complaint_id: str) -> dict | None:
        row = self._get(self.store.read, "id", complaint_id)
        return self.view(row) if row else None

    def queue(self, status: str | None = None) -> list[dict]:
        """Staff list: open ones oldest first, then the resolved ones newest first (the last 100)."""
        read = self.store.read
        select = f"SELECT {', '.join(COLUMNS)} FROM complaints"
        if status:
            rows = read.execute(select + " WHERE status = ? ORDER BY received_at DESC LIMIT 200", [status]).fetchall()
        else:
            rows = read.execute(select + " WHERE status != 'selesai' ORDER BY received_at").fetchall()
            rows += read.execute(select + " WHERE status = 'selesai' ORDER BY resolved_at DESC LIMIT 100").fetchall()
        return [self.view(dict(zip(COLUMNS, row))) for row in rows]

    @staticmethod
    def _get(db: Database, key: str, value: str) -> dict | None:
        row = db.execute(f"SELECT {', '.join(COLUMNS)} FROM complaints WHERE {key} = ?", [value]).fetchone()
        return dict(zip(COLUMNS, row)) if row else None

    @staticmethod
    def view(row: dict) -> dict:
        resolve_s = None
        if row["resolved_at"]:
            took = datetime.fromisoformat(row["resolved_at"]) - datetime.fromisoformat(row["received_at"])
            resolve_s = int(took.total_seconds())
        return dict(row) | {"resolve_s": resolve_s}
