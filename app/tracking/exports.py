"""CSV exports that respect the dashboard's filters, streamed in batches so national-scale files never
sit in memory. Every text cell that a spreadsheet could read as a formula is neutralised."""

from __future__ import annotations

import csv
import enum
import io
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Callable, Iterable, Iterator

import sqlalchemy as sa
import sqlalchemy.orm as so

from ..extensions import db
from ..models import (
    Campaign,
    Case,
    Group,
    Mailing,
    Order,
    OrderLine,
    Pack,
    Report,
    Shipment,
    mailing_pack,
)
from ..packs.codes import format_code
from . import stats
from .filters import Filters

BATCH = 1000
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """A text cell that starts like a formula gets a leading single quote (OWASP CSV injection)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def cell(value: Any) -> Any:
    """One value as CSV text: dates ISO 8601 (UTC), enums by value, booleans yes/no, text neutralised."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:.3f}"
    return neutralise(value) if isinstance(value, str) else value


def csv_chunks(header: list[str], rows: Iterable[Iterable[Any]], rows_per_chunk: int = 500) -> Iterator[str]:
    """The CSV text in chunks of a few hundred rows (a UTF-8 BOM first, so spreadsheets read accents)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write("\ufeff")
    writer.writerow(header)
    for n, row in enumerate(rows, start=1):
        writer.writerow([cell(v) for v in row])
        if n % rows_per_chunk == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _stream(query: sa.Select) -> Iterator[sa.Row]:
    """Rows fetched BATCH at a time (a server-side cursor on PostgreSQL)."""
    yield from db.session.execute(query.execution_options(yield_per=BATCH))


def _group_where(query: sa.Select, filters: Filters) -> sa.Select:
    if filters.group_id:
        query = query.where(Group.id == filters.group_id)
    if filters.country:
        query = query.where(Group.country == filters.country)
    if filters.region:
        query = query.where(Group.region == filters.region)
    if filters.group_type:
        query = query.where(Group.type == filters.group_type)
    return query


def _dates(query: sa.Select, column, filters: Filters) -> sa.Select:
    """Rows whose timestamp `column` falls in the filters' date range (UTC days, inclusive)."""
    if filters.date_from:
        query = query.where(column >= filters.since())
    if filters.date_to:
        query = query.where(column < filters.until())
    return query


# --- One function per export: (header, rows) ---------------------------------------------------------

def orders(scope: stats.Scope) -> tuple[list[str], Iterator]:
    f = scope.filters
    lines = (
        sa.select(OrderLine.order_id, sa.func.sum(OrderLine.packs).label("packs"),
                  sa.func.sum(OrderLine.packs * OrderLine.pack_size).label("cards"))
        .where(OrderLine.case_id.in_(scope.case_ids))
        .group_by(OrderLine.order_id)
        .subquery("lines")
    )
    latest = sa.select(Shipment.id).where(Shipment.order_id == Order.id).order_by(Shipment.dispatched_at.desc()).limit(1).scalar_subquery()
    shipment = so.aliased(Shipment)
    query = (
        sa.select(
            Order.id, Campaign.slug, Group.id, Group.name, Group.type, Group.country, Group.region, Order.status,
            lines.c.packs, lines.c.cards, Order.created_at, Order.submitted_at, Order.needed_by,
            shipment.dispatched_at, shipment.carrier, shipment.tracking_number, shipment.delivered_at,
            Order.staff_comment, Order.notes,
        )
        .join(lines, lines.c.order_id == Order.id)
        .join(Group, Group.id == Order.group_id)
        .join(Campaign, Campaign.id == Order.campaign_id)
        .outerjoin(shipment, shipment.id == latest)
        .order_by(Order.id)
    )
    query = _dates(_group_where(query, f), sa.func.coalesce(Order.submitted_at, Order.created_at), f)
    header = ["order_id", "campaign", "group_id", "group", "group_type", "country", "region", "status", "packs", "cards",
              "created_at", "submitted_at", "needed_by", "dispatched_at", "carrier", "tracking_number", "delivered_at",
              "staff_comment", "notes"]
    return header, _stream(query)


def packs(scope: stats.Scope) -> tuple[list[str], Iterator]:
    f = scope.filters
    query = (
        sa.select(Pack.code, Case.name, Pack.size, Pack.cards_posted, Order.id, Order.status, Group.name,
                  Group.country, Group.region, Pack.created_at, Pack.reissued_at)
        .join(Case, Case.id == Pack.case_id)
        .outerjoin(OrderLine, OrderLine.id == Pack.order_line_id)
        .outerjoin(Order, Order.id == OrderLine.order_id)
        .outerjoin(Group, Group.id == Order.group_id)
        .where(Pack.case_id.in_(scope.case_ids))
        .order_by(Pack.id)
    )
    query = _dates(_group_where(query, f), Pack.created_at, f)
    header = ["code", "case", "size", "cards_posted", "order_id", "order_status", "group", "country", "region",
              "created_at", "reissued_at"]
    return header, ((format_code(r[0]), *r[1:]) for r in _stream(query))


