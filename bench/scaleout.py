"""Scale-out check: two app instances (gunicorn on two loopback ports) share one PostgreSQL database
and one Redis. Concurrent reports go to both; the counts must be exact, and rate limits shared.

    .venv/bin/python -m bench.scaleout [--database-url postgresql+psycopg://…/cardtrail_scaleout]
                                       [--redis-url redis://127.0.0.1:6379/14] [--reports 400]

The database named in the URL is created if missing and wiped: never point this at real data.
Checks:
- exact counts: report rows added == 201 answers; sum of the packs' counters == sum of the reports'
  cards == cards acknowledged; every replay (the same Idempotency-Key sent again to the OTHER
  instance) answered 200 and added nothing; no 5xx;
- shared rate limits: one pack's per-pack limit used up through instance A is refused through B.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import shutil
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field

from . import common as c

DEFAULT_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/cardtrail_scaleout"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/14"
PER_PACK_LIMIT = 25  # reports per pack per minute, for the shared-limit check


@dataclass
class ScaleoutResult:
    sent: int = 0
    accepted: int = 0
    cards_acknowledged: int = 0
    replays: int = 0
    replays_ok: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    rows_added: int = 0
    counters_added: int = 0
    cards_in_rows_added: int = 0
    limit_accepted_via_a: int = 0
    limit_status_via_b: int = 0
    seconds: float = 0.0
    requests_per_s: float = 0.0

    @property
    def exact(self) -> bool:
        return (self.rows_added == self.accepted and self.counters_added == self.cards_in_rows_added
                == self.cards_acknowledged and self.replays_ok == self.replays
                and not any(code >= 500 for code in self.statuses))

    @property
    def limits_shared(self) -> bool:
        return self.limit_accepted_via_a == PER_PACK_LIMIT and self.limit_status_via_b == 429

    @property
    def ok(self) -> bool:
        return self.exact and self.limits_shared


def ensure_database(url: str) -> None:
    """CREATE DATABASE for the URL's database name if it does not exist yet."""
    import sqlalchemy as sa

    name = sa.engine.make_url(url).database
    admin = sa.create_engine(sa.engine.make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            if not conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).scalar():
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    finally:
        admin.dispose()


def reachable(database_url: str = DEFAULT_DATABASE_URL, redis_url: str = DEFAULT_REDIS_URL) -> bool:
    """True when PostgreSQL (its server) and Redis answer."""
    import sqlalchemy as sa

    try:
        import redis

        redis.Redis.from_url(redis_url, socket_connect_timeout=1).ping()
        engine = sa.create_engine(sa.engine.make_url(database_url).set(database="postgres"),
                                  connect_args={"connect_timeout": 2})
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
        engine.dispose()
        return True
    except Exception:  # noqa: BLE001 - any failure means "not available"
        return False


def _post(port: int, token: str, key: str, cards: int) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("POST", f"/api/v1/packs/{token}/reports", body=json.dumps({"cards": cards}),
                     headers={"Content-Type": "application/json", "Idempotency-Key": key})
        response = conn.getresponse()
        body = response.read()
        try:
            data = json.loads(body) if body else {}
        except ValueError:
            data = {}
        return response.status, data
    finally:
        conn.close()


