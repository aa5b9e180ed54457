"""Staff record mailings of collected cards to each case and move them through their steps."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..auth.decorators import staff_required
from ..htmx import push_clean_url, render
from ..models import Mailing, MailingDestination, MailingStatus
from ..packs.codes import format_code
from ..tracking.filters import clean_text, parse_id
from . import services
from .forms import AdvanceForm, DeleteForm, MailingForm

bp = Blueprint("mailings", __name__, url_prefix="/staff/mailings")


def _me():
    return current_user._get_current_object()


def _mailing_or_404(mailing_id: int) -> Mailing:
    mailing = services.get(mailing_id)
    if mailing is None:
        abort(404)
    return mailing


def _enum_arg(enum_cls, name: str):
    try:
        return enum_cls(request.args.get(name, ""))
    except ValueError:
        return None


def _id_arg(name: str):
    return parse_id(request.args.get(name))


@bp.get("/")
@staff_required
def list_mailings():
    """Every mailing: filter by campaign, case, status, destination; search; sort; pages."""
    filters = services.ListFilters(
        campaign_id=_id_arg("campaign"), case_id=_id_arg("case"), status=_enum_arg(MailingStatus, "status"),
        destination_type=_enum_arg(MailingDestination, "destination"), q=clean_text(request.args.get("q", "")),
        sort=request.args.get("sort", "-created")[:20], page=min(max(1, request.args.get("page", 1, type=int) or 1), 100_000),
    )
    return push_clean_url(render(
        "mailings/list.html", "mailings/_results.html", page=services.list_mailings(filters), filters=filters,
        cases=services.case_choices(), campaigns=services.campaigns(), statuses=list(MailingStatus),
        destinations=services.DESTINATION_LABELS,
    ))


def _form_page(form: MailingForm, mailing: Mailing | None = None, status: int = 200):
    return render_template("mailings/form.html", form=form, mailing=mailing), status


def _apply_error(form: MailingForm, error: services.MailingError) -> None:
    target = form[error.field] if error.field and error.field in form else form.destination
    target.errors = list(target.errors) + [str(error)]


@bp.route("/new", methods=["GET", "POST"])
@staff_required
def new_mailing():
    """Record a batch of cards prepared for a case."""
    form = MailingForm()
    form.set_cases(services.case_choices())
    if request.method == "GET":
        case_id = _id_arg("case")
        if case_id:
            form.case_id.data = case_id
        form.prepared_on.data = date.today()
    if form.validate_on_submit():
        try:
            mailing = services.create(form.to_input(), _me())
        except services.MailingError as error:
            _apply_error(form, error)
        else:
            flash(f"Mailing of {mailing.quantity:,} cards recorded.", "success")
            return redirect(url_for("mailings.detail", mailing_id=mailing.id), code=303)
    return _form_page(form, status=422 if form.is_submitted() else 200)


@bp.get("/<int:mailing_id>")
@staff_required
def detail(mailing_id: int):
    """One mailing: details, packs, its steps and the button for the next one."""
    mailing = _mailing_or_404(mailing_id)
    return _detail_page(mailing, AdvanceForm())


def _detail_page(mailing: Mailing, advance_form: AdvanceForm, status: int = 200):
    nxt = services.next_status(mailing)
    if nxt is not None:
        advance_form.to.data = nxt.value
    return render_template(
        "mailings/detail.html", mailing=mailing, next_status=nxt, advance_form=advance_form, delete_form=DeleteForm(),
        history=services.history(mailing), format_code=format_code, verbs=services.STATUS_VERBS,
        date_fields=services.DATE_FIELDS, destinations=services.DESTINATION_LABELS, contents=services.CONTENT_LABELS,
    ), status


@bp.route("/<int:mailing_id>/edit", methods=["GET", "POST"])
@staff_required
def edit_mailing(mailing_id: int):
    """Change a mailing's details (its status moves only forward, from its page)."""
    mailing = _mailing_or_404(mailing_id)
    form = MailingForm(obj=mailing if request.method == "GET" else None)
    form.set_cases(services.case_choices())
    if request.method == "GET":
        form.pack_codes.data = "\n".join(format_code(p.code) for p in mailing.packs)
    if form.validate_on_submit():
        try:
            services.update(mailing, form.to_input(), _me())
        except services.MailingError as error:
            _apply_error(form, error)
        else:
            flash("Mailing updated.", "success")
            return redirect(url_for("mailings.detail", mailing_id=mailing.id), code=303)
    return _form_page(form, mailing, status=422 if form.is_submitted() else 200)


@bp.post("/<int:mailing_id>/advance")
@staff_required
def advance(mailing_id: int):
    """Move the mailing one step forward (sent, delivered, acknowledged) with the date it happened."""
    mailing = _mailing_or_404(mailing_id)
    form = AdvanceForm()
    target = form.target()
    if form.validate_on_submit() and target is not None:
        try:
            services.advance(mailing, target, form.on.data, _me())
        except services.MailingError as error:
            if error.field == "on":
                form.on.errors = list(form.on.errors) + [str(error)]
            else:
                flash(str(error), "error")
                return redirect(url_for("mailings.detail", mailing_id=mailing.id), code=303)
        else:
            flash(f"Marked {target.value}.", "success")
            return redirect(url_for("mailings.detail", mailing_id=mailing.id), code=303)
    elif target is None and form.is_submitted():
        flash("Unknown step.", "error")
        return redirect(url_for("mailings.detail", mailing_id=mailing.id), code=303)
    return _detail_page(mailing, form, 422)


@bp.post("/<int:mailing_id>/delete")
@staff_required
def delete_mailing(mailing_id: int):
    """Delete a mailing recorded by mistake (only while prepared)."""
    mailing = _mailing_or_404(mailing_id)
    DeleteForm().validate_on_submit() or abort(400)
    case_id = mailing.case_id
    try:
        services.delete(mailing, _me())
    except services.MailingError as error:
        flash(str(error), "error")
        return redirect(url_for("mailings.detail", mailing_id=mailing_id), code=303)
    flash("Mailing deleted.", "success")
    return redirect(url_for("mailings.list_mailings", case=case_id), code=303)
