"""HTTP resources: one module per resource family. Thin: parse, call one statement, shape the answer."""

from ..db import Database


class Resource:
    """What most resources hold: the database. Each declares `doc`, its operations (service/openapi.py)."""

    def __init__(self, db: Database):
        self.db = db
