"""Personal data on the portal as UU No. 27/2022 asks of a controller: identities kept PST_CLOUD_IDENTITY_MONTHS
and then anonymised (statistics stay), and for a person's request an export of everything held about an e-mail and
an erasure that anonymises it here and — through the downlink, as a salted digest — on every office's appliance.

The portal holds a person under their account (requests, downloads, ratings, complaints, scans sent up from a desk)
and, without an e-mail, in the desk records the appliances send (visits carry no name, e-mail or phone). An erased
account stays as a row, so counts and reports hold, but loses its e-mail, name and password: nobody can sign in
with it, and the address can register again as a new person.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import datetime
from pathlib import Path

from cloud import audit, backups
from cloud.changes import record_change
from cloud.db import Database
from pst import privacy
from pst.clock import Clock
from pst.i18n import N_
from pst.ids import new_id

log = logging.getLogger(__name__)
FIRST_RUN_S = 60.0  # after startup; then hourly checks, one run per day across every worker
CHECK_EVERY_S = 3600.0
IDENTITY_KEYS = ("name", "email", "phone", "id_last4", "id_hash", "contact")  # what a desk record loses


class PrivacyError(Exception):
    def __init__(self, status: int, detail: str, errors: dict[str, str] | None = None):
        super().__init__(detail)
        self.status, self.detail, self.errors = status, detail, errors or {}


# --- retention -----------------------------------------------------------------------------------------------------

async def apply_retention(db: Database, now: datetime, months: int) -> dict[str, int]:
    """Anonymise what is older than `months`, inside the caller's transaction. Every statement is conditional on
    what is still there, so running it again (or on two workers at once) changes nothing more."""
    cutoff = privacy.months_before(now, months)
    complaints = await db.execute("UPDATE complaints SET contact = NULL WHERE contact IS NOT NULL"
                                  " AND received_at < {} RETURNING id", cutoff)
    attempts = await db.execute("DELETE FROM login_attempts WHERE at < {} RETURNING id", cutoff)
    lockers = await db.execute("SELECT record_id, data FROM edge_records WHERE entity = 'locker_use'"
                               " AND born_at < {} AND data LIKE {}", cutoff, '%"id_last4"%')
    for row in lockers:
        await _strip_record(db, "locker_use", row, now)
    counts = {"complaints": len(complaints), "login_attempts": len(attempts), "locker_uses": len(lockers)}
    await audit.record(db, now, actor="system", action="retention.apply", target="privacy",
                       detail={"months": months, **counts})
    return counts


async def _strip_record(db: Database, entity: str, row: dict, now: datetime) -> None:
    data = {k: v for k, v in json.loads(row["data"]).items() if k not in IDENTITY_KEYS}
    await db.execute("UPDATE edge_records SET data = {}, updated_at = {} WHERE entity = {} AND record_id = {}",
                     json.dumps(data, ensure_ascii=False), now, entity, row["record_id"])


async def daily(db: Database, clock: Clock, months: int, day: str | None = None) -> dict[str, int] | None:
    """Today's retention, by whichever worker gets here first: None when it already ran today."""
    now = clock.now()
    async with db.transaction():
        won = await db.execute("INSERT INTO privacy_runs (day, at) VALUES ({}, {}) ON CONFLICT (day) DO NOTHING"
                               " RETURNING day", day or now.date().isoformat(), now)
        if not won:
            return None
        return await apply_retention(db, now, months)


async def run_daily(db: Database, clock: Clock, months: int, data_dir: Path, stop: asyncio.Event,
                    first: float = FIRST_RUN_S, every: float = CHECK_EVERY_S) -> None:
    """The app's background loop: a check soon after startup, then every hour (with the files of scans erased
    through the sync); a failure waits for the next."""
    delay = first
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), timeout=delay)
            return
        except TimeoutError:
            pass
        try:
            await daily(db, clock, months)
            await remove_files(db, data_dir)
            await backups.Backups(db, data_dir).prune(clock.now())  # the journal kept for a replacement appliance
        except Exception:  # the database away for a moment: the next check tries again
            log.exception("daily retention of personal data failed")
        delay = every


# --- a person's request --------------------------------------------------------------------------------------------

async def _account(db: Database, email: str) -> dict | None:
    rows = await db.execute("SELECT id, email, name, role, verified_at, created_at FROM accounts WHERE email = {}",
                            privacy.normalise(email))
    return rows[0] if rows else None


