"""Ordering card packs, the staff pipeline, stock reservation, dispatch, emails and access."""

import itertools
import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value

from app.extensions import db
from app.models import (
    AuditEvent,
    Case,
    Order,
    OrderStatus,
    OutboxEmail,
    Pack,
    Role,
    Shipment,
    StockKind,
    StockMovement,
)
from app.orders import services
from app.stock import services as stock
from tests import factories as f

S = OrderStatus


@pytest.fixture
def cases(people):
    a = db.session.scalar(sa.select(Case).where(Case.slug == "sonia-dahmani"))
    b = db.session.scalar(sa.select(Case).where(Case.slug == "sai-zaw-thaike"))
    stock.record_print_run(a, 1000, "Printer", "", people.staff)
    stock.record_print_run(b, 1000, "Printer", "", people.staff)
    return a, b


def _form(a, b, **extra):
    data = {
        f"qty_{a.id}_25": "4", f"qty_{b.id}_50": "2", "needed_by": (date.today() + timedelta(days=10)).isoformat(),
        "delivery_name": "Alice", "delivery_line1": "12 Hidden Road", "delivery_city": "Cardiff",
        "delivery_postcode": "CF10 1AA", "delivery_country": "United Kingdom", "notes": "Writeathon", "action": "submit",
    }
    data.update(extra)
    return data


def _submitted_order(people, cases) -> Order:
    a, b = cases
    return services.save_order(people.group_a, people.coord_a, services.OrderDraft(
        quantities={(a.id, 25): 4, (b.id, 50): 2}, needed_by=None, delivery_name="Alice", delivery_line1="1 Road",
        delivery_line2="", delivery_city="Cardiff", delivery_postcode="", delivery_country="UK", notes=""), submit=True)


def _emails(address):
    return list(db.session.scalars(sa.select(OutboxEmail.subject).where(OutboxEmail.to == address).order_by(OutboxEmail.id)))


# --- Journey 1: the coordinator orders -----------------------------------------------------------

def test_order_form_offers_cases_sizes_stock_and_suggestions(coord_client, cases):
    html = coord_client.get("/orders/new").get_data(as_text=True)
    a, _ = cases
    for size in (10, 25, 50):
        assert f'name="qty_{a.id}_{size}"' in html
    assert "Suggested: 4 × 10" in html  # 40 expected writers: one card each, no spare
    assert "1,000" in html  # stock available
    assert 'value="12 Hidden Road"' in html  # delivery address defaults to the group's
    suggested = coord_client.get("/orders/new?suggest=1").get_data(as_text=True)
    assert re.search(rf'name="qty_{a.id}_10" value="4"', suggested)


def test_coordinator_orders_and_submits(coord_client, people, cases):
    a, b = cases
    response = coord_client.post("/orders/new", data=_form(a, b))
    assert response.status_code == 303
    order = db.session.scalar(sa.select(Order))
    assert order.status is S.SUBMITTED and order.group_id == people.group_a.id and order.submitted_at
    assert sorted((l.case_id, l.packs, l.pack_size) for l in order.lines) == sorted([(a.id, 4, 25), (b.id, 2, 50)])
    assert order.total_cards == 200
    assert f"New order from {people.group_a.name}" in _emails(people.staff.email)
    page = coord_client.get(response.location).get_data(as_text=True)
    assert "Submitted" in page and "200" in page


def test_save_draft_edit_then_submit(coord_client, cases):
    a, b = cases
    response = coord_client.post("/orders/new", data=_form(a, b, action="draft"))
    order = db.session.scalar(sa.select(Order))
    assert order.status is S.DRAFT
    response = coord_client.post(f"/orders/{order.id}/edit", data=_form(a, b, **{f"qty_{a.id}_25": "1", f"qty_{b.id}_50": "", "action": "draft"}))
    assert response.status_code == 303
    db.session.expire_all()
    assert [(l.case_id, l.packs) for l in order.lines] == [(a.id, 1)]
    assert coord_client.post(f"/orders/{order.id}/submit").status_code == 303
    db.session.refresh(order)
    assert order.status is S.SUBMITTED
    assert coord_client.get(f"/orders/{order.id}/edit").status_code == 302  # no longer editable


