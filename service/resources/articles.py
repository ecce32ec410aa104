"""Articles (master data), their aliases, and resolving a scanned or typed code to an article: HTTP in
and out; the work is service/articles.py's.

The older client addresses an article by article_no to read it (`GET /api/articles/{article_no}`) and
by id to change it (`PATCH /api/articles/{id}`, archive, restore, aliases). Falcon needs one field name
per path level, so those routes share the template `/api/articles/{article}`: reads take it as an
article_no, writes as an id (anything but an id there is a 404).
"""

from __future__ import annotations

import falcon

from .. import articles, shapes
from ..articles import ACTIVE, AMOUNTS, ARTICLE_FIELDS, NULLABLE_TEXT, article_id
from ..auth import ADMIN
from ..db import Database
from ..idempotency import keyed, not_keyed
from ..listing import answer_whole, wants_whole_list
from ..openapi import changes, creates, operation, query, reads
from ..pagination import LIST_PARAMS, Page
from ..validation import QUANTITY, Schema, obj, query_bool, query_choice, query_param, text
from . import Resource


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

IN_USE_ERRORS = (404, 409)


class Articles(Resource):
    doc = {
        "get": reads(
            shapes.Page[shapes.Article],
            params=[
                *LIST_PARAMS,
                query("active", {"enum": list(ACTIVE)}, "default true"),
                query(
                    "q", {"type": "string", "maxLength": 100}, "part of article_no, description or an alias"
                ),
                query("is_paint", {"enum": ["true", "false"]}),
            ],
        ),
        "post": creates(CREATE.schema, shapes.Article, (409,)),
    }

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """List articles by article_no, with aliases and last_consumed_at."""
        page = Page(req)
        after = page.after_values(str)
        filters = articles.list_filters(
            query_choice(req, "active", ACTIVE), query_param(req, "q"), query_bool(req, "is_paint")
        )
        if wants_whole_list(req):
            params = articles.list_params(filters, None, None)
            return answer_whole(resp, self.db, "list_articles", params, ARTICLE_FIELDS)
        rows, total = articles.list_articles(self.db, filters, after[0] if after else None, page.limit + 1)
        body = page.answer(rows, total, key=lambda row: [row["sort_key"]])
        body["items"] = [articles.article_body(row) for row in body["items"]]
        resp.media = body

    @keyed()
    def on_post(self, req: falcon.Request, resp: falcon.Response, db: Database) -> None:
        """Create an article (409 DUPLICATE_ARTICLE)."""
        resp.media = articles.create(db, CREATE.parse(req))
        resp.status = falcon.HTTP_201


class ArticleItem(Resource):
    doc = {
        "get": reads(shapes.Article, (404,)),
        "patch": changes(EDIT.schema, shapes.Article, IN_USE_ERRORS),
        "delete": operation(access=ADMIN, ok=204, errors=IN_USE_ERRORS),
    }
    doc_archive = {"post": reads(shapes.Article, (404,), access=ADMIN)}
    doc_restore = {"post": reads(shapes.Article, (404,), access=ADMIN)}

    def on_get(self, req: falcon.Request, resp: falcon.Response, article: str) -> None:
        """One article by article_no, with its aliases."""
        resp.media = articles.article(self.db, articles.article_no(article))

    @keyed()
    def on_patch(self, req: falcon.Request, resp: falcon.Response, db: Database, article: str) -> None:
        """Edit an article (by id); null clears an optional field."""
        ident = article_id(article)
        resp.media = articles.edit(db, ident, EDIT.parse(req))

    @not_keyed("a repeated delete finds nothing to delete (404)")
    def on_delete(self, req: falcon.Request, resp: falcon.Response, db: Database, article: str) -> None:
        """Delete an article (by id) that nothing references (409 ARTICLE_IN_USE with counts)."""
        articles.delete(db, article_id(article))
        resp.status = falcon.HTTP_204

    @keyed()
    def on_post_archive(self, req: falcon.Request, resp: falcon.Response, db: Database, article: str) -> None:
        """Archive an article (by id): no new drafts or receipts."""
        resp.media = articles.set_active(db, article_id(article), False)

    @keyed()
    def on_post_restore(self, req: falcon.Request, resp: falcon.Response, db: Database, article: str) -> None:
        """Restore an archived article (by id)."""
        resp.media = articles.set_active(db, article_id(article), True)


class ArticleResolve(Resource):
    doc = {
        "get": reads(
            shapes.ResolvedArticle,
            (404, 409),
            params=[query("query", {"type": "string", "minLength": 1, "maxLength": 200})],
        )
    }

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """The article a scanned or typed code names: article_no, then alias, then barcode."""
        resp.media = articles.resolve(self.db, query_param(req, "query") or "")


class Aliases(Resource):
    doc = {
        "get": reads(shapes.Page[shapes.Alias], (404,), access=ADMIN),
        "post": creates(ALIAS_CREATE.schema, shapes.Alias, (404, 409)),
    }

    def on_get(self, req: falcon.Request, resp: falcon.Response, article: str) -> None:
        """An article's aliases (by article id)."""
        items = articles.aliases(self.db, article_id(article))
        resp.media = {"items": items, "total": len(items), "next_cursor": None}

    @keyed()
    def on_post(self, req: falcon.Request, resp: falcon.Response, db: Database, article: str) -> None:
        """Add an alias (upper-cased, trimmed; globally unique; at most 5 per article)."""
        ident = article_id(article)
        resp.media = articles.add_alias(db, ident, ALIAS_CREATE.parse(req)["alias"])
        resp.status = falcon.HTTP_201


class AliasItem(Resource):
    doc = {"delete": operation(access=ADMIN, ok=204, errors=(404,))}

    @not_keyed("a repeated delete finds nothing to delete (404)")
    def on_delete(
        self, req: falcon.Request, resp: falcon.Response, db: Database, article: str, alias_id: int
    ) -> None:
        """Delete an alias of this article."""
        articles.delete_alias(db, article_id(article), alias_id)
        resp.status = falcon.HTTP_204
