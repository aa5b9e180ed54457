"""Orders: coordinators draft and submit them; staff move them through the pipeline.

draft → submitted → approved → packed → dispatched → delivered, plus on hold, rejected and cancelled.
Each transition is one conditional UPDATE (`… WHERE status = :from`), so two people acting at once
cannot both move an order; every transition writes an audit event and emails the coordinators.
Approving reserves card stock with atomic conditional UPDATEs; cancelling an approved order releases it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from typing import Iterable, Optional

import sqlalchemy as sa
from flask_sqlalchemy.pagination import Pagination

from .. import audit, mail
from ..extensions import db
from ..models import (
    DISPATCHED_STATUSES,
    ORDERED_STATUSES,
    Campaign,
    Case,
    CaseStatus,
    Group,
    Order,
    OrderLine,
    OrderStatus,
    Pack,
    PackSize,
    Report,
    Role,
    Shipment,
    User,
    utcnow,
)
from ..pagination import paginate
from ..public.services import current_campaign
from ..stock import services as stock
from ..webhooks import services as webhooks
from ..tracking import stats

S = OrderStatus
STAFF, COORDINATOR = Role.STAFF, Role.COORDINATOR
MAX_PACKS_PER_LINE = 200

# (from, to) -> who may do it.
TRANSITIONS: dict[tuple[OrderStatus, OrderStatus], frozenset[Role]] = {
    (S.DRAFT, S.SUBMITTED): frozenset({COORDINATOR}),
    (S.DRAFT, S.CANCELLED): frozenset({COORDINATOR}),
    (S.SUBMITTED, S.APPROVED): frozenset({STAFF}),
    (S.SUBMITTED, S.ON_HOLD): frozenset({STAFF}),
    (S.SUBMITTED, S.REJECTED): frozenset({STAFF}),
    (S.SUBMITTED, S.CANCELLED): frozenset({COORDINATOR, STAFF}),
    (S.ON_HOLD, S.SUBMITTED): frozenset({STAFF}),
    (S.ON_HOLD, S.APPROVED): frozenset({STAFF}),
    (S.ON_HOLD, S.REJECTED): frozenset({STAFF}),
    (S.ON_HOLD, S.CANCELLED): frozenset({COORDINATOR, STAFF}),
    (S.APPROVED, S.PACKED): frozenset({STAFF}),
    (S.APPROVED, S.CANCELLED): frozenset({STAFF}),
    (S.PACKED, S.DISPATCHED): frozenset({STAFF}),
    (S.DISPATCHED, S.DELIVERED): frozenset({STAFF, COORDINATOR}),
}
RESERVED_STATUSES = frozenset(ORDERED_STATUSES)
EDITABLE_STATUSES = frozenset({S.DRAFT})


class OrderError(ValueError):
    """An order action was refused; the message is for people."""


class InvalidTransition(OrderError):
    """The order's current status does not allow this (or it changed meanwhile)."""


class TransitionForbidden(InvalidTransition):
    """The status allows it, but not for this user's role."""


class StockShortage(OrderError):
    def __init__(self, shortages: list[tuple[str, int, int]]):
        self.shortages = shortages
        parts = [f"{name}: {needed:,} cards needed, {available:,} available" for name, needed, available in shortages]
        super().__init__("Not enough stock — " + "; ".join(parts) + ". Tick “approve beyond stock” to approve anyway.")


def allowed_targets(order: Order, user: User) -> list[OrderStatus]:
    """The statuses this user may move this order to now."""
    return [to for (frm, to), roles in TRANSITIONS.items() if frm is order.status and user.role in roles]


# --- Reading ------------------------------------------------------------------------------------

def order_for(user: User, order_id: int) -> Optional[Order]:
    """The order if this user may see it: staff see all; a coordinator only their group's (else None → 404)."""
    order = db.session.get(Order, order_id)
    if order is None or (not user.is_staff and order.group_id != user.group_id):
        return None
    return order


