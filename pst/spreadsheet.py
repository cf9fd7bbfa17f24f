"""Cells of the spreadsheets the product writes (CSV and XLSX): a text typed by a visitor stays text. A spreadsheet
reads a cell that begins with = + - @, a tab or a carriage return as a formula, so such a text gets a leading single
quote (OWASP, CSV injection); numbers and dates are left as they are, so a negative number is still a number."""

from __future__ import annotations

import re

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# The C0 control characters an XLSX cell cannot hold (openpyxl refuses them): shown as U+FFFD instead
XLSX_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def text_cell(text: str) -> str:
    """The text as a spreadsheet shows it and never evaluates it."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def cell(value: object) -> object:
    """A value for a cell: text neutralised, anything else (numbers, dates, None) unchanged."""
    return text_cell(value) if isinstance(value, str) else value


def append_row(sheet, values) -> None:
    """Appends a row to an openpyxl worksheet with every text typed as a string: openpyxl would otherwise turn a text
    beginning with "=" into a formula cell."""
    row = [XLSX_ILLEGAL.sub("\ufffd", value) if isinstance(value, str) else value for value in map(cell, values)]
    sheet.append(row)
    for column, value in enumerate(row, start=1):
        if isinstance(value, str):
            sheet.cell(row=sheet.max_row, column=column).data_type = "s"
