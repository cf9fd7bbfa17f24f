"""The fleet's alerts (rules in cloud.alert_rules): kept in `fleet_alerts`, opened and closed every minute by a
portal background task, and mailed once on opening and once on closing to the office's staff address and to every
admin — as one digest per recipient when many open at once, never a storm.

Several workers and hosts may evaluate together: an alert opens only through the unique `open_key`
(device + kind, set while open), and a mail goes out only for the worker whose update flipped its `mailed_*` flag."""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import datetime

from cloud import alert_rules, audit
from cloud.accounts import AccountError
from cloud.db import Database, moment
from cloud.devices import OFFICE_CODE
from cloud.fleet import Fleet
from cloud.mail import Mail, MailError
from cloud.times import office_time
from pst.clock import Clock
from pst.i18n import N_
from pst.ids import new_id

log = logging.getLogger(__name__)
EVERY_S = 60.0
STORM = 10  # more alert mails than this for one recipient in one evaluation: one digest instead
COLUMNS = ("a.id, a.device_id, o.code AS office_code, a.kind, a.text, a.opened_at, a.closed_at")
FROM = " FROM fleet_alerts a JOIN devices d ON d.id = a.device_id JOIN offices o ON o.id = d.office_id"


async def open_alerts(db: Database, device_id: str | None = None) -> list[dict]:
    """The open alerts (of one device, or the fleet's), by office and kind."""
    where, args = ("AND a.device_id = {}", [device_id]) if device_id else ("", [])
    return await db.execute(f"SELECT {COLUMNS}{FROM} WHERE a.closed_at IS NULL {where}"
                            " ORDER BY o.code, a.device_id, a.kind", *args)


async def recent_alerts(db: Database, device_id: str, limit: int = 20) -> list[dict]:
    """A device's alerts, open and closed, newest first."""
    return await db.execute(f"SELECT {COLUMNS}{FROM} WHERE a.device_id = {{}} ORDER BY a.opened_at DESC, a.id"
                            " LIMIT {}", device_id, max(1, min(int(limit), 500)))


# --- the office's staff address ------------------------------------------------------------------------------------

EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")


async def office_emails(db: Database) -> dict[str, str]:
    """office code → its staff address, for the offices that have one."""
    rows = await db.execute("SELECT code, email FROM offices WHERE email IS NOT NULL")
    return {row["code"]: row["email"] for row in rows}


async def set_office_email(db: Database, now: datetime, code: str, email: str, actor: str | None,
                           address: str | None = None) -> None:
    """The address the office's alerts are mailed to (empty: none). An admin's act, kept in the audit trail."""
    email = (email or "").strip().lower()
    if email and (len(email) > 254 or not email.isprintable() or not EMAIL.match(email)):
        raise AccountError(400, N_("Alamat email kantor belum benar"), {"email": N_("Tulis alamat email yang benar")})
    async with db.transaction():
        found = OFFICE_CODE.match(code or "") and await db.execute(
            "UPDATE offices SET email = {} WHERE code = {} RETURNING code", email or None, code)
        if not found:
            raise AccountError(400, N_("Alamat email kantor belum benar"), {"office": N_("Pilih kantor")})
        await audit.record(db, now, actor=actor, action="office.email", target=f"office:{code}", address=address,
                           office_code=code)


# --- evaluation ----------------------------------------------------------------------------------------------------

async def _devices(db: Database) -> list[dict]:
    """The enrolled, unrevoked devices with their office (name, staff address) and when they were last seen."""
    return await db.execute(
        "SELECT d.id, d.name, d.last_seen_at, o.code AS office_code, o.name AS office_name,"
        " o.email AS office_email FROM devices d JOIN offices o ON o.id = d.office_id"
        " WHERE d.revoked_at IS NULL AND d.key_hash IS NOT NULL")


