"""The application factory and the route catalog: the map of the API."""

from __future__ import annotations

from typing import NamedTuple

import falcon
from falcon.routing import BaseConverter

from . import envelope, openapi
from .auth import AuthMiddleware, UserCache
from .config import Config
from .db import Database
from .media import handlers
from .metrics import RequestMetrics
from .middleware import AccessLog, BodyLimit, RequestId, ServedBy
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
    stock_reads,
    system,
    transactions,
    transfers,
    users,
)
from .tokens import TokenIssuer
from .validation import as_id


class Route(NamedTuple):
    path: str
    resource: object
    suffix: str | None = None


class IdConverter(BaseConverter):
    """`{id:id}`: a database id, ASCII digits only, 1 to 2**63 - 1; anything else is a 404."""

    def convert(self, value: str) -> int | None:
        return as_id(value)


def create_app(config: Config, db: Database, replica: Database | None = None) -> falcon.App:
    """Build the WSGI app around the caller's database and, with DATABASE_READ_URL, the standby's that the
    reports read from (their pools opened by the caller: gunicorn's post_worker_init, or a test)."""
    tokens = TokenIssuer(config.jwt_secret, config.access_token_minutes, config.refresh_token_days)
    user_cache = UserCache(db, tokens.access_seconds)
    routes = route_catalog(config, db, tokens, user_cache, replica)
    middleware: list[object] = [RequestMetrics(), RequestId(), AccessLog(), BodyLimit(config.max_body_bytes)]
    middleware.append(ServedBy())
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
    envelope.install(app)
    for route in routes:
        app.add_route(route.path, route.resource, **({"suffix": route.suffix} if route.suffix else {}))
    return app


def route_catalog(
    config: Config, db: Database, tokens: TokenIssuer, user_cache: UserCache, replica: Database | None = None
) -> list[Route]:
    """Every route with its resource. Each write responder says how it takes an Idempotency-Key
    (service/idempotency.py); /openapi.json is the catalog's own description. The reports read from
    `replica` when there is one."""
    passwords = Passwords.for_environment(config.env)
    limit_store = make_storage(config.rate_limit_storage_uri, db)
    addresses = ClientAddress(config.trusted_proxies)
    login_limit = LoginLimit(limit_store, addresses, config.login_attempts_per_minute)
    password_guesses = PasswordGuessLimit(limit_store, addresses)

    here = config.default_location_code
    group_item = drafts.DraftGroupItem(db)
    draft_item = drafts.DraftItem(db)
    article_item = articles.ArticleItem(db)
    spec = system.OpenApi()
    routes = [
        Route("/health", system.Health(db, config.env)),
        Route("/openapi.json", spec),
        Route("/metrics", system.Metrics(db, addresses, config.metrics_allow)),
        Route("/api/auth/login", auth.Login(db, tokens, login_limit, passwords)),
        Route("/api/auth/refresh", auth.Refresh(db, tokens, config.refresh_token_rotation == "strict")),
        Route("/api/auth/logout", auth.Logout(db, user_cache)),
        Route("/api/auth/me", auth.Me()),
        Route("/api/auth/change-password", auth.ChangePassword(db, password_guesses, user_cache, passwords)),
        Route("/api/users", users.Users(db, passwords)),
        Route("/api/users/{id:id}", users.UserItem(db, user_cache, passwords)),
        Route("/api/draft-groups", drafts.DraftGroups(db, here)),
        Route("/api/draft-groups/{id:id}", group_item),
        Route("/api/draft-groups/{id:id}/approve", group_item, "approve"),
        Route("/api/draft-groups/{id:id}/reject", group_item, "reject"),
        Route("/api/drafts", drafts.Drafts(db, here)),
        Route("/api/drafts/{id:id}", draft_item),
        Route("/api/drafts/{id:id}/approve", draft_item, "approve"),
        Route("/api/drafts/{id:id}/reject", draft_item, "reject"),
        Route("/api/locations", locations.Locations(db, here)),
        Route("/api/articles", articles.Articles(db)),
        Route("/api/articles/resolve", articles.ArticleResolve(db)),
        # {article}: an article_no for GET, an id for the writes (see service/resources/articles.py)
        Route("/api/articles/{article}", article_item),
        Route("/api/articles/{article}/archive", article_item, "archive"),
        Route("/api/articles/{article}/restore", article_item, "restore"),
        Route("/api/articles/{article}/aliases", articles.Aliases(db)),
        Route("/api/articles/{article}/aliases/{alias_id:id}", articles.AliasItem(db)),
        Route("/api/articles/{article}/batches", batches.ArticleBatches(db)),
        Route("/api/batches", batches.Batches(db)),
        Route("/api/batches/{id:id}", batches.BatchItem(db)),
        Route("/api/inventory/summary", inventory.Summary(db)),
        Route("/api/inventory/receive", inventory.Receive(db, here)),
        Route("/api/inventory/receipts", inventory.Receipts(db)),
        Route("/api/inventory/count", inventory.Count(db, here)),
        Route("/api/inventory/adjust", inventory.Adjust(db, here)),
        Route("/api/inventory/reconcile", inventory.Reconcile(db)),
        Route("/api/inventory/transfer", transfers.Transfer(db)),
        Route("/api/audit", transfers.Audit(db)),
        Route("/api/inventory/low-stock", stock_reads.LowStockReport(db, replica)),
        Route("/api/inventory/expiring", stock_reads.ExpiringReport(db, replica)),
        Route("/api/transactions", transactions.Transactions(db)),
        Route("/api/reports/inventory", reports.InventoryReport(db, replica)),
        Route("/api/reports/transactions", reports.TransactionsReport(db, replica)),
        Route("/api/reports/consumption", stock_reads.ConsumptionReport(db, replica)),
    ]

    spec.publish(openapi.document(routes))
    return routes
