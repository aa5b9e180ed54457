"""Configuration from environment variables, with safe development defaults."""

from __future__ import annotations

import os

DEV_SECRET_KEY = "dev-insecure-secret-key-change-me"  # nosec B105 - refused in production (check_production)


def _bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def _hops(name: str) -> int:
    """PROXY_FIX=1 / true: one trusted proxy; a number: that many; unset, 0, false: none."""
    value = (os.environ.get(name) or "").strip().lower()
    if value in {"", "0", "false", "no", "off"}:
        return 0
    if value in {"true", "yes", "on"}:
        return 1
    return int(value)


def from_environment(instance_path: str) -> dict:
    """Build the config mapping from the process environment.

    Every value has a development default, so `flask run` works on a fresh clone;
    `APP_ENV=production` refuses to start with the default secret (see `check_production`).
    """
    sqlite_default = "sqlite:///" + os.path.join(instance_path, "cardtrail.sqlite")
    return {
        "APP_ENV": os.environ.get("APP_ENV", "development"),
        "SECRET_KEY": os.environ.get("SECRET_KEY", DEV_SECRET_KEY),
        "SQLALCHEMY_DATABASE_URI": os.environ.get("DATABASE_URL", sqlite_default),
        "BASE_URL": os.environ.get("BASE_URL", "http://127.0.0.1:5000").rstrip("/"),
        "REDIS_URL": os.environ.get("REDIS_URL") or None,
        "MAIL_SERVER": os.environ.get("MAIL_SERVER") or None,
        "MAIL_PORT": _int("MAIL_PORT", 587),
        "MAIL_USERNAME": os.environ.get("MAIL_USERNAME") or None,
        "MAIL_PASSWORD": os.environ.get("MAIL_PASSWORD") or None,
        "MAIL_USE_TLS": _bool("MAIL_USE_TLS", True),
        "MAIL_FROM": os.environ.get("MAIL_FROM", "Write for Rights <cards@localhost>"),
        "SQLITE_SYNCHRONOUS": os.environ.get("SQLITE_SYNCHRONOUS", "FULL").upper(),
        "MAX_CONTENT_LENGTH": _int("MAX_CONTENT_LENGTH", 4 * 1024 * 1024),
        "SESSION_COOKIE_SECURE": _bool("SESSION_COOKIE_SECURE", os.environ.get("APP_ENV") == "production"),
        "REMEMBER_COOKIE_SECURE": _bool("SESSION_COOKIE_SECURE", os.environ.get("APP_ENV") == "production"),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "PER_PAGE": 25,
        "LOW_STOCK_CARDS": _int("LOW_STOCK_CARDS", 500),
        # None: on for the web app, off under TESTING.
        "WEBHOOK_WORKER": _bool("WEBHOOK_WORKER") if os.environ.get("WEBHOOK_WORKER") else None,
        "RATELIMIT_STORAGE_URI": os.environ.get("REDIS_URL") or "memory://",
        "RATELIMIT_STRATEGY": "moving-window",
        # No X-RateLimit-* headers: each costs a storage round trip per response. 429s carry Retry-After.
        "RATELIMIT_HEADERS_ENABLED": False,
        "PASSWORD_RESET_MAX_AGE": 3600,  # nosec B105 - a lifetime in seconds, not a password
        "INVITATION_MAX_AGE": 14 * 24 * 3600,
        # CSRF tokens stay bound to the session but never expire: a pack page left open while a volunteer
        # writes, or a scan station open all day, must still post.
        "WTF_CSRF_TIME_LIMIT": None,
        # Reports and pack lookups (Flask-Limiter strings; see app/reports/views.py for the keys).
        "RATELIMIT_REPORT_PER_IP": os.environ.get("RATELIMIT_REPORT_PER_IP", "60 per minute;600 per hour"),
        "RATELIMIT_REPORT_PER_PACK": os.environ.get("RATELIMIT_REPORT_PER_PACK", "60 per minute;600 per hour"),
        "RATELIMIT_PACK_MISSES_PER_IP": os.environ.get("RATELIMIT_PACK_MISSES_PER_IP", "20 per minute;100 per hour"),
        "RATELIMIT_CODE_LOOKUPS_PER_IP": os.environ.get("RATELIMIT_CODE_LOOKUPS_PER_IP", "10 per minute;60 per hour"),
        # Behind a reverse proxy: how many proxies in front of the app set X-Forwarded-For/-Proto/-Host.
        # 0 (the default) trusts none of these headers: a client could otherwise forge its address.
        "PROXY_FIX": _hops("PROXY_FIX"),
        # "json": one JSON object per log line (the app's loggers; gunicorn.conf.py does gunicorn's).
        "LOG_FORMAT": (os.environ.get("LOG_FORMAT") or "").strip().lower() or None,
        "LOG_LEVEL": (os.environ.get("LOG_LEVEL") or "INFO").upper(),
        # Every API call, per token (or per client address without one).
        "API_RATE_LIMIT": os.environ.get("API_RATE_LIMIT", "300 per minute"),
        # The chase list: dispatched packs with no report after this many days.
        "CHASE_AFTER_DAYS": _int("CHASE_AFTER_DAYS", 14),
        # The dashboard's figures refresh themselves this often (seconds) while the tab is visible.
        "DASHBOARD_REFRESH_SECONDS": _int("DASHBOARD_REFRESH_SECONDS", 30),
    }


class ConfigError(RuntimeError):
    """Raised when the configuration is unsafe for the environment it runs in."""


def check_production(config: dict) -> None:
    """Refuse to start in production with DEBUG on or a default/missing SECRET_KEY."""
    if config.get("APP_ENV") != "production":
        return
    if config.get("DEBUG"):
        raise ConfigError("Refusing to start: DEBUG is on in production.")
    key = config.get("SECRET_KEY") or ""
    if key == DEV_SECRET_KEY or len(key) < 32:
        raise ConfigError("Refusing to start: set SECRET_KEY to a random value of at least 32 characters.")
