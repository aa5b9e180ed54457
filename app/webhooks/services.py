"""Webhooks: signed event notifications with retries and a delivery log.

`emit()` only adds delivery rows to the caller's transaction, so the request that caused an event
never waits for a remote server. `deliver_due()` sends what is due — from a background thread in
each web worker (WEBHOOK_WORKER) or from `flask webhooks deliver` — and claims each row with a
conditional UPDATE first, so two workers never send the same delivery at the same time.

Signature: header `X-Cards-Signature: t=<unix time>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import threading
import time
import urllib.error
import urllib.request
from datetime import timedelta
from typing import Any, Optional

import sqlalchemy as sa
from flask import Flask

from .. import audit
from ..extensions import db
from ..models import User, Webhook, WebhookDelivery, WebhookStatus, utcnow
from ..pagination import paginate

log = logging.getLogger(__name__)

EVENTS = ("order.status_changed", "report.recorded", "mailing.status_changed")
MAX_ATTEMPTS = 6
LEASE = timedelta(minutes=2)
SIGNATURE_HEADER = "X-Cards-Signature"


class WebhookError(ValueError):
    pass


def create_webhook(url: str, events: list[str], actor: User, secret: str = "") -> Webhook:  # nosec B107 - empty means "generate one"
    """Register a URL for some events; a secret is generated when none is given. Commits."""
    url = url.strip()
    if not url.startswith(("https://", "http://")) or len(url) > 500:
        raise WebhookError("Enter an http:// or https:// address of at most 500 characters.")
    unknown = set(events) - set(EVENTS)
    if unknown or not events:
        raise WebhookError("Choose at least one of the listed events.")
    hook = Webhook(url=url, secret=secret or secrets.token_hex(32), events=sorted(set(events)), created_by_id=actor.id)
    db.session.add(hook)
    db.session.flush()
    audit.record("webhook.created", hook, actor=actor, after={"url": url, "events": hook.events})
    db.session.commit()
    return hook


def set_active(hook: Webhook, active: bool, actor: User) -> None:
    hook.active = active
    audit.record("webhook.updated", hook, actor=actor, after={"active": active})
    db.session.commit()


def emit(event: str, payload: dict[str, Any]) -> int:
    """Queue `event` for every active webhook that wants it (the caller commits)."""
    if event not in EVENTS:
        raise ValueError(f"unknown webhook event {event!r}")
    body = {"event": event, "sent_at": utcnow().isoformat(), "data": payload}
    count = 0
    for hook in db.session.scalars(sa.select(Webhook).where(Webhook.active.is_(True))):
        if event in (hook.events or []):
            db.session.add(WebhookDelivery(webhook_id=hook.id, event=event, payload=body))
            count += 1
    return count


_ACTIVE_HOOKS = sa.select(Webhook.id, Webhook.events).where(Webhook.active.is_(True))  # built once (hot path)


def subscribers(event: str) -> list[int]:
    """Ids of the active webhooks that want `event` (read before a hot write transaction; see `queue`)."""
    if event not in EVENTS:
        raise ValueError(f"unknown webhook event {event!r}")
    rows = db.session.execute(_ACTIVE_HOOKS)
    return [hook_id for hook_id, events in rows if event in (events or [])]


def queue(hook_ids: list[int], event: str, payload: dict[str, Any]) -> int:
    """Add one delivery of `event` per webhook id to the caller's transaction (one INSERT; the caller
    commits). Like `emit`, with the subscribers looked up beforehand."""
    if not hook_ids:
        return 0
    body = {"event": event, "sent_at": utcnow().isoformat(), "data": payload}
    db.session.execute(sa.insert(WebhookDelivery), [{"webhook_id": h, "event": event, "payload": body} for h in hook_ids])
    return len(hook_ids)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(secret: str, header: str, body: bytes, tolerance: int = 300, now: Optional[int] = None) -> bool:
    """What a receiver does: check the signature and that it is fresh."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
    except (ValueError, KeyError):
        return False
    if abs((now or int(time.time())) - timestamp) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), header)


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(3600, 30 * 2 ** (attempts - 1)))


def _claim(delivery: WebhookDelivery) -> bool:
    result = db.session.execute(
        sa.update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery.id, WebhookDelivery.status == WebhookStatus.PENDING,
               WebhookDelivery.next_attempt_at == delivery.next_attempt_at)
        .values(next_attempt_at=utcnow() + LEASE)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount == 1


def _post(hook: Webhook, body: bytes, timeout: float) -> int:
    request = urllib.request.Request(hook.url, data=body, method="POST", headers={
        "Content-Type": "application/json", "User-Agent": "w4r-cards-webhooks/1",
        SIGNATURE_HEADER: sign(hook.secret, int(time.time()), body),
    })
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # nosec B310 - staff-configured http(s) URL
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def deliver_due(limit: int = 50, timeout: float = 5.0) -> int:
    """Send due deliveries; failures are retried with exponential backoff, up to MAX_ATTEMPTS. Commits."""
    due = list(db.session.scalars(
        sa.select(WebhookDelivery)
        .where(WebhookDelivery.status == WebhookStatus.PENDING, WebhookDelivery.next_attempt_at <= utcnow())
        .order_by(WebhookDelivery.id).limit(limit)
    ))
    sent = 0
    for delivery in due:
        if not _claim(delivery):
            continue
        hook = delivery.webhook
        body = json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True).encode()
        code, error = None, ""
        try:
            code = _post(hook, body, timeout)
        except (OSError, ValueError) as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
        delivery.attempts += 1
        delivery.last_status_code = code
        delivery.last_error = error or ("" if code and 200 <= code < 300 else f"HTTP {code}")
        if code is not None and 200 <= code < 300:
            delivery.status = WebhookStatus.DELIVERED
            delivery.delivered_at = utcnow()
            sent += 1
        elif delivery.attempts >= MAX_ATTEMPTS:
            delivery.status = WebhookStatus.FAILED
        else:
            delivery.next_attempt_at = utcnow() + _backoff(delivery.attempts)
        db.session.commit()
    return sent


def retry(delivery: WebhookDelivery, actor: User) -> None:
    """Send a failed delivery again soon. Commits."""
    delivery.status = WebhookStatus.PENDING
    delivery.next_attempt_at = utcnow()
    audit.record("webhook.retry", delivery.webhook, actor=actor, after={"delivery": delivery.id})
    db.session.commit()


def webhooks() -> list[Webhook]:
    return list(db.session.scalars(sa.select(Webhook).order_by(Webhook.id)))


def deliveries(webhook_id: Optional[int] = None, page: int = 1):
    query = sa.select(WebhookDelivery).order_by(WebhookDelivery.id.desc())
    if webhook_id:
        query = query.where(WebhookDelivery.webhook_id == webhook_id)
    return paginate(query, page)


def start_worker(app: Flask, interval: float = 5.0) -> threading.Thread:
    """A daemon thread in this process that delivers due webhooks every `interval` seconds."""

    def run() -> None:
        while True:
            time.sleep(interval)
            try:
                with app.app_context():
                    deliver_due()
                    db.session.remove()
            except Exception:  # noqa: BLE001 - keep the worker alive; log and go on
                log.exception("webhook delivery round failed")

    thread = threading.Thread(target=run, name="webhook-worker", daemon=True)
    thread.start()
    return thread


def start_worker_on_first_request(app: Flask) -> None:
    """Web workers deliver webhooks in the background; CLI commands (no requests) never start one."""
    lock = threading.Lock()
    started: list[threading.Thread] = []

    @app.before_request
    def _ensure_worker() -> None:
        if not started:
            with lock:
                if not started:
                    started.append(start_worker(app))
