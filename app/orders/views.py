"""Ordering card packs (coordinators) and the order queue (staff)."""

from __future__ import annotations

from typing import Callable, Optional

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..auth.decorators import coordinator_required, login_required, staff_required
from ..htmx import render
from ..models import Order, OrderStatus
from . import services
from .forms import ApproveForm, DispatchForm, OrderForm, ReasonForm, parse_quantities

bp = Blueprint("orders", __name__)


def _me():
    return current_user._get_current_object()


def _order_or_404(order_id: int) -> Order:
    order = services.order_for(_me(), order_id)
    if order is None:
        abort(404)
    return order


# --- Coordinators -----------------------------------------------------------------------------------

def _order_page(form: OrderForm, options, quantities, qty_errors, order: Optional[Order], status: int = 200):
    group = _me().group
    return render_template(
        "orders/form.html", form=form, options=options, quantities=quantities, qty_errors=qty_errors,
        summary=services.summarise(options, quantities), suggestions=services.suggested_packs(group, options),
        order=order,
    ), status


def _draft_from(form: OrderForm, quantities) -> services.OrderDraft:
    return services.OrderDraft(
        quantities=quantities, needed_by=form.needed_by.data,
        **{name: (form[name].data or "").strip() for name in (
            "delivery_name", "delivery_line1", "delivery_line2", "delivery_city", "delivery_postcode",
            "delivery_country", "notes")},
    )


def _handle_order_form(order: Optional[Order]):
    options = services.order_options()
    if options is None or not options.cases:
        flash("There is nothing to order yet: no campaign has cases open for ordering.", "error")
        return redirect(url_for("groups.my_group"))
    group = _me().group
    if request.method == "GET":
        form = OrderForm(obj=order) if order else OrderForm(
            delivery_name=group.contact_name, delivery_line1=group.address_line1, delivery_line2=group.address_line2,
            delivery_city=group.city, delivery_postcode=group.postcode, delivery_country=group.country,
        )
        quantities = {(l.case_id, l.pack_size): l.packs for l in order.lines} if order else {}
        if request.args.get("suggest"):
            quantities = {(cid, size): packs for cid, (packs, size) in services.suggested_packs(group, options).items()}
        return _order_page(form, options, quantities, {}, order)
    form = OrderForm()
    quantities, qty_errors = parse_quantities(request.form, options)
    submit = request.form.get("action") == "submit"
    if form.validate_on_submit() and not qty_errors:
        try:
            saved = services.save_order(group, _me(), _draft_from(form, quantities), submit=submit, order=order)
        except services.OrderError as error:
            qty_errors["__all__"] = str(error)
        else:
            flash("Order submitted: we will email you when staff have reviewed it." if submit
                  else "Draft saved. Submit it when you are ready.", "success")
            return redirect(url_for("orders.order_detail", order_id=saved.id), code=303)
    return _order_page(form, options, quantities, qty_errors, order, status=422)


@bp.route("/orders/new", methods=["GET", "POST"])
@coordinator_required
def new_order():
    """Order card packs: cases × pack sizes, with live totals."""
    return _handle_order_form(None)


@bp.route("/orders/<int:order_id>/edit", methods=["GET", "POST"])
@coordinator_required
def edit_order(order_id: int):
    """Change a draft order."""
    order = _order_or_404(order_id)
    if order.status is not OrderStatus.DRAFT:
        flash("Only a draft order can be changed.", "error")
        return redirect(url_for("orders.order_detail", order_id=order.id))
    return _handle_order_form(order)


@bp.post("/orders/preview")
@coordinator_required
def preview():
    """Live line and order totals, stock availability and field errors (htmx)."""
    options = services.order_options()
    if options is None:
        abort(404)
    quantities, qty_errors = parse_quantities(request.form, options)
    form = OrderForm()
    form.validate()
    return render_template(
        "orders/_preview.html", options=options, summary=services.summarise(options, quantities),
        qty_errors=qty_errors, form=form,
    )


@bp.get("/orders/<int:order_id>")
@login_required
def order_detail(order_id: int):
    """One order: lines, status, comments, tracking."""
    order = _order_or_404(order_id)
    if _me().is_staff:
        return redirect(url_for("orders.staff_order", order_id=order.id))
    return render_template("orders/detail.html", order=order, targets=services.allowed_targets(order, _me()))


def _act(order_id: int, action: Callable[[Order], None], done: str, back: str):
    order = _order_or_404(order_id)
    try:
        action(order)
    except services.OrderError as error:
        flash(str(error), "error")
    else:
        flash(done, "success")
    return redirect(url_for(back, order_id=order.id), code=303)


@bp.post("/orders/<int:order_id>/submit")
@coordinator_required
def submit_order(order_id: int):
    """Submit a draft for staff review."""
    return _act(order_id, lambda o: services.submit(o, _me()), "Order submitted.", "orders.order_detail")


@bp.post("/orders/<int:order_id>/cancel")
@login_required
def cancel_order(order_id: int):
    """Cancel an order that is not approved yet (staff: also an approved one)."""
    form = ReasonForm()
    back = "orders.staff_order" if _me().is_staff else "orders.order_detail"
    if not form.validate_on_submit():
        abort(400)
    return _act(order_id, lambda o: services.cancel(o, _me(), form.reason.data or ""), "Order cancelled.", back)


