"""Staff manage webhooks and read their delivery log."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import SelectMultipleField, StringField, widgets
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from ..auth.decorators import staff_required
from ..extensions import db
from ..models import Webhook, WebhookDelivery
from . import services

bp = Blueprint("webhooks", __name__, url_prefix="/staff/webhooks")


class WebhookForm(FlaskForm):
    url = StringField("Address (URL)", validators=[DataRequired(message="Enter the address to send events to."), Length(max=500)])
    events = SelectMultipleField(
        "Events", choices=[SelectChoice(e, e) for e in services.EVENTS],
        option_widget=widgets.CheckboxInput(), widget=widgets.ListWidget(prefix_label=False),
        validators=[DataRequired(message="Choose at least one event.")],
    )
    secret = StringField("Secret (optional)", validators=[Optional(), Length(min=16, max=128, message="Use 16 to 128 characters, or leave it empty for a generated one.")])


@bp.route("/", methods=["GET", "POST"])
@staff_required
def index():
    """Webhooks and the recent deliveries; register a new one."""
    form = WebhookForm()
    status = 200
    if form.validate_on_submit():
        try:
            hook = services.create_webhook(form.url.data, form.events.data, current_user._get_current_object(), form.secret.data or "")
        except services.WebhookError as error:
            form.url.errors.append(str(error))
        else:
            flash(f"Webhook added. Its signing secret: {hook.secret}", "success")
            return redirect(url_for("webhooks.index"), code=303)
    if form.errors:
        status = 422
    return render_template("webhooks/index.html", form=form, hooks=services.webhooks(),
                           deliveries=services.deliveries(request.args.get("webhook", type=int), request.args.get("page", 1, type=int))), status


@bp.post("/<int:webhook_id>/active")
@staff_required
def toggle(webhook_id: int):
    """Pause or resume a webhook."""
    hook = db.session.get(Webhook, webhook_id) or abort(404)
    services.set_active(hook, request.form.get("active") == "1", current_user._get_current_object())
    return redirect(url_for("webhooks.index"), code=303)


@bp.post("/deliveries/<int:delivery_id>/retry")
@staff_required
def retry(delivery_id: int):
    """Send a delivery again."""
    delivery = db.session.get(WebhookDelivery, delivery_id) or abort(404)
    services.retry(delivery, current_user._get_current_object())
    flash("The delivery will be sent again within a few seconds.", "success")
    return redirect(url_for("webhooks.index"), code=303)
