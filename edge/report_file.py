"""The report's XLSX and PDF files (and the IKM sheet's PDF), made in a process of its own: `python -m
edge.report_file`, the job on standard input as a pickle from the appliance that started it, the file on standard
output. openpyxl and pymupdf take some 30 MB that the appliance would otherwise keep for the rest of the day after the
month's first export; this process gives them back when it ends.
"""

from __future__ import annotations

import pickle
import subprocess
import sys

from pst.i18n import current_language

KINDS = ("xlsx", "pdf", "ikm_pdf")
TIMEOUT_S = 300  # a year's report on a Pi; an export that takes longer has gone wrong


def made_apart(kind: str, report, place: str = "") -> bytes:
    """The file of `kind` for `report` (a pst.reports Figures, or an IkmReport for "ikm_pdf"), in the language of the
    page that asked for it."""
    job = pickle.dumps({"kind": kind, "report": report, "place": place, "language": current_language.get()})
    made = subprocess.run([sys.executable, "-m", "edge.report_file"], input=job, capture_output=True,
                          timeout=TIMEOUT_S)
    if made.returncode != 0:
        raise RuntimeError(f"edge.report_file ended with {made.returncode}: "
                           f"{made.stderr.decode(errors='replace').strip()[-1000:]}")
    return made.stdout


def make(kind: str, report, place: str = "") -> bytes:
    if kind == "xlsx":
        from pst.report_files import to_xlsx

        return to_xlsx(report)
    if kind == "pdf":
        from pst.report_pdf import to_pdf

        return to_pdf(report, place=place)
    if kind == "ikm_pdf":
        from pst.report_pdf import ikm_pdf

        return ikm_pdf(report, place=place)
    raise ValueError(f"no such report file: {kind!r}")


def main() -> None:
    job = pickle.load(sys.stdin.buffer)  # written by the appliance that started this process, never by a visitor
    current_language.set(job["language"])
    sys.stdout.buffer.write(make(job["kind"], job["report"], job["place"]))


if __name__ == "__main__":
    main()
