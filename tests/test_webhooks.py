"""Webhooks: events queued in the causing transaction, signed deliveries, retries, the delivery log."""

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value

from app.extensions import db
from app.models import Case, OrderStatus, WebhookDelivery, WebhookStatus, utcnow
from app.orders import services as orders
from app.stock import services as stock
from app.webhooks import services as webhooks
from tests import factories as f


class Receiver:
    """A real HTTP server on a loopback port that records requests and answers with scripted codes."""

    def __init__(self):
        self.requests: list[tuple[dict, bytes]] = []
        self.codes: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                self.send_response(receiver.codes.pop(0) if receiver.codes else 204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def submitted(people):
    case = db.session.scalar(sa.select(Case).where(Case.slug == "sonia-dahmani"))
    stock.record_print_run(case, 1000, "", "", people.staff)
    order = f.order(case.campaign, people.group_a, [(case, 2, 25)], status=OrderStatus.SUBMITTED)
    db.session.commit()
    return order


def _due_now():
    db.session.execute(sa.update(WebhookDelivery).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()


def test_event_is_queued_not_sent_during_the_request_then_delivered_signed(staff_client, people, submitted, receiver):
    hook = webhooks.create_webhook(receiver.url, ["order.status_changed"], people.staff, secret="s" * 32)
    assert staff_client.post(f"/staff/orders/{submitted.id}/approve").status_code == 303
    assert receiver.requests == []  # the request that caused it did not wait for the receiver
    delivery = db.session.scalar(sa.select(WebhookDelivery))
    assert delivery.status is WebhookStatus.PENDING and delivery.event == "order.status_changed"
    assert webhooks.deliver_due() == 1
    headers, body = receiver.requests[0]
    payload = json.loads(body)
    assert payload["event"] == "order.status_changed"
    assert payload["data"] == {"order_id": submitted.id, "group_id": people.group_a.id, "from": "submitted", "to": "approved"}
    assert webhooks.verify(hook.secret, headers["X-Cards-Signature"], body)
    assert not webhooks.verify("another secret of enough length", headers["X-Cards-Signature"], body)
    assert not webhooks.verify(hook.secret, headers["X-Cards-Signature"], body + b" ")
    db.session.refresh(delivery)
    assert delivery.status is WebhookStatus.DELIVERED and delivery.attempts == 1 and delivery.last_status_code == 204
    assert webhooks.deliver_due() == 0  # nothing twice


def test_stale_signatures_are_refused():
    header = webhooks.sign("k" * 32, 1_000_000, b"{}")
    assert webhooks.verify("k" * 32, header, b"{}", now=1_000_100)
    assert not webhooks.verify("k" * 32, header, b"{}", now=1_000_000 + 3600)


def test_failures_are_retried_with_backoff_then_marked_failed(people, submitted, receiver):
    webhooks.create_webhook(receiver.url, ["order.status_changed"], people.staff)
    orders.approve(submitted, people.staff)
    receiver.codes = [500, 503]
    assert webhooks.deliver_due() == 0
    delivery = db.session.scalar(sa.select(WebhookDelivery))
    assert delivery.status is WebhookStatus.PENDING and delivery.attempts == 1 and delivery.last_status_code == 500
    assert delivery.next_attempt_at > utcnow() + timedelta(seconds=20)
    assert webhooks.deliver_due() == 0  # not due yet
    _due_now()
    webhooks.deliver_due()
    _due_now()
    assert webhooks.deliver_due() == 1
    db.session.refresh(delivery)
    assert delivery.status is WebhookStatus.DELIVERED and delivery.attempts == 3
    assert len(receiver.requests) == 3


def test_unreachable_receiver_ends_failed_after_max_attempts(people, submitted, receiver):
    url = receiver.url
    receiver.close()
    webhooks.create_webhook(url, ["order.status_changed"], people.staff)
    orders.approve(submitted, people.staff)
    for _ in range(webhooks.MAX_ATTEMPTS):
        _due_now()
        webhooks.deliver_due(timeout=1)
    delivery = db.session.scalar(sa.select(WebhookDelivery))
    assert delivery.status is WebhookStatus.FAILED and delivery.attempts == webhooks.MAX_ATTEMPTS
    assert "Error" in delivery.last_error
    webhooks.retry(delivery, people.staff)
    assert delivery.status is WebhookStatus.PENDING


def test_only_subscribed_active_hooks_get_events(people, submitted, receiver):
    wanted = webhooks.create_webhook(receiver.url, ["order.status_changed"], people.staff)
    webhooks.create_webhook(receiver.url + "/reports", ["report.recorded"], people.staff)
    paused = webhooks.create_webhook(receiver.url + "/paused", ["order.status_changed"], people.staff)
    webhooks.set_active(paused, False, people.staff)
    orders.approve(submitted, people.staff)
    assert [d.webhook_id for d in db.session.scalars(sa.select(WebhookDelivery))] == [wanted.id]


def test_a_claimed_delivery_is_not_sent_twice(people, submitted, receiver):
    webhooks.create_webhook(receiver.url, ["order.status_changed"], people.staff)
    orders.approve(submitted, people.staff)
    delivery = db.session.scalar(sa.select(WebhookDelivery))
    stale_copy_time = delivery.next_attempt_at
    assert webhooks._claim(delivery)  # worker one
    set_committed_value(delivery, "next_attempt_at", stale_copy_time)  # worker two still holds the old row
    assert not webhooks._claim(delivery)


def test_staff_webhook_page(staff_client, people, receiver):
    response = staff_client.post("/staff/webhooks/", data={"url": receiver.url, "events": ["order.status_changed", "report.recorded"]})
    assert response.status_code == 303
    page = staff_client.get("/staff/webhooks/").get_data(as_text=True)
    assert receiver.url in page and "order.status_changed, report.recorded" in page
    bad = staff_client.post("/staff/webhooks/", data={"url": "ftp://x", "events": ["order.status_changed"]})
    assert bad.status_code == 422 and "http://" in bad.get_data(as_text=True)
    none = staff_client.post("/staff/webhooks/", data={"url": receiver.url})
    assert none.status_code == 422


def test_webhook_pages_are_staff_only(coord_client, app, people):
    assert coord_client.get("/staff/webhooks/").status_code == 403
    assert coord_client.post("/staff/webhooks/1/active").status_code == 403
    assert app.test_client().get("/staff/webhooks/").status_code == 302
