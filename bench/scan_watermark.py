"""Scan → watermarked PDF, 50 pages at 150 dpi, and what the watermark itself costs.

1. The whole job through the appliance's scan service: 50 pages from SANE's `test` backend (the simulated feeder),
   spooled, made into one PDF, watermarked, written atomically, committed with its outbox event. Baseline in the
   same run: the same 50 pages from the same backend with nothing else (the scanning floor).
2. Watermarking alone on a 50-page scanned PDF (generated A4 pages, 150 dpi JPEGs of text and a photo), against two
   baselines in the same run: the same PDF opened and re-saved unchanged by pymupdf (the floor), and the same stamp
   put on every page by pypdf (`merge_page`); each reads the PDF from memory and writes a file. Also (`--text-pages`,
   0 to skip) the same on a text PDF, as the cloud's softcopy is.
"""

from __future__ import annotations

import argparse
import io
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pymupdf
from PIL import Image, ImageDraw

from bench.harness import summary
from pst.pdfstamp import StampStyle, images_to_pdf, stamp, stamp_pdf
from pst.watermark import watermark_lines

WITA = ZoneInfo("Asia/Makassar")
MOMENT = datetime(2026, 11, 30, 9, 15, tzinfo=WITA)
LINES = watermark_lines("BPS Provinsi Sulawesi Tenggara", "Wa Ode Nurhaliza", MOMENT, WITA, "0192f3a1-7c2e-7abc-8def-1234567890ab")
A4_150 = (1240, 1754)


def timed(action: Callable[[], object], runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def show(name: str, samples: list[float]) -> None:
    print(f"  {name:44s} median {statistics.median(samples):8.1f} ms   min {min(samples):8.1f} ms   (n={len(samples)})")


# --- 1. the whole job -------------------------------------------------------------------------------------------


def job_bench(pages: int, runs: int) -> None:
    from edge.appliance import Appliance
    from edge.settings import EdgeSettings
    from pst.clock import ManualClock

    with tempfile.TemporaryDirectory() as tmp:
        settings = EdgeSettings.from_env({"PST_DATA_DIR": tmp, "PST_EDGE_HARDWARE": "sim"})
        appliance = Appliance(settings, clock=ManualClock(MOMENT)).start()
        try:
            feeder, scans = appliance.hardware.scanner, appliance.scans
            scans.max_pages = pages
            visit = appliance.check_in({
                "name": "Wa Ode Nurhaliza", "gender": "P", "occupation": "pelajar", "purposes": ["pindai"],
                "id_type": "KTM", "email": "wa.ode@example.id",
            }).visit["id"]

            def whole_job() -> None:
                feeder.feed(pages)
                job = scans.wait(scans.start(visit_id=visit), timeout=120)
                assert job.status == "ready" and job.pages == pages, job

            def scanning_only() -> None:
                feeder.feed(pages)
                assert sum(1 for _ in feeder.pages()) == pages

            job_ms, scan_ms = [], []
            for _ in range(runs):  # interleaved, so drift hits both alike
                job_ms += timed(whole_job, 1)
                scan_ms += timed(scanning_only, 1)
            size = (settings.data_dir / "scans").glob("*.pdf").__next__().stat().st_size
        finally:
            appliance.stop()
    print(f"1. scan → watermarked PDF, {pages} pages at 150 dpi from the SANE test backend "
          f"(1181×1181 px colour pages, PDF {size / 1e6:.1f} MB)")
    show("whole job (start → ready)", job_ms)
    show("baseline: the same pages scanned, nothing else", scan_ms)
    print(f"  the job over the scanning floor: {statistics.median(job_ms) / statistics.median(scan_ms):.2f}x "
          f"(+{statistics.median(job_ms) - statistics.median(scan_ms):.0f} ms for {pages} pages)")
    summary(f"scan → watermarked PDF, {pages} pages, median", statistics.median(job_ms), "ms",
            statistics.median(scan_ms), "the pages scanned only")


# --- 2. the watermark alone -------------------------------------------------------------------------------------


def scanned_page(number: int) -> bytes:
    """An A4 page at 150 dpi as a scanner gives it: grey-ish paper, lines of text, a photo block."""
    image = Image.new("RGB", A4_150, (246, 244, 238))
    draw = ImageDraw.Draw(image)
    for row, y in enumerate(range(150, 1650, 28)):
        if 520 <= y <= 900:
            continue
        draw.text((120, y), f"Tabel {number}.{row}  Produk Domestik Regional Bruto menurut lapangan usaha 2026", fill=(30, 30, 30))
    for x in range(150, 1090, 4):
        draw.line([(x, 540), (x, 880)], fill=((x * 7) % 255, (x * 3) % 200, 120))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=80, dpi=(150, 150))
    return buffer.getvalue()


