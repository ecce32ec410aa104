"""What a spreadsheet receives: every cell of every export (CSV and XLSX) goes through `cell()`,
and CSV lines are written by `csv_line()`.

SPEC §8: no cell can start a formula, in any locale. OWASP's CSV-injection guidance is the floor: a
text cell whose first character is = + - @ tab or CR gets a leading single quote, and since a field
separator or a quote inside a cell can start a new cell, the same holds after each of them. Here the
first character is the first one after Unicode spaces and invisible format characters, compared after
NFKC (so the full-width signs count too), and the separators are every one a spreadsheet splits on in
some locale (`,` `;` tab) plus quotes and line breaks. Every text is also quoted in the CSV: a reader
that splits on our comma keeps the cell whole, and one that splits on `;` (de, fr, ...) and so cuts the
cell finds a single quote at the start of each piece that could be a formula. Numbers stay numbers,
dates ISO 8601, timestamps UTC ending in `Z`, exactly as the JSON answers write them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import msgspec

_encode = msgspec.json.Encoder().encode

FORMULA_SIGNS = frozenset("=+-@")
LEADING_CONTROLS = frozenset("\t\r\n")  # OWASP names tab and CR; a line break is the same threat
# where a spreadsheet, in some locale, may start a new cell inside ours
CELL_BREAKS = re.compile(r"[,;\t\"'\r\n]")

MEDIA_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

Cell = str | int | Decimal | date | datetime | bool | None


def _blank(ch: str) -> bool:
    return ch.isspace() or unicodedata.category(ch) == "Cf"


def _opens_formula(text: str, start: int) -> bool:
    """Whether a cell starting at `start` would be read as a formula."""
    for ch in text[start:]:
        if ch in LEADING_CONTROLS:
            return True
        if not _blank(ch):
            return unicodedata.normalize("NFKC", ch)[:1] in FORMULA_SIGNS
    return False


def safe_text(text: str) -> str:
    """`text` with a single quote before every place a cell could start as a formula."""
    if text[:1].isalnum() and not CELL_BREAKS.search(text):
        return text  # the common case, decided without looking at each character
    starts = [0, *(m.end() for m in CELL_BREAKS.finditer(text))]
    risky = [p for p in starts if _opens_formula(text, p)]
    if not risky:
        return text
    pieces, last = [], 0
    for p in risky:
        pieces += [text[last:p], "'"]
        last = p
    pieces.append(text[last:])
    return "".join(pieces)


def timestamp(value: datetime) -> str:
    """UTC, ending in `Z`, as msgspec writes every JSON answer's timestamps."""
    return _encode(utc(value))[1:-1].decode()


def utc(value: datetime) -> datetime:
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def cell(value: Any) -> Cell:
    """One export cell, typed for any format: text made safe, a timestamp in UTC, anything else that is
    not a number or a date as its safe text."""
    kind = type(value)
    if kind is str:
        return safe_text(value)
    if value is None or kind in (int, Decimal, bool, date):
        return value
    if kind is datetime:
        return utc(value)
    return safe_text(str(value))


def csv_field(value: Any) -> str:
    """One CSV field of `cell(value)`: every text quoted (quotes doubled), numbers bare, dates and
    timestamps ISO 8601, nothing for None."""
    typed = cell(value)
    kind = type(typed)
    if kind is str:
        return '"' + typed.replace('"', '""') + '"'
    if typed is None:
        return ""
    if kind is Decimal:
        return format(typed, "f")
    if kind is bool:
        return "true" if typed else "false"
    if kind is datetime:
        return timestamp(typed)
    if kind is date:
        return typed.isoformat()
    return str(typed)


def csv_line(values: Iterable[Any]) -> str:
    return ",".join([csv_field(value) for value in values]) + "\r\n"
