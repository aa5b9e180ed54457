"""Dashboard and public pages at campaign scale: p50/p95 per page, on SQLite and PostgreSQL.

    .venv/bin/python -m bench.dashboard [--quick] [--requests N] [--sqlite-url URL] [--postgres-url URL]

Builds the `global` demo (20,000 groups, ~1M packs, ~2M reports) once into a temporary SQLite file and
once into a dedicated PostgreSQL database (`bench_dashboard`, dropped and created again; set
BENCH_POSTGRES_URL to point elsewhere, or BENCH_POSTGRES_URL=none to skip PostgreSQL), timing
`flask demo`'s generator. Then requests each page through the Flask test client as staff (public pages
anonymously), with common filters, and reports p50 and p95 against the 150 ms goal.

`--quick` uses the `national` demo and fewer requests (a smoke run). `--sqlite-url`/`--postgres-url`
measure an existing database that already holds a demo (no build).
`run()` returns the Markdown section that `make bench` collects.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import Callable, Optional

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import sqlalchemy as sa  # noqa: E402
from flask import Flask  # noqa: E402
from flask_migrate import upgrade  # noqa: E402

from app import create_app, demo, seeding  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import Case, Group  # noqa: E402

GOAL_MS = 150.0
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_dashboard"
DATES = {"from": "2025-12-01", "to": "2025-12-10"}


@dataclass
class Timing:
    page: str
    database: str
    p50: float
    p95: float

    @property
    def met(self) -> bool:
        return self.p95 <= GOAL_MS


def _config(url: str) -> dict:
    return {
        "TESTING": True,
        "SECRET_KEY": "bench-secret-key-that-is-long-enough-0123456789",
        "SQLALCHEMY_DATABASE_URI": url,
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "BASE_URL": "http://cards.test",
        "WEBHOOK_WORKER": False,
    }


def _app(url: str) -> Flask:
    return create_app(_config(url))


def build(url: str, scale: str, seed: int = 1, log: Callable[[str], None] = print) -> float:
    """Schema, seed and the demo at `scale` into an empty database; returns the demo's seconds."""
    app = _app(url)
    with app.app_context():
        upgrade()
        seeding.seed()
        started = time.perf_counter()
        result = demo.generate(scale, seed)
        seconds = time.perf_counter() - started
        db.engine.dispose()
    log(f"  {db_label(url)}: {result.packs:,} packs, {result.reports:,} reports in {seconds:.1f} s")
    return seconds


def db_label(url: str) -> str:
    return "PostgreSQL" if url.startswith("postgresql") else "SQLite"


def _pages(app: Flask) -> list[tuple[str, str, bool]]:
    """(label, URL, as staff) for every measured page, with filters taken from the data."""
    with app.app_context():
        case = db.session.scalars(sa.select(Case).join(Case.campaign).where(sa.text("campaign.is_current")).order_by(Case.position)).first()
        group_id = db.session.scalar(sa.select(Group.id).order_by(Group.id).limit(1))
    assert case is not None, "no demo data"
    region = "country=United+Kingdom&region=Scotland"
    dates = "&".join(f"{k}={v}" for k, v in DATES.items())
    return [
        ("public home `/`", "/", False),
        ("public case page", f"/cases/{case.slug}", False),
        ("dashboard (cases, chart)", "/staff/dashboard", True),
        ("dashboard, one case", f"/staff/dashboard?case={case.id}", True),
        ("dashboard, one region", f"/staff/dashboard?{region}", True),
        ("dashboard, schools", "/staff/dashboard?type=school", True),
        ("dashboard, 10 days", f"/staff/dashboard?{dates}", True),
        ("dashboard, one group", f"/staff/dashboard?group={group_id}", True),
        ("groups", "/staff/dashboard/groups", True),
        ("groups, one region", f"/staff/dashboard/groups?{region}", True),
        ("regions", "/staff/dashboard/regions", True),
        ("group types", "/staff/dashboard/group-types", True),
        ("reconciliation", "/staff/dashboard/reconciliation", True),
        ("reconciliation, one case", f"/staff/dashboard/reconciliation?case={case.id}", True),
        ("reconciliation, 10 days", f"/staff/dashboard/reconciliation?{dates}", True),
        ("last year", "/staff/dashboard/compare", True),
    ]


