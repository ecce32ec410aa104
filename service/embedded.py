"""A PostgreSQL cluster run from the locally installed binaries: the embedded database of `make run`
and the throwaway cluster of the test suite. As root the server runs as the `postgres` OS user."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from pathlib import Path

# Settings the embedded cluster always applies; docs/operations in the README lists them for production.
SERVER_SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "unix_socket_directories": "''",
    "max_connections": "200",
    "shared_buffers": "'256MB'",
    # Approvals read a group's lines under SERIALIZABLE; keep predicate locks at tuple level for longer
    # so that neighbouring groups on one heap page do not abort each other.
    "max_pred_locks_per_page": "32",
    "max_pred_locks_per_transaction": "1024",
    # An approval writes ~31 KiB of WAL, mostly full-page images of the balance, line and ledger pages it
    # touches; lz4 makes that ~21 KiB (docs/performance.md), so each commit has less to flush.
    "wal_compression": "lz4",
    # A commit that needs a WAL segment nobody has made yet waits while one backend zero-fills and
    # fsyncs 16 MB (IO:WALInitWrite / WALInitSync), and every other commit waits behind it: ~25-30 ms
    # stalls every couple of seconds under a burst of approvals. Checkpoints recycle old segments
    # instead of removing them while pg_wal stays under min_wal_size, so bursts find theirs made.
    "min_wal_size": "'1GB'",
    "max_wal_size": "'2GB'",
}
# For throwaway test clusters only: durability is not wanted there, speed is.
TEST_SETTINGS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}


class ClusterError(RuntimeError):
    pass


def find_bindir() -> Path:
    """The newest PostgreSQL server binaries: Debian's layout first, then whatever is on PATH."""
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if candidates:
        return candidates[-1].parent
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    raise ClusterError("no PostgreSQL server binaries found (on Debian: apt-get install -y postgresql)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalCluster:
    def __init__(self, datadir: Path, port: int, settings: dict[str, str] | None = None):
        self.datadir = Path(datadir)
        self.port = port
        self.settings = {**SERVER_SETTINGS, **(settings or {})}
        self.bindir = find_bindir()
        self.as_root = os.geteuid() == 0

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        command = [str(self.bindir / args[0]), *args[1:]]
        if self.as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, capture_output=True, text=True)
        if check and result.returncode != 0:
            raise ClusterError(f"{args[0]} failed: {result.stderr.strip() or result.stdout.strip()}")
        return result

    def _prepare_dir(self) -> None:
        self.datadir.mkdir(parents=True, exist_ok=True)
        if self.as_root:
            shutil.chown(self.datadir, "postgres", "postgres")
            probe = subprocess.run(["runuser", "-u", "postgres", "--", "test", "-w", str(self.datadir)])
            if probe.returncode != 0:
                raise ClusterError(
                    f"the postgres user cannot write {self.datadir}; use a folder every user can traverse"
                )
        self.datadir.chmod(0o700)

    def initialised(self) -> bool:
        return (self.datadir / "PG_VERSION").exists()

    def running(self) -> bool:
        return (
            self.initialised()
            and self._run("pg_ctl", "-D", str(self.datadir), "status", check=False).returncode == 0
        )

    def start(self) -> LocalCluster:
        if not self.initialised():
            self._prepare_dir()
            self._run(
                "initdb",
                "-D",
                str(self.datadir),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
            )
        conf = "".join(f"{k} = {v}\n" for k, v in {**self.settings, "port": str(self.port)}.items())
        (self.datadir / "postgresql.auto.conf").write_text(conf)
        if self.as_root:
            shutil.chown(self.datadir / "postgresql.auto.conf", "postgres", "postgres")
        if not self.running():
            self._run(
                "pg_ctl",
                "-D",
                str(self.datadir),
                "-l",
                str(self.datadir / "server.log"),
                "-w",
                "-t",
                "60",
                "start",
            )
        return self

    def stop(self, mode: str = "fast") -> None:
        if self.running():
            self._run("pg_ctl", "-D", str(self.datadir), "-m", mode, "-w", "stop")

    def standby(self, datadir: Path, port: int, settings: dict[str, str] | None = None) -> LocalCluster:
        """A streaming standby of this running cluster in `datadir` (made by pg_basebackup, not started):
        its primary_conninfo names this cluster, standby.signal keeps it in recovery."""
        datadir = Path(datadir)
        if self.as_root:
            shutil.chown(datadir.parent, "postgres", "postgres")
        self._run(
            "pg_basebackup",
            *("-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-D", str(datadir)),
            *("-X", "stream", "--checkpoint=fast", "--write-recovery-conf", "--no-sync"),
        )
        conninfo = f"'host=127.0.0.1 port={self.port} user=postgres application_name=standby'"
        wanted = {**self.settings, **(settings or {}), "primary_conninfo": conninfo}
        return LocalCluster(datadir, port, wanted)

    def create_database(self, name: str) -> None:
        result = self._run(
            "createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name, check=False
        )
        if result.returncode != 0 and "already exists" not in result.stderr:
            raise ClusterError(f"createdb failed: {result.stderr.strip()}")
