"""The report service: exact counts under retries, over-reporting and concurrent writers; void and correct."""

from __future__ import annotations

import threading
import uuid

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import AuditEvent, Pack, Report, ReportSource, Role
from app.reports import services
from tests import factories as f
from tests.reports_support import make_user, make_world


def _rows(pack_id: int) -> list[Report]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(Report).where(Report.pack_id == pack_id).order_by(Report.id)))


def _posted(pack_id: int) -> int:
    db.session.expire_all()
    return db.session.scalar(sa.select(Pack.cards_posted).where(Pack.id == pack_id))


def _counting_sum(pack_id: int) -> int:
    return sum(r.cards for r in _rows(pack_id) if not r.voided)


@pytest.fixture
def pack(app):
    world = make_world(packs=1, size=10)
    return world.packs[0]


@pytest.fixture
def staff(app):
    return make_user(Role.STAFF, "staff@example.org")


def key() -> str:
    return str(uuid.uuid4())


# --- One writer -------------------------------------------------------------------------------------

def test_record_inserts_report_and_bumps_counter(pack):
    recorded = services.record_report(pack, 3, ReportSource.PAGE, "key-1")
    assert not recorded.replayed
    rows = _rows(pack.id)
    assert [(r.cards, r.case_id, r.source, r.idempotency_key) for r in rows] == [(3, pack.case_id, ReportSource.PAGE, "key-1")]
    assert _posted(pack.id) == 3


def test_replay_of_a_key_returns_the_first_report_and_adds_nothing(pack):
    first = services.record_report(pack, 4, ReportSource.PAGE, "same-key")
    again = services.record_report(pack, 4, ReportSource.PAGE, "same-key")
    third = services.record_report(pack, 4, ReportSource.API, "same-key")
    assert again.replayed and third.replayed
    assert again.report.id == first.report.id == third.report.id
    assert len(_rows(pack.id)) == 1
    assert _posted(pack.id) == 4


def test_same_key_with_another_number_is_refused(pack):
    services.record_report(pack, 2, ReportSource.PAGE, "k")
    with pytest.raises(services.KeyConflict, match="already sent with 2 cards"):
        services.record_report(pack, 5, ReportSource.PAGE, "k")
    assert _posted(pack.id) == 2 and len(_rows(pack.id)) == 1


def test_same_key_for_another_pack_is_refused(app):
    world = make_world(packs=2, size=10)
    services.record_report(world.packs[0], 2, ReportSource.PAGE, "k")
    with pytest.raises(services.KeyConflict):
        services.record_report(world.packs[1], 2, ReportSource.PAGE, "k")
    assert _posted(world.packs[1].id) == 0


def test_replay_still_answers_once_the_pack_is_full(pack):
    first = services.record_report(pack, 10, ReportSource.PAGE, "fills-it")
    assert services.record_report(pack, 10, ReportSource.PAGE, "fills-it").report.id == first.report.id


@pytest.mark.parametrize("posted, cards, left", [(0, 11, 10), (7, 4, 3), (9, 2, 1), (10, 1, 0)])
def test_over_reporting_is_refused_and_nothing_saved(pack, posted, cards, left):
    if posted:
        services.record_report(pack, posted, ReportSource.PAGE, key())
    with pytest.raises(services.TooManyCards) as refused:
        services.record_report(pack, cards, ReportSource.PAGE, "too-many")
    assert refused.value.cards_left == left
    assert (f"Only {left} card" in str(refused.value)) if left else ("already been reported" in str(refused.value))
    assert _posted(pack.id) == posted
    assert services.find_report_by_key("too-many") is None
    assert len(_rows(pack.id)) == (1 if posted else 0)


def test_a_refused_key_can_be_used_again_with_a_number_that_fits(pack):
    with pytest.raises(services.TooManyCards):
        services.record_report(pack, 11, ReportSource.PAGE, "retry-me")
    assert services.record_report(pack, 10, ReportSource.PAGE, "retry-me").report.cards == 10


@pytest.mark.parametrize("cards", [0, -1, 1001, True, "3", 2.5])
def test_invalid_numbers_are_refused(pack, cards):
    with pytest.raises(services.ReportError):
        services.record_report(pack, cards, ReportSource.PAGE, key())
    assert _posted(pack.id) == 0


