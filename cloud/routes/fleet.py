"""The back office's fleet: every appliance with its health, one word for its state and a week's sparkline
(`/kantor/perangkat`, sortable, filtered by province and state, PAGE rows a page), and one appliance's latest health
and history (`/kantor/perangkat/{id}`). Staff and admins; plain links and forms, no JavaScript; the charts are SVG made
here. The sparklines come from the history's six-hour summary (cloud.fleet), for the page's rows only."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta, timezone
from types import SimpleNamespace
from urllib.parse import urlencode

from litestar import Request, Router, get
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Template
from markupsafe import Markup

from cloud import fleet_alerts
from cloud.backups import Backups
from cloud.db import moment
from cloud.fleet import STATES, Fleet, condition, period
from cloud.routes import AccountsDep
from cloud.routes.backoffice import (BACK_OFFICE, NO_DEVICE, PRINTER_STATES, DevicesDep, _Forbidden, _NotSignedIn,
                                     _notice, _page, _refused, _signed_in, _to_sign_in)
from cloud.times import WITA, office_time
from pst.charts import Bar, line_chart
from pst.i18n import N_, Languages, language
from pst.openapi import also_answer

STATE_WORDS = {"sehat": N_("sehat"), "peringatan": N_("peringatan"), "bermasalah": N_("bermasalah"),
               "senyap": N_("senyap"), "belum-terdaftar": N_("belum terdaftar"), "dicabut": N_("dicabut")}
STATE_CLASSES = {"sehat": "ok", "peringatan": "wait", "bermasalah": "bad", "senyap": "off", "belum-terdaftar": "off",
                 "dicabut": "off"}
SORTS: dict[str, Callable[[dict], object]] = {  # ?urut=<key> ascending, ?urut=-<key> descending; None always last
    "kantor": lambda d: (d["office_code"], d["name"]), "perangkat": lambda d: d["name"].casefold(),
    "keadaan": lambda d: STATES.index(d["state"]), "versi": lambda d: d["software"],
    "terlihat": lambda d: moment(d["last_seen_at"]), "disk": lambda d: d["disk_free_pct"],
    "antrean": lambda d: d["pending"], "umur": lambda d: d["oldest_pending_s"], "cadangan": lambda d: d["backup_at"],
    "peringatan": lambda d: d["open_alerts"],
}
SPARK_W, SPARK_H, SPARK_POINTS = 112, 30, 28  # the backlog's highest of each six hours over 7 days
PAGE = 50  # rows a page: the whole fleet is filtered, counted and sorted; only a page is drawn
SCANNER_STATES = {"ok": N_("pemindai siap"), "scanning": N_("pemindai sedang memindai")}


def _sorted(rows: list[dict], wanted: str) -> list[dict]:
    key = SORTS[wanted.lstrip("-")]
    known = [row for row in rows if key(row) is not None]
    unknown = [row for row in rows if key(row) is None]
    return sorted(known, key=key, reverse=wanted.startswith("-")) + unknown


def _filters(request: Request, provinces: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """The page's ?provinsi, ?keadaan, ?urut and ?halaman; a value the page does not know is dropped, with a word
    why (a page past the last is the last, see `_page_of`)."""
    asked = {key: (request.query_params.get(key) or "").strip()[:20]
             for key in ("provinsi", "keadaan", "urut", "halaman")}
    problems = []
    if asked["provinsi"] and asked["provinsi"] not in provinces:
        problems.append(N_("Provinsi tidak dikenal; semua provinsi ditampilkan."))
        asked["provinsi"] = ""
    if asked["keadaan"] and asked["keadaan"] not in STATE_WORDS:
        problems.append(N_("Keadaan tidak dikenal; semua keadaan ditampilkan."))
        asked["keadaan"] = ""
    if asked["urut"] and asked["urut"].lstrip("-") not in SORTS:
        problems.append(N_("Urutan tidak dikenal; diurutkan menurut kantor."))
        asked["urut"] = ""
    if asked["halaman"] and not (asked["halaman"].isascii() and asked["halaman"].isdigit()
                                 and int(asked["halaman"]) >= 1):
        problems.append(N_("Halaman tidak dikenal; halaman pertama ditampilkan."))
        asked["halaman"] = ""
    return asked, problems


def _provinces(rows: list[dict]) -> dict[str, str]:
    """Province code → its name where the portal has the province's office (code NN00), else the code."""
    names = {row["office_code"][:2]: row["office_name"] for row in rows if row["office_code"].endswith("00")}
    return {code: names.get(code, code) for code in sorted({row["office_code"][:2] for row in rows})}


