"""Personal data on the appliance as UU No. 27/2022 asks of the office: identities kept `identity_months`, then
anonymised (the statistics stay), and for a person's request an export of everything held about an e-mail and an
erasure that anonymises it here, in the cloud and on the other offices' appliances (through the sync).

Anonymising blanks who a record is about — name, e-mail, phone, the ID card's last digits and keyed hash, a
complaint's contact — and keeps what reports and the IKM count: date, purposes, gender, age, education, occupation,
waits and scores. Retention keeps the institution (an organisation, counted in the visitor profile); an erasure
blanks it too, with the comment of the person's ratings and their scan files. Each visit anonymised goes up as a
`visit`/`anonymised` event, so the cloud's copies follow.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlite_utils import Database

from edge import audit, outbox
from edge.store import EdgeStore
from pst import privacy
from pst.clock import Clock, iso
from pst.ids import new_id

IDENTITY_KEYS = privacy.PAYLOAD_IDENTITY_KEYS


@dataclass(frozen=True)
class Person:
    """The records of one e-mail, found inside a transaction."""

    email: str
    visits: list[str]
    phones: list[str]
    requests: list[str]
    complaints: list[str]


def _marks(items) -> str:
    return ", ".join("?" for _ in items)


def find(db: Database, email: str) -> Person:
    email = privacy.normalise(email)
    rows = db.execute("SELECT id, phone FROM visits WHERE lower(email) = ?", [email]).fetchall()
    visits, phones = [r[0] for r in rows], sorted({r[1] for r in rows if r[1]})
    requests = [r[0] for r in db.execute(
        f"SELECT id FROM softcopy_requests WHERE lower(email) = ? OR visit_id IN ({_marks(visits)})",
        [email, *visits]).fetchall()]
    contacts = [email, *phones]
    complaints = [r[0] for r in db.execute(
        f"SELECT id FROM complaints WHERE lower(trim(contact)) IN ({_marks(contacts)})", contacts).fetchall()]
    return Person(email, visits, phones, requests, complaints)


# --- anonymising ---------------------------------------------------------------------------------------------------

def anonymise_visits(db: Database, ids: list[str], now: datetime, reason: str) -> list[str]:
    """Blank the identity of these visits and of what hangs on them; returns the scan files to delete (an
    erasure's, once the transaction has committed). Call inside the write transaction."""
    if not ids:
        return []
    files = blank_visits(db, ids, iso(now), erase=reason == "erasure")
    for visit_id in ids:
        outbox.append(db, "visit", visit_id, "anonymised", {"at": iso(now), "reason": reason}, now)
    return files


def blank_visits(db: Database, ids: list[str], at: str, erase: bool) -> list[str]:
    """The tables' half of `anonymise_visits`, without its events (edge.replay puts a restored database's visits
    through it again); returns the scan files to delete."""
    institution = ", institution = NULL" if erase else ""
    for chunk in _chunks(ids):
        marks = _marks(chunk)
        db.execute(f"UPDATE visits SET name = ?, email = '', phone = NULL{institution}, anonymised_at = ?"
                   f" WHERE id IN ({marks})", [privacy.ERASED_NAME, at, *chunk])
        db.execute(f"UPDATE locker_uses SET id_last4 = '', id_hash = '' WHERE visit_id IN ({marks})", chunk)
        db.execute(f"UPDATE softcopy_requests SET email = '', name = ? WHERE visit_id IN ({marks})",
                   [privacy.ERASED_NAME, *chunk])
    files: list[str] = []
    if erase:
        for chunk in _chunks(ids):
            marks = _marks(chunk)
            db.execute(f"UPDATE ratings SET comment = NULL WHERE visit_id IN ({marks})", chunk)
            files += [r[0] for r in db.execute(
                f"SELECT pdf_path FROM scans WHERE visit_id IN ({marks}) AND pdf_path IS NOT NULL", chunk)]
            db.execute(f"UPDATE scans SET pdf_path = NULL, download_code = NULL, code_expires_at = NULL"
                       f" WHERE visit_id IN ({marks})", chunk)
    return files


def _blank_complaints(db: Database, ids: list[str], now: datetime, reason: str) -> None:
    for complaint_id in ids:
        tracking = db.execute("SELECT tracking FROM complaints WHERE id = ?", [complaint_id]).fetchone()[0]
        db.execute("UPDATE complaints SET contact = NULL WHERE id = ?", [complaint_id])
        outbox.append(db, "complaint", complaint_id, "anonymised",
                      {"at": iso(now), "reason": reason, "tracking": tracking}, now)


def scrub_outbox(db: Database, entity_ids: list[str]) -> None:
    """Events not yet purged (sent or not) lose the identity they carried: an erased person is in no payload.
    `erased` tells the cloud that a record arriving without its e-mail is no malformed one (no dead letter)."""
    paths = ", ".join(f"'$.{key}'" for key in IDENTITY_KEYS)
    for chunk in _chunks(entity_ids):
        db.execute(f"UPDATE outbox SET payload = json_set(json_remove(payload, {paths}), '$.erased', json('true'))"
                   f" WHERE entity_id IN ({_marks(chunk)}) AND op != 'anonymised'", chunk)


def _chunks(items: list, size: int = 400):
    for start in range(0, len(items), size):
        yield items[start:start + size]


# --- retention -----------------------------------------------------------------------------------------------------

def apply_retention(db: Database, now: datetime, months: int) -> dict[str, int]:
    """Anonymise what is older than `months`; the same day twice changes nothing. Call inside a transaction."""
    cutoff = iso(privacy.months_before(now, months))
    visits = [r[0] for r in db.execute(
        "SELECT id FROM visits WHERE anonymised_at IS NULL AND checked_in_at < ?", [cutoff]).fetchall()]
    anonymise_visits(db, visits, now, "retention")
    requests = db.execute("UPDATE softcopy_requests SET email = '', name = ? WHERE email != '' AND created_at < ?",
                          [privacy.ERASED_NAME, cutoff]).rowcount
    complaints = [r[0] for r in db.execute(
        "SELECT id FROM complaints WHERE contact IS NOT NULL AND received_at < ?", [cutoff]).fetchall()]
    _blank_complaints(db, complaints, now, "retention")
    lockers = db.execute("UPDATE locker_uses SET id_last4 = '', id_hash = '' WHERE id_hash != ''"
                         " AND assigned_at < ?", [cutoff]).rowcount
    counts = {"visits": len(visits), "softcopy_requests": requests, "complaints": len(complaints),
              "locker_uses": lockers}
    audit.record(db, now, actor="system", action="retention.apply", target="privacy",
                 detail={"months": months, "before": cutoff, **counts})
    return counts


class PrivacyService:
    """What the appliance, the console page and `pst edge privacy` call."""

    def __init__(self, store: EdgeStore, clock: Clock, months: int, key: bytes, data_dir: Path):
        self.store, self.clock, self.months, self.key, self.data_dir = store, clock, months, key, Path(data_dir)

    def apply(self) -> dict[str, int]:
        with self.store.write() as db:
            counts = apply_retention(db, self.clock.now(), self.months)
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('privacy_applied_at', ?)",
                       [iso(self.clock.now())])
        return counts

    def daily(self, today: str) -> dict[str, int] | None:
        """Once per office day (the periodic watch asks every hour): None when today's run was done."""
        row = self.store.read.execute("SELECT value FROM meta WHERE key = 'privacy_applied_on'").fetchone()
        if row and row[0] == today:
            return None
        counts = self.apply()
        with self.store.write() as db:
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('privacy_applied_on', ?)", [today])
        return counts

    def export(self, email: str, actor: str | None, address: str | None = None) -> dict:
        with self.store.write() as db:
            document = export_document(db, email, self.clock.now())
            audit.record(db, self.clock.now(), actor=actor, action="privacy.export", address=address,
                         target=privacy.tag(email, self.key), detail={"email": privacy.mask(email),
                                                                      "visits": len(document["visits"])})
        return document

    def erase(self, email: str, actor: str | None, address: str | None = None) -> dict[str, int]:
        now = self.clock.now()
        with self.store.write() as db:
            counts, files = erase_in(db, email, now, origin="appliance")
            audit.record(db, now, actor=actor, action="privacy.erase", target=privacy.tag(email, self.key),
                         address=address, detail={"email": privacy.mask(email), "origin": "appliance", **counts})
        self.remove_files(files)
        return counts

    def remove_files(self, files: list[str]) -> None:
        for relative in files:
            (self.data_dir / relative).unlink(missing_ok=True)


