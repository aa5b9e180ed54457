"""Packs and labels: an order's packs, label sheets (preview, PDF, background jobs), packing slips,
reissuing a label, pre-printed packs for a print run and assigning them to an order line.

Access: staff see everything. A coordinator sees their own group's orders only, and may print the
labels and insert cards of those orders' packs; anything else answers 404 (as if missing), and the
staff-only routes answer 403.
"""

from __future__ import annotations

from typing import Optional

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user
from markupsafe import Markup

from ..auth.decorators import login_required, staff_required
from ..htmx import render, wants_fragment
from ..models import ORDERED_STATUSES, LabelJobStatus, Order, User
from ..orders.services import order_for
from ..pagination import paginate
from . import jobs, labels, qr, services
from .codes import format_code
from .forms import AssignForm, ConfirmForm, LabelForm, PreprintForm, PreviewForm, parse_pack_numbers
from .services import PackError, Selection

bp = Blueprint("packs", __name__)

PACKS_PER_PAGE = 100
STOP_POLLING = 286  # htmx stops polling on this status


def _me() -> User:
    return current_user._get_current_object()  # type: ignore[attr-defined]


def _order_or_404(order_id: int) -> Order:
    order = order_for(_me(), order_id)
    if order is None:
        abort(404)
    return order


def _allowed_group(selection: Selection) -> Optional[int]:
    """Check a selection against the current user; the group to restrict packs to (None for staff).

    Coordinators may print a whole order of their group or chosen packs of their group's orders;
    another group's order or pack answers 404, print runs and ranges 403 (staff tools).
    """
    me = _me()
    if me.is_staff:
        return None
    if selection.kind == "order":
        _order_or_404(selection.order_id or 0)
    elif selection.kind == "packs":
        if services.count_selection(selection, me.group_id) != len(set(selection.pack_ids)):
            abort(404)
    else:
        abort(403)
    return me.group_id


def _label_form_for_order(order: Order) -> LabelForm:
    return LabelForm(formdata=None, order_id=str(order.id), kind="order")


def _base_url() -> str:
    return current_app.config["BASE_URL"]


@bp.get("/orders/<int:order_id>/packs")
@login_required
def order_packs(order_id: int):
    """An order's packs with their codes, the label options and (staff) reissue and assign tools."""
    order = _order_or_404(order_id)
    page = paginate(services.order_packs_query(order), request.args.get("page", type=int), PACKS_PER_PAGE)
    context = dict(order=order, page=page, format_code=format_code)
    if not wants_fragment():
        context.update(
            label_form=_label_form_for_order(order),
            per_line=services.packs_per_line(order),
            assign_form=AssignForm(formdata=None),
            confirm_form=ConfirmForm(),
            can_create=order.status in ORDERED_STATUSES,
        )
    return render("packs/order.html", "packs/_pack_table.html", **context)


@bp.get("/packs/labels/preview")
@login_required
def label_preview():
    """An on-screen preview of the first sheet, as it will print (fragment for htmx)."""
    form = PreviewForm(formdata=request.args)
    if not form.validate():
        return render("packs/preview.html", "packs/_sheet_preview.html", form=form, cells=None, template=None,
                      status_code=422)
    selection = form.selection()
    group_id = _allowed_group(selection)
    template = labels.get_template(form.layout.data, form.paper.data)
    try:
        items = services.label_items(selection, group_id, limit=template.per_page)
    except PackError as error:
        form.packs.errors = [str(error)]
        return render("packs/preview.html", "packs/_sheet_preview.html", form=form, cells=None, template=None,
                      status_code=422)
    cells: list[Optional[dict]] = [None] * (form.start_at.data - 1 if template.layout != "insert" else 0)
    for item in items:
        # Our own SVG: the payload is an upper-case token URL and the title is XML-escaped.
        svg = Markup(qr.svg(qr.qr_payload(item.token, _base_url()), title=f"QR code of pack {item.pack_id}"))  # nosec B704 - SVG built by app/packs/qr.py from an upper-case URL and an escaped title
        cells.extend([{"item": item, "svg": svg, "code": format_code(item.code)}] * form.copies.data)
    cells = cells[: template.per_page]
    cells += [None] * (template.per_page - len(cells))
    total = services.count_selection(selection, group_id) * form.copies.data
    return render("packs/preview.html", "packs/_sheet_preview.html", form=form, cells=cells, template=template,
                  total=total)


@bp.post("/packs/labels")
@login_required
def download_labels():
    """The label PDF: sent at once when small, else generated in the background with a progress page."""
    form = LabelForm()
    if not form.validate_on_submit():
        return render_template("packs/label_errors.html", form=form), 422
    selection = form.selection()
    group_id = _allowed_group(selection)
    options = jobs.SheetOptions(form.layout.data, form.paper.data, form.start_at.data, form.copies.data)
    try:
        total = services.count_selection(selection, group_id) * options.copies
        if total > jobs.sync_limit():
            job = jobs.start_label_job(selection, options, _me(), total)
            return redirect(url_for("packs.label_job", job_id=job.id), code=303)
        pdf = jobs.render_now(selection, options, group_id, _base_url())
    except PackError as error:
        form.packs.errors = [str(error)]
        return render_template("packs/label_errors.html", form=form), 422
    name = f"labels-{selection.kind}-{options.layout}-{options.paper}.pdf"
    return _pdf_response(pdf, name)


def _pdf_response(pdf: bytes, name: str):
    import io

    response = send_file(io.BytesIO(pdf), mimetype="application/pdf", as_attachment=True, download_name=name)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/packs/labels/jobs/<int:job_id>")
