"""`/api/v1/`: JSON for campaign offices' CRMs, printing houses and scan apps.

Bearer tokens act with their user's role: staff see everything, a coordinator's token sees only
their group (other groups' objects answer 404, like missing ones). Lists share one envelope:
`items, page, per_page, total, pages`. Errors are `application/problem+json`.
"""

from __future__ import annotations

from functools import wraps
from datetime import date
from typing import Callable, Optional

import sqlalchemy as sa
from flask import Response, current_app, g, request, url_for
from flask_smorest import Blueprint
from werkzeug.exceptions import Forbidden, NotFound, Unauthorized

from ..auth import tokens
from .. import database, ratelimit
from ..extensions import db, limiter
from ..models import (
    Campaign, Case, Group, GroupStatus, Mailing, MailingStatus, Order, OrderStatus, Pack, ReportSource, Shipment, User,
)
from ..orders import services as orders
from ..packs import codes, labels
from ..packs import services as pack_services
from ..packs.qr import pack_url
from ..reports import services as reports
from ..pagination import paginate
from ..public import services as public
from . import schemas as s
from .problems import ConflictProblem, ValidationProblem

bp = Blueprint("api", __name__, url_prefix="/api/v1", description="Write for Rights cards API")
SECURITY = [{"bearerAuth": []}]


limiter.exempt(bp)  # governed by API_BUDGETS (below), not by Flask-Limiter's defaults


@bp.before_request
def _spend_api_budget() -> None:
    """API_RATE_LIMIT per client on every API call; a report spends it with its own budgets, in the
    same storage round trip (`create_report`)."""
    if request.endpoint != "api.create_report":
        ratelimit.spend(ratelimit.API_BUDGETS)


def documented_errors(*codes: int) -> Callable:
    """Declare the problem+json answers an operation can give (for the OpenAPI document)."""

    def decorate(func):
        for code in codes:
            func = bp.alt_response(code, schema=s.Problem, content_type="application/problem+json",
                                   description={400: "Bad request", 401: "Missing or invalid token", 403: "Not allowed for this role",
                                                404: "Not found", 409: "Conflict", 422: "Invalid input", 429: "Too many requests"}[code])(func)
        return func

    return decorate


def current_api_user() -> Optional[User]:
    """The user of the bearer token, if any (None without a header; 401 with a bad one)."""
    if "api_user" not in g:
        header = request.headers.get("Authorization", "")
        if not header:
            g.api_user = None
        else:
            scheme, _, raw = header.partition(" ")
            user = tokens.user_for_token(raw.strip()) if scheme.lower() == "bearer" else None
            if user is None:
                raise Unauthorized("The bearer token is missing, revoked or invalid.")
            g.api_user = user
    return g.api_user