@pytest.mark.parametrize("bad_key", ["", "   ", "x" * 101])
def test_invalid_keys_are_refused(pack, bad_key):
    with pytest.raises(services.ReportError):
        services.record_report(pack, 1, ReportSource.PAGE, bad_key)


def test_actor_is_recorded(pack, staff):
    recorded = services.record_report(pack, 1, ReportSource.SCAN, key(), actor=staff)
    assert recorded.report.created_by_id == staff.id


def test_lookup_by_token_is_case_insensitive_and_reissued_tokens_fail(pack):
    assert services.find_pack_by_token(pack.token.lower()).id == pack.id
    assert services.find_pack_by_token(" " + pack.token + " ").id == pack.id
    assert services.find_pack_by_token(pack.token[:-1]) is None
    old = pack.token
    pack.token = "0" * 26  # reissued: a new token; the old one stops working
    db.session.commit()
    assert services.find_pack_by_token(old) is None


# --- Races --------------------------------------------------------------------------------------------

def _run_threads(app, count: int, work) -> list:
    """Run `work(i)` in `count` threads, each in its own app context (own session and connection),
    released together by a barrier. Returns results (or exceptions) in thread order."""
    # End the test's own transaction first: outside a request every SQLite transaction is a writer
    # (BEGIN IMMEDIATE), and an idle one would hold the lock the threads need.
    db.session.rollback()
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(i: int) -> None:
        with app.app_context():
            barrier.wait()
            try:
                results[i] = work(i)
            except Exception as error:  # collected and asserted on by the test
                results[i] = error
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def test_simultaneous_replays_of_one_key_count_once(app, pack):
    pack_id = pack.id

    def work(_i):
        recorded = services.record_report(db.session.get(Pack, pack_id), 3, ReportSource.PAGE, "burst-key")
        return recorded.report.id, recorded.replayed

    results = _run_threads(app, 8, work)
    assert all(isinstance(r, tuple) for r in results), results
    assert len({report_id for report_id, _ in results}) == 1
    assert sorted(replayed for _, replayed in results) == [False] + [True] * 7
    assert len(_rows(pack_id)) == 1 and _posted(pack_id) == 3


def test_losing_the_insert_race_answers_from_the_winner(app, pack, monkeypatch):
    """Two requests with one key pass the look-up together; the unique key lets one in, the other
    rolls back (its counter bump with it) and answers from the winner's row."""
    winner = services.record_report(pack, 2, ReportSource.PAGE, "raced")
    real_lookup = services.find_report_by_key
    calls = []

    def blind_first_lookup(k):
        calls.append(k)
        return None if len(calls) == 1 else real_lookup(k)

    monkeypatch.setattr(services, "find_report_by_key", blind_first_lookup)
    loser = services.record_report(db.session.get(Pack, pack.id), 2, ReportSource.PAGE, "raced")
    assert len(calls) == 2  # the blind look-up, then the one after the unique violation
    assert loser.replayed and loser.report.id == winner.report.id
    assert len(_rows(pack.id)) == 1 and _posted(pack.id) == 2

    with pytest.raises(services.KeyConflict):  # the loser of a race with another number is refused too
        calls.clear()
        services.record_report(db.session.get(Pack, pack.id), 5, ReportSource.PAGE, "raced")
    assert _posted(pack.id) == 2


@pytest.mark.parametrize("size, per_thread, cards", [(50, 10, 1), (100, 5, 2), (37, 6, 3)])
def test_concurrent_writers_never_lose_or_overshoot(app, size, per_thread, cards):
    """8 threads × `per_thread` reports on one pack: rows == counter == what fits, nothing lost."""
    campaign = f.campaign()
    pack_id = f.pack(f.case(campaign), size=size).id
    db.session.commit()

    def work(_i):
        accepted = refused = 0
        for _ in range(per_thread):
            try:
                services.record_report(db.session.get(Pack, pack_id), cards, ReportSource.PAGE, key())
                accepted += 1
            except services.TooManyCards:
                refused += 1
        return accepted, refused

    results = _run_threads(app, 8, work)
    assert all(isinstance(r, tuple) for r in results), results
    accepted = sum(a for a, _ in results)
    attempted = 8 * per_thread
    expected = min(attempted, size // cards)
    assert accepted == expected
    assert sum(r for _, r in results) == attempted - expected
    rows = _rows(pack_id)
    assert len(rows) == expected
    assert sum(r.cards for r in rows) == _posted(pack_id) == expected * cards <= size


# --- Void and correct ----------------------------------------------------------------------------------

def test_void_takes_the_cards_off_and_is_audited(pack, staff):
    report = services.record_report(pack, 4, ReportSource.PAGE, key()).report
    services.void_report(report, staff, "  counted twice by mistake ")
    db.session.expire_all()
    assert report.voided and report.void_reason == "counted twice by mistake" and report.voided_by_id == staff.id
    assert report.voided_at is not None
    assert _posted(pack.id) == 0
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "report.voided"))
    assert (event.object_type, event.object_id, event.actor_id) == ("report", report.id, staff.id)
    assert event.comment == "counted twice by mistake" and event.after["voided"] is True


