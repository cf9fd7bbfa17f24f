"""Lockers and ID-card custody (steps 3, 4 and 7 of the standard).

The frontliner gives a visit the lowest free working locker against the visitor's ID card: the card's number is
kept only as its last four digits and a keyed hash (to match the card on return). A locker stays busy after
checkout until its door is shut again. Doors that do not open within a while after an unlock (the visitor has not
come, or a stuck relay or lock) or are left open too long raise alerts, which staff may acknowledge.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import threading
from datetime import datetime, timedelta

from typing import TYPE_CHECKING

from sqlite_utils import Database

from edge import audit, outbox
from edge.alerts import clear_alert, raise_alert
from edge.guestbook import ID_TYPES
from edge.i18n import N_
from edge.store import EdgeStore
from pst.clock import Clock, iso
from pst.ids import new_id

if TYPE_CHECKING:
    from edge.config import LockerRules
    from hardware.interfaces import LockerBank

log = logging.getLogger(__name__)
ALERT_PREFIX = "locker_"
# The one state a locker's card shows, from its use and its door: (status, door open) → words.
CARD_WORDS = {
    ("free", False): N_("kosong"), ("free", True): N_("kosong, pintu terbuka"),
    ("occupied", False): N_("terpakai"), ("occupied", True): N_("terpakai, pintu terbuka"),
    ("releasing", False): N_("checkout: menunggu pengunjung membuka pintu"),
    ("releasing", True): N_("checkout: menunggu pintu ditutup"),
    ("out_of_service", False): N_("tidak dapat dipakai"), ("out_of_service", True): N_("tidak dapat dipakai, pintu terbuka"),
}


class LockerError(ValueError):
    def __init__(self, status: int, message: str, errors: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.errors = status, errors or {}


def normalise_id_number(id_type: str, raw: object) -> str:
    """Digits and letters only, upper case; a KTP number (NIK) has exactly 16 digits."""
    if not isinstance(raw, str):
        raise LockerError(400, N_("Nomor kartu identitas wajib diisi"), {"id_number": "wajib diisi"})
    number = re.sub(r"[\s.-]", "", raw).upper()
    if id_type == "KTP" and not re.fullmatch(r"\d{16}", number):
        raise LockerError(400, N_("NIK pada KTP harus 16 angka"), {"id_number": "NIK harus 16 angka"})
    if not re.fullmatch(r"[A-Z0-9]{4,30}", number):
        raise LockerError(400, N_("Nomor kartu identitas tidak sah"), {"id_number": "4–30 huruf/angka"})
    return number


class LockerService:
    def __init__(self, store: EdgeStore, bank: LockerBank, rules: LockerRules, clock: Clock, key: bytes):
        self.store, self.bank, self.rules, self.clock = store, bank, rules, clock
        self._key = key
        self._expect: dict[int, tuple[str, datetime]] = {}  # door → ("open"|"close", deadline)
        self._lock = threading.Lock()

    def start(self) -> None:
        with self.store.write() as db:
            for number in self.bank.numbers:
                db.execute("INSERT OR IGNORE INTO lockers (number) VALUES (?)", [number])
        self.bank.on_door(self.door_changed)

    def id_hash(self, number: str) -> str:
        return hmac.new(self._key, number.encode(), hashlib.sha256).hexdigest()

    def assign(self, visit_id: str, id_type: object, id_number: object, staff_id: str | None = None,
               actor: audit.Actor | None = None) -> int:
        if id_type not in ID_TYPES:
            raise LockerError(400, N_("Jenis kartu identitas tidak sah"), {"id_type": f"salah satu dari {', '.join(ID_TYPES)}"})
        number_clean = normalise_id_number(id_type, id_number)
        now = self.clock.now()
        with self.store.write() as db:
            self._check_visit(db, visit_id)
            locker = self._lowest_free(db)
            use = {
                "id": new_id(), "locker": locker, "visit_id": visit_id, "id_type": id_type,
                "id_last4": number_clean[-4:], "id_hash": self.id_hash(number_clean), "assigned_at": iso(now),
                "staff_id": staff_id, "released_at": None, "door_closed_at": None,
            }
            db["locker_uses"].insert(use)
            # never the keyed hash: it stays on the appliance (a restored use matches the card by its last four)
            public = {k: use[k] for k in ("locker", "visit_id", "id_type", "id_last4", "assigned_at", "staff_id")}
            outbox.append(db, "locker_use", use["id"], "assigned", public, now)
            if actor:  # the card's type only: its number never enters the trail
                actor.record(db, now, "locker.assign", f"locker:{locker}", visit=visit_id, id_type=id_type)
                actor.record(db, now, "locker.open", f"locker:{locker}", visit=visit_id, reason="titip")
        self._unlock(locker, now)
        return locker

    def _check_visit(self, db: Database, visit_id: str) -> None:
        row = db.execute("SELECT finished_at FROM visits WHERE id = ?", [visit_id]).fetchone()
        if row is None:
            raise LockerError(404, N_("Kunjungan tidak ditemukan"))
        if row[0] is not None:
            raise LockerError(409, N_("Kunjungan sudah selesai"))
        held = db.execute("SELECT locker FROM locker_uses WHERE visit_id = ? AND released_at IS NULL", [visit_id]).fetchone()
        if held:
            raise LockerError(409, N_("Pengunjung ini sudah memakai loker %(number)s") % {"number": held[0]})

    def _lowest_free(self, db: Database) -> int:
        placeholders = ", ".join("?" * len(self.bank.numbers)) or "NULL"
        row = db.execute(
            f"SELECT number FROM lockers WHERE in_service = 1 AND number IN ({placeholders})"
            " AND number NOT IN (SELECT locker FROM locker_uses WHERE door_closed_at IS NULL) ORDER BY number LIMIT 1",
            list(self.bank.numbers),
        ).fetchone()
        if row is None:
            raise LockerError(409, N_("Semua loker sedang terpakai"))
        return row[0]

    def release(self, db: Database, visit_id: str, id_number: object, now: datetime) -> int | None:
        """Checkout, inside its transaction: matches the ID card if given; the caller unlocks after commit."""
        use = db.execute(
            "SELECT id, locker, id_type, id_hash, id_last4 FROM locker_uses WHERE visit_id = ? AND released_at IS NULL",
            [visit_id],
        ).fetchone()
        if use is None:
            return None
        if id_number not in (None, "") and not self._card_matches(use[2], use[3], use[4], id_number):
            raise LockerError(409, N_("Nomor kartu identitas tidak cocok dengan yang dititipkan"), {"id_number": "tidak cocok"})
        db.execute("UPDATE locker_uses SET released_at = ? WHERE id = ?", [iso(now), use[0]])
        outbox.append(db, "locker_use", use[0], "released", {"locker": use[1], "at": iso(now)}, now)
        return use[1]

    def _card_matches(self, id_type: str, id_hash: str, last4: str, typed: object) -> bool:
        """The card handed back against the one kept: its last four characters (what the pages show, "••••0004"
        or "0004"), or its whole number against the keyed hash. Compared in constant time either way."""
        if isinstance(typed, str):
            tail = re.sub(r"[\s.•*-]", "", typed).upper()
            if re.fullmatch(r"[A-Z0-9]{4}", tail):
                return hmac.compare_digest(tail, last4 or "")
        number = normalise_id_number(id_type, typed)
        if not id_hash:
            # A use restored from the cloud's events (edge.replay) has no hash: the hash never leaves the appliance.
            # Its last four characters are all that is left to match the card by (an anonymised use has neither,
            # and matches nothing).
            return bool(last4) and hmac.compare_digest(number[-4:], last4)
        return hmac.compare_digest(self.id_hash(number), id_hash)

    def unlock_for_release(self, locker: int) -> None:
        self._unlock(locker, self.clock.now())

    def set_in_service(self, number: int, in_service: bool) -> None:
        if number not in self.bank.numbers:
            raise LockerError(404, N_("Loker %(number)s tidak ada") % {"number": number})
        with self.store.write() as db:
            db.execute("UPDATE lockers SET in_service = ? WHERE number = ?", [int(in_service), number])

    def _unlock(self, locker: int, now: datetime) -> None:
        with self._lock:
            self._expect[locker] = ("open", now + timedelta(seconds=self.rules.open_timeout_s))
        self.bank.unlock(locker)

    def door_changed(self, number: int, is_open: bool) -> None:
        """From the door's reed switch (a GPIO callback thread)."""
        now = self.clock.now()
        with self._lock:
            self._expect[number] = ("close", now + timedelta(seconds=self.rules.close_timeout_s)) if is_open else None
            self._expect = {k: v for k, v in self._expect.items() if v is not None}
        if not is_open:
            with self.store.write() as db:
                freed = db.execute(
                    "UPDATE locker_uses SET door_closed_at = ? WHERE locker = ? AND released_at IS NOT NULL"
                    " AND door_closed_at IS NULL", [iso(now), number],
                ).rowcount
                if freed:
                    outbox.append(db, "locker", str(number), "free", {"at": iso(now)}, now)
        clear_alert(self.store, f"locker_{number}", now)

    def check_doors(self) -> None:
        """Raise an alert for every door whose expected move is overdue (called every second or so)."""
        now = self.clock.now()
        with self._lock:
            overdue = [(n, what) for n, (what, deadline) in self._expect.items() if now >= deadline]
        for number, what in overdue:
            if what == "open":
                message = N_("Pintu loker %(number)s belum dibuka %(minutes)s menit setelah kuncinya dilepas: periksa"
                             " apakah pengunjung menemukan lokernya; bila pintu tidak bisa dibuka, relai atau kunci"
                             " mungkin macet.")
            else:
                message = N_("Pintu loker %(number)s masih terbuka; mohon ditutup.")
            waited = self.rules.open_timeout_s if what == "open" else self.rules.close_timeout_s
            message %= {"number": number, "minutes": max(1, round(waited / 60))}
            raise_alert(self.store, f"{ALERT_PREFIX}{number}", message, now)

    def acknowledge(self, number: int) -> bool:
        """Staff saw the door's alert and see to it: it is closed and not raised again for this unlock or opening
        (the door's next move starts a new watch). False when no alert was open for that door."""
        with self._lock:
            self._expect.pop(number, None)
        with self.store.write() as db:
            return db.execute(
                "UPDATE alerts SET cleared_at = ? WHERE kind = ? AND cleared_at IS NULL",
                [iso(self.clock.now()), f"{ALERT_PREFIX}{number}"],
            ).rowcount > 0

    def bank_state(self) -> list[dict]:
        rows = self.store.read.execute(
            """
            SELECT l.number, l.in_service, u.visit_id, u.id_type, u.id_last4, u.released_at, v.name, t.number
            FROM lockers l
            LEFT JOIN locker_uses u ON u.locker = l.number AND u.door_closed_at IS NULL
            LEFT JOIN visits v ON v.id = u.visit_id
            LEFT JOIN tickets t ON t.id = v.ticket_id
            ORDER BY l.number
            """
        ).fetchall()
        state = []
        for number, in_service, visit_id, id_type, last4, released, name, ticket in rows:
            if number not in self.bank.numbers:
                continue
            status = "releasing" if released else "occupied" if visit_id else "free" if in_service else "out_of_service"
            door_open = self.bank.door_open(number)
            state.append({
                "number": number, "status": status, "in_service": bool(in_service), "visit_id": visit_id,
                "name": name, "ticket_number": ticket, "id_type": id_type, "id_masked": f"••••{last4}" if last4 else None,
                "door_open": door_open, "unlocked": self.bank.relay_active(number),
                "state": CARD_WORDS[(status, bool(door_open))],
            })
        return state

    def held_by(self, visit_id: str) -> dict | None:
        row = self.store.read.execute(
            "SELECT locker, id_type, id_last4, assigned_at, released_at FROM locker_uses WHERE visit_id = ?"
            " ORDER BY assigned_at DESC LIMIT 1", [visit_id],
        ).fetchone()
        keys = ("locker", "id_type", "id_last4", "assigned_at", "released_at")
        return dict(zip(keys, row)) if row else None

    def checklist(self) -> list[dict]:
        """At closing: who still holds a locker, and whose ID card is still at the desk."""
        rows = self.store.read.execute(
            """
            SELECT u.locker, u.id_type, u.id_last4, u.assigned_at, v.id, v.name, v.phone, t.number
            FROM locker_uses u JOIN visits v ON v.id = u.visit_id JOIN tickets t ON t.id = v.ticket_id
            WHERE u.released_at IS NULL ORDER BY u.locker
            """
        ).fetchall()
        keys = ("locker", "id_type", "id_last4", "assigned_at", "visit_id", "name", "phone", "ticket_number")
        return [dict(zip(keys, row)) for row in rows]
