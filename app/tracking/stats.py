"""Every card figure the app shows comes from here, so the public pages, the group home, the
dashboard, the exports and the API agree.

Definitions (one place, on purpose):
- ordered    = cards on lines of orders in ORDERED_STATUSES (staff accepted them);
- dispatched = cards on lines of orders in DISPATCHED_STATUSES;
- reported   = the sum of Report.cards of reports that are not voided;
- mailed     = the sum of Mailing.quantity of mailings in MAILED_STATUSES (they left the office).

With a date range: ordered counts orders submitted in the range, dispatched counts orders whose first
parcel left in the range, reported counts reports made in the range, mailed counts mailings sent in it.
Mailings go to cases, not groups: with a group filter they do not apply.

Each function makes a fixed number of grouped queries whatever the amount of data.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any, Iterable, Optional, Sequence

import sqlalchemy as sa
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.expression import FunctionElement

from ..extensions import db
from ..models import (
    DISPATCHED_STATUSES,
    MAILED_STATUSES,
    ORDERED_STATUSES,
    Campaign,
    Case,
    Group,
    GroupCaseCards,
    GroupReportDay,
    Mailing,
    Order,
    OrderLine,
    Report,
    ReportDay,
    Shipment,
)
from ..pagination import paginate_rows
from .filters import Filters

NO_FILTERS = Filters()


# --- A portable "UTC calendar day of a timestamp" -----------------------------------------------------

class utc_day(FunctionElement):
    """The UTC date of a timestamp column (SQLite stores UTC text; PostgreSQL needs AT TIME ZONE)."""

    type = sa.Date()
    inherit_cache = True


@compiles(utc_day)
def _utc_day_default(element, compiler, **kw):
    return "date(%s)" % compiler.process(element.clauses, **kw)


@compiles(utc_day, "postgresql")
def _utc_day_postgresql(element, compiler, **kw):
    return "CAST((%s AT TIME ZONE 'UTC') AS DATE)" % compiler.process(element.clauses, **kw)


# --- Results ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CaseTotals:
    ordered: int = 0
    dispatched: int = 0
    reported: int = 0
    mailed: int = 0

    @property
    def unreported(self) -> int:
        """Cards dispatched that nobody reported yet (never negative)."""
        return max(0, self.dispatched - self.reported)

    @property
    def reporting_rate(self) -> Optional[float]:
        """Reported / dispatched, or None when nothing was dispatched."""
        return self.reported / self.dispatched if self.dispatched else None

    def __add__(self, other: "CaseTotals") -> "CaseTotals":
        return CaseTotals(self.ordered + other.ordered, self.dispatched + other.dispatched,
                          self.reported + other.reported, self.mailed + other.mailed)


@dataclass
class Scope:
    """A campaign, its cases and the filters: what every dashboard figure is computed over."""

    campaign: Optional[Campaign]
    campaigns: list[Campaign]
    cases: list[Case]
    filters: Filters

    @property
    def selected_cases(self) -> list[Case]:
        return [c for c in self.cases if not self.filters.case_id or c.id == self.filters.case_id]

    @property
    def case_ids(self) -> list[int]:
        return [c.id for c in self.selected_cases]

    @property
    def previous_campaign(self) -> Optional[Campaign]:
        """The campaign that started last before this one (for "compared with last year")."""
        if self.campaign is None:
            return None
        earlier = [c for c in self.campaigns if c.starts_on < self.campaign.starts_on]
        return max(earlier, key=lambda c: c.starts_on) if earlier else None


def resolve(filters: Filters) -> Scope:
    """The campaign the filters name (else the current one) and its cases. Two queries.

    A case from another campaign is ignored (and explained), never an error page.
    """
    campaigns = list(db.session.scalars(sa.select(Campaign).order_by(Campaign.starts_on.desc(), Campaign.id.desc())))
    by_id = {c.id: c for c in campaigns}
    errors = dict(filters.errors)
    campaign = by_id.get(filters.campaign_id) if filters.campaign_id else None
    if filters.campaign_id and campaign is None:
        errors["campaign"] = "Unknown campaign: showing the current one."
    if campaign is None:
        campaign = next((c for c in campaigns if c.is_current), campaigns[0] if campaigns else None)
    cases: list[Case] = []
    if campaign is not None:
        cases = list(db.session.scalars(
            sa.select(Case).where(Case.campaign_id == campaign.id).order_by(Case.status, Case.position, Case.id)
        ))
    case_id = filters.case_id
    if case_id and case_id not in {c.id for c in cases}:
        errors["case"] = "That case is not in this campaign: showing all cases."
        case_id = None
    filters = replace(filters, campaign_id=filters.campaign_id if campaign and filters.campaign_id == campaign.id else None,
                      case_id=case_id, errors=errors)
    return Scope(campaign=campaign, campaigns=campaigns, cases=cases, filters=filters)


# --- The grouped queries everything is built from --------------------------------------------------

def _in_range(column, filters: Filters) -> list:
    conditions = []
    if filters.date_from:
        conditions.append(column >= filters.since())
    if filters.date_to:
        conditions.append(column < filters.until())
    return conditions


def _group_conditions(filters: Filters) -> list:
    """Conditions on Group (the caller joins it when `filters` need it)."""
    conditions = []
    if filters.country:
        conditions.append(Group.country == filters.country)
    if filters.region:
        conditions.append(Group.region == filters.region)
    if filters.group_type:
        conditions.append(Group.type == filters.group_type)
    return conditions


def _table_of(key: Any) -> Any:
    element = key.__clause_element__() if hasattr(key, "__clause_element__") else key
    element = getattr(element, "element", element)  # a label's column
    return getattr(element, "table", None)


def _needs_group_table(filters: Filters, keys: Sequence[Any]) -> bool:
    return bool(_group_conditions(filters)) or any(_table_of(k) is Group.__table__ for k in keys)


def _narrow(query: sa.Select, case_column: Any, group_column: Any, case_ids: Optional[Iterable[int]],
            filters: Filters, keys: Sequence[Any]) -> sa.Select:
    """Rows limited to these cases, the group filter and the group conditions (joining Group when a
    condition or a key needs it), for a table whose case and group are `case_column`, `group_column`."""
    if case_ids is not None:
        query = query.where(case_column.in_(list(case_ids)))
    if filters.group_id:
        query = query.where(group_column == filters.group_id)
    if _needs_group_table(filters, keys):
        query = query.join(Group, Group.id == group_column).where(*_group_conditions(filters))
    return query


def _narrow_lines(query: sa.Select, case_ids: Optional[Iterable[int]], filters: Filters, keys: Sequence[Any]) -> sa.Select:
    """Order lines (joined to their order), narrowed as `_narrow` does."""
    return _narrow(query, OrderLine.case_id, Order.group_id, case_ids, filters, keys)


def orders_select(case_ids: Optional[Iterable[int]], filters: Filters, keys: Sequence[Any] = (), count_groups: bool = False) -> sa.Select:
    """Ordered and dispatched cards grouped by `keys` (columns of OrderLine, Order or Group), for the keys
    that have orders staff accepted (in the range or not: with dates the figures are those in the range).

    Read from `group_case_cards` (kept by triggers, migration 0009) when the keys are case, group or
    Group columns; with dates, those keys at zero (`_accepted_keys`) stacked with the figures of the
    few orders placed or first dispatched in the range (`_orders_in_range`) and summed per key. Other
    keys: from the order lines (`_orders_from_lines`)."""
    case_ids = list(case_ids) if case_ids is not None else None
    if any(_cards_key(k) is None for k in keys):
        return _orders_from_lines(case_ids, filters, keys, count_groups)
    if not filters.by_date:
        cards = GroupCaseCards
        mapped = [_cards_key(k) for k in keys]
        query = sa.select(
            *mapped,
            sa.func.coalesce(sa.func.sum(cards.ordered), 0).label("ordered"),
            sa.func.coalesce(sa.func.sum(cards.dispatched), 0).label("dispatched"),
        ).select_from(cards).where(cards.accepted_lines > 0)
        if count_groups:
            query = query.add_columns(sa.func.count(sa.distinct(cards.group_id)).label("groups"))
        query = _narrow_cards(query, case_ids, filters, mapped)
        return query.group_by(*mapped) if mapped else query
    names = [_unlabelled(k)[1] for k in keys]
    known = _accepted_keys(case_ids, filters, keys, count_groups)
    moved = _orders_in_range(case_ids, filters, keys)
    if count_groups:
        moved = moved.add_columns(sa.literal(0).label("groups"))
    stacked = sa.union_all(known, moved).subquery("u")
    query = sa.select(
        *[stacked.c[n] for n in names],
        sa.func.coalesce(sa.func.sum(stacked.c.ordered), 0).label("ordered"),
        sa.func.coalesce(sa.func.sum(stacked.c.dispatched), 0).label("dispatched"),
    )
    if count_groups:
        query = query.add_columns(sa.func.coalesce(sa.func.sum(stacked.c.groups), 0).label("groups"))
    return query.group_by(*[stacked.c[n] for n in names]) if names else query


def _cards_key(key: Any) -> Optional[Any]:
    """`key` (OrderLine.case_id, Report.case_id, Order.group_id or a Group column) as a column of
    group_case_cards (Group's columns stay), labelled as the key; None when it has no such column."""
    base, name = _unlabelled(key)
    table = getattr(base, "table", None)
    if table is OrderLine.__table__ and base.name == "case_id":
        return GroupCaseCards.case_id.label(name)
    return _counter_key(key, {"case_id": GroupCaseCards.case_id, "group_id": GroupCaseCards.group_id})


def _narrow_cards(query: sa.Select, case_ids: Optional[Iterable[int]], filters: Filters, keys: Sequence[Any]) -> sa.Select:
    """group_case_cards, narrowed as `_narrow` does."""
    return _narrow(query, GroupCaseCards.case_id, GroupCaseCards.group_id, case_ids, filters, keys)


def _is_table_key(mapped: Sequence[Any]) -> bool:
    """True when the mapped keys are exactly group_case_cards' own key (group and case)."""
    names = sorted(_unlabelled(k)[0].name for k in mapped if _table_of(k) is GroupCaseCards.__table__)
    return len(mapped) == 2 and names == ["case_id", "group_id"]


def _accepted_keys(case_ids: Optional[list[int]], filters: Filters, keys: Sequence[Any], count_groups: bool = False) -> sa.Select:
    """The keys that have lines of orders staff accepted, with ordered and dispatched at 0 (and, with
    `count_groups`, how many groups have such lines): read from group_case_cards."""
    cards = GroupCaseCards
    mapped = [_cards_key(k) for k in keys]
    zero = sa.literal(0)
    query = sa.select(*mapped, zero.label("ordered"), zero.label("dispatched"))
    if count_groups:
        query = query.add_columns(sa.func.count(sa.distinct(cards.group_id)).label("groups"))
    query = _narrow_cards(query.select_from(cards).where(cards.accepted_lines > 0), case_ids, filters, mapped)
    if count_groups or not _is_table_key(mapped):
        query = query.group_by(*mapped)
    return query


def _orders_in_range(case_ids: Optional[list[int]], filters: Filters, keys: Sequence[Any]) -> sa.Select:
    """Ordered and dispatched cards in the date range per key, from the few orders of the range:

    - lines of accepted orders placed (submitted, else created) in the range: ordered;
    - lines of dispatched or delivered orders whose first parcel left in the range: dispatched.

    Its keys all have accepted orders (see `_accepted_keys`)."""
    cards = OrderLine.packs * OrderLine.pack_size
    labelled = [_unlabelled(k)[0].label(_unlabelled(k)[1]) for k in keys]
    names = [_unlabelled(k)[1] for k in keys]
    zero = sa.literal(0)
    placed = (
        sa.select(*labelled, cards.label("ordered"), zero.label("dispatched"))
        .select_from(OrderLine).join(Order, Order.id == OrderLine.order_id)
        .where(Order.status.in_(ORDERED_STATUSES), _placed_in_range(filters))
    )
    dispatched = (
        sa.select(*labelled, zero.label("ordered"), cards.label("dispatched"))
        .select_from(OrderLine).join(Order, Order.id == OrderLine.order_id)
        .where(Order.status.in_(DISPATCHED_STATUSES), Order.id.in_(_first_dispatched_in_range(filters)))
    )
    stacked = sa.union_all(*(_narrow_lines(q, case_ids, filters, keys) for q in (placed, dispatched))).subquery("lines_in_range")
    query = sa.select(*[stacked.c[n] for n in names], sa.func.sum(stacked.c.ordered).label("ordered"),
                      sa.func.sum(stacked.c.dispatched).label("dispatched"))
    return query.group_by(*[stacked.c[n] for n in names]) if names else query


def _placed_in_range(filters: Filters) -> Any:
    """COALESCE(submitted_at, created_at) in the range, written so that ix_order_placed
    (submitted_at, created_at) answers it: submitted in the range, or never submitted and created in it."""
    return sa.or_(
        sa.and_(*_in_range(Order.submitted_at, filters)),
        sa.and_(Order.submitted_at.is_(None), *_in_range(Order.created_at, filters)),
    )


def _first_dispatched_in_range(filters: Filters) -> sa.Select:
    """Ids of orders whose first parcel left in the range: one left in it and none before it
    (ix_shipment_dispatched finds the parcels of the range; no grouping of every shipment)."""
    parcel, earlier = aliased(Shipment), aliased(Shipment)
    query = sa.select(parcel.order_id).where(*_in_range(parcel.dispatched_at, filters))
    if filters.date_from:
        query = query.where(~sa.exists().where(earlier.order_id == parcel.order_id, earlier.dispatched_at < filters.since()))
    return query


def _orders_from_lines(case_ids: Optional[Iterable[int]], filters: Filters, keys: Sequence[Any] = (), count_groups: bool = False) -> sa.Select:
    """orders_select over the order lines themselves, for keys group_case_cards cannot answer."""
    cards = OrderLine.packs * OrderLine.pack_size
    ordered_when = [Order.status.in_(ORDERED_STATUSES)]
    dispatched_when = [Order.status.in_(DISPATCHED_STATUSES)]
    query = (
        sa.select(*keys)
        .select_from(OrderLine)
        .join(Order, Order.id == OrderLine.order_id)
        .where(Order.status.in_(ORDERED_STATUSES))
    )
    query = _narrow_lines(query, case_ids, filters, keys)
    if filters.by_date:
        ordered_when += _in_range(sa.func.coalesce(Order.submitted_at, Order.created_at), filters)
        first = (
            sa.select(Shipment.order_id, sa.func.min(Shipment.dispatched_at).label("at"))
            .group_by(Shipment.order_id)
            .subquery("first_dispatch")
        )
        query = query.outerjoin(first, first.c.order_id == Order.id)
        dispatched_when += _in_range(first.c.at, filters)
    query = query.add_columns(
        sa.func.coalesce(sa.func.sum(sa.case((sa.and_(*ordered_when), cards), else_=0)), 0).label("ordered"),
        sa.func.coalesce(sa.func.sum(sa.case((sa.and_(*dispatched_when), cards), else_=0)), 0).label("dispatched"),
    )
    if count_groups:
        query = query.add_columns(sa.func.count(sa.distinct(Order.group_id)).label("groups"))
    return query.group_by(*keys) if keys else query


def _unlabelled(key: Any) -> tuple[Any, Optional[str]]:
    """The expression under a key and the name its result column has."""
    element = key.__clause_element__() if hasattr(key, "__clause_element__") else key
    base = getattr(element, "element", element)  # a label's expression
    return base, getattr(element, "name", None) or getattr(base, "key", None)


def _counter_key(key: Any, columns: dict[str, Any]) -> Optional[Any]:
    """`key` (a column of Report, Order or Group, or the UTC day of Report.created_at) as a column of a
    counter source: `columns` maps "case_id", "group_id" and "day" to that source's columns; Group's
    columns stay. None when the source cannot answer it."""
    base, name = _unlabelled(key)
    if isinstance(base, utc_day):
        target = columns.get("day")
    elif getattr(base, "table", None) is Group.__table__:
        return key
    elif getattr(base, "table", None) is Report.__table__ and base.name == "case_id":
        target = columns.get("case_id")
    elif getattr(base, "table", None) is Order.__table__ and base.name == "group_id":
        target = columns.get("group_id")
    else:
        target = None
    return None if target is None else target.label(name)


def reports_select(case_ids: Optional[Iterable[int]], filters: Filters, keys: Sequence[Any] = (), via_orders: bool = False) -> sa.Select:
    """Reported cards (reports not voided) grouped by `keys`, read from the counters that triggers keep
    (app/tracking/counters.py), never from the reports themselves:

    - per case and day (no group filter): `report_day`;
    - by group, region or type over the whole campaign: `order_line.cards_reported`, added up per
      group and case in `group_case_cards`;
    - by group, region or type within dates or per day: `group_report_day`.

    `keys` are columns of Report (case_id), Order (group_id) or Group, or utc_day(Report.created_at).
    With `via_orders` (or a group filter) only reports of packs on an order line count.
    """
    case_ids = list(case_ids) if case_ids is not None else None
    if not (via_orders or filters.by_group):
        source = ReportDay
        columns = {"case_id": ReportDay.case_id, "day": ReportDay.day}
    elif not filters.by_date and all(_cards_key(k) is not None for k in keys):
        return _reports_from_lines(case_ids, filters, keys)
    else:
        source = GroupReportDay
        columns = {"case_id": GroupReportDay.case_id, "group_id": GroupReportDay.group_id, "day": GroupReportDay.day}
    mapped = [_counter_key(k, columns) for k in keys]
    if any(k is None for k in mapped):
        raise ValueError("reports_select: a key the report counters cannot answer")
    # Rows at 0 (everything voided) are skipped: keys with no counted report do not appear, as before.
    query = (
        sa.select(*mapped, sa.func.coalesce(sa.func.sum(source.cards), 0).label("reported"))
        .select_from(source).where(source.cards != 0)
    )
    if source is GroupReportDay:
        query = _narrow(query, source.case_id, source.group_id, case_ids, filters, mapped)
    elif case_ids is not None:
        query = query.where(source.case_id.in_(case_ids))
    if filters.by_date:
        # Both ends, always (date.min / date.max for an open one): with an end alone, SQLite 3.40 returns
        # rows past it when it searches group_report_day's key (group, case IN (...), day), as it does
        # with statistics that favour that plan. tests/test_tracking_stats.py has the reproduction.
        query = query.where(source.day >= (filters.date_from or date.min), source.day <= (filters.date_to or date.max))
    return query.group_by(*mapped) if mapped else query


def _reports_from_lines(case_ids: Optional[list[int]], filters: Filters, keys: Sequence[Any]) -> sa.Select:
    """Reported cards per case, group, region or type (no dates): the order lines' cards_reported,
    added up per group and case in group_case_cards. Rows at 0 are skipped, as lines at 0 were."""
    cards = GroupCaseCards
    mapped = [_cards_key(k) for k in keys]
    query = (
        sa.select(*mapped, sa.func.coalesce(sa.func.sum(cards.reported), 0).label("reported"))
        .select_from(cards).where(cards.reported != 0)
    )
    query = _narrow_cards(query, case_ids, filters, mapped)
    return query.group_by(*mapped) if mapped else query


def mailings_select(case_ids: Optional[Iterable[int]], filters: Filters) -> sa.Select:
    """Mailed cards per case (mailings that left the office; sent in the date range if one is set)."""
    query = (
        sa.select(Mailing.case_id, sa.func.sum(Mailing.quantity).label("mailed"))
        .where(Mailing.status.in_(MAILED_STATUSES))
        .group_by(Mailing.case_id)
    )
    if case_ids is not None:
        query = query.where(Mailing.case_id.in_(list(case_ids)))
    if filters.date_from:
        query = query.where(Mailing.sent_on >= filters.date_from)
    if filters.date_to:
        query = query.where(Mailing.sent_on <= filters.date_to)
    return query


# --- Per case --------------------------------------------------------------------------------------

def case_totals(case_ids: Iterable[int], filters: Filters = NO_FILTERS) -> dict[int, CaseTotals]:
    """Ordered, dispatched, reported and mailed cards per case: three grouped queries (with a group
    filter, where mailings do not apply, two; one without dates, all three figures then being in
    group_case_cards)."""
    case_ids = list(case_ids)
    if not case_ids:
        return {}
    if filters.by_group and not filters.by_date:
        figures = {row.case_id: row for row in db.session.execute(lines_select(case_ids, filters, [OrderLine.case_id]))}
        orders, reported = figures, {case_id: row.reported for case_id, row in figures.items()}
    else:
        # With dates, the range's orders alone: a case without any is at 0 here as in orders_select.
        query = _orders_in_range(case_ids, filters, [OrderLine.case_id]) if filters.by_date else \
            orders_select(case_ids, filters, [OrderLine.case_id])
        orders = {row.case_id: row for row in db.session.execute(query)}
        reported = dict(db.session.execute(reports_select(case_ids, filters, [Report.case_id])).all())
    mailed: dict[int, int] = {}
    if not filters.by_group:
        mailed = dict(db.session.execute(mailings_select(case_ids, filters)).all())
    return {
        case_id: CaseTotals(
            ordered=int(orders[case_id].ordered) if case_id in orders else 0,
            dispatched=int(orders[case_id].dispatched) if case_id in orders else 0,
            reported=int(reported.get(case_id) or 0),
            mailed=int(mailed.get(case_id) or 0),
        )
        for case_id in case_ids
    }


def sum_totals(totals: Iterable[CaseTotals]) -> CaseTotals:
    result = CaseTotals()
    for item in totals:
        result = result + item
    return result


@dataclass
class CaseRow:
    case: Case
    totals: CaseTotals

    @property
    def progress(self) -> Optional[float]:
        """Reported posted / target, as on the public case page."""
        return self.totals.reported / self.case.target if self.case.target else None


@dataclass
class Overview:
    rows: list[CaseRow]
    totals: CaseTotals
    target: int
    mailings_apply: bool


def overview(scope: Scope) -> Overview:
    """Campaign totals and the per-case table."""
    totals = case_totals(scope.case_ids, scope.filters)
    rows = [CaseRow(case, totals[case.id]) for case in scope.selected_cases]
    return Overview(
        rows=rows,
        totals=sum_totals(totals.values()),
        target=sum(c.target for c in scope.selected_cases),
        mailings_apply=not scope.filters.by_group,
    )


def group_case_totals(group: Group) -> list[tuple[Case, int, int]]:
    """A group's own cards per case (every campaign): (case, ordered, reported), for the group home."""
    filters = Filters(group_id=group.id)
    orders = {row.case_id: row for row in db.session.execute(orders_select(None, filters, [OrderLine.case_id]))}
    reported = dict(db.session.execute(reports_select(None, filters, [Report.case_id], via_orders=True)).all())
    case_ids = set(orders) | set(reported)
    if not case_ids:
        return []
    cases = db.session.scalars(sa.select(Case).where(Case.id.in_(case_ids)).order_by(Case.campaign_id.desc(), Case.position, Case.id))
    return [(c, int(orders[c.id].ordered) if c.id in orders else 0, int(reported.get(c.id) or 0)) for c in cases]


# --- Per group, region, group type ----------------------------------------------------------------

@dataclass
class AggregateRow:
    """Figures for one key (a region, a group type)."""

    key: tuple
    ordered: int = 0
    dispatched: int = 0
    reported: int = 0
    groups: int = 0
    labels: dict[str, Any] = field(default_factory=dict)

    @property
    def unreported(self) -> int:
        return max(0, self.dispatched - self.reported)

    @property
    def reporting_rate(self) -> Optional[float]:
        return self.reported / self.dispatched if self.dispatched else None

    def __getattr__(self, name: str) -> Any:
        labels = self.__dict__.get("labels", {})
        if name in labels:
            return labels[name]
        raise AttributeError(name)


def _merge(order_rows, report_rows, key_len: int) -> dict[tuple, AggregateRow]:
    rows: dict[tuple, AggregateRow] = {}
    for row in order_rows:
        key = tuple(row[:key_len])
        rows[key] = AggregateRow(key, ordered=int(row.ordered), dispatched=int(row.dispatched), groups=int(row.groups))
    for row in report_rows:
        key = tuple(row[:key_len])
        rows.setdefault(key, AggregateRow(key)).reported = int(row.reported)
    return rows


def _aggregate(scope: Scope, keys: list) -> dict[tuple, AggregateRow]:
    """Figures per key: one pass over the order lines without dates, else two grouped queries."""
    if not scope.filters.by_date:
        return {
            tuple(row[:len(keys)]): AggregateRow(tuple(row[:len(keys)]), ordered=int(row.ordered), dispatched=int(row.dispatched),
                                                 reported=int(row.reported), groups=int(row.groups))
            for row in db.session.execute(lines_select(scope.case_ids, scope.filters, keys, count_groups=True))
        }
    return _merge(
        db.session.execute(orders_select(scope.case_ids, scope.filters, keys, count_groups=True)),
        db.session.execute(reports_select(scope.case_ids, scope.filters, keys, via_orders=True)),
        len(keys),
    )


def region_rows(scope: Scope) -> list[AggregateRow]:
    """Figures per country and region, biggest first. One or two grouped queries."""
    rows = _aggregate(scope, [Group.country, Group.region])
    for row in rows.values():
        row.labels = {"country": row.key[0], "region": row.key[1]}
    return sorted(rows.values(), key=lambda r: (-r.ordered, -r.reported, r.key))


def type_rows(scope: Scope) -> list[AggregateRow]:
    """Figures per group type, biggest first. One or two grouped queries."""
    rows = _aggregate(scope, [Group.type])
    for row in rows.values():
        row.labels = {"type": row.key[0]}
    return sorted(rows.values(), key=lambda r: (-r.ordered, -r.reported, r.key[0].value))


GROUP_SORTS = ("name", "ordered", "dispatched", "reported", "unreported", "rate")


def lines_select(case_ids: Optional[Iterable[int]], filters: Filters, keys: Sequence[Any], count_groups: bool = False) -> sa.Select:
    """Ordered, dispatched and reported cards per key in ONE pass over `group_case_cards` (no date range:
    reported is then the order lines' cards_reported). Keys (case, group or Group columns) are those
    that have orders staff accepted or counted reports, as orders_select and reports_select give them apart."""
    if filters.by_date:
        raise ValueError("lines_select has no date range: use orders_select and reports_select")
    cards = GroupCaseCards
    mapped = [_cards_key(k) for k in keys]
    if any(k is None for k in mapped):
        raise ValueError("lines_select: a key group_case_cards cannot answer")
    if not count_groups and _is_table_key(mapped):
        # Keyed by the table's own key: its rows are the answer, nothing to add up.
        query = sa.select(*mapped, cards.ordered, cards.dispatched, cards.reported).select_from(cards)
        query = _narrow_cards(query, case_ids, filters, mapped)
        return query.where(sa.or_(cards.accepted_lines > 0, cards.reported != 0))
    query = sa.select(
        *mapped,
        sa.func.coalesce(sa.func.sum(cards.ordered), 0).label("ordered"),
        sa.func.coalesce(sa.func.sum(cards.dispatched), 0).label("dispatched"),
        sa.func.coalesce(sa.func.sum(cards.reported), 0).label("reported"),
    ).select_from(cards)
    if count_groups:  # groups with accepted orders, as orders_select counts them
        query = query.add_columns(sa.func.count(sa.distinct(sa.case((cards.accepted_lines > 0, cards.group_id)))).label("groups"))
    query = _narrow_cards(query, case_ids, filters, mapped)
    query = query.where(sa.or_(cards.accepted_lines > 0, cards.reported != 0))
    return query.group_by(*mapped).having(sa.or_(sa.func.sum(cards.accepted_lines) > 0, sa.func.sum(cards.reported) != 0))


def _joined_figures(scope: Scope, order_keys: list, report_keys: list, key_names: list[str]):
    """Order and report figures keyed alike, one row per key that has either: without dates the rows of
    group_case_cards (added up per key when the key is coarser than group and case); with dates see
    `_figures_in_range`. Returns the figures subquery, the figure columns and how to count the rows
    (every key joins its group and case, foreign keys, so the figures' rows are the page's rows): the
    keyword arguments for paginate_rows and the extra columns the page query must select for them."""
    if not scope.filters.by_date and _is_table_key([_cards_key(k) for k in order_keys]):
        # group_case_cards' own rows: a count over its index, apart, costs less than carrying one.
        both = lines_select(scope.case_ids, scope.filters, order_keys).subquery("f")
        counting: tuple[dict, list] = ({"total": sa.select(sa.func.count()).select_from(both)}, [])
    else:
        figures = (lines_select(scope.case_ids, scope.filters, order_keys).subquery("lines") if not scope.filters.by_date
                   else _figures_in_range(scope, order_keys, report_keys, key_names))
        # Counted before the joins to groups and cases, so the page's sort with LIMIT keeps a page of rows.
        both = sa.select(figures, sa.func.count().over().label("total_rows")).subquery("f")
        counting = ({"counted": "total_rows"}, [both.c.total_rows])
    dispatched, reported = both.c.dispatched, both.c.reported
    columns = dict(
        ordered=both.c.ordered, dispatched=dispatched, reported=reported,
        unreported=sa.case((dispatched > reported, dispatched - reported), else_=0),
        rate=sa.case((dispatched > 0, reported * 1.0 / dispatched), else_=None),
    )
    return both, columns, counting


def _figures_in_range(scope: Scope, order_keys: list, report_keys: list, key_names: list[str]) -> Any:
    """With dates, per key (group, or group and case: ids, never NULL): every key with accepted orders
    (from group_case_cards) left-joined to the figures of the range (the range's orders, and the report
    counters of its days: a few thousand rows for ten days), then the keys that have only reports in
    the range. Nothing adds up every key's rows, as stacking all the keys would."""
    case_ids, filters = scope.case_ids, scope.filters
    zero = sa.literal(0)
    o = _orders_in_range(case_ids, filters, order_keys).cte("o")
    r = reports_select(case_ids, filters, report_keys, via_orders=True).cte("r")
    known = _accepted_keys(case_ids, filters, order_keys).subquery("k")
    cards = GroupCaseCards
    # A key with reports in the range is known when it has accepted lines in these cases (it already
    # meets the group conditions). Keys of the range's orders are all known.
    is_known = sa.exists(
        _narrow_cards(sa.select(sa.literal(1)).select_from(cards).where(cards.accepted_lines > 0), case_ids,
                      replace(filters, country="", region="", group_type=None), [])
        .where(*[cards.__table__.c[n] == r.c[n] for n in key_names])
    )
    return sa.union_all(
        sa.select(*[known.c[n] for n in key_names],
                  sa.func.coalesce(o.c.ordered, 0).label("ordered"),
                  sa.func.coalesce(o.c.dispatched, 0).label("dispatched"),
                  sa.func.coalesce(r.c.reported, 0).label("reported"))
        .select_from(known.outerjoin(o, sa.and_(*[known.c[n] == o.c[n] for n in key_names]))
                     .outerjoin(r, sa.and_(*[known.c[n] == r.c[n] for n in key_names]))),
        sa.select(*[r.c[n] for n in key_names], zero, zero, r.c.reported).where(~is_known),
    ).subquery("in_range")


def _sorted(query: sa.Select, sort: str, columns: dict, name_column, default: str) -> sa.Select:
    valid = sort.lstrip("-") in GROUP_SORTS
    key = (sort if valid else default).lstrip("-")
    descending = (sort if valid else default).startswith("-")
    column = name_column if key == "name" else columns[key]
    order = column.desc() if descending else column.asc()
    return query.order_by(order.nulls_last(), name_column)


def group_rows(scope: Scope, sort: str = "-unreported", page: int = 1) -> Pagination:
    """Figures per group (reconciliation: dispatched vs reported), sorted and paginated. Two queries."""
    f, columns, (counting, count_columns) = _joined_figures(
        scope, [Order.group_id.label("group_id")], [Order.group_id.label("group_id")], ["group_id"])
    query = (
        sa.select(Group.id, Group.name, Group.type, Group.country, Group.region, *[c.label(n) for n, c in columns.items()],
                  *count_columns)
        .select_from(f.join(Group, Group.id == f.c.group_id))
    )
    query = _sorted(query, sort, columns, Group.name, "-unreported").order_by(Group.id)
    return paginate_rows(query, page, **counting)


def group_case_rows(scope: Scope, sort: str = "-unreported", page: int = 1) -> Pagination:
    """Reconciliation per group and case: dispatched vs reported, sorted and paginated. Two queries."""
    f, columns, (counting, count_columns) = _joined_figures(
        scope,
        [Order.group_id.label("group_id"), OrderLine.case_id.label("case_id")],
        [Order.group_id.label("group_id"), Report.case_id.label("case_id")],
        ["group_id", "case_id"],
    )
    # The case's name and place come from the scope's cases (its keys are among them), not from a join:
    # a join to "case" made PostgreSQL think few rows were left and look the groups up one by one.
    names = {c.id: c.name for c in scope.cases}
    places = {c.id: place for place, c in enumerate(sorted(scope.cases, key=lambda c: (c.position, c.id)))}
    case_name = sa.case(names, value=f.c.case_id, else_=None) if names else sa.null()
    case_place = sa.case(places, value=f.c.case_id, else_=None) if places else sa.null()
    query = (
        sa.select(Group.id, Group.name, Group.type, Group.country, Group.region, f.c.case_id.label("case_id"),
                  case_name.label("case_name"), *[c.label(n) for n, c in columns.items()], *count_columns)
        .select_from(f.join(Group, Group.id == f.c.group_id))
    )
    query = _sorted(query, sort, columns, Group.name, "-unreported").order_by(Group.id, case_place)
    return paginate_rows(query, page, **counting)


# --- Cards reported per day --------------------------------------------------------------------------

def reported_per_day(scope: Scope) -> dict[date, dict[int, int]]:
    """{day: {case id: cards}} of reports (UTC days). One grouped query."""
    day = utc_day(Report.created_at)
    query = reports_select(scope.case_ids, scope.filters, [day.label("day"), Report.case_id])
    result: dict[date, dict[int, int]] = {}
    for row in db.session.execute(query):
        value = row.day if isinstance(row.day, date) else date.fromisoformat(str(row.day))
        result.setdefault(value, {})[row.case_id] = int(row.reported)
    return result


# --- This campaign against the previous one ---------------------------------------------------------

@dataclass
class Comparison:
    previous: Optional[Campaign]
    previous_cases: list[CaseRow]
    current_cases: list[CaseRow]
    current: CaseTotals
    before: CaseTotals
    groups: Optional[Pagination]


def compare(scope: Scope, page: int = 1) -> Comparison:
    """This campaign against the one before: totals, per case and per group (group filters apply;
    dates and the case filter do not, since they differ between years). A fixed number of queries."""
    filters = replace(scope.filters, case_id=None, date_from=None, date_to=None)
    previous = scope.previous_campaign
    all_cases = list(scope.cases)
    previous_cases: list[Case] = []
    if previous is not None:
        previous_cases = list(db.session.scalars(
            sa.select(Case).where(Case.campaign_id == previous.id).order_by(Case.position, Case.id)
        ))
    totals = case_totals([c.id for c in all_cases + previous_cases], filters)
    current_rows = [CaseRow(c, totals[c.id]) for c in all_cases]
    previous_rows = [CaseRow(c, totals[c.id]) for c in previous_cases]
    groups = None
    if previous is not None:
        groups = _compare_groups([c.id for c in all_cases], [c.id for c in previous_cases], filters, page)
    return Comparison(
        previous=previous, previous_cases=previous_rows, current_cases=current_rows,
        current=sum_totals(r.totals for r in current_rows), before=sum_totals(r.totals for r in previous_rows),
        groups=groups,
    )


def _compare_groups(now_ids: list[int], before_ids: list[int], filters: Filters, page: int) -> Pagination:
    """Per group: ordered and reported this campaign and the one before, in one pass over
    group_case_cards (the comparison has no dates, so reported is the order lines' cards_reported)."""
    cards = GroupCaseCards
    accepted = cards.accepted_lines > 0
    now, before = cards.case_id.in_(now_ids), cards.case_id.in_(before_ids)

    def total(when, value):
        return sa.func.coalesce(sa.func.sum(sa.case((when, value), else_=0)), 0)

    figures = (
        sa.select(
            cards.group_id.label("group_id"),
            total(now, cards.ordered).label("ordered_now"), total(now, cards.reported).label("reported_now"),
            total(before, cards.ordered).label("ordered_before"), total(before, cards.reported).label("reported_before"),
        )
        .where(cards.case_id.in_(now_ids + before_ids), sa.or_(accepted, cards.reported != 0))
    )
    if filters.group_id:
        figures = figures.where(cards.group_id == filters.group_id)
    if _group_conditions(filters):
        figures = figures.join(Group, Group.id == cards.group_id).where(*_group_conditions(filters))
    per_group = figures.group_by(cards.group_id).having(
        sa.or_(sa.func.sum(cards.accepted_lines) > 0, sa.func.sum(cards.reported) != 0)
    ).subquery("per_group")
    # Counted before the join to groups (see paginate_rows).
    f = sa.select(per_group, sa.func.count().over().label("total_rows")).subquery("f")
    query = (
        sa.select(
            Group.id, Group.name, Group.type, Group.country, Group.region,
            f.c.ordered_now, f.c.reported_now, f.c.ordered_before, f.c.reported_before,
            (f.c.reported_now - f.c.reported_before).label("change"), f.c.total_rows,
        )
        .select_from(f.join(Group, Group.id == f.c.group_id))
        .order_by(f.c.reported_now.desc(), f.c.reported_before.desc(), Group.name, Group.id)
    )
    return paginate_rows(query, page, counted="total_rows")
