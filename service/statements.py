"""Named SQL statements loaded from `sql/*.sql`, in aiosql's convention.

Each `-- name: x` line starts statement `x`; a suffix on the name says what running it returns:

    -- name: list_drafts        every row (a list)
    -- name: draft_detail^      the first row, or None
    -- name: purge_keys!        nothing

A DBA reads a statement, comments included, in its file; what is sent is the same text without its
comment lines and indentation (shorter statements are parsed once by psycopg and cached, see
tests/test_statements.py). No statement is built at run time.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import psycopg
from psycopg.rows import tuple_row

from .config import PROJECT_ROOT

SQL_DIR = PROJECT_ROOT / "sql"
Shape = Literal["rows", "row", "none"]
_NAME = re.compile(r"^--\s*name:\s*([a-z_][a-z0-9_]*)([\^!]?)\s*$", re.MULTILINE)
_SHAPES: dict[str, Shape] = {"": "rows", "^": "row", "!": "none"}


class Statement(str):
    """A statement's text (a `str`, so it can go to `cursor.execute` as it is) with its name and shape."""

    name: str
    shape: Shape
    columns: tuple[str, ...] | None  # its result's column names, read from its first result

    def __new__(cls, text: str, name: str, shape: Shape) -> Statement:
        statement = super().__new__(cls, text)
        statement.name, statement.shape, statement.columns = name, shape, None
        return statement

    def result(self, cursor: psycopg.Cursor) -> Any:
        """The result of this statement on `cursor` in the shape its name declares. A cursor loading
        tuples (psycopg's fast path) gets its rows as dicts by column name, the names read once per
        statement: psycopg's dict_row decodes them again for every result (~25 µs for an approval's 36,
        docs/performance.md)."""
        if self.shape == "none":
            return None
        rows = cursor.fetchall() if self.shape == "rows" else cursor.fetchmany(1)
        if cursor.row_factory is tuple_row:
            if self.columns is None:
                self.columns = tuple(column.name for column in cursor.description)
            rows = [dict(zip(self.columns, row, strict=True)) for row in rows]
        if self.shape == "rows":
            return rows
        return rows[0] if rows else None


class Statements:
    """The named statements of a directory: `sql.draft_detail` or `sql["draft_detail"]`."""

    def __init__(self, directory: Path = SQL_DIR):
        self._by_name: dict[str, Statement] = {}
        for path in sorted(directory.glob("*.sql")):
            text = path.read_text()
            marks = list(_NAME.finditer(text))
            for mark, following in zip(marks, [*marks[1:], None], strict=True):
                body = text[mark.end() : following.start() if following else len(text)].strip()
                body = "\n".join(
                    line.strip()
                    for line in body.splitlines()
                    if line.strip() and not line.lstrip().startswith("--")
                )
                name, suffix = mark.groups()
                if name in self._by_name:
                    raise ValueError(f"statement {name!r} is defined twice (second in {path.name})")
                self._by_name[name] = Statement(body, name, _SHAPES[suffix])

    def __getitem__(self, name: str) -> Statement:
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(f"no SQL statement named {name!r}") from None

    def __getattr__(self, name: str) -> Statement:
        try:
            return self._by_name[name]
        except KeyError:
            raise AttributeError(f"no SQL statement named {name!r}") from None

    def __contains__(self, name: str) -> bool:
        return name in self._by_name

    def __iter__(self):
        return iter(self._by_name.values())
