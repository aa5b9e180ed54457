"""Staff manage campaigns, cases (with photos), outcome updates; the public serves case photos."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, send_from_directory, url_for
from flask_login import current_user

from ..auth.decorators import staff_required
from ..models import CaseStatus
from ..tracking import stats
from ..tracking.filters import parse_id
from . import photos, services
from .forms import ActionForm, CampaignForm, CaseForm, CaseTranslationForm, OutcomeForm

bp = Blueprint("cases", __name__)


def _me():
    return current_user._get_current_object()


def _case_or_404(case_id: int):
    case = services.get_case(case_id)
    if case is None:
        abort(404)
    return case


def _campaign_or_404(campaign_id: int):
    campaign = services.get_campaign(campaign_id)
    if campaign is None:
        abort(404)
    return campaign


def _field_error(form, error: services.CaseError, fallback: str) -> None:
    target = form[error.field] if error.field and error.field in form else form[fallback]
    target.errors = list(target.errors) + [str(error)]


# --- Public: case photos -------------------------------------------------------------------------------

@bp.get("/media/<path:filename>")
def media(filename: str):
    """A case photo from the upload folder (random names only; cached for a year)."""
    if not photos.NAME.match(filename):
        abort(404)
    response = send_from_directory(photos.folder(), filename, mimetype=photos.MIMETYPES[filename.rsplit(".", 1)[1]], max_age=31536000)
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    return response


# --- Cases ---------------------------------------------------------------------------------------------

@bp.get("/staff/cases")
@staff_required
def list_cases():
    """The cases of a campaign (the current one by default) with their figures and display order."""
    campaigns = services.campaigns()
    campaign = services.campaign_named(campaigns, request.args.get("campaign", ""))
    cases = services.cases_of(campaign)
    return render_template("cases/list.html", campaigns=campaigns, campaign=campaign, cases=cases,
                           totals=stats.case_totals([c.id for c in cases]))


def _case_form_page(form: CaseForm, case=None, status: int = 200):
    return render_template("cases/form.html", form=form, case=case), status


@bp.route("/staff/cases/new", methods=["GET", "POST"])
@staff_required
def new_case():
    """Add a case to a campaign: every field of its public page, a photo, target and display order."""
    form = CaseForm()
    campaigns = services.campaigns()
    form.set_campaigns(campaigns)
    if request.method == "GET":
        current = next((c for c in campaigns if c.is_current), None)
        form.campaign_id.data = parse_id(request.args.get("campaign")) or (current.id if current else None)
        form.authority_address_is_placeholder.data = form.solidarity_address_is_placeholder.data = True
    if form.validate_on_submit():
        try:
            case = services.create_case(form.to_input(), form.uploaded_photo(), _me())
        except services.CaseError as error:
            _field_error(form, error, "name")
        else:
            flash(f"Case “{case.name}” added.", "success")
            return redirect(url_for("cases.staff_case", case_id=case.id), code=303)
    return _case_form_page(form, status=422 if form.is_submitted() else 200)


@bp.route("/staff/cases/<int:case_id>/edit", methods=["GET", "POST"])
@staff_required
def edit_case(case_id: int):
    """Change a case: texts, addresses, target, display order, photo."""
    case = _case_or_404(case_id)
    form = CaseForm(obj=case if request.method == "GET" else None)
    form.set_campaigns(services.campaigns())
    if form.validate_on_submit():
        try:
            services.update_case(case, form.to_input(), form.uploaded_photo(), bool(form.remove_photo.data), _me())
        except services.CaseError as error:
            _field_error(form, error, "name")
        else:
            flash("Case saved.", "success")
            return redirect(url_for("cases.staff_case", case_id=case.id), code=303)
    return _case_form_page(form, case, status=422 if form.is_submitted() else 200)


# --- Case texts in French, Spanish and Arabic --------------------------------------------------------------

def _locale_or_404(locale: str) -> str:
    if locale not in services.TRANSLATED_LOCALES:
        abort(404)
    return locale


def _translation_page(case, locale: str, form: CaseTranslationForm, status: int = 200):
    from ..i18n import LANGUAGES

    return render_template(
        "cases/translation.html", case=case, locale=locale, language=LANGUAGES[locale], languages=LANGUAGES,
        locales=services.TRANSLATED_LOCALES, existing=services.translations_of(case), form=form,
        action_form=ActionForm(),
    ), status


@bp.route("/staff/cases/<int:case_id>/translations/<locale>", methods=["GET", "POST"])
@staff_required
def edit_translation(case_id: int, locale: str):
    """The case's public texts in one language (French, Spanish, Arabic); empty fields show English."""
    case = _case_or_404(case_id)
    locale = _locale_or_404(locale)
    existing = services.get_translation(case, locale)
    form = CaseTranslationForm(obj=existing if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            services.save_translation(case, locale, form.to_input(), _me())
        except services.CaseError as error:
            _field_error(form, error, "summary")
        else:
            flash(f"{case.name}: texts in this language saved.", "success")
            return redirect(url_for("cases.edit_translation", case_id=case.id, locale=locale), code=303)
    return _translation_page(case, locale, form, status=422 if form.is_submitted() else 200)


@bp.post("/staff/cases/<int:case_id>/translations/<locale>/delete")
@staff_required
def delete_translation(case_id: int, locale: str):
    """Remove the case's texts in one language: its public pages show English again."""
    case = _case_or_404(case_id)
    locale = _locale_or_404(locale)
    ActionForm().validate_on_submit() or abort(400)
    if services.delete_translation(case, locale, _me()):
        flash("Translation removed: the public pages show the English texts in this language.", "success")
    return redirect(url_for("cases.edit_translation", case_id=case.id, locale=locale), code=303)


def _case_page(case, outcome_form: OutcomeForm, status: int = 200):
    return render_template(
        "cases/detail.html", case=case, totals=stats.case_totals([case.id])[case.id],
        timeline=services.timeline(case, public=False), outcome_form=outcome_form, action_form=ActionForm(),
        history=services.history(case),
    ), status


@bp.get("/staff/cases/<int:case_id>")
@staff_required
def staff_case(case_id: int):
    """One case for staff: figures, the timeline of mailings and outcome updates, actions."""
    return _case_page(_case_or_404(case_id), OutcomeForm())


@bp.post("/staff/cases/<int:case_id>/archive")
@staff_required
def archive_case(case_id: int):
    """Archive a case: off the home page and the order form; its public page stays."""
    case = _case_or_404(case_id)
    ActionForm().validate_on_submit() or abort(400)
    services.set_case_status(case, CaseStatus.ARCHIVED, _me())
    flash(f"“{case.name}” is archived.", "success")
    return redirect(url_for("cases.staff_case", case_id=case.id), code=303)


@bp.post("/staff/cases/<int:case_id>/restore")
@staff_required
def restore_case(case_id: int):
    """Bring an archived case back."""
    case = _case_or_404(case_id)
    ActionForm().validate_on_submit() or abort(400)
    services.set_case_status(case, CaseStatus.ACTIVE, _me())
    flash(f"“{case.name}” is active again.", "success")
    return redirect(url_for("cases.staff_case", case_id=case.id), code=303)


@bp.post("/staff/cases/<int:case_id>/outcomes")
@staff_required
def add_outcome(case_id: int):
    """Post an outcome update (shown on the public case page)."""
    case = _case_or_404(case_id)
    form = OutcomeForm()
    if form.validate_on_submit():
        try:
            services.add_outcome(case, form.happened_on.data, form.title.data, form.body.data or "", _me())
        except services.CaseError as error:
            _field_error(form, error, "title")
        else:
            flash("Update posted.", "success")
            return redirect(url_for("cases.staff_case", case_id=case.id) + "#timeline", code=303)
    return _case_page(case, form, 422)


@bp.post("/staff/cases/<int:case_id>/outcomes/<int:outcome_id>/delete")
@staff_required
def delete_outcome(case_id: int, outcome_id: int):
    """Remove an outcome update posted by mistake."""
    case = _case_or_404(case_id)
    outcome = services.get_outcome(case, outcome_id)
    if outcome is None:
        abort(404)
    ActionForm().validate_on_submit() or abort(400)
    services.delete_outcome(outcome, _me())
    flash("Update removed.", "success")
    return redirect(url_for("cases.staff_case", case_id=case.id) + "#timeline", code=303)


# --- Campaigns -------------------------------------------------------------------------------------------

@bp.get("/staff/campaigns")
@staff_required
def campaigns():
    """Every campaign; switch the current one."""
    return render_template("cases/campaigns.html", campaigns=services.campaigns(), action_form=ActionForm(),
                           sizes=services.active_sizes)


@bp.route("/staff/campaigns/new", methods=["GET", "POST"])
@staff_required
def new_campaign():
    """Add a campaign (e.g. next year's) with its pack sizes."""
    form = CampaignForm()
    if form.validate_on_submit():
        try:
            campaign = services.create_campaign(form.to_input(), _me())
        except services.CaseError as error:
            _field_error(form, error, "name")
        else:
            flash(f"Campaign “{campaign.name}” added. Add its cases, then make it current.", "success")
            return redirect(url_for("cases.campaigns"), code=303)
    return render_template("cases/campaign_form.html", form=form, campaign=None), 422 if form.is_submitted() else 200


@bp.route("/staff/campaigns/<int:campaign_id>/edit", methods=["GET", "POST"])
@staff_required
def edit_campaign(campaign_id: int):
    """Change a campaign's name, dates and pack sizes."""
    campaign = _campaign_or_404(campaign_id)
    form = CampaignForm(obj=campaign if request.method == "GET" else None)
    if request.method == "GET":
        form.pack_sizes.data = ", ".join(str(s) for s in services.active_sizes(campaign))
    if form.validate_on_submit():
        try:
            services.update_campaign(campaign, form.to_input(), _me())
        except services.CaseError as error:
            _field_error(form, error, "name")
        else:
            flash("Campaign saved.", "success")
            return redirect(url_for("cases.campaigns"), code=303)
    return render_template("cases/campaign_form.html", form=form, campaign=campaign), 422 if form.is_submitted() else 200


@bp.post("/staff/campaigns/<int:campaign_id>/current")
@staff_required
def make_current(campaign_id: int):
    """Make this the current campaign (the public home, ordering and the dashboard follow it)."""
    campaign = _campaign_or_404(campaign_id)
    ActionForm().validate_on_submit() or abort(400)
    services.make_current(campaign, _me())
    flash(f"{campaign.name} is now the current campaign.", "success")
    return redirect(url_for("cases.campaigns"), code=303)
