"""Accounts: login, logout, sessions, sign-up and approval, password reset, invitations."""

import re

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import AuditEvent, Group, GroupStatus, OutboxEmail, Role, User
from flask import request_started

from tests.conftest import PASSWORD, _forget_request_user, login


def _emails_to(address: str) -> list[OutboxEmail]:
    return list(db.session.scalars(sa.select(OutboxEmail).where(OutboxEmail.to == address).order_by(OutboxEmail.id)))


def _link(email: OutboxEmail) -> str:
    return re.search(r"http://cards\.test(/\S+)", email.body).group(1)


def test_login_sends_each_role_home(app, people):
    client = app.test_client()
    assert login(client, people.staff.email).location == "/staff/"
    other = app.test_client()
    assert login(other, "ALICE@a.example").location == "/group"  # email is case-insensitive


@pytest.mark.parametrize("email, password", [("alice@a.example", "wrong password!"), ("nobody@x.example", PASSWORD)])
def test_wrong_password_and_unknown_user_answer_alike(client, people, email, password):
    response = client.post("/login", data={"email": email, "password": password})
    assert response.status_code == 422
    assert "Wrong email or password." in response.get_data(as_text=True)
    assert client.get("/group").status_code == 302


def test_login_ignores_offsite_next(client, people):
    response = client.post("/login?next=//evil.example/x", data={"email": people.coord_a.email, "password": PASSWORD})
    assert response.location == "/group"
    client.post("/logout")
    response = client.post("/login?next=/orders/new", data={"email": people.coord_a.email, "password": PASSWORD})
    assert response.location == "/orders/new"


def test_login_starts_a_fresh_session(client, people):
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    login(client, people.coord_a.email)
    with client.session_transaction() as session:
        assert "planted" not in session


def test_logout_ends_the_session_and_needs_post(client, people):
    login(client, people.coord_a.email)
    assert client.get("/logout").status_code == 405  # no state change on GET
    assert client.post("/logout").status_code == 303
    assert client.get("/group").status_code == 302


def test_logout_everywhere_ends_other_sessions(app, people):
    phone, laptop = app.test_client(), app.test_client()
    login(phone, people.coord_a.email)
    login(laptop, people.coord_a.email)
    assert laptop.post("/logout-everywhere").status_code == 303
    assert phone.get("/group").status_code == 302
    assert db.session.scalar(sa.select(AuditEvent.action).where(AuditEvent.action == "user.sessions_ended"))


def test_disabling_a_user_ends_their_session_at_once(app, people, staff_client):
    coordinator = app.test_client()
    login(coordinator, people.coord_a.email)
    assert coordinator.get("/group").status_code == 200
    response = staff_client.post(f"/staff/users/{people.coord_a.id}/active", data={"active": "0"})
    assert response.status_code == 303
    assert coordinator.get("/group").status_code == 302
    refused = app.test_client().post("/login", data={"email": people.coord_a.email, "password": PASSWORD})
    assert "disabled" in refused.get_data(as_text=True)


def test_staff_cannot_disable_themselves(staff_client, people):
    staff_client.post(f"/staff/users/{people.staff.id}/active", data={"active": "0"})
    db.session.refresh(people.staff)
    assert people.staff.is_active


def test_signup_creates_a_pending_group_and_tells_staff(client, people):
    data = {
        "name": "Swansea Sixth Form", "type": "school", "country": "United Kingdom", "region": "Wales",
        "contact_name": "Carys Jones", "contact_email": "Carys@School.example", "contact_phone": "",
        "address_line1": "1 College Road", "address_line2": "", "city": "Swansea", "postcode": "SA1 1AA",
        "expected_writers": "120", "password": "letters for freedom", "confirm": "letters for freedom",
        "role": "staff", "status": "approved",  # extra fields are ignored
    }
    response = client.post("/signup", data=data)
    assert response.status_code == 303 and response.location == "/signup/done"
    group = db.session.scalar(sa.select(Group).where(Group.name == "Swansea Sixth Form"))
    user = db.session.scalar(sa.select(User).where(User.email == "carys@school.example"))
    assert group.status is GroupStatus.PENDING and user.role is Role.COORDINATOR and user.group_id == group.id
    assert _emails_to(people.staff.email)[-1].subject == "New group waiting for approval: Swansea Sixth Form"
    assert _emails_to("carys@school.example")
    pending = client.post("/login", data={"email": "carys@school.example", "password": "letters for freedom"})
    assert pending.status_code == 422 and "waiting for approval" in pending.get_data(as_text=True)