def token_required(staff: bool = False) -> Callable:
    """Require a valid bearer token (and the staff role when `staff`)."""

    def decorate(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            user = current_api_user()
            if user is None:
                raise Unauthorized("Send `Authorization: Bearer <token>`; create a token on your account page.")
            if staff and not user.is_staff:
                raise Forbidden("Only staff tokens can use this.")
            return view(*args, **kwargs)

        return wrapped

    return decorate


def envelope(pagination) -> dict:
    return {"items": pagination.items, "page": pagination.page, "per_page": pagination.per_page,
            "total": pagination.total or 0, "pages": pagination.pages}


def _case_dicts(cases: list[Case]) -> list[dict]:
    totals = public.case_totals([c.id for c in cases])
    return [{**{k: getattr(c, k) for k in ("id", "slug", "campaign_id", "name", "country", "summary", "ask", "status", "target")},
             "totals": totals[c.id].__dict__} for c in cases]


def _campaign_or_404(slug: Optional[str]) -> Campaign:
    campaign = (db.session.scalar(sa.select(Campaign).where(Campaign.slug == slug)) if slug
                else public.current_campaign())
    if campaign is None:
        raise NotFound("No such campaign.")
    return campaign


# --- Public figures -------------------------------------------------------------------------------

@bp.get("/campaigns")
@bp.arguments(s.PageArgs, location="query")
@bp.response(200, s.page_of(s.CampaignOut, "CampaignPage"))
@documented_errors(422, 429)
def list_campaigns(args):
    """Campaigns, newest first."""
    return envelope(paginate(sa.select(Campaign).order_by(Campaign.starts_on.desc()), args["page"], args["per_page"]))


@bp.get("/cases")
@bp.arguments(s.CaseArgs, location="query")
@bp.response(200, s.page_of(s.CaseOut, "CasePage"))
@documented_errors(404, 422, 429)
def list_cases(args):
    """A campaign's cases (default: the current campaign) with their totals."""
    campaign = _campaign_or_404(args.get("campaign"))
    page = paginate(sa.select(Case).where(Case.campaign_id == campaign.id).order_by(Case.position, Case.id),
                    args["page"], args["per_page"])
    result = envelope(page)
    result["items"] = _case_dicts(page.items)
    return result


@bp.get("/cases/<slug>")
@bp.response(200, s.CaseOut)
@documented_errors(404, 429)
def get_case(slug: str):
    """One case with its totals."""
    case = public.get_public_case(slug)
    if case is None:
        raise NotFound("No such case.")
    return _case_dicts([case])[0]


@bp.get("/stats")
@bp.arguments(s.CaseArgs, location="query")
@bp.response(200, s.StatsOut)
@documented_errors(404, 422, 429)
def stats(args):
    """Campaign totals and per-case totals (the same figures as the public pages)."""
    campaign = _campaign_or_404(args.get("campaign"))
    cases = _case_dicts(list(db.session.scalars(sa.select(Case).where(Case.campaign_id == campaign.id).order_by(Case.position, Case.id))))
    totals = {key: sum(c["totals"][key] for c in cases) for key in ("ordered", "reported", "mailed")}
    return {"campaign": campaign, "totals": totals, "cases": cases}


# --- Groups (staff) ----------------------------------------------------------------------------------

@bp.get("/groups")
@token_required(staff=True)
@bp.arguments(s.GroupArgs, location="query")
@bp.response(200, s.page_of(s.GroupOut, "GroupPage"))
@bp.doc(security=SECURITY)
@documented_errors(401, 403, 422, 429)
def list_groups(args):
    """Groups with contact details (staff only: personal data)."""
    query = sa.select(Group).order_by(Group.name)
    if args.get("status"):
        query = query.where(Group.status == GroupStatus(args["status"]))
    if args.get("q"):
        query = query.where(sa.func.lower(Group.name).like(f"%{args['q'].lower()}%"))
    return envelope(paginate(query, args["page"], args["per_page"]))


@bp.get("/groups/<int:group_id>")
@token_required()
@bp.response(200, s.GroupOut)
@bp.doc(security=SECURITY)
@documented_errors(401, 403, 404, 429)
def get_group(group_id: int):
    """One group: staff any, a coordinator their own."""
    user = current_api_user()
    group = db.session.get(Group, group_id)
    if group is None or (not user.is_staff and user.group_id != group.id):
        raise NotFound("No such group.")
    return group


# --- Orders ---------------------------------------------------------------------------------------------

def _order_or_404(order_id: int) -> Order:
    order = orders.order_for(current_api_user(), order_id)
    if order is None:
        raise NotFound("No such order.")
    return order


@bp.get("/orders")
@token_required()
@bp.arguments(s.OrderArgs, location="query")
@bp.response(200, s.page_of(s.OrderOut, "OrderPage"))
@bp.doc(security=SECURITY)
@documented_errors(401, 422, 429)
def list_orders(args):
    """Orders: staff see all, a coordinator their group's."""
    user = current_api_user()
    query = sa.select(Order).order_by(Order.id.desc())
    if not user.is_staff:
        query = query.where(Order.group_id == user.group_id)
    elif args.get("group_id"):
        query = query.where(Order.group_id == args["group_id"])
    if args.get("status"):
        query = query.where(Order.status == OrderStatus(args["status"]))
    return envelope(paginate(query, args["page"], args["per_page"]))


@bp.get("/orders/<int:order_id>")
@token_required()
@bp.response(200, s.OrderOut)
@bp.doc(security=SECURITY)
@documented_errors(401, 404, 429)
def get_order(order_id: int):
    """One order with lines and shipments."""
    return _order_or_404(order_id)


@bp.post("/orders")
@token_required()
@bp.arguments(s.OrderIn)
@bp.response(201, s.OrderOut)
@bp.doc(security=SECURITY)
@documented_errors(400, 401, 403, 422, 429)
def create_order(data):
    """A coordinator orders packs for their own group (submitted at once unless `submit` is false)."""
    user = current_api_user()
    if user.is_staff:
        raise Forbidden("Orders are placed by a group's coordinator.")
    group = user.group
    quantities: dict[tuple[int, int], int] = {}
    for line in data["lines"]:
        key = (line["case_id"], line["pack_size"])
        quantities[key] = quantities.get(key, 0) + line["packs"]
    draft = orders.OrderDraft(
        quantities=quantities, needed_by=data["needed_by"],
        delivery_name=data["delivery_name"] or group.contact_name, delivery_line1=data["delivery_line1"] or group.address_line1,
        delivery_line2=data["delivery_line2"] or group.address_line2, delivery_city=data["delivery_city"] or group.city,
        delivery_postcode=data["delivery_postcode"] or group.postcode, delivery_country=data["delivery_country"] or group.country,
        notes=data["notes"],
    )
    if draft.needed_by and draft.needed_by < date.today():
        raise ValidationProblem({"needed_by": ["The date is in the past."]})
    try:
        return orders.save_order(group, user, draft, submit=data["submit"])
    except orders.OrderError as error:
        raise ValidationProblem({"lines": [str(error)]}) from error


@bp.post("/orders/<int:order_id>/transitions")
@token_required()
@bp.arguments(s.TransitionIn)
@bp.response(200, s.OrderOut)
@bp.doc(security=SECURITY)
@documented_errors(401, 403, 404, 409, 422, 429)
def transition_order(data, order_id: int):
    """Move an order along its pipeline (who may do what is the same as in the web app)."""
    user = current_api_user()
    order = _order_or_404(order_id)
    to = OrderStatus(data["to"])
    actions = {
        OrderStatus.SUBMITTED: lambda: orders.submit(order, user) if order.status is OrderStatus.DRAFT else orders.release_hold(order, user),
        OrderStatus.APPROVED: lambda: orders.approve(order, user, comment=data["comment"], override_stock=data["override_stock"]),
        OrderStatus.ON_HOLD: lambda: orders.hold(order, user, data["comment"]),
        OrderStatus.REJECTED: lambda: orders.reject(order, user, data["comment"]),
        OrderStatus.CANCELLED: lambda: orders.cancel(order, user, data["comment"]),
        OrderStatus.PACKED: lambda: orders.mark_packed(order, user),
        OrderStatus.DISPATCHED: lambda: orders.dispatch(order, user, data["carrier"], data["tracking_number"], data["tracking_url"]),
        OrderStatus.DELIVERED: lambda: orders.mark_delivered(order, user),
    }
    try:
        actions[to]()
    except orders.TransitionForbidden as error:
        raise Forbidden(str(error)) from error
    except orders.InvalidTransition as error:
        raise ConflictProblem(str(error)) from error
    except orders.OrderError as error:
        raise ValidationProblem({"to": [str(error)]}) from error
    db.session.refresh(order)
    return order


@bp.get("/orders/<int:order_id>/packs")
@token_required(staff=True)
@bp.response(200, s.PacksOut)
@bp.doc(security=SECURITY)
@documented_errors(401, 403, 404, 429)
def order_packs(order_id: int):
    """The packs of an order, with their public URLs and the label PDF link."""
    order = _order_or_404(order_id)
    base = current_app.config["BASE_URL"]
    line_ids = [line.id for line in order.lines]
    packs = list(db.session.scalars(sa.select(Pack).where(Pack.order_line_id.in_(line_ids)).order_by(Pack.id))) if line_ids else []
    items = [{"id": p.id, "case_id": p.case_id, "order_line_id": p.order_line_id, "size": p.size, "code": p.code,
              "cards_posted": p.cards_posted, "url": pack_url(p.token, base)} for p in packs]
    return {"items": items, "labels_pdf": url_for("api.order_labels", order_id=order.id, _external=False) if packs else None}


@bp.get("/shipments")
@token_required()
@bp.arguments(s.ShipmentArgs, location="query")
@bp.response(200, s.page_of(s.ShipmentOut, "ShipmentPage"))
@bp.doc(security=SECURITY)
@documented_errors(401, 422, 429)
def list_shipments(args):
    """Parcels sent to groups (a coordinator sees their own)."""
    user = current_api_user()
    query = sa.select(Shipment).join(Order, Order.id == Shipment.order_id).order_by(Shipment.id.desc())
    if not user.is_staff:
        query = query.where(Order.group_id == user.group_id)
    if args.get("order_id"):
        query = query.where(Shipment.order_id == args["order_id"])
    return envelope(paginate(query, args["page"], args["per_page"]))


# --- Reports (public: the pack token is the credential) ------------------------------------------------

@bp.post("/packs/<token>/reports")
@ratelimit.limited(*ratelimit.API_BUDGETS, *ratelimit.REPORT_BUDGETS)  # report budgets shared with the pack page
@bp.arguments(s.ReportIn)
@bp.response(201, s.ReportOut)
@bp.alt_response(200, schema=s.ReportOut, description="A replay of an earlier request with the same Idempotency-Key: nothing added")
@bp.doc(parameters=[{"in": "header", "name": "Idempotency-Key", "required": True,
                     "schema": {"type": "string", "minLength": 8, "maxLength": 100},
                     "description": "A fresh random key per report (e.g. a UUID); retries send the same key"}])
@documented_errors(400, 404, 422, 429)
@database.reads_first  # record_report holds SQLite's write lock only for its short write transaction
def create_report(data, token: str):
    """Report cards posted from a pack. The same Idempotency-Key again returns the first answer and
    adds nothing; the same key with another number is refused (422)."""
    pack = reports.find_pack_view(token)
    if pack is None:
        raise NotFound("No pack has this token (it may have been reissued).")
    key = request.headers.get("Idempotency-Key", "")
    if not key:
        raise ValidationProblem({"Idempotency-Key": ["Send a fresh Idempotency-Key header with each report."]})
    pack_code = pack.code
    try:
        recorded = reports.record_report(pack, data["cards"], ReportSource.API, key)
    except reports.ReportError as error:
        field = "Idempotency-Key" if isinstance(error, reports.KeyConflict) or "key" in str(error).lower() else "cards"
        raise ValidationProblem({field: [str(error)]}) from error
    report = recorded.report
    totals = reports.pack_totals(report.pack_id, report.case_id)
    body = {"id": report.id, "pack_code": pack_code, "case_id": report.case_id, "cards": report.cards,
            "source": report.source.value, "created_at": report.created_at, "replayed": recorded.replayed,
            "pack_posted": totals.pack_posted, "pack_size": totals.pack_size, "case_reported": totals.case_reported}
    return body, (200 if recorded.replayed else 201)


@bp.get("/orders/<int:order_id>/labels.pdf")
@token_required()
@bp.arguments(s.LabelArgs, location="query")
@bp.response(200, content_type="application/pdf", description="The label sheet (PDF)")
@bp.doc(security=SECURITY)
@documented_errors(401, 404, 422, 429)
def order_labels(args, order_id: int):
    """Label sheet PDF for an order's packs (staff any order, a coordinator their own: print at home)."""
    order = _order_or_404(order_id)
    items = pack_services.label_items(pack_services.Selection(kind="order", order_id=order.id))
    pdf = labels.render_labels(items, labels.get_template(args["template"], args["paper"]), base_url=current_app.config["BASE_URL"])
    return Response(pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="order-{order.id}-labels.pdf"', "Cache-Control": "no-store"})


@bp.get("/mailings")
@token_required(staff=True)
@bp.arguments(s.MailingArgs, location="query")
@bp.response(200, s.page_of(s.MailingOut, "MailingPage"))
@bp.doc(security=SECURITY)
@documented_errors(401, 403, 422, 429)
def list_mailings(args):
    """Mailings of collected cards to the cases (staff)."""
    query = sa.select(Mailing).order_by(Mailing.id.desc())
    if args.get("case_id"):
        query = query.where(Mailing.case_id == args["case_id"])
    if args.get("status"):
        query = query.where(Mailing.status == MailingStatus(args["status"]))
    return envelope(paginate(query, args["page"], args["per_page"]))
