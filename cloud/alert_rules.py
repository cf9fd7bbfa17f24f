"""The rules of the fleet's alerts (cloud.fleet_alerts keeps and mails them): from an appliance's latest health, when
it was last seen and the fleet's newest version, which alerts are open now — each a kind and an Indonesian text.

Pure logic: no database, no web. A condition that must last ("printer out of paper for more than 10 minutes") is
judged from the moment it began, which the caller keeps (`began`) and this module tells it to start (`conditions`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cloud.times import office_time
from pst.i18n import N_

SILENT = timedelta(minutes=15)  # no round this long during opening hours
PRINTER = timedelta(minutes=10)  # out of paper or offline this long
BACKLOG = timedelta(hours=1)  # the oldest record not yet acknowledged, while the appliance is online
DISK_PCT = 15.0
CLOCK_MS = 120_000
BACKUP = timedelta(hours=36)
PRINTER_DOWN = {"paper_out": N_("Printer kehabisan kertas sejak %(since)s"),
                "offline": N_("Printer tidak terhubung sejak %(since)s"),
                "unplugged": N_("Printer tidak terhubung sejak %(since)s")}
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_HOURS = "Asia/Makassar 0800-1530 0800-1530 0800-1530 0800-1530 0800-1600 - -"  # edge/default.toml's
KINDS = ("silent", "printer", "backlog", "disk", "clock", "backup", "version")


@dataclass(frozen=True)
class Alert:
    kind: str
    text: str  # Indonesian, a msgid with its values filled (the page translates it)
    since: datetime


@dataclass(frozen=True)
class Hours:
    """An office's opening hours as its appliance reports them (`oh`): the zone and per weekday (Monday first)
    the opening and closing time, None when closed."""

    tz: ZoneInfo
    days: tuple[tuple[time, time] | None, ...]

    def open_at(self, moment: datetime) -> bool:
        return self.opened(moment) is not None

    def opened(self, moment: datetime) -> datetime | None:
        """When the office opened today, if it is open at `moment`; else None."""
        local = moment.astimezone(self.tz)
        span = self.days[local.weekday()]
        if span is None or not span[0] <= local.time() < span[1]:
            return None
        return datetime.combine(local.date(), span[0], self.tz)


def read_hours(value: str | None) -> Hours | None:
    """`"Asia/Makassar 0800-1530 … - -"` (seven days, Monday first, "-" closed); None when missing or unreadable."""
    parts = (value or "").split()
    if len(parts) != 8:
        return None
    try:
        tz = ZoneInfo(parts[0])
    except (ZoneInfoNotFoundError, ValueError):
        return None
    days = []
    for part in parts[1:]:
        match = re.fullmatch(r"(\d\d)(\d\d)-(\d\d)(\d\d)", part)
        if part == "-":
            days.append(None)
            continue
        if not match:
            return None
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59:
            return None
        days.append((time(h1, m1), time(23, 59, 59) if h2 == 24 else time(h2, m2)))
    return Hours(tz, tuple(days))


def release(version: str | None) -> tuple[int, int] | None:
    """The release (major, minor) of a `pst` version such as "0.14.2"; None when it reads otherwise."""
    match = re.match(r"^(\d+)\.(\d+)", version or "")
    return (int(match.group(1)), int(match.group(2))) if match else None


def behind(version: str | None, newest: str | None) -> bool:
    """Older than the newest by more than one release (0.12 against 0.14; 0.13 against 0.14 is fine)."""
    own, top = release(version), release(newest)
    if own is None or top is None:
        return False
    return own[0] < top[0] - 1 or (own[0] < top[0] and top[1] > 0) or (own[0] == top[0] and top[1] - own[1] > 1)


def _at(seconds: int | float | None) -> datetime | None:
    return datetime.fromtimestamp(seconds, timezone.utc) if seconds is not None else None


def conditions(health: dict | None, last_seen: datetime | None, now: datetime) -> dict[str, datetime | None]:
    """The conditions holding now whose start the health cannot tell: kind → when it began if known (else the
    caller's first sighting). Only the printer's: the health says it is out, not since when."""
    if health and health.get("printer") in PRINTER_DOWN:
        return {"printer": None}
    return {}


def evaluate(health: dict | None, last_seen: datetime | None, newest: str | None, now: datetime,
             began: dict[str, datetime] | None = None, open_kinds: frozenset[str] = frozenset()) -> list[Alert]:
    """The alerts open now. `health` as cloud.fleet hands it out (with `received_at` and `hours`); `began`: kind →
    when a condition of `conditions` was first seen; `open_kinds`: the alerts open before, so a silence that began
    in opening hours stays open after closing time until the appliance is heard again."""
    began, health = began or {}, health or {}
    hours = read_hours(health.get("hours")) or read_hours(DEFAULT_HOURS)  # an older appliance reports none
    tz = hours.tz

    def when(moment: datetime) -> str:
        return office_time(moment, tz=tz)

    alerts = []
    silent = last_seen is None or now - last_seen > SILENT
    opened = hours.opened(now)  # silence counts from the opening: an appliance off overnight has 15 minutes to wake
    counted = "silent" in open_kinds or (opened is not None and now - max(last_seen or now, opened) > SILENT)
    if last_seen is not None and silent and counted:
        alerts.append(Alert("silent", N_("Perangkat tidak mengirim kabar sejak %(since)s") % {"since": when(last_seen)},
                            last_seen))
    start = began.get("printer")
    if health.get("printer") in PRINTER_DOWN and start is not None and now - start > PRINTER:
        alerts.append(Alert("printer", PRINTER_DOWN[health["printer"]] % {"since": when(start)}, start))
    received = health.get("received_at")
    if health.get("oldest_pending_s") is not None and received is not None and not silent:
        oldest = received - timedelta(seconds=health["oldest_pending_s"])
        if now - oldest > BACKLOG:
            alerts.append(Alert("backlog", N_("Catatan tertua belum terkirim ke portal sejak %(since)s")
                                % {"since": when(oldest)}, oldest))
    return alerts + _facts(health, newest, received or now, when)


def _facts(health: dict, newest: str | None, received: datetime, when) -> list[Alert]:
    """The alerts a single report shows at once: disk, clock, backup, version."""
    alerts = []
    if health.get("disk_free_pct") is not None and health["disk_free_pct"] < DISK_PCT:
        alerts.append(Alert("disk", N_("Ruang disk tinggal %(pct)s%%") % {"pct": f"{health['disk_free_pct']:.0f}"},
                            received))
    if health.get("clock_offset_ms") is not None and abs(health["clock_offset_ms"]) > CLOCK_MS:
        minutes = str(round(abs(health["clock_offset_ms"]) / 60_000))
        text = (N_("Jam perangkat %(minutes)s menit lebih cepat dari jam portal") if health["clock_offset_ms"] > 0
                else N_("Jam perangkat %(minutes)s menit lebih lambat dari jam portal"))
        alerts.append(Alert("clock", text % {"minutes": minutes}, received))
    backup = _at(health.get("backup_at"))
    if backup is not None and received - backup > BACKUP:
        text = (N_("Cadangan terakhir yang berhasil dibuat %(since)s") if health.get("backup_ok")
                else N_("Cadangan terakhir gagal (%(since)s); yang berhasil lebih lama lagi"))
        alerts.append(Alert("backup", text % {"since": when(backup)}, backup))
    if behind(health.get("software"), newest):
        alerts.append(Alert("version", N_("Versi %(version)s tertinggal lebih dari satu rilis dari versi terbaru "
                                          "%(newest)s") % {"version": health["software"], "newest": newest},
                            received))
    return alerts
