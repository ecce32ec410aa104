"""gunicorn settings; `weighin serve` validates the environment before it starts gunicorn, and the values
here come from that same validated Config (HOST, PORT, WEB_CONCURRENCY, THREADS, LOG_LEVEL)."""

import os
import shutil
import tempfile

from service.config import Config

# not named `config`: that is a gunicorn setting (the path of this file)
_validated = Config.from_env()  # raises ConfigError when started without `weighin serve`

bind = f"{_validated.host}:{_validated.port}"
workers = _validated.web_concurrency
threads = _validated.threads
# gthread even with THREADS=1: it keeps a client's connection open between requests (keepalive), where the
# sync worker closes every one; at 8 connections that took the workers' CPU per approval from 0.88 to
# 0.62 ms and per list page from 0.58 to 0.46 ms (docs/performance.md, issue 18). Its main thread also
# keeps reporting to the arbiter while a long export runs.
worker_class = "gthread"
wsgi_app = "service.wsgi:app"
# Statements time out (STATEMENT_TIMEOUT_MS, 10 s by default) well before a worker is killed.
timeout = 30
graceful_timeout = 20
keepalive = 5
accesslog = None
errorlog = "-"
loglevel = _validated.log_level.lower()
preload_app = False  # each worker imports the app after the fork, so no connection crosses a fork

# Request limits (docs/hardening.md). gunicorn answers a request beyond these itself, with a bare
# HTML page outside the error envelope, so they are set wide enough that the app sees every request a
# client could sensibly send and refuses it in the envelope: a long query string (a forged cursor)
# reaches the app up to gunicorn's maximum request line (8190 bytes; the app refuses cursors over 1024
# characters), a header up to 128 KiB (the app refuses bearer tokens over 4096 characters). The header
# count is lowered from 100 to 64, so the most header bytes one request can make a worker buffer stays
# about 8 MiB (64 x 128 KiB). Invalid characters in a header (e.g. \x01) are always gunicorn's 400.
limit_request_line = 8190
limit_request_fields = 64
limit_request_field_size = 128 * 1024


# Metrics (service/metrics.py): the workers write their values to files in PROMETHEUS_MULTIPROC_DIR, a
# directory emptied of earlier runs' files when the server starts (or a fresh temporary one, removed at
# exit), before any worker imports prometheus_client.
_made_metrics_dir = None


def on_starting(server):
    global _made_metrics_dir
    directory = _validated.metrics_dir
    if not directory:
        directory = _made_metrics_dir = tempfile.mkdtemp(prefix="weighin-metrics-")
    os.makedirs(directory, exist_ok=True)
    for entry in os.scandir(directory):
        if entry.is_file() and entry.name.endswith(".db"):  # prometheus_client's files, nothing else
            os.remove(entry.path)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory


def on_exit(server):
    if _made_metrics_dir:
        shutil.rmtree(_made_metrics_dir, ignore_errors=True)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def post_worker_init(worker):
    from service import metrics, wsgi

    wsgi.db.open()
    if wsgi.replica:
        wsgi.replica.open()
    wsgi.janitor.start()
    metrics.start_pool_sampler(wsgi.db)


def worker_exit(server, worker):
    from service import wsgi

    wsgi.janitor.stop()
    wsgi.db.close()
    if wsgi.replica:
        wsgi.replica.close()
