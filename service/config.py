"""Configuration: read once from the environment, validated, immutable."""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PGDATA_DIR = PROJECT_ROOT / ".pgdata"
# an origin as browsers send it; `null` is what pages loaded from file:// (the packaged desktop app) send
_ORIGIN = re.compile(r"https?://([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?")


LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))


class ConfigError(ValueError):
    """A bad configuration value; the message is the one line shown at start."""


@dataclass(frozen=True)
class Config:
    database_url: str
    database_read_url: str = ""
    env: str = "development"
    host: str = "127.0.0.1"
    port: int = 5001
    web_concurrency: int = 2
    threads: int = 2
    db_pool_size: int = 2
    jwt_secret: str = field(default="", repr=False)
    access_token_minutes: int = 15
    refresh_token_days: int = 7
    refresh_token_rotation: str = "reuse"
    rate_limit_storage_uri: str = ""
    login_attempts_per_minute: int = 6
    trusted_proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    cors_origins: tuple[str, ...] = ()
    default_location_code: str = "13"
    max_body_bytes: int = 1024 * 1024
    log_level: str = "INFO"
    statement_timeout_ms: int = 10_000
    database_pooler: str = "none"
    metrics_allow: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = LOOPBACK
    metrics_dir: str = ""

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Config:
        env = os.environ if environ is None else environ

        def text(name: str, default: str) -> str:
            return env.get(name, "").strip() or default

        def integer(name: str, default: int, low: int, high: int) -> int:
            raw = env.get(name, "").strip()
            if not raw:
                return default
            try:
                value = int(raw)
            except ValueError:
                raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
            if not low <= value <= high:
                raise ConfigError(f"{name} must be between {low} and {high}, got {value}")
            return value

        def choice(name: str, default: str, allowed: tuple[str, ...]) -> str:
            value = text(name, default)
            if value not in allowed:
                raise ConfigError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
            return value

        mode = choice("ENV", "development", ("development", "production", "test"))
        database_url = text("DATABASE_URL", "")
        if not database_url:
            raise ConfigError("DATABASE_URL is not set (make run starts an embedded PostgreSQL for you)")
        if not database_url.startswith(("postgresql://", "postgres://")):
            raise ConfigError("DATABASE_URL must be a postgresql:// URL")

        read_url = text("DATABASE_READ_URL", "")
        if read_url and not read_url.startswith(("postgresql://", "postgres://")):
            raise ConfigError("DATABASE_READ_URL must be a postgresql:// URL (a streaming standby) or unset")

        secret = env.get("JWT_SECRET", "")
        if mode == "production" and len(secret.encode()) < 32:
            raise ConfigError("JWT_SECRET must be set and at least 32 bytes long when ENV=production")
        if secret and len(secret.encode()) < 32:
            raise ConfigError("JWT_SECRET must be at least 32 bytes long")
        if not secret:
            raise ConfigError("JWT_SECRET is not set (weighin serve keeps a development one in .pgdata/)")

        def networks(name: str) -> list:
            found = []
            for cidr in filter(None, (p.strip() for p in env.get(name, "").split(","))):
                try:
                    found.append(ipaddress.ip_network(cidr, strict=False))
                except ValueError:
                    raise ConfigError(f"{name} has an invalid network: {cidr!r}") from None
            return found

        proxies = networks("TRUSTED_PROXIES")
        metrics_dir = env.get("PROMETHEUS_MULTIPROC_DIR", "").strip()
        if metrics_dir and not (Path(metrics_dir).is_absolute() and not Path(metrics_dir).is_file()):
            raise ConfigError(
                f"PROMETHEUS_MULTIPROC_DIR must be an absolute directory path, got {metrics_dir!r}"
            )

        origins = tuple(filter(None, (o.strip() for o in env.get("CORS_ORIGINS", "").split(","))))
        for origin in origins:
            if not (origin == "null" or _ORIGIN.fullmatch(origin) or origins == ("*",)):
                raise ConfigError(
                    f"CORS_ORIGINS has an invalid origin: {origin!r} (scheme://host[:port], null, or * alone)"
                )

        web_concurrency = integer("WEB_CONCURRENCY", cls.web_concurrency, 1, 64)
        threads = integer("THREADS", cls.threads, 1, 64)
        return cls(
            database_url=database_url,
            database_read_url=read_url,
            env=mode,
            host=text("HOST", "127.0.0.1"),
            port=integer("PORT", 5001, 1, 65535),
            web_concurrency=web_concurrency,
            threads=threads,
            db_pool_size=integer("DB_POOL_SIZE", threads, 1, 200),
            jwt_secret=secret,
            access_token_minutes=integer("ACCESS_TOKEN_MINUTES", 15, 1, 24 * 60),
            refresh_token_days=integer("REFRESH_TOKEN_DAYS", 7, 1, 365),
            refresh_token_rotation=choice("REFRESH_TOKEN_ROTATION", "reuse", ("reuse", "strict")),
            rate_limit_storage_uri=text("RATE_LIMIT_STORAGE_URI", ""),
            login_attempts_per_minute=integer("LOGIN_ATTEMPTS_PER_MINUTE", 6, 0, 1_000_000),
            trusted_proxies=tuple(proxies),
            cors_origins=origins,
            default_location_code=text("DEFAULT_LOCATION_CODE", "13"),
            max_body_bytes=integer("MAX_BODY_BYTES", 1024 * 1024, 1024, 64 * 1024 * 1024),
            log_level=choice("LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR")),
            statement_timeout_ms=integer("STATEMENT_TIMEOUT_MS", 10_000, 100, 600_000),
            database_pooler=choice("DATABASE_POOLER", "none", ("none", "pgbouncer")),
            metrics_allow=tuple(networks("METRICS_ALLOW")) or LOOPBACK,
            metrics_dir=metrics_dir,
        )
