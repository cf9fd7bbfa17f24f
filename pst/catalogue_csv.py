"""The catalogue's CSV, as both the appliance and the portal read it: UTF-8 (a byte-order mark is fine), commas,
a header row of known column names. Every problem names its line and column, in Indonesian, for the librarian.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

# A reading-room shelf code, as both sides accept it: R-03 (display shelf), G-12-4 (storage rack 12, level 4).
SHELF = re.compile(r"[A-Z0-9]{1,4}(-[A-Z0-9]{1,4}){0,3}")


@dataclass(frozen=True)
class Problem:
    line: int  # line of the CSV file, or position of the item in a batch (from 1)
    column: str
    message: str


class CsvRefused(ValueError):
    def __init__(self, problems: list[Problem]):
        super().__init__(refusal(problems))
        self.problems = problems


def refusal(problems: list[Problem], unit: str = "baris") -> str:
    shown = "; ".join(f"{unit} {p.line}, kolom {p.column}: {p.message}" for p in problems[:20])
    more = f" (dan {len(problems) - 20} masalah lain)" if len(problems) > 20 else ""
    return f"{shown}{more}"


def read_csv(path: Path, known: Sequence[str], required: Sequence[str]) -> list[tuple[int, dict[str, str]]]:
    """(line, {column: cell}) for every non-empty row, after the header is checked; CsvRefused otherwise."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise CsvRefused([Problem(line, "—", "berkas bukan UTF-8; simpan ulang sebagai \"CSV UTF-8\"")]) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    header = [name.strip().lower() for name in next(reader, [])]
    check_header(header, known, required)
    rows, line = [], reader.line_num
    for cells in reader:
        start, line = line + 1, reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) > len(header):
            raise CsvRefused([Problem(start, "—", f"{len(cells)} sel, padahal judul kolom hanya {len(header)}"
                                                  " (ada koma di dalam isian? apit isian itu dengan tanda kutip)")])
        rows.append((start, dict(zip(header, cells + [""] * (len(header) - len(cells))))))
    return rows


def check_header(header: list[str], known: Sequence[str], required: Sequence[str]) -> None:
    if not header:
        raise CsvRefused([Problem(1, "—", "berkas kosong: baris pertama harus judul kolom")])
    if len(header) == 1 and ";" in header[0]:
        raise CsvRefused([Problem(1, "—", "kolom harus dipisah koma (,), bukan titik koma")])
    problems = [Problem(1, name or "(kosong)", "kolom tidak dikenal; yang dikenal: " + ", ".join(known))
                for name in header if name not in known]
    problems += [Problem(1, name, "kolom ini wajib ada") for name in required if name not in header]
    problems += [Problem(1, name, "kolom ini muncul dua kali") for name in sorted(set(header)) if header.count(name) > 1]
    if problems:
        raise CsvRefused(problems)