@login_required
def label_job(job_id: int):
    """Progress of a background label job; htmx polls the fragment until it answers 286 (done)."""
    job = jobs.job_for(_me(), job_id)
    if job is None:
        abort(404)
    interrupted = jobs.is_interrupted(job)
    finished = interrupted or job.status in (LabelJobStatus.DONE, LabelJobStatus.FAILED)
    status = STOP_POLLING if finished and wants_fragment() else 200
    return render("packs/job.html", "packs/_job_progress.html", job=job, interrupted=interrupted,
                  finished=finished, status_code=status)


@bp.get("/packs/labels/jobs/<int:job_id>/labels.pdf")
@login_required
def label_job_file(job_id: int):
    """The finished PDF of a background label job."""
    job = jobs.job_for(_me(), job_id)
    path = jobs.job_file(current_app._get_current_object(), job) if job else None  # type: ignore[attr-defined]
    if path is None:
        abort(404)
    response = send_file(path, mimetype="application/pdf", as_attachment=True, download_name=f"labels-job-{job_id}.pdf")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/orders/<int:order_id>/packing-slip.pdf")
@staff_required
def packing_slip(order_id: int):
    """The packing slip of an order: group, address, lines and every pack's code and QR."""
    order = _order_or_404(order_id)
    paper = request.args.get("paper", "a4")
    if paper not in labels.PAPERS:
        abort(404)
    pdf = labels.render_packing_slip(services.packing_slip(order), base_url=_base_url(), paper=paper)
    if pdf is None:
        abort(500)
    return _pdf_response(pdf, f"packing-slip-order-{order.id}.pdf")


@bp.post("/staff/orders/<int:order_id>/packs")
@staff_required
def create_missing_packs(order_id: int):
    """Create the packs an approved order still lacks (e.g. after quantities changed)."""
    order = _order_or_404(order_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        created = services.add_missing_packs(order, _me())
    except PackError as error:
        flash(str(error), "error")
    else:
        flash(f"{created} pack(s) created." if created else "Every pack of this order already exists.", "success")
    return redirect(url_for("packs.order_packs", order_id=order.id), code=303)


@bp.route("/staff/packs/<int:pack_id>/reissue", methods=["GET", "POST"])
@staff_required
def reissue_pack(pack_id: int):
    """Confirm, then give a pack a new QR token and code: its old label stops working."""
    pack = services.get_pack(pack_id)
    if pack is None:
        abort(404)
    form = ConfirmForm()
    if form.validate_on_submit():
        old = format_code(pack.code)
        services.reissue_pack(pack, _me())
        flash(f"Pack {pack.id} has a new label: {format_code(pack.code)} (the old code {old} no longer works). "
              "Print its label now.", "success")
        return redirect(url_for("packs.reissued_pack", pack_id=pack.id), code=303)
    return render_template("packs/reissue.html", pack=pack, form=form, code=format_code(pack.code)), (
        400 if request.method == "POST" else 200)


@bp.get("/staff/packs/<int:pack_id>")
@staff_required
def reissued_pack(pack_id: int):
    """One pack with a form to print its (new) label."""
    pack = services.get_pack(pack_id)
    if pack is None:
        abort(404)
    form = LabelForm(formdata=None, kind="packs", packs=str(pack.id))
    return render_template("packs/pack.html", pack=pack, form=form, code=format_code(pack.code),
                           svg=Markup(qr.svg(qr.qr_payload(pack.token, _base_url()), title="QR code")))  # nosec B704 - our own SVG, see above


@bp.get("/staff/packs")
@staff_required
def print_runs():
    """Print runs and their pre-printed packs."""
    return render_template("packs/print_runs.html", runs=services.print_runs_with_packs())


@bp.route("/staff/print-runs/<int:run_id>/packs", methods=["GET", "POST"])
@staff_required
def print_run_packs(run_id: int):
    """A print run's pre-printed packs; create more; print their labels."""
    run = services.get_print_run(run_id)
    if run is None:
        abort(404)
    form = PreprintForm()
    status = 200
    if form.validate_on_submit():
        try:
            created = services.create_preprinted_packs(run, form.size.data, form.count.data, actor=_me())
        except PackError as error:
            form.count.errors = [str(error)]
        else:
            flash(f"{created} pre-printed pack(s) created.", "success")
            return redirect(url_for("packs.print_run_packs", run_id=run.id), code=303)
    if form.errors:
        status = 422
    page = paginate(services.print_run_packs_query(run), request.args.get("page", type=int), PACKS_PER_PAGE)
    label_form = LabelForm(formdata=None, kind="print_run", print_run_id=str(run.id))
    return render_template("packs/print_run.html", run=run, form=form, page=page, label_form=label_form,
                           format_code=format_code), status


@bp.post("/staff/order-lines/<int:line_id>/assign")
@staff_required
def assign_packs(line_id: int):
    """Assign pre-printed packs (by number) to an order line."""
    line = services.get_order_line(line_id)
    if line is None:
        abort(404)
    form = AssignForm()
    if form.validate_on_submit():
        try:
            assigned = services.assign_packs(parse_pack_numbers(form.packs.data, limit=10_000), line, actor=_me())
        except PackError as error:
            flash(str(error), "error")
        else:
            flash(f"{assigned} pre-printed pack(s) assigned to {line.case.name}.", "success")
    else:
        flash("; ".join(e for errors in form.errors.values() for e in errors), "error")
    return redirect(url_for("packs.order_packs", order_id=line.order_id), code=303)
