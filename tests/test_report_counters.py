"""The counters (report_day, group_report_day, order_line.cards_reported of 0008; group_case_cards of
0009) always equal the aggregates recomputed from the reports, packs, order lines and orders: after
reports, voids, corrections, a pre-printed pack joining an order, orders placed, changed, approved,
held, rejected, cancelled, dispatched and delivered, direct ORM and bulk writes, the demo's bulk load
and the migrations' backfills. And the figures read from them equal the figures summed from the reports."""

from __future__ import annotations

import importlib.util
import uuid
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from app import demo
from app.extensions import db
from app.models import (
    DISPATCHED_STATUSES,
    ORDERED_STATUSES,
    Case,
    GroupCaseCards,
    GroupReportDay,
    Order,
    OrderLine,
    OrderStatus,
    Pack,
    PrintRun,
    Report,
    ReportDay,
    ReportSource,
    Role,
)
from app.orders import services as orders
from app.packs import services as packs
from app.reports import services as reports
from app.stock import services as stock
from app.tracking import counters, stats
from app.tracking.filters import Filters
from tests import factories as f
from tests import tracking_data
from tests.reports_support import make_user, make_world


def _day(column):
    return stats.utc_day(column)


def recomputed() -> tuple[dict, dict, dict, dict]:
    """The four counters, computed from scratch from reports, packs, order lines and orders (zero rows
    left out)."""
    day = _day(Report.created_at)
    per_day = {
        (case_id, d if isinstance(d, date) else date.fromisoformat(d)): int(cards)
        for case_id, d, cards in db.session.execute(
            sa.select(Report.case_id, day, sa.func.sum(Report.cards)).where(Report.voided.is_(False))
            .group_by(Report.case_id, day)
        )
    }
    per_group_day = {
        (group_id, case_id, d if isinstance(d, date) else date.fromisoformat(d)): int(cards)
        for group_id, case_id, d, cards in db.session.execute(
            sa.select(Order.group_id, Report.case_id, day, sa.func.sum(Report.cards))
            .join(Pack, Pack.id == Report.pack_id).join(OrderLine, OrderLine.id == Pack.order_line_id)
            .join(Order, Order.id == OrderLine.order_id).where(Report.voided.is_(False))
            .group_by(Order.group_id, Report.case_id, day)
        )
    }
    per_line = {
        line_id: int(cards)
        for line_id, cards in db.session.execute(
            sa.select(OrderLine.id, sa.func.coalesce(sa.func.sum(Pack.cards_posted), 0))
            .outerjoin(Pack, Pack.order_line_id == OrderLine.id).group_by(OrderLine.id)
        )
    }
    accepted, cards = Order.status.in_(ORDERED_STATUSES), OrderLine.packs * OrderLine.pack_size
    per_pair = {
        (group_id, case_id): tuple(int(n) for n in figures)
        for group_id, case_id, *figures in db.session.execute(
            sa.select(Order.group_id, OrderLine.case_id, sa.func.sum(sa.case((accepted, 1), else_=0)),
                      sa.func.sum(sa.case((accepted, cards), else_=0)),
                      sa.func.sum(sa.case((Order.status.in_(DISPATCHED_STATUSES), cards), else_=0)),
                      sa.func.sum(OrderLine.cards_reported))
            .join(Order, Order.id == OrderLine.order_id).group_by(Order.group_id, OrderLine.case_id)
        )
    }
    return per_day, per_group_day, {k: v for k, v in per_line.items() if v}, {k: v for k, v in per_pair.items() if any(v)}


def stored() -> tuple[dict, dict, dict, dict]:
    db.session.expire_all()
    per_day = {(r.case_id, r.day): r.cards for r in db.session.scalars(sa.select(ReportDay)) if r.cards}
    per_group_day = {(r.group_id, r.case_id, r.day): r.cards for r in db.session.scalars(sa.select(GroupReportDay)) if r.cards}
    per_line = {i: n for i, n in db.session.execute(sa.select(OrderLine.id, OrderLine.cards_reported)) if n}
    per_pair = {
        (r.group_id, r.case_id): (r.accepted_lines, r.ordered, r.dispatched, r.reported)
        for r in db.session.scalars(sa.select(GroupCaseCards))
        if (r.accepted_lines, r.ordered, r.dispatched, r.reported) != (0, 0, 0, 0)
    }
    return per_day, per_group_day, per_line, per_pair