def _sparkline(backlog: list[int | None], visits: list[int], now: int | None) -> SimpleNamespace:
    """Coordinates of a row's sparkline: the backlog as a line over the top, visits per day as bars below it; `now`
    the latest backlog reported."""
    step = SPARK_W / max(len(backlog) - 1, 1)
    most = max((value for value in backlog if value is not None), default=0)
    line = " ".join(f"{index * step:.1f},{SPARK_H - 10 - 18 * value / (most or 1):.1f}"
                    for index, value in enumerate(backlog) if value is not None)
    busiest, width = max(visits, default=0), SPARK_W / max(len(visits), 1)
    shapes = "".join(f'<rect x="{index * width + 1:.1f}" y="{SPARK_H - 8 * count / busiest:.1f}"'
                     f' width="{width - 2:.1f}" height="{8 * count / busiest:.1f}" fill="#9fb3c8"/>'
                     for index, count in enumerate(visits) if count)
    if line:
        shapes += f'<polyline points="{line}" fill="none" stroke="#0b5394" stroke-width="1.5"/>'
    return SimpleNamespace(shapes=Markup(shapes), most=most, visits=sum(visits), now=now)


def _times() -> tuple[Callable, Callable]:
    """A stored time and a Unix time of the appliance in office time, each minute written once per page: a fleet
    seen in the same few minutes does not format 500 times."""
    written: dict[object, str] = {}

    def seen(value) -> str:
        at = moment(value)
        if at is None:
            return "—"
        minute = at.replace(second=0, microsecond=0)
        if minute not in written:
            written[minute] = office_time(minute, language())
        return written[minute]

    return seen, lambda seconds: "—" if seconds is None else seen(datetime.fromtimestamp(seconds, timezone.utc))


def _week(now: datetime) -> tuple[list[int], list[datetime]]:
    """The sparklines' six-hour periods (28 over 7 days, the current one last) and the starts of the last 7 office
    days."""
    periods = [period(now) - SPARK_POINTS + index for index in range(1, SPARK_POINTS + 1)]
    today = datetime.combine(now.astimezone(WITA).date(), time(), WITA)
    return periods, [today - timedelta(days=6 - index) for index in range(7)]


async def _roster(request: Request, fleet: Fleet) -> list[dict]:
    """Every appliance with its state and open alerts, without sparklines (those are drawn for a page)."""
    now = request.app.state.clock.now()
    rows, alerts = await fleet.roster(), {}
    for alert in await fleet_alerts.open_alerts(fleet.db):
        alerts[alert["device_id"]] = alerts.get(alert["device_id"], 0) + 1
    for row in rows:
        row["open_alerts"] = alerts.get(row["id"], 0)  # the portal's (cloud.fleet_alerts)
        row["state"], row["reasons"] = condition(row, now, row["open_alerts"])
    return rows


async def _draw_sparklines(fleet: Fleet, rows: list[dict], now: datetime) -> None:
    """Each row's week: the highest backlog of each six hours, and visits per office day (the latest backlog is its
    latest health's)."""
    ids, (periods, days) = [row["id"] for row in rows], _week(now)
    backlog = await fleet.backlog_by_period(ids, periods[0])
    visits = await fleet.visits_per_day(days, ids)
    for row in rows:
        highest = backlog.get(row["id"], {})
        row["spark"] = _sparkline([highest.get(p) for p in periods], visits.get(row["id"], [0] * 7), row["pending"])


