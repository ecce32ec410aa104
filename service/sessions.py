"""The pool's connection class: a session that keeps its cursors, and the loader that hands numerics to
JSON answers as PostgreSQL's own digits."""

from __future__ import annotations

import functools

import msgspec
import psycopg
from psycopg.adapt import Loader
from psycopg.rows import RowFactory, tuple_row


class NumericAsJson(Loader):
    """numeric → PostgreSQL's own digits as raw JSON: the value enters a JSON answer as the number it
    is, without a Decimal built and formatted back (and never a float)."""

    def load(self, data) -> msgspec.Raw:
        return msgspec.Raw(bytes(data))


class Session(psycopg.Connection):
    """A pool connection that keeps its cursors: building a cursor (and, for answers, its loader map)
    per statement costs more Python than reusing one."""

    @functools.cached_property
    def rows_cursor(self) -> psycopg.Cursor:
        return self.cursor(row_factory=tuple_row)

    @functools.cached_property
    def _answer_cursors(self) -> dict[RowFactory, psycopg.Cursor]:
        return {}

    def answer_cursor(self, row_factory: RowFactory = tuple_row) -> psycopg.Cursor:
        """The kept cursor for rows that go into a JSON answer as they are (numerics as raw JSON)."""
        cursor = self._answer_cursors.get(row_factory)
        if cursor is None:
            cursor = self._answer_cursors[row_factory] = self.cursor(row_factory=row_factory)
            cursor.adapters.register_loader("numeric", NumericAsJson)
        return cursor
