"""Personal data of groups: export it, erase it (keeping every total), and apply retention.

Personal data lives in Group (contact, address), User (email, name) and Order (delivery address,
notes) and in the outbox. Erasing replaces it with neutral values; orders, packs, reports and
mailings stay, so every published figure is unchanged. Audit events hold ids, not personal data.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Optional

import sqlalchemy as sa

from . import audit
from .extensions import db
from .models import Group, GroupStatus, Order, OrderLine, OutboxEmail, Pack, Shipment, User, utcnow


class GdprError(ValueError):
    pass


def _group(group_id: int) -> Group:
    group = db.session.get(Group, group_id)
    if group is None:
        raise GdprError(f"No group with id {group_id}.")
    return group


def export_group(group_id: int) -> dict[str, Any]:
    """Everything the app holds about a group and its coordinators, as JSON-ready data."""
    group = _group(group_id)
    users = list(db.session.scalars(sa.select(User).where(User.group_id == group.id)))
    orders = list(db.session.scalars(sa.select(Order).where(Order.group_id == group.id).order_by(Order.id)))
    emails = list(db.session.scalars(sa.select(OutboxEmail).where(OutboxEmail.to.in_([u.email for u in users] + [group.contact_email]))))
    packs = db.session.execute(
        sa.select(Pack.code, Pack.size, Pack.cards_posted, OrderLine.order_id)
        .join(OrderLine, OrderLine.id == Pack.order_line_id).join(Order, Order.id == OrderLine.order_id)
        .where(Order.group_id == group.id).order_by(Pack.id)
    ).all()
    return {
        "group": {c: _plain(getattr(group, c)) for c in (
            "id", "name", "type", "status", "country", "region", "contact_name", "contact_email", "contact_phone",
            "address_line1", "address_line2", "city", "postcode", "expected_writers", "created_at")},
        "users": [{c: _plain(getattr(u, c)) for c in ("id", "email", "name", "role", "is_active", "created_at", "last_login_at")} for u in users],
        "orders": [{
            **{c: _plain(getattr(o, c)) for c in ("id", "status", "needed_by", "delivery_name", "delivery_line1", "delivery_line2",
                                                   "delivery_city", "delivery_postcode", "delivery_country", "notes", "staff_comment",
                                                   "created_at", "submitted_at")},
            "lines": [{"case": line.case.name, "pack_size": line.pack_size, "packs": line.packs} for line in o.lines],
            "shipments": [{"carrier": s.carrier, "tracking_number": s.tracking_number, "dispatched_at": _plain(s.dispatched_at)} for s in o.shipments],
        } for o in orders],
        "packs": [{"code": code, "size": size, "cards_posted": posted, "order_id": oid} for code, size, posted, oid in packs],
        "emails": [{"to": e.to, "subject": e.subject, "body": e.body, "created_at": _plain(e.created_at)} for e in emails],
    }


def _plain(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "value"):
        return value.value
    return value


def erase_group(group_id: int, actor: Optional[User] = None) -> Group:
    """Anonymise a group's personal data; totals stay. The group is disabled. Commits."""
    group = _group(group_id)
    if group.anonymised_at is not None:
        return group
    users = list(db.session.scalars(sa.select(User).where(User.group_id == group.id)))
    addresses = [u.email for u in users] + [group.contact_email]
    db.session.execute(sa.delete(OutboxEmail).where(OutboxEmail.to.in_(addresses)))
    group.name = f"Erased group #{group.id}"
    group.contact_name = group.contact_phone = group.address_line1 = group.address_line2 = group.postcode = ""
    group.contact_email = f"erased-group-{group.id}@invalid"
    group.city = ""
    group.status = GroupStatus.DISABLED
    group.anonymised_at = utcnow()
    for user in users:
        user.email = f"erased-user-{user.id}@invalid"
        user.name = ""
        user.password_hash = None
        user.is_active = False
        user.session_version += 1
    db.session.execute(
        sa.update(Order).where(Order.group_id == group.id).values(
            delivery_name="", delivery_line1="", delivery_line2="", delivery_city="", delivery_postcode="", notes="")
    )
    db.session.execute(
        sa.update(Shipment).where(Shipment.order_id.in_(sa.select(Order.id).where(Order.group_id == group.id)))
        .values(tracking_number="", tracking_url="")
    )
    audit.record("group.erased", group, actor=actor)
    db.session.commit()
    return group


def retention(months: int, outbox_days: int, dry_run: bool = False) -> dict[str, int]:
    """Erase groups with no order and no coordinator login for `months`; drop old outbox mail. Commits."""
    if months < 6:
        raise GdprError("Keep groups at least 6 months.")
    cutoff = utcnow() - timedelta(days=30 * months)
    last_order = sa.select(sa.func.max(Order.created_at)).where(Order.group_id == Group.id).scalar_subquery()
    last_login = sa.select(sa.func.max(User.last_login_at)).where(User.group_id == Group.id).scalar_subquery()
    stale = list(db.session.scalars(
        sa.select(Group.id).where(
            Group.anonymised_at.is_(None), Group.created_at < cutoff,
            sa.or_(last_order.is_(None), last_order < cutoff), sa.or_(last_login.is_(None), last_login < cutoff),
        )
    ))
    old_mail = sa.delete(OutboxEmail).where(OutboxEmail.created_at < utcnow() - timedelta(days=outbox_days))
    if dry_run:
        count = db.session.scalar(sa.select(sa.func.count()).select_from(OutboxEmail).where(OutboxEmail.created_at < utcnow() - timedelta(days=outbox_days)))
        return {"groups": len(stale), "emails": count or 0}
    for group_id in stale:
        erase_group(group_id)
    emails = db.session.execute(old_mail).rowcount
    db.session.commit()
    return {"groups": len(stale), "emails": emails}