def assert_counters_match(every: bool = True) -> None:
    expected = recomputed()
    assert stored() == expected
    if every:
        assert all(expected), "the scenario should exercise every counter"


def _migration(name: str):
    """A migration module (its backfill statements), loaded from migrations/versions."""
    path = Path(__file__).resolve().parent.parent / "migrations" / "versions" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"migration_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def staff(app):
    return make_user(Role.STAFF, "staff@example.org")


def test_counters_follow_reports_voids_and_corrections(staff):
    world = make_world(packs=3, size=25)
    first, second, third = world.packs
    a = reports.record_report(first, 10, ReportSource.PAGE, "k1").report
    reports.record_report(first, 5, ReportSource.SCAN, "k2")
    b = reports.record_report(second, 25, ReportSource.API, "k3").report
    with pytest.raises(reports.TooManyCards):  # refused: nothing may move
        reports.record_report(second, 1, ReportSource.PAGE, "k4")
    reports.record_report(first, 10, ReportSource.PAGE, "k1")  # a replay adds nothing
    assert_counters_match()

    reports.void_report(db.session.get(Report, a.id), staff, "Typed twice")
    with pytest.raises(reports.ReportError):  # already voided: nothing moves
        reports.void_report(db.session.get(Report, a.id), staff, "Again")
    assert_counters_match()

    reports.correct_report(db.session.get(Report, b.id), 20, staff, "It was 20")
    reports.record_report(third, 7, ReportSource.PAGE, "k5")
    assert_counters_match()
    line_id = db.session.get(Pack, first.id).order_line_id
    assert db.session.get(OrderLine, line_id).cards_reported == 5 + 20 + 7


def test_counters_move_days_and_groups(staff, seeded):
    campaign = db.session.scalar(sa.select(Case)).campaign
    case = db.session.scalar(sa.select(Case).where(Case.campaign_id == campaign.id))
    group = f.group(name="Swansea Writers")
    order = f.order(campaign, group, [(case, 2, 10)], status=OrderStatus.DISPATCHED)
    run = PrintRun(case_id=case.id, cards=100)
    db.session.add(run)
    db.session.commit()
    # A pre-printed pack, reported before it joins an order: no group yet, then its reports follow it.
    packs.create_preprinted_packs(run, 10, 1, actor=staff)
    loose = db.session.scalar(sa.select(Pack).where(Pack.print_run_id == run.id))
    reports.record_report(loose, 4, ReportSource.SCAN, str(uuid.uuid4()))
    assert_counters_match(every=False)
    assert stored()[0] and not stored()[1]
    packs.assign_packs([loose.id], db.session.get(OrderLine, order.lines[0].id), actor=staff)
    assert_counters_match()
    assert db.session.scalar(sa.select(GroupReportDay.cards).where(GroupReportDay.group_id == group.id)) == 4

    # A report moved to another day (a direct write, as data fixes do) leaves one day for the other.
    report = db.session.scalar(sa.select(Report).where(Report.pack_id == loose.id))
    report.created_at = datetime(2025, 11, 20, 23, 59, tzinfo=timezone.utc)
    db.session.commit()
    assert_counters_match()
    assert db.session.scalar(sa.select(ReportDay.cards).where(ReportDay.day == date(2025, 11, 20))) == 4