def test_live_totals_fragment(coord_client, cases):
    a, b = cases
    response = coord_client.post("/orders/preview", data=_form(a, b), headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    assert '<td class="num"><strong>200</strong></td>' in html  # 4×25 + 2×50
    bad = coord_client.post("/orders/preview", data=_form(a, b, **{f"qty_{a.id}_25": "-3"}), headers={"HX-Request": "true"})
    assert re.search(rf'id="qty_{a.id}_25-error"[^>]*hx-swap-oob="innerHTML">Enter a whole number', bad.get_data(as_text=True))


def test_stock_shortage_is_shown_while_ordering(coord_client, cases):
    a, b = cases
    html = coord_client.post("/orders/preview", data=_form(a, b, **{f"qty_{a.id}_50": "30"})).get_data(as_text=True)
    assert "only 1,000 cards in stock" in html


@pytest.mark.parametrize(
    "change, field, message",
    [
        ("qty_A_25=-1", "qty_A_25", "whole number"),
        ("qty_A_25=abc", "qty_A_25", "whole number"),
        ("qty_A_25=201", "qty_A_25", "At most 200"),
        ("qty_A_25=99999999999", "qty_A_25", "whole number"),
        ("needed_by=2020-01-01", "needed_by", "in the past"),
        ("needed_by=not-a-date", "needed_by", "date"),
        ("notes=" + "x" * 2001, "notes", "2,000"),
        ("delivery_line1=", "delivery_line1", "delivery address"),
    ],
)
def test_bad_order_input_is_refused_next_to_the_field(coord_client, cases, change, field, message):
    a, b = cases
    key, value = change.split("=", 1)
    key = key.replace("_A_", f"_{a.id}_")
    field = field.replace("_A_", f"_{a.id}_")
    response = coord_client.post("/orders/new", data=_form(a, b, **{key: value}))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in re.search(rf'id="{field}-error"[^>]*>([^<]*)<', html).group(1)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Order)) == 0


def test_empty_order_cannot_be_submitted(coord_client, cases):
    a, b = cases
    response = coord_client.post("/orders/new", data=_form(a, b, **{f"qty_{a.id}_25": "", f"qty_{b.id}_50": "0"}))
    assert response.status_code == 422 and "Add at least one pack" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Order)) == 0


def test_unknown_fields_are_ignored(coord_client, cases):
    a, b = cases
    coord_client.post("/orders/new", data=_form(a, b, qty_99999_25="5", group_id="999", status="approved"))
    order = db.session.scalar(sa.select(Order))
    assert order.status is S.SUBMITTED and len(order.lines) == 2


# --- Journey 2: staff move the order --------------------------------------------------------------

def test_staff_approve_with_changes_reserve_stock_and_create_packs(staff_client, coord_client, people, cases):
    a, b = cases
    order = _submitted_order(people, cases)
    line_a = next(l for l in order.lines if l.case_id == a.id)
    response = staff_client.post(f"/staff/orders/{order.id}/approve", data={f"packs_{line_a.id}": "3", "comment": "We are short of Sonia cards."})
    assert response.status_code == 303
    db.session.expire_all()
    assert order.status is S.APPROVED and line_a.packs == 3 and line_a.requested_packs == 4
    assert (a.stock_reserved, b.stock_reserved) == (75, 100)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Pack)) == 5
    assert {m.quantity for m in db.session.scalars(sa.select(StockMovement).where(StockMovement.kind == StockKind.RESERVATION))} == {-75, -100}
    changed = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "order.quantities_changed"))
    assert changed.before == {str(line_a.id): 4} and changed.after == {str(line_a.id): 3}
    assert "We are short of Sonia cards." in coord_client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert "Your card order #%d: approved" % order.id in _emails(people.coord_a.email)


def test_approving_beyond_stock_needs_the_override(staff_client, people, cases):
    a, _ = cases
    order = _submitted_order(people, cases)
    stock.adjust(a, -950, "damaged", people.staff)
    response = staff_client.post(f"/staff/orders/{order.id}/approve", data={}, follow_redirects=True)
    assert "Not enough stock" in response.get_data(as_text=True)
    db.session.expire_all()
    assert order.status is S.SUBMITTED and a.stock_reserved == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Pack)) == 0
    staff_client.post(f"/staff/orders/{order.id}/approve", data={"override_stock": "y"})
    db.session.expire_all()
    assert order.status is S.APPROVED and a.stock_reserved == 100 and a.stock_available == -50


def test_cancel_after_approval_releases_stock_and_packs(staff_client, people, cases):
    a, b = cases
    order = _submitted_order(people, cases)
    services.approve(order, people.staff)
    assert staff_client.post(f"/orders/{order.id}/cancel", data={"reason": "Event cancelled"}).status_code == 303
    db.session.expire_all()
    assert order.status is S.CANCELLED and (a.stock_reserved, b.stock_reserved) == (0, 0)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Pack)) == 0


