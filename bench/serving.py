"""Floor vs app under gunicorn (2 workers) with wrk: reports and the pack page; RSS per worker.

    .venv/bin/python -m bench.serving [--quick] [--seconds 8] [--redis redis://127.0.0.1:6379/5]

One SQLite database with the seeded cases, 2,000 packs of 1,000 cards and 20,000 earlier reports is
built in a temporary directory; the floor (bench/floor.py) and the app each get a copy. Every figure
is measured floor first, app right after, in the same run, and each pair twice (best of each kept):
the machine is shared, so only the ratio means much.

The app runs as in production (APP_ENV=production, gunicorn.conf.py, PROXY_FIX=1 with a random
X-Forwarded-For per request: many volunteers, each with their own rate-limit budget), with rate limits
on and generous enough that wrk is never refused; their storage is Redis when reachable, else memory.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from dataclasses import dataclass, field

from . import common as c

GOALS = {"form": 0.6, "api": 0.6, "page": 0.4}
LABELS = {
    "form": "report: pack page form POST /p/<token> (CSRF, 303)",
    "api": "report: POST /api/v1/packs/<token>/reports (Idempotency-Key, 201)",
    "page": "pack page GET /p/<token>",
}
RSS_GOAL_MB = 150.0


@dataclass
class Pair:
    mode: str
    floor: c.WrkResult
    app: c.WrkResult

    @property
    def ratio(self) -> float:
        return self.app.requests_per_s / self.floor.requests_per_s if self.floor.requests_per_s else 0.0

    @property
    def cpu_ratio(self) -> float:
        """Floor CPU per request / app CPU per request: the throughput ratio on an idle machine."""
        return self.floor.cpu_ms_per_request / self.app.cpu_ms_per_request if self.app.cpu_ms_per_request else 0.0


@dataclass
class ServingResults:
    pairs: list[Pair] = field(default_factory=list)
    rss_mb: list[float] = field(default_factory=list)
    storage: str = "memory://"
    exact: bool = True
    notes: list[str] = field(default_factory=list)


def _redis_reachable(url: str) -> bool:
    try:
        import redis

        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
        return True
    except Exception:  # noqa: BLE001 - any failure means "not available"
        return False


def measure(seconds: int = 8, rounds: int = 2, redis_url: str = "redis://127.0.0.1:6379/5",
            modes: tuple[str, ...] = ("form", "api", "page"), connections: int = 8) -> ServingResults:
    work = tempfile.mkdtemp(prefix="bench-serving-")
    results = ServingResults()
    try:
        data = c.build_database(c.sqlite_url(work), work)
        floor_url = c.copy_sqlite(data.url, "floor.sqlite")
        app_url = c.copy_sqlite(data.url, "app.sqlite")
        extra = {"PROXY_FIX": "1"}
        if redis_url and _redis_reachable(redis_url):
            import redis

            redis.Redis.from_url(redis_url).flushdb()
            extra["REDIS_URL"] = redis_url
            results.storage = redis_url
        floor_env = c.app_env(floor_url, FLOOR_DB=floor_url.removeprefix("sqlite:///"))
        app_env = c.app_env(app_url, **extra)
        best: dict[tuple[str, str], c.WrkResult] = {}

        def keep(key, result):
            if key not in best or result.requests_per_s > best[key].requests_per_s:
                best[key] = result

        with c.gunicorn("floor:app", floor_env) as floor, c.gunicorn("wsgi:app", app_env) as app:
            csrf, cookie = c.form_session(app.base, data.tokens[0])
            for _ in range(rounds):
                for mode in modes:
                    keep(("floor", mode), c.measure(floor, mode, data.tokens_file, seconds, connections))
                    keep(("app", mode), c.measure(app, mode, data.tokens_file, seconds, connections,
                                                  csrf=csrf, cookie=cookie, forwarded=True))
                results.rss_mb = [max(a, b) for a, b in zip(app.worker_rss_mb(), results.rss_mb or [0.0] * 8)]
        for mode in modes:
            results.pairs.append(Pair(mode, best[("floor", mode)], best[("app", mode)]))
        reports = c.count_sql(app_url, "SELECT count(*) FROM report")
        posted = c.count_sql(app_url, "SELECT sum(cards_posted) FROM pack")
        summed = c.count_sql(app_url, "SELECT sum(cards) FROM report WHERE NOT voided")
        results.exact = reports == posted == summed
        results.notes.append(f"after the run: {reports:,} report rows, packs' counters sum to {posted:,}, "
                             f"reports' cards sum to {summed:,}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return results


def _mark(ok: bool) -> str:
    return "met" if ok else "missed"


def markdown(results: ServingResults, seconds: int) -> str:
    lines = [
        "## Serving: the app against the floor (`bench/serving.py`, `bench/floor.py`)",
        "",
        f"gunicorn, 2 sync workers each; wrk 1 thread, 8 connections, {seconds} s per run, floor then app,"
        " twice, best of each. SQLite (WAL, synchronous=FULL). Rate limits on, storage "
        f"`{results.storage.split('://')[0]}`.",
        "",
        "| what | floor req/s | app req/s | app errors | app avg latency | ratio | goal | |"
        " CPU ms/request floor · app | CPU ratio |",
        "|---|---:|---:|---:|---:|---:|---:|---|---:|---:|",
    ]
    for pair in results.pairs:
        goal = GOALS[pair.mode]
        lines.append(
            f"| {LABELS[pair.mode]} | {pair.floor.requests_per_s:,.0f} | {pair.app.requests_per_s:,.0f} | "
            f"{pair.app.errors} | {pair.app.latency_ms:.1f} ms | {pair.ratio:.2f}× | ≥ {goal}× | "
            f"{_mark(pair.ratio >= goal and pair.app.errors == 0)} | "
            f"{pair.floor.cpu_ms_per_request:.2f} · {pair.app.cpu_ms_per_request:.2f} | {pair.cpu_ratio:.2f}× |")
    lines += ["", "The CPU columns count the server processes' own CPU time (from /proc) per request: unlike"
              " req/s they hardly move when other programs load the machine, and the CPU ratio is the"
              " throughput ratio the two would have on an otherwise idle machine."]
    lines += ["", "| what | result | goal | |", "|---|---:|---:|---|"]
    rss = max(results.rss_mb or [0.0])
    lines.append(f"| RSS per gunicorn worker after the load (max of {len(results.rss_mb)}) | {rss:.0f} MB | "
                 f"≤ {RSS_GOAL_MB:.0f} MB | {_mark(0 < rss <= RSS_GOAL_MB)} |")
    lines.append(f"| counts exact after the run (rows = counters = cards) | {'yes' if results.exact else 'NO'} | yes |"
                 f" {_mark(results.exact)} |")
    lines += [""] + [f"- {note}" for note in results.notes]
    return "\n".join(lines) + "\n"


def run(quick: bool = False) -> str:
    seconds, rounds = (4, 1) if quick else (8, 2)
    start = time.perf_counter()
    results = measure(seconds=seconds, rounds=rounds)
    results.notes.append(f"took {time.perf_counter() - start:.0f} s")
    return markdown(results, seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/5", help="'' for memory storage")
    parser.add_argument("--modes", default="form,api,page")
    args = parser.parse_args()
    seconds, rounds = (4, 1) if args.quick else (args.seconds, args.rounds)
    results = measure(seconds, rounds, args.redis, tuple(args.modes.split(",")))
    print(markdown(results, seconds))


if __name__ == "__main__":
    main()