def test_counters_follow_direct_writes_and_the_figures_agree(seeded):
    tracking_data.build(groups=10)  # ORM writes: reports inserted, some voided, dates and counters set after
    assert_counters_match()
    scope = stats.resolve(Filters())
    day_range = Filters(date_from=date(2025, 11, 10), date_to=date(2025, 11, 30))
    for filters in (Filters(), day_range, Filters(country="United Kingdom"), Filters(region="Wales", date_from=date(2025, 11, 15))):
        figures = stats.case_totals(scope.case_ids, filters)
        for case_id, totals in figures.items():
            conditions = [Report.case_id == case_id, Report.voided.is_(False)]
            query = sa.select(sa.func.coalesce(sa.func.sum(Report.cards), 0))
            if filters.by_group:
                query = (query.join(Pack, Pack.id == Report.pack_id).join(OrderLine, OrderLine.id == Pack.order_line_id)
                         .join(Order, Order.id == OrderLine.order_id).join(stats.Group, stats.Group.id == Order.group_id))
                conditions += stats._group_conditions(filters)
            if filters.date_from:
                conditions.append(Report.created_at >= filters.since())
            if filters.date_to:
                conditions.append(Report.created_at < filters.until())
            assert totals.reported == db.session.scalar(query.where(*conditions)), (filters, case_id)


def test_cancelling_an_order_takes_its_packs_off_the_line(staff):
    world = make_world(packs=2, size=10, status=OrderStatus.APPROVED, dispatched_days_ago=None)
    line_id = world.packs[0].order_line_id
    db.session.execute(sa.delete(Pack).where(Pack.order_line_id == line_id))
    db.session.commit()
    assert db.session.get(OrderLine, line_id).cards_reported == 0
    assert stored() == recomputed()


def test_demo_bulk_load_and_backfill_give_the_same_counters(app, seeded):
    demo.generate("small", seed=5)
    assert_counters_match()
    before = stored()
    dialect = db.engine.dialect.name
    for statement in counters.backfill(dialect) + _migration("0009_group_case_cards").BACKFILL:
        db.session.execute(sa.text(statement))
    db.session.commit()
    assert stored() == before


def _draft(quantities: dict) -> orders.OrderDraft:
    return orders.OrderDraft(quantities=quantities, needed_by=None, delivery_name="Alice", delivery_line1="1 Road",
                             delivery_line2="", delivery_city="Cardiff", delivery_postcode="", delivery_country="UK", notes="")


def test_group_case_cards_follow_orders_through_their_life(people):
    a = db.session.scalar(sa.select(Case).where(Case.slug == "sonia-dahmani"))
    b = db.session.scalar(sa.select(Case).where(Case.slug == "sai-zaw-thaike"))
    stock.record_print_run(a, 2000, "Printer", "", people.staff)
    stock.record_print_run(b, 2000, "Printer", "", people.staff)

    # A draft (lines at zero), changed (a line changed, one removed, one added), then submitted.
    order = orders.save_order(people.group_a, people.coord_a, _draft({(a.id, 25): 4, (b.id, 50): 2}), submit=False)
    assert_counters_match(every=False)
    order = orders.save_order(people.group_a, people.coord_a, _draft({(a.id, 25): 3, (a.id, 10): 2, (b.id, 10): 1}),
                              submit=True, order=order)
    orders.hold(order, people.staff, "Which school?")
    orders.release_hold(order, people.staff)
    assert_counters_match(every=False)
    assert not stored()[3]  # nothing accepted yet

    # Approved with a quantity changed, packed, dispatched: ordered, then dispatched.
    line = next(l for l in order.lines if l.case_id == a.id and l.pack_size == 25)
    orders.approve(order, people.staff, packs={line.id: 5})
    assert_counters_match(every=False)
    assert stored()[3][(people.group_a.id, a.id)] == (2, 5 * 25 + 2 * 10, 0, 0)
    orders.mark_packed(order, people.staff)
    orders.dispatch(order, people.staff, "Royal Mail", "RM1")
    assert stored()[3][(people.group_a.id, b.id)] == (1, 10, 10, 0)

    # Reports, a void and a correction reach it through the lines' cards_reported.
    pack_a, pack_b = (db.session.scalar(sa.select(Pack).join(OrderLine).where(OrderLine.order_id == order.id, OrderLine.case_id == c.id)
                                        .order_by(Pack.id).limit(1)) for c in (a, b))
    first = reports.record_report(pack_a, 20, ReportSource.PAGE, "r1").report
    second = reports.record_report(pack_b, 7, ReportSource.SCAN, "r2").report
    reports.void_report(db.session.get(Report, first.id), people.staff, "Typed twice")
    reports.correct_report(db.session.get(Report, second.id), 9, people.staff, "It was 9")
    reports.record_report(pack_a, 12, ReportSource.API, "r3")
    orders.mark_delivered(order, people.staff)
    assert_counters_match()
    assert stored()[3][(people.group_a.id, b.id)] == (1, 10, 10, 9)

    # Another group's order rejected, and one approved then cancelled (its packs go): nothing stays.
    rejected = orders.save_order(people.group_b, people.coord_b, _draft({(a.id, 25): 2}), submit=True)
    orders.reject(rejected, people.staff, "Duplicate")
    cancelled = orders.save_order(people.group_b, people.coord_b, _draft({(b.id, 25): 2}), submit=True)
    orders.approve(cancelled, people.staff)
    assert stored()[3][(people.group_b.id, b.id)] == (1, 50, 0, 0)
    orders.cancel(cancelled, people.staff, "Not needed")
    assert_counters_match()
    assert (people.group_b.id, b.id) not in stored()[3]


