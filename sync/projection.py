"""The cloud's tables as a batch of appliance events changes them (the rules of sync/PROTOCOL.md, "What goes where").

The rows an event touches are read once per batch, changed in memory in sequence order, and written back with one
multi-row upsert per table — a few statements per batch, whatever its size. Every value is checked before any write;
an event that can never be taken raises `Refused` (it becomes a dead letter in sync.apply).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import msgspec

from cloud import audit as cloud_audit
from cloud import privacy as cloud_privacy
from cloud.db import Database, moment
from cloud.devices import DeviceAuth
from cloud.requests import PURPOSES
from pst.ids import new_id
from pst import skm
from pst.reports import wait_seconds
from pst.skm import CODES, age_band
from sync.protocol import Event



class Refused(Exception):
    """This event can never be applied: it goes to the dead letters."""



async def bulk_insert(db: Database, table: str, columns: tuple[str, ...], rows: list[tuple],
                       conflict: str = "") -> None:
    if not rows:
        return
    names = ", ".join(columns)
    if db.kind == "postgresql":
        # All rows as one JSON parameter, read as records of the table (its own column types): binding and planning
        # thousands of parameters cost several times the insert itself (bench/sync.py).
        records = msgspec.json.encode([dict(zip(columns, row)) for row in rows]).decode()
        await db.execute(f"INSERT INTO {table} ({names}) SELECT {names}"
                         f" FROM json_populate_recordset(NULL::{table}, {{}}::json){conflict}", records)
        return
    per_chunk = max(1, 30_000 // len(columns))  # under SQLite's limit of bound parameters
    for chunk in chunks(rows, per_chunk):
        values = ", ".join("(" + ", ".join("{}" for _ in columns) + ")" for _ in chunk)
        await db.execute(f"INSERT INTO {table} ({names}) VALUES {values}{conflict}",
                         *[value for row in chunk for value in row])


def chunks(items: list, size: int) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


# --- the projection ---------------------------------------------------------------------------------------------

VISIT_COLUMNS = ("id", "office_code", "device_id", "ticket_number", "gender", "age_band", "education", "occupation",
                 "institution", "purposes", "checked_in_at", "service_started_at", "wait_s", "checked_out_at",
                 "clock_flag")
RATING_COLUMNS = ("id", "office_code", "source", "device_id", "visit_id", "account_id", *(c.lower() for c in CODES),
                  "comment", "gender", "age_band", "education", "occupation", "rated_at", "received_at", "clock_flag")
COMPLAINT_COLUMNS = ("id", "tracking", "office_code", "origin", "device_id", "account_id", "channel", "text",
                     "contact", "entered_by", "status", "received_at", "followed_up_at", "followed_up_by",
                     "resolved_at", "resolved_by", "response", "responded_at", "updated_at", "clock_flag")
RECORD_COLUMNS = ("entity", "record_id", "office_code", "device_id", "data", "born_at", "updated_at")
REQUEST_COLUMNS = ("id", "account_id", "publication_id", "description", "purpose", "status", "created_at",
                   "office_code", "origin", "device_id")
RECORD_ENTITIES = ("ticket", "fetch_request", "scan", "locker_use", "locker", "publication_use")
DELIVERABLE_COLUMNS = ("id", "office_code", "device_id", "account_id", "visit_id", "pages", "sha256", "bytes",
                       "scanned_at", "received_at")
AUDIT_COLUMNS = cloud_audit.COLUMNS


@dataclass
class _Table:
    name: str
    columns: tuple[str, ...]
    key: tuple[str, ...]
    rows: dict[tuple, dict] = field(default_factory=dict)
    dirty: set[tuple] = field(default_factory=set)

    def put(self, row: dict) -> None:
        key = tuple(row[k] for k in self.key)
        self.rows[key] = row
        self.dirty.add(key)


class Projection:
    """The cloud's tables as a batch changes them."""

    def __init__(self, db: Database, device: DeviceAuth, now: datetime):
        self.db, self.device, self.now = db, device, now
        self.visits = _Table("visits", VISIT_COLUMNS, ("id",))
        self.ratings = _Table("ratings", RATING_COLUMNS, ("id",))
        self.complaints = _Table("complaints", COMPLAINT_COLUMNS, ("id",))
        self.records = _Table("edge_records", RECORD_COLUMNS, ("entity", "record_id"))
        self.requests = _Table("softcopy_requests", REQUEST_COLUMNS, ("id",))
        self.deliverables = _Table("deliverables", DELIVERABLE_COLUMNS, ("id",))
        self.audit = _Table("audit_log", AUDIT_COLUMNS, ("id",))
        self.rated_visits: dict[str, str] = {}  # visit id → rating id, for one rating per visit
        self.trackings: dict[str, str] = {}
        self.accounts: dict[str, str | None] = {}  # e-mail → account id (None: to be made)
        self.account_names: dict[str, str] = {}
        self.publications: dict[tuple[str, int], str] = {}
        self.erased_visits: list[str] = []  # visits a person's erasure anonymised at the desk (cloud.privacy)
        self.erasures: list[tuple[str, str]] = []  # (salt, digest) of erasures made at the desk

    async def load(self, events: list[Event]) -> None:
        ids: dict[str, set[str]] = {}
        for e in events:
            ids.setdefault(e.entity, set()).add(e.entity_id)
            if e.entity == "visit" and isinstance(e.payload.get("ticket_id"), str):
                ids.setdefault("ticket", set()).add(e.payload["ticket_id"])
        await self._load(self.visits, "id", ids.get("visit", ()))
        await self._load(self.complaints, "id", ids.get("complaint", ()))
        await self._load(self.ratings, "id", ids.get("rating", ()))
        visit_ids = [e.payload.get("visit_id") for e in events if e.entity == "rating"]
        for row in await self._select("ratings", ("id", "visit_id"), "visit_id", [v for v in visit_ids if v]):
            self.rated_visits[row["visit_id"]] = row["id"]
        trackings = [e.payload.get("tracking") for e in events if e.entity == "complaint" and e.op == "diterima"]
        for row in await self._select("complaints", ("id", "tracking"), "tracking", [t for t in trackings if t]):
            self.trackings[row["tracking"]] = row["id"]
        asked = [e for e in events if e.entity == "softcopy_request"]
        await self._load(self.requests, "id", [e.entity_id for e in asked])
        scanned = [e for e in events if e.entity == "scan" and e.op == "ready"]
        emails = {e.payload["email"].strip().lower() for e in asked + scanned
                  if isinstance(e.payload.get("email"), str)}
        for row in await self._select("accounts", ("id", "email"), "email", emails):
            self.accounts[row["email"]] = row["id"]
        numbers = {e.payload["catalogue_number"] for e in asked
                   if isinstance(e.payload.get("catalogue_number"), str)}
        for row in await self._select("publications", ("id", "catalogue_number", "year"), "catalogue_number", numbers):
            self.publications[(row["catalogue_number"], row["year"])] = row["id"]
        for entity in RECORD_ENTITIES:
            for row in await self._select("edge_records", RECORD_COLUMNS, "record_id", ids.get(entity, ()),
                                          f"entity = '{entity}' AND "):
                self.records.rows[(entity, row["record_id"])] = row

    async def _load(self, table: _Table, key: str, ids: Iterable[str]) -> None:
        for row in await self._select(table.name, table.columns, key, ids):
            table.rows[(row[key],)] = row

    async def _select(self, table: str, columns: tuple[str, ...], key: str, values: Iterable[str],
                      extra: str = "") -> list[dict]:
        values = sorted(set(values))
        found: list[dict] = []
        for chunk in chunks(values, 500):
            marks = ", ".join("{}" for _ in chunk)
            found += await self.db.execute(
                f"SELECT {', '.join(columns)} FROM {table} WHERE {extra}{key} IN ({marks})", *chunk
            )
        return found

    async def flush(self) -> None:
        await self._make_accounts()
        for table in (self.visits, self.ratings, self.complaints, self.records, self.requests, self.deliverables,
                      self.audit):
            if not table.dirty:
                continue
            rows = [tuple(table.rows[key][c] for c in table.columns) for key in sorted(table.dirty)]
            updates = ", ".join(f"{c} = excluded.{c}" for c in table.columns if c not in table.key)
            conflict = f" ON CONFLICT ({', '.join(table.key)}) DO UPDATE SET {updates}"
            if table.name in ("softcopy_requests", "deliverables", "audit_log"):  # the cloud's once it has them
                conflict = " ON CONFLICT (id) DO NOTHING"
            await bulk_insert(self.db, table.name, table.columns, rows, conflict)
        await cloud_privacy.after_batch(self.db, self.now, self.device, self.erased_visits, self.erasures)

    async def _make_accounts(self) -> None:
        """Visitors who asked for softcopy at the desk get a portal account under their e-mail (unverified, without a
        password: they set one with "lupa sandi" to read what they asked for); an existing account is used."""
        missing = sorted(email for email, account in self.accounts.items() if account is None)
        if not missing:
            return
        await bulk_insert(self.db, "accounts", ("id", "email", "name", "password_hash", "role", "created_at"),
                           [(new_id(), email, self.account_names[email][:200], "!", "reader", self.now)
                            for email in missing], " ON CONFLICT (email) DO NOTHING")
        for row in await self._select("accounts", ("id", "email"), "email", missing):
            self.accounts[row["email"]] = row["id"]
        for table in (self.requests, self.deliverables):
            for key in table.dirty:
                row = table.rows[key]
                if row["account_id"] is None:
                    row["account_id"] = self.accounts[row["_email"]]

    # --- rules per kind of record ---

    def apply(self, event: Event) -> None:
        kinds = ("visit", "rating", "complaint", "softcopy_request", "audit", "erasure")
        rule = getattr(self, f"_{event.entity}", None) if event.entity in kinds else None
        if rule is None:
            if event.entity not in RECORD_ENTITIES:
                raise Refused(f"unknown kind of record: {event.entity[:40]!r}")
            rule = self._record
        shift = _shift(event)
        rule(event, lambda value: _time(value, shift), event.clock_flag)
        if event.entity == "scan" and event.op == "ready" and event.payload.get("email"):
            self._deliverable(event, lambda value: _time(value, shift))

    def _own(self, row: dict | None, what: str) -> None:
        if row is not None and row["office_code"] != self.device.office_code:
            raise Refused(f"{what} belongs to another office")

    def _visit(self, e: Event, when, flag) -> None:
        p = e.payload
        current = self.visits.rows.get((e.entity_id,))
        self._own(current, "visit")
        if e.op == "checked_in":
            purposes = p.get("purposes")
            if not isinstance(purposes, list) or not all(isinstance(x, str) for x in purposes):
                raise Refused("visit purposes must be a list of codes")
            ticket = self.records.rows.get(("ticket", p.get("ticket_id")))
            age = p.get("age")
            row = dict.fromkeys(VISIT_COLUMNS) | {
                "id": e.entity_id, "office_code": self.device.office_code, "device_id": self.device.device_id,
                "ticket_number": _short(json.loads(ticket["data"]).get("number"), 8) if ticket else None,
                "gender": _choice(p.get("gender"), ("L", "P")), "age_band": age_band(age) if _int(age) else None,
                "education": _short(p.get("education"), 20), "occupation": _short(p.get("occupation"), 40),
                "institution": _short(p.get("institution"), 200), "purposes": ";".join(purposes)[:200],
                "checked_in_at": when(_required(p, "checked_in_at")),
                "service_started_at": when(p.get("service_started_at")), "wait_s": _seconds(p.get("wait_s")),
                "clock_flag": flag,
            }
            if current:  # the same visit again (sent twice under two ids): keep the later service times
                row |= {k: current[k] for k in ("service_started_at", "wait_s", "checked_out_at") if current[k]}
            self.visits.put(row)
            return
        if e.op == "anonymised":  # edge.privacy: the identity went; an erasure takes the institution too
            if current is not None and p.get("reason") == "erasure":
                self.visits.put(current | {"institution": None})
            if p.get("reason") == "erasure":
                self.erased_visits.append(e.entity_id)
            return
        if current is None:
            raise Refused(f"visit {e.op} before the visit is known")
        if e.op == "service_started":
            self.visits.put(current | {"service_started_at": when(_required(p, "at")),
                                       "wait_s": _seconds(p.get("wait_s"))})
        elif e.op == "checked_out":
            self.visits.put(current | {"checked_out_at": when(_required(p, "at"))})
        else:
            raise Refused(f"unknown visit event: {e.op[:40]!r}")

    def _rating(self, e: Event, when, flag) -> None:
        p = e.payload
        if e.op != "submitted":
            raise Refused(f"unknown rating event: {e.op[:40]!r}")
        self._own(self.ratings.rows.get((e.entity_id,)), "rating")
        scores = {}
        for code in CODES:
            value = p.get(code.lower())
            if value is not None and (not _int(value) or not 1 <= value <= 4):
                raise Refused(f"{code} must be 1..4")
            scores[code.lower()] = value
        if all(v is None for v in scores.values()):
            raise Refused("a rating without any score")
        visit_id = p.get("visit_id")
        if visit_id is not None:
            if not isinstance(visit_id, str):
                raise Refused("visit_id must be text")
            other = self.rated_visits.get(visit_id)
            if other is not None and other != e.entity_id:
                raise Refused("this visit already has another rating")
            self.rated_visits[visit_id] = e.entity_id
        self.ratings.put(dict.fromkeys(RATING_COLUMNS) | scores | {
            "id": e.entity_id, "office_code": self.device.office_code,
            "source": _choice(p.get("source"), ("kiosk", "api")) or "api", "device_id": self.device.device_id,
            "visit_id": visit_id, "comment": _short(p.get("comment"), 1000),
            "gender": _choice(p.get("gender"), ("L", "P")), "age_band": _short(p.get("age_band"), 10),
            "education": _short(p.get("education"), 20), "occupation": _short(p.get("occupation"), 40),
            "rated_at": when(_required(p, "rated_at")), "received_at": self.now, "clock_flag": flag,
        })

    def _complaint(self, e: Event, when, flag) -> None:
        p = e.payload
        current = self.complaints.rows.get((e.entity_id,))
        self._own(current, "complaint")
        if e.op == "diterima":
            tracking, channel, text = p.get("tracking"), p.get("channel"), p.get("text")
            if not isinstance(tracking, str) or not 0 < len(tracking) <= 32:
                raise Refused("complaint without a tracking number")
            if self.trackings.get(tracking, e.entity_id) != e.entity_id:
                raise Refused("tracking number already used by another complaint")
            if channel not in skm.CHANNELS:
                raise Refused(f"unknown complaint channel: {str(channel)[:40]!r}")
            if not isinstance(text, str) or not text.strip():
                raise Refused("complaint without text")
            self.trackings[tracking] = e.entity_id
            received = when(_required(p, "received_at"))
            self.complaints.put(dict.fromkeys(COMPLAINT_COLUMNS) | (current or {}) | {
                "id": e.entity_id, "tracking": tracking, "office_code": self.device.office_code, "origin": "edge",
                "device_id": self.device.device_id, "channel": channel, "text": text[:2000],
                "contact": _short(p.get("contact"), 200), "entered_by": _short(p.get("entered_by"), 100),
                "status": (current or {}).get("status") or "diterima", "received_at": received,
                "updated_at": self.now, "clock_flag": flag,
            })
            return
        if e.op == "anonymised":  # edge.privacy: the complainant's contact is gone
            if current is not None:
                self.complaints.put(current | {"contact": None, "updated_at": self.now})
            return
        if current is None:
            raise Refused(f"complaint {e.op} before the complaint is known")
        if e.op not in skm.STATUSES:
            raise Refused(f"unknown complaint event: {e.op[:40]!r}")
        changes: dict[str, Any] = {"status": e.op, "updated_at": self.now}
        for key in ("followed_up_at", "resolved_at", "responded_at"):
            if key in p:
                changes[key] = when(p[key])
        for key, limit in (("followed_up_by", 100), ("resolved_by", 100), ("response", 2000)):
            if key in p:  # who, by name where the appliance sends it (an appliance account means nothing here)
                changes[key] = _short((p.get("by_name") or p[key]) if key.endswith("_by") else p[key], limit)
        self.complaints.put(current | changes)

    def _softcopy_request(self, e: Event, when, flag) -> None:
        from cloud.credentials import email_problem

        p = e.payload
        if e.op != "created":
            raise Refused(f"unknown softcopy request event: {e.op[:40]!r}")
        current = self.requests.rows.get((e.entity_id,))
        if current is not None:
            if current.get("office_code") != self.device.office_code:
                raise Refused("softcopy request belongs to another office")
            return  # already here: the cloud owns its status from now on
        if p.get("erased") is True:  # its person was erased at the desk before it went up: nobody to serve
            return
        email = p.get("email")
        if not isinstance(email, str) or email_problem(email.strip().lower()):
            raise Refused("softcopy request without a valid e-mail")
        if p.get("purpose") not in PURPOSES:
            raise Refused(f"unknown purpose: {str(p.get('purpose'))[:40]!r}")
        email = email.strip().lower()
        publication = self.publications.get((p.get("catalogue_number"), p.get("year")))
        description = _short(p.get("description"), 1000)
        if publication is None and p.get("catalogue_number"):  # not in the cloud's catalogue: keep what was asked
            description = f"{p['catalogue_number']} ({p.get('year')})" + (f": {description}" if description else "")
        if publication is None and not description:
            raise Refused("softcopy request without a publication or a description")
        self.account_names.setdefault(email, _short(p.get("name"), 200) or email)
        self.accounts.setdefault(email, None)
        self.requests.put({
            "id": e.entity_id, "account_id": self.accounts[email], "_email": email, "publication_id": publication,
            "description": description, "purpose": p["purpose"], "status": "diajukan",
            "created_at": when(_required(p, "created_at")), "office_code": self.device.office_code,
            "origin": "edge", "device_id": self.device.device_id,
        })

    def _deliverable(self, e: Event, when) -> None:
        """A scan for the visitor's portal account (the file itself comes by PUT /sync/v1/files/<sha256>)."""
        from cloud.credentials import email_problem

        p = e.payload
        email = p["email"].strip().lower() if isinstance(p["email"], str) else ""
        sha = p.get("sha256")
        if email_problem(email) or not isinstance(sha, str) or len(sha) != 64 or not _int(p.get("pages")):
            raise Refused("scan without a valid e-mail, file digest or page count")
        if (e.entity_id,) in self.deliverables.rows:
            return
        self.account_names.setdefault(email, _short(p.get("name"), 200) or email)
        self.accounts.setdefault(email, None)
        self.deliverables.put({
            "id": e.entity_id, "office_code": self.device.office_code, "device_id": self.device.device_id,
            "account_id": self.accounts[email], "_email": email, "visit_id": _short(p.get("visit_id"), 36),
            "pages": p["pages"], "sha256": sha, "bytes": p.get("bytes") if _int(p.get("bytes")) else 0,
            "scanned_at": when(_required(p, "finished_at")), "received_at": self.now,
        })

    def _audit(self, e: Event, when, flag) -> None:
        """A line of the appliance's trail, kept once (its id) with the sender's office and device; never changed."""
        p = e.payload
        if e.op != "record" or p.get("id", e.entity_id) != e.entity_id:
            raise Refused("an audit line is only ever recorded, under its own id")
        detail = p.get("detail")
        if not isinstance(detail, dict):
            raise Refused("an audit line's detail must be an object")
        try:
            row = cloud_audit.line(when(_required(p, "at")), actor=_short(p.get("actor"), 64),
                                   action=_short(_required(p, "action"), 40), target=_short(p.get("target"), 120) or "",
                                   detail=detail, address=_short(p.get("address"), 64),
                                   office_code=self.device.office_code, device_id=self.device.device_id,
                                   line_id=e.entity_id[:36], origin="edge", received_at=self.now)
        except ValueError as exc:
            raise Refused(str(exc)[:200]) from None
        if (e.entity_id,) not in self.audit.rows:
            self.audit.put(row)

    def _erasure(self, e: Event, when, flag) -> None:
        """A person's erasure made at a desk, naming them by a salted digest (sync/PROTOCOL.md, "Erasures")."""
        salt, digest = e.payload.get("salt"), e.payload.get("digest")
        if e.op != "requested" or not _hex(salt, 32) or not _hex(digest, 64):
            raise Refused("an erasure needs a 32-digit hex salt and a 64-digit hex digest")
        self.erasures.append((salt, digest))

    def _record(self, e: Event, when, flag) -> None:
        current = self.records.rows.get((e.entity, e.entity_id))
        self._own(current, e.entity)
        data = json.loads(current["data"]) if current else {}
        data |= {k: v for k, v in e.payload.items() if k not in ("name", "email", "phone", "id_number")}
        data["last_event"] = e.op
        if flag:
            data["clock_flag"] = flag
        born = current["born_at"] if current else when(e.corrected_at or e.created_at)
        self.records.put({
            "entity": e.entity, "record_id": e.entity_id, "office_code": self.device.office_code,
            "device_id": self.device.device_id, "data": json.dumps(data, ensure_ascii=False), "born_at": born,
            "updated_at": self.now,
        })