def text_pdf(pages: int) -> bytes:
    doc = pymupdf.open()
    for number in range(pages):
        page = doc.new_page()
        for row in range(45):
            page.insert_text((56, 60 + row * 16), f"{number}.{row} Statistik Daerah Sulawesi Tenggara 2026 — indikator "
                                                  "ekonomi, sosial dan kependudukan", fontsize=9)
    return doc.tobytes(deflate=True)


def pypdf_stamper(width: float, height: float) -> Callable[[bytes, Path], None]:
    """pypdf's way: one stamp page (the same diagonal text and footer, drawn here once) merged onto every page."""
    from pypdf import PdfReader, PdfWriter

    blank = pymupdf.open()
    blank.new_page(width=width, height=height)
    stamp_page = PdfReader(io.BytesIO(stamp_pdf(blank, LINES, StampStyle(numbered=False)))).pages[0]

    def stamp_all(source: bytes, out: Path) -> None:
        writer = PdfWriter(clone_from=PdfReader(io.BytesIO(source)))
        for page in writer.pages:
            page.merge_page(stamp_page)
        writer.write(out)

    return stamp_all


def check(path: Path, pages: int) -> None:
    with pymupdf.open(path) as doc:
        assert doc.page_count == pages
        assert all(all(line in page.get_text() for line in LINES) for page in doc), "a page lacks the watermark"


def watermark_bench(name: str, source: bytes, runs: int, folder: Path) -> None:
    """Each way reads the PDF from memory and writes the result to a file, as the scan service does."""
    with pymupdf.open(stream=source, filetype="pdf") as doc:
        pages, rect = doc.page_count, doc[0].rect
    pypdf_stamp = pypdf_stamper(rect.width, rect.height)
    out = {key: folder / f"{key}.pdf" for key in ("ours", "floor", "pypdf")}  # each way its own file

    def ours() -> None:
        with pymupdf.open(stream=source, filetype="pdf") as doc:
            stamp(doc, LINES).save(out["ours"])

    def floor() -> None:
        with pymupdf.open(stream=source, filetype="pdf") as doc:
            doc.save(out["floor"])

    def with_pypdf() -> None:
        pypdf_stamp(source, out["pypdf"])

    for way, key in ((ours, "ours"), (with_pypdf, "pypdf")):
        way()
        check(out[key], pages)
    samples: dict = {ours: [], floor: [], with_pypdf: []}
    for _ in range(runs):  # interleaved, so drift hits all three alike
        for way in samples:
            for path in out.values():
                path.unlink(missing_ok=True)  # no run pays for truncating the one before
            samples[way] += timed(way, 1)
    ours_ms, floor_ms, pypdf_ms = samples[ours], samples[floor], samples[with_pypdf]
    bytes_ms = timed(lambda: stamp_pdf(source, LINES), max(3, runs // 2))
    print(f"2. watermark every page: {name} ({pages} pages, {len(source) / 1e6:.1f} MB), PDF in memory → file")
    show("pst.pdfstamp.stamp + save (Form XObject)", ours_ms)
    show("floor: pymupdf re-save unchanged", floor_ms)
    show("pypdf merge_page on every page", pypdf_ms)
    show("(stamp_pdf to bytes: tobytes, for reference)", bytes_ms)
    for label, pick in (("median", statistics.median), ("min", min)):
        mine = pick(ours_ms)
        print(f"  ratios ({label:6s}) stamp / floor: {mine / pick(floor_ms):5.2f}x    "
              f"pypdf / stamp: {pick(pypdf_ms) / mine:5.2f}x (how much faster than pypdf)")
    for baseline, taken in (("floor: pymupdf re-save", floor_ms), ("pypdf merge_page", pypdf_ms)):
        summary(f"stamp {pages} pages, {name}, median", statistics.median(ours_ms), "ms", statistics.median(taken),
                baseline)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=50)
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--text-pages", type=int, default=300, help="also a text PDF of this many pages (0: skip)")
    args = parser.parse_args()
    job_bench(args.pages, max(3, args.runs // 2))
    print()
    scanned = images_to_pdf([scanned_page(n) for n in range(args.pages)]).tobytes()
    with tempfile.TemporaryDirectory() as tmp:
        watermark_bench("scanned A4 at 150 dpi", scanned, args.runs, Path(tmp))
        if args.text_pages:
            print()
            watermark_bench("text PDF", text_pdf(args.text_pages), args.runs, Path(tmp))


if __name__ == "__main__":
    main()