def run_check(database_url: str = DEFAULT_DATABASE_URL, redis_url: str = DEFAULT_REDIS_URL, reports: int = 400,
              workers: int = 1, threads: int = 8) -> ScaleoutResult:
    """Build the database, start two instances, send the reports, compare every count."""
    import redis

    ensure_database(database_url)
    store = redis.Redis.from_url(redis_url)
    store.flushdb()
    work = tempfile.mkdtemp(prefix="bench-scaleout-")
    result = ScaleoutResult()
    try:
        packs = max(20, reports // 10)
        data = c.build_database(database_url, work, packs=packs + 1, history=200)
        tokens, limit_token = data.tokens[:-1], data.tokens[-1]
        rows_before = c.count_sql(database_url, "SELECT count(*) FROM report")
        counters_before = c.count_sql(database_url, "SELECT coalesce(sum(cards_posted), 0) FROM pack")
        cards_before = c.count_sql(database_url, "SELECT coalesce(sum(cards), 0) FROM report WHERE NOT voided")
        env = c.app_env(database_url, REDIS_URL=redis_url, RATELIMIT_REPORT_PER_PACK=f"{PER_PACK_LIMIT} per minute")
        with c.gunicorn("wsgi:app", env, workers=workers) as a, c.gunicorn("wsgi:app", env, workers=workers) as b:
            ports = [a.port, b.port]
            # Each pack gets at most PER_PACK_LIMIT - 1 reports here (a key and its replay count once).
            plan = [(tokens[i % len(tokens)], random.randint(1, 3), str(uuid.uuid4())) for i in range(reports)]
            lock = threading.Lock()
            queue = list(enumerate(plan))

            def sender() -> None:
                while True:
                    with lock:
                        if not queue:
                            return
                        index, (token, cards, key) = queue.pop()
                    port = ports[index % 2]
                    status, body = _post(port, token, key, cards)
                    replay = None
                    if status == 201 and index % 10 == 0:  # the same key again, through the other instance
                        replay = _post(ports[(index + 1) % 2], token, key, cards)
                    with lock:
                        result.sent += 1
                        result.statuses[status] = result.statuses.get(status, 0) + 1
                        if status == 201:
                            result.accepted += 1
                            result.cards_acknowledged += cards
                        if replay is not None:
                            result.replays += 1
                            result.statuses[replay[0]] = result.statuses.get(replay[0], 0) + 1
                            if replay[0] == 200 and replay[1].get("replayed") and replay[1].get("id") == body.get("id"):
                                result.replays_ok += 1

            start = time.perf_counter()
            pool = [threading.Thread(target=sender) for _ in range(threads)]
            for t in pool:
                t.start()
            for t in pool:
                t.join()
            result.seconds = time.perf_counter() - start
            result.requests_per_s = (result.sent + result.replays) / result.seconds if result.seconds else 0.0
            # Shared limits: use up one pack's per-pack budget through A; B must refuse the next one.
            for _ in range(PER_PACK_LIMIT):
                if _post(a.port, limit_token, str(uuid.uuid4()), 1)[0] == 201:
                    result.limit_accepted_via_a += 1
            result.limit_status_via_b = _post(b.port, limit_token, str(uuid.uuid4()), 1)[0]
        rows_after = c.count_sql(database_url, "SELECT count(*) FROM report")
        counters_after = c.count_sql(database_url, "SELECT coalesce(sum(cards_posted), 0) FROM pack")
        cards_after = c.count_sql(database_url, "SELECT coalesce(sum(cards), 0) FROM report WHERE NOT voided")
        extra = result.limit_accepted_via_a  # the limit check's own reports (1 card each)
        result.rows_added = rows_after - rows_before - extra
        result.counters_added = counters_after - counters_before - extra
        result.cards_in_rows_added = cards_after - cards_before - extra
    finally:
        store.flushdb()
        shutil.rmtree(work, ignore_errors=True)
    return result


def markdown(result: ScaleoutResult) -> str:
    mark = {True: "met", False: "missed"}
    statuses = ", ".join(f"{code}: {n}" for code, n in sorted(result.statuses.items()))
    return "\n".join([
        "## Scale-out: two instances, one PostgreSQL, one Redis (`bench/scaleout.py`)",
        "",
        f"Two gunicorn instances on two loopback ports; {result.sent} reports (1–3 cards, unique keys) sent"
        f" concurrently to both, every 10th accepted one replayed through the other instance; {result.seconds:.1f} s,"
        f" {result.requests_per_s:,.0f} req/s. Answers: {statuses}.",
        "",
        "| what | result | goal | |",
        "|---|---:|---:|---|",
        f"| report rows added = 201 answers | {result.rows_added} = {result.accepted} | equal | "
        f"{mark[result.rows_added == result.accepted]} |",
        f"| packs' counters = reports' cards = cards acknowledged | {result.counters_added} = {result.cards_in_rows_added}"
        f" = {result.cards_acknowledged} | equal | "
        f"{mark[result.counters_added == result.cards_in_rows_added == result.cards_acknowledged]} |",
        f"| replays through the other instance answered 200 with the first report | {result.replays_ok} of {result.replays}"
        f" | all | {mark[result.replays_ok == result.replays]} |",
        f"| per-pack limit ({PER_PACK_LIMIT}/min) used up via A, next report via B | {result.limit_accepted_via_a} accepted,"
        f" then {result.limit_status_via_b} | {PER_PACK_LIMIT}, then 429 | {mark[result.limits_shared]} |",
        "",
    ])


def run(quick: bool = False) -> str:
    if not reachable():
        return ("## Scale-out (`bench/scaleout.py`)\n\nSkipped: PostgreSQL at 127.0.0.1:5432 or Redis at "
                "127.0.0.1:6379 is not reachable.\n")
    return markdown(run_check(reports=200 if quick else 400, workers=1 if quick else 2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL)
    parser.add_argument("--reports", type=int, default=400)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    result = run_check(args.database_url, args.redis_url, args.reports, args.workers)
    print(markdown(result))
    raise SystemExit(0 if result.ok else 1)


if __name__ == "__main__":
    main()