def test_group_case_cards_follow_direct_and_bulk_writes(people):
    a = db.session.scalar(sa.select(Case).where(Case.slug == "sonia-dahmani"))
    b = db.session.scalar(sa.select(Case).where(Case.slug == "sai-zaw-thaike"))
    campaign = a.campaign
    first = f.order(campaign, people.group_a, [(a, 2, 25), (b, 1, 10)], status=OrderStatus.SUBMITTED)
    second = f.order(campaign, people.group_a, [(a, 3, 10)], status=OrderStatus.SUBMITTED)
    third = f.order(campaign, people.group_b, [(b, 4, 25)], status=OrderStatus.DISPATCHED)
    for pack_line in (first.lines[0], third.lines[0]):
        f.report(f.pack(pack_line.case, pack_line.pack_size, line=pack_line, posted=5), 5)
    db.session.commit()
    assert_counters_match(every=False)

    # One statement changes many orders (one grouped upsert on PostgreSQL), then lines move and change.
    db.session.execute(sa.update(Order).where(Order.status == OrderStatus.SUBMITTED).values(status=OrderStatus.DISPATCHED))
    db.session.commit()
    assert_counters_match(every=False)
    line = db.session.get(OrderLine, second.lines[0].id)
    line.case_id, line.packs = b.id, 6
    db.session.execute(sa.update(OrderLine).where(OrderLine.order_id == first.id).values(packs=OrderLine.packs + 1))
    db.session.commit()
    assert_counters_match(every=False)

    # A pack moves between lines of different groups (orders never change group); an order is deleted
    # with its lines.
    pack = db.session.scalar(sa.select(Pack).where(Pack.order_line_id == third.lines[0].id))
    pack.order_line_id = second.lines[0].id
    db.session.commit()
    assert_counters_match(every=False)
    draft = f.order(campaign, people.group_b, [(a, 2, 25), (b, 2, 25)], status=OrderStatus.APPROVED)
    db.session.commit()
    assert stored()[3][(people.group_b.id, a.id)] == (1, 50, 0, 0)
    db.session.delete(db.session.get(Order, draft.id))  # the ORM deletes the lines, then the order
    db.session.commit()
    assert_counters_match()
    assert (people.group_b.id, a.id) not in stored()[3]
    other = f.order(campaign, people.group_b, [(a, 1, 10)], status=OrderStatus.DELIVERED)
    db.session.commit()
    db.session.execute(sa.delete(Order).where(Order.id == other.id))  # the database cascades to the lines
    db.session.commit()
    assert_counters_match()
    assert (people.group_b.id, a.id) not in stored()[3]


def test_migration_0009_goes_down_and_up_and_backfills_existing_orders(app, seeded):
    tracking_data.build(groups=6)
    before = stored()
    assert before[3]
    db.session.remove()
    downgrade(revision="0008_report_counters")
    assert "group_case_cards" not in sa.inspect(db.engine).get_table_names()
    upgrade()
    assert stored() == before == recomputed()  # the backfill
    db.session.execute(sa.update(Order).where(Order.status == OrderStatus.APPROVED).values(status=OrderStatus.DELIVERED))
    db.session.commit()
    assert_counters_match()  # and the triggers are back
