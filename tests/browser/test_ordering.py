"""Journeys 1 and 2 in a real browser: sign up, approval, ordering with live totals; approve, labels, dispatch."""

from __future__ import annotations

import re

import sqlalchemy as sa
from playwright.sync_api import expect

from .conftest import CASE_A, CASE_B, PASSWORD, STAFF_EMAIL, login, make_coordinator, scalar, shot, unique


def _case_name(live, slug: str) -> str:
    from app.models import Case

    return scalar(live, sa.select(Case.name).where(Case.slug == slug))


def test_journey_1_sign_up_approval_and_order_with_live_totals(new_page, live_server, artifacts):
    group_name = unique("Browser Writers")
    email = re.sub(r"\W+", ".", group_name.lower()) + "@example.org"
    case_a, case_b = _case_name(live_server, CASE_A), _case_name(live_server, CASE_B)

    # The coordinator signs up their group.
    coordinator = new_page()
    coordinator.goto("/")
    coordinator.get_by_role("link", name="Log in").click()
    coordinator.get_by_role("link", name="Sign up to order card packs").click()
    coordinator.get_by_label("Group name").fill(group_name)
    coordinator.get_by_label("Type of group").select_option(label="School")
    coordinator.get_by_label("Region").fill("Wales")
    coordinator.get_by_label("How many people will write?").fill("60")
    coordinator.get_by_label("Your name").fill("Carys Coordinator")
    coordinator.get_by_label("Your email").fill(email)
    coordinator.get_by_label("Delivery address").fill("1 School Lane")
    coordinator.get_by_label("Town or city").fill("Swansea")
    coordinator.get_by_label("Postcode").fill("SA1 1AA")
    coordinator.get_by_label("Password", exact=True).fill(PASSWORD)
    coordinator.get_by_label("Repeat the password").fill(PASSWORD)
    shot(coordinator, artifacts, "j1-01-signup")
    coordinator.get_by_role("button", name="Sign up").click()
    expect(coordinator).to_have_url(re.compile(r"/signup/done$"))

    # Before approval the coordinator cannot log in, and is told why.
    coordinator.goto("/login")
    coordinator.get_by_label("Email").fill(email)
    coordinator.get_by_label("Password").fill(PASSWORD)
    coordinator.get_by_role("button", name="Log in").click()
    expect(coordinator.get_by_text("waiting for approval")).to_be_visible()

    # Staff find the pending group and approve it.
    staff = new_page()
    login(staff, STAFF_EMAIL)
    staff.goto("/staff/groups?status=pending")
    staff.get_by_role("link", name=group_name).click()
    expect(staff.get_by_role("heading", level=1)).to_contain_text("Pending")
    staff.get_by_role("button", name="Approve group").click()
    expect(staff.get_by_role("heading", level=1)).to_contain_text("Approved")
    shot(staff, artifacts, "j1-02-group-approved")

    # Now the coordinator logs in and orders 4 packs of 25 for case A and 2 of 50 for case B.
    login(coordinator, email)
    coordinator.goto("/group")
    coordinator.get_by_role("link", name="Order card packs").click()
    summary = coordinator.locator("#order-summary")
    expect(summary).to_contain_text("No packs yet")
    coordinator.get_by_label(f"Packs of 25 cards for {case_a}").fill("4")
    expect(summary.get_by_role("row", name=case_a)).to_contain_text("4 × 25")
    expect(summary.locator("tfoot")).to_contain_text("100")
    coordinator.get_by_label(f"Packs of 50 cards for {case_b}").fill("2")
    expect(summary.get_by_role("row", name=case_b)).to_contain_text("2 × 50")
    expect(summary.locator("tfoot")).to_have_text(re.compile(r"Total\s*6\s*200"))
    # Changing a quantity changes the totals again.
    coordinator.get_by_label(f"Packs of 25 cards for {case_a}").fill("5")
    expect(summary.locator("tfoot")).to_have_text(re.compile(r"Total\s*7\s*225"))
    coordinator.get_by_label(f"Packs of 25 cards for {case_a}").fill("4")
    expect(summary.locator("tfoot")).to_have_text(re.compile(r"Total\s*6\s*200"))
    # The summary is replaced inside a live region that stays in the page: changes are announced.
    expect(coordinator.locator("[aria-live='polite']").filter(has=summary)).to_have_count(1)
    shot(coordinator, artifacts, "j1-03-order-live-totals")

    coordinator.get_by_role("button", name="Submit order").click()
    expect(coordinator).to_have_url(re.compile(r"/orders/\d+$"))
    expect(coordinator.get_by_role("heading", level=1)).to_contain_text("Submitted")
    lines = coordinator.get_by_role("table")
    expect(lines.get_by_role("row", name=case_a)).to_contain_text("100")
    expect(lines.get_by_role("row", name=case_b)).to_contain_text("100")
    expect(lines.locator("tfoot")).to_contain_text("200")
    shot(coordinator, artifacts, "j1-04-order-submitted")


