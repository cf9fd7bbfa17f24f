"""The report on A4 as a PDF an office head can sign and hand on: letterhead, period, sections with tables and the
charts, signature block (`to_pdf`); and the IKM of a period on one page in the regulation's layout (`ikm_pdf`). Made
with pymupdf; every figure is written as text (extractable, searchable), and the charts are the same SVG the pages
show, drawn as vectors. A period without data says so in words: no empty chart, no 0 for a figure that does not exist.
"""

from __future__ import annotations

from collections.abc import Sequence

import pymupdf

from pst.charts import report_charts
from pst import formats
from pst.reports import (
    Count, Figures, IkmReport, duration, ikm_number, long_date, number, office_heading, percent, period_words,
)
from pst.skm import GRADES, grade_bands, period_covering, shown

A4 = pymupdf.paper_rect("a4")
MARGIN = 56
BOTTOM = A4.height - 50
WIDTH = A4.width - 2 * MARGIN
INK = (0.11, 0.15, 0.2)
MUTED = (0.32, 0.38, 0.43)
BLUE = (0.04, 0.33, 0.58)
RULE = (0.75, 0.78, 0.82)
TITLE = "Laporan Layanan Perpustakaan PST"
IKM_TITLE = "Laporan Indeks Kepuasan Masyarakat (IKM)"
REGULATION = "Peraturan Menteri PANRB Nomor 14 Tahun 2017"
SIGNATURE = 125  # points the signature block needs
NOTHING_AT_ALL = ("Tidak ada data layanan pada periode ini: belum ada kunjungan, penilaian, pengaduan, permintaan"
                  " pustaka tercetak, atau pemindaian yang tercatat.")


