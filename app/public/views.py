"""Public pages: the campaign home and the case pages."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, render_template

from ..htmx import render
from ..i18n import current_language
from . import services

bp = Blueprint("public", __name__)


@bp.get("/")
def home():
    """The current campaign: its cases as cards with live totals and the days left."""
    campaign = services.current_campaign()
    if campaign is None:
        return render_template("public/no_campaign.html")
    cases = services.localize_all(services.public_cases(campaign), current_language().code)
    totals = services.case_totals([c.id for c in cases])
    return render(
        "public/home.html",
        "public/_case_cards.html",
        campaign=campaign,
        cases=cases,
        totals=totals,
        days_left=services.days_left(campaign),
        today=date.today(),
    )


@bp.get("/cases/<slug>")
def case_page(slug: str):
    """One case: story, the ask, who to write to and where, totals, and a timeline of outcomes and mailings."""
    case = services.get_public_case(slug)
    if case is None:
        abort(404)
    totals = services.case_totals([case.id])[case.id]
    case = services.localize(case, current_language().code)
    return render(
        "public/case.html", "public/_case_totals.html", case=case, campaign=case.campaign, totals=totals,
        timeline=services.public_timeline(case),
    )
