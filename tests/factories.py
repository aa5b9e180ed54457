"""Small factories for test data; each returns a flushed model instance."""

from __future__ import annotations

import itertools
import uuid
from datetime import date

from app.extensions import db
from app.models import (
    Campaign,
    Case,
    Group,
    GroupStatus,
    GroupType,
    Mailing,
    MailingContent,
    MailingDestination,
    MailingStatus,
    Order,
    OrderLine,
    OrderStatus,
    Pack,
    Report,
    ReportSource,
)
from app.packs.codes import new_code, new_token

_seq = itertools.count(1)


def campaign(**kw) -> Campaign:
    n = next(_seq)
    obj = Campaign(
        slug=kw.pop("slug", f"campaign-{n}"),
        name=kw.pop("name", f"Campaign {n}"),
        starts_on=kw.pop("starts_on", date(2025, 11, 1)),
        ends_on=kw.pop("ends_on", date(2025, 12, 31)),
        **kw,
    )
    db.session.add(obj)
    db.session.flush()
    return obj


def case(campaign_obj: Campaign, **kw) -> Case:
    n = next(_seq)
    defaults = dict(
        slug=f"case-{n}", name=f"Case {n}", country="Testland", summary="A summary.", story="A story.",
        ask="Free them.", target=1000,
    )
    defaults.update(kw)
    obj = Case(campaign_id=campaign_obj.id, **defaults)
    db.session.add(obj)
    db.session.flush()
    return obj


def group(**kw) -> Group:
    n = next(_seq)
    defaults = dict(
        name=f"Group {n}", type=GroupType.LOCAL, status=GroupStatus.APPROVED, country="United Kingdom",
        region="Wales", contact_name="Ann Contact", contact_email=f"g{n}@example.org",
        address_line1="1 Secret Street", city="Cardiff", postcode="CF1 1AA",
    )
    defaults.update(kw)
    obj = Group(**defaults)
    db.session.add(obj)
    db.session.flush()
    return obj


def order(campaign_obj: Campaign, group_obj: Group, lines=(), status=OrderStatus.APPROVED) -> Order:
    obj = Order(campaign_id=campaign_obj.id, group_id=group_obj.id, status=status)
    db.session.add(obj)
    db.session.flush()
    for case_obj, packs, size in lines:
        db.session.add(OrderLine(order_id=obj.id, case_id=case_obj.id, packs=packs, requested_packs=packs, pack_size=size))
    db.session.flush()
    return obj


def pack(case_obj: Case, size: int = 25, line: OrderLine | None = None, posted: int = 0) -> Pack:
    obj = Pack(case_id=case_obj.id, size=size, token=new_token(), code=new_code(), cards_posted=posted,
               order_line_id=line.id if line else None)
    db.session.add(obj)
    db.session.flush()
    return obj


def report(pack_obj: Pack, cards: int, voided: bool = False) -> Report:
    obj = Report(pack_id=pack_obj.id, case_id=pack_obj.case_id, cards=cards, source=ReportSource.PAGE,
                 idempotency_key=str(uuid.uuid4()), voided=voided)
    db.session.add(obj)
    db.session.flush()
    return obj


def mailing(case_obj: Case, quantity: int, status=MailingStatus.SENT) -> Mailing:
    obj = Mailing(case_id=case_obj.id, quantity=quantity, content=MailingContent.SOLIDARITY,
                  destination_type=MailingDestination.FAMILY, destination="The family", status=status)
    db.session.add(obj)
    db.session.flush()
    return obj
