"""The application factory and the route catalog: the map of the API."""

from __future__ import annotations

import logging
from typing import NamedTuple

import falcon

from . import errors, openapi
from .config import Config
from .db import Database, Statements
from .media import handlers
from .middleware import BodyLimit, RequestId
from .resources import system


class Route(NamedTuple):
    path: str
    resource: object
    suffix: str | None = None


def create_app(config: Config, db: Database | None = None) -> falcon.App:
    """Build the WSGI app. The pool is opened by the caller (gunicorn's post_worker_init, or a test)."""
    logging.basicConfig(level=config.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    db = db or Database(config.database_url, pool_size=config.db_pool_size,
                        statement_timeout_ms=config.statement_timeout_ms)
    sql = Statements()

    middleware: list[object] = [RequestId(), BodyLimit(config.max_body_bytes)]
    if config.cors_origins:
        middleware.append(falcon.CORSMiddleware(allow_origins=list(config.cors_origins)))
    app = falcon.App(middleware=middleware)
    media = handlers()
    app.req_options.media_handlers = media
    app.resp_options.media_handlers = media
    app.req_options.strip_url_path_trailing_slash = True
    errors.install(app)

    spec = system.OpenApi()
    routes = [
        Route("/health", system.Health(db, sql)),
        Route("/openapi.json", spec),
    ]
    for route in routes:
        app.add_route(route.path, route.resource, **({"suffix": route.suffix} if route.suffix else {}))
    spec.publish(openapi.document(routes))
    return app
