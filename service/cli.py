"""The `weighin` command: migrate, status, create-user, seed, serve, and `dev` behind `make run`."""

from __future__ import annotations

import argparse
import getpass
import hashlib
import os
import secrets
import sys
from pathlib import Path

import psycopg
from psycopg.rows import dict_row

from . import migrations, usernames
from .config import PGDATA_DIR, PROJECT_ROOT, Config, ConfigError
from .embedded import ClusterError, LocalCluster
from .passwords import Passwords, password_problem
from .statements import Statements

EMBEDDED_PORT = int(os.environ.get("EMBEDDED_PG_PORT", "54329"))


def _config() -> Config:
    """The validated configuration; outside production a missing JWT_SECRET is the kept development one
    (exported, so gunicorn's workers sign with the same key)."""
    if not os.environ.get("JWT_SECRET") and _environment() != "production":
        os.environ["JWT_SECRET"] = development_secret()
    try:
        return Config.from_env()
    except ConfigError as error:
        raise SystemExit(f"weighin: configuration error: {error}") from None


def development_secret() -> str:
    """A random signing key kept beside the embedded cluster, so tokens survive a restart.

    Created with an atomic link, so workers that start together agree on one key.
    """
    path = PGDATA_DIR / "jwt_secret"
    try:
        PGDATA_DIR.mkdir(exist_ok=True)
        if not path.exists():
            tmp = path.with_name(f"jwt_secret.{os.getpid()}")
            tmp.write_text(secrets.token_urlsafe(48))
            tmp.chmod(0o600)
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass
            finally:
                tmp.unlink()
        return path.read_text().strip()
    except OSError:
        return secrets.token_urlsafe(48)


def _environment() -> str:
    return os.environ.get("ENV", "").strip() or "development"


def _database_url() -> str:
    url = os.environ.get("DATABASE_URL", "").strip()
    if not url:
        raise SystemExit("weighin: DATABASE_URL is not set")
    return url


def create_user(
    database_url: str, username: str, password: str, role: str, passwords: Passwords | None = None
) -> dict | None:
    """The one code path that makes users (the API's POST /api/users uses the same statement and
    username rules); None when the name is taken. ValueError when the name cannot be one."""
    name = usernames.normalised(username)
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
        return conn.execute(
            Statements().create_user,
            {
                "username": name,
                "username_key": usernames.key(name),
                "password_hash": (passwords or Passwords.for_environment(_environment())).hash(password),
                "role": role,
            },
        ).fetchone()


def seed(
    database_url: str, location_code: str, demo: bool, passwords: Passwords | None = None
) -> list[tuple[str, str, str]]:
    """Default location, an admin and an operator (only when missing); returns new credentials."""
    sql = Statements()
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(sql.seed_location, {"code": location_code, "name": f"Warehouse {location_code}"})
    created = []
    passwords = passwords or Passwords.for_environment(_environment())
    for username, role in (("admin", "ADMIN"), ("operator", "OPERATOR")):
        password = secrets.token_urlsafe(12)
        if create_user(database_url, username, password, role, passwords):
            created.append((username, role, password))
    if demo:
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(sql.seed_demo, {"location_code": location_code})
    return created


def _print_credentials(created: list[tuple[str, str, str]]) -> None:
    if created:
        print("Created users (shown once, write them down):")
        for username, role, password in created:
            print(f"  {role:<8} username={username} password={password}")


def embedded_cluster() -> LocalCluster:
    """The cluster of `make run`: under .pgdata/, or under /var/tmp when the postgres OS user cannot
    reach the project folder (a checkout inside a private home or temp folder)."""
    datadir = PGDATA_DIR / "cluster"
    link = PGDATA_DIR / "cluster-location"
    if link.exists():
        datadir = Path(link.read_text().strip())
    cluster = LocalCluster(datadir, EMBEDDED_PORT)
    try:
        return cluster.start()
    except ClusterError as error:
        if "cannot write" not in str(error):
            raise
    digest = hashlib.sha1(str(PROJECT_ROOT).encode()).hexdigest()[:10]
    datadir = Path("/var/tmp") / f"weighin-pg-{digest}"
    PGDATA_DIR.mkdir(exist_ok=True)
    link.write_text(str(datadir))
    return LocalCluster(datadir, EMBEDDED_PORT).start()