# --- checking values -------------------------------------------------------------------------------------------

def _shift(event: Event) -> timedelta:
    """How far the cloud's clock puts an event from where the appliance's unset clock did."""
    if not (event.clock_flag and event.corrected_at):
        return timedelta(0)
    try:
        return moment(event.corrected_at) - moment(event.created_at)
    except (TypeError, ValueError):
        raise Refused("unreadable event time") from None


def _time(value: Any, shift: timedelta) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise Refused("a time must be ISO 8601 text")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise Refused(f"not an ISO 8601 time: {value[:40]!r}") from None
    if moment.tzinfo is None:
        raise Refused("a time must carry its offset")
    return moment.astimezone(timezone.utc) + shift


def _required(payload: dict, key: str) -> Any:
    if payload.get(key) is None:
        raise Refused(f"{key} is missing")
    return payload[key]


def _hex(value: Any, length: int) -> bool:
    return isinstance(value, str) and len(value) == length and all(c in "0123456789abcdef" for c in value)


def _int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _seconds(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise Refused("wait_s must be a number of seconds")
    return wait_seconds(value)  # the reports' one rule (whole seconds, rounded up), so both sides agree


def _short(value: Any, limit: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise Refused("a text field holds something else")
    return value[:limit]


def _choice(value: Any, allowed: tuple[str, ...]) -> str | None:
    return value if value in allowed else None