def _submitted_order(live, email: str) -> int:
    """A submitted order of the coordinator's group: 4 × 25 for case A and 2 × 50 for case B."""
    from app.models import Case, OrderStatus, User
    from tests import factories as f

    with live.data() as session:
        user = session.scalar(sa.select(User).where(User.email == email))
        a = session.scalar(sa.select(Case).where(Case.slug == CASE_A))
        b = session.scalar(sa.select(Case).where(Case.slug == CASE_B))
        order = f.order(a.campaign, user.group, lines=[(a, 4, 25), (b, 2, 50)], status=OrderStatus.SUBMITTED)
        order.submitted_at = sa.func.now()
        order.delivery_name, order.delivery_line1, order.delivery_city = "Cody", "1 Test Road", "Cardiff"
        order_id = order.id
    return order_id


def _stock_available(live, slug: str) -> int:
    from app.models import Case

    with live.app.app_context():
        from app.extensions import db

        try:
            return db.session.scalar(sa.select(Case).where(Case.slug == slug)).stock_available
        finally:
            db.session.remove()


def test_journey_2_approve_adjusted_labels_dispatch_and_tracking(new_page, live_server, artifacts):
    email, _group_id = make_coordinator(live_server)
    order_id = _submitted_order(live_server, email)
    case_a = _case_name(live_server, CASE_A)
    stock_before = _stock_available(live_server, CASE_A)

    staff = new_page()
    login(staff, STAFF_EMAIL)
    staff.goto("/staff/orders")
    staff.get_by_role("link", name=f"#{order_id}", exact=True).first.click()
    expect(staff.get_by_role("heading", level=1)).to_contain_text(f"Order #{order_id}")
    # Approve 3 packs of 25 instead of 4, with a comment to the coordinator.
    staff.get_by_label(f"Packs of 25 for {case_a}").fill("3")
    staff.get_by_label("Comment").fill("Three packs of 25 for Sonia: stock is tight this week.")
    shot(staff, artifacts, "j2-01-approve")
    staff.get_by_role("button", name="Approve order").click()
    expect(staff.get_by_text("Order approved: stock reserved and packs created.")).to_be_visible()
    expect(staff.get_by_role("heading", level=1)).to_contain_text("Approved")
    assert _stock_available(live_server, CASE_A) == stock_before - 75

    # Packs were generated: 3 + 2.
    staff.get_by_role("link", name="Packs, labels and packing slip").click()
    expect(staff.get_by_text("5 packs")).to_be_visible()
    # The label sheet PDF.
    with staff.expect_download() as download_info:
        staff.get_by_role("button", name="Download labels (PDF)").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".pdf")
    pdf = download.path().read_bytes()
    assert pdf.startswith(b"%PDF-") and len(pdf) > 1000
    shot(staff, artifacts, "j2-02-packs-and-labels")

    # Packed, then dispatched with a tracking number.
    staff.goto(f"/staff/orders/{order_id}")
    staff.get_by_role("button", name="Mark packed").click()
    expect(staff.get_by_role("heading", level=1)).to_contain_text("Packed")
    staff.get_by_label("Carrier").fill("Royal Mail")
    staff.get_by_label("Tracking number").fill("RM123456789GB")
    staff.get_by_role("button", name="Dispatch", exact=True).click()
    expect(staff.get_by_role("heading", level=1)).to_contain_text("Dispatched")
    shot(staff, artifacts, "j2-03-dispatched")

    # The coordinator sees the status, the comment and the tracking number.
    coordinator = new_page()
    login(coordinator, email)
    coordinator.goto("/group")
    row = coordinator.get_by_role("row", name=f"#{order_id}")
    expect(row).to_contain_text("Dispatched")
    expect(row).to_contain_text("RM123456789GB")
    row.get_by_role("link", name=f"#{order_id}").click()
    expect(coordinator.get_by_role("heading", level=1)).to_contain_text("Dispatched")
    expect(coordinator.get_by_text("Three packs of 25 for Sonia")).to_be_visible()
    shipment = coordinator.get_by_role("paragraph").filter(has_text="Tracking number RM123456789GB")
    expect(shipment).to_contain_text("Sent with Royal Mail")
    expect(coordinator.get_by_role("table").locator("tfoot")).to_contain_text("175")
    shot(coordinator, artifacts, "j2-04-coordinator-tracking")
