"""A reader's softcopy from the portal: a 300-page text PDF watermarked for one reader (name, e-mail, office time,
download id) the way `cloud.reading` makes every copy — `reader_lines` and `stamp_copy`, which opens the stored file,
stamps every page with `pst.pdfstamp` and writes the whole file to a temporary file of its own — against two
baselines in the same run, each also reading the stored file and writing a temporary file:

- the floor: the same PDF opened by pymupdf and saved unchanged, with the options `stamp_copy` saves with;
- pypdf: a stamp page for this reader (the same lines, drawn on a blank page by pymupdf, unnumbered) merged onto
  every page (`merge_page`) of a `PdfWriter` cloned from the file.

Every copy is for a new download id, as on the portal (nothing is cached between readers). The database row of the
download and the streaming of the answer are not timed.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import tempfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pymupdf

from bench.harness import summary
from bench.scan_watermark import show, text_pdf, timed
from cloud.accounts import AccountView
from cloud.reading import PORTAL, WITA, reader_lines, stamp_copy
from pst.ids import new_id
from pst.pdfstamp import StampStyle, stamp_pdf

READER = AccountView("0192f3a1-7c2e-7abc-8def-1234567890ab", "waode.nurhaliza@example.id", "Wa Ode Nurhaliza",
                     "reader", True)
MOMENT = datetime(2026, 11, 30, 9, 15, tzinfo=WITA)


def lines_for_a_download() -> list[str]:
    return reader_lines(PORTAL, READER, MOMENT, WITA, new_id())


def portal_copy(source: Path) -> Path:
    """What `Reading.softcopy` does after logging the download: lines for this download, then the stamped file."""
    return stamp_copy(source, lines_for_a_download())


def floor_copy(source: Path) -> Path:
    handle, name = tempfile.mkstemp(prefix="pst-floor-", suffix=".pdf")
    os.close(handle)
    with pymupdf.open(source, filetype="pdf") as doc:
        doc.save(name, garbage=0, deflate=False)
    return Path(name)


def pypdf_copy(source: Path) -> Path:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(source))
    box = writer.pages[0].mediabox
    blank = pymupdf.open()
    blank.new_page(width=float(box.width), height=float(box.height))
    stamp_page = PdfReader(io.BytesIO(stamp_pdf(blank, lines_for_a_download(), StampStyle(numbered=False)))).pages[0]
    for page in writer.pages:
        page.merge_page(stamp_page)
    handle, name = tempfile.mkstemp(prefix="pst-pypdf-", suffix=".pdf")
    os.close(handle)
    writer.write(name)
    return Path(name)


def check(path: Path, pages: int) -> None:
    with pymupdf.open(path) as doc:
        assert doc.page_count == pages
        assert all(READER.email in page.get_text() for page in doc), "a page lacks the reader's e-mail"


def once(make: Callable[[Path], Path], source: Path) -> Callable[[], None]:
    """One copy, deleted afterwards as the portal deletes it once sent (unlinking costs all three ways alike)."""
    def run() -> None:
        make(source).unlink()

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=300)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "softcopy.pdf"
        source.write_bytes(text_pdf(args.pages))
        for make in (portal_copy, pypdf_copy):
            made = make(source)
            check(made, args.pages)
            made.unlink()
        ways = {name: once(make, source) for name, make in
                (("portal", portal_copy), ("floor", floor_copy), ("pypdf", pypdf_copy))}
        samples: dict[str, list[float]] = {name: [] for name in ways}
        for _ in range(args.runs):  # interleaved, so drift hits all three alike
            for name, way in ways.items():
                samples[name] += timed(way, 1)
        size = source.stat().st_size
    print(f"per-reader softcopy: text PDF of {args.pages} pages ({size / 1e6:.1f} MB), stored file → temporary file")
    show("portal: reader_lines + stamp_copy", samples["portal"])
    show("floor: pymupdf re-save unchanged", samples["floor"])
    show("pypdf: merge_page of a stamp page", samples["pypdf"])
    for label, pick in (("median", statistics.median), ("min", min)):
        portal = pick(samples["portal"])
        print(f"  ratios ({label:6s}) portal / floor: {portal / pick(samples['floor']):5.2f}x    "
              f"pypdf / portal: {pick(samples['pypdf']) / portal:5.2f}x (how much faster than pypdf)")
    for baseline, way in (("floor: pymupdf re-save", "floor"), ("pypdf merge_page", "pypdf")):
        summary(f"a reader's copy, {args.pages} pages, median", statistics.median(samples["portal"]), "ms",
                statistics.median(samples[way]), baseline)


if __name__ == "__main__":
    main()
