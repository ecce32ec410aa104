"""Articles (master data) and their aliases: the list, one article, creation, edits, archiving, deletion,
resolving a scanned or typed code, and the aliases an article is also known by.

Each function takes the database it runs on (`db`: the `Database`, or the `Unit` of a keyed request)
and plain values; it returns rows in the answer's shape, or raises the error of a refusal
(service/refusals.py). Statements: sql/articles.sql.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import psycopg

from . import shapes
from .db import REPEATABLE_READ, Database
from .errors import NotFound, ValidationFailed
from .media import dumps
from .refusals import refuse
from .validation import as_id, quantity

MAX_AMOUNT = Decimal("999999999.99")
NULLABLE_TEXT = {  # field: max length; stored trimmed, an empty string is stored as null
    "article_group": 100,
    "pack_uom": 20,
    "barcode": 100,
    "manufacturer": 200,
    "manufacturer_art_number": 100,
}
AMOUNTS = {"pack_size": Decimal("0.01"), "reorder_threshold": Decimal("0.00")}  # field: lowest value
ACTIVE = ("true", "false", "all")
ARTICLE_FIELDS = shapes.Article.__struct_fields__
ALIAS_FIELDS = ("id", "article_id", "alias", "slot", "created_at")
USES = ("batches", "balances", "drafts", "transactions")  # what delete_article counts


# --- the {article} path field -------------------------------------------------------------------------


def article_id(value: str) -> int:
    """The `{article}` path field as an id; anything else names no article."""
    ident = as_id(value)
    if ident is None:
        raise NotFound("article", article=value)
    return ident


def article_no(value: str) -> str:
    """The `{article}` path field as an article_no; one no article can have (too long, NUL) is a 404."""
    if len(value) > 50 or "\x00" in value:
        raise NotFound("article", article_no=value[:50].replace("\x00", ""))
    return value


# --- reading ------------------------------------------------------------------------------------------


def active_filter(choice: str | None) -> bool | None:
    """The `active` filter of the catalog's lists: true (the default), false, or all (None)."""
    return None if choice == "all" else (choice or "true") == "true"


def list_filters(active: str | None, q: str | None, is_paint: bool | None) -> dict[str, Any]:
    """Parameters of `list_articles` / `count_articles`: which articles (see `active_filter`), `q` a part
    of article_no, description or an alias."""
    q = (q or "").strip()
    if len(q) > 100 or "\x00" in q:
        raise ValidationFailed({"q": "must be at most 100 characters, without NUL"})
    escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return {
        "active": active_filter(active),
        "is_paint": is_paint,
        "like": f"%{escaped}%" if q else None,
    }


def list_params(filters: dict[str, Any], after_key: str | None, limit: int | None) -> dict[str, Any]:
    """Parameters of `list_articles`: the rows after `after_key` (a `sort_key`); every row without `limit`."""
    return {**filters, "after_key": after_key, "limit": limit}


def list_articles(db: Database, filters: dict[str, Any], after_key: str | None, limit: int):
    """(rows, total): up to `limit` rows after `after_key`, each with its `sort_key`; see `article_body`."""
    rows, total = db.transaction(
        ("list_articles", list_params(filters, after_key, limit)),
        ("count_articles", filters),
        isolation=REPEATABLE_READ,
    )
    return rows, total["total"]


def article(db: Database, number: str) -> dict:
    """One article by article_no (case-insensitively), with its aliases."""
    row = db.query("article_detail", {"id": None, "article_no": number})
    if row is None:
        refuse("article_no_not_found", article_no=number)
    return article_body(row)


def resolve(db: Database, code: str) -> dict:
    """The article a scanned or typed code names (article_no, then alias, then barcode), with `matched_by`."""
    code = code.strip()  # scanners append CR / LF
    if not code or len(code) > 200 or "\x00" in code:
        raise ValidationFailed({"query": "must be 1 to 200 characters"})
    rows = db.query("resolve_article", {"query": code, "alias": code.upper()})
    if not rows:
        refuse("unresolved_code", query=code)
    if len(rows) > 1:
        refuse("ambiguous_code", query=code, rows=rows)
    return {**article_body(rows[0]), "matched_by": rows[0]["matched_by"]}


def article_body(row: dict) -> dict:
    return {key: value for key, value in row.items() if key not in ("sort_key", "matched_by")}


