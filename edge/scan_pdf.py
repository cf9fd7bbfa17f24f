"""The PDF of a scan, made in a process of its own (`python -m edge.scan_pdf`, the job on standard input as JSON:
`{"pages": [[path, dpi], ...], "lines": [...], "target": path}`). pymupdf and a job's page images take some 40 MB
that the appliance would otherwise hold for the rest of the day; this process gives them back when it ends.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path


def write_pdf(pages: list[tuple[str, float]], lines: list[str], target: Path) -> None:
    """The spooled JPEGs as one PDF, watermarked with `lines`, written whole to `target`."""
    from pst.pdfstamp import images_to_pdf, stamp

    images = ((Path(path).read_bytes(), dpi) for path, dpi in pages)  # read one at a time, as each page goes in
    with images_to_pdf(images) as doc:
        save_atomically(stamp(doc, lines), target)


def save_atomically(doc, path: Path) -> None:
    """The whole PDF or nothing, also across a power cut: written whole by MuPDF to a temporary file (never an
    incremental update), fsync, rename, fsync of the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    doc.save(str(partial), garbage=0, deflate=False, incremental=False)
    with open(partial, "rb+") as written:
        os.fsync(written.fileno())
    os.replace(partial, path)
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


def main() -> None:
    job = json.load(sys.stdin)
    write_pdf([(path, float(dpi)) for path, dpi in job["pages"]], job["lines"], Path(job["target"]))


if __name__ == "__main__":
    main()