class _Writer:
    """A cursor down A4 pages: text through TextWriter (fonts that cover "≤", "–" and "·"), new pages as needed."""

    def __init__(self, footer: str):
        self.doc = pymupdf.open()
        self.regular, self.bold = pymupdf.Font("helv"), pymupdf.Font("hebo")
        self.footer = footer
        self.writers: dict[tuple, pymupdf.TextWriter] = {}  # (page, colour) → its text
        self._new_page()

    def _new_page(self) -> None:
        self.page = self.doc.new_page(width=A4.width, height=A4.height)
        self.y = MARGIN

    def room(self, height: float) -> None:
        if self.y + height > BOTTOM:
            self._new_page()

    def text(self, x: float, y: float, words: str, size: float = 10, bold: bool = False, colour=INK,
             right: float | None = None) -> None:
        font = self.bold if bold else self.regular
        if right is not None:
            x = right - font.text_length(words, fontsize=size)
        key = (self.page.number, colour)
        if key not in self.writers:
            self.writers[key] = pymupdf.TextWriter(self.page.rect, color=colour)
        self.writers[key].append((x, y), words, font=font, fontsize=size)

    def line(self, size: float, words: str, bold: bool = False, colour=INK, gap: float = 4) -> None:
        for part in self.wrap(words, size, bold):
            self.room(size + gap)
            self.y += size
            self.text(MARGIN, self.y, part, size, bold, colour)
            self.y += gap

    def wrap(self, words: str, size: float, bold: bool = False, width: float = WIDTH) -> list[str]:
        font = self.bold if bold else self.regular
        lines, current = [], ""
        for word in words.split():
            trial = f"{current} {word}".strip()
            if current and font.text_length(trial, fontsize=size) > width:
                lines.append(current)
                current = word
            else:
                current = trial
        return lines + [current] if current else lines

    def centred(self, size: float, words: str, bold: bool = False, colour=INK, gap: float = 4) -> None:
        font = self.bold if bold else self.regular
        for part in self.wrap(words, size, bold):
            self.room(size + gap)
            self.y += size
            self.text(MARGIN + (WIDTH - font.text_length(part, fontsize=size)) / 2, self.y, part, size, bold, colour)
            self.y += gap

    def rule(self, thick: float = 0.6, colour=RULE) -> None:
        self.page.draw_line((MARGIN, self.y), (A4.width - MARGIN, self.y), color=colour, width=thick)

    def heading(self, words: str, keep: float = 60) -> None:
        """A section title, kept on the page with the first `keep` points of what follows it."""
        self.room(keep + 40)
        self.y += 14
        self.line(12.5, words, bold=True, colour=BLUE, gap=3)
        self.rule()
        self.y += 6

    def table(self, header: Sequence[str], rows: Sequence[Sequence[str]], widths: Sequence[float],
              numeric: Sequence[bool], left: float = MARGIN) -> None:
        """Rows of text; a column is right-aligned when numeric. The header repeats on a new page."""
        size, step = 9, 13.5
        xs = [left + sum(widths[:i]) for i in range(len(widths))]

        def row(cells, bold=False):
            self.y += step
            for x, w, cell, right in zip(xs, widths, cells, numeric):
                self.text(x + 3, self.y - 3.5, _fit(self, cell, w - 6, size, bold), size, bold,
                          right=x + w - 3 if right else None)
            self.page.draw_line((left, self.y), (left + sum(widths), self.y), color=RULE, width=0.4)

        self.room(step * min(len(rows) + 1, 4))
        row(header, bold=True)
        for cells in rows:
            if self.y + step > BOTTOM:
                self._new_page()
                row(header, bold=True)
            row(cells)
        self.y += 8

    def side_by_side(self, left_table: dict, right_table: dict) -> None:
        """Two small tables next to each other (each a dict of `table`'s arguments); under each other when they
        would not fit the page together."""
        tallest = 13.5 * (max(len(left_table["rows"]), len(right_table["rows"])) + 2) + 8
        if self.y + tallest > BOTTOM:
            self.table(**left_table)
            self.table(**right_table)
            return
        top = self.y
        self.table(**left_table)
        bottom, self.y = self.y, top
        self.table(**right_table, left=MARGIN + WIDTH / 2 + 8)
        self.y = max(bottom, self.y)

    def chart(self, svg: str, height: float) -> None:
        self.room(height + 6)
        source = pymupdf.open("svg", svg.encode())
        drawing = pymupdf.open("pdf", source.convert_to_pdf())
        box = source[0].rect
        width = min(WIDTH, box.width * height / box.height)
        self.page.show_pdf_page(pymupdf.Rect(MARGIN, self.y, MARGIN + width, self.y + height), drawing, 0)
        self.y += height + 6

    def finish(self) -> bytes:
        for (page_number, _), writer in self.writers.items():
            writer.write_text(self.doc[page_number])
        total = len(self.doc)
        for page in self.doc:
            footer = f"{self.footer} · halaman {page.number + 1} dari {total}"
            writer = pymupdf.TextWriter(page.rect, color=MUTED)
            writer.append((MARGIN, A4.height - 28), footer, font=self.regular, fontsize=7.5)
            writer.write_text(page)
        self.doc.subset_fonts()
        self.doc.set_metadata({"title": self.footer, "creator": "PST Pustaka", "producer": "PST Pustaka"})
        data = self.doc.tobytes(garbage=3, deflate=True)
        self.doc.close()
        return data


def _fit(writer: _Writer, text: str, room: float, size: float, bold: bool) -> str:
    font = writer.bold if bold else writer.regular
    if font.text_length(text, fontsize=size) <= room:
        return text
    while text and font.text_length(text + "…", fontsize=size) > room:
        text = text[:-1]
    return text + "…"


def _shares(rows: Sequence[Count], total: int) -> list[list[str]]:
    return [[c.label, number(c.value), number(100 * c.value / total, 1) if total else "—"] for c in rows]


def to_pdf(figures: Figures, place: str = "", signer: str = "") -> bytes:
    """The report as A4 pages. `place` is the city written before the date of signing ("Kendari")."""
    period = period_words(figures.start, figures.end)
    out = _Writer(f"{TITLE} · {figures.office_name or 'Semua kantor'} · {period}")
    _letterhead(out, figures, period)
    if figures.empty:
        out.y += 10
        out.line(11, NOTHING_AT_ALL)
        _signature(out, figures, place, signer)
        return out.finish()
    charts = report_charts(figures)
    _summary(out, figures)
    _visits(out, figures, charts)
    _profile(out, figures, charts)
    _services(out, figures, charts)
    _ikm(out, figures, charts)
    _complaints(out, figures, charts)
    _signature(out, figures, place, signer)
    return out.finish()


