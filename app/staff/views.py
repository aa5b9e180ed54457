"""The staff overview and the email outbox."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, render_template, request

from ..auth.decorators import staff_required
from ..extensions import db
from ..models import OutboxEmail
from ..pagination import paginate
from . import services

bp = Blueprint("staff", __name__, url_prefix="/staff")


@bp.get("/")
@staff_required
def home():
    """What needs doing: groups and orders waiting, low stock."""
    return render_template("staff/home.html", **services.overview())


@bp.get("/outbox")
@staff_required
def outbox():
    """Every email the app sent or would send (without SMTP, this is where mail goes)."""
    q = request.args.get("q", "").strip()[:100]
    query = sa.select(OutboxEmail).order_by(OutboxEmail.id.desc())
    if q:
        like = f"%{q.lower()}%"
        query = query.where(sa.or_(sa.func.lower(OutboxEmail.to).like(like), sa.func.lower(OutboxEmail.subject).like(like)))
    return render_template("staff/outbox.html", page=paginate(query, request.args.get("page", 1, type=int)), q=q)


@bp.get("/outbox/<int:email_id>")
@staff_required
def outbox_email(email_id: int):
    """One email, as sent."""
    email = db.session.get(OutboxEmail, email_id)
    if email is None:
        abort(404)
    return render_template("staff/outbox_email.html", email=email)