def newest_version(healths: dict[str, dict]) -> str | None:
    """The fleet's newest `pst` version (by release, then as text)."""
    versions = [h["software"] for h in healths.values() if alert_rules.release(h.get("software"))]
    return max(versions, key=lambda v: (alert_rules.release(v), v), default=None)


async def _began(db: Database, healths: dict[str, dict], devices: list[dict], now: datetime) -> dict[str, dict]:
    """device id → kind → when the lasting conditions (cloud.alert_rules.conditions) began; the ended ones are
    forgotten."""
    rows = await db.execute("SELECT device_id, kind, since FROM fleet_conditions")
    known = {(row["device_id"], row["kind"]): moment(row["since"]) for row in rows}
    began: dict[str, dict] = {}
    for device in devices:
        holding = alert_rules.conditions(healths.get(device["id"]), moment(device["last_seen_at"]), now)
        for kind, start in holding.items():
            if (device["id"], kind) not in known:
                await db.execute("INSERT INTO fleet_conditions (device_id, kind, since) VALUES ({}, {}, {})"
                                 " ON CONFLICT (device_id, kind) DO NOTHING", device["id"], kind, start or now)
            began.setdefault(device["id"], {})[kind] = known.get((device["id"], kind)) or start or now
    for device_id, kind in known:
        if kind not in began.get(device_id, {}):
            await db.execute("DELETE FROM fleet_conditions WHERE device_id = {} AND kind = {}", device_id, kind)
    return began


async def evaluate(db: Database, now: datetime) -> dict[str, int]:
    """Open the alerts the rules see and close those they no longer see; idempotent, and safe on several workers at
    once (an alert opens through its unique `open_key`, closes by clearing it). Mails are `send_mails`' job."""
    healths, devices = await Fleet(db).latest(), await _devices(db)
    for health in healths.values():  # a datetime on either engine, as the rules expect
        health["received_at"] = moment(health["received_at"])
    newest = newest_version(healths)
    began = await _began(db, healths, devices, now)
    current = {(row["device_id"], row["kind"]) for row in await open_alerts(db)}
    wanted: set[tuple[str, str]] = set()
    opened = closed = 0
    for device in devices:
        kinds = frozenset(kind for device_id, kind in current if device_id == device["id"])
        alerts = alert_rules.evaluate(healths.get(device["id"]), moment(device["last_seen_at"]), newest, now,
                                      began.get(device["id"]), kinds)
        for alert in alerts:
            wanted.add((device["id"], alert.kind))
            if (device["id"], alert.kind) not in current:
                opened += len(await db.execute(
                    "INSERT INTO fleet_alerts (id, device_id, kind, open_key, text, since, opened_at) VALUES"
                    " ({}, {}, {}, {}, {}, {}, {}) ON CONFLICT (open_key) DO NOTHING RETURNING id",
                    new_id(), device["id"], alert.kind, f"{device['id']}:{alert.kind}", alert.text, alert.since, now))
    for device_id, kind in current - wanted:
        closed += len(await db.execute(
            "UPDATE fleet_alerts SET closed_at = {}, open_key = NULL WHERE open_key = {} RETURNING id",
            now, f"{device_id}:{kind}"))
    return {"opened": opened, "closed": closed}


# --- mails ---------------------------------------------------------------------------------------------------------

async def _claim(db: Database, flag: str, condition: str) -> list[dict]:
    """The alerts whose `flag` mail is due, taken by this worker alone (the update that flips the flag decides)."""
    ids = [row["id"] for row in await db.execute(
        f"UPDATE fleet_alerts SET {flag} = TRUE WHERE {flag} = FALSE AND {condition} RETURNING id")]
    if not ids:
        return []
    return await db.execute(
        "SELECT a.id, a.kind, a.text, a.opened_at, a.closed_at, d.name AS device_name, o.code AS office_code,"
        " o.name AS office_name, o.email AS office_email FROM fleet_alerts a JOIN devices d ON d.id = a.device_id"
        f" JOIN offices o ON o.id = d.office_id WHERE a.id IN ({', '.join('{}' for _ in ids)})"
        " ORDER BY o.code, a.opened_at", *ids)


