"""Service endpoints: health and the OpenAPI description."""

from __future__ import annotations

import falcon
import psycopg
import psycopg_pool

from .. import __version__, shapes
from ..auth import PUBLIC
from ..db import Database
from ..media import dumps
from ..openapi import operation, reads


class Health:
    auth = None  # public, never rate limited
    doc = {"get": reads(shapes.Health, (503,), access=PUBLIC)}

    def __init__(self, db: Database, environment: str):
        self.db = db
        self.environment = environment  # the desktop app's settings page shows it

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Liveness and database reachability."""
        try:
            self.db.query("ping")
        except (psycopg.OperationalError, psycopg_pool.PoolTimeout):
            resp.status = 503
            resp.set_header("Retry-After", "2")
            resp.media = {
                "status": "unavailable",
                "database": "unavailable",
                "version": __version__,
                "environment": self.environment,
                "error": {
                    "code": "DATABASE_UNAVAILABLE",
                    "message": "The database does not answer.",
                    "details": {"retry_after": 2},
                },
            }
            return
        resp.media = {
            "status": "ok",
            "database": "ok",
            "version": __version__,
            "environment": self.environment,
        }


class OpenApi:
    auth = None
    doc = {"get": operation(access=PUBLIC, response=shapes.OpenApiDocument, database=False)}

    def __init__(self):
        self.body = b"{}"

    def publish(self, document: dict) -> None:
        self.body = dumps(document)

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """This OpenAPI 3.1 description."""
        resp.content_type = falcon.MEDIA_JSON
        resp.data = self.body