def measure(url: str, requests: int, log: Callable[[str], None] = print) -> list[Timing]:
    """p50/p95 of each page over `requests` requests (after one warm-up), through the test client."""
    app = _app(url)
    staff = app.test_client()
    response = staff.post("/login", data={"email": demo.STAFF_EMAIL, "password": demo.DEMO_PASSWORD})
    assert response.status_code in (302, 303), "demo staff login failed"
    anonymous = app.test_client()
    timings = []
    for label, path, as_staff in _pages(app):
        client = staff if as_staff else anonymous
        samples = []
        for i in range(requests + 1):
            started = time.perf_counter()
            response = client.get(path)
            elapsed = (time.perf_counter() - started) * 1000
            assert response.status_code == 200, (path, response.status_code)
            if i:  # the first request warms caches and compiles the queries
                samples.append(elapsed)
        samples.sort()
        p95 = samples[min(len(samples) - 1, max(0, round(0.95 * len(samples)) - 1))]
        timing = Timing(label, db_label(url), statistics.median(samples), p95)
        log(f"  {timing.database:<10} {label:<28} p50 {timing.p50:7.1f} ms  p95 {timing.p95:7.1f} ms")
        timings.append(timing)
    with app.app_context():
        db.engine.dispose()
    return timings


def _postgres_admin(url: str) -> tuple[str, str]:
    """The server's maintenance database URL and the benchmark database's name."""
    parsed = sa.engine.make_url(url)
    return parsed.set(database="postgres").render_as_string(hide_password=False), parsed.database or "bench_dashboard"


def recreate_postgres(url: str) -> None:
    admin_url, name = _postgres_admin(url)
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    engine.dispose()


def drop_postgres(url: str) -> None:
    admin_url, name = _postgres_admin(url)
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    engine.dispose()


def _postgres_reachable(url: str) -> Optional[str]:
    try:
        engine = sa.create_engine(_postgres_admin(url)[0])
        with engine.connect():
            pass
        engine.dispose()
    except Exception as error:  # noqa: BLE001 - any failure means "skip PostgreSQL", with the reason
        return str(error).splitlines()[0]
    return None


def markdown(scale: str, requests: int, builds: dict[str, float], timings: list[Timing], notes: list[str]) -> str:
    lines = [
        "## Dashboard and public pages at campaign scale (`bench/dashboard.py`)",
        "",
        f"`{scale}` demo (`flask demo --scale {scale}`), {requests} requests per page after one warm-up, "
        "Flask test client, staff logged in (public pages anonymous), one process.",
        "",
        "| demo generation | seconds |",
        "|---|---|",
        *[f"| {name} | {seconds:.1f} s |" for name, seconds in builds.items()],
        "",
        f"| page | DB | p50 | p95 | goal | met? |",
        "|---|---|---|---|---|---|",
        *[f"| {t.page} | {t.database} | {t.p50:.1f} ms | {t.p95:.1f} ms | {GOAL_MS:.0f} ms | {'yes' if t.met else 'no'} |"
          for t in timings],
    ]
    if notes:
        lines += ["", *notes]
    return "\n".join(lines) + "\n"


def run(quick: bool = False, requests: Optional[int] = None, sqlite_url: Optional[str] = None,
        postgres_url: Optional[str] = None, log: Callable[[str], None] = lambda line: print(line, file=sys.stderr)) -> str:
    """Build the demo on each database, time the pages, and return a Markdown section."""
    scale = "national" if quick else "global"
    requests = requests or (10 if quick else 50)
    builds: dict[str, float] = {}
    timings: list[Timing] = []
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-dashboard-") as tmp:
        url = sqlite_url
        if url is None:
            url = "sqlite:///" + os.path.join(tmp, "bench.sqlite")
            log(f"Building the {scale} demo on SQLite…")
            builds[f"`{scale}` demo on SQLite"] = build(url, scale, log=log)
        timings += measure(url, requests, log=log)

    pg_url = postgres_url or os.environ.get("BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    if pg_url.lower() == "none":
        notes.append("PostgreSQL: skipped (BENCH_POSTGRES_URL=none).")
    elif postgres_url is None and (problem := _postgres_reachable(pg_url)):
        notes.append(f"PostgreSQL: not measured ({problem}).")
    else:
        owned = postgres_url is None
        try:
            if owned:
                recreate_postgres(pg_url)
                log(f"Building the {scale} demo on PostgreSQL…")
                builds[f"`{scale}` demo on PostgreSQL"] = build(pg_url, scale, log=log)
            timings += measure(pg_url, requests, log=log)
        finally:
            if owned:
                drop_postgres(pg_url)
    order = {t.page: i for i, t in enumerate(timings)}
    timings.sort(key=lambda t: (order[t.page], t.database != "SQLite"))
    return markdown(scale, requests, builds, timings, notes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="national demo, 10 requests per page")
    parser.add_argument("--requests", type=int, help="requests per page (default 50, quick 10)")
    parser.add_argument("--sqlite-url", help="measure this existing SQLite database instead of building one")
    parser.add_argument("--postgres-url", help="measure this existing PostgreSQL database instead of building one")
    args = parser.parse_args()
    print(run(args.quick, args.requests, args.sqlite_url, args.postgres_url))


if __name__ == "__main__":
    main()
