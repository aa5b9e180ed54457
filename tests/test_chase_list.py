"""The chase list: which packs are chased, grouping, reminders by email, and who may see it."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from app.chase import services as chase
from app.extensions import db
from app.models import AuditEvent, OrderStatus, OutboxEmail, Reminder, ReportSource, Role, Shipment
from app.packs import codes
from app.reports import services as reports
from tests import factories as f
from tests.reports_support import log_in, make_user, make_world, text_of

HX = {"HX-Request": "true"}


@pytest.fixture
def world(app):
    return make_world(packs=3, size=25, dispatched_days_ago=20)


@pytest.fixture
def staff(app):
    return make_user(Role.STAFF, "staff@example.org")


@pytest.fixture
def staff_client(client, staff):
    log_in(client, "staff@example.org")
    return client


def _codes(rows) -> set[str]:
    return {p.code for row in rows for p in row.packs}


def test_unreported_packs_of_old_dispatches_are_listed_by_group(world):
    reports.record_report(world.packs[0], 1, ReportSource.PAGE, "one")
    _, rows, totals = chase.chase_list(14)
    assert [row.group.id for row in rows] == [world.group.id]
    assert _codes(rows) == {world.packs[1].code, world.packs[2].code}
    assert rows[0].cards == 50 and totals == {"packs": 2, "groups": 1}
    assert rows[0].first_dispatched < datetime.now(timezone.utc) - timedelta(days=19)


def test_recent_dispatches_wait_until_n_days(world):
    assert _codes(chase.chase_list(30)[1]) == set()
    assert len(_codes(chase.chase_list(19)[1])) == 3


def test_a_voided_report_puts_the_pack_back_on_the_list(world, staff):
    report = reports.record_report(world.packs[0], 3, ReportSource.PAGE, "oops").report
    assert world.packs[0].code not in _codes(chase.chase_list(14)[1])
    reports.void_report(report, staff, "wrong pack")
    assert world.packs[0].code in _codes(chase.chase_list(14)[1])


@pytest.mark.parametrize("status", [OrderStatus.APPROVED, OrderStatus.PACKED, OrderStatus.CANCELLED])
def test_only_dispatched_or_delivered_orders_are_chased(app, status):
    make_world(packs=2, dispatched_days_ago=30, status=status)
    assert chase.chase_list(14)[1] == []


def test_delivered_orders_are_chased_and_groups_are_separate(app):
    first = make_world(packs=1, dispatched_days_ago=40, status=OrderStatus.DELIVERED)
    campaign = first.case.campaign
    other = f.group(name="Second group")
    order = f.order(campaign, other, [(first.case, 2, 10)], status=OrderStatus.DISPATCHED)
    f.pack(first.case, 10, line=order.lines[0])
    f.pack(first.case, 10, line=order.lines[0])
    db.session.add(Shipment(order_id=order.id, carrier="DHL", dispatched_at=datetime.now(timezone.utc) - timedelta(days=16)))
    db.session.commit()
    _, rows, totals = chase.chase_list(14)
    assert [(row.group.name, len(row.packs)) for row in rows] == [(first.group.name, 1), ("Second group", 2)]  # longest waiting first
    assert totals == {"packs": 3, "groups": 2}


def test_page_lists_groups_and_days_come_from_query_or_config(staff_client, world, app):
    response = staff_client.get("/staff/chase")
    assert response.headers["Cache-Control"] == "no-store"
    html = text_of(response)
    assert "more than 14 days ago" in html and world.group.name in html
    for pack in world.packs:
        assert codes.format_code(pack.code) in html
    assert "Never reminded" in html
    assert world.group.name not in text_of(staff_client.get("/staff/chase?days=25"))
    app.config["CHASE_AFTER_DAYS"] = 30
    assert world.group.name not in text_of(staff_client.get("/staff/chase"))
    assert "more than 14 days ago" in text_of(staff_client.get("/staff/chase?days=14"))
    assert "more than 30 days ago" in text_of(staff_client.get("/staff/chase?days=-3"))  # nonsense → default


def test_list_fragment_for_htmx(staff_client, world):
    response = staff_client.get("/staff/chase?days=14", headers=HX)
    html = text_of(response)
    assert html.startswith('<div id="chase-groups"') and "<html" not in html


def test_reminder_emails_the_coordinators_and_is_recorded(staff_client, world, staff):
    make_user(Role.COORDINATOR, "coord@example.org", group=world.group)
    make_user(Role.COORDINATOR, "coord2@example.org", group=world.group)
    response = staff_client.post(f"/staff/chase/{world.group.id}/remind", data={"days": "14"}, headers=HX)
    assert response.status_code == 200
    html = text_of(response)
    assert html.startswith(f'<section id="chase-group-{world.group.id}"')
    assert "Reminder sent to 2 people" in html and "Last reminder" in html

    mails = list(db.session.scalars(sa.select(OutboxEmail).order_by(OutboxEmail.to)))
    assert [m.to for m in mails] == ["coord2@example.org", "coord@example.org"]
    body = mails[0].body
    assert mails[0].subject == "3 card packs waiting to be reported"
    assert "http://cards.test/p" in body and world.case.name in body
    for pack in world.packs:
        assert codes.format_code(pack.code) in body
    reminder = db.session.scalar(sa.select(Reminder))
    assert (reminder.group_id, reminder.packs, reminder.recipients, reminder.sent_by_id) == (world.group.id, 3, 2, staff.id)
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "group.chase_reminder"))
    assert event.object_id == world.group.id and event.after["packs"] == 3


def test_reminder_without_js_redirects_and_a_second_one_waits(staff_client, world):
    response = staff_client.post(f"/staff/chase/{world.group.id}/remind", data={"days": "14"})
    assert response.status_code == 303 and response.headers["Location"] == "/staff/chase?days=14"
    assert "Reminder sent to 1 person" in text_of(staff_client.get(response.headers["Location"]))  # the group contact
    assert db.session.scalar(sa.select(OutboxEmail.to)) == world.group.contact_email
    again = staff_client.post(f"/staff/chase/{world.group.id}/remind", data={"days": "14"}, follow_redirects=True)
    assert "wait an hour" in text_of(again)
    assert db.session.scalar(sa.select(sa.func.count(Reminder.id))) == 1


def test_reminder_refused_when_nothing_to_chase(staff_client, world):
    response = staff_client.post(f"/staff/chase/{world.group.id}/remind", data={"days": "30"}, follow_redirects=True)
    assert "has no unreported packs" in text_of(response)
    assert db.session.scalar(sa.select(sa.func.count(OutboxEmail.id))) == 0
    assert staff_client.post("/staff/chase/999/remind", data={"days": "14"}).status_code == 404


def test_reminder_cooldown_uses_the_last_reminder(world, staff):
    now = datetime.now(timezone.utc)
    chase.send_reminder(world.group, staff, 14, now=now - timedelta(hours=2))
    chase.send_reminder(world.group, staff, 14, now=now)
    with pytest.raises(chase.ChaseError):
        chase.send_reminder(world.group, staff, 14, now=now + timedelta(minutes=5))
    row = chase.chase_list(14)[1][0]
    assert abs((row.last_reminder - now).total_seconds()) < 1
