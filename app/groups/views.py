"""Groups: the staff review list and detail page, and the coordinator's group home."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..auth import services as accounts
from ..auth.decorators import coordinator_required, staff_required
from ..auth.forms import InviteForm, ReasonForm
from ..htmx import render
from ..models import GroupStatus, User
from ..extensions import db
from . import services

bp = Blueprint("groups", __name__)


@bp.get("/staff/groups")
@staff_required
def staff_groups():
    """All groups: filter by status and country, search, sort, paginate."""
    args = request.args
    page = services.list_groups(
        status=args.get("status"), q=args.get("q", "")[:100], country=args.get("country", "")[:100],
        sort=args.get("sort", "-created"), page=args.get("page", 1, type=int),
    )
    return render(
        "groups/staff_list.html", "groups/_rows.html", page=page, counts=services.status_counts(),
        countries=services.countries(), statuses=list(GroupStatus),
    )


def _group_or_404(group_id: int):
    group = services.get_group(group_id)
    if group is None:
        abort(404)
    return group


@bp.get("/staff/groups/<int:group_id>")
@staff_required
def staff_group(group_id: int):
    """One group: details, coordinators, approval and invitations."""
    group = _group_or_404(group_id)
    return render_template(
        "groups/staff_detail.html", group=group, users=services.group_users(group),
        invite_form=InviteForm(), reason_form=ReasonForm(),
    )


@bp.post("/staff/groups/<int:group_id>/status")
@staff_required
def set_group_status(group_id: int):
    """Approve or disable a group (coordinators are emailed)."""
    group = _group_or_404(group_id)
    form = ReasonForm()
    try:
        status = GroupStatus(request.form.get("status", ""))
    except ValueError:
        abort(400)
    if form.validate_on_submit():
        accounts.set_group_status(group, status, current_user._get_current_object(), form.reason.data or "")
        flash(f"{group.name} is now {status.value}.", "success")
    else:
        flash("The reason is too long (1,000 characters at most).", "error")
    return redirect(url_for("groups.staff_group", group_id=group.id), code=303)


@bp.post("/staff/groups/<int:group_id>/invite")
@staff_required
def invite(group_id: int):
    """Invite a coordinator to this group by email."""
    group = _group_or_404(group_id)
    form = InviteForm()
    if form.validate_on_submit():
        accounts.invite_coordinator(form.email.data, form.name.data or "", group, current_user._get_current_object())
        flash(f"Invitation sent to {form.email.data}.", "success")
        return redirect(url_for("groups.staff_group", group_id=group.id), code=303)
    return render_template(
        "groups/staff_detail.html", group=group, users=services.group_users(group),
        invite_form=form, reason_form=ReasonForm(),
    ), 422


@bp.post("/staff/users/<int:user_id>/active")
@staff_required
def set_user_active(user_id: int):
    """Enable or disable an account (disabling ends its sessions at once)."""
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    active = request.form.get("active") == "1"
    try:
        accounts.set_user_active(user, active, current_user._get_current_object())
    except accounts.AccountError as error:
        flash(str(error), "error")
    else:
        flash(f"{user.email} is {'enabled' if active else 'disabled'}.", "success")
    target = url_for("groups.staff_group", group_id=user.group_id) if user.group_id else url_for("staff.home")
    return redirect(target, code=303)


@bp.get("/group")
@coordinator_required
def my_group():
    """The coordinator's home: their group, orders and what the group achieved."""
    from ..orders import services as orders

    group = current_user.group
    return render_template("groups/my_group.html", group=group, **orders.group_home(group))
