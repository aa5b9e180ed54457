"""The public report endpoint: idempotency keys, over-reporting, problem+json, webhooks."""

import threading
import uuid

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Pack, Report, ReportSource, WebhookDelivery
from app.webhooks import services as webhooks
from tests import factories as f


@pytest.fixture
def pack(app):
    case = f.case(f.campaign())
    obj = f.pack(case, size=10)
    db.session.commit()
    return obj


def _post(client, pack, cards, key):
    return client.post(f"/api/v1/packs/{pack.token}/reports", json={"cards": cards}, headers={"Idempotency-Key": key})


def _posted(pack):
    db.session.expire_all()
    return db.session.get(Pack, pack.id).cards_posted


def test_report_then_replay_adds_nothing(client, pack):
    key = str(uuid.uuid4())
    first = _post(client, pack, 3, key)
    assert first.status_code == 201
    body = first.get_json()
    assert body["cards"] == 3 and body["replayed"] is False and body["pack_posted"] == 3 and body["source"] == "api"
    again = _post(client, pack, 3, key)
    assert again.status_code == 200 and again.get_json()["replayed"] is True and again.get_json()["id"] == body["id"]
    assert _posted(pack) == 3
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Report)) == 1


def test_same_key_with_another_number_is_422(client, pack):
    key = str(uuid.uuid4())
    _post(client, pack, 3, key)
    response = _post(client, pack, 4, key)
    assert response.status_code == 422 and response.content_type == "application/problem+json"
    assert "Idempotency-Key" in response.get_json()["errors"]
    assert _posted(pack) == 3


def test_lowercase_token_works_and_unknown_token_is_404(client, pack):
    response = client.post(f"/api/v1/packs/{pack.token.lower()}/reports", json={"cards": 1}, headers={"Idempotency-Key": str(uuid.uuid4())})
    assert response.status_code == 201
    missing = client.post("/api/v1/packs/NOPE/reports", json={"cards": 1}, headers={"Idempotency-Key": str(uuid.uuid4())})
    assert missing.status_code == 404 and missing.content_type == "application/problem+json"


@pytest.mark.parametrize("cards, headers", [(11, True), (0, True), (-2, True), ("x", True), (2, False)])
def test_refusals_save_nothing(client, pack, cards, headers):
    response = client.post(f"/api/v1/packs/{pack.token}/reports", json={"cards": cards},
                           headers={"Idempotency-Key": str(uuid.uuid4())} if headers else {})
    assert response.status_code == 422 and response.content_type == "application/problem+json"
    assert response.get_json()["errors"]
    assert _posted(pack) == 0 and db.session.scalar(sa.select(sa.func.count()).select_from(Report)) == 0


def test_over_reporting_is_refused_with_what_is_left(client, pack):
    assert _post(client, pack, 8, str(uuid.uuid4())).status_code == 201
    response = _post(client, pack, 3, str(uuid.uuid4()))
    assert response.status_code == 422 and "Only 2 cards" in response.get_json()["errors"]["cards"][0]
    assert _posted(pack) == 8


def test_simultaneous_replays_of_one_key_count_once(app_factory, pack):
    apps = [app_factory() for _ in range(6)]
    key = str(uuid.uuid4())
    codes, barrier = [], threading.Barrier(6, timeout=30)
    token = pack.token
    db.session.rollback()  # hold no SQLite lock in this thread while the requests run

    errors = []

    def send(a):
        try:
            client = a.test_client()
            barrier.wait()
            codes.append(client.post(f"/api/v1/packs/{token}/reports", json={"cards": 2}, headers={"Idempotency-Key": key}).status_code)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=send, args=(a,), daemon=True) for a in apps]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert sorted(codes) == [200] * 5 + [201]
    assert _posted(pack) == 2
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Report)) == 1


def test_report_recorded_webhook_is_queued(client, pack, people):
    webhooks.create_webhook("http://127.0.0.1:9/hook", ["report.recorded"], people.staff)
    _post(client, pack, 2, str(uuid.uuid4()))
    delivery = db.session.scalar(sa.select(WebhookDelivery))
    assert delivery.event == "report.recorded" and delivery.payload["data"]["cards"] == 2
    assert delivery.payload["data"]["source"] == ReportSource.API.value
