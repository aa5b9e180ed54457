"""The JSON API: tokens and their scopes, resources, problem+json errors, OpenAPI document."""

import hashlib

import pytest
import sqlalchemy as sa

from app.auth import tokens
from app.extensions import db
from app.models import ApiToken, Case, Order, OrderStatus
from app.orders import services as orders
from app.stock import services as stock
from tests import factories as f


@pytest.fixture
def api(people):
    a = db.session.scalar(sa.select(Case).where(Case.slug == "sonia-dahmani"))
    stock.record_print_run(a, 5000, "", "", people.staff)
    staff_token = tokens.create_token(people.staff, "tests")[1]
    coord_token = tokens.create_token(people.coord_a, "tests")[1]
    other_token = tokens.create_token(people.coord_b, "tests")[1]
    return {"staff": {"Authorization": f"Bearer {staff_token}"}, "a": {"Authorization": f"Bearer {coord_token}"},
            "b": {"Authorization": f"Bearer {other_token}"}, "case": a}


def _problem(response, status):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.content_type == "application/problem+json"
    body = response.get_json()
    assert body["status"] == status and body["title"] and body["type"]
    return body


def test_openapi_document_and_docs_page(client, seeded):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    for path in ("/api/v1/cases", "/api/v1/stats", "/api/v1/orders", "/api/v1/orders/{order_id}/transitions"):
        assert path in spec["paths"]
    page = client.get("/api/v1/docs").get_data(as_text=True)
    assert "/api/v1/orders/{order_id}/transitions" in page and "<html" in page


def test_public_cases_and_stats_match_the_web_pages(client, people, api):
    order = f.order(api["case"].campaign, people.group_a, [(api["case"], 4, 25)], status=OrderStatus.APPROVED)
    db.session.commit()
    cases = client.get("/api/v1/cases").get_json()
    assert cases["total"] == 6 and cases["page"] == 1 and cases["per_page"] == 50
    sonia = next(c for c in cases["items"] if c["slug"] == "sonia-dahmani")
    assert sonia["totals"] == {"ordered": 100, "reported": 0, "mailed": 0} and sonia["status"] == "active"
    assert client.get("/api/v1/cases/sonia-dahmani").get_json()["totals"]["ordered"] == 100
    stats = client.get("/api/v1/stats").get_json()
    assert stats["totals"]["ordered"] == 100 and stats["campaign"]["slug"] == "w4r-2025"
    assert "<dt>Cards ordered</dt><dd>100</dd>" in client.get("/cases/sonia-dahmani").get_data(as_text=True)
    last_year = client.get("/api/v1/cases?campaign=w4r-2024").get_json()
    assert {c["slug"] for c in last_year["items"]} == {"neth-nahara", "rita-karasartova"}
    _problem(client.get("/api/v1/cases?campaign=nope"), 404)
    _problem(client.get("/api/v1/cases/nobody"), 404)
    assert order.id


def test_tokens_are_hashed_shown_once_and_revocable(client, people, api):
    raw = api["a"]["Authorization"].split()[1]
    assert raw.startswith("w4r_") and len(raw) >= 40
    stored = db.session.scalars(sa.select(ApiToken.token_hash)).all()
    assert raw not in stored and hashlib.sha256(raw.encode()).hexdigest() in stored
    assert client.get("/api/v1/orders", headers=api["a"]).status_code == 200
    token = db.session.scalar(sa.select(ApiToken).where(ApiToken.user_id == people.coord_a.id))
    assert token.last_used_at is not None
    tokens.revoke(token.id, people.coord_a)
    _problem(client.get("/api/v1/orders", headers=api["a"]), 401)