def reports(scope: stats.Scope) -> tuple[list[str], Iterator]:
    f = scope.filters
    query = (
        sa.select(Report.id, Report.created_at, Case.name, Pack.code, Group.name, Group.country, Group.region,
                  Report.cards, Report.source, Report.voided, Report.voided_at, Report.void_reason, Report.corrects_id)
        .join(Case, Case.id == Report.case_id)
        .join(Pack, Pack.id == Report.pack_id)
        .outerjoin(OrderLine, OrderLine.id == Pack.order_line_id)
        .outerjoin(Order, Order.id == OrderLine.order_id)
        .outerjoin(Group, Group.id == Order.group_id)
        .where(Report.case_id.in_(scope.case_ids))
        .order_by(Report.id)
    )
    query = _dates(_group_where(query, f), Report.created_at, f)
    header = ["report_id", "created_at", "case", "pack_code", "group", "country", "region", "cards", "source",
              "voided", "voided_at", "void_reason", "corrects_report_id"]
    return header, ((*r[:3], format_code(r[3]), *r[4:]) for r in _stream(query))


def mailings(scope: stats.Scope) -> tuple[list[str], Iterator]:
    f = scope.filters
    linked = sa.select(sa.func.count()).where(mailing_pack.c.mailing_id == Mailing.id).scalar_subquery()
    query = (
        sa.select(Mailing.id, Case.name, Mailing.quantity, Mailing.content, Mailing.destination_type,
                  Mailing.destination, Mailing.carrier, Mailing.tracking_number, Mailing.status, Mailing.prepared_on,
                  Mailing.sent_on, Mailing.delivered_on, Mailing.acknowledged_on, linked, Mailing.notes, Mailing.created_at)
        .join(Case, Case.id == Mailing.case_id)
        .where(Mailing.case_id.in_(scope.case_ids))
        .order_by(Mailing.id)
    )
    day = sa.func.coalesce(Mailing.sent_on, Mailing.prepared_on)
    if f.date_from:
        query = query.where(day >= f.date_from)
    if f.date_to:
        query = query.where(day <= f.date_to)
    header = ["mailing_id", "case", "quantity", "content", "destination_type", "destination", "carrier",
              "tracking_number", "status", "prepared_on", "sent_on", "delivered_on", "acknowledged_on", "packs_linked",
              "notes", "created_at"]
    return header, _stream(query)


def groups(scope: stats.Scope) -> tuple[list[str], Iterator]:
    """Groups with their contact and address (personal data) and their figures in the campaign."""
    f = scope.filters
    o = stats.orders_select(scope.case_ids, f, [Order.group_id.label("group_id")]).subquery("o")
    r = stats.reports_select(scope.case_ids, f, [Order.group_id.label("group_id")], via_orders=True).subquery("r")
    query = (
        sa.select(Group.id, Group.name, Group.type, Group.status, Group.country, Group.region, Group.contact_name,
                  Group.contact_email, Group.contact_phone, Group.address_line1, Group.address_line2, Group.city,
                  Group.postcode, Group.expected_writers, Group.created_at, Group.anonymised_at,
                  sa.func.coalesce(o.c.ordered, 0), sa.func.coalesce(o.c.dispatched, 0), sa.func.coalesce(r.c.reported, 0))
        .outerjoin(o, o.c.group_id == Group.id)
        .outerjoin(r, r.c.group_id == Group.id)
        .order_by(Group.name, Group.id)
    )
    query = _group_where(query, f)
    if f.by_date or f.case_id:
        query = query.where(sa.or_(o.c.group_id.is_not(None), r.c.group_id.is_not(None)))
    header = ["group_id", "name", "type", "status", "country", "region", "contact_name", "contact_email",
              "contact_phone", "address_line1", "address_line2", "city", "postcode", "expected_writers", "created_at",
              "anonymised_at", "cards_ordered", "cards_dispatched", "cards_reported"]
    return header, _stream(query)


def case_summary(scope: stats.Scope) -> tuple[list[str], Iterator]:
    """The dashboard's per-case table, figure for figure."""
    overview = stats.overview(scope)
    header = ["case_id", "slug", "case", "country", "status", "target", "cards_ordered", "cards_dispatched",
              "cards_reported", "cards_unreported", "reporting_rate", "cards_mailed", "progress"]

    def rows():
        for row in overview.rows:
            t = row.totals
            yield [row.case.id, row.case.slug, row.case.name, row.case.country, row.case.status, row.case.target,
                   t.ordered, t.dispatched, t.reported, t.unreported, t.reporting_rate,
                   t.mailed if overview.mailings_apply else None, row.progress]
        t = overview.totals
        yield ["", "", "Total", "", "", overview.target, t.ordered, t.dispatched, t.reported, t.unreported,
               t.reporting_rate, t.mailed if overview.mailings_apply else None,
               (t.reported / overview.target) if overview.target else None]

    return header, rows()


@dataclass(frozen=True)
class Export:
    name: str
    label: str
    build: Callable[[stats.Scope], tuple[list[str], Iterator]]
    personal_data: bool = False


EXPORTS: dict[str, Export] = {
    e.name: e
    for e in (
        Export("cases", "Per-case summary", case_summary),
        Export("orders", "Orders", orders),
        Export("packs", "Packs", packs),
        Export("reports", "Reports", reports),
        Export("mailings", "Mailings", mailings),
        Export("groups", "Groups (with contact details)", groups, personal_data=True),
    )
}


def export_csv(kind: str, scope: stats.Scope) -> tuple[str, Iterator[str]]:
    """(file name, CSV chunks) for one export; the chunks query the database as they are read."""
    export = EXPORTS[kind]
    header, rows = export.build(scope)
    slug = scope.campaign.slug if scope.campaign else "all"
    return f"{kind}-{slug}-{date.today().isoformat()}.csv", csv_chunks(header, rows)