def cmd_migrate(args) -> None:
    url = _database_url()
    if args.rollback is not None:
        done = migrations.rollback(url, args.rollback)
        print(f"rolled back {len(done)}: {', '.join(done) or '-'}")
    else:
        done = migrations.migrate(url)
        print(f"applied {len(done)}: {', '.join(done) or '-'}")


def cmd_status(args) -> None:
    applied, pending = migrations.status(_database_url())
    for mid in applied:
        print(f"applied  {mid}")
    for mid in pending:
        print(f"pending  {mid}")


def cmd_create_user(args) -> None:
    tty = sys.stdin.isatty()
    password = getpass.getpass("Password: ") if tty else sys.stdin.readline().rstrip("\n")
    problem = password_problem(password)
    if problem:
        raise SystemExit(f"weighin: the password {problem}")
    try:
        user = create_user(_database_url(), args.username, password, args.role)
    except ValueError as problem:
        raise SystemExit(f"weighin: the username {problem}") from None
    if not user:
        raise SystemExit(f"weighin: user {args.username!r} exists already")
    print(f"created {user['role']} {user['username']} (id {user['id']})")


def cmd_seed(args) -> None:
    config = _config()
    _print_credentials(seed(config.database_url, config.default_location_code, args.demo))
    print("seeded" + (" with demo data" if args.demo else ""))


def cmd_serve(args) -> None:
    config = _config()  # fails here, with one line, before any worker starts
    instances, proxy = getattr(args, "instances", 1), getattr(args, "proxy", False)
    if instances > 1 or proxy:
        from .stack import serve_stack

        serve_stack(config, instances, proxy)
        return
    gunicorn = Path(sys.executable).with_name("gunicorn")
    os.execv(str(gunicorn), [str(gunicorn), "--config", str(PROJECT_ROOT / "gunicorn.conf.py")])


def cmd_dev(args) -> None:
    """`make run`: embedded PostgreSQL when DATABASE_URL is unset, migrate, seed, serve."""
    if not os.environ.get("DATABASE_URL"):
        try:
            cluster = embedded_cluster()
            cluster.create_database("weighin")
        except ClusterError as error:
            raise SystemExit(f"weighin: embedded PostgreSQL: {error}") from None
        os.environ["DATABASE_URL"] = cluster.url("weighin")
        print(f"embedded PostgreSQL at {cluster.url('weighin')} (data in {cluster.datadir})")
    config = _config()
    applied = migrations.migrate(config.database_url)
    print(f"migrations applied: {len(applied)}")
    _print_credentials(seed(config.database_url, config.default_location_code, demo=args.demo))
    print(f"serving on http://{config.host}:{config.port}")
    sys.stdout.flush()
    cmd_serve(args)


def _instances(raw: str) -> int:
    if not raw.isdigit() or not 1 <= int(raw) <= 64:
        raise argparse.ArgumentTypeError(f"must be a whole number from 1 to 64, got {raw!r}")
    return int(raw)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="weighin", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("migrate", help="apply pending migrations (or roll back N)")
    p.add_argument("--rollback", type=int, metavar="N", nargs="?", const=1)
    p.set_defaults(func=cmd_migrate)
    sub.add_parser("status", help="list applied and pending migrations").set_defaults(func=cmd_status)
    p = sub.add_parser("create-user", help="create a user; password from stdin or a prompt")
    p.add_argument("--username", required=True)
    p.add_argument("--role", required=True, choices=("ADMIN", "OPERATOR"))
    p.set_defaults(func=cmd_create_user)
    p = sub.add_parser("seed", help="default location, an admin and an operator")
    p.add_argument("--demo", action="store_true", help="also demo articles, batches, stock and surplus")
    p.set_defaults(func=cmd_seed)
    p = sub.add_parser("serve", help="serve the API with gunicorn (several instances, nginx in front)")
    p.add_argument("--instances", type=_instances, default=1, metavar="N", help="gunicorn instances (1)")
    p.add_argument("--proxy", action="store_true", help="nginx on HOST:PORT, instances on PORT+1..")
    p.set_defaults(func=cmd_serve)
    p = sub.add_parser("dev", help="embedded database, migrate, seed, serve (make run)")
    p.add_argument("--demo", action="store_true")
    p.set_defaults(func=cmd_dev)
    args = parser.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