@pytest.mark.parametrize("header", ["Bearer nonsense", "Bearer w4r_" + "x" * 43, "Basic abc", "Bearer "])
def test_bad_tokens_are_401(client, api, header):
    response = client.get("/api/v1/orders", headers={"Authorization": header})
    _problem(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_missing_token_is_401(client, api):
    _problem(client.get("/api/v1/orders"), 401)


def test_disabled_users_token_stops_working(client, people, api):
    from app.auth import services as accounts

    accounts.set_user_active(people.coord_a, False, people.staff)
    _problem(client.get("/api/v1/orders", headers=api["a"]), 401)


def test_token_management_in_the_ui(coord_client, people):
    response = coord_client.post("/account/tokens", data={"name": "CRM sync"})
    html = response.get_data(as_text=True)
    assert response.status_code == 201 and response.headers["Cache-Control"] == "no-store"
    raw = html.split('<code class="token">')[1].split("</code>")[0]
    assert raw.startswith("w4r_")
    assert raw not in coord_client.get("/account").get_data(as_text=True)  # shown once
    token = db.session.scalar(sa.select(ApiToken).where(ApiToken.name == "CRM sync"))
    assert coord_client.post(f"/account/tokens/{token.id}/revoke").status_code == 303
    db.session.refresh(token)
    assert token.revoked_at is not None


def test_cannot_revoke_someone_elses_token(app, people, api):
    from tests.conftest import login

    staff_token = db.session.scalar(sa.select(ApiToken).where(ApiToken.user_id == people.staff.id))
    bob = app.test_client()
    login(bob, people.coord_b.email)
    assert bob.post(f"/account/tokens/{staff_token.id}/revoke").status_code == 404
    db.session.refresh(staff_token)
    assert staff_token.revoked_at is None


def test_tokens_create_cli(runner, people):
    result = runner.invoke(args=["tokens", "create", "alice@a.example", "--name", "script"])
    assert result.exit_code == 0 and result.output.strip().startswith("w4r_")
    assert tokens.user_for_token(result.output.strip()).id == people.coord_a.id
    assert runner.invoke(args=["tokens", "create", "ghost@x.example"]).exit_code != 0


def test_coordinator_token_sees_only_their_group(client, people, api):
    mine = f.order(api["case"].campaign, people.group_a, [(api["case"], 1, 10)], status=OrderStatus.SUBMITTED)
    theirs = f.order(api["case"].campaign, people.group_b, [(api["case"], 2, 10)], status=OrderStatus.SUBMITTED)
    db.session.commit()
    listed = client.get("/api/v1/orders", headers=api["a"]).get_json()
    assert [o["id"] for o in listed["items"]] == [mine.id]
    assert client.get(f"/api/v1/orders/{mine.id}", headers=api["a"]).get_json()["total_cards"] == 10
    _problem(client.get(f"/api/v1/orders/{theirs.id}", headers=api["a"]), 404)
    _problem(client.post(f"/api/v1/orders/{theirs.id}/transitions", json={"to": "cancelled"}, headers=api["a"]), 404)
    _problem(client.get("/api/v1/groups", headers=api["a"]), 403)
    assert client.get(f"/api/v1/groups/{people.group_a.id}", headers=api["a"]).get_json()["name"] == "Cardiff Writers"
    _problem(client.get(f"/api/v1/groups/{people.group_b.id}", headers=api["a"]), 404)
    _problem(client.get(f"/api/v1/orders/{mine.id}/packs", headers=api["a"]), 403)
    staff_view = client.get("/api/v1/orders", headers=api["staff"]).get_json()
    assert {o["id"] for o in staff_view["items"]} == {mine.id, theirs.id}
    assert client.get("/api/v1/groups?status=approved", headers=api["staff"]).get_json()["total"] == 2


def test_create_order_and_move_it_through_the_pipeline(client, people, api):
    case = api["case"]
    response = client.post("/api/v1/orders", headers=api["a"], json={"lines": [{"case_id": case.id, "pack_size": 25, "packs": 4}], "notes": "via API"})
    assert response.status_code == 201, response.get_data(as_text=True)
    order = response.get_json()
    assert order["status"] == "submitted" and order["total_cards"] == 100 and order["group_id"] == people.group_a.id
    _problem(client.post("/api/v1/orders", headers=api["staff"], json={"lines": [{"case_id": case.id, "pack_size": 25, "packs": 1}]}), 403)
    forbidden = _problem(client.post(f"/api/v1/orders/{order['id']}/transitions", headers=api["a"], json={"to": "approved"}), 403)
    assert "staff" in forbidden["detail"]
    approved = client.post(f"/api/v1/orders/{order['id']}/transitions", headers=api["staff"], json={"to": "approved", "comment": "ok"})
    assert approved.status_code == 200 and approved.get_json()["status"] == "approved"
    packs = client.get(f"/api/v1/orders/{order['id']}/packs", headers=api["staff"]).get_json()["items"]
    assert len(packs) == 4 and all(p["url"].startswith("http://cards.test/p/") for p in packs)
    conflict = _problem(client.post(f"/api/v1/orders/{order['id']}/transitions", headers=api["staff"], json={"to": "delivered"}), 409)
    assert "cannot become delivered" in conflict["detail"]
    client.post(f"/api/v1/orders/{order['id']}/transitions", headers=api["staff"], json={"to": "packed"})
    bad = _problem(client.post(f"/api/v1/orders/{order['id']}/transitions", headers=api["staff"], json={"to": "dispatched", "carrier": ""}), 422)
    assert "carrier" in bad["errors"]["to"][0]
    done = client.post(f"/api/v1/orders/{order['id']}/transitions", headers=api["staff"], json={"to": "dispatched", "carrier": "DPD", "tracking_number": "15501"})
    assert done.get_json()["shipments"][0]["tracking_number"] == "15501"
    shipments = client.get("/api/v1/shipments", headers=api["a"]).get_json()
    assert shipments["total"] == 1
    assert client.get("/api/v1/shipments", headers=api["b"]).get_json()["total"] == 0


@pytest.mark.parametrize(
    "body, field",
    [
        ({}, "lines"),
        ({"lines": []}, "lines"),
        ({"lines": [{"case_id": 1, "pack_size": 25, "packs": -1}]}, "lines"),
        ({"lines": [{"case_id": 1, "pack_size": 25, "packs": 10**9}]}, "lines"),
        ({"lines": [{"case_id": 999999, "pack_size": 25, "packs": 1}]}, "lines"),
        ({"lines": [{"case_id": "SONIA", "pack_size": 25, "packs": 1}]}, "lines"),
        ({"lines": "nope"}, "lines"),
        ({"lines": [{"case_id": 1, "pack_size": 25, "packs": 1}], "needed_by": "2020-01-01"}, "needed_by"),
        ({"lines": [{"case_id": 1, "pack_size": 25, "packs": 1}], "notes": "x" * 3000}, "notes"),
    ],
)
def test_invalid_orders_are_422_with_field_details_and_nothing_saved(client, api, body, field):
    if body.get("lines") and isinstance(body["lines"], list) and body["lines"] and body["lines"][0]["case_id"] == 1:
        body["lines"][0]["case_id"] = api["case"].id
    body = _problem(client.post("/api/v1/orders", headers=api["a"], json=body), 422)
    assert field in body["errors"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Order)) == 0


