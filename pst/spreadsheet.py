"""Cells of the spreadsheets the product writes (CSV and XLSX): a text typed by a visitor stays text. A spreadsheet
reads a cell that begins with = + - @, a tab or a carriage return as a formula, so such a text gets a leading single
quote (OWASP, CSV injection); numbers and dates are left as they are, so a negative number is still a number."""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def text_cell(text: str) -> str:
    """The text as a spreadsheet shows it and never evaluates it."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def cell(value: object) -> object:
    """A value for a cell: text neutralised, anything else (numbers, dates, None) unchanged."""
    return text_cell(value) if isinstance(value, str) else value


def append_row(sheet, values) -> None:
    """Appends a row to an openpyxl worksheet with every text typed as a string: openpyxl would otherwise turn a text
    beginning with "=" into a formula cell."""
    row = [cell(value) for value in values]
    sheet.append(row)
    for column, value in enumerate(row, start=1):
        if isinstance(value, str):
            sheet.cell(row=sheet.max_row, column=column).data_type = "s"
