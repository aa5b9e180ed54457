"""The chase list: packs whose parcel left more than N days ago and that nobody has reported yet.

"No report" means no report that still counts: voiding a pack's only report puts it back on the list.
The pack's counter follows its reports atomically, so `cards_posted = 0` is that test, without a join.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Optional

import sqlalchemy as sa
from flask import current_app
from flask_sqlalchemy.pagination import Pagination

from .. import audit, mail
from ..extensions import db
from ..models import (
    DISPATCHED_STATUSES,
    Case,
    Group,
    Order,
    OrderLine,
    Pack,
    Reminder,
    Shipment,
    User,
    utcnow,
)
from ..packs.codes import format_code
from ..pagination import paginate
from ..public.services import current_campaign

MAX_DAYS = 365
# A second reminder to the same group within this time is refused (a double click, two staff at once).
REMINDER_COOLDOWN = timedelta(hours=1)


class ChaseError(ValueError):
    """A reminder was refused; the message is for people."""


@dataclass
class ChaseGroup:
    """One group on the chase list: its unreported packs and when it was last reminded."""

    group: Group
    packs: list[Pack] = field(default_factory=list)
    first_dispatched: Optional[datetime] = None
    last_reminder: Optional[datetime] = None

    @property
    def cards(self) -> int:
        return sum(p.size for p in self.packs)

    def by_case(self) -> list[tuple[Case, list[Pack]]]:
        cases: dict[int, tuple[Case, list[Pack]]] = {}
        for pack in self.packs:
            cases.setdefault(pack.case_id, (pack.case, []))[1].append(pack)
        return sorted(cases.values(), key=lambda item: (item[0].position, item[0].id))


def cutoff_for(days: int, now: Optional[datetime] = None) -> datetime:
    return (now or utcnow()) - timedelta(days=days)


def clamp_days(days: Optional[int], default: int) -> int:
    """The number of days to wait, within 0..365 (nonsense gives the default)."""
    if days is None or days < 0 or days > MAX_DAYS:
        return default
    return days


def _unreported(cutoff: datetime, group_id: Optional[int] = None):
    """(pack id, group id, first dispatch) of every unreported pack in parcels dispatched before `cutoff`."""
    first_dispatch = (
        sa.select(Shipment.order_id, sa.func.min(Shipment.dispatched_at).label("dispatched_at"))
        .group_by(Shipment.order_id)
        .subquery()
    )
    query = (
        sa.select(Pack.id.label("pack_id"), Order.group_id.label("group_id"), first_dispatch.c.dispatched_at)
        .join(OrderLine, OrderLine.id == Pack.order_line_id)
        .join(Order, Order.id == OrderLine.order_id)
        .join(first_dispatch, first_dispatch.c.order_id == Order.id)
        .where(
            Order.status.in_(DISPATCHED_STATUSES),
            first_dispatch.c.dispatched_at <= cutoff,
            Pack.cards_posted == 0,
        )
    )
    campaign = current_campaign()
    if campaign is not None:
        query = query.where(Order.campaign_id == campaign.id)
    if group_id is not None:
        query = query.where(Order.group_id == group_id)
    return query.subquery()


def chase_list(days: int, page: int = 1, now: Optional[datetime] = None) -> tuple[Pagination, list[ChaseGroup], dict]:
    """A page of groups with unreported packs (longest waiting first), their packs, and overall totals."""
    unreported = _unreported(cutoff_for(days, now))
    per_group = (
        sa.select(
            unreported.c.group_id,
            sa.func.count().label("packs"),
            sa.func.min(unreported.c.dispatched_at).label("first_dispatched"),
        )
        .group_by(unreported.c.group_id)
        .subquery()
    )
    groups_query = (
        sa.select(Group)
        .join(per_group, per_group.c.group_id == Group.id)
        .order_by(per_group.c.first_dispatched, Group.name)
    )
    pagination = paginate(groups_query, page)
    totals_row = db.session.execute(
        sa.select(sa.func.count(), sa.func.count(sa.distinct(unreported.c.group_id)))
    ).one()
    totals = {"packs": int(totals_row[0] or 0), "groups": int(totals_row[1] or 0)}

    groups = list(pagination.items)
    if not groups:
        return pagination, [], totals
    ids = [g.id for g in groups]
    rows: dict[int, ChaseGroup] = {g.id: ChaseGroup(group=g) for g in groups}
    packs = db.session.execute(
        sa.select(Pack, unreported.c.group_id, unreported.c.dispatched_at)
        .join(unreported, unreported.c.pack_id == Pack.id)
        .where(unreported.c.group_id.in_(ids))
        .order_by(Pack.case_id, Pack.code)
    ).all()
    for pack, group_id, dispatched_at in packs:
        row = rows[group_id]
        row.packs.append(pack)
        if row.first_dispatched is None or dispatched_at < row.first_dispatched:
            row.first_dispatched = dispatched_at
    for group_id, last in last_reminders(ids).items():
        rows[group_id].last_reminder = last
    return pagination, [rows[i] for i in ids], totals


def last_reminders(group_ids: list[int]) -> dict[int, datetime]:
    if not group_ids:
        return {}
    return dict(
        db.session.execute(
            sa.select(Reminder.group_id, sa.func.max(Reminder.sent_at))
            .where(Reminder.group_id.in_(group_ids))
            .group_by(Reminder.group_id)
        ).all()
    )


def chase_group(group: Group, days: int, now: Optional[datetime] = None) -> ChaseGroup:
    """One group's unreported packs (for its row and its reminder)."""
    unreported = _unreported(cutoff_for(days, now), group_id=group.id)
    row = ChaseGroup(group=group)
    for pack, dispatched_at in db.session.execute(
        sa.select(Pack, unreported.c.dispatched_at)
        .join(unreported, unreported.c.pack_id == Pack.id)
        .order_by(Pack.case_id, Pack.code)
    ).all():
        row.packs.append(pack)
        if row.first_dispatched is None or dispatched_at < row.first_dispatched:
            row.first_dispatched = dispatched_at
    row.last_reminder = last_reminders([group.id]).get(group.id)
    return row


