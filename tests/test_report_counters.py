"""The report counters (report_day, group_report_day, order_line.cards_reported) always equal the
aggregates recomputed from the reports and packs: after reports, voids, corrections, a pre-printed pack
joining an order, order cancellation, direct ORM writes, the demo's bulk load and the migration's
backfill. And the figures read from them equal the figures summed from the reports."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timezone

import pytest
import sqlalchemy as sa

from app import demo
from app.extensions import db
from app.models import (
    Case,
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
from app.packs import services as packs
from app.reports import services as reports
from app.tracking import counters, stats
from app.tracking.filters import Filters
from tests import factories as f
from tests import tracking_data
from tests.reports_support import make_user, make_world


def _day(column):
    return stats.utc_day(column)


def recomputed() -> tuple[dict, dict, dict]:
    """The three counters, computed from scratch from reports and packs (zero rows left out)."""
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
    return per_day, per_group_day, {k: v for k, v in per_line.items() if v}


def stored() -> tuple[dict, dict, dict]:
    db.session.expire_all()
    per_day = {(r.case_id, r.day): r.cards for r in db.session.scalars(sa.select(ReportDay)) if r.cards}
    per_group_day = {(r.group_id, r.case_id, r.day): r.cards for r in db.session.scalars(sa.select(GroupReportDay)) if r.cards}
    per_line = {i: n for i, n in db.session.execute(sa.select(OrderLine.id, OrderLine.cards_reported)) if n}
    return per_day, per_group_day, per_line


def assert_counters_match(every: bool = True) -> None:
    expected = recomputed()
    assert stored() == expected
    if every:
        assert all(expected), "the scenario should exercise every counter"


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
    for statement in counters.backfill(dialect):
        db.session.execute(sa.text(statement))
    db.session.commit()
    assert stored() == before
