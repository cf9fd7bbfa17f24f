"""What the per-reader watermark says, shared by the appliance (scans) and the cloud (softcopy).

A pure rule: the lines of text, in Indonesian, that go diagonally across every page and into its footer. How they
are drawn is `pst.pdfstamp`'s business; nothing here imports a PDF library.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from zoneinfo import ZoneInfo

MONTHS = (
    "Januari", "Februari", "Maret", "April", "Mei", "Juni",
    "Juli", "Agustus", "September", "Oktober", "November", "Desember",
)
ZONE_NAMES = {"Asia/Jakarta": "WIB", "Asia/Pontianak": "WIB", "Asia/Makassar": "WITA", "Asia/Jayapura": "WIT"}
SEPARATOR = " · "
MAX_NAME = 60  # a longer name would shrink the diagonal text below readability
SHORT_REF = 8


def watermark_lines(office_name: str, reader_name: str, moment: datetime, tz: ZoneInfo, ref: str) -> list[str]:
    """["BPS Provinsi Sulawesi Tenggara", "untuk Wa Ode Nurhaliza", "30 November 2026 09.15 WITA",
    "kunjungan 1f3a9c2e"]: who made the copy, for whom, when (office time) and which visit or request."""
    if moment.tzinfo is None:
        raise ValueError("the watermark's moment must be an aware datetime")
    return [
        clean_text(office_name, 80),
        f"untuk {clean_text(reader_name, MAX_NAME) or 'pengunjung'}",
        office_moment(moment, tz),
        f"kunjungan {short_ref(ref)}",
    ]


def footer_text(lines: list[str], page: int | None = None, pages: int | None = None) -> str:
    """One line for the bottom of a page: the watermark lines joined, and "hal. 3/50" when numbered."""
    text = SEPARATOR.join(lines)
    if page is not None and pages is not None:
        text += f"{SEPARATOR}hal. {page}/{pages}"
    return text


def office_moment(moment: datetime, tz: ZoneInfo) -> str:
    """"30 November 2026 09.15 WITA" (Indonesian writes the hour with a dot)."""
    local = moment.astimezone(tz)
    zone = ZONE_NAMES.get(tz.key, tz.key)
    return f"{local.day} {MONTHS[local.month - 1]} {local.year} {local:%H.%M} {zone}"


def short_ref(ref: str) -> str:
    """The last characters of an id (a UUIDv7's random end: its start is a timestamp shared by neighbours)."""
    compact = re.sub(r"[^0-9A-Za-z]", "", ref or "")
    return compact[-SHORT_REF:].lower() or "-"


def clean_text(text: str, limit: int) -> str:
    """One line of printable text: control characters dropped, runs of spaces collapsed, cut to `limit`."""
    text = unicodedata.normalize("NFC", text or "")
    text = "".join(ch if unicodedata.category(ch)[0] != "C" else " " for ch in text)
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
