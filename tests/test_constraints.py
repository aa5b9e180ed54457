"""The database itself refuses data that breaks an invariant, whatever code path writes it."""

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import Campaign, Group, Pack, Report, ReportSource, Role, User
from tests import factories as f


@pytest.fixture
def a_case(app):
    return f.case(f.campaign())


def _refused(statement) -> None:
    with pytest.raises(IntegrityError):
        db.session.execute(statement)
        db.session.flush()
    db.session.rollback()


def test_posted_count_above_pack_size_is_refused_by_the_database(a_case):
    pack = f.pack(a_case, size=25)
    db.session.commit()
    _refused(sa.update(Pack).where(Pack.id == pack.id).values(cards_posted=26))
    assert db.session.scalar(sa.select(Pack.cards_posted).where(Pack.id == pack.id)) == 0


def test_negative_posted_count_is_refused(a_case):
    pack = f.pack(a_case, size=10)
    db.session.commit()
    _refused(sa.update(Pack).where(Pack.id == pack.id).values(cards_posted=-1))


def test_conditional_increment_stops_at_the_size(a_case):
    pack = f.pack(a_case, size=10)
    db.session.commit()
    bump = (
        sa.update(Pack)
        .where(Pack.id == pack.id, Pack.cards_posted + 4 <= Pack.size)
        .values(cards_posted=Pack.cards_posted + 4)
    )
    rowcounts = [db.session.execute(bump).rowcount for _ in range(3)]
    db.session.commit()
    assert rowcounts == [1, 1, 0]
    assert db.session.scalar(sa.select(Pack.cards_posted).where(Pack.id == pack.id)) == 8


def test_idempotency_keys_are_unique_and_not_null(a_case):
    pack = f.pack(a_case)
    db.session.commit()
    row = dict(pack_id=pack.id, case_id=a_case.id, cards=1, source=ReportSource.PAGE)
    db.session.execute(sa.insert(Report), [dict(row, idempotency_key="k1")])
    db.session.commit()
    _refused(sa.insert(Report).values(**row, idempotency_key="k1"))
    _refused(sa.insert(Report).values(**row, idempotency_key=None))


@pytest.mark.parametrize("cards", [0, -3, 1001])
def test_report_cards_range(a_case, cards):
    pack = f.pack(a_case)
    db.session.commit()
    _refused(sa.insert(Report).values(pack_id=pack.id, case_id=a_case.id, cards=cards, source="page", idempotency_key="x"))


def test_foreign_keys_are_enforced(a_case):
    _refused(sa.insert(Pack).values(case_id=999_999, size=10, token="T" * 26, code="C" * 9))


def test_unknown_enum_value_is_refused(app):
    group = f.group()
    db.session.commit()
    _refused(sa.text("UPDATE \"group\" SET type = 'circus' WHERE id = :id").bindparams(id=group.id))


def test_coordinator_needs_a_group_and_staff_has_none(app):
    group = f.group()
    db.session.commit()
    _refused(sa.insert(User).values(email="c@x.org", role=Role.COORDINATOR, group_id=None))
    _refused(sa.insert(User).values(email="s@x.org", role=Role.STAFF, group_id=group.id))


def test_only_one_current_campaign(app):
    f.campaign(is_current=True)
    db.session.commit()
    with pytest.raises(IntegrityError):
        f.campaign(is_current=True)
    db.session.rollback()
    f.campaign(is_current=False)
    f.campaign(is_current=False)
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Campaign)) == 3


def test_campaign_dates_ordered(app):
    from datetime import date

    _refused(sa.insert(Campaign).values(slug="bad", name="Bad", starts_on=date(2025, 12, 1), ends_on=date(2025, 11, 1)))


def test_group_names_unique(app):
    f.group(name="Same")
    db.session.commit()
    _refused(sa.insert(Group).values(name="Same", type="local", status="approved", country="X", contact_name="A", contact_email="a@b.c"))