def _letterhead(out: _Writer, figures: Figures, period: str) -> None:
    _office_lines(out, office_heading(figures))
    whole = period_covering(figures.start, figures.end)  # a month, quarter, semester or year, named in the title
    if whole is not None and whole.kind == "bulan":
        out.line(13, f"Laporan Bulanan Layanan Perpustakaan PST — {period}", bold=True)
    else:
        out.line(13, f"{TITLE} — {period}" if whole is not None else TITLE, bold=True)
    made = figures.made_at.astimezone(figures.tz)
    out.line(9, f"Periode {long_date(figures.start)} s.d. {long_date(figures.end)} · waktu {figures.zone} · dibuat "
                f"{formats.day_and_time(made, figures.tz, 'id')} {figures.zone}", colour=MUTED)


def _office_lines(out: _Writer, heading: str) -> None:
    """The letterhead: the office, the service, a double rule."""
    out.y = MARGIN - 6
    out.line(15, heading, bold=True, colour=BLUE, gap=2)
    out.line(9, "Pelayanan Statistik Terpadu (PST) · Perpustakaan", colour=MUTED, gap=6)
    out.rule(1.6, BLUE)
    out.y += 2
    out.rule(0.5, BLUE)
    out.y += 16


def _summary(out: _Writer, figures: Figures) -> None:
    w, f, s, c, ikm = figures.waits, figures.fetches, figures.scans, figures.complaints, figures.ikm
    out.heading("1. Ringkasan")
    grade = f"{ikm.grade.letter} ({ikm.grade.performance})" if ikm.grade else "—"
    rows = [
        ["Jumlah kunjungan", number(w.visits)],
        ["Pengunjung dilayani", number(w.served)],
        ["Median waktu tunggu", duration(w.median_s)],
        ["Persentil ke-90 waktu tunggu", duration(w.p90_s)],
        ["Dilayani dalam 5 menit", f"{number(w.within)} dari {number(w.decided)} ({percent(w.ratio)})"],
        ["Permintaan pustaka tercetak (diserahkan)", f"{number(f.requests)} ({number(f.handed)})"],
        ["Pemindaian mandiri (halaman)", f"{number(s.jobs)} ({number(s.pages)} halaman)"],
        ["Responden SKM", number(ikm.respondents)],
        ["Indeks Kepuasan Masyarakat (IKM)", ikm_number(ikm)],
        ["Mutu pelayanan", grade],
        ["Pengaduan (selesai)", f"{number(c.total)} ({number(c.resolved)})"],
    ]
    out.table(["Indikator", "Nilai"], rows, [WIDTH * 0.6, WIDTH * 0.4], [False, True])


def _visits(out: _Writer, figures: Figures, charts: dict[str, str]) -> None:
    out.heading("2. Kunjungan", keep=180)
    if not figures.visits:
        out.line(10, "Tidak ada kunjungan pada periode ini.")
        return
    out.chart(charts["visits_day"], 170)
    rows = [[c.label, number(c.value)] for c in figures.by_week]
    out.table(["Minggu", "Kunjungan"], rows, [WIDTH * 0.6, WIDTH * 0.4], [False, True])
    if len(figures.by_month) > 1:
        rows = [[c.label, number(c.value)] for c in figures.by_month]
        out.table(["Bulan", "Kunjungan"], rows, [WIDTH * 0.6, WIDTH * 0.4], [False, True])
    out.heading("3. Waktu tunggu", keep=180)
    out.line(9, "Standar pelayanan: pengunjung dilayani paling lama 5 menit setelah mengisi buku tamu.", colour=MUTED)
    if not figures.waits.served:
        out.line(10, "Belum ada pengunjung yang dilayani pada periode ini.")
        return
    out.chart(charts["waits_day"], 150)
    busiest = sorted(figures.days, key=lambda d: -(d.waits.p90_s or 0))[:5]
    rows = [[formats.day(d.day, "id"), number(d.waits.visits), duration(d.waits.median_s), duration(d.waits.p90_s),
             percent(d.waits.ratio)] for d in busiest]
    out.line(9, "Hari dengan waktu tunggu terpanjang (persentil ke-90):", colour=MUTED)
    out.table(["Tanggal", "Kunjungan", "Median", "Persentil 90", "≤ 5 menit"], rows,
              [WIDTH * 0.32, WIDTH * 0.14, WIDTH * 0.18, WIDTH * 0.18, WIDTH * 0.18], [False, True, True, True, True])


