"""The report budgets (app/ratelimit.py): per client and per pack, spent in one storage round trip,
all or nothing, shared by the pack page and the API, and shared between instances through Redis."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from app import ratelimit
from app.extensions import db
from app.models import Pack
from tests.reports_support import make_world

REDIS = "redis://127.0.0.1:6379/14"


def _ip(n: int) -> dict:
    return {"REMOTE_ADDR": f"198.51.100.{n}"}


def _form(client, token, n):
    return client.post(f"/p/{token}", data={"cards": "1", "idempotency_key": str(uuid.uuid4())}, environ_base=_ip(n))


def _api(client, token, n):
    return client.post(f"/api/v1/packs/{token}/reports", json={"cards": 1},
                       headers={"Idempotency-Key": str(uuid.uuid4())}, environ_base=_ip(n))


def _posted(app, pack_id):
    with app.app_context():
        return db.session.scalar(sa.select(Pack.cards_posted).where(Pack.id == pack_id))


@pytest.fixture(params=["memory://", REDIS])
def limited(request, app_factory, app):
    if request.param.startswith("redis"):
        import redis

        try:
            redis.Redis.from_url(REDIS, socket_connect_timeout=1).flushdb()
        except redis.ConnectionError:
            pytest.skip("no Redis on 127.0.0.1:6379")
    made = app_factory(RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI=request.param,
                       RATELIMIT_REPORT_PER_IP="2 per minute;4 per hour", RATELIMIT_REPORT_PER_PACK="5 per minute")
    with made.app_context():
        world = make_world(packs=2, size=25)
        packs = [(p.token, p.id) for p in world.packs]
    yield made, packs, request.param
    if request.param.startswith("redis"):
        import redis

        redis.Redis.from_url(REDIS).flushdb()


def test_a_refused_report_spends_nothing_from_its_other_budgets(limited):
    app, packs, _ = limited
    client = app.test_client()
    token, pack_id = packs[0]
    assert [_form(client, token, 1).status_code for _ in range(4)] == [303, 303, 429, 429]
    # The two refusals did not spend the pack's budget: three more clients fit, then the pack is full.
    assert [_form(client, token, n).status_code for n in (2, 3, 3, 4)] == [303, 303, 303, 429]
    assert _posted(app, pack_id) == 5


def test_the_api_and_the_pack_page_share_the_budgets(limited):
    app, packs, _ = limited
    client = app.test_client()
    token, pack_id = packs[0]
    assert _form(client, token, 5).status_code == 303
    assert _api(client, token, 5).status_code == 201
    refused = _api(client, token, 5)  # this client's 2 per minute, spent across both
    assert refused.status_code == 429 and refused.mimetype == "application/problem+json"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    page = _form(client, token, 5)
    assert page.status_code == 429 and 1 <= int(page.headers["Retry-After"]) <= 60
    assert _posted(app, pack_id) == 2


def test_every_window_of_a_budget_counts(app_factory, app):
    made = app_factory(RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://",
                       RATELIMIT_REPORT_PER_IP="10 per minute;3 per hour", RATELIMIT_REPORT_PER_PACK="100 per minute")
    with made.app_context():
        world = make_world(packs=1, size=25)
        token = world.packs[0].token
    client = made.test_client()
    assert [_form(client, token, 9).status_code for _ in range(4)] == [303, 303, 303, 429]
    refused = _form(client, token, 9)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 60  # the hour window


def test_budgets_in_redis_are_shared_between_instances(limited):
    app, packs, storage = limited
    if not storage.startswith("redis"):
        pytest.skip("Redis only")
    import redis

    token, pack_id = packs[1]
    client = app.test_client()
    assert [_form(client, token, n).status_code for n in (10, 11, 12, 13, 14)] == [303] * 5
    keys = redis.Redis.from_url(REDIS).keys("LIMITS:budget/*")
    assert any(b"report-pack" in k for k in keys) and any(b"report-client" in k for k in keys)
    # A second instance with its own connection sees the pack's budget used up.
    second = ratelimit.RedisWindows(REDIS)
    window = (f"{ratelimit.PREFIX}/report-pack/5/60/{'pack:' + token}", 5, 60_000)
    assert second.spend([window]) > 0
    assert _posted(app, pack_id) == 5


def test_memory_windows_forget_idle_clients():
    windows = ratelimit.MemoryWindows()
    assert windows.spend([("a", 1, 10), ("b", 2, 60_000)]) == -1
    assert windows.spend([("a", 1, 10), ("b", 2, 60_000)]) > 0  # "a" is full for 10 ms: nothing spent
    assert len(windows._windows["b"][1]) == 1
    import time

    time.sleep(0.02)
    windows._sweep(time.monotonic() * 1000)
    assert set(windows._windows) == {"b"}


def test_budgets_are_off_when_rate_limits_are(client, app):
    world = make_world(packs=1, size=25)
    token = world.packs[0].token
    assert [_form(client, token, 1).status_code for _ in range(8)] == [303] * 8


def test_pack_url_misses_are_limited_and_real_tokens_never_are(app_factory, app):
    from app.packs import codes

    made = app_factory(RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://", RATELIMIT_PACK_MISSES_PER_IP="3 per minute")
    with made.app_context():
        world = make_world(packs=1, size=25)
        token, code = world.packs[0].token, world.packs[0].code
    client = made.test_client()
    assert client.get(f"/p/{code}", environ_base=_ip(30)).status_code == 303  # a right code costs nothing
    statuses = [client.get(f"/p/{codes.new_token()}", environ_base=_ip(30)).status_code for _ in range(2)]
    statuses.append(_form(client, codes.new_token(), 30).status_code)  # a report to no pack is a miss too
    statuses.append(client.get(f"/p/{codes.new_token()}", environ_base=_ip(30)).status_code)
    assert statuses == [404, 404, 404, 429]
    # Over budget, a typed code is refused before it is looked up: right and wrong codes look alike.
    assert client.get(f"/p/{code}", environ_base=_ip(30)).status_code == 429
    assert client.get(f"/p/{token}", environ_base=_ip(30)).status_code == 200  # real tokens are never limited
    assert _form(client, token, 30).status_code == 303
    assert client.get(f"/p/{codes.new_token()}", environ_base=_ip(31)).status_code == 404  # another client


def test_flask_limiter_429s_carry_retry_after_without_per_response_headers(app_factory, people):
    from flask import request_started

    from app.extensions import limiter
    from tests.conftest import _forget_request_user

    made = app_factory(RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://", API_RATE_LIMIT="2 per minute",
                       RATELIMIT_CODE_LOOKUPS_PER_IP="1 per hour")
    request_started.connect(_forget_request_user, made)
    limiter.reset()
    client = made.test_client()
    ok = client.get("/api/v1/cases")
    assert ok.status_code == 200 and "X-RateLimit-Remaining" not in ok.headers  # no round trip for headers
    client.get("/api/v1/cases")
    refused = client.get("/api/v1/cases")
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "60"
    client.post("/p", data={"code": "7K3Q-9XJ2-Z"}, environ_base=_ip(40))
    page = client.post("/p", data={"code": "7K3Q-9XJ2-Z"}, environ_base=_ip(40))
    assert page.status_code == 429 and page.headers["Retry-After"] == "3600"
    limiter.reset()


def test_a_flask_limiter_default_does_not_apply_to_pack_urls(app_factory, app):
    """Pack URLs are governed by the budgets only: a RATELIMIT_DEFAULT (for other routes) leaves them alone."""
    from app.extensions import limiter
    from app.packs import codes

    made = app_factory(RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://", RATELIMIT_DEFAULT="1 per minute",
                       RATELIMIT_PACK_MISSES_PER_IP="3 per minute")
    with made.app_context():
        token = make_world(packs=1, size=25).packs[0].token
    client = made.test_client()
    assert [client.get(f"/p/{token}", environ_base=_ip(50)).status_code for _ in range(3)] == [200] * 3
    assert [_form(client, token, 50).status_code for _ in range(2)] == [303] * 2
    assert [client.get(f"/p/{codes.new_token()}", environ_base=_ip(50)).status_code for _ in range(4)] == [404] * 3 + [429]
    limiter.reset()
