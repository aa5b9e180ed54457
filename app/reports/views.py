"""The volunteer's pack page (no login), manual code entry, and staff corrections of reports.

The pack page shows the case and one question; it never shows anything about the group that ordered
the pack (their name and address are personal data).
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, make_response, redirect, render_template, request, url_for
from flask.wrappers import Response
from flask_babel import gettext
from flask_login import current_user
from flask_wtf.csrf import CSRFError

from .. import database, ratelimit
from ..auth.decorators import staff_required
from ..extensions import db, limiter
from ..htmx import render, wants_fragment
from ..i18n import current_language
from ..public.services import localize
from ..models import Pack, ReportSource
from ..packs import codes
from . import fragments, services
from .forms import CodeForm, CorrectForm, ReportEntry, ReportForm, VoidForm

bp = Blueprint("reports", __name__)


# --- Rate limits: reports per client and per pack, pack URLs per client counting only misses (app/ratelimit.py);
#     code look-ups per client counting only failures (Flask-Limiter) ---------------------------------

def _limit(name: str):
    return lambda: current_app.config[name]


def _pack_in_url() -> services.PackView | None:
    """The pack whose token is in the URL (one query), else None."""
    return services.find_pack_view((request.view_args or {}).get("token", ""))


def _not_redirected(response: Response) -> bool:
    return response.status_code != 303


@bp.app_template_filter("pack_code")
def pack_code(code: str) -> str:
    """`7K3Q9XJ2M` -> `7K3Q-9XJ2-M` in templates."""
    return codes.format_code(code)


# --- Helpers ----------------------------------------------------------------------------------------

def _no_store(body) -> Response:
    """Each load of the pack page carries a fresh idempotency key: never serve it from a cache."""
    response = make_response(body)
    response.headers["Cache-Control"] = "no-store"
    return response


def _case_of(pack: services.AnyPack):
    """The pack's case in the page's language (English where it has no translation)."""
    return localize(pack.case, current_language().code)


def _pack_not_found():
    return _no_store((render_template("reports/pack_not_found.html"), 404))


def _case_parts(case) -> fragments.CaseParts:
    return fragments.case_parts(case, current_language().code)


def _pack_page(pack: services.AnyPack, entry: ReportEntry, status: int = 200):
    """The pack page with the report form showing `entry` (a fresh key, or a refused post's values)."""
    case = _case_of(pack)
    parts = None if wants_fragment() else _case_parts(case)  # htmx swaps only the form
    response = render(
        "reports/pack.html", "reports/_report_form.html", status_code=status,
        pack=pack, case=case, case_parts=parts, entry=entry,
    )
    return _no_store(response)


# --- Volunteers -------------------------------------------------------------------------------------

def _miss():
    """A pack URL that names no pack: 404, spending the client's misses budget (429 once used up).

    A real pack token (130 random bits) is no guess: it never touches that budget (no storage round
    trip on the hot path). Random-token floods get 404s, then 429."""
    ratelimit.spend(ratelimit.MISS_BUDGETS)
    return _pack_not_found()


@bp.get("/P/<token>")  # QR codes carry upper-case URLs (alphanumeric mode); url_for uses the last rule
@bp.get("/p/<token>")
@limiter.exempt  # governed by the budgets above (app/ratelimit.py), not by any Flask-Limiter default
def pack_page(token: str):
    """The pack page a QR code opens: the case, what to write, where to post, and "how many cards?"."""
    pack = _pack_in_url()
    if pack is None:
        # Someone typed the short code into the address bar: guesses are checked against the misses
        # budget before the look-up, so a client over budget cannot tell right codes from wrong ones.
        ratelimit.check(ratelimit.MISS_BUDGETS)
        try:
            pack = services.find_pack_by_code(token)
        except codes.InvalidCode:
            pack = None
        if pack is None:
            return _miss()
        return redirect(url_for("reports.pack_page", token=pack.token), code=303)
    return _pack_page(pack, ReportEntry.fresh())


@bp.post("/P/<token>")
@bp.post("/p/<token>")
@database.reads_first  # record_report holds SQLite's write lock only for its short write transaction
@limiter.exempt  # governed by the budgets above (app/ratelimit.py), not by any Flask-Limiter default
def post_report(token: str):
    """Record the cards posted from this pack; answers thanks (htmx) or redirects to it (no JS)."""
    pack = _pack_in_url()
    if pack is None:
        return _miss()
    ratelimit.spend(ratelimit.REPORT_BUDGETS)  # per client and per pack, one storage round trip
    token = pack.token
    form = ReportForm()
    if form.validate_on_submit():
        try:
            recorded = services.record_report(
                pack, form.cards.data, ReportSource.PAGE, form.idempotency_key.data
            )
        except services.ReportError as error:
            form.cards.errors.append(str(error))
        else:
            if wants_fragment():
                return _no_store(render_template(
                    "reports/_thanks.html", pack=pack, case=_case_of(pack), report=recorded.report,
                    replayed=recorded.replayed, totals=services.totals_for(pack),
                ))
            return redirect(url_for("reports.thanks", token=token, report_id=recorded.report.id), code=303)
    return _pack_page(pack, ReportEntry.of(form), status=422)


@bp.get("/p/<token>/thanks/<int:report_id>")
def thanks(token: str, report_id: int):
    """Thanks after a report, with the pack's and the case's running totals (the no-JS path)."""
    pack = services.find_pack_by_token(token)
    report = services.get_report(report_id) if pack else None
    if pack is None or report is None or report.pack_id != pack.id:
        return _pack_not_found()
    case = _case_of(pack)
    return _no_store(render_template(
        "reports/pack.html", pack=pack, case=case, case_parts=_case_parts(case), report=report, replayed=False,
        totals=services.totals_for(pack),
    ))


@bp.errorhandler(CSRFError)
def csrf_expired(error: CSRFError):
    """A pack page posted without a valid form token (cookies cleared, or a very old tab): ask again."""
    token = (request.view_args or {}).get("token")
    pack = services.find_pack_by_token(token) if token and request.endpoint == "reports.post_report" else None
    if pack is None:
        from ..errors import error_page_context

        return render_template("errors/error.html", **error_page_context(error)), 400
    form = ReportForm()
    form.validate()
    form.cards.errors = [gettext("Your page was open for a long time: please tap the button again.")]
    return _pack_page(pack, ReportEntry.of(form), status=400)


@bp.route("/P", methods=["GET", "POST"])
@bp.route("/p", methods=["GET", "POST"])
@limiter.limit(_limit("RATELIMIT_CODE_LOOKUPS_PER_IP"), methods=["POST"], deduct_when=_not_redirected)
def enter_code():
    """Type the short code printed under the QR code (when the camera fails); opens the pack page."""
    form = CodeForm()
    if form.validate_on_submit():
        try:
            pack = services.find_pack_by_code(form.code.data)
        except codes.InvalidCode as error:
            form.code.errors.append(str(error))
        else:
            if pack is not None:
                return redirect(url_for("reports.pack_page", token=pack.token), code=303)
            form.code.errors.append(gettext("No pack has that code. Check it against the label and try again."))
    status = 422 if form.errors else 200
    return render_template("reports/enter_code.html", form=form), status


# --- Staff: a pack's reports, void and correct ---------------------------------------------------------

def _me():
    return current_user._get_current_object()


def _staff_pack_page(pack: Pack, status: int = 200, **forms):
    return _no_store((render_template(
        "reports/staff_pack.html", pack=pack, reports=services.pack_reports(pack), **forms
    ), status))


@bp.get("/staff/packs/<int:pack_id>/reports")
@staff_required
def pack_reports(pack_id: int):
    """One pack for staff: group, counts and every report, with void and correct."""
    pack = db.get_or_404(Pack, pack_id)
    return _staff_pack_page(pack)


def _report_or_404(report_id: int):
    report = services.get_report(report_id)
    if report is None:
        abort(404)
    return report


@bp.post("/staff/reports/<int:report_id>/void")
@staff_required
def void_report(report_id: int):
    """Void a report with a reason: it stops counting."""
    report = _report_or_404(report_id)
    form = VoidForm()
    if form.validate_on_submit():
        try:
            services.void_report(report, _me(), form.reason.data)
        except services.ReportError as error:
            form.reason.errors.append(str(error))
        else:
            flash(f"Report #{report.id} voided: {report.cards} cards no longer count.", "success")
            return redirect(url_for("reports.pack_reports", pack_id=report.pack_id), code=303)
    return _staff_pack_page(report.pack, 422, void_form=form, form_report_id=report.id)


@bp.post("/staff/reports/<int:report_id>/correct")
@staff_required
def correct_report(report_id: int):
    """Correct a report's number with a reason (voids it and records the right number)."""
    report = _report_or_404(report_id)
    form = CorrectForm()
    if form.validate_on_submit():
        try:
            correction = services.correct_report(report, form.cards.data, _me(), form.reason.data)
        except services.ReportError as error:
            form.cards.errors.append(str(error))
        else:
            flash(f"Report #{report.id} corrected to {correction.cards} cards.", "success")
            return redirect(url_for("reports.pack_reports", pack_id=report.pack_id), code=303)
    return _staff_pack_page(report.pack, 422, correct_form=form, form_report_id=report.id)