def erase_in(db: Database, email: str, now: datetime, origin: str) -> tuple[dict[str, int], list[str]]:
    """Anonymise every record of `email`, inside the caller's transaction. Made here (`origin` appliance), the
    erasure also goes up so the cloud erases the portal account and sends it on to the other offices."""
    person = find(db, email)
    files = anonymise_visits(db, person.visits, now, "erasure")
    standalone = person.requests
    for chunk in _chunks(standalone):
        db.execute(f"UPDATE softcopy_requests SET email = '', name = ? WHERE id IN ({_marks(chunk)})",
                   [privacy.ERASED_NAME, *chunk])
    _blank_complaints(db, person.complaints, now, "erasure")
    hanging = {table: [r[0] for chunk in _chunks(person.visits) for r in db.execute(
        f"SELECT id FROM {table} WHERE visit_id IN ({_marks(chunk)})", chunk).fetchall()]
        for table in ("scans", "ratings", "locker_uses")}
    scans = hanging["scans"]
    scrub_outbox(db, person.visits + person.requests + person.complaints + sum(hanging.values(), []))
    if origin == "appliance":
        salt, digest = privacy.erasure_digest(email)
        outbox.append(db, "erasure", new_id(), "requested", {"salt": salt, "digest": digest, "at": iso(now)}, now)
    counts = {"visits": len(person.visits), "softcopy_requests": len(person.requests),
              "complaints": len(person.complaints), "scans": len(scans)}
    return counts, files


