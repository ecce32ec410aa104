"""gunicorn settings; `weighin serve` validates the environment before it starts gunicorn."""

import os

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '5001')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("THREADS", "4"))
worker_class = "gthread" if threads > 1 else "sync"
wsgi_app = "service.wsgi:app"
# Statements time out (STATEMENT_TIMEOUT_MS, 10 s by default) well before a worker is killed.
timeout = 30
graceful_timeout = 20
keepalive = 5
accesslog = None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
preload_app = False  # each worker imports the app after the fork, so no connection crosses a fork


def post_worker_init(worker):
    from service import wsgi

    wsgi.db.open()
    wsgi.janitor.start()


def worker_exit(server, worker):
    from service import wsgi

    wsgi.janitor.stop()
    wsgi.db.close()
