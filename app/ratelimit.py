"""The hot rate limits: every budget a report spends (per client, per pack, the API's per client) checked
and spent in ONE storage round trip, all or nothing; the API's per-client budget for its other calls.

Flask-Limiter checks each limit separately: with "60 per minute;600 per hour" per client and per pack,
a report cost four Redis round trips (plus one more for the X-RateLimit-* headers), each dearer than
the rest of the request on a loaded machine. Here one Lua script (Redis) or one locked step (memory)
looks at every window first and records the hit in all of them only if all have room, so a refused
report spends nothing (as before: Flask-Limiter stopped at the first full window).

Same semantics as Flask-Limiter's moving window: a budget "N per period" refuses a hit while N hits
happened in the last period. Windows are lists of hit times, newest first, trimmed to N. Redis keeps
them shared between workers and instances (the script reads Redis's own clock, so instances agree);
`memory://` keeps them per process, as Flask-Limiter's memory storage does. The keys start with
`LIMITS:` like Flask-Limiter's, so `limiter.reset()` clears them too.
"""

from __future__ import annotations

import functools
import math
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Callable, Optional, Sequence

from flask import Flask, current_app, request
from flask_babel import lazy_gettext as _l
from limits import RateLimitItem, parse_many
from werkzeug.exceptions import TooManyRequests

PREFIX = "LIMITS:budget"
EXTENSION = "cardtrail_budgets"

# KEYS: one list per window; ARGV: 1 to spend (0 to only look), then (amount, window in ms) per key.
# Returns -1 (room: spent, or would be) or the ms to wait.
_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for i, key in ipairs(KEYS) do
  local amount, window = tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1])
  local oldest = redis.call('LINDEX', key, amount - 1)
  if oldest and tonumber(oldest) > now - window then
    return tonumber(oldest) + window - now
  end
end
if ARGV[1] ~= '1' then
  return -1
end
for i, key in ipairs(KEYS) do
  local amount, window = tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1])
  redis.call('LPUSH', key, now)
  redis.call('LTRIM', key, 0, amount - 1)
  redis.call('PEXPIRE', key, window)