@pytest.mark.parametrize(
    "change, field, message",
    [
        ({"name": "Cardiff Writers"}, "name", "already registered"),
        ({"contact_email": "bob@b.example"}, "contact_email", "already exists"),
        ({"password": "short", "confirm": "short"}, "password", "at least 8"),
        ({"confirm": "different words"}, "confirm", "differ"),
        ({"expected_writers": "-5"}, "expected_writers", "from 1 to 100,000"),
        ({"expected_writers": "9999999999999"}, "expected_writers", "from 1 to 100,000"),
        ({"name": "x" * 201}, "name", "200"),
        ({"contact_email": "not an email"}, "contact_email", "valid email"),
        ({"address_line1": ""}, "address_line1", "Enter the address"),
    ],
)
def test_signup_errors_stand_next_to_the_field_and_nothing_is_saved(client, people, change, field, message):
    data = {
        "name": "New Group", "type": "local", "country": "United Kingdom", "region": "", "contact_name": "N",
        "contact_email": "new@group.example", "address_line1": "1 Road", "city": "Town",
        "expected_writers": "10", "password": "a fine long password", "confirm": "a fine long password",
    }
    data.update(change)
    groups_before = db.session.scalar(sa.select(sa.func.count()).select_from(Group))
    response = client.post("/signup", data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    error = re.search(rf'id="{field}-error"[^>]*>([^<]*)<', html).group(1)
    assert message in error
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Group)) == groups_before


def test_staff_approve_a_group_and_the_coordinator_can_log_in(client, people, staff_client):
    client.post("/signup", data={
        "name": "Faith Friends", "type": "faith", "country": "Ireland", "contact_name": "Fiona",
        "contact_email": "fiona@faith.example", "address_line1": "2 Chapel St", "city": "Cork",
        "expected_writers": "15", "password": "a fine long password", "confirm": "a fine long password",
    })
    group = db.session.scalar(sa.select(Group).where(Group.name == "Faith Friends"))
    assert "Faith Friends" in staff_client.get("/staff/groups?status=pending").get_data(as_text=True)
    assert staff_client.post(f"/staff/groups/{group.id}/status", data={"status": "approved"}).status_code == 303
    db.session.refresh(group)
    assert group.status is GroupStatus.APPROVED
    assert "approved" in _emails_to("fiona@faith.example")[-1].subject
    login(client, "fiona@faith.example", "a fine long password")
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "group.status_changed"))
    assert (event.before, event.after, event.actor_id) == ({"status": "pending"}, {"status": "approved"}, people.staff.id)


def test_password_reset_by_emailed_link(app, client, people):
    other_session = app.test_client()
    login(other_session, people.coord_a.email)
    response = client.post("/forgot", data={"email": "alice@a.example"})
    assert response.status_code == 303
    link = _link(_emails_to("alice@a.example")[-1])
    assert client.get(link).status_code == 200
    weak = client.post(link, data={"password": "password123", "confirm": "password123"})
    assert weak.status_code == 422 and "too common" in weak.get_data(as_text=True)
    assert client.post(link, data={"password": "a brand new secret", "confirm": "a brand new secret"}).status_code == 303
    assert other_session.get("/group").status_code == 302  # every old session ended
    login(client, "alice@a.example", "a brand new secret")
    assert client.get(link).status_code == 410  # the link works once


def test_password_reset_for_unknown_email_says_the_same_and_sends_nothing(client, people):
    response = client.post("/forgot", data={"email": "ghost@nowhere.example"}, follow_redirects=True)
    assert "If an account exists" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxEmail)) == 0


def test_tampered_reset_link_is_refused(client, people):
    client.post("/forgot", data={"email": "alice@a.example"})
    link = _link(_emails_to("alice@a.example")[-1])
    assert client.get(link[:-3] + "abc").status_code == 410


def test_invitation_flow(app, staff_client, people):
    response = staff_client.post(f"/staff/groups/{people.group_b.id}/invite", data={"email": "new@b.example", "name": "Nia"})
    assert response.status_code == 303
    user = db.session.scalar(sa.select(User).where(User.email == "new@b.example"))
    assert user.group_id == people.group_b.id and user.password_hash is None
    link = _link(_emails_to("new@b.example")[-1])
    invited = app.test_client()
    assert "Leeds Letters" in invited.get(link).get_data(as_text=True)
    assert invited.post(link, data={"password": "my own good password", "confirm": "my own good password"}).status_code == 303
    login(invited, "new@b.example", "my own good password")
    dup = staff_client.post(f"/staff/groups/{people.group_b.id}/invite", data={"email": "new@b.example"})
    assert dup.status_code == 422 and "already exists" in dup.get_data(as_text=True)


def test_login_is_throttled_per_account(app_factory, people):
    from app.extensions import limiter

    throttled = app_factory(RATELIMIT_ENABLED=True)
    request_started.connect(_forget_request_user, throttled)
    limiter.reset()
    client = throttled.test_client()
    codes = [client.post("/login", data={"email": "alice@a.example", "password": f"wrong-{i}"}).status_code for i in range(11)]
    assert codes[:10] == [422] * 10 and codes[10] == 429
    # The right password is throttled too while the block lasts (no oracle for the attacker).
    assert client.post("/login", data={"email": "alice@a.example", "password": PASSWORD}).status_code == 429
    # Another account from another client is not affected.
    other = throttled.test_client()
    assert other.post("/login", data={"email": "bob@b.example", "password": PASSWORD}, environ_base={"REMOTE_ADDR": "10.9.9.9"}).status_code == 303
    limiter.reset()


def test_post_without_csrf_token_is_refused(app, people):
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    response = client.post("/login", data={"email": "alice@a.example", "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/group").status_code == 302
