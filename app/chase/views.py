"""The chase list (staff): dispatched packs nobody reported, by group, with reminder emails."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..auth.decorators import staff_required
from ..htmx import render, wants_fragment
from . import services
from .forms import RemindForm

bp = Blueprint("chase", __name__, url_prefix="/staff/chase")


def _days(raw) -> int:
    default = current_app.config["CHASE_AFTER_DAYS"]
    return services.clamp_days(raw, default)


@bp.get("")
@staff_required
def chase_list():
    """Packs dispatched more than N days ago (?days=, default CHASE_AFTER_DAYS) with no report, by group."""
    days = _days(request.args.get("days", type=int))
    pagination, rows, totals = services.chase_list(days, request.args.get("page", 1, type=int))
    response = render(
        "chase/list.html", "chase/_groups.html",
        pagination=pagination, rows=rows, totals=totals, days=days,
    )
    response.headers["Cache-Control"] = "no-store"  # group names and contacts' packs: personal data
    return response


@bp.post("/<int:group_id>/remind")
@staff_required
def remind_group(group_id: int):
    """Email the group's coordinators a reminder listing their unreported packs."""
    group = services.get_group(group_id)
    if group is None:
        abort(404)
    form = RemindForm()
    if not form.validate_on_submit():
        abort(400)
    days = _days(form.days.data)
    try:
        reminder = services.send_reminder(group, current_user._get_current_object(), days)
    except services.ChaseError as error:
        message, category = str(error), "error"
    else:
        message = f"Reminder sent to {reminder.recipients} {'person' if reminder.recipients == 1 else 'people'} at {group.name}."
        category = "success"
    if wants_fragment():
        row = services.chase_group(group, days)
        return render_template("chase/_group.html", row=row, days=days, message=message, category=category)
    flash(message, category)
    return redirect(url_for("chase.chase_list", days=days), code=303)