async def export_document(db: Database, email: str, now: datetime) -> dict:
    """Everything the portal holds about `email`, as one JSON-ready document."""
    email = privacy.normalise(email)
    account = await _account(db, email)
    owner = account["id"] if account else ""
    q = db.execute
    return {
        "email": email, "exported_at": now.isoformat(), "source": {"kind": "portal"}, "account": account,
        "softcopy_requests": await q("SELECT r.id, p.title, r.description, r.purpose, r.status, r.reason,"
                                     " r.created_at, r.finished_at, r.office_code, r.origin FROM softcopy_requests r"
                                     " LEFT JOIN publications p ON p.id = r.publication_id WHERE r.account_id = {}"
                                     " ORDER BY r.created_at", owner),
        "downloads": await q("SELECT d.id, p.title, d.disposition, d.at FROM downloads d JOIN publications p"
                             " ON p.id = d.publication_id WHERE d.account_id = {} ORDER BY d.at", owner),
        "request_downloads": await q("SELECT id, request_id, at FROM request_downloads WHERE account_id = {}"
                                     " ORDER BY at", owner),
        "ratings": await q("SELECT * FROM ratings WHERE account_id = {} ORDER BY rated_at", owner),
        "complaints": await q("SELECT tracking, office_code, channel, text, contact, status, received_at, response"
                              " FROM complaints WHERE account_id = {} OR lower(contact) = {} ORDER BY received_at",
                              owner, email),
        "scans": await q("SELECT id, office_code, visit_id, pages, scanned_at FROM deliverables WHERE account_id = {}"
                         " ORDER BY scanned_at", owner),
        "visits": [],
        "note": ("Kunjungan di meja layanan disimpan tanpa e-mail di portal; datanya ada di alat kantor yang"
                 " dikunjungi dan diekspor di sana."),
    }


async def erase_in(db: Database, email: str, now: datetime) -> dict[str, int]:
    """Anonymise every record of `email` here, inside the caller's transaction."""
    email = privacy.normalise(email)
    account = await _account(db, email)
    if account is not None and account["role"] != "reader":
        raise PrivacyError(409, N_("Akun petugas tidak dihapus dari sini: cabut perannya dahulu"),
                           {"email": N_("akun petugas")})
    owner = account["id"] if account else ""
    complaints = await db.execute("UPDATE complaints SET contact = NULL, account_id = NULL WHERE account_id = {}"
                                  " OR lower(contact) = {} RETURNING id", owner, email)
    ratings = await db.execute("UPDATE ratings SET comment = NULL, account_id = NULL WHERE account_id = {}"
                               " RETURNING id", owner)
    scans = await db.execute("DELETE FROM deliverables WHERE account_id = {} RETURNING sha256", owner)
    await _drop_files(db, [r["sha256"] for r in scans], now)
    if account is not None:
        await db.execute("DELETE FROM sessions WHERE account_id = {}", owner)
        await db.execute("DELETE FROM account_tokens WHERE account_id = {}", owner)
        await db.execute("UPDATE accounts SET email = {}, name = {}, password_hash = '!', verified_at = NULL"
                         " WHERE id = {}", f"dihapus-{owner}@invalid", privacy.ERASED_NAME, owner)
    await db.execute("DELETE FROM login_attempts WHERE email = {}", email)
    await backups.scrub(db, None, text=email)  # what the appliances sent of this person, kept for a restore
    return {"account": int(account is not None), "complaints": len(complaints), "ratings": len(ratings),
            "scans": len(scans)}


async def _drop_files(db: Database, shas: list[str], now: datetime) -> None:
    """A desk scan's PDF carries the visitor's name on every page: it goes with them, unless something else uses
    it. The file itself is deleted once this transaction has committed (`remove_files`)."""
    for sha in set(shas):
        used = await db.execute("SELECT 1 AS one FROM deliverables WHERE sha256 = {} UNION SELECT 1 FROM publications"
                                " WHERE softcopy_sha256 = {} UNION SELECT 1 FROM softcopy_requests"
                                " WHERE softcopy_sha256 = {}", sha, sha, sha)
        if used:
            continue
        for row in await db.execute("DELETE FROM softcopy_files WHERE sha256 = {} RETURNING storage_path", sha):
            await db.execute("INSERT INTO privacy_file_removals (storage_path, at) VALUES ({}, {})"
                             " ON CONFLICT (storage_path) DO NOTHING", row["storage_path"], now)


