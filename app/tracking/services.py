"""The dashboard's views and the audit log: each function gathers one page's data from `stats`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Optional

import sqlalchemy as sa
from flask_sqlalchemy.pagination import Pagination

from ..extensions import db
from ..models import AuditEvent, Group, GroupType, User
from ..pagination import paginate_rows
from . import chart, stats
from .filters import Filters

DEFAULT_ALERT_CARDS = 100


@dataclass
class FilterOptions:
    """What the filter form offers."""

    regions: list[tuple[str, str]]
    group_types: list[GroupType]
    group_name: Optional[str]


def filter_options(scope: stats.Scope) -> FilterOptions:
    """Countries and regions that have groups; the filtered group's name. One query (two with a group)."""
    regions = [tuple(row) for row in db.session.execute(
        sa.select(Group.country, Group.region).distinct().order_by(Group.country, Group.region)
    )]
    group_name = None
    if scope.filters.group_id:
        group_name = db.session.scalar(sa.select(Group.name).where(Group.id == scope.filters.group_id))
    return FilterOptions(regions=regions, group_types=list(GroupType), group_name=group_name)


def scope_for(filters: Filters) -> stats.Scope:
    return stats.resolve(filters)


def cases_view(scope: stats.Scope) -> dict[str, Any]:
    """Campaign totals, the per-case table and the chart of cards reported per day."""
    overview = stats.overview(scope)
    per_day = stats.reported_per_day(scope)
    campaign = scope.campaign
    start = scope.filters.date_from or (campaign.starts_on if campaign else date.today())
    end = scope.filters.date_to or (campaign.ends_on if campaign else date.today())
    series = [(c.id, c.name) for c in scope.selected_cases]
    return {"overview": overview, "chart": chart.build(per_day, series, start, end)}


def groups_view(scope: stats.Scope, sort: str, page: int) -> dict[str, Any]:
    return {"rows": stats.group_rows(scope, sort, page)}


def regions_view(scope: stats.Scope) -> dict[str, Any]:
    rows = stats.region_rows(scope)
    return {"rows": rows, "total": _sum_rows(rows)}


def types_view(scope: stats.Scope) -> dict[str, Any]:
    rows = stats.type_rows(scope)
    return {"rows": rows, "total": _sum_rows(rows)}


def reconciliation_view(scope: stats.Scope, sort: str, page: int) -> dict[str, Any]:
    overview = stats.overview(scope)
    return {"rows": stats.group_case_rows(scope, sort, page), "overview": overview}


def compare_view(scope: stats.Scope, page: int) -> dict[str, Any]:
    return {"comparison": stats.compare(scope, page)}


def _sum_rows(rows: list[stats.AggregateRow]) -> stats.AggregateRow:
    total = stats.AggregateRow(("total",))
    for row in rows:
        total.ordered += row.ordered
        total.dispatched += row.dispatched
        total.reported += row.reported
        total.groups += row.groups
    return total


# --- Audit log -----------------------------------------------------------------------------------

@dataclass
class AuditFilters:
    actor: str = ""
    object_type: str = ""
    object_id: Optional[int] = None
    date_from: Optional[date] = None
    date_to: Optional[date] = None
    page: int = 1


def audit_object_types() -> list[str]:
    return list(db.session.scalars(sa.select(AuditEvent.object_type).distinct().order_by(AuditEvent.object_type)))


def audit_events(filters: AuditFilters) -> Pagination:
    """(event, actor's email) rows, newest first, filtered by actor (email contains), object type and id,
    and UTC dates. Events keep only the actor's id; the email comes from the user (none once deleted)."""
    who = sa.func.coalesce(User.email, AuditEvent.actor_label)
    query = sa.select(AuditEvent, who.label("actor_email")).outerjoin(User, User.id == AuditEvent.actor_id)
    if filters.actor:
        escaped = filters.actor.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(sa.func.lower(who).like(f"%{escaped}%", escape="\\"))
    if filters.object_type:
        query = query.where(AuditEvent.object_type == filters.object_type)
    if filters.object_id:
        query = query.where(AuditEvent.object_id == filters.object_id)
    if filters.date_from:
        query = query.where(AuditEvent.created_at >= datetime.combine(filters.date_from, time.min, tzinfo=timezone.utc))
    if filters.date_to:
        query = query.where(AuditEvent.created_at < datetime.combine(filters.date_to + timedelta(days=1), time.min, tzinfo=timezone.utc))
    return paginate_rows(query.order_by(AuditEvent.id.desc()), filters.page)


def object_history(object_type: str, object_id: int, limit: int = 50, newest_first: bool = True) -> list:
    """(event, actor's email) rows of one object."""
    who = sa.func.coalesce(User.email, AuditEvent.actor_label)
    query = (
        sa.select(AuditEvent, who.label("actor_email")).outerjoin(User, User.id == AuditEvent.actor_id)
        .where(AuditEvent.object_type == object_type, AuditEvent.object_id == object_id)
        .order_by(AuditEvent.id.desc() if newest_first else AuditEvent.id).limit(limit)
    )
    return list(db.session.execute(query).all())


def audit_changes(event: AuditEvent) -> list[tuple[str, Any, Any]]:
    """(field, before, after) for every key in either side, in a stable order."""
    before = event.before if isinstance(event.before, dict) else ({} if event.before is None else {"value": event.before})
    after = event.after if isinstance(event.after, dict) else ({} if event.after is None else {"value": event.after})
    keys = list(before) + [k for k in after if k not in before]
    return [(key, before.get(key), after.get(key)) for key in keys]
