"""`flask seed`, `flask demo` and `flask users create`."""

import json

import sqlalchemy as sa

from app import seeding
from app.extensions import db
from app.models import (
    AuditEvent,
    Campaign,
    Case,
    Mailing,
    Order,
    OrderStatus,
    OutcomeUpdate,
    Pack,
    PackSize,
    Report,
    Role,
    User,
)


def _counts() -> dict:
    return {m.__name__: db.session.scalar(sa.select(sa.func.count()).select_from(m)) for m in (Campaign, Case, OutcomeUpdate, PackSize)}


def test_seed_loads_the_2025_campaign_and_its_cases(runner):
    result = runner.invoke(args=["seed"])
    assert result.exit_code == 0, result.output
    current = db.session.scalar(sa.select(Campaign).where(Campaign.is_current.is_(True)))
    assert current.name == "Write for Rights 2025"
    assert (current.starts_on.isoformat(), current.ends_on.isoformat()) == ("2025-11-01", "2025-12-31")
    names = {c.name for c in current.cases}
    assert {"Sonia Dahmani", "Sai Zaw Thaike"} <= names
    assert len(current.cases) >= 6
    assert sorted(ps.cards for ps in current.pack_sizes) == [10, 25, 50]
    sonia = db.session.scalar(sa.select(Case).where(Case.slug == "sonia-dahmani"))
    assert sonia.country == "Tunisia" and sonia.authority_address_is_placeholder


def test_seed_twice_changes_nothing(runner):
    runner.invoke(args=["seed"])
    before = _counts()
    result = runner.invoke(args=["seed"])
    assert result.exit_code == 0
    assert "nothing to change" in result.output
    assert _counts() == before


def test_seed_keeps_staff_edits_and_current_choice(runner):
    runner.invoke(args=["seed"])
    case = db.session.scalar(sa.select(Case).where(Case.slug == "sonia-dahmani"))
    case.summary = "Edited by staff"
    db.session.execute(sa.update(Campaign).values(is_current=False))
    db.session.execute(sa.update(Campaign).where(Campaign.slug == "w4r-2024").values(is_current=True))
    db.session.commit()
    runner.invoke(args=["seed"])
    db.session.expire_all()
    assert db.session.get(Case, case.id).summary == "Edited by staff"
    assert db.session.scalar(sa.select(Campaign.slug).where(Campaign.is_current.is_(True))) == "w4r-2024"


def test_seed_adds_a_new_case_from_the_data_file(app, tmp_path):
    data = seeding.load_data()
    seeding.seed(data)
    data = json.loads(json.dumps(data))
    data["campaigns"][1]["cases"].append(
        {"slug": "new-case", "name": "New", "country": "X", "summary": "s", "story": "t", "ask": "a"}
    )
    result = seeding.seed(data)
    assert result.cases == 1 and result.campaigns == 0
    assert db.session.scalar(sa.select(Case.position).where(Case.slug == "new-case")) == 7


def test_data_file_cases_are_complete():
    data = seeding.load_data()
    current = next(c for c in data["campaigns"] if c.get("current"))
    assert current["name"] == "Write for Rights 2025"
    for case in current["cases"]:
        for key in ("slug", "name", "country", "summary", "story", "ask", "what_to_write", "target"):
            assert case.get(key), (case["slug"], key)


def test_demo_small_gives_a_living_campaign(runner):
    result = runner.invoke(args=["demo", "--scale", "small", "--seed", "7"])
    assert result.exit_code == 0, result.output
    assert "staff@example.org" in result.output
    statuses = set(db.session.scalars(sa.select(Order.status).distinct()))
    assert statuses == set(OrderStatus)
    # Every pack's counter equals the sum of its reports, and never exceeds its size.
    mismatched = db.session.execute(
        sa.select(Pack.id)
        .outerjoin(Report, (Report.pack_id == Pack.id) & Report.voided.is_(False))
        .group_by(Pack.id, Pack.cards_posted)
        .having(sa.func.coalesce(sa.func.sum(Report.cards), 0) != Pack.cards_posted)
    ).all()
    assert mismatched == []
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Report)) > 50
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Mailing)) >= 6
    for case in db.session.scalars(sa.select(Case).where(Case.stock_printed > 0)):
        assert case.stock_available >= 0
        mailed = db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(Mailing.quantity), 0)).where(Mailing.case_id == case.id))
        reported = db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(Report.cards), 0)).where(Report.case_id == case.id))
        assert mailed <= reported  # only collected cards can be forwarded


def test_demo_is_reproducible_and_refuses_to_run_twice(runner):
    runner.invoke(args=["demo", "--seed", "3"])
    shape = db.session.execute(sa.select(Order.group_id, Order.status).order_by(Order.id)).all()
    again = runner.invoke(args=["demo", "--seed", "3"])
    assert again.exit_code == 0 and "already loaded" in again.output
    assert db.session.execute(sa.select(Order.group_id, Order.status).order_by(Order.id)).all() == shape


def test_users_create_staff_and_coordinator(runner):
    result = runner.invoke(args=["users", "create", "Boss@Example.org", "--role", "staff", "--password-stdin"], input="a-long-enough-pass\n")
    assert result.exit_code == 0, result.output
    user = db.session.scalar(sa.select(User).where(User.email == "boss@example.org"))
    assert user.role is Role.STAFF and user.password_hash != "a-long-enough-pass"
    assert db.session.scalar(sa.select(AuditEvent.action).where(AuditEvent.object_id == user.id)) == "user.created"

    runner.invoke(args=["demo"])
    group_name = db.session.scalar(sa.select(User).where(User.email == "coordinator@example.org")).group.name
    result = runner.invoke(args=["users", "create", "c2@example.org", "--role", "coordinator", "--group", group_name, "--password-stdin"], input="another-long-pass\n")
    assert result.exit_code == 0, result.output


def test_users_create_refuses_bad_input(runner):
    cases = [
        (["users", "create", "x@example.org", "--role", "staff", "--password-stdin"], "short\n", "at least 8"),
        (["users", "create", "x@example.org", "--role", "staff", "--password-stdin"], "password123\n", "too common"),
        (["users", "create", "not-an-email", "--role", "staff", "--password-stdin"], "a-long-enough-pass\n", "valid email"),
        (["users", "create", "x@example.org", "--role", "coordinator", "--password-stdin"], "a-long-enough-pass\n", "--group"),
        (["users", "create", "x@example.org", "--role", "coordinator", "--group", "Nope", "--password-stdin"], "a-long-enough-pass\n", "No group"),
    ]
    for args, stdin, message in cases:
        result = runner.invoke(args=args, input=stdin)
        assert result.exit_code != 0 and message in result.output, (args, result.output)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0
    runner.invoke(args=["users", "create", "x@example.org", "--role", "staff", "--password-stdin"], input="a-long-enough-pass\n")
    dup = runner.invoke(args=["users", "create", "X@example.org", "--role", "staff", "--password-stdin"], input="a-long-enough-pass\n")
    assert dup.exit_code != 0 and "already exists" in dup.output
