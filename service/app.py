"""The application factory and the route catalog: the map of the API."""

from __future__ import annotations

from typing import NamedTuple

import falcon
from falcon.routing import BaseConverter

from . import errors, openapi
from .auth import AuthMiddleware, UserCache
from .config import Config
from .db import Database, Statements
from .idempotency import Idempotency
from .media import handlers
from .middleware import AccessLog, BodyLimit, RequestId
from .passwords import Passwords
from .ratelimit import ClientAddress, LoginLimit, PasswordGuessLimit, make_storage
from .resources import (
    articles,
    auth,
    batches,
    drafts,
    inventory,
    locations,
    reports,
    system,
    transactions,
    users,
)
from .tokens import TokenIssuer
from .validation import as_id

# Idempotency-Key is accepted but not replayed here: a repeat is harmless, and the answers are tokens,
# which are not kept.
NOT_KEYED = {"/api/auth/login", "/api/auth/refresh"}


class Route(NamedTuple):
    path: str
    resource: object
    suffix: str | None = None


class IdConverter(BaseConverter):
    """`{id:id}`: a database id, ASCII digits only, 1 to 2**63 - 1; anything else is a 404."""

    def convert(self, value: str) -> int | None:
        return as_id(value)


def create_app(config: Config, db: Database, sql: Statements | None = None) -> falcon.App:
    """Build the WSGI app around the caller's pool (opened by the caller: gunicorn's post_worker_init, or
    a test) and named statements."""
    sql = sql or Statements()

    tokens = TokenIssuer(config.jwt_secret, config.access_token_minutes, config.refresh_token_days)
    passwords = Passwords.for_environment(config.env)
    user_cache = UserCache(db, sql, tokens.access_seconds)
    limit_store = make_storage(config.rate_limit_storage_uri, db, sql)
    addresses = ClientAddress(config.trusted_proxies)
    login_limit = LoginLimit(limit_store, addresses, config.login_attempts_per_minute)
    password_guesses = PasswordGuessLimit(limit_store, addresses)

    drafting = drafts.Drafting(db, sql, config.default_location_code)
    group_item = drafts.DraftGroupItem(db, sql, drafting)
    draft_item = drafts.DraftItem(db, sql, drafting)
    article_item = articles.ArticleItem(db, sql)
    spec = system.OpenApi()
    routes = [
        Route("/health", system.Health(db, sql, config.env)),
        Route("/openapi.json", spec),
        Route("/api/auth/login", auth.Login(db, sql, tokens, login_limit, passwords)),
        Route("/api/auth/refresh", auth.Refresh(db, sql, tokens, config.refresh_token_rotation == "strict")),
        Route("/api/auth/logout", auth.Logout(db, sql, user_cache)),
        Route("/api/auth/me", auth.Me()),
        Route(
            "/api/auth/change-password", auth.ChangePassword(db, sql, password_guesses, user_cache, passwords)
        ),
        Route("/api/users", users.Users(db, sql, passwords)),
        Route("/api/users/{id:id}", users.UserItem(db, sql, user_cache, passwords)),
        Route("/api/draft-groups", drafts.DraftGroups(db, sql, drafting)),
        Route("/api/draft-groups/{id:id}", group_item),
        Route("/api/draft-groups/{id:id}/approve", group_item, "approve"),
        Route("/api/draft-groups/{id:id}/reject", group_item, "reject"),
        Route("/api/drafts", drafts.Drafts(db, sql, drafting)),
        Route("/api/drafts/{id:id}", draft_item),
        Route("/api/drafts/{id:id}/approve", draft_item, "approve"),
        Route("/api/drafts/{id:id}/reject", draft_item, "reject"),
        Route("/api/locations", locations.Locations(db, sql, config.default_location_code)),
        Route("/api/articles", articles.Articles(db, sql)),
        Route("/api/articles/resolve", articles.ArticleResolve(db, sql)),
        # {article}: an article_no for GET, an id for the writes (see service/resources/articles.py)
        Route("/api/articles/{article}", article_item),
        Route("/api/articles/{article}/archive", article_item, "archive"),
        Route("/api/articles/{article}/restore", article_item, "restore"),
        Route("/api/articles/{article}/aliases", articles.Aliases(db, sql)),
        Route("/api/articles/{article}/aliases/{alias_id:id}", articles.AliasItem(db, sql)),
        Route("/api/articles/{article}/batches", batches.ArticleBatches(db, sql)),
        Route("/api/batches", batches.Batches(db, sql)),
        Route("/api/batches/{id:id}", batches.BatchItem(db, sql)),
        Route("/api/inventory/summary", inventory.Summary(db, sql)),
        Route("/api/inventory/receive", inventory.Receive(db, sql, config.default_location_code)),
        Route("/api/inventory/receipts", inventory.Receipts(db, sql)),
        Route("/api/inventory/count", inventory.Count(db, sql, config.default_location_code)),
        Route("/api/inventory/adjust", inventory.Adjust(db, sql, config.default_location_code)),
        Route("/api/inventory/reconcile", inventory.Reconcile(db, sql)),
        Route("/api/transactions", transactions.Transactions(db, sql)),
        Route("/api/reports/inventory", reports.InventoryReport(db, sql)),
        Route("/api/reports/transactions", reports.TransactionsReport(db, sql)),
    ]

    middleware: list[object] = [RequestId(), AccessLog(db), BodyLimit(config.max_body_bytes)]
    if config.cors_origins:
        origins = "*" if config.cors_origins == ("*",) else list(config.cors_origins)
        middleware.append(falcon.CORSMiddleware(allow_origins=origins))
    middleware.append(AuthMiddleware(openapi.access_rules(routes), tokens, user_cache))
    app = falcon.App(middleware=middleware)
    media = handlers()
    app.req_options.media_handlers = media
    app.resp_options.media_handlers = media
    app.req_options.strip_url_path_trailing_slash = True
    app.router_options.converters["id"] = IdConverter
    errors.install(app)

    keyed = Idempotency(db, sql)
    for route in routes:
        if route.path.startswith("/api/") and route.path not in NOT_KEYED:
            for method in ("post", "patch"):
                name = f"on_{method}" + (f"_{route.suffix}" if route.suffix else "")
                responder = getattr(route.resource, name, None)
                if responder is not None and not hasattr(responder, "__wrapped__"):
                    setattr(route.resource, name, keyed.wrap(responder))
        app.add_route(route.path, route.resource, **({"suffix": route.suffix} if route.suffix else {}))
    spec.publish(openapi.document(routes, not_keyed=NOT_KEYED))
    return app
