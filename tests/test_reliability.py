"""Reliability: a crash (kill -9) during writes loses no acknowledged report and leaves an intact
database; Redis holds the rate-limit counters when configured; a stateful model of reports,
replays, voids and corrections keeps every count exact."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import threading
import time
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from app.extensions import db
from app.models import Pack, Report, ReportSource
from app.reports import services as reports
from bench.common import serve
from tests import factories as f
from tests.conftest import is_postgres

ROOT = Path(__file__).resolve().parent.parent


def _post(port: int, token: str, key: str) -> int:
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("POST", f"/api/v1/packs/{token}/reports", body=json.dumps({"cards": 1}),
                     headers={"Content-Type": "application/json", "Idempotency-Key": key})
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def test_kill_9_during_writes_keeps_every_acknowledged_report(app, tmp_path, database_url):
    pack = f.pack(f.case(f.campaign()), size=1000)
    db.session.commit()
    token, pack_id = pack.token, pack.id
    db.session.rollback()
    (tmp_path / "crash_wsgi.py").write_text(
        "from app import create_app\nfrom tests.conftest import make_config\n"
        f"app = create_app(make_config({database_url!r}, TESTING=False, WEBHOOK_WORKER=False))\n"
    )
    env = dict(os.environ, HOME=str(tmp_path), PYTHONPATH=f"{ROOT}{os.pathsep}{tmp_path}")
    acknowledged: list[str] = []
    stop = threading.Event()
    threads: list[threading.Thread] = []

    def sender(port: int):
        while not stop.is_set():
            key = str(uuid.uuid4())
            try:
                if _post(port, token, key) == 201:
                    acknowledged.append(key)
            except OSError:
                if stop.is_set():
                    return
                time.sleep(0.05)

    try:
        with serve("--workers", "2", "--no-control-socket", "crash_wsgi:app", env=env) as server:
            threads = [threading.Thread(target=sender, args=(server.port,), daemon=True) for _ in range(4)]
            for t in threads:
                t.start()
            deadline = time.monotonic() + 30
            while len(acknowledged) < 40 and time.monotonic() < deadline:
                time.sleep(0.05)
            os.killpg(server.process.pid, signal.SIGKILL)  # master and workers, mid-write
            server.process.wait(timeout=10)
    finally:
        stop.set()
    for t in threads:
        t.join(15)
    assert len(acknowledged) >= 40
    if not is_postgres():
        path = database_url.removeprefix("sqlite:///")
        check = sqlite3.connect(path)
        assert check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        check.close()
    db.session.expire_all()
    keys = set(db.session.scalars(sa.select(Report.idempotency_key).where(Report.pack_id == pack_id)))
    assert set(acknowledged) <= keys  # nothing acknowledged was lost
    total = db.session.scalar(sa.select(sa.func.sum(Report.cards)).where(Report.pack_id == pack_id))
    assert db.session.get(Pack, pack_id).cards_posted == total  # the counter matches the rows exactly


def test_rate_limits_live_in_redis_when_configured(app_factory, people):
    import redis
    from flask import request_started

    from app.extensions import limiter
    from tests.conftest import _forget_request_user

    store = redis.Redis.from_url("redis://127.0.0.1:6379/15")
    store.flushdb()
    limited = app_factory(RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379/15", API_RATE_LIMIT="3 per minute")
    request_started.connect(_forget_request_user, limited)
    client = limited.test_client()
    assert [client.get("/api/v1/cases").status_code for _ in range(4)] == [200, 200, 200, 429]
    assert any(b"LIMITS" in key or b"limiter" in key.lower() for key in store.keys("*"))
    # Another process sharing the store (simulated by a fresh client of a fresh app) is limited too.
    other = app_factory(RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379/15", API_RATE_LIMIT="3 per minute")
    request_started.connect(_forget_request_user, other)
    assert other.test_client().get("/api/v1/cases").status_code == 429
    store.flushdb()
    limiter.reset()


class ReportsModel(RuleBasedStateMachine):
    """Random sequences of reports (new keys and replays), voids and corrections on two packs."""

    def __init__(self):
        super().__init__()
        db.session.rollback()
        case = f.case(f.campaign())
        self.packs = [f.pack(case, size=size) for size in (5, 12)]
        db.session.commit()
        self.keys: dict[str, tuple[int, int, int]] = {}  # key -> (pack index, cards, report id)
        self.live: dict[int, int] = {}  # report id -> cards, for reports that count

    @rule(index=st.integers(0, 1), cards=st.integers(-1, 14))
    def report(self, index, cards):
        pack = self.packs[index]
        key = str(uuid.uuid4())
        left = pack.size - sum(c for rid, c in self.live.items() if self._pack_of(rid) == index)
        try:
            recorded = reports.record_report(pack, cards, ReportSource.API, key)
        except reports.ReportError:
            assert cards < 1 or cards > left
            return
        assert 1 <= cards <= left and not recorded.replayed
        self.keys[key] = (index, cards, recorded.report.id)
        self.live[recorded.report.id] = cards

    @precondition(lambda self: self.keys)
    @rule(data=st.data(), change=st.booleans())
    def replay(self, data, change):
        key = data.draw(st.sampled_from(sorted(self.keys)))
        index, cards, report_id = self.keys[key]
        if change:
            with pytest.raises(reports.ReportError):
                reports.record_report(self.packs[index], cards + 1, ReportSource.API, key)
        else:
            recorded = reports.record_report(self.packs[index], cards, ReportSource.API, key)
            assert recorded.replayed and recorded.report.id == report_id

    @precondition(lambda self: self.live)
    @rule(data=st.data())
    def void(self, data):
        report_id = data.draw(st.sampled_from(sorted(self.live)))
        reports.void_report(db.session.get(Report, report_id), self._staff(), "model void")
        del self.live[report_id]

    @precondition(lambda self: self.live)
    @rule(data=st.data(), cards=st.integers(1, 12))
    def correct(self, data, cards):
        report_id = data.draw(st.sampled_from(sorted(self.live)))
        index = self._pack_of(report_id)
        left_without = self.packs[index].size - sum(c for rid, c in self.live.items() if self._pack_of(rid) == index and rid != report_id)
        try:
            new = reports.correct_report(db.session.get(Report, report_id), cards, self._staff(), "model correction")
        except reports.ReportError:
            assert cards > left_without or cards == self.live[report_id]
            return
        del self.live[report_id]
        self.live[new.id] = cards

    def _pack_of(self, report_id: int) -> int:
        pack_id = db.session.scalar(sa.select(Report.pack_id).where(Report.id == report_id))
        return 0 if pack_id == self.packs[0].id else 1

    def _staff(self):
        from app.models import Role, User

        staff = db.session.scalar(sa.select(User).where(User.role == Role.STAFF))
        if staff is None:
            staff = User(email=f"model-{uuid.uuid4().hex[:8]}@x.example", role=Role.STAFF)
            db.session.add(staff)
            db.session.commit()
        return staff

    @invariant()
    def counts_are_exact(self):
        db.session.expire_all()
        for index, pack in enumerate(self.packs):
            rows = db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(Report.cards), 0))
                                     .where(Report.pack_id == pack.id, Report.voided.is_(False)))
            model = sum(c for rid, c in self.live.items() if self._pack_of(rid) == index)
            assert db.session.get(Pack, pack.id).cards_posted == rows == model <= pack.size


def test_stateful_model_of_reports(app):
    run_state_machine_as_test(ReportsModel, settings=settings(max_examples=25, stateful_step_count=20, deadline=None,
                                                                suppress_health_check=list(HealthCheck)))
