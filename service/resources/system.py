"""Service endpoints: health, the OpenAPI description and the Prometheus metrics."""

from __future__ import annotations

import falcon
import psycopg
import psycopg_pool

from .. import __version__, metrics, shapes
from ..auth import PUBLIC
from ..db import Database
from ..errors import Forbidden
from ..media import dumps
from ..openapi import operation, reads
from ..ratelimit import ClientAddress, within


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


class Metrics:
    """Not for clients: no token, but only from the METRICS_ALLOW networks (loopback by default), the
    client's address resolved as the rate limits resolve it (X-Forwarded-For from TRUSTED_PROXIES)."""

    auth = None
    doc = {
        "get": {
            **operation(access=PUBLIC, errors=(403,), database=False, text="text/plain; version=1.0.0"),
            "x-allowed-from": "METRICS_ALLOW",
        }
    }

    def __init__(self, db: Database, addresses: ClientAddress, allow):
        self.db = db
        self.addresses = addresses
        self.allow = tuple(allow)

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Prometheus metrics in the text format, only to the METRICS_ALLOW networks."""
        address = self.addresses.of(req)
        if not within(address, self.allow):
            raise Forbidden(
                "Metrics are served only to the addresses in METRICS_ALLOW.", details={"client": address}
            )
        resp.data, resp.content_type = metrics.exposition(self.db)
