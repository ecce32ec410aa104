"""Articles (master data), their aliases, and resolving a scanned or typed code to an article.

The older client addresses an article by article_no to read it (`GET /api/articles/{article_no}`) and
by id to change it (`PATCH /api/articles/{id}`, archive, restore, aliases). Falcon needs one field name
per path level, so those routes share the template `/api/articles/{article}`: reads take it as an
article_no, writes as an id (anything but an id there is a 404).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import falcon
import psycopg

from .. import shapes
from ..auth import ADMIN
from ..db import REPEATABLE_READ, Database
from ..errors import Conflict, NotFound, ValidationFailed
from ..idempotency import keyed, not_keyed
from ..listing import answer_whole, wants_whole_list
from ..media import dumps
from ..openapi import operation, query
from ..pagination import LIST_PARAMS, Page
from ..validation import QUANTITY, Schema, as_id, obj, quantity, query_bool, query_choice, query_param, text

MAX_AMOUNT = Decimal("999999999.99")
NULLABLE_TEXT = {  # field: max length; stored trimmed, an empty string is stored as null
    "article_group": 100,
    "pack_uom": 20,
    "barcode": 100,
    "manufacturer": 200,
    "manufacturer_art_number": 100,
}
AMOUNTS = {"pack_size": Decimal("0.01"), "reorder_threshold": Decimal("0.00")}  # field: lowest value


def _nullable(schema: dict) -> dict:
    return {"anyOf": [schema, {"type": "null"}]}


ARTICLE_INPUT = {
    "article_no": text(50),
    "description": text(500, 0),
    "uom": {"enum": ["KG", "L"]},
    **{field: _nullable(text(length, 0)) for field, length in NULLABLE_TEXT.items()},
    **{field: _nullable(QUANTITY) for field in AMOUNTS},
    "is_paint": {"type": "boolean"},
    "is_active": {"type": "boolean"},
}
CREATE = Schema(obj(ARTICLE_INPUT, ["article_no"]))
EDIT = Schema({**obj(ARTICLE_INPUT), "minProperties": 1})
ALIAS_CREATE = Schema(obj({"alias": text(100)}, ["alias"]))
ARTICLE_FIELDS = shapes.Article.__struct_fields__

IN_USE_ERRORS = (404, 409)


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


def article_body(row: dict) -> dict:
    return {key: value for key, value in row.items() if key not in ("sort_key", "matched_by")}


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


def article_filters(req: falcon.Request) -> dict[str, Any]:
    active = query_choice(req, "active", ("true", "false", "all")) or "true"
    q = (query_param(req, "q") or "").strip()
    if len(q) > 100 or "\x00" in q:
        raise ValidationFailed({"q": "must be at most 100 characters, without NUL"})
    escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return {
        "active": None if active == "all" else active == "true",
        "is_paint": query_bool(req, "is_paint"),
        "like": f"%{escaped}%" if q else None,
    }


def in_use(counts: dict, message: str) -> Conflict:
    return Conflict("ARTICLE_IN_USE", message, **counts)


class Articles:
    doc = {
        "get": operation(
            "List articles by article_no, with aliases and last_consumed_at",
            response=shapes.Page[shapes.Article],
            params=[
                *LIST_PARAMS,
                query("active", {"enum": ["true", "false", "all"]}, "default true"),
                query(
                    "q", {"type": "string", "maxLength": 100}, "part of article_no, description or an alias"
                ),
                query("is_paint", {"enum": ["true", "false"]}),
            ],
        ),
        "post": operation(
            "Create an article (409 DUPLICATE_ARTICLE)",
            access=ADMIN,
            body=CREATE.schema,
            ok=201,
            response=shapes.Article,
            errors=(409,),
        ),
    }

    def __init__(self, db: Database):
        self.db = db

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        page = Page(req)
        after = page.after_values(str)
        filters = article_filters(req)
        if wants_whole_list(req):
            params = {**filters, "after_key": None, "limit": None}
            return answer_whole(resp, self.db, "list_articles", params, ARTICLE_FIELDS)
        rows, total = self.db.transaction(
            ("list_articles", {**filters, "after_key": after[0] if after else None, "limit": page.limit + 1}),
            ("count_articles", filters),
            isolation=REPEATABLE_READ,
        )
        body = page.answer(rows, total["total"], key=lambda row: [row["sort_key"]])
        body["items"] = [article_body(row) for row in body["items"]]
        resp.media = body

    @keyed()
    def on_post(self, req: falcon.Request, resp: falcon.Response, db: Database) -> None:
        fields = normalised(CREATE.parse(req))
        params = {
            "description": "",
            "uom": "KG",
            "is_paint": True,
            "is_active": True,
            **dict.fromkeys((*NULLABLE_TEXT, *AMOUNTS)),
            **fields,
        }

        created, row = db.transaction(
            ("create_article", params), ("article_detail", {"id": None, "article_no": params["article_no"]})
        )
        if created is None:
            raise Conflict(
                "DUPLICATE_ARTICLE",
                f"The article_no {params['article_no']!r} is taken.",
                article_no=params["article_no"],
                existing_article_id=row["id"],
            )
        resp.status = falcon.HTTP_201
        resp.media = article_body(row)


class ArticleItem:
    doc = {
        "get": operation(
            "One article by article_no, with its aliases", response=shapes.Article, errors=(404,)
        ),
        "patch": operation(
            "Edit an article (by id); null clears an optional field",
            access=ADMIN,
            body=EDIT.schema,
            response=shapes.Article,
            errors=IN_USE_ERRORS,
        ),
        "delete": operation(
            "Delete an article (by id) that nothing references (409 ARTICLE_IN_USE with counts)",
            access=ADMIN,
            ok=204,
            errors=IN_USE_ERRORS,
        ),
    }
    doc_archive = {
        "post": operation(
            "Archive an article (by id): no new drafts or receipts",
            access=ADMIN,
            response=shapes.Article,
            errors=(404,),
        )
    }
    doc_restore = {
        "post": operation(
            "Restore an archived article (by id)", access=ADMIN, response=shapes.Article, errors=(404,)
        )
    }

    def __init__(self, db: Database):
        self.db = db

    def on_get(self, req: falcon.Request, resp: falcon.Response, article: str) -> None:
        row = self.db.query("article_detail", {"id": None, "article_no": article_no(article)})
        if row is None:
            raise NotFound("article", article_no=article)
        resp.media = article_body(row)

    @keyed()
    def on_patch(self, req: falcon.Request, resp: falcon.Response, db: Database, article: str) -> None:
        ident = article_id(article)
        patch = normalised(EDIT.parse(req))

        # a concurrent rename to the same article_no loses on the unique index and is re-run to see it
        verdict, row = db.transaction(
            ("update_article", {"id": ident, "patch": dumps(patch).decode()}),
            ("article_detail", {"id": ident, "article_no": None}),
            retry_on=(psycopg.errors.UniqueViolation,),
        )
        if verdict["outcome"] == "not_found":
            raise NotFound("article", id=ident)
        if verdict["outcome"] == "duplicate":
            raise Conflict(
                "DUPLICATE_ARTICLE",
                f"The article_no {patch['article_no']!r} is taken.",
                article_no=patch["article_no"],
            )
        if verdict["outcome"] == "in_use":
            raise in_use(
                {"batches": verdict["batches"]}, "is_paint can change only while the article has no batches."
            )
        resp.media = article_body(row)

    @not_keyed("a repeated delete finds nothing to delete (404)")
    def on_delete(self, req: falcon.Request, resp: falcon.Response, db: Database, article: str) -> None:
        ident = article_id(article)
        # a batch added meanwhile makes the delete fail on its foreign key; the re-run counts it
        (result,) = db.transaction(
            ("delete_article", {"id": ident}), retry_on=(psycopg.errors.ForeignKeyViolation,)
        )
        if result["outcome"] == "not_found":
            raise NotFound("article", id=ident)
        if result["outcome"] == "in_use":
            counts = {k: result[k] for k in ("batches", "balances", "drafts", "transactions")}
            raise in_use(counts, "The article is referenced; archive it instead.")
        resp.status = falcon.HTTP_204

    def _set_active(self, db: Database, resp: falcon.Response, article: str, active: bool) -> None:
        ident = article_id(article)
        changed, row = db.transaction(
            ("set_article_active", {"id": ident, "is_active": active}),
            ("article_detail", {"id": ident, "article_no": None}),
        )
        if changed is None:
            raise NotFound("article", id=ident)
        resp.media = article_body(row)

    @keyed()
    def on_post_archive(self, req: falcon.Request, resp: falcon.Response, db: Database, article: str) -> None:
        self._set_active(db, resp, article, False)

    @keyed()
    def on_post_restore(self, req: falcon.Request, resp: falcon.Response, db: Database, article: str) -> None:
        self._set_active(db, resp, article, True)


class ArticleResolve:
    doc = {
        "get": operation(
            "The article a scanned or typed code names: article_no, then alias, then barcode",
            response=shapes.ResolvedArticle,
            errors=(404, 409),
            params=[query("query", {"type": "string", "minLength": 1, "maxLength": 200})],
        )
    }

    def __init__(self, db: Database):
        self.db = db

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        code = (query_param(req, "query") or "").strip()  # scanners append CR / LF
        if not code or len(code) > 200 or "\x00" in code:
            raise ValidationFailed({"query": "must be 1 to 200 characters"})
        rows = self.db.query("resolve_article", {"query": code, "alias": code.upper()})
        if not rows:
            raise NotFound("article", query=code)
        if len(rows) > 1:
            raise Conflict(
                "AMBIGUOUS_QUERY",
                f"{len(rows)} articles share the {rows[0]['matched_by']} {code!r}; use the article_no.",
                query=code,
                article_nos=[row["article_no"] for row in rows],
            )
        resp.media = {**article_body(rows[0]), "matched_by": rows[0]["matched_by"]}


class Aliases:
    doc = {
        "get": operation(
            "An article's aliases (by article id)",
            access=ADMIN,
            response=shapes.Page[shapes.Alias],
            errors=(404,),
        ),
        "post": operation(
            "Add an alias (upper-cased, trimmed; globally unique; at most 5 per article)",
            access=ADMIN,
            body=ALIAS_CREATE.schema,
            ok=201,
            response=shapes.Alias,
            errors=(404, 409),
        ),
    }

    def __init__(self, db: Database):
        self.db = db

    def on_get(self, req: falcon.Request, resp: falcon.Response, article: str) -> None:
        ident = article_id(article)
        rows = self.db.query("list_aliases", {"article_id": ident})
        if not rows:
            raise NotFound("article", id=ident)
        items = [row for row in rows if row["id"] is not None]
        resp.media = {"items": items, "total": len(items), "next_cursor": None}

    @keyed()
    def on_post(self, req: falcon.Request, resp: falcon.Response, db: Database, article: str) -> None:
        ident = article_id(article)
        alias = ALIAS_CREATE.parse(req)["alias"].strip().upper()
        if not alias:
            raise ValidationFailed({"alias": "must not be blank"})
        if len(alias) > 100:
            raise ValidationFailed({"alias": "must have at most 100 characters"})
        # two inserts racing for one slot (or one alias) collide on a unique index; the re-run sees the winner
        (row,) = db.transaction(
            ("add_alias", {"article_id": ident, "alias": alias}), retry_on=(psycopg.errors.UniqueViolation,)
        )
        if row["outcome"] == "not_found":
            raise NotFound("article", id=ident)
        if row["outcome"] == "duplicate":
            raise Conflict(
                "DUPLICATE_ALIAS",
                f"The alias {alias!r} already names article {row['holder_article_no']!r}.",
                alias=alias,
                article_id=row["holder_article_id"],
                article_no=row["holder_article_no"],
            )
        if row["outcome"] == "limit":
            raise Conflict(
                "ALIAS_LIMIT_REACHED", "An article has at most 5 aliases; delete one first.", limit=5
            )
        resp.status = falcon.HTTP_201
        resp.media = {k: row[k] for k in ("id", "article_id", "alias", "slot", "created_at")}


class AliasItem:
    doc = {"delete": operation("Delete an alias of this article", access=ADMIN, ok=204, errors=(404,))}

    def __init__(self, db: Database):
        self.db = db

    @not_keyed("a repeated delete finds nothing to delete (404)")
    def on_delete(
        self, req: falcon.Request, resp: falcon.Response, db: Database, article: str, alias_id: int
    ) -> None:
        ident = article_id(article)
        if db.query("delete_alias", {"article_id": ident, "alias_id": alias_id}) is None:
            raise NotFound("alias", article_id=ident, alias_id=alias_id)
        resp.status = falcon.HTTP_204