end
return -1
"""


@dataclass(frozen=True)
class Budget:
    """One budget a request spends: its limits (a config key with Flask-Limiter's syntax, e.g.
    "60 per minute;600 per hour") and who it belongs to (a function of the request)."""

    name: str  # in the storage key: budgets with one name are shared by every view that spends them
    config_key: str
    key_func: Callable[[], str]


@functools.lru_cache(maxsize=64)
def _parse(text: str) -> tuple[RateLimitItem, ...]:
    return tuple(parse_many(text))


class MemoryWindows:
    """Moving windows in this process (for `memory://`), one lock for check-then-spend."""

    SWEEP_EVERY = 10_000

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[int, deque]] = {}
        self._calls = 0

    def spend(self, windows: Sequence[tuple[str, int, int]], commit: bool = True) -> int:
        now = time.monotonic() * 1000
        with self._lock:
            self._calls += 1
            if self._calls % self.SWEEP_EVERY == 0:
                self._sweep(now)
            for key, amount, window in windows:
                hits = self._windows.get(key, (0, ()))[1]
                if len(hits) >= amount and hits[amount - 1] > now - window:
                    return int(hits[amount - 1] + window - now)
            if not commit:
                return -1
            for key, amount, window in windows:
                hits = self._windows.setdefault(key, (window, deque()))[1]
                hits.appendleft(now)
                while len(hits) > amount:
                    hits.pop()
            return -1

    def _sweep(self, now: float) -> None:
        """Forget windows with no hit in their period (one-off clients must not grow memory forever)."""
        for key in [k for k, (window, hits) in self._windows.items() if not hits or hits[0] <= now - window]:
            del self._windows[key]

    def reset(self) -> None:
        with self._lock:
            self._windows.clear()


class RedisWindows:
    """Moving windows in Redis, shared by every worker and instance: one script call per request."""

    def __init__(self, uri: str) -> None:
        import redis

        self._client = redis.Redis.from_url(uri)
        self._script = self._client.register_script(_SCRIPT)

    def spend(self, windows: Sequence[tuple[str, int, int]], commit: bool = True) -> int:
        keys = [key for key, _, _ in windows]
        args = [1 if commit else 0] + [n for _, amount, window in windows for n in (amount, window)]
        return int(self._script(keys=keys, args=args))


# --- The report budgets (the pack page form and the API share them) ---------------------------------

def client_address() -> str:
    """The client (its address; behind PROXY_FIX, the one the trusted proxy saw)."""
    return request.remote_addr or ""


def pack_in_url() -> str:
    """The pack named in the URL, however it is spelt."""
    from .packs import codes

    return "pack:" + codes.normalise((request.view_args or {}).get("token", ""))[:40]


# Pack URLs that name no pack (random tokens, mistyped codes): checked before the look-up, spent on a miss.
MISS_BUDGETS = (Budget("pack-miss", "RATELIMIT_PACK_MISSES_PER_IP", client_address),)

REPORT_BUDGETS = (
    Budget("report-client", "RATELIMIT_REPORT_PER_IP", client_address),
    Budget("report-pack", "RATELIMIT_REPORT_PER_PACK", pack_in_url),
)


def api_client() -> str:
    """An API client: its bearer token (the end of it), else its address."""
    auth = request.headers.get("Authorization", "")
    return "token:" + auth[-16:] if auth.startswith("Bearer ") else "ip:" + client_address()


# Every API call (app/api/views.py); a report spends it together with REPORT_BUDGETS, in one round trip.
API_BUDGETS = (Budget("api", "API_RATE_LIMIT", api_client),)


def init_app(app: Flask) -> None:
    """The store follows Flask-Limiter's RATELIMIT_STORAGE_URI: Redis when set to one, else memory."""
    uri = app.config.get("RATELIMIT_STORAGE_URI") or "memory://"
    if uri.startswith(("redis://", "rediss://", "unix://")):
        app.extensions[EXTENSION] = RedisWindows(uri)
    elif uri.startswith("memory://"):
        app.extensions[EXTENSION] = MemoryWindows()
    else:
        raise ValueError(f"RATELIMIT_STORAGE_URI: report budgets support redis:// and memory://, not {uri!r}")


def spend(budgets: Sequence[Budget], commit: bool = True) -> None:
    """Spend one hit of each budget, or none if any is used up: then 429 with Retry-After.
    With commit=False only check that there is room (`check`)."""
    config = current_app.config
    if not config.get("RATELIMIT_ENABLED", True):
        return
    windows = []
    for budget in budgets:
        ident = budget.key_func()
        for item in _parse(config[budget.config_key]):
            expiry = item.get_expiry()
            windows.append((f"{PREFIX}/{budget.name}/{item.amount}/{expiry}/{ident}", item.amount, expiry * 1000))
    wait_ms = current_app.extensions[EXTENSION].spend(windows, commit)
    if wait_ms >= 0:
        raise TooManyRequests(
            description=str(_l("Too many requests from your connection. Please wait a minute and try again.")),
            retry_after=max(1, math.ceil(wait_ms / 1000)),
        )


def retry_after(error: Exception) -> Optional[str]:
    """Retry-After for a 429: the budgets' own (seconds until a hit frees up), or for a Flask-Limiter
    limit (its X-RateLimit-* headers are off: they cost a storage round trip on every response) the
    limit's period, which is never too early."""
    for name, value in getattr(error, "get_headers", lambda: [])():
        if name == "Retry-After":
            return value
    limit = getattr(getattr(error, "limit", None), "limit", None)
    if getattr(error, "code", None) == 429 and isinstance(limit, RateLimitItem):
        return str(limit.get_expiry())
    return None


def check(budgets: Sequence[Budget]) -> None:
    """429 if any budget is used up; spends nothing (for budgets spent only on some outcomes)."""
    spend(budgets, commit=False)


def limited(*budgets: Budget) -> Callable:
    """View decorator: `spend(budgets)` before the view runs."""

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            spend(budgets)
            return view(*args, **kwargs)

        return wrapper

    return decorator