def test_malformed_json_and_wrong_types(client, api):
    response = client.post("/api/v1/orders", headers={**api["a"], "Content-Type": "application/json"}, data="{not json")
    assert response.status_code in (400, 422) and response.content_type == "application/problem+json"
    _problem(client.get("/api/v1/orders?page=abc", headers=api["a"]), 422)
    _problem(client.get("/api/v1/orders?per_page=1000", headers=api["a"]), 422)


def test_control_characters_are_refused_before_the_database(client, api):
    """A NUL byte is refused up front (PostgreSQL would refuse the query with an error, a 500)."""
    body = _problem(client.get("/api/v1/cases?campaign=%00", headers=api["a"]), 400)  # query values: app/security.py
    assert "NUL" in body["detail"]
    body = _problem(client.post("/api/v1/orders", headers=api["a"], json={
        "lines": [{"case_id": api["case"].id, "pack_size": 25, "packs": 1}], "notes": "a\x00b"}), 422)
    assert "notes" in str(body["errors"])
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Order)) == 0
    assert client.get("/api/v1/cases/%00", headers=api["a"]).status_code == 404
    assert client.get("/cases/a%00b").status_code == 404
    assert client.get("/p/%00").status_code == 404


def test_api_rate_limit_answers_429_problem(app_factory, people, api):
    from flask import request_started

    from app.extensions import limiter
    from tests.conftest import _forget_request_user

    limited = app_factory(RATELIMIT_ENABLED=True, API_RATE_LIMIT="3 per minute")
    request_started.connect(_forget_request_user, limited)
    limiter.reset()
    client = limited.test_client()
    codes = [client.get("/api/v1/cases").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    body = _problem(client.get("/api/v1/cases"), 429)
    assert body["title"] == "Too Many Requests"
    limiter.reset()


def test_transition_service_role_errors_are_distinct(people, api):
    order = f.order(api["case"].campaign, people.group_a, [(api["case"], 1, 10)], status=OrderStatus.SUBMITTED)
    db.session.commit()
    with pytest.raises(orders.TransitionForbidden):
        orders.approve(order, people.coord_a)


def test_order_labels_pdf_and_mailings(client, people, api):
    order = f.order(api["case"].campaign, people.group_a, [(api["case"], 2, 10)], status=OrderStatus.SUBMITTED)
    db.session.commit()
    orders.approve(order, people.staff)
    packs = client.get(f"/api/v1/orders/{order.id}/packs", headers=api["staff"]).get_json()
    assert packs["labels_pdf"] == f"/api/v1/orders/{order.id}/labels.pdf"
    pdf = client.get(packs["labels_pdf"] + "?template=2x4&paper=letter", headers=api["a"])  # print at home
    assert pdf.status_code == 200 and pdf.content_type == "application/pdf" and pdf.data.startswith(b"%PDF")
    assert client.get(packs["labels_pdf"], headers=api["b"]).status_code == 404
    _problem(client.get(packs["labels_pdf"] + "?template=9x9", headers=api["staff"]), 422)
    f.mailing(api["case"], 1200)
    db.session.commit()
    mailings = client.get(f"/api/v1/mailings?case_id={api['case'].id}", headers=api["staff"]).get_json()
    assert mailings["total"] == 1 and mailings["items"][0]["quantity"] == 1200 and mailings["items"][0]["status"] == "sent"
    _problem(client.get("/api/v1/mailings", headers=api["a"]), 403)