ORDER_SORTS = {
    "created": Order.created_at,
    "submitted": Order.submitted_at,
    "needed": Order.needed_by,
    "group": Group.name,
    "status": Order.status,
}


@dataclass
class QueueFilters:
    status: str = ""
    country: str = ""
    region: str = ""
    case_id: Optional[int] = None
    q: str = ""
    sort: str = "submitted"
    page: int = 1


def queue(filters: QueueFilters, campaign: Optional[Campaign] = None) -> Pagination:
    """The staff order queue: filtered, searched by group, sorted, paginated."""
    campaign = campaign or current_campaign()
    query = sa.select(Order).join(Group, Group.id == Order.group_id).where(Order.campaign_id == campaign.id)
    query = _apply_filters(query, filters, with_status=True)
    column = ORDER_SORTS.get(filters.sort.lstrip("-"), Order.submitted_at)
    direction = column.desc() if filters.sort.startswith("-") else column.asc()
    query = query.order_by(direction.nulls_last(), Order.id)
    return paginate(query, filters.page)


def _apply_filters(query, filters: QueueFilters, with_status: bool):
    if with_status and filters.status in {s.value for s in S}:
        query = query.where(Order.status == S(filters.status))
    elif with_status:
        query = query.where(Order.status != S.DRAFT)  # drafts are the coordinators' business
    if filters.country:
        query = query.where(Group.country == filters.country)
    if filters.region:
        query = query.where(Group.region == filters.region)
    if filters.case_id:
        query = query.where(Order.lines.any(OrderLine.case_id == filters.case_id))
    if filters.q:
        query = query.where(sa.func.lower(Group.name).like(f"%{filters.q.strip().lower()}%"))
    return query


def queue_counts(filters: QueueFilters, campaign: Optional[Campaign] = None) -> dict[OrderStatus, int]:
    """Orders per status under the same filters (except status)."""
    campaign = campaign or current_campaign()
    query = (
        sa.select(Order.status, sa.func.count(Order.id))
        .join(Group, Group.id == Order.group_id)
        .where(Order.campaign_id == campaign.id)
        .group_by(Order.status)
    )
    counts = {s: 0 for s in S}
    counts.update(dict(db.session.execute(_apply_filters(query, filters, with_status=False)).all()))
    return counts


def regions() -> list[tuple[str, str]]:
    """Every (country, region) that has groups, for the queue's filters."""
    query = sa.select(Group.country, Group.region).distinct().order_by(Group.country, Group.region)
    return [(country, region) for country, region in db.session.execute(query)]


def order_history(order: Order):
    from ..models import AuditEvent

    return list(
        db.session.scalars(
            sa.select(AuditEvent)
            .where(AuditEvent.object_type == "order", AuditEvent.object_id == order.id)
            .order_by(AuditEvent.id)
        )
    )


def group_home(group: Group) -> dict:
    """What a coordinator's home shows: their orders and per-case totals of their group."""
    campaign = current_campaign()
    orders = list(
        db.session.scalars(
            sa.select(Order).where(Order.group_id == group.id).order_by(Order.created_at.desc()).limit(100)
        )
    )
    # The same definitions as the public pages and the dashboard (app.tracking.stats).
    totals = stats.group_case_totals(group)
    return {"orders": orders, "case_totals": totals, "campaign": campaign}


# --- The order form -----------------------------------------------------------------------------

@dataclass
class OrderOptions:
    """What a coordinator can order now: the current campaign's active cases and pack sizes."""

    campaign: Campaign
    cases: list[Case]
    sizes: list[int]

    def field_name(self, case_id: int, size: int) -> str:
        return f"qty_{case_id}_{size}"