def _profile(out: _Writer, figures: Figures, charts: dict[str, str]) -> None:
    total = figures.visits
    half = WIDTH / 2 - 8
    out.heading("4. Profil pengunjung", keep=14 * 8)
    if not total:
        out.line(10, "Tidak ada kunjungan pada periode ini.")
        return

    def share_table(title: str, rows: Sequence[Count], width: float) -> dict:
        return {"header": [title, "Jumlah", "%"], "rows": _shares(rows, total),
                "widths": [width * 0.62, width * 0.22, width * 0.16], "numeric": [False, True, True]}

    out.side_by_side(share_table("Keperluan*", figures.purposes, half), share_table("Pendidikan", figures.education, half))
    out.side_by_side(share_table("Instansi", figures.institutions, half), share_table("Pekerjaan", figures.occupation, half))
    out.line(8, "* Satu pengunjung dapat memilih lebih dari satu keperluan. Persen terhadap jumlah kunjungan.",
             colour=MUTED)


def _services(out: _Writer, figures: Figures, charts: dict[str, str]) -> None:
    f, s = figures.fetches, figures.scans
    out.heading("5. Pustaka tercetak dan pemindaian", keep=14 * 9)
    rows = [
        ["Permintaan pustaka tercetak dari ruang penyimpanan", number(f.requests)],
        ["   diserahkan kepada pengunjung", number(f.handed)],
        ["   tidak tersedia", number(f.unavailable)],
        ["   dibatalkan", number(f.cancelled)],
        ["   masih berjalan", number(f.open)],
        ["Pemindaian mandiri", number(s.jobs)],
        ["   halaman dipindai", number(s.pages)],
        ["   gagal (halaman yang sudah dipindai tetap diberikan)", number(s.failed)],
    ]
    out.table(["Layanan", "Jumlah"], rows, [WIDTH * 0.75, WIDTH * 0.25], [False, True])


def _ikm(out: _Writer, figures: Figures, charts: dict[str, str]) -> None:
    ikm = figures.ikm
    out.heading("6. Indeks Kepuasan Masyarakat (SKM, PermenPANRB No. 14 Tahun 2017)", keep=14 * 11)
    if not ikm.respondents:
        out.line(10, "Tidak ada responden SKM pada periode ini: IKM tidak dapat dihitung.")
        return
    rows = [[e.code, e.name, number(ikm.answers[e.code]), "—" if v is None else number(float(shown(v, 4)), 4)]
            for e, v in ikm.weakest_first()]
    out.table(["Kode", "Unsur (nilai terendah lebih dulu)", "Jawaban", "NRR"], rows,
              [WIDTH * 0.1, WIDTH * 0.6, WIDTH * 0.14, WIDTH * 0.16], [False, False, True, True])
    weighted = "—" if ikm.nrr_weighted is None else number(float(shown(ikm.nrr_weighted, 4)), 4)
    grade = f"{ikm.grade.letter} ({ikm.grade.performance})" if ikm.grade else "—"
    out.line(10, f"Responden {number(ikm.respondents)} · NRR tertimbang {weighted} · IKM {ikm_number(ikm)} · "
                 f"mutu pelayanan {grade}", bold=True)
    if ikm.missing:
        out.line(9, f"Belum ada jawaban untuk {', '.join(ikm.missing)}: IKM baru dihitung bila kesembilan unsur "
                    "sudah dijawab.", colour=MUTED)
    bands = "; ".join(f"{g.letter} mulai {number(float(shown(g.lower * 25, 2)), 2)}" for g in GRADES)
    out.line(8, "Bobot setiap unsur tepat 1/9 (peraturan mencetaknya 0,11); IKM = NRR tertimbang × 25; nilai "
                f"dipotong, tidak dibulatkan. Batas mutu: {bands}.", colour=MUTED)
    out.chart(charts["ikm"], 150)