def test_void_needs_a_reason_and_happens_once(pack, staff):
    report = services.record_report(pack, 4, ReportSource.PAGE, key()).report
    with pytest.raises(services.ReportError, match="reason"):
        services.void_report(report, staff, "  ")
    services.void_report(report, staff, "wrong pack")
    with pytest.raises(services.ReportError, match="already voided"):
        services.void_report(db.session.get(Report, report.id), staff, "again")
    assert _posted(pack.id) == 0


def test_simultaneous_voids_take_the_cards_off_once(app, pack, staff):
    services.record_report(pack, 2, ReportSource.PAGE, key())
    report_id = services.record_report(pack, 5, ReportSource.PAGE, key()).report.id
    staff_id = staff.id

    def work(_i):
        from app.models import User

        return services.void_report(db.session.get(Report, report_id), db.session.get(User, staff_id), "dup")

    results = _run_threads(app, 6, work)
    assert sum(isinstance(r, Report) for r in results) == 1
    assert all(isinstance(r, (Report, services.ReportError)) for r in results)
    assert _posted(pack.id) == 2 == _counting_sum(pack.id)


def test_correct_replaces_the_number_atomically(pack, staff):
    original = services.record_report(pack, 6, ReportSource.PAGE, key()).report
    correction = services.correct_report(original, 8, staff, "slip said 8")
    db.session.expire_all()
    assert original.voided and original.void_reason == "slip said 8"
    assert (correction.cards, correction.corrects_id, correction.source) == (8, original.id, ReportSource.STAFF)
    assert _posted(pack.id) == 8 == _counting_sum(pack.id)
    actions = set(db.session.scalars(sa.select(AuditEvent.action)))
    assert {"report.corrected"} <= actions
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "report.corrected"))
    assert event.before == {"cards": 6} and event.after == {"cards": 8, "correction_id": correction.id}


def test_correction_that_does_not_fit_changes_nothing(pack, staff):
    services.record_report(pack, 5, ReportSource.PAGE, key())
    original = services.record_report(pack, 3, ReportSource.PAGE, key()).report
    with pytest.raises(services.TooManyCards) as refused:
        services.correct_report(original, 6, staff, "typo")  # 5 + 6 > 10
    assert refused.value.cards_left == 5
    db.session.expire_all()
    assert not db.session.get(Report, original.id).voided
    assert _posted(pack.id) == 8 == _counting_sum(pack.id)
    assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id))) == 1  # only the staff user's creation


def test_correct_refuses_the_same_number_and_a_voided_report(pack, staff):
    report = services.record_report(pack, 3, ReportSource.PAGE, key()).report
    with pytest.raises(services.ReportError, match="nothing to correct"):
        services.correct_report(report, 3, staff, "why")
    services.void_report(report, staff, "gone")
    with pytest.raises(services.ReportError, match="already voided"):
        services.correct_report(db.session.get(Report, report.id), 2, staff, "why")
    assert _posted(pack.id) == 0


def test_totals_for_reads_pack_and_case(app):
    world = make_world(packs=2, size=10)
    services.record_report(world.packs[0], 3, ReportSource.PAGE, key())
    services.record_report(world.packs[1], 4, ReportSource.PAGE, key())
    totals = services.totals_for(world.packs[0])
    assert (totals.pack_posted, totals.pack_size, totals.pack_left, totals.case_reported) == (3, 10, 7, 7)
