"""The report as files a spreadsheet opens: CSV (one long table: section, key, label, value) and XLSX (a sheet per
section, numbers as numbers, dates as dates). Both are made from the same rows (`table_rows`), so they agree; every
text goes through pst.spreadsheet, so nothing a visitor typed becomes a formula.

These files are for machines and keep machine numbers: a dot before decimals and no thousands mark in the CSV, numeric
cells in the XLSX (the spreadsheet shows them in its user's own format). They never go through pst.formats, which
writes "3,21" and "1.234" for people.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from pst.reports import Count, Figures, period_words
from pst.skm import shown
from pst.spreadsheet import append_row, cell

CSV_HEADER = ("bagian", "kunci", "label", "nilai")
SECTIONS = {  # key → sheet name (at most 31 characters, as Excel wants)
    "ringkasan": "Ringkasan",
    "kunjungan_harian": "Kunjungan harian",
    "kunjungan_mingguan": "Kunjungan mingguan",
    "kunjungan_bulanan": "Kunjungan bulanan",
    "keperluan": "Keperluan",
    "instansi": "Instansi",
    "pendidikan": "Pendidikan",
    "pekerjaan": "Pekerjaan",
    "ikm": "IKM",
    "pengaduan": "Pengaduan",
}


def _minutes(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 60, 2)


def _ratio(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def summary(figures: Figures) -> list[tuple[str, str, object]]:
    """(key, label, value) of the summary sheet; values are numbers or text, never formatted numbers."""
    w, f, s, c, ikm = figures.waits, figures.fetches, figures.scans, figures.complaints, figures.ikm
    cut = shown(ikm.ikm, 2)
    weighted = shown(ikm.nrr_weighted, 4)
    return [
        ("kantor", "Kantor", f"{figures.office_code} {figures.office_name}".strip() or "Semua kantor"),
        ("periode", "Periode", period_words(figures.start, figures.end)),
        ("dari", "Dari tanggal", figures.start),
        ("sampai", "Sampai tanggal", figures.end),
        ("zona_waktu", "Zona waktu", f"{figures.zone} ({figures.tz.key})"),
        ("kunjungan", "Kunjungan", w.visits),
        ("dilayani", "Dilayani", w.served),
        ("median_tunggu_menit", "Median waktu tunggu (menit)", _minutes(w.median_s)),
        ("p90_tunggu_menit", "Persentil ke-90 waktu tunggu (menit)", _minutes(w.p90_s)),
        ("dilayani_5_menit", "Dilayani dalam 5 menit", w.within),
        ("rasio_5_menit", "Rasio dilayani dalam 5 menit", _ratio(w.ratio)),
        ("permintaan_tercetak", "Permintaan pustaka tercetak", f.requests),
        ("tercetak_diserahkan", "Pustaka tercetak diserahkan", f.handed),
        ("tercetak_tidak_tersedia", "Pustaka tercetak tidak tersedia", f.unavailable),
        ("pemindaian", "Pemindaian", s.jobs),
        ("halaman_dipindai", "Halaman dipindai", s.pages),
        ("responden_skm", "Responden SKM", ikm.respondents),
        ("nrr_tertimbang", "NRR tertimbang", None if weighted is None else float(weighted)),
        ("ikm", "IKM", None if cut is None else float(cut)),
        ("mutu", "Mutu pelayanan", ikm.grade.letter if ikm.grade else None),
        ("kinerja", "Kinerja unit pelayanan", ikm.grade.performance if ikm.grade else None),
        ("pengaduan", "Pengaduan", c.total),
        ("pengaduan_selesai", "Pengaduan selesai", c.resolved),
        ("median_penyelesaian_jam", "Median waktu penyelesaian pengaduan (jam)",
         None if c.median_resolve_s is None else round(c.median_resolve_s / 3600, 2)),
    ]


def _counts(rows: tuple[Count, ...]) -> list[tuple[str, str, int]]:
    return [(c.key, c.label, c.value) for c in rows]


def table_rows(figures: Figures) -> Iterator[tuple[str, str, str, object]]:
    """(section, key, label, value): everything the report says, one figure a row."""
    for key, label, value in summary(figures):
        yield "ringkasan", key, label, value
    for count in figures.by_day:
        yield "kunjungan_harian", count.key, count.label, count.value
    for section, rows in (("kunjungan_mingguan", figures.by_week), ("kunjungan_bulanan", figures.by_month),
                          ("keperluan", figures.purposes), ("instansi", figures.institutions),
                          ("pendidikan", figures.education), ("pekerjaan", figures.occupation)):
        for key, label, value in _counts(rows):
            yield section, key, label, value
    for element, value in figures.ikm.weakest_first():
        cut = shown(value, 4)
        yield "ikm", element.code, element.name, None if cut is None else float(cut)
    for key, label, value in _counts(figures.complaints.by_status):
        yield "pengaduan", key, label, value


def to_csv(figures: Figures) -> bytes:
    """UTF-8 with a byte-order mark (so a spreadsheet reads "≤" right), comma-separated, dot decimals."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for section, key, label, value in table_rows(figures):
        writer.writerow([cell(v) for v in (section, key, label, "" if value is None else value)])
    return out.getvalue().encode("utf-8-sig")