def order_options() -> Optional[OrderOptions]:
    campaign = current_campaign()
    if campaign is None:
        return None
    cases = list(
        db.session.scalars(
            sa.select(Case).where(Case.campaign_id == campaign.id, Case.status == CaseStatus.ACTIVE).order_by(Case.position, Case.id)
        )
    )
    sizes = list(
        db.session.scalars(
            sa.select(PackSize.cards).where(PackSize.campaign_id == campaign.id, PackSize.active.is_(True)).order_by(PackSize.cards)
        )
    )
    return OrderOptions(campaign, cases, sizes)


def suggested_packs(group: Group, options: OrderOptions) -> dict[int, tuple[int, int]]:
    """A suggestion per case: (packs, size) covering one card per expected writer, or last campaign's
    reported cards per case when that was more."""
    per_case = group.expected_writers
    previous = db.session.scalar(
        sa.select(Campaign).where(Campaign.starts_on < options.campaign.starts_on).order_by(Campaign.starts_on.desc()).limit(1)
    )
    if previous is not None:
        row = db.session.execute(
            sa.select(sa.func.coalesce(sa.func.sum(Pack.cards_posted), 0), sa.func.count(sa.distinct(Pack.case_id)))
            .join(OrderLine, OrderLine.id == Pack.order_line_id)
            .join(Order, Order.id == OrderLine.order_id)
            .where(Order.group_id == group.id, Order.campaign_id == previous.id)
        ).one()
        if row[1]:
            per_case = max(per_case, math.ceil(row[0] / row[1]))
    if not options.sizes or per_case <= 0:
        return {}
    size = min(options.sizes, key=lambda s: (math.ceil(per_case / s) * s - per_case, -s))
    return {case.id: (math.ceil(per_case / size), size) for case in options.cases}


@dataclass
class OrderDraft:
    """Validated input for an order (from the form); quantities keyed by (case id, pack size)."""

    quantities: dict[tuple[int, int], int]
    needed_by: Optional[date]
    delivery_name: str
    delivery_line1: str
    delivery_line2: str
    delivery_city: str
    delivery_postcode: str
    delivery_country: str
    notes: str


@dataclass
class Summary:
    """Live totals for the order form."""

    lines: list[tuple[Case, int, int, int]] = field(default_factory=list)  # case, packs, size, cards
    packs: int = 0
    cards: int = 0
    short_of_stock: dict[int, int] = field(default_factory=dict)  # case id -> available cards


def summarise(options: OrderOptions, quantities: dict[tuple[int, int], int]) -> Summary:
    summary = Summary()
    by_case: dict[int, int] = {}
    for case in options.cases:
        for size in options.sizes:
            packs = quantities.get((case.id, size), 0)
            if packs > 0:
                summary.lines.append((case, packs, size, packs * size))
                summary.packs += packs
                summary.cards += packs * size
                by_case[case.id] = by_case.get(case.id, 0) + packs * size
    for case in options.cases:
        if by_case.get(case.id, 0) > case.stock_available:
            summary.short_of_stock[case.id] = max(0, case.stock_available)
    return summary


def save_order(group: Group, user: User, draft: OrderDraft, submit: bool, order: Optional[Order] = None) -> Order:
    """Create or update a draft order for the user's group, and submit it if asked. Commits."""
    options = order_options()
    if options is None:
        raise OrderError("There is no campaign to order for yet.")
    if order is not None and order.status not in EDITABLE_STATUSES:
        raise OrderError("Only a draft order can be changed.")
    valid_keys = {(c.id, s) for c in options.cases for s in options.sizes}
    lines = {key: packs for key, packs in draft.quantities.items() if packs > 0}
    if set(lines) - valid_keys:
        raise OrderError("An order line names a case or pack size that cannot be ordered.")
    if submit and not lines:
        raise OrderError("Add at least one pack before submitting.")
    if order is None:
        order = Order(campaign_id=options.campaign.id, group_id=group.id, created_by_id=user.id, status=S.DRAFT)
        db.session.add(order)
    for name in ("needed_by", "delivery_name", "delivery_line1", "delivery_line2", "delivery_city",
                 "delivery_postcode", "delivery_country", "notes"):
        setattr(order, name, getattr(draft, name))
    existing = {(line.case_id, line.pack_size): line for line in order.lines}
    for key, line in existing.items():
        if key not in lines:
            order.lines.remove(line)
    db.session.flush()  # deletes first, so a line removed and added back keeps the unique key free
    for (case_id, size), packs in sorted(lines.items()):
        line = existing.get((case_id, size))
        if line is None:
            order.lines.append(OrderLine(case_id=case_id, pack_size=size, packs=packs, requested_packs=packs))
        else:
            line.packs = line.requested_packs = packs
    db.session.flush()
    audit.record("order.saved", order, actor=user, after={"lines": {f"{c}x{s}": p for (c, s), p in lines.items()}})
    if submit:
        _move(order, S.SUBMITTED, user)
        order.submitted_at = utcnow()
        _notify_staff_of_submission(order)
    db.session.commit()
    return order


