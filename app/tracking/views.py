"""Staff tracking: the dashboard and its views, CSV exports, and the audit log."""

from __future__ import annotations

from datetime import date, datetime, timezone

from flask import Blueprint, Response, abort, current_app, request, stream_with_context

from ..auth.decorators import staff_required
from ..htmx import push_clean_url, render, targets
from . import exports, services
from .filters import clean_text, parse_date, parse_filters, parse_id

bp = Blueprint("tracking", __name__, url_prefix="/staff")

# The dashboard's views: endpoint name → (tab label, template of the view's content).
VIEWS = {
    "dashboard": ("Cases", "tracking/_view_cases.html"),
    "dashboard_groups": ("Groups", "tracking/_view_groups.html"),
    "dashboard_regions": ("Regions", "tracking/_view_regions.html"),
    "dashboard_types": ("Group types", "tracking/_view_types.html"),
    "dashboard_reconciliation": ("Reconciliation", "tracking/_view_reconciliation.html"),
    "dashboard_compare": ("Last year", "tracking/_view_compare.html"),
}


def _page() -> int:
    return min(max(1, request.args.get("page", 1, type=int) or 1), 100_000)


def _sort(default: str) -> str:
    return request.args.get("sort", default)[:20]


FIGURES_ID = "dashboard-figures"


def _dashboard(view: str, **data):
    """The dashboard page; for htmx the whole dashboard below the heading, or only its figures when the
    figures region refreshes itself (HX-Target: dashboard-figures; that poll pushes no URL)."""
    scope = data.pop("scope")
    refreshing = targets(FIGURES_ID)
    response = render(
        "tracking/dashboard.html", "tracking/_figures.html" if refreshing else "tracking/_dashboard.html",
        scope=scope, filters=scope.filters, options=services.filter_options(scope), views=VIEWS, view=view,
        view_template=VIEWS[view][1], exports=exports.EXPORTS,
        alert_cards=current_app.config.get("UNREPORTED_ALERT_CARDS", services.DEFAULT_ALERT_CARDS),
        refresh_seconds=max(1, int(current_app.config.get("DASHBOARD_REFRESH_SECONDS", 30))),
        updated_at=datetime.now(timezone.utc), **data,
    )
    response.headers["Cache-Control"] = "no-store"
    return response if refreshing else push_clean_url(response)


@bp.get("/dashboard")
@staff_required
def dashboard():
    """Campaign totals, the per-case table and the chart of cards reported per day."""
    scope = services.scope_for(parse_filters(request.args))
    return _dashboard("dashboard", scope=scope, **services.cases_view(scope))


@bp.get("/dashboard/groups")
@staff_required
def dashboard_groups():
    """Figures per group: ordered, dispatched, reported, unreported and reporting rate."""
    scope = services.scope_for(parse_filters(request.args))
    return _dashboard("dashboard_groups", scope=scope, sort=_sort("-unreported"),
                      **services.groups_view(scope, _sort("-unreported"), _page()))


@bp.get("/dashboard/regions")
@staff_required
def dashboard_regions():
    """Figures per country and region."""
    scope = services.scope_for(parse_filters(request.args))
    return _dashboard("dashboard_regions", scope=scope, **services.regions_view(scope))


@bp.get("/dashboard/group-types")
@staff_required
def dashboard_types():
    """Figures per group type (local, school, university…)."""
    scope = services.scope_for(parse_filters(request.args))
    return _dashboard("dashboard_types", scope=scope, **services.types_view(scope))


@bp.get("/dashboard/reconciliation")
@staff_required
def dashboard_reconciliation():
    """Dispatched against reported per group and case; groups with many unreported cards stand out."""
    scope = services.scope_for(parse_filters(request.args))
    return _dashboard("dashboard_reconciliation", scope=scope, sort=_sort("-unreported"),
                      **services.reconciliation_view(scope, _sort("-unreported"), _page()))


@bp.get("/dashboard/compare")
@staff_required
def dashboard_compare():
    """This campaign against the previous one, per case and per group."""
    scope = services.scope_for(parse_filters(request.args))
    return _dashboard("dashboard_compare", scope=scope, **services.compare_view(scope, _page()))


@bp.get("/exports/<kind>.csv")
@staff_required
def export(kind: str):
    """A CSV export under the dashboard's filters, streamed as it is read from the database."""
    if kind not in exports.EXPORTS:
        abort(404)
    scope = services.scope_for(parse_filters(request.args))
    filename, chunks = exports.export_csv(kind, scope)
    response = Response(stream_with_context(chunks), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/audit")
@staff_required
def audit_log():
    """Who changed what and when: filter by actor, object type and date; each event shows before → after."""
    args = request.args
    filters = services.AuditFilters(
        actor=clean_text(args.get("actor", "")),
        object_type=clean_text(args.get("type", ""), 40),
        object_id=parse_id(args.get("object")),
        date_from=parse_date(args.get("from", "")) if args.get("from") else None,
        date_to=parse_date(args.get("to", "")) if args.get("to") else None,
        page=_page(),
    )
    errors = {name: "Enter a date as YYYY-MM-DD." for name, value in (("from", filters.date_from), ("to", filters.date_to))
              if args.get(name) and value is None}
    response = render(
        "tracking/audit.html", "tracking/_audit_results.html",
        page=services.audit_events(filters), filters=filters, types=services.audit_object_types(), errors=errors,
        changes=services.audit_changes, today=date.today(),
    )
    response.headers["Cache-Control"] = "no-store"
    return push_clean_url(response)