def _complaints(out: _Writer, figures: Figures, charts: dict[str, str]) -> None:
    c = figures.complaints
    out.heading("7. Pengaduan", keep=14 * 6 + 30 + SIGNATURE)  # the last section stays with the signature
    rows = [[row.label, number(row.value)] for row in c.by_status] + [["Jumlah", number(c.total)]]
    out.table(["Status", "Jumlah"], rows, [WIDTH * 0.6, WIDTH * 0.4], [False, True])
    out.line(10, f"Median waktu penyelesaian: {duration(c.median_resolve_s)} (dari {number(c.resolved)} pengaduan "
                 "yang selesai)")


def _signature(out: _Writer, figures: Figures, place: str, signer: str) -> None:
    _sign(out, figures.office_name, figures.made_at.astimezone(figures.tz).date(), place, signer)


def _sign(out: _Writer, office_name: str, today, place: str, signer: str = "") -> None:
    """Place and date in words, "Kepala BPS <office>", room to sign, the name and NIP lines (dotted to fill in)."""
    out.room(SIGNATURE)
    out.y += 16
    x = MARGIN + WIDTH * 0.55
    lines = [f"{place or '....................'}, {long_date(today)}",
             f"Kepala BPS {office_name or '....................................'}"]
    for words in lines:
        for part in out.wrap(words, 10, width=WIDTH * 0.45):
            out.y += 13
            out.text(x, out.y, part, 10)
    out.y += 56
    out.text(x, out.y, signer or "(.................................................)", 10, bold=bool(signer))
    out.y += 14
    out.text(x, out.y, "NIP. ...............................", 10)
    out.y += 10


# --- the IKM of a period on one A4 page ------------------------------------------------------------------------------
def ikm_pdf(report: IkmReport, place: str = "", signer: str = "") -> bytes:
    """The regulation's summary of the survey: the unit and period, the respondents, each element's NRR and weighted
    NRR (× exactly 1/9), their sum, the IKM (× 25), mutu and kinerja, the grading table and the signature block."""
    period = report.period.words()
    office = report.office_name or "Semua kantor"
    out = _Writer(f"IKM · {office} · {period}")
    _office_lines(out, f"Badan Pusat Statistik {report.office_name}".strip())
    out.centred(13, IKM_TITLE.upper(), bold=True, gap=3)
    out.centred(11, f"Periode {period}", bold=True, gap=10)
    _identity(out, report)
    if report.empty:
        out.y += 6
        out.line(11, "Tidak ada responden SKM pada periode ini, sehingga IKM tidak dapat dihitung.", bold=True)
    else:
        _ikm_table(out, report)
        _ikm_verdict(out, report)
        _ikm_notes(out, report)
    _grades_table(out, report)
    _sign(out, report.office_name, report.made_on, place, signer)
    return out.finish()


def _identity(out: _Writer, report: IkmReport) -> None:
    period = report.period
    made = report.made_at.astimezone(report.tz)
    rows = [
        ("Unit pelayanan", f"Perpustakaan PST BPS {report.office_name}" if report.office_name
         else "Perpustakaan PST, semua kantor BPS"),
        ("Periode survei",
         f"{period.words()} ({formats.day(period.start, 'id')} s.d. {formats.day(period.end, 'id')})"),
        ("Jumlah responden", f"{number(report.result.respondents)} orang"),
        ("Dasar perhitungan", REGULATION),
        ("Dibuat", f"{formats.day_and_time(made, report.tz, 'id')}"),
    ]
    for label, value in rows:
        out.y += 14
        out.text(MARGIN, out.y, label, 10)
        out.text(MARGIN + 120, out.y, ":", 10)
        out.text(MARGIN + 130, out.y, _fit(out, value, WIDTH - 130, 10, label == "Jumlah responden"), 10,
                 bold=label == "Jumlah responden")
    out.y += 12