async def remove_files(db: Database, data_dir: Path) -> int:
    """Delete the files of erased scans from storage (after the erasure committed); returns how many went."""
    rows = await db.execute("SELECT storage_path FROM privacy_file_removals")
    for row in rows:
        (Path(data_dir) / row["storage_path"]).unlink(missing_ok=True)
        await db.execute("DELETE FROM privacy_file_removals WHERE storage_path = {}", row["storage_path"])
    return len(rows)


async def send_down(db: Database, salt: str, digest: str, now: datetime, origin: str,
                    office_code: str | None = None) -> str:
    """The erasure for every office's appliance: the cloud keeps no e-mail of desk visits, so it cannot know
    which offices saw the person; each appliance looks for the digest among the e-mails it holds."""
    erasure_id = new_id()
    await db.execute("INSERT INTO erasures (id, salt, digest, origin, office_code, requested_at)"
                     " VALUES ({}, {}, {}, {}, {}, {})", erasure_id, salt, digest, origin, office_code, now)
    await record_change(db, "erasure", erasure_id, None, now)
    return erasure_id


async def erase_by_digest(db: Database, salt: str, digest: str, now: datetime, office_code: str,
                          device_id: str) -> None:
    """An erasure made at a desk (a sync event, inside the batch's transaction): the portal's records of that
    person, then every other office."""
    emails = await db.execute("SELECT email FROM accounts WHERE role = 'reader' UNION"
                              " SELECT lower(contact) AS email FROM complaints WHERE contact LIKE {}", "%@%")
    found = next((r["email"] for r in emails if privacy.matches(r["email"], salt, digest)), None)
    counts = await erase_in(db, found, now) if found else {"account": 0}
    await send_down(db, salt, digest, now, "edge", office_code)
    await audit.record(db, now, actor="sync", action="privacy.erase", target="erasure:" + digest[:16],
                       detail={"origin": "edge", **counts}, office_code=office_code, device_id=device_id)


class Privacy:
    """What the back office page and `pst cloud privacy` call."""

    def __init__(self, db: Database, clock: Clock, key: bytes, data_dir: Path, months: int):
        self.db, self.clock, self.key, self.data_dir, self.months = db, clock, key, Path(data_dir), months

    async def apply(self) -> dict[str, int]:
        async with self.db.transaction():
            return await apply_retention(self.db, self.clock.now(), self.months)

    async def export(self, email: str, actor: str | None, address: str | None = None) -> dict:
        now = self.clock.now()
        async with self.db.transaction():
            document = await export_document(self.db, email, now)
            await audit.record(self.db, now, actor=actor, action="privacy.export", target=privacy.tag(email, self.key),
                               address=address, detail={"email": privacy.mask(email),
                                                        "account": document["account"] is not None})
        return document

    async def preview(self, email: str) -> dict[str, int]:
        document = await export_document(self.db, email, self.clock.now())
        return {key: len(document[key]) for key in ("softcopy_requests", "ratings", "complaints", "scans")} | {
            "account": int(document["account"] is not None)}

    async def erase(self, email: str, actor: str | None, address: str | None = None) -> dict[str, int]:
        now = self.clock.now()
        async with self.db.transaction():
            counts = await erase_in(self.db, email, now)
            salt, digest = privacy.erasure_digest(email)
            await send_down(self.db, salt, digest, now, "cloud")
            await audit.record(self.db, now, actor=actor, action="privacy.erase", target=privacy.tag(email, self.key),
                               address=address, detail={"email": privacy.mask(email), "origin": "cloud", **counts})
        await remove_files(self.db, self.data_dir)
        return counts


async def after_batch(db: Database, now: datetime, device, erased_visits: list[str],
                      erasures: list[tuple[str, str]]) -> None:
    """What a sync batch's privacy events change beyond their own rows (sync.projection calls it last, inside the
    batch's transaction): the comments and ID digits hanging on erased visits, then each erasure made at a desk."""
    for visit_id in erased_visits:
        await db.execute("UPDATE ratings SET comment = NULL WHERE visit_id = {} AND office_code = {}",
                         visit_id, device.office_code)
        for row in await db.execute("SELECT record_id, data FROM edge_records WHERE entity = 'locker_use'"
                                    " AND office_code = {} AND data LIKE {}", device.office_code, f'%"{visit_id}"%'):
            await _strip_record(db, "locker_use", row, now)
    for salt, digest in erasures:
        await erase_by_digest(db, salt, digest, now, device.office_code, device.device_id)
