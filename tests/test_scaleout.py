"""Scale-out: two gunicorn instances on one PostgreSQL database and one Redis keep every count exact
and share their rate limits (runs bench/scaleout.py; skipped when PostgreSQL or Redis is not there).

It uses its own database (cardtrail_scaleout, created if missing) and Redis DB 14, never the suite's."""

from __future__ import annotations

import os

import pytest

from bench import scaleout

DATABASE_URL = os.environ.get("SCALEOUT_DATABASE_URL", scaleout.DEFAULT_DATABASE_URL)
REDIS_URL = os.environ.get("SCALEOUT_REDIS_URL", scaleout.DEFAULT_REDIS_URL)

pytestmark = pytest.mark.skipif(not scaleout.reachable(DATABASE_URL, REDIS_URL),
                                reason="PostgreSQL or Redis not reachable")


def test_two_instances_share_one_database_and_redis():
    result = scaleout.run_check(DATABASE_URL, REDIS_URL, reports=160, workers=1, threads=6)
    assert result.sent == 160 and result.accepted == 160, result.statuses
    assert result.rows_added == result.accepted
    assert result.counters_added == result.cards_in_rows_added == result.cards_acknowledged
    assert result.replays == result.replays_ok > 0
    assert not any(code >= 500 for code in result.statuses)
    # A pack's per-pack limit used up through instance A is enforced by instance B.
    assert result.limit_accepted_via_a == scaleout.PER_PACK_LIMIT
    assert result.limit_status_via_b == 429
