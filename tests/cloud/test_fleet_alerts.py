"""The fleet's alerts (cloud.fleet_alerts, cloud.alert_rules) on both engines, with a set clock and a real SMTP sink:
each rule opens, is mailed once, closes, is mailed once; silence outside opening hours opens nothing; a storm is one
digest per admin; two evaluations at once open each alert once."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest

from cloud import alert_rules
from cloud.db import Database
from cloud.fleet import Fleet, slot
from cloud.fleet_alerts import evaluate, open_alerts, recent_alerts, send_mails
from cloud.mail import SmtpMailer
from cloud.migrations import migrate
from cloud.times import WITA
from sync.protocol import Health

HOURS = "Asia/Makassar 0800-1530 0800-1530 0800-1530 0800-1530 0800-1600 - -"
MONDAY = datetime(2026, 11, 30, 9, 0, tzinfo=WITA)
OFFICE_MAIL, ADMIN = "pst7471@bps.go.id", "admin@bps.go.id"
FINE = {"software": "0.3.0", "printer": "ok", "disk_free_pct": 60.0, "clock_offset_ms": 300, "pending": 0,
        "oldest_pending_s": 0, "backup_at": int(MONDAY.timestamp()), "backup_ok": True}


async def _seed(db: Database, offices: int = 1, devices_each: int = 2, last_seen: datetime = MONDAY) -> None:
    await migrate(db)
    rows = [(f"office-{n}", str(7000 + n), f"BPS Kantor {n}", MONDAY, OFFICE_MAIL if n == 0 else None)
            for n in range(offices)]
    await _bulk(db, "offices (id, code, name, created_at, email)", rows)
    await _bulk(db, "devices (id, office_id, name, key_hash, created_at, last_seen_at)", [
        (f"dev-{o}-{d}", f"office-{o}", f"Loket {d + 1}", f"key-{o}-{d}", MONDAY, last_seen)
        for o in range(offices) for d in range(devices_each)])
    await _bulk(db, "accounts (id, email, name, password_hash, role, verified_at, created_at)", [
        ("admin-1", ADMIN, "Admin", "x", "admin", MONDAY, MONDAY),
        ("admin-2", "admin2@bps.go.id", "Admin Dua", "x", "admin", MONDAY, MONDAY),
        ("staff-1", "staf@bps.go.id", "Staf", "x", "staff", MONDAY, MONDAY)])


async def _bulk(db: Database, into: str, rows: list[tuple]) -> None:
    for start in range(0, len(rows), 200):
        part = rows[start:start + 200]
        marks = ", ".join("(" + ", ".join("{}" for _ in row) + ")" for row in part)
        await db.execute(f"INSERT INTO {into} VALUES {marks}", *[value for row in part for value in row])


async def _report(db: Database, device_id: str, now: datetime, **facts) -> None:
    await Fleet(db).record(device_id, Health(1, opening_hours=HOURS, **{**FINE, **facts}), now)
    await db.execute("UPDATE devices SET last_seen_at = {} WHERE id = {}", now, device_id)


def _run(database: str, scenario) -> None:
    async def main():
        db = Database(database)
        await db.start()
        try:
            await scenario(db)
        finally:
            await db.stop()

    asyncio.run(main())


RULES = [  # kind, the facts that raise it, minutes it must last, the text
    ("printer", {"printer": "paper_out"}, 11, "Printer kehabisan kertas sejak 30 Nov 2026 09.00 WITA"),
    ("printer", {"printer": "offline"}, 11, "Printer tidak terhubung sejak 30 Nov 2026 09.00 WITA"),
    ("backlog", {"pending": 4, "oldest_pending_s": 3700}, 0, "Catatan tertua belum terkirim ke portal sejak"),
    ("disk", {"disk_free_pct": 9.6}, 0, "Ruang disk tinggal 10%"),
    ("clock", {"clock_offset_ms": -180_000}, 0, "Jam perangkat 3 menit lebih lambat dari jam portal"),
    ("backup", {"backup_at": int((MONDAY - timedelta(hours=37)).timestamp())}, 0,
     "Cadangan terakhir yang berhasil dibuat 28 Nov 2026 20.00 WITA"),
    ("version", {"software": "0.1.0"}, 0, "Versi 0.1.0 tertinggal lebih dari satu rilis dari versi terbaru 0.3.0"),
    ("silent", None, 16, "Perangkat tidak mengirim kabar sejak 30 Nov 2026 09.00 WITA"),
]


@pytest.mark.parametrize(("kind", "facts", "lasting", "text"), RULES, ids=[f"{r[0]}-{i}" for i, r in enumerate(RULES)])
def test_each_rule_opens_is_mailed_once_closes_and_is_mailed_once(database, mailbox, kind, facts, lasting, text):
    mailer = SmtpMailer(mailbox.url, "pst@bps.go.id")

    async def step(db, minutes: int, device_facts: dict | None) -> None:
        now = MONDAY + timedelta(minutes=minutes)
        await _report(db, "dev-0-1", now)  # the office's other desk, healthy and on the newest version
        if device_facts is not None:
            await _report(db, "dev-0-0", now, **device_facts)
        await evaluate(db, now)
        await send_mails(db, mailer, "http://portal.test")

    async def scenario(db):
        await _seed(db)
        await step(db, 0, facts or {})
        if lasting:
            assert await open_alerts(db) == []
            await step(db, lasting, facts)
        [alert] = await open_alerts(db)
        assert (alert["device_id"], alert["office_code"], alert["kind"]) == ("dev-0-0", "7000", kind)
        assert alert["text"].startswith(text) and alert["closed_at"] is None
        opened = mailbox.mails()
        assert sorted(to for mail in opened for to in mail.to) == sorted([OFFICE_MAIL, ADMIN, "admin2@bps.go.id"])
        assert all(alert["text"] in mail.subject and "Loket 1" in mail.body for mail in opened)
        await step(db, lasting + 1, facts)  # still so: nothing more
        assert len(mailbox.mails()) == 3 and len(await open_alerts(db)) == 1
        await step(db, lasting + 2, {})  # mended (or heard from again)
        assert await open_alerts(db) == []
        [closed] = await recent_alerts(db, "dev-0-0")
        assert closed["id"] == alert["id"] and closed["closed_at"] is not None
        closing = [mail for mail in mailbox.mails() if mail.subject.startswith("Selesai:")]
        assert len(mailbox.mails()) == 6 and sorted(to for mail in closing for to in mail.to) == sorted(
            [OFFICE_MAIL, ADMIN, "admin2@bps.go.id"])
        await step(db, lasting + 3, {})
        assert len(mailbox.mails()) == 6

    _run(database, scenario)


@pytest.mark.parametrize("moment", [MONDAY.replace(hour=16), MONDAY + timedelta(days=5), MONDAY.replace(hour=7)],
                         ids=["after-closing", "saturday", "before-opening"])
def test_silence_outside_opening_hours_opens_nothing(database, mailbox, moment):
    async def scenario(db):
        await _seed(db)
        await _report(db, "dev-0-0", moment - timedelta(hours=2), backup_at=int(moment.timestamp()))
        await evaluate(db, moment)
        assert await send_mails(db, SmtpMailer(mailbox.url, "pst@bps.go.id")) == 0
        assert await open_alerts(db) == []

    _run(database, scenario)


def test_silence_counts_from_the_opening_after_a_night_off(database, mailbox):
    async def scenario(db):
        await _seed(db)
        friday_evening = MONDAY - timedelta(days=2, hours=17)
        await _report(db, "dev-0-0", friday_evening, backup_at=int(MONDAY.timestamp()))
        await _report(db, "dev-0-1", MONDAY)
        await evaluate(db, MONDAY.replace(hour=8, minute=14))
        assert await open_alerts(db) == []
        await evaluate(db, MONDAY.replace(hour=8, minute=16))
        [alert] = await open_alerts(db)
        assert alert["kind"] == "silent" and alert["text"].endswith("sejak 27 Nov 2026 16.00 WITA")
        await evaluate(db, MONDAY.replace(hour=17))  # closing time: still silent, the alert stays open
        assert len(await open_alerts(db)) == 1

    _run(database, scenario)


def test_mails_the_smtp_server_refused_go_out_the_next_minute(database, mailbox):
    async def scenario(db):
        await _seed(db)
        await _report(db, "dev-0-0", MONDAY, disk_free_pct=3.0)
        await evaluate(db, MONDAY)
        assert await send_mails(db, SmtpMailer("smtp://127.0.0.1:9", "pst@bps.go.id", timeout=2)) == 0
        assert await send_mails(db, SmtpMailer(mailbox.url, "pst@bps.go.id")) == 3
        assert await send_mails(db, SmtpMailer(mailbox.url, "pst@bps.go.id")) == 0

    _run(database, scenario)


def test_a_storm_of_500_silent_appliances_is_one_digest_per_admin(database, mailbox):
    async def scenario(db):
        await _seed(db, offices=500, devices_each=1, last_seen=MONDAY - timedelta(minutes=20))
        await _bulk(db, "device_health (device_id, received_at, state_key, version, hours)", [
            (f"dev-{o}-0", MONDAY - timedelta(minutes=20), "", 1, HOURS) for o in range(500)])
        assert (await evaluate(db, MONDAY))["opened"] == 500
        await send_mails(db, SmtpMailer(mailbox.url, "pst@bps.go.id"))
        mails = mailbox.mails()
        admins = [mail for mail in mails if mail.to != [OFFICE_MAIL]]
        assert sorted(mail.to[0] for mail in admins) == sorted([ADMIN, "admin2@bps.go.id"])
        assert all(mail.subject == "Peringatan PST: 500 dibuka, 0 selesai" for mail in admins)
        assert [mail.to for mail in mails if mail.to == [OFFICE_MAIL]] == [[OFFICE_MAIL]]  # the one office's own

    _run(database, scenario)


def test_two_evaluations_at_once_open_and_mail_each_alert_once(database, mailbox):
    mailer = SmtpMailer(mailbox.url, "pst@bps.go.id")

    async def scenario(db):
        await _seed(db)
        other = Database(database)
        await other.start()
        try:
            await _report(db, "dev-0-1", MONDAY)
            await _report(db, "dev-0-0", MONDAY, disk_free_pct=5.0, clock_offset_ms=600_000)
            await asyncio.gather(evaluate(db, MONDAY), evaluate(other, MONDAY), evaluate(db, MONDAY))
            await asyncio.gather(send_mails(db, mailer), send_mails(other, mailer))
        finally:
            await other.stop()
        rows = await db.execute("SELECT kind FROM fleet_alerts ORDER BY kind")
        assert [row["kind"] for row in rows] == ["clock", "disk"]
        assert len(mailbox.mails()) == 2 * 3

    _run(database, scenario)


@pytest.mark.parametrize(("value", "expected"), [
    (HOURS, True), (None, None), ("", None), ("Asia/Makassar 0800-1530", None), ("Nowhere/City - - - - - - -", None),
    ("Asia/Makassar 9999-1530 - - - - - -", None), ("../../etc - - - - - - -", None),
])
def test_opening_hours_that_cannot_be_read_are_none(value, expected):
    hours = alert_rules.read_hours(value)
    assert (hours.open_at(MONDAY) if hours else None) == expected


@pytest.mark.parametrize(("version", "newest", "behind"), [
    ("0.1.0", "0.3.0", True), ("0.2.5", "0.3.0", False), ("0.3.0", "0.3.0", False), ("0.9.0", "1.1.0", True),
    ("1.0.0", "1.1.0", False), ("abc", "0.3.0", False), (None, "0.3.0", False),
])
def test_a_version_is_behind_when_more_than_one_release_older(version, newest, behind):
    assert alert_rules.behind(version, newest) is behind


def test_an_admin_sets_the_office_email_the_alerts_go_to_and_staff_cannot(client, offices):
    from tests.cloud.test_backoffice import add_account, as_, post, run_db

    as_(client, add_account(client, "petugas@bps.go.id", "staff"))
    assert post(client, "/kantor/kantor/email", {"office": "7471", "email": "pst7471@bps.go.id"}).status_code == 403
    as_(client, add_account(client, "admin@bps.go.id", "admin"))
    for bad in ({"office": "7471", "email": "bukan email"}, {"office": "9999", "email": "a@b.id"},
                {"office": "7471\x00", "email": "a@b.id"}, {"email": "a@b.id"}, {}):
        answer = post(client, "/kantor/kantor/email", bad)
        assert answer.status_code == 400, bad
    saved = post(client, "/kantor/kantor/email", {"office": "7471", "email": " PST7471@bps.go.id "})
    assert saved.status_code == 303
    assert "pst7471@bps.go.id" in client.get("/kantor/kantor").text
    assert run_db(client, "SELECT email FROM offices WHERE code = '7471'") == [{"email": "pst7471@bps.go.id"}]
    assert post(client, "/kantor/kantor/email", {"office": "7471", "email": ""}).status_code == 303
    assert run_db(client, "SELECT email FROM offices WHERE code = '7471'") == [{"email": None}]
    trail = run_db(client, "SELECT actor, target, office_code, detail FROM audit_log WHERE action = 'office.email'")
    assert [(line["actor"], line["target"], line["office_code"]) for line in trail] == [
        ("admin@bps.go.id", "office:7471", "7471")] * 2
    assert "pst7471" not in str(trail)  # the address itself stays out of the trail


def test_the_portal_loop_evaluates_and_mails_until_stopped(database, mailbox):
    from cloud import fleet_alerts
    from pst.clock import ManualClock

    async def scenario(db):
        await _seed(db)
        await _report(db, "dev-0-0", MONDAY, disk_free_pct=3.0)
        # a sample of a month and a half ago, of a device that reports no more: the loop drops it
        await db.execute("INSERT INTO device_health_history (device_id, slot, received_at, version) VALUES ({}, {}, {}, 1)",
                         "dev-0-1", slot(MONDAY - timedelta(days=45)), MONDAY - timedelta(days=45))
        stop = asyncio.Event()
        loop = asyncio.create_task(fleet_alerts.run(db, ManualClock(MONDAY), SmtpMailer(mailbox.url, "pst@bps.go.id"),
                                                    "http://portal.test", stop, every=0.05))
        for _ in range(200):
            await asyncio.sleep(0.05)
            if len(mailbox.mails()) == 3:
                break
        stop.set()
        await loop
        assert [a["kind"] for a in await open_alerts(db)] == ["disk"] and len(mailbox.mails()) == 3
        assert await db.execute("SELECT slot FROM device_health_history WHERE device_id = 'dev-0-1'") == []

    _run(database, scenario)


@pytest.mark.parametrize("health", [None, {}, {"hours": "nonsense"}, {"hours": "Asia/Makassar - - - - - - -"},
                                    {"printer": "paper_out"}, {"software": "x.y"}])
def test_the_rules_open_nothing_for_a_device_heard_just_now_whatever_its_health_lacks(health):
    assert alert_rules.evaluate(health, MONDAY, "0.3.0", MONDAY + timedelta(minutes=1)) == []
    assert alert_rules.evaluate(health, None, None, MONDAY) == []  # never heard from: enrolled, not yet running