def _ikm_table(out: _Writer, report: IkmReport) -> None:
    result = report.result

    def figure(value, places):
        return formats.cut(value, places, "id")

    rows = [[line.code, line.name, number(line.answers), figure(line.nrr, 4), "1/9", figure(line.weighted, 4)]
            for line in report.lines]
    widths = [WIDTH * 0.07, WIDTH * 0.43, WIDTH * 0.12, WIDTH * 0.13, WIDTH * 0.09, WIDTH * 0.16]
    out.table(["Kode", "Unsur pelayanan", "Jawaban", "NRR", "Bobot", "NRR tertimbang"], rows, widths,
              [False, False, True, True, True, True])
    out.y -= 8
    for label, value in (("Jumlah NRR tertimbang", figure(result.nrr_weighted, 4)),
                         ("IKM unit pelayanan (jumlah NRR tertimbang × 25)", figure(result.ikm, 2))):
        out.y += 15
        out.text(MARGIN + widths[0] + 3, out.y - 4, label, 10, bold=True)
        out.text(0, out.y - 4, value, 10, bold=True, right=MARGIN + WIDTH - 3)
        out.page.draw_line((MARGIN, out.y), (MARGIN + WIDTH, out.y), color=INK, width=0.6)
    out.y += 12


def _ikm_verdict(out: _Writer, report: IkmReport) -> None:
    """The framed result: IKM, mutu, kinerja (or why there is none yet)."""
    result = report.result
    top = out.y
    if result.grade is None:
        out.line(10.5, f"IKM belum dapat dihitung: belum ada jawaban untuk {', '.join(result.missing)}. IKM dihitung "
                       "bila kesembilan unsur sudah dijawab.", bold=True, gap=6)
    else:
        out.y += 18
        cells = [("Nilai IKM", formats.cut(result.ikm, 2, "id")), ("Mutu pelayanan", result.grade.letter),
                 ("Kinerja unit pelayanan", result.grade.performance)]
        for index, (label, value) in enumerate(cells):
            x = MARGIN + 10 + index * WIDTH / 3
            out.text(x, out.y - 4, label, 9, colour=MUTED)
            out.text(x, out.y + 14, value, 15, bold=True, colour=BLUE)
        out.y += 26
    out.page.draw_rect(pymupdf.Rect(MARGIN, top, MARGIN + WIDTH, out.y), color=BLUE, width=1)
    out.y += 8


def _ikm_notes(out: _Writer, report: IkmReport) -> None:
    lowest = "; ".join(f"{line.code} {line.name} ({formats.cut(line.nrr, 2, 'id')})" for line in report.lowest)
    if lowest:
        out.line(9, f"Unsur dengan nilai terendah (prioritas perbaikan): {lowest}.")
    out.line(8, "Bobot setiap unsur tepat 1/9 (peraturan mencetaknya 0,11; dengan 0,11 nilai sempurna hanya 99,00). "
                "NRR = jumlah nilai unsur / jumlah jawaban unsur itu; IKM = jumlah NRR tertimbang × 25. Angka "
                "dipotong, tidak dibulatkan, dari nilai tepat, sehingga tidak melewati batas mutu.", colour=MUTED)


def _grades_table(out: _Writer, report: IkmReport) -> None:
    """The regulation's grading, lowest band first, the band of this period marked."""
    reached = report.result.grade
    out.y += 4
    out.line(9.5, "Nilai persepsi, interval IKM, mutu dan kinerja unit pelayanan", bold=True, gap=2)
    rows = [[f"{formats.decimal(ni_from, 2, 'id', 4)} – {formats.decimal(ni_to, 2, 'id', 4)}",
             f"{formats.decimal(ikm_from, 2, 'id')} – {formats.decimal(ikm_to, 2, 'id')}",
             grade.letter, grade.performance, "hasil periode ini" if grade == reached else ""]
            for grade, ni_from, ni_to, ikm_from, ikm_to in grade_bands()]
    widths = [WIDTH * 0.22, WIDTH * 0.26, WIDTH * 0.1, WIDTH * 0.2, WIDTH * 0.22]
    out.table(["Nilai interval (NI)", "Nilai interval konversi (IKM)", "Mutu", "Kinerja", ""], rows, widths,
              [False, False, False, False, False])
