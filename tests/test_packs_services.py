"""Pack services: creation on approval, pre-printed packs, assignment, reissue, uniqueness under concurrency."""

from __future__ import annotations

import random
import threading

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import AuditEvent, OrderLine, Pack, PrintRun
from app.packs import codes, services
from tests import factories


def setup_order(lines=((4, 25), (2, 50))):
    campaign = factories.campaign()
    cases = [factories.case(campaign) for _ in lines]
    order = factories.order(campaign, factories.group(), lines=[(c, n, s) for c, (n, s) in zip(cases, lines)])
    return order, cases


def all_packs() -> list[Pack]:
    return list(db.session.scalars(sa.select(Pack).order_by(Pack.id)))


def test_create_packs_for_order_makes_one_pack_per_pack_ordered(app):
    order, cases = setup_order()
    assert services.create_packs_for_order(order) == 6
    packs = all_packs()
    assert [(p.case_id, p.size) for p in packs] == [(cases[0].id, 25)] * 4 + [(cases[1].id, 50)] * 2
    assert all(p.order_line_id is not None and p.cards_posted == 0 and p.print_run_id is None for p in packs)
    assert len({p.token for p in packs}) == len({p.code for p in packs}) == 6
    for p in packs:
        assert len(p.token) == 26 and codes.parse_code(p.code) == p.code


def test_create_packs_for_order_only_adds_what_is_missing(app):
    order, _ = setup_order()
    services.create_packs_for_order(order)
    assert services.create_packs_for_order(order) == 0
    order.lines[0].packs = 6
    db.session.commit()
    assert services.create_packs_for_order(order) == 2
    assert len(all_packs()) == 8


def test_create_packs_for_order_leaves_the_commit_to_the_caller(app):
    order, _ = setup_order()
    assert services.create_packs_for_order(order) == 6
    assert len(all_packs()) == 6  # flushed, visible in this transaction
    db.session.rollback()
    assert all_packs() == []


def test_add_missing_packs_is_for_approved_orders_and_audited(app):
    from app.models import OrderStatus

    order, _ = setup_order()
    order.status = OrderStatus.SUBMITTED
    with pytest.raises(services.PackError):
        services.add_missing_packs(order, actor=None)
    order.status = OrderStatus.APPROVED
    assert services.add_missing_packs(order, actor=None) == 6
    db.session.rollback()  # it committed: nothing to roll back
    assert len(all_packs()) == 6
    event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "packs.created")).one()
    assert event.after == {"packs": 6}
    assert services.add_missing_packs(order, actor=None) == 0


def make_print_run(case, cards=1000) -> PrintRun:
    run = PrintRun(case_id=case.id, cards=cards)
    db.session.add(run)
    db.session.flush()
    return run


def test_preprinted_packs_are_unassigned_and_limited_by_the_print_run(app):
    _, (case, _) = setup_order()
    run = make_print_run(case, cards=500)
    assert services.create_preprinted_packs(run, 25, 10) == 10
    packs = all_packs()
    assert all(p.order_line_id is None and p.print_run_id == run.id and p.case_id == case.id for p in packs)
    with pytest.raises(services.PackError, match="250 cards left"):
        services.create_preprinted_packs(run, 50, 6)
    for size, count in ((0, 1), (1001, 1), (25, 0)):
        with pytest.raises(services.PackError):
            services.create_preprinted_packs(run, size, count)
    assert len(all_packs()) == 10


def test_assign_packs_to_an_order_line_then_approval_creates_fewer(app):
    order, (case, _) = setup_order()
    run = make_print_run(case)
    services.create_preprinted_packs(run, 25, 5)
    pre = [p.id for p in all_packs()]
    line = order.lines[0]
    assert services.assign_packs(pre[:3], line) == 3
    assert services.create_packs_for_order(order) == 1 + 2  # line 1 needs 1 more, line 2 needs 2
    on_line = db.session.scalars(sa.select(Pack.id).where(Pack.order_line_id == line.id)).all()
    assert set(pre[:3]) <= set(on_line) and len(on_line) == 4
    event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "packs.assigned")).one()
    assert event.after == {"pack_ids": pre[:3]}


def test_assign_packs_is_all_or_nothing(app):
    order, (case, other_case) = setup_order()
    run = make_print_run(case)
    services.create_preprinted_packs(run, 25, 6)
    services.create_preprinted_packs(make_print_run(other_case), 25, 1)
    services.create_preprinted_packs(run, 10, 1)
    packs = all_packs()
    good, wrong_case, wrong_size = [p.id for p in packs[:6]], packs[6].id, packs[7].id
    line = order.lines[0]
    for ids in ([good[0], wrong_case], [good[0], wrong_size], [good[0], 999_999]):
        with pytest.raises(services.PackError, match="Nothing was assigned"):
            services.assign_packs(ids, line)
    with pytest.raises(services.PackError, match="room for 4"):
        services.assign_packs(good[:5], line)
    with pytest.raises(services.PackError):
        services.assign_packs([], line)
    assert db.session.scalar(sa.select(sa.func.count()).where(Pack.order_line_id.is_not(None))) == 0
    services.assign_packs(good[:2], line)
    with pytest.raises(services.PackError, match="already assigned"):
        services.assign_packs(good[1:3], line)