def to_xlsx(figures: Figures) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    book.remove(book.active)
    bold = Font(bold=True)
    title = f"Laporan Layanan Perpustakaan PST — {figures.office_name or 'Semua kantor'}"

    def sheet(key: str, header: tuple[str, ...], rows, widths: tuple[int, ...]):
        ws = book.create_sheet(SECTIONS[key])
        append_row(ws, (title,))
        append_row(ws, (f"Periode: {period_words(figures.start, figures.end)}",))
        ws.append(())
        append_row(ws, header)
        for heading in ws[4]:
            heading.font = bold
        for row in rows:
            append_row(ws, row)
        for index, width in enumerate(widths):
            ws.column_dimensions[chr(65 + index)].width = width
        ws["A1"].font = Font(bold=True, size=12)
        ws.freeze_panes = "A5"
        return ws

    ws = sheet("ringkasan", ("Keterangan", "Nilai"), [(label, value) for _, label, value in summary(figures)], (44, 34))
    for row in ws.iter_rows(min_row=5, min_col=2, max_col=2):
        if hasattr(row[0].value, "isoformat"):
            row[0].number_format = "dd/mm/yyyy"
    _days(sheet, figures)
    for key, rows in (("kunjungan_mingguan", figures.by_week), ("kunjungan_bulanan", figures.by_month)):
        sheet(key, ("Kode", "Periode", "Kunjungan"), [(c.key, c.label, c.value) for c in rows], (12, 22, 12))
    for key, rows, label in (("keperluan", figures.purposes, "Keperluan"), ("instansi", figures.institutions, "Instansi"),
                             ("pendidikan", figures.education, "Pendidikan"), ("pekerjaan", figures.occupation, "Pekerjaan")):
        sheet(key, (label, "Kunjungan"), [(c.label, c.value) for c in rows], (44, 12))
    ikm_rows = [(e.code, e.name, figures.ikm.answers[e.code], None if v is None else float(shown(v, 4)))
                for e, v in figures.ikm.weakest_first()]
    ws = sheet("ikm", ("Kode", "Unsur", "Jawaban", "NRR"), ikm_rows, (8, 44, 10, 10))
    ws.append(())
    append_row(ws, ("", "Bobot setiap unsur 1/9 (tepat); IKM = NRR tertimbang × 25"))
    sheet("pengaduan", ("Status", "Jumlah"), [(c.label, c.value) for c in figures.complaints.by_status], (24, 10))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _days(sheet, figures: Figures) -> None:
    from datetime import date

    waits = {d.day: d.waits for d in figures.days}
    rows = []
    for count in figures.by_day:
        day = date.fromisoformat(count.key)
        w = waits.get(day)
        rows.append((day, count.value, w.served if w else 0, _minutes(w.median_s) if w else None,
                     _minutes(w.p90_s) if w else None, _ratio(w.ratio) if w else None))
    ws = sheet("kunjungan_harian", ("Tanggal", "Kunjungan", "Dilayani", "Median tunggu (menit)", "P90 tunggu (menit)",
                                    "Rasio ≤ 5 menit"), rows, (14, 12, 10, 22, 20, 16))
    for (cell,) in ws.iter_rows(min_row=5, max_col=1):
        cell.number_format = "dd/mm/yyyy"
    for (cell,) in ws.iter_rows(min_row=5, min_col=6, max_col=6):
        cell.number_format = "0.0%"


def filename(figures: Figures, extension: str) -> str:
    """"laporan-pst-7400-2026-11-01-2026-11-30.pdf"; "semua" for all offices."""
    office = figures.office_code or "semua"
    return f"laporan-pst-{office}-{figures.start.isoformat()}-{figures.end.isoformat()}.{extension}"
