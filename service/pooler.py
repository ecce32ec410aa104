"""A PgBouncer in transaction pooling mode, run from Debian's `pgbouncer` package in front of a local
PostgreSQL: for the tests and the bench that run the service through a pooler (DATABASE_POOLER=pgbouncer).
As root it runs as the `postgres` OS user (PgBouncer refuses to run as root)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from .embedded import ClusterError, free_port

BINARY = Path("/usr/sbin/pgbouncer")


def _config(listen: int, host: str, port: int, folder: Path, pool_size: int, user: str) -> str:
    return f"""[databases]
* = host={host} port={port}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {listen}
unix_socket_dir =
auth_type = trust
auth_file = {folder}/users.txt
pool_mode = transaction
default_pool_size = {pool_size}
max_client_conn = 1000
max_db_connections = {pool_size}
logfile = {folder}/pgbouncer.log
pidfile = {folder}/pgbouncer.pid
admin_users = {user}
"""


class LocalPgBouncer:
    """`LocalPgBouncer(server_url).start()`; `url(database_url)` is that URL through the pooler."""

    def __init__(self, server_url: str, pool_size: int = 20):
        self.server = urlsplit(server_url)
        self.port = free_port()
        self.pool_size = pool_size
        self.folder = Path(tempfile.mkdtemp(prefix="weighin-pgbouncer-"))
        self.process: subprocess.Popen | None = None

    def url(self, database_url: str) -> str:
        """`database_url` (on the same server) with the pooler's address instead."""
        parts = urlsplit(database_url)
        auth = parts.netloc.rpartition("@")[0]
        return urlunsplit(parts._replace(netloc=f"{auth}@127.0.0.1:{self.port}"))

    def log(self) -> str:
        path = self.folder / "pgbouncer.log"
        return path.read_text() if path.exists() else ""

    def start(self) -> LocalPgBouncer:
        if not BINARY.exists():
            raise ClusterError(f"{BINARY} is missing (on Debian: apt-get install -y pgbouncer)")
        user = self.server.username or "postgres"
        (self.folder / "users.txt").write_text(f'"{user}" ""\n')
        config = self.folder / "pgbouncer.ini"
        host, port = self.server.hostname or "127.0.0.1", self.server.port or 5432
        config.write_text(_config(self.port, host, port, self.folder, self.pool_size, user))
        command = [str(BINARY), "-q", str(config)]
        if os.geteuid() == 0:
            self.folder.chmod(0o755)
            for path in (self.folder, *self.folder.iterdir()):
                shutil.chown(path, "postgres", "postgres")
            command = ["runuser", "-u", "postgres", "--", *command]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ClusterError(f"pgbouncer exited: {self.log()[-2000:]}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise ClusterError("pgbouncer did not listen within 10 s")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)
