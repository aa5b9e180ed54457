"""Reproducible tracking data on top of the seeded campaigns: groups in several regions and of several
types, orders in every status, shipments, packs, reports on many days (some voided), mailings in every
status, and a few figures in last year's campaign."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta, timezone

import sqlalchemy as sa

from app.extensions import db
from app.models import (
    Campaign,
    Case,
    GroupType,
    MailingStatus,
    OrderStatus,
    Shipment,
)
from tests import factories as f

PLACES = [("United Kingdom", "Wales"), ("United Kingdom", "Scotland"), ("United Kingdom", "London"), ("Ireland", "Munster")]
STATUSES = list(OrderStatus)


def at(day: date, hour: int = 12) -> datetime:
    return datetime(day.year, day.month, day.day, hour, 30, tzinfo=timezone.utc)


def build(groups: int, seed: int = 7, prefix: str = "") -> dict:
    """Add `groups` groups with orders, packs, reports and mailings. Commits. Returns a summary."""
    rng = random.Random(seed)
    current = db.session.scalar(sa.select(Campaign).where(Campaign.is_current.is_(True)))
    previous = db.session.scalar(sa.select(Campaign).where(Campaign.slug == "w4r-2024"))
    cases = list(db.session.scalars(sa.select(Case).where(Case.campaign_id == current.id).order_by(Case.position)))
    old_cases = list(db.session.scalars(sa.select(Case).where(Case.campaign_id == previous.id)))
    made = {"groups": [], "orders": 0, "reports": 0}
    for i in range(groups):
        country, region = PLACES[i % len(PLACES)]
        group = f.group(name=f"{prefix}Group {seed}-{i}", country=country, region=region,
                        type=list(GroupType)[i % len(GroupType)])
        made["groups"].append(group)
        for o in range(2):
            status = STATUSES[(i * 2 + o) % len(STATUSES)]
            chosen = rng.sample(cases, 2)
            order = f.order(current, group, [(c, rng.randint(1, 3), rng.choice([10, 25])) for c in chosen], status=status)
            submitted = date(2025, 11, 1) + timedelta(days=rng.randint(0, 20))
            order.submitted_at = at(submitted, 9)
            made["orders"] += 1
            if status in (OrderStatus.DISPATCHED, OrderStatus.DELIVERED):
                db.session.add(Shipment(order_id=order.id, carrier="Royal Mail", tracking_number=f"RM{order.id}",
                                        dispatched_at=at(submitted + timedelta(days=3), 15)))
            if status not in (OrderStatus.APPROVED, OrderStatus.PACKED, OrderStatus.DISPATCHED, OrderStatus.DELIVERED):
                continue
            for line in order.lines:
                for _ in range(line.packs):
                    pack = f.pack(line.case, line.pack_size, line=line)
                    if status not in (OrderStatus.DISPATCHED, OrderStatus.DELIVERED) or rng.random() < 0.3:
                        continue
                    posted = rng.randint(1, line.pack_size)
                    report = f.report(pack, posted, voided=rng.random() < 0.15)
                    report.created_at = at(submitted + timedelta(days=rng.randint(4, 35)), rng.randint(8, 21))
                    if not report.voided:
                        pack.cards_posted = posted
                    made["reports"] += 1
        # Last year: one delivered order with a report, for the comparison.
        if i % 2 == 0 and old_cases:
            old = f.order(previous, group, [(old_cases[0], 2, 10)], status=OrderStatus.DELIVERED)
            old.submitted_at = at(date(2024, 11, 5))
            pack = f.pack(old_cases[0], 10, line=old.lines[0], posted=6)
            f.report(pack, 6).created_at = at(date(2024, 11, 20))
    for n, case in enumerate(cases):
        for status in MailingStatus:
            m = f.mailing(case, 100 * (n + 1) + groups, status)
            m.prepared_on = date(2025, 12, 1)
            if status is not MailingStatus.PREPARED:
                m.sent_on = date(2025, 12, 3 + n % 5)
    db.session.commit()
    return made