def test_reject_needs_a_reason_and_leaves_stock_alone(staff_client, people, cases):
    a, _ = cases
    order = _submitted_order(people, cases)
    staff_client.post(f"/staff/orders/{order.id}/reject", data={"reason": ""})
    db.session.expire_all()
    assert order.status is S.SUBMITTED
    staff_client.post(f"/staff/orders/{order.id}/reject", data={"reason": "Duplicate order"})
    db.session.expire_all()
    assert order.status is S.REJECTED and order.staff_comment == "Duplicate order" and a.stock_reserved == 0


def test_dispatch_and_delivery_journey(staff_client, coord_client, people, cases):
    order = _submitted_order(people, cases)
    services.approve(order, people.staff)
    assert staff_client.post(f"/staff/orders/{order.id}/packed").status_code == 303
    bad = staff_client.post(f"/staff/orders/{order.id}/dispatch", data={"carrier": "Royal Mail", "tracking_number": ""})
    assert bad.status_code == 422 and "Enter the tracking number" in bad.get_data(as_text=True)
    staff_client.post(f"/staff/orders/{order.id}/dispatch", data={"carrier": "Royal Mail", "tracking_number": "AB123456789GB", "tracking_url": "https://track.example/AB123456789GB"})
    db.session.expire_all()
    assert order.status is S.DISPATCHED
    home = coord_client.get("/group").get_data(as_text=True)
    assert 'href="https://track.example/AB123456789GB"' in home and "Royal Mail AB123456789GB" in home
    assert coord_client.post(f"/orders/{order.id}/delivered").status_code == 303
    db.session.expire_all()
    shipment = db.session.scalar(sa.select(Shipment))
    assert order.status is S.DELIVERED and shipment.delivered_at and shipment.delivery_confirmed_by_id == people.coord_a.id
    statuses = [e.after["status"] for e in db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "order.status_changed").order_by(AuditEvent.id))]
    assert statuses == ["submitted", "approved", "packed", "dispatched", "delivered"]
    subjects = _emails(people.coord_a.email)
    for status in ("approved", "packed", "dispatched", "delivered"):
        assert f"Your card order #{order.id}: {status}" in subjects


ALL_PAIRS = [(frm, to) for frm, to in itertools.product(S, S) if frm is not to]


@pytest.mark.parametrize("frm, to", ALL_PAIRS, ids=[f"{a.value}->{b.value}" for a, b in ALL_PAIRS])
def test_every_transition_is_allowed_or_refused_with_a_message(people, cases, frm, to):
    a, _ = cases
    order = f.order(a.campaign, people.group_a, [(a, 1, 10)], status=frm)
    db.session.commit()
    actions = {
        S.SUBMITTED: lambda o, u: services.submit(o, u) if frm is S.DRAFT else services.release_hold(o, u),
        S.APPROVED: lambda o, u: services.approve(o, u),
        S.ON_HOLD: lambda o, u: services.hold(o, u, "wait"),
        S.REJECTED: lambda o, u: services.reject(o, u, "no"),
        S.CANCELLED: lambda o, u: services.cancel(o, u),
        S.PACKED: lambda o, u: services.mark_packed(o, u),
        S.DISPATCHED: lambda o, u: services.dispatch(o, u, "DPD", "123"),
        S.DELIVERED: lambda o, u: services.mark_delivered(o, u),
        S.DRAFT: None,
    }
    for user in (people.staff, people.coord_a):
        allowed = user.role in services.TRANSITIONS.get((frm, to), frozenset())
        action = actions[to]
        if action is None:  # nothing moves an order back to draft
            continue
        db.session.expire_all()
        if allowed:
            action(order, user)
            db.session.expire_all()
            assert order.status is to
            return
        with pytest.raises(services.OrderError) as refused:
            action(order, user)
        assert str(refused.value)
        db.session.expire_all()
        assert order.status is frm


def test_concurrent_change_is_detected(people, cases):
    order = _submitted_order(people, cases)
    db.session.execute(sa.update(Order).where(Order.id == order.id).values(status=S.ON_HOLD))
    db.session.commit()
    set_committed_value(order, "status", S.SUBMITTED)  # a stale copy, as a second staff member's page had
    with pytest.raises(services.InvalidTransition, match="changed"):
        services.reject(order, people.staff, "too late")


def test_bulk_approve(staff_client, people, cases):
    first = _submitted_order(people, cases)
    second = _submitted_order(people, cases)
    response = staff_client.post("/staff/orders/bulk-approve", data={"order_id": [str(first.id), str(second.id)]})
    assert response.status_code == 303
    db.session.expire_all()
    assert first.status is S.APPROVED and second.status is S.APPROVED


