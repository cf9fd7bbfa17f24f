"""What a queue ticket says on paper. The standard's promise is printed on every ticket."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime

from edge.config import ApplianceConfig
from edge.i18n import N_
from edge.tickets import Ticket
from hardware.interfaces import QrCode, Receipt, Rule, TextLine

PROMISE = N_("Dilayani maks. 5 menit setelah mengisi buku tamu")
ZONE_NAMES = {"Asia/Jakarta": "WIB", "Asia/Pontianak": "WIB", "Asia/Makassar": "WITA", "Asia/Jayapura": "WIT"}
CLOCK_PATTERNS = {"id": "HH.mm"}  # Indonesian writes 10.15; other languages 10:15


def office_time(moment: datetime, tz: ZoneInfo, locale: str = "id") -> str:
    """"Sabtu, 28 November 2026 10.15 WITA": how the ticket and the screens write a time. Pages pass the reader's
    language ("Saturday, 28 November 2026 10:15 WITA"); the printed ticket is always Indonesian.
    """
    pattern = f"EEEE, d MMMM y {CLOCK_PATTERNS.get(locale, 'HH:mm')}"
    text = format_datetime(moment, pattern, tzinfo=tz, locale=locale)
    return f"{text} {ZONE_NAMES.get(tz.key, tz.key)}"


def guestbook_url(public_url: str, ticket: Ticket) -> str:
    """Opens the guestbook for this ticket on the visitor's own phone (the id is not guessable, the number is)."""
    return f"{public_url}/buku-tamu/{ticket.id}"


def ticket_slip(ticket: Ticket, ahead: int, config: ApplianceConfig, public_url: str, reprint: bool = False) -> Receipt:
    office = config.office
    service = config.service(ticket.service)
    blocks: list = [
        TextLine(office.name, bold=True),
        TextLine(office.address),
        TextLine(f"Layanan {service.name}"),
        Rule(),
        TextLine("NOMOR ANTRIAN"),
        TextLine(ticket.number, size=3, bold=True),
        TextLine(office_time(ticket.issued, office.tz)),
        TextLine(f"Antrian di depan Anda: {ahead}"),
    ]
    if ticket.service_day != ticket.issued.astimezone(office.tz).date().isoformat():
        valid = format_date(date.fromisoformat(ticket.service_day), "EEEE, d MMMM y", locale="id")
        blocks.append(TextLine(f"Berlaku untuk layanan {valid}", bold=True))
    if reprint:
        blocks.append(TextLine("** CETAK ULANG **", bold=True))
    blocks += [
        Rule(),
        TextLine("Isi buku tamu dengan memindai kode ini:"),
        QrCode(guestbook_url(public_url, ticket)),
        TextLine(PROMISE, bold=True),
        TextLine("Terima kasih atas kunjungan Anda"),
    ]
    return Receipt(tuple(blocks))


def check_slip(config: ApplianceConfig, now: datetime, public_url: str) -> Receipt:
    """`pst hw check`: proves paper, cutter, big text and QR, without issuing a number."""
    office = config.office
    return Receipt((
        TextLine(office.name, bold=True),
        TextLine("UJI PRINTER", size=2, bold=True),
        TextLine(office_time(now, office.tz)),
        Rule(),
        QrCode(public_url),
        TextLine("Printer siap digunakan"),
    ))