def erase_by_digest(db: Database, salt: str, digest: str, now: datetime) -> tuple[dict[str, int], list[str]]:
    """An erasure that came down from the cloud: the e-mail is found among those this appliance holds."""
    emails = {privacy.normalise(r[0]) for r in db.execute(
        "SELECT email FROM visits WHERE email != '' UNION SELECT email FROM softcopy_requests WHERE email != ''"
        " UNION SELECT contact FROM complaints WHERE contact LIKE '%@%'").fetchall()}
    found = next((e for e in emails if privacy.matches(e, salt, digest)), None)
    if found is None:
        return {"visits": 0, "softcopy_requests": 0, "complaints": 0, "scans": 0}, []
    counts, files = erase_in(db, found, now, origin="cloud")
    audit.record(db, now, actor="sync", action="privacy.erase", target="erasure:" + digest[:16],
                 detail={"origin": "cloud", **counts})
    return counts, files


# --- export --------------------------------------------------------------------------------------------------------

def _rows(db: Database, sql: str, args: list) -> list[dict]:
    cursor = db.execute(sql, args)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def export_document(db: Database, email: str, now: datetime) -> dict:
    """Everything this appliance holds about `email`, as one JSON-ready document."""
    person = find(db, email)
    visits, marks = person.visits, _marks(person.visits)
    office = db.execute("SELECT value FROM meta WHERE key = 'device_id'").fetchone()[0]
    visit_rows = _rows(db, "SELECT v.id, t.number AS ticket_number, v.service_day, v.name, v.gender, v.age,"
                       " v.education, v.occupation, v.institution, v.email, v.phone, v.purposes, v.id_type,"
                       " v.checked_in_at, v.service_started_at, v.wait_s, v.finished_at FROM visits v"
                       f" JOIN tickets t ON t.id = v.ticket_id WHERE v.id IN ({marks}) ORDER BY v.checked_in_at",
                       visits)
    for row in visit_rows:
        row["purposes"] = json.loads(row["purposes"] or "[]")
    return {
        "email": person.email, "exported_at": iso(now), "source": {"kind": "appliance", "device_id": office},
        "visits": visit_rows,
        "ratings": _rows(db, f"SELECT * FROM ratings WHERE visit_id IN ({marks})", visits),
        "lockers": _rows(db, "SELECT locker, visit_id, id_type, id_last4, assigned_at, released_at FROM locker_uses"
                         f" WHERE visit_id IN ({marks})", visits),
        "scans": _rows(db, "SELECT id, visit_id, status, pages, started_at, finished_at FROM scans"
                       f" WHERE visit_id IN ({marks})", visits),
        "fetches": _rows(db, "SELECT f.id, f.visit_id, p.title, p.catalogue_number, p.year, f.status,"
                         " f.requested_at, f.handed_at, f.closed_at FROM fetch_requests f JOIN publications p"
                         f" ON p.id = f.publication_id WHERE f.visit_id IN ({marks})", visits),
        "softcopy_requests": _rows(db, "SELECT id, visit_id, name, email, catalogue_number, year, description,"
                                   " purpose, status, reason, created_at FROM softcopy_requests"
                                   f" WHERE id IN ({_marks(person.requests)})", person.requests),
        "complaints": _rows(db, "SELECT tracking, channel, text, contact, status, received_at, response"
                            f" FROM complaints WHERE id IN ({_marks(person.complaints)})", person.complaints),
    }