def _line(event: str, alert: dict) -> str:
    at = office_time(moment(alert["closed_at"] if event == "close" else alert["opened_at"]))
    state = "selesai" if event == "close" else "dibuka"
    return f"{alert['office_name']} ({alert['office_code']}), {alert['device_name']}: {alert['text']} — {state} {at}"


def alert_mail(to: str, event: str, alert: dict, page: str) -> Mail:
    """One alert's opening or closing, in Indonesian; office and device names only."""
    office = f"{alert['office_name']} ({alert['office_code']})"
    if event == "open":
        subject, opening = f"Peringatan PST: {alert['office_name']} — {alert['text']}", "Peringatan baru"
    else:
        subject, opening = f"Selesai: {alert['office_name']} — {alert['text']}", "Peringatan sudah selesai"
    return Mail(to, subject, f"{opening} untuk perangkat {alert['device_name']} di {office}:\n\n{_line(event, alert)}"
                             f"\n\nLihat perangkat kantor di {page}\n")


def digest_mail(to: str, events: list[tuple[str, dict]], page: str) -> Mail:
    """Many openings and closings at once (a network outage, a release): one mail listing them all."""
    opened = sum(1 for event, _ in events if event == "open")
    lines = "\n".join(f"- {_line(event, alert)}" for event, alert in events)
    return Mail(to, f"Peringatan PST: {opened} dibuka, {len(events) - opened} selesai", (
        f"Banyak peringatan perangkat berubah sekaligus ({len(events)}), jadi dikirim dalam satu email:\n\n{lines}\n\n"
        f"Lihat perangkat kantor di {page}\n"))


async def send_mails(db: Database, mailer, public_url: str = "") -> int:
    """Mail the openings and closings not yet mailed: to the office's staff address and to every admin, one mail
    each, or one digest per recipient when more than STORM are due for them. Returns how many mails went out."""
    events = [("open", a) for a in await _claim(db, "mailed_open", "TRUE")]
    events += [("close", a) for a in await _claim(db, "mailed_close", "closed_at IS NOT NULL")]
    if not events:
        return 0
    admins = [row["email"] for row in
              await db.execute("SELECT email FROM accounts WHERE role = 'admin' ORDER BY email")]
    due: dict[str, list[tuple[str, dict]]] = {}
    for event, alert in events:
        for to in dict.fromkeys([*([alert["office_email"]] if alert["office_email"] else []), *admins]):
            due.setdefault(to, []).append((event, alert))
    page, sent = f"{public_url.rstrip('/')}/kantor/perangkat", 0
    for to, items in due.items():
        mails = [digest_mail(to, items, page)] if len(items) > STORM else [alert_mail(to, e, a, page) for e, a in items]
        for mail in mails:
            try:
                await mailer.send(mail)
                sent += 1
            except MailError:  # one recipient's server refusing: the others keep theirs, the page shows the alert
                log.warning("fleet alert mail to %s failed", to, exc_info=True)
    if not sent:  # the SMTP server away: nobody got anything, so the next minute tries them all again
        for event, alert in events:
            flag = "mailed_open" if event == "open" else "mailed_close"
            await db.execute(f"UPDATE fleet_alerts SET {flag} = FALSE WHERE id = {{}}", alert["id"])
    return sent


async def run(db: Database, clock: Clock, mailer, public_url: str, stop: asyncio.Event,
              every: float = EVERY_S) -> None:
    """The portal's background loop: evaluate and mail every minute, and drop health samples past their 30 days;
    a failure waits for the next."""
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), timeout=every)
            return
        except TimeoutError:
            pass
        try:
            await evaluate(db, clock.now())
            await send_mails(db, mailer, public_url)
            await Fleet(db).prune(clock.now())  # the history of appliances that stopped reporting goes too
        except Exception:  # the database away for a moment: the next minute tries again
            log.exception("fleet alerts failed")