def test_queue_filters_counts_search_and_fragment(staff_client, people, cases):
    a, b = cases
    _submitted_order(people, cases)
    other = f.order(a.campaign, people.group_b, [(b, 1, 10)], status=S.ON_HOLD)
    db.session.commit()
    page = staff_client.get("/staff/orders").get_data(as_text=True)
    assert "Cardiff Writers" in page and "Leeds Letters" in page and "<html" in page
    fragment = staff_client.get("/staff/orders?q=leeds", headers={"HX-Request": "true"})
    html = fragment.get_data(as_text=True)
    assert "<html" not in html and "Leeds Letters" in html and "Cardiff Writers" not in html
    assert "HX-Request" in fragment.headers["Vary"]
    by_case = staff_client.get(f"/staff/orders?case={a.id}").get_data(as_text=True)
    assert "Cardiff Writers" in by_case and "Leeds Letters" not in by_case
    held = staff_client.get("/staff/orders?status=on_hold").get_data(as_text=True)
    assert f"#{other.id}" in held and "Cardiff Writers" not in held
    assert re.search(r"On hold <span class=\"count\">1</span>", held)
    assert staff_client.get("/staff/orders?page=999&sort=bogus").status_code == 200


# --- Access ----------------------------------------------------------------------------------------

def test_another_groups_order_is_404_everywhere(app, people, cases):
    order = _submitted_order(people, cases)
    draft = f.order(cases[0].campaign, people.group_a, [(cases[0], 1, 10)], status=S.DRAFT)
    db.session.commit()
    from tests.conftest import login

    bob = app.test_client()
    login(bob, people.coord_b.email)
    for url in (f"/orders/{order.id}", f"/orders/{draft.id}/edit"):
        assert bob.get(url).status_code == 404
    for url in (f"/orders/{draft.id}/edit", f"/orders/{draft.id}/submit", f"/orders/{order.id}/cancel", f"/orders/{order.id}/delivered"):
        assert bob.post(url, data={}).status_code == 404
    assert bob.get("/orders/999999").status_code == 404
    db.session.expire_all()
    assert order.status is S.SUBMITTED and draft.status is S.DRAFT


STAFF_URLS = [
    ("get", "/staff/"), ("get", "/staff/orders"), ("get", "/staff/orders/{order}"), ("post", "/staff/orders/{order}/approve"),
    ("post", "/staff/orders/{order}/hold"), ("post", "/staff/orders/{order}/release"), ("post", "/staff/orders/{order}/reject"),
    ("post", "/staff/orders/{order}/packed"), ("post", "/staff/orders/{order}/dispatch"), ("post", "/staff/orders/bulk-approve"),
    ("get", "/staff/groups"), ("get", "/staff/groups/{group}"), ("post", "/staff/groups/{group}/status"),
    ("post", "/staff/groups/{group}/invite"), ("post", "/staff/users/{user}/active"), ("get", "/staff/outbox"),
    ("get", "/staff/stock/"), ("get", "/staff/stock/{case}"), ("post", "/staff/stock/{case}/print-runs"),
    ("post", "/staff/stock/{case}/adjustments"),
]


def test_staff_routes_refuse_coordinators_and_anonymous(app, coord_client, people, cases):
    order = _submitted_order(people, cases)
    ids = {"order": order.id, "group": people.group_a.id, "user": people.coord_a.id, "case": cases[0].id}
    anonymous = app.test_client()
    for method, url in STAFF_URLS:
        url = url.format(**ids)
        assert getattr(coord_client, method)(url).status_code == 403, url
        response = getattr(anonymous, method)(url)
        assert response.status_code == 302 and "/login" in response.location, url
        assert getattr(coord_client, method)(url, headers={"HX-Request": "true"}).status_code == 403, url
    db.session.expire_all()
    assert order.status is S.SUBMITTED


COORDINATOR_URLS = [("get", "/group"), ("get", "/orders/new"), ("post", "/orders/preview")]


def test_coordinator_routes_need_login_and_refuse_staff(app, staff_client):
    anonymous = app.test_client()
    for method, url in COORDINATOR_URLS:
        assert getattr(anonymous, method)(url).status_code == 302
        assert getattr(staff_client, method)(url).status_code == 403


def test_group_home_shows_only_own_orders_and_totals(coord_client, people, cases):
    a, b = cases
    mine = _submitted_order(people, cases)
    services.approve(mine, people.staff)
    theirs = f.order(a.campaign, people.group_b, [(b, 7, 10)], status=S.APPROVED)
    db.session.commit()
    html = coord_client.get("/group").get_data(as_text=True)
    assert f"#{mine.id}" in html and f"#{theirs.id}" not in html
    assert re.search(r"Sonia Dahmani</a></td><td class=\"num\">100</td>", html)
