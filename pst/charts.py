"""The report's charts as hand-written SVG: vertical bars for time series, horizontal bars for categories, a line
with a reference line. Made on the server, so pages need no JavaScript and the PDF embeds the same drawing.

Accessible: the chart is `role="img"` with a <title> and a <desc> naming every figure, and each bar or point has its
own <title> (a tooltip in browsers). Text is escaped; sizes are in user units with a viewBox, so a page can scale it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from html import escape
from itertools import count

from babel.dates import format_date

from pst.reports import Count, number
from pst.skm import shown

FONT = "Helvetica, Arial, sans-serif"
INK, MUTED, GRID = "#1d2733", "#52606d", "#d9dee4"
BLUE, RED, GREEN = "#0b5394", "#b00020", "#2e7d32"
_ids = count(1)


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    shown: str = ""  # the value as written on the chart; str(value) when empty
    colour: str = BLUE


def bars_of(counts: Sequence[Count], words: Callable[[str], str] = str, locale: str = "id") -> list[Bar]:
    return [Bar(words(c.label), c.value, number(c.value, 0, locale)) for c in counts]


def _open(width: float, height: float, title: str, desc: str, kind: str) -> list[str]:
    ident = f"chart-{next(_ids)}"
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart {kind}" role="img" width="{width:g}" height="{height:g}"'
        f' viewBox="0 0 {width:g} {height:g}" aria-labelledby="{ident}-t {ident}-d">',
        f'<title id="{ident}-t">{escape(title)}</title>',
        f'<desc id="{ident}-d">{escape(desc)}</desc>',
        f'<text x="0" y="16" font-size="15" font-weight="bold" fill="{INK}">{escape(title)}</text>',
    ]


def _describe(bars: Sequence[Bar], unit: str) -> str:
    return "; ".join(f"{b.label}: {b.shown or b.value}{unit}" for b in bars)


def _scale(highest: float, integer: bool = True) -> tuple[float, float]:
    """A round axis (ceiling, step): the step 1, 2 or 5 × 10^n, about four steps up to at or above `highest`."""
    if highest <= 0:
        return 1, 1
    rough = highest / 4
    power = 10 ** math.floor(math.log10(rough))
    step = next(s * power for s in (1, 2, 5, 10) if s * power >= rough)
    if integer:
        step = max(step, 1)
    return step * math.ceil(highest / step), step


def column_chart(title: str, bars: Sequence[Bar], unit: str = "", width: float = 640, height: float = 240,
                 empty: str = "Tidak ada data", locale: str = "id") -> str:
    """Vertical bars over time (days, weeks, months); labels thinned out when there are many bars."""
    svg = _open(width, height, title, _describe(bars, unit) or empty, "columns")
    left, right, top, bottom = 34, 8, 30, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    ceiling, step = _scale(max((b.value for b in bars), default=0))
    svg += _grid(left, top, plot_w, plot_h, ceiling, step, locale)
    if not bars:
        svg.append(f'<text x="{width / 2:g}" y="{top + plot_h / 2:g}" text-anchor="middle" fill="{MUTED}">{escape(empty)}</text>')
    slot = plot_w / max(len(bars), 1)
    every = max(1, math.ceil(len(bars) / 16))
    for index, bar in enumerate(bars):
        h = plot_h * bar.value / ceiling
        x, y = left + index * slot + slot * 0.15, top + plot_h - h
        text = bar.shown or f"{bar.value:g}"
        svg.append(f'<g class="bar"><title>{escape(bar.label)}: {escape(text)}{escape(unit)}</title>'
                   f'<rect x="{x:.1f}" y="{y:.1f}" width="{slot * 0.7:.1f}" height="{h:.1f}" fill="{bar.colour}"/>')
        if bar.value and slot >= 12:
            size = 10 if slot >= 18 else 8
            svg.append(f'<text x="{x + slot * 0.35:.1f}" y="{y - 3:.1f}" font-size="{size}" text-anchor="middle"'
                       f' fill="{INK}">{escape(text)}</text>')
        svg.append("</g>")
        if index % every == 0:
            svg.append(f'<text x="{x + slot * 0.35:.1f}" y="{top + plot_h + 14:g}" font-size="10" text-anchor="middle"'
                       f' fill="{MUTED}">{escape(bar.label)}</text>')
    return _close(svg)


def bar_chart(title: str, bars: Sequence[Bar], unit: str = "", width: float = 640, maximum: float | None = None,
              label_width: float = 190, empty: str = "Tidak ada data") -> str:
    """Horizontal bars for categories, each labelled with its name and value; `maximum` fixes the scale (4 for
    an IKM element average)."""
    row = 24
    height = 34 + row * max(len(bars), 1) + 6
    svg = _open(width, height, title, _describe(bars, unit) or empty, "bars")
    plot_w = width - label_width - 60
    ceiling = maximum or _scale(max((b.value for b in bars), default=0))[0]
    if not bars:
        svg.append(f'<text x="{label_width:g}" y="48" fill="{MUTED}">{escape(empty)}</text>')
    for index, bar in enumerate(bars):
        y = 30 + index * row
        w = plot_w * bar.value / ceiling if ceiling else 0
        text = bar.shown or f"{bar.value:g}"
        svg.append(f'<g class="bar"><title>{escape(bar.label)}: {escape(text)}{escape(unit)}</title>'
                   f'<text x="{label_width - 6:g}" y="{y + 15:g}" font-size="12" text-anchor="end" fill="{INK}">'
                   f'{escape(_clip(bar.label, label_width))}</text>'
                   f'<rect x="{label_width:g}" y="{y + 3:g}" width="{w:.1f}" height="{row - 8:g}" fill="{bar.colour}"/>'
                   f'<text x="{label_width + w + 5:.1f}" y="{y + 15:g}" font-size="12" fill="{INK}">'
                   f'{escape(text)}{escape(unit)}</text></g>')
    return _close(svg)


def line_chart(title: str, points: Sequence[Bar], unit: str = "", reference: float | None = None,
               reference_label: str = "", width: float = 640, height: float = 220, empty: str = "Tidak ada data",
               locale: str = "id") -> str:
    """A line through the points that have a value (a day without one is a gap), and a dashed reference line
    (the 5-minute standard) when given."""
    svg = _open(width, height, title, _describe(points, unit) or empty, "line")
    left, right, top, bottom = 34, 8, 30, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    ceiling, step = _scale(max([p.value for p in points] + [reference or 0], default=0) * 1.1, integer=False)
    svg += _grid(left, top, plot_w, plot_h, ceiling, step, locale)
    slot = plot_w / max(len(points), 1)
    every = max(1, math.ceil(len(points) / 16))
    if reference is not None:
        y = top + plot_h - plot_h * reference / ceiling
        svg.append(f'<g class="reference"><title>{escape(reference_label)}</title><line x1="{left}" y1="{y:.1f}"'
                   f' x2="{left + plot_w:g}" y2="{y:.1f}" stroke="{RED}" stroke-dasharray="5 4"/>'
                   f'<text x="{left + plot_w:g}" y="{y - 4:.1f}" font-size="10" text-anchor="end" fill="{RED}">'
                   f'{escape(reference_label)}</text></g>')
    coords = []
    for index, point in enumerate(points):
        x = left + index * slot + slot / 2
        if point.shown != "":
            y = top + plot_h - plot_h * point.value / ceiling
            coords.append((x, y, point))
        if index % every == 0:
            svg.append(f'<text x="{x:.1f}" y="{top + plot_h + 14:g}" font-size="10" text-anchor="middle"'
                       f' fill="{MUTED}">{escape(point.label)}</text>')
    if not coords:
        svg.append(f'<text x="{width / 2:g}" y="{top + plot_h / 2:g}" text-anchor="middle" fill="{MUTED}">{escape(empty)}</text>')
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _ in coords)
    if len(coords) > 1:
        svg.append(f'<polyline points="{path}" fill="none" stroke="{BLUE}" stroke-width="2"/>')
    for x, y, point in coords:
        svg.append(f'<g class="point"><title>{escape(point.label)}: {escape(point.shown)}{escape(unit)}</title>'
                   f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{point.colour}"/></g>')
    return _close(svg)


def _close(svg: list[str]) -> str:
    """The font on every text element: MuPDF (the PDF) does not inherit it from the <svg> element."""
    return "\n".join(svg + ["</svg>"]).replace("<text ", f'<text font-family="{FONT}" ')


def _grid(left: float, top: float, plot_w: float, plot_h: float, ceiling: float, step: float,
          locale: str = "id") -> list[str]:
    lines = []
    places = max(0, -math.floor(math.log10(step))) if step < 1 else 0
    for index in range(round(ceiling / step) + 1):
        value = step * index
        y = top + plot_h - plot_h * value / ceiling
        label = number(value, places, locale)
        lines.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w:g}" y2="{y:.1f}" stroke="{GRID}"/>'
                     f'<text x="{left - 4}" y="{y + 3:.1f}" font-size="10" text-anchor="end" fill="{MUTED}">{label}</text>')
    return lines


def _clip(text: str, room: float) -> str:
    """Cut a label that would not fit its column (about 6.5 units a character at 12 units)."""
    most = int(room / 6.5)
    return text if len(text) <= most else text[: most - 1] + "…"


# --- the report's charts ----------------------------------------------------------------------------------------------
TITLES = {
    "visits_day": "Kunjungan per hari",
    "visits_week": "Kunjungan per minggu",
    "visits_month": "Kunjungan per bulan",
    "waits_day": "Median waktu tunggu per hari (menit)",
    "purposes": "Keperluan kunjungan",
    "institutions": "Instansi pengunjung terbanyak",
    "education": "Pendidikan pengunjung",
    "occupation": "Pekerjaan pengunjung",
    "ikm": "Nilai rata-rata unsur SKM (terendah lebih dulu)",
    "complaints": "Pengaduan menurut status",
}
WORDS = ("Tidak ada data", "Standar 5 menit", "menit")  # other text the charts show (edge marks it for translation)


def report_charts(figures, words: Callable[[str], str] = str, locale: str = "id") -> dict[str, str]:
    """Every chart of the report, keyed as TITLES; `words` translates the Indonesian text and `locale` writes the
    numbers (a page's language)."""
    t = {key: words(title) for key, title in TITLES.items()}
    none, minutes = words("Tidak ada data"), " " + words("menit")
    days = [Count(c.key, _day(c.key, locale), c.value) for c in figures.by_day]
    waits = {d.day.isoformat(): d.waits.median_s for d in figures.days}
    wait_points = [
        Bar(c.label, (waits.get(c.key) or 0) / 60, "" if waits.get(c.key) is None else number(waits[c.key] / 60, 1, locale),
            RED if (waits.get(c.key) or 0) > 300 else BLUE)
        for c in days
    ]
    ikm = [
        Bar(f"{element.code} {words(element.name)}", float(value), number(float(shown(value, 2)), 2, locale),
            RED if value < 3 else (BLUE if value < 3.5 else GREEN))
        for element, value in figures.ikm.weakest_first() if value is not None
    ]
    return {
        "visits_day": column_chart(t["visits_day"], bars_of(days, locale=locale), empty=none, locale=locale),
        "visits_week": column_chart(t["visits_week"], bars_of(figures.by_week, locale=locale), empty=none, height=200,
                                    locale=locale),
        "visits_month": column_chart(t["visits_month"], bars_of(figures.by_month, locale=locale), empty=none,
                                     height=200, locale=locale),
        "waits_day": line_chart(t["waits_day"], wait_points, minutes, reference=5,
                                reference_label=words("Standar 5 menit"), empty=none, locale=locale),
        "purposes": bar_chart(t["purposes"], bars_of(figures.purposes, words, locale), empty=none),
        "institutions": bar_chart(t["institutions"], bars_of(figures.institutions, words, locale), empty=none,
                                  label_width=240),
        "education": bar_chart(t["education"], bars_of(figures.education, words, locale), empty=none),
        "occupation": bar_chart(t["occupation"], bars_of(figures.occupation, words, locale), empty=none),
        "ikm": bar_chart(t["ikm"], ikm, maximum=4, empty=none, label_width=280),
        "complaints": bar_chart(t["complaints"], bars_of(figures.complaints.by_status, words, locale), empty=none),
    }


def _day(key: str, locale: str) -> str:
    """A chart's day in the page's language: "2 Nov", "5 Des" ("5 Dec")."""
    return format_date(date.fromisoformat(key), "d MMM", locale=locale)
