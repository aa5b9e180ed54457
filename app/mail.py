"""One small mail service: every email goes into the outbox table in the caller's transaction;
with MAIL_SERVER set, `deliver_pending` sends what is waiting over SMTP after the commit."""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage

import sqlalchemy as sa
from flask import Flask, current_app, g, has_request_context, render_template

from .extensions import db
from .models import OutboxEmail, utcnow

log = logging.getLogger(__name__)


def queue(to: str, subject: str, template: str, **context) -> OutboxEmail:
    """Render `templates/email/<template>.txt` and add it to the outbox (the caller commits)."""
    if has_request_context():
        body = render_template(f"email/{template}.txt", **context)
    else:  # CLI, background work, tests: url_for still needs a request to build paths
        with current_app.test_request_context(base_url=current_app.config["BASE_URL"]):
            body = render_template(f"email/{template}.txt", **context)
    message = OutboxEmail(to=to, subject=subject, body=body)
    db.session.add(message)
    g.mail_queued = True
    return message


def deliver_pending(limit: int = 50) -> int:
    """Send waiting emails over SMTP when configured; returns how many were sent. Commits."""
    config = current_app.config
    if not config.get("MAIL_SERVER"):
        return 0
    waiting = list(
        db.session.scalars(
            sa.select(OutboxEmail).where(OutboxEmail.sent_at.is_(None)).order_by(OutboxEmail.id).limit(limit)
        )
    )
    if not waiting:
        return 0
    sent = 0
    try:
        with smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=10) as smtp:
            if config.get("MAIL_USE_TLS"):
                smtp.starttls()
            if config.get("MAIL_USERNAME"):
                smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"] or "")
            for item in waiting:
                message = EmailMessage()
                message["From"] = config["MAIL_FROM"]
                message["To"] = item.to
                message["Subject"] = item.subject
                message.set_content(item.body)
                smtp.send_message(message)
                item.sent_at = utcnow()
                sent += 1
    except (OSError, smtplib.SMTPException) as error:
        log.warning("mail delivery failed after %d of %d: %s", sent, len(waiting), type(error).__name__)
    db.session.commit()
    return sent


def init_app(app: Flask) -> None:
    """With SMTP configured, send what a request queued once the request is done."""

    @app.after_request
    def _deliver(response):
        if app.config.get("MAIL_SERVER") and g.pop("mail_queued", False):
            deliver_pending()
        return response
