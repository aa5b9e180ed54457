"""Logging: plain text by default, one JSON object per line with `LOG_FORMAT=json`.

The same formatter serves the app's loggers and gunicorn's (see `GunicornLogger`, used by
gunicorn.conf.py), so a log shipper parses one shape. Access lines carry no client address and no
user agent, and pack tokens in paths are redacted: a pack token is the credential printed on the pack
(SECURITY.md: no personal data or secrets in logs).
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from datetime import datetime, timezone
from typing import Any, Optional

# /p/<token>, /P/<token>, /api/v1/packs/<token>/… : the token is a credential.
_TOKEN_PATH = re.compile(r"^(/[pP]/|/api/v1/packs/)([^/?]+)")
_STANDARD_ATTRS = frozenset(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}


def redact_path(path: str) -> str:
    """`/p/ABCD…/thanks/3` -> `/p/<token>/thanks/3`; other paths unchanged."""
    return _TOKEN_PATH.sub(r"\1<token>", path or "")


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC, ISO 8601), level, logger, message, extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def make_formatter(log_format: str) -> logging.Formatter:
    return JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)


def configure(log_format: str, level: str = "INFO", stream=None) -> Optional[logging.Handler]:
    """Send the `app` loggers to stderr in `log_format` ("json" or "text"). Idempotent per format.

    Only the `app` logger tree is touched (not the root), so test runners and gunicorn keep theirs.
    """
    logger = logging.getLogger("app")
    for handler in list(logger.handlers):
        if getattr(handler, "_cardtrail", False):
            logger.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler._cardtrail = True  # type: ignore[attr-defined]
    handler.setFormatter(make_formatter(log_format))
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
    return handler


def init_app(app) -> None:
    """With LOG_FORMAT set (json or text), the app's loggers write that format to stderr."""
    log_format = app.config.get("LOG_FORMAT")
    if log_format:
        configure(log_format, app.config.get("LOG_LEVEL", "INFO"))


def access_entry(method: str, path: str, status: str, duration_ms: float, size: Any) -> dict[str, Any]:
    """The fields of one access-log line (no client address, no user agent, tokens redacted)."""
    code = str(status).split(None, 1)[0] if status else "-"
    return {"method": method, "path": redact_path(path), "status": int(code) if code.isdigit() else code,
            "duration_ms": round(duration_ms, 2), "bytes": size if isinstance(size, int) else None}


try:  # gunicorn is a runtime dependency, but keep the app importable without it
    from gunicorn.glogging import Logger as _GunicornBase
except ImportError:  # pragma: no cover
    _GunicornBase = object  # type: ignore[misc,assignment]


class GunicornLogger(_GunicornBase):  # type: ignore[misc,valid-type]
    """gunicorn's logger with our formats: JSON lines when LOG_FORMAT=json, redacted access lines."""

    def setup(self, cfg) -> None:
        super().setup(cfg)
        log_format = os.environ.get("LOG_FORMAT", "text").lower()
        formatter = make_formatter(log_format)
        self._json = log_format == "json"
        for logger in (self.error_log, self.access_log):
            for handler in logger.handlers:
                handler.setFormatter(formatter)

    def access(self, resp, req, environ, request_time) -> None:
        if not self.access_log_enabled:
            return
        duration_ms = request_time.total_seconds() * 1000
        entry = access_entry(environ.get("REQUEST_METHOD", "-"), environ.get("PATH_INFO", "-"),
                             getattr(resp, "status", "-"), duration_ms, getattr(resp, "sent", None))
        try:
            if self._json:
                self.access_log.info("access", extra=entry)
            else:
                self.access_log.info("%(method)s %(path)s %(status)s %(duration_ms)sms %(bytes)s", entry)
        except Exception:  # noqa: BLE001 - never fail a request over its log line (gunicorn does the same)
            self.error("access log line failed")