def _notify_staff_of_submission(order: Order) -> None:
    for staff in db.session.scalars(sa.select(User).where(User.role == Role.STAFF, User.is_active.is_(True))):
        mail.queue(staff.email, f"New order from {order.group.name}", "order_submitted_staff", order=order)


# --- Transitions ----------------------------------------------------------------------------------

def _move(order: Order, to: OrderStatus, actor: User, comment: str = "") -> OrderStatus:
    """Check and apply one transition atomically; audit it; email the coordinators (caller commits)."""
    frm = order.status
    roles = TRANSITIONS.get((frm, to))
    if roles is None:
        raise InvalidTransition(f"An order that is {frm.label.lower()} cannot become {to.label.lower()}.")
    if actor.role not in roles:
        raise TransitionForbidden(f"Only {' or '.join(sorted(r.value for r in roles))} can make an order {to.label.lower()}.")
    result = db.session.execute(
        sa.update(Order).where(Order.id == order.id, Order.status == frm).values(status=to, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.rollback()
        raise InvalidTransition("Someone else changed this order meanwhile: reload the page and try again.")
    order.status = to
    audit.record("order.status_changed", order, actor=actor, before={"status": frm.value}, after={"status": to.value}, comment=comment)
    webhooks.emit("order.status_changed", {"order_id": order.id, "group_id": order.group_id, "from": frm.value, "to": to.value})
    for user in _coordinators(order.group):
        mail.queue(user.email, f"Your card order #{order.id}: {to.label.lower()}", "order_status", order=order, status=to, comment=comment, user=user)
    return frm


def _coordinators(group: Group) -> Iterable[User]:
    return [u for u in group.users if u.is_active and u.password_hash]


def submit(order: Order, actor: User) -> None:
    """A coordinator submits a draft. Commits."""
    if not order.lines or order.total_packs == 0:
        raise OrderError("Add at least one pack before submitting.")
    _move(order, S.SUBMITTED, actor)
    order.submitted_at = utcnow()
    _notify_staff_of_submission(order)
    db.session.commit()


def approve(order: Order, actor: User, packs: Optional[dict[int, int]] = None, comment: str = "", override_stock: bool = False) -> None:
    """Approve, optionally changing quantities per line (line id → packs); reserves stock and creates
    the packs in the same transaction. Commits, or changes nothing and raises."""
    from ..packs import services as pack_services

    before_lines = {line.id: line.packs for line in order.lines}
    if packs:
        for line in order.lines:
            if line.id in packs:
                value = packs[line.id]
                if not 0 <= value <= MAX_PACKS_PER_LINE:
                    raise OrderError(f"Packs per line must be between 0 and {MAX_PACKS_PER_LINE}.")
                line.packs = value
    if sum(line.packs for line in order.lines) == 0:
        db.session.rollback()
        raise OrderError("An approved order needs at least one pack: reject it instead.")
    try:
        _move(order, S.APPROVED, actor, comment)
        shortages = stock.reserve_for_order(order, actor, override=override_stock)
        if shortages:
            raise StockShortage(shortages)
        if comment:
            order.staff_comment = comment
        changed = {lid: (before_lines[lid], line.packs) for lid, line in ((l.id, l) for l in order.lines) if before_lines[lid] != line.packs}
        if changed:
            audit.record("order.quantities_changed", order, actor=actor,
                         before={str(k): v[0] for k, v in changed.items()}, after={str(k): v[1] for k, v in changed.items()}, comment=comment)
        pack_services.create_packs_for_order(order)
        db.session.commit()
    except OrderError:
        db.session.rollback()
        raise


def hold(order: Order, actor: User, comment: str = "") -> None:
    """Put an order on hold (with a comment for the coordinator). Commits."""
    _move(order, S.ON_HOLD, actor, comment)
    if comment:
        order.staff_comment = comment
    db.session.commit()


def release_hold(order: Order, actor: User) -> None:
    """Back to the queue as submitted. Commits."""
    _move(order, S.SUBMITTED, actor)
    db.session.commit()


def reject(order: Order, actor: User, reason: str) -> None:
    """Reject with a reason shown to the coordinator. Commits."""
    if not reason.strip():
        raise OrderError("Give the coordinator a reason for rejecting the order.")
    _move(order, S.REJECTED, actor, reason)
    order.staff_comment = reason
    db.session.commit()


def cancel(order: Order, actor: User, reason: str = "") -> None:
    """Cancel; an approved order gives its stock back and loses its packs (if none was reported). Commits."""
    was = order.status
    if was is S.APPROVED:
        reported = db.session.scalar(
            sa.select(sa.func.count(Report.id)).join(Pack, Pack.id == Report.pack_id)
            .join(OrderLine, OrderLine.id == Pack.order_line_id).where(OrderLine.order_id == order.id)
        )
        if reported:
            raise OrderError("Cards from this order's packs were already reported: it cannot be cancelled.")
    _move(order, S.CANCELLED, actor, reason)
    if was in RESERVED_STATUSES:
        stock.release_for_order(order, actor)
        line_ids = [line.id for line in order.lines]
        db.session.execute(sa.delete(Pack).where(Pack.order_line_id.in_(line_ids)))
    db.session.commit()


def mark_packed(order: Order, actor: User) -> None:
    """All packs are in the parcel. Commits."""
    _move(order, S.PACKED, actor)
    db.session.commit()


def dispatch(order: Order, actor: User, carrier: str, tracking_number: str, tracking_url: str = "") -> Shipment:
    """Record the parcel (carrier, tracking) and mark the order dispatched. Commits."""
    if not carrier.strip():
        raise OrderError("Enter the carrier.")
    shipment = Shipment(order_id=order.id, carrier=carrier.strip(), tracking_number=tracking_number.strip(),
                        tracking_url=tracking_url.strip(), created_by_id=actor.id)
    db.session.add(shipment)
    _move(order, S.DISPATCHED, actor, f"{carrier} {tracking_number}".strip())
    db.session.commit()
    return shipment


def mark_delivered(order: Order, actor: User) -> None:
    """Staff set, or the coordinator confirms, that the parcel arrived. Commits."""
    _move(order, S.DELIVERED, actor)
    now = utcnow()
    for shipment in order.shipments:
        if shipment.delivered_at is None:
            shipment.delivered_at = now
            shipment.delivery_confirmed_by_id = actor.id
    db.session.commit()


def bulk_approve(order_ids: list[int], actor: User) -> tuple[list[Order], list[tuple[Order, str]]]:
    """Approve several orders as asked (no quantity changes, no stock override); each on its own."""
    done, failed = [], []
    for order_id in order_ids:
        order = db.session.get(Order, order_id)
        if order is None:
            continue
        try:
            approve(order, actor)
        except OrderError as error:
            failed.append((order, str(error)))
        else:
            done.append(order)
    return done, failed
