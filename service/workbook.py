"""An export as an .xlsx workbook: rows written with XlsxWriter in constant-memory mode (each row goes to
a temporary file as it is written, so a worker's memory does not follow the number of rows), the
finished workbook spooled to a temporary file and sent from there with its length.

Every cell is typed as the JSON answer types it: numbers as numbers (kilograms with their scale's
decimals), dates as dates, timestamps as UTC date-times, booleans as booleans, None as an empty cell,
and text through service.exports (SPEC §8: no cell can start a formula). Text is always written with
`write_string` (never `write()`, which would read `=...` as a formula and `http...` as a link), and the
one text XlsxWriter would copy into the file unescaped in constant-memory mode (`<r>...</r>`, a rich
string's markup) is written as a rich string of plain pieces instead: the same text, escaped.

A sheet holds 1,048,576 rows; past 1,048,575 data rows the export continues on another sheet that
repeats the header. Each sheet has a bold, frozen header row with a filter over its rows.
"""

from __future__ import annotations

import io
import itertools
import tempfile
from collections.abc import Callable, Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import IO, Any

import xlsxwriter

from .exports import MEDIA_XLSX, cell

__all__ = ["MEDIA_XLSX", "spooled_workbook"]

SHEET_ROWS = 1_048_576  # Excel's limit, the header row included
MIN_WIDTH, MAX_WIDTH = 8, 60
DATE_FORMAT, TIMESTAMP_FORMAT = "yyyy-mm-dd", "yyyy-mm-dd hh:mm:ss"
EXCEL_EPOCH_YEAR = 1900  # Excel cannot show an earlier date; such a date is written as its ISO text
OPTIONS = {
    "constant_memory": True,
    "strings_to_numbers": False,
    "strings_to_formulas": False,
    "strings_to_urls": False,
    "nan_inf_to_errors": True,
    "remove_timezone": True,
}


class Sheets:
    """The workbook being written: the current sheet, its row and the cell formats."""

    def __init__(self, out: IO[bytes], name: str, fields: tuple[str, ...], widths: list[int], scratch: str):
        self.book = xlsxwriter.Workbook(out, {**OPTIONS, "tmpdir": scratch})
        self.name, self.fields, self.widths = name, fields, widths
        self.header = self.book.add_format({"bold": True})
        self.date = self.book.add_format({"num_format": DATE_FORMAT})
        self.timestamp = self.book.add_format({"num_format": TIMESTAMP_FORMAT})
        self.decimals: dict[int, Any] = {}
        self.sheet: Any = None
        self.row = 0
        self.writers: dict[type, Callable[[int, Any], None]] = {
            str: self._text,
            int: self._number,
            Decimal: self._decimal,
            bool: self._bool,
            date: self._date,
            datetime: self._timestamp,
        }

    def start_sheet(self) -> None:
        self.finish_sheet()
        count = len(self.book.worksheets())
        self.sheet = self.book.add_worksheet(self.name if not count else f"{self.name} ({count + 1})")
        for column, width in enumerate(self.widths):
            self.sheet.set_column(column, column, width)
        for column, field in enumerate(self.fields):
            self.sheet.write_string(0, column, field, self.header)
        self.sheet.freeze_panes(1, 0)
        self.row = 0

    def finish_sheet(self) -> None:
        if self.sheet is not None:
            self.sheet.autofilter(0, 0, self.row, len(self.fields) - 1)

    def write(self, values: tuple) -> None:
        if self.row == SHEET_ROWS - 1:
            self.start_sheet()
        self.row += 1
        writers = self.writers
        for column, value in enumerate(values):
            typed = cell(value)
            if typed is not None:
                writers[type(typed)](column, typed)

    def close(self) -> None:
        self.finish_sheet()
        self.book.close()

    def _text(self, column: int, text: str) -> None:
        if text.startswith("<r>") and text.endswith("</r>"):  # XlsxWriter would copy it in as markup
            self.sheet.write_rich_string(self.row, column, "<", "r", text[2:])
        else:
            self.sheet.write_string(self.row, column, text)

    def _number(self, column: int, value: int) -> None:
        self.sheet.write_number(self.row, column, value)

    def _decimal(self, column: int, value: Decimal) -> None:
        places = max(0, -int(value.as_tuple().exponent)) if value.is_finite() else 0
        if places not in self.decimals:
            shown = "0." + "0" * places if places else "0"
            self.decimals[places] = self.book.add_format({"num_format": shown})
        self.sheet.write_number(self.row, column, value, self.decimals[places])

    def _bool(self, column: int, value: bool) -> None:
        self.sheet.write_boolean(self.row, column, value)

    def _date(self, column: int, value: date) -> None:
        if value.year < EXCEL_EPOCH_YEAR:
            self.sheet.write_string(self.row, column, value.isoformat())
        else:
            self.sheet.write_datetime(self.row, column, value, self.date)

    def _timestamp(self, column: int, value: datetime) -> None:
        if value.year < EXCEL_EPOCH_YEAR:
            self.sheet.write_string(self.row, column, value.isoformat())
        else:
            self.sheet.write_datetime(self.row, column, value, self.timestamp)


def widths(fields: tuple[str, ...], sample: list[tuple]) -> list[int]:
    """Column widths (in characters) from the header and a sample of rows, kept within bounds; the
    header's filter button takes about two characters."""
    found = [len(field) + 3 for field in fields]
    for row in sample:
        for column, value in enumerate(row):
            found[column] = max(found[column], _shown_length(cell(value)))
    return [min(MAX_WIDTH, max(MIN_WIDTH, width + 1)) for width in found]


def _shown_length(value: Any) -> int:
    if value is None:
        return 0
    if type(value) is datetime:
        return len(TIMESTAMP_FORMAT)
    if type(value) is date:
        return len(DATE_FORMAT)
    return len(str(value))


def spooled_workbook(
    name: str, fields: tuple[str, ...], chunks: Iterator[list[tuple]]
) -> tuple[IO[bytes], int]:
    """The rows of `chunks` as a workbook in a temporary file (at its start) and the file's size. The
    first chunk sets the column widths. The file deletes itself once closed; XlsxWriter's own files (a
    sheet's rows, the parts of the zip) live in a directory removed on the way out, failed or not."""
    out = tempfile.TemporaryFile(prefix="report-", suffix=".xlsx")  # noqa: SIM115 - the answer closes it
    try:
        with tempfile.TemporaryDirectory(prefix="xlsx-") as scratch:
            first = next(chunks, [])
            sheets = Sheets(out, name, fields, widths(fields, first), scratch)
            sheets.start_sheet()
            for rows in itertools.chain([first], chunks):
                for row in rows:
                    sheets.write(row)
            sheets.close()
        size = out.seek(0, io.SEEK_END)
        out.seek(0)
    except BaseException:
        out.close()
        close = getattr(chunks, "close", None)
        if close:
            close()  # the database cursor, at once
        raise
    return out, size