def _page_of(asked: dict[str, str], count: int) -> tuple[int, int]:
    """The page asked for (the last when past it) and how many pages `count` rows make."""
    pages = max(1, -(-count // PAGE))
    return min(int(asked["halaman"] or 1), pages), pages


def _link(asked: dict[str, str], **changed) -> str:
    """The fleet page as asked with `changed`; empty values and the first page are left out of the address."""
    wanted = {key: str(value) for key, value in {**asked, **changed}.items()}
    query = urlencode({key: value for key, value in wanted.items() if value and (key, value) != ("halaman", "1")})
    return f"/kantor/perangkat?{query}" if query else "/kantor/perangkat"


def _header_links(asked: dict[str, str]) -> dict[str, tuple[str, str | None]]:
    """Column key → (its sort link, its aria-sort value or None): a second click on the sorted column reverses it."""
    links = {}
    current = asked["urut"] or "kantor"
    for key in SORTS:
        sort = None
        if current.lstrip("-") == key:
            sort = "descending" if current.startswith("-") else "ascending"
        links[key] = (_link(asked, urut=f"-{key}" if sort == "ascending" else key, halaman=""), sort)
    return links


@get("/perangkat")
async def fleet_page(request: Request, accounts: AccountsDep) -> Template:
    staff = await _signed_in(request, accounts)
    fleet = Fleet(request.app.state.db)
    async with fleet.reading():
        rows = await _roster(request, fleet)
        provinces = _provinces(rows)
        asked, problems = _filters(request, provinces)
        shown = [row for row in rows if (not asked["provinsi"] or row["office_code"].startswith(asked["provinsi"]))
                 and (not asked["keadaan"] or row["state"] == asked["keadaan"])]
        number, pages = _page_of(asked, len(shown))
        drawn = _sorted(shown, asked["urut"] or "kantor")[(number - 1) * PAGE:number * PAGE]
        await _draw_sparklines(fleet, drawn, request.app.state.clock.now())
    counts = {state: sum(1 for row in rows if row["state"] == state) for state in STATES}
    seen, unix_time = _times()
    pager = {"page": number, "pages": pages, "first": (number - 1) * PAGE + 1 if drawn else 0,
             "last": (number - 1) * PAGE + len(drawn), "links": [_link(asked, halaman=i) for i in range(1, pages + 1)]}
    # rows as objects: Jinja tries an attribute before an item, and a thousand lookups failing first cost milliseconds
    return _page("kantor_perangkat.html", staff, rows=[SimpleNamespace(**row) for row in drawn], shown=len(shown),
                 total=len(rows), pager=pager, provinces=provinces, asked=asked, problems=problems, counts=counts,
                 states=STATE_WORDS,
                 state_classes=STATE_CLASSES, headers=_header_links(asked), printer_states=PRINTER_STATES,
                 scanner_states=SCANNER_STATES, seen=seen, unix_time=unix_time)


def _series(samples: list[dict], name: str, since: datetime, width: timedelta, points: int, pick: Callable,
            scale: float = 1) -> list[Bar]:
    """Samples in buckets of `width` from `since`: one point each (`pick` of the bucket's values; a gap without)."""
    buckets: dict[int, list[float]] = {}
    for sample in samples:
        at = moment(sample["received_at"])
        if at >= since and sample[name] is not None:
            buckets.setdefault(int((at - since) / width), []).append(sample[name] / scale)
    bars = []
    for index in range(points):
        start = (since + index * width).astimezone(WITA)
        text = start.strftime("%H.%M") if width < timedelta(hours=1) else f"{start.day}/{start.month} {start:%H}h"
        values = buckets.get(index)
        bars.append(Bar(text, pick(values), f"{pick(values):g}") if values else Bar(text, 0, ""))
    return bars


def _charts(samples: list[dict], now: datetime, words: Callable[[str], str]) -> dict[str, list[str]]:
    """The appliance's backlog, disk free and clock offset over the last 24 hours and 7 days."""
    figures = (("pending", N_("Catatan menunggu"), "", max, 1), ("disk_free_pct", N_("Disk kosong (%)"), "%", min, 1),
               ("clock_offset_ms", N_("Selisih jam (detik)"), " s", lambda v: max(v, key=abs), 1000))
    charts = {}
    for span, width, points in (("day", timedelta(minutes=15), 96), ("week", timedelta(hours=2), 84)):
        since = now - width * points
        charts[span] = [line_chart(words(title), _series(samples, name, since, width, points, pick, scale), unit,
                                   width=560, height=200, empty=words("Tidak ada data"), locale=language())
                        for name, title, unit, pick, scale in figures]
    return charts


@get("/perangkat/{device_id:str}")
async def device_page(request: Request, device_id: FromPath[str], accounts: AccountsDep, devices: DevicesDep,
                      languages: NamedDependency[Languages]) -> Template:
    staff = await _signed_in(request, accounts)
    device = await devices.device(device_id[:100])
    if device is None:
        return _notice(staff, 404, *NO_DEVICE, ("/kantor/perangkat", N_("Kembali ke daftar perangkat")))
    fleet, now = Fleet(devices.db), request.app.state.clock.now()
    health = (await fleet.latest(device["office_code"])).get(device["id"])
    merged = {**device, **(health or {"received_at": None})}
    state, reasons = condition(merged, now, len(await fleet_alerts.open_alerts(fleet.db, device["id"])))
    samples = await fleet.history(device["id"], now - timedelta(days=7))
    alerts = await fleet_alerts.recent_alerts(fleet.db, device["id"])
    cloud_backup = await Backups(fleet.db, request.app.state.settings.data_dir).latest(device["id"])
    seen, unix_time = _times()
    return _page("kantor_perangkat_satu.html", staff, device=device, health=health, state=state, reasons=reasons,
                 alerts=alerts, cloud_backup=cloud_backup,
                 states=STATE_WORDS, state_classes=STATE_CLASSES, charts=_charts(samples, now, languages.translate),
                 printer_states=PRINTER_STATES, scanner_states=SCANNER_STATES, seen=seen, unix_time=unix_time)


routes = [Router(
    path="/kantor", route_handlers=also_answer(BACK_OFFICE, [fleet_page, device_page]),
    exception_handlers={_NotSignedIn: _to_sign_in, _Forbidden: _refused},
)]
