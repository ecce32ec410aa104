"""The gunicorn entry point and the composition root: each worker process builds its configuration,
logging, database (statements and pools, not yet opened), the standby's with DATABASE_READ_URL (the
reports read from it; None without it), app and key janitor once, here."""

from .app import create_app
from .config import Config
from .db import Database
from .janitor import Janitor
from .middleware import configure_logging

config = Config.from_env()
configure_logging(config.log_level)
db = Database(
    config.database_url,
    pool_size=config.db_pool_size,
    statement_timeout_ms=config.statement_timeout_ms,
    pooler=config.database_pooler,
)
replica = (
    Database(
        config.database_read_url,
        db.sql,
        pool_size=config.db_pool_size,
        statement_timeout_ms=config.statement_timeout_ms,
        name="weighin-replica",
        pooler=config.database_pooler,
        writes=False,
    )
    if config.database_read_url
    else None
)
app = create_app(config, db, replica)
janitor = Janitor(db)