@bp.post("/orders/<int:order_id>/delivered")
@login_required
def confirm_delivered(order_id: int):
    """Confirm that the parcel arrived."""
    back = "orders.staff_order" if _me().is_staff else "orders.order_detail"
    return _act(order_id, lambda o: services.mark_delivered(o, _me()), "Marked as delivered. Thank you!", back)


# --- Staff ------------------------------------------------------------------------------------------

def _filters() -> services.QueueFilters:
    args = request.args
    return services.QueueFilters(
        status=args.get("status", "")[:20], country=args.get("country", "")[:100], region=args.get("region", "")[:100],
        case_id=args.get("case", type=int), q=args.get("q", "")[:100], sort=args.get("sort", "submitted")[:20],
        page=args.get("page", 1, type=int),
    )


@bp.get("/staff/orders")
@staff_required
def queue():
    """The order queue: status tabs with counts, filters, group search, sorting, pages, bulk approve."""
    filters = _filters()
    options = services.order_options()
    if options is None:
        return render_template("public/no_campaign.html")
    return render(
        "orders/queue.html", "orders/_queue_results.html",
        page=services.queue(filters, options.campaign), counts=services.queue_counts(filters, options.campaign),
        filters=filters, cases=options.cases, regions=services.regions(), statuses=list(OrderStatus),
    )


@bp.get("/staff/orders/<int:order_id>")
@staff_required
def staff_order(order_id: int):
    """One order for staff: lines with stock, history, and the actions its status allows."""
    return _staff_detail(_order_or_404(order_id), DispatchForm())


def _staff_detail(order, dispatch_form: DispatchForm):
    return render_template(
        "orders/staff_detail.html", order=order, targets=services.allowed_targets(order, _me()),
        history=services.order_history(order), approve_form=ApproveForm(), reason_form=ReasonForm(),
        dispatch_form=dispatch_form,
    )


@bp.post("/staff/orders/<int:order_id>/approve")
@staff_required
def approve_order(order_id: int):
    """Approve (optionally with changed quantities and a comment); reserves stock, creates packs."""
    form = ApproveForm()
    if not form.validate_on_submit():
        flash("The comment is too long (1,000 characters at most).", "error")
        return redirect(url_for("orders.staff_order", order_id=order_id), code=303)
    packs = {}
    for key, value in request.form.items():
        if key.startswith("packs_"):
            raw = value.strip()
            if not raw.isdigit() or len(raw) > 6:
                flash("Packs must be whole numbers (0 or more).", "error")
                return redirect(url_for("orders.staff_order", order_id=order_id), code=303)
            line_id = key.removeprefix("packs_")
            if line_id.isdigit():
                packs[int(line_id)] = int(raw)
    return _act(order_id, lambda o: services.approve(o, _me(), packs=packs, comment=form.comment.data or "",
                                                     override_stock=form.override_stock.data),
                "Order approved: stock reserved and packs created.", "orders.staff_order")


@bp.post("/staff/orders/<int:order_id>/hold")
@staff_required
def hold_order(order_id: int):
    """Put an order on hold."""
    return _act_with_reason(order_id, services.hold, "Order on hold.")


def _act_with_reason(order_id: int, action, message: str):
    form = ReasonForm()
    form.validate_on_submit() or abort(400)
    return _act(order_id, lambda o: action(o, _me(), form.reason.data or ""), message, "orders.staff_order")


@bp.post("/staff/orders/<int:order_id>/release")
@staff_required
def release_order(order_id: int):
    """Take an order off hold, back to the queue."""
    return _act(order_id, lambda o: services.release_hold(o, _me()), "Order back in the queue.", "orders.staff_order")


@bp.post("/staff/orders/<int:order_id>/reject")
@staff_required
def reject_order(order_id: int):
    """Reject with a reason."""
    return _act_with_reason(order_id, services.reject, "Order rejected.")


@bp.post("/staff/orders/<int:order_id>/packed")
@staff_required
def pack_order(order_id: int):
    """Mark the parcel packed."""
    return _act(order_id, lambda o: services.mark_packed(o, _me()), "Order packed.", "orders.staff_order")


@bp.post("/staff/orders/<int:order_id>/dispatch")
@staff_required
def dispatch_order(order_id: int):
    """Record carrier and tracking number; the order is dispatched."""
    order = _order_or_404(order_id)
    form = DispatchForm()
    if form.validate_on_submit():
        return _act(order_id, lambda o: services.dispatch(o, _me(), form.carrier.data, form.tracking_number.data,
                                                          form.tracking_url.data or ""),
                    "Order dispatched.", "orders.staff_order")
    return _staff_detail(order, form), 422


@bp.post("/staff/orders/bulk-approve")
@staff_required
def bulk_approve():
    """Approve the ticked orders as requested."""
    ReasonForm().validate_on_submit() or abort(400)
    ids = [int(v) for v in request.form.getlist("order_id") if v.isdigit()][:200]
    if not ids:
        flash("Tick the orders to approve first.", "error")
    else:
        done, failed = services.bulk_approve(ids, _me())
        if done:
            flash(f"Approved {len(done)} order{'s' if len(done) != 1 else ''}.", "success")
        for order, message in failed:
            flash(f"Order #{order.id} ({order.group.name}) not approved: {message}", "error")
    return redirect(request.form.get("back") if (request.form.get("back") or "").startswith("/staff/orders") else url_for("orders.queue"), code=303)
