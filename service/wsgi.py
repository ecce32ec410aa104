"""The gunicorn entry point: one app, one (not yet opened) pool and one key janitor per worker process."""

from .app import create_app
from .config import Config
from .db import Database, Statements
from .janitor import Janitor

config = Config.from_env()
db = Database(
    config.database_url, pool_size=config.db_pool_size, statement_timeout_ms=config.statement_timeout_ms
)
app = create_app(config, db)
janitor = Janitor(db, Statements())