def test_reissue_changes_token_and_code_keeps_reports_and_audits(app):
    order, _ = setup_order()
    services.create_packs_for_order(order)
    pack = all_packs()[0]
    factories.report(pack, 3)
    pack.cards_posted = 3
    db.session.commit()
    old_token, old_code, pack_id = pack.token, pack.code, pack.id
    services.reissue_pack(pack, actor=None)
    db.session.expire_all()
    assert db.session.scalar(sa.select(Pack).where(Pack.token == old_token)) is None
    assert db.session.scalar(sa.select(Pack).where(Pack.code == old_code)) is None
    pack = db.session.get(Pack, pack_id)
    assert pack.token != old_token and pack.code != old_code and pack.reissued_at is not None
    assert codes.parse_code(pack.code) == pack.code and pack.cards_posted == 3
    assert db.session.scalar(sa.select(sa.func.count()).select_from(sa.table("report"))) == 1
    event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "pack.reissued")).one()
    assert event.object_id == pack_id and event.before == {"code": old_code} and event.after == {"code": pack.code}
    assert old_token not in str(event.before) + str(event.after)


def test_a_code_clash_at_insert_is_retried_in_a_savepoint(app, monkeypatch):
    order, _ = setup_order(lines=((1, 25),))
    services.create_packs_for_order(order)
    existing = all_packs()[0].code
    fresh = codes.new_code()
    queue = iter([existing, fresh])
    monkeypatch.setattr(codes, "new_code", lambda: next(queue))
    monkeypatch.setattr(services, "_taken_codes", lambda candidates: set())  # as if a concurrent writer won the race
    other, _ = setup_order(lines=((1, 10),))
    assert services.create_packs_for_order(other) == 1
    assert sorted(p.code for p in all_packs()) == sorted([existing, fresh])


def small_code_pool(size: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    pool: set[str] = set()
    while len(pool) < size:
        body = "".join(rng.choice(codes.ALPHABET) for _ in range(codes.CODE_BODY_LENGTH))
        check = codes.check_value(body)
        if check < 32:
            pool.add(body + codes.ALPHABET[check])
    return sorted(pool)


def test_tokens_and_codes_stay_unique_when_created_concurrently(app, app_factory, monkeypatch):
    # A tiny code space (2,000 codes for 200 packs, in 50-pack batches) makes clashes between the
    # threads' batches likely: each pair of batches shares a code about as often as not.
    pool = small_code_pool(2000, seed=4)
    lock = threading.Lock()
    rng = random.Random(1)

    def pooled_code() -> str:
        with lock:
            return rng.choice(pool)

    monkeypatch.setattr(codes, "new_code", pooled_code)
    orders = []
    for _ in range(4):
        order, _ = setup_order(lines=((30, 10), (20, 25)))
        orders.append(order.id)
    db.session.commit()
    errors: list[BaseException] = []
    barrier = threading.Barrier(4, timeout=30)
    # Apps are built here, one per thread: create_app binds shared extension objects and is not
    # meant to run in several threads at once.
    worker_apps = [app_factory() for _ in orders]

    def worker(worker_app, order_id: int) -> None:
        try:
            with worker_app.app_context():
                from app.models import Order

                barrier.wait()
                services.create_packs_for_order(db.session.get(Order, order_id))
                db.session.commit()
        except BaseException as error:  # noqa: BLE001 - reported to the main thread
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(wa, oid), daemon=True) for wa, oid in zip(worker_apps, orders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    db.session.expire_all()
    packs = all_packs()
    assert len(packs) == 200
    assert len({p.code for p in packs}) == 200 and len({p.token for p in packs}) == 200
    assert {p.code for p in packs} <= set(pool)
    per_line = dict(db.session.execute(sa.select(Pack.order_line_id, sa.func.count()).group_by(Pack.order_line_id)).all())
    lines = db.session.scalars(sa.select(OrderLine)).all()
    assert all(per_line[line.id] == line.packs for line in lines)


def test_selections_and_group_restriction(app):
    order, (case, _) = setup_order()
    services.create_packs_for_order(order)
    other_order, _ = setup_order(lines=((2, 10),))
    services.create_packs_for_order(other_order)
    run = make_print_run(case)
    services.create_preprinted_packs(run, 25, 3)
    ids = [p.id for p in all_packs()]
    S = services.Selection
    assert services.count_selection(S(kind="order", order_id=order.id)) == 6
    assert services.count_selection(S(kind="print_run", print_run_id=run.id)) == 3
    assert services.count_selection(S(kind="packs", pack_ids=(ids[0], ids[7]))) == 2
    assert services.count_selection(S(kind="range", first_id=ids[2], last_id=ids[9])) == 8
    group_id = order.group_id
    assert services.count_selection(S(kind="range", first_id=ids[0], last_id=ids[-1]), group_id) == 6
    assert services.count_selection(S(kind="print_run", print_run_id=run.id), group_id) == 0
    assert services.count_selection(S(kind="order", order_id=other_order.id), group_id) == 0
    with pytest.raises(services.PackError):
        services.count_selection(S(kind="range", first_id=10, last_id=5))
    with pytest.raises(services.PackError):
        services.count_selection(S(kind="range", first_id=1, last_id=1 + services.MAX_SELECTION))
    assert S.from_dict(S(kind="packs", pack_ids=(1, 2)).as_dict()) == S(kind="packs", pack_ids=(1, 2))
