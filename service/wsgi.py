"""The gunicorn entry point: one app and one (not yet opened) pool per worker process."""

from .app import create_app
from .config import Config
from .db import Database

config = Config.from_env()
db = Database(
    config.database_url, pool_size=config.db_pool_size, statement_timeout_ms=config.statement_timeout_ms
)
app = create_app(config, db)
