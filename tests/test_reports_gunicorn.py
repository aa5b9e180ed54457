"""Exact counts through a real multi-worker server: gunicorn with 4 worker processes, concurrent POSTs.

Threads in one process share the GIL and one engine; separate worker processes are what production
runs. On SQLite the workers queue on BEGIN IMMEDIATE; on PostgreSQL (TEST_DATABASE_URL) on row locks.
"""

from __future__ import annotations

import http.client
import os
import random
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Pack, Report
from bench.common import serve
from tests import factories as f

ROOT = Path(__file__).resolve().parent.parent


def _request(port: int, method: str, path: str, body: str = "") -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        headers = {"Content-Type": "application/x-www-form-urlencoded"} if body else {}
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status, response.getheader("Location") or ""
    finally:
        conn.close()


@pytest.fixture
def server(app, tmp_path, database_url):
    """gunicorn serving the test database with 4 workers on a free loopback port."""
    (tmp_path / "reports_wsgi.py").write_text(
        "from app import create_app\n"
        "from tests.conftest import make_config\n"
        f"app = create_app(make_config({database_url!r}, TESTING=False))\n"
    )
    env = dict(os.environ, HOME=str(tmp_path), PYTHONPATH=f"{ROOT}{os.pathsep}{tmp_path}")
    with serve("--workers", "4", "--no-control-socket", "--timeout", "60", "reports_wsgi:app", env=env,
               ready_path="/p") as gunicorn:
        yield gunicorn.port


def test_concurrent_reports_through_gunicorn_are_exact(app, server):
    campaign = f.campaign()
    case = f.case(campaign)
    full = f.pack(case, size=40)
    replayed = f.pack(case, size=10)
    db.session.commit()
    full_id, full_token, replayed_id, replayed_token = full.id, full.token, replayed.id, replayed.token
    db.session.rollback()

    many = [("POST", f"/p/{full_token}", f"cards=1&idempotency_key={uuid.uuid4()}") for _ in range(60)]
    same = [("POST", f"/p/{replayed_token}", "cards=2&idempotency_key=one-key-for-all") for _ in range(16)]
    jobs = many + same
    random.Random(5).shuffle(jobs)
    with ThreadPoolExecutor(max_workers=24) as pool:
        answers = list(pool.map(lambda job: (job[1], *_request(server, *job)), jobs))

    statuses = [status for _, status, _ in answers]
    assert all(status < 500 for status in statuses), statuses
    full_answers = [status for path, status, _ in answers if path == f"/p/{full_token}"]
    same_answers = [(status, location) for path, status, location in answers if path == f"/p/{replayed_token}"]

    db.session.expire_all()
    full_rows = list(db.session.scalars(sa.select(Report).where(Report.pack_id == full_id)))
    counter = db.session.scalar(sa.select(Pack.cards_posted).where(Pack.id == full_id))
    assert full_answers.count(303) == len(full_rows) == counter == 40
    assert full_answers.count(422) == len(full_answers) - 40

    replay_rows = list(db.session.scalars(sa.select(Report).where(Report.pack_id == replayed_id)))
    assert [r.cards for r in replay_rows] == [2]
    assert db.session.scalar(sa.select(Pack.cards_posted).where(Pack.id == replayed_id)) == 2
    assert {status for status, _ in same_answers} == {303}
    assert {location for _, location in same_answers} == {f"/p/{replayed_token}/thanks/{replay_rows[0].id}"}