def recipients(group: Group) -> list[tuple[str, str]]:
    """(name, email) of the group's coordinators who can log in; else the group's contact."""
    people = [(u.name or group.contact_name, u.email) for u in group.users if u.is_active and u.password_hash]
    if not people and group.contact_email and group.anonymised_at is None:
        people = [(group.contact_name, group.contact_email)]
    return people


def send_reminder(group: Group, actor: User, days: int, now: Optional[datetime] = None) -> Reminder:
    """Email the group's coordinators the list of their unreported packs; record and audit it. Commits."""
    now = now or utcnow()
    # Serialise reminders per group: a row lock on PostgreSQL; SQLite writers already queue (BEGIN IMMEDIATE).
    db.session.execute(sa.select(Group.id).where(Group.id == group.id).with_for_update())
    row = chase_group(group, days, now)
    if not row.packs:
        db.session.rollback()
        raise ChaseError(f"{group.name} has no unreported packs dispatched more than {days} days ago.")
    if row.last_reminder is not None and now - row.last_reminder < REMINDER_COOLDOWN:
        db.session.rollback()
        raise ChaseError(f"{group.name} was reminded at {row.last_reminder:%H:%M} UTC: wait an hour before sending another.")
    people = recipients(group)
    if not people:
        db.session.rollback()
        raise ChaseError(f"{group.name} has no coordinator or contact email to send a reminder to.")
    by_case = [(case.name, [(format_code(p.code), p.size) for p in packs]) for case, packs in row.by_case()]
    for name, email in people:
        mail.queue(
            email,
            f"{len(row.packs)} card pack{'s' if len(row.packs) != 1 else ''} waiting to be reported",
            "chase_reminder",
            name=name, group=group, packs=len(row.packs), cards=row.cards, by_case=by_case, days=days,
            # `/p` (manual code entry) is a stable public URL (PRODUCT.md); spelt out so that reminders can
            # also be sent outside a request (a scheduled job), where url_for has no host to build on.
            entry_url=current_app.config["BASE_URL"] + "/p",
        )
    reminder = Reminder(group_id=group.id, sent_at=now, sent_by_id=actor.id, packs=len(row.packs), recipients=len(people))
    db.session.add(reminder)
    db.session.flush()
    audit.record(
        "group.chase_reminder", group, actor=actor,
        after={"packs": len(row.packs), "recipients": len(people), "days": days},
    )
    db.session.commit()
    return reminder


def get_group(group_id: int) -> Optional[Group]:
    return db.session.get(Group, group_id)

