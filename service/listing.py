"""Whole lists, streamed: a named statement read through a server-side cursor in chunks and written as
JSON (or CSV by the reports) while it is read, so a worker's memory stays flat whatever the size.

Lists sized by master data (locations, articles, an article's batches, users, the inventory summary)
answer whole this way when a request names neither `limit` nor `cursor` (the older desktop client reads
every list whole); with either they page (service/pagination.py). The first chunk is read before the
answer starts, so a bad request or an unreachable database still gets an error envelope.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import falcon

from .db import Database
from .media import dumps
from .validation import query_param

CHUNK_ROWS = 500


def wants_whole_list(req: falcon.Request) -> bool:
    """A request that names neither `limit` nor `cursor` asks for the whole list."""
    return query_param(req, "limit") is None and query_param(req, "cursor") is None


def row_chunks(
    db: Database, statement: str, params: dict[str, Any], fields: tuple[str, ...], name: str = ""
) -> Iterator[list[tuple]]:
    """The named statement's rows in chunks of CHUNK_ROWS, each row the values of `fields` in that order."""
    return db.stream(statement, params, fields, CHUNK_ROWS)


def started(chunks: Iterator[list[tuple]]) -> Iterator[list[tuple]]:
    """The chunks with the first one already read: the statement runs (and may fail) now, not once the
    answer has begun."""
    first = next(chunks, [])

    def replay() -> Iterator[list[tuple]]:
        try:
            yield first
            yield from chunks
        finally:
            chunks.close()

    return replay()


def json_items(chunks: Iterator[list[tuple]], fields: tuple[str, ...], *, paged: bool) -> Iterator[bytes]:
    """`{"items": [...]}` (with `"total"` and `"next_cursor": null` after the items when `paged`, the
    shape of a list page that holds everything)."""
    yield b'{"items":['
    separator, total = b"", 0
    for rows in chunks:
        if rows:
            yield separator + b",".join(dumps(dict(zip(fields, row, strict=True))) for row in rows)
            separator = b","
            total += len(rows)
    yield b'],"total":%d,"next_cursor":null}' % total if paged else b"]}"


def answer_whole(
    resp: falcon.Response,
    db: Database,
    statement: str,
    params: dict[str, Any],
    fields: tuple[str, ...],
) -> None:
    """Answers a list request with every row the named statement gives, streamed."""
    chunks = started(row_chunks(db, statement, params, fields))
    resp.content_type = falcon.MEDIA_JSON
    resp.stream = json_items(chunks, fields, paged=True)