# --- writing ------------------------------------------------------------------------------------------


def normalised(body: dict[str, Any]) -> dict[str, Any]:
    """The article fields of a request, trimmed and rounded (quantities as strings), every one checked."""
    problems: dict[str, str] = {}
    out: dict[str, Any] = {}
    for field, value in body.items():
        if field == "article_no":
            out[field] = value.strip()
            if not out[field]:
                problems[field] = "must not be blank"
        elif field == "description":
            out[field] = value.strip()
        elif field in NULLABLE_TEXT:
            out[field] = (value.strip() or None) if value is not None else None
        elif field in AMOUNTS:
            amount = (
                quantity(value, field, AMOUNTS[field], MAX_AMOUNT, problems) if value is not None else None
            )
            out[field] = str(amount) if amount is not None else None
        else:
            out[field] = value
    if problems:
        raise ValidationFailed(problems)
    return out


def create(db: Database, body: dict[str, Any]) -> dict:
    """A new article from the request's fields (the others take their defaults)."""
    params = {
        "description": "",
        "uom": "KG",
        "is_paint": True,
        "is_active": True,
        **dict.fromkeys((*NULLABLE_TEXT, *AMOUNTS)),
        **normalised(body),
    }
    created, row = db.transaction(
        ("create_article", params), ("article_detail", {"id": None, "article_no": params["article_no"]})
    )
    if created is None:
        refuse("article_no_taken", article_no=params["article_no"], existing_article_id=row["id"])
    return article_body(row)


def edit(db: Database, ident: int, changes: dict[str, Any]) -> dict:
    """Applies the request's fields to an article (null clears an optional field)."""
    patch = normalised(changes)
    # a concurrent rename to the same article_no loses on the unique index and is re-run to see it
    verdict, row = db.transaction(
        ("update_article", {"id": ident, "patch": dumps(patch).decode()}),
        ("article_detail", {"id": ident, "article_no": None}),
        retry_on=(psycopg.errors.UniqueViolation,),
    )
    refuse(
        verdict["outcome"],
        subject="article",
        id=ident,
        article_no=patch.get("article_no"),
        batches=verdict["batches"],
    )
    return article_body(row)


def delete(db: Database, ident: int) -> None:
    """Deletes an article that nothing references."""
    # a batch added meanwhile makes the delete fail on its foreign key; the re-run counts it
    (result,) = db.transaction(
        ("delete_article", {"id": ident}), retry_on=(psycopg.errors.ForeignKeyViolation,)
    )
    refuse(result["outcome"], subject="article", id=ident, counts={use: result[use] for use in USES})


def set_active(db: Database, ident: int, active: bool) -> dict:
    """Archives (False) or restores (True) an article."""
    changed, row = db.transaction(
        ("set_article_active", {"id": ident, "is_active": active}),
        ("article_detail", {"id": ident, "article_no": None}),
    )
    if changed is None:
        refuse("not_found", subject="article", id=ident)
    return article_body(row)


# --- aliases ------------------------------------------------------------------------------------------


def aliases(db: Database, ident: int) -> list[dict]:
    """An article's aliases in the order they were added."""
    rows = db.query("list_aliases", {"article_id": ident})
    if not rows:
        refuse("not_found", subject="article", id=ident)
    return [row for row in rows if row["id"] is not None]


def add_alias(db: Database, ident: int, alias: str) -> dict:
    """A new alias of the article, stored upper-cased and trimmed, in its lowest free slot of five."""
    alias = alias.strip().upper()
    if not alias:
        raise ValidationFailed({"alias": "must not be blank"})
    if len(alias) > 100:
        raise ValidationFailed({"alias": "must have at most 100 characters"})
    # two inserts racing for one slot (or one alias) collide on a unique index; the re-run sees the winner
    (row,) = db.transaction(
        ("add_alias", {"article_id": ident, "alias": alias}), retry_on=(psycopg.errors.UniqueViolation,)
    )
    refuse(row["outcome"], subject="article", id=ident, alias=alias, holder=row)
    return {field: row[field] for field in ALIAS_FIELDS}


def delete_alias(db: Database, ident: int, alias_id: int) -> None:
    if db.query("delete_alias", {"article_id": ident, "alias_id": alias_id}) is None:
        refuse("alias_not_found", article_id=ident, alias_id=alias_id)
