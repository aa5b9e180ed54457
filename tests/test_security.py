"""Security controls that cut across features: access to every route, CSRF, headers, escaping,
input limits, the append-only audit trail, GDPR commands and backups."""

import json
import re
import sqlite3
import threading

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.exc import DBAPIError

from app.extensions import db
from app.models import AuditEvent, Case, Group, Order, OrderStatus, OutboxEmail, User
from tests import factories as f
from tests.conftest import is_postgres, login

# Routes anyone may use without logging in (everything else needs a login or a token).
PUBLIC = {
    "static", "public.home", "public.case_page", "auth.login", "auth.signup", "auth.signup_done",
    "auth.forgot_password", "auth.reset_password", "auth.accept_invitation", "api_docs", "api-docs.openapi_json",
}
PUBLIC_PREFIXES = ("reports.pack_page", "reports.post_report", "reports.enter_code", "reports.thanks", "api.list_campaigns",
                   "api.list_cases", "api.get_case", "api.stats", "api.create_report", "health")


def _routes(app):
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


def _url(rule, ids):
    values = {}
    for arg in rule.arguments:
        converter = rule._converters[arg].__class__.__name__
        values[arg] = ids.get(arg, 1) if "Integer" in converter or "Id" in converter else ids.get(arg, "x")
    return rule.build(values, append_unknown=False)[1]


def _is_public(endpoint):
    return endpoint in PUBLIC or endpoint.startswith(PUBLIC_PREFIXES)


@pytest.fixture
def objects(people):
    case = db.session.scalar(sa.select(Case).where(Case.slug == "sonia-dahmani"))
    order_a = f.order(case.campaign, people.group_a, [(case, 1, 10)], status=OrderStatus.SUBMITTED)
    order_b = f.order(case.campaign, people.group_b, [(case, 1, 10)], status=OrderStatus.SUBMITTED)
    db.session.commit()
    return {"a": order_a, "b": order_b, "case": case}


def test_every_route_needs_login_unless_public(app, objects):
    anonymous = app.test_client()
    checked = 0
    for rule, method in _routes(app):
        if _is_public(rule.endpoint):
            continue
        url = _url(rule, {"order_id": objects["a"].id, "case_id": objects["case"].id})
        response = anonymous.open(url, method=method)
        if rule.rule.startswith("/api/"):
            assert response.status_code in (401, 404, 405), (method, url, response.status_code)
        else:
            assert response.status_code in (302, 404), (method, url, response.status_code)
            if response.status_code == 302:
                assert "/login" in response.location
        checked += 1
    assert checked > 30


def test_every_staff_route_is_403_for_coordinators(app, objects, coord_client):
    checked = 0
    for rule, method in _routes(app):
        if not rule.rule.startswith("/staff"):
            continue
        url = _url(rule, {"order_id": objects["a"].id, "case_id": objects["case"].id})
        for headers in ({}, {"HX-Request": "true"}):
            response = coord_client.open(url, method=method, headers=headers)
            assert response.status_code == 403, (method, url, response.status_code)
        checked += 1
    assert checked > 20
    db.session.expire_all()
    assert objects["a"].status is OrderStatus.SUBMITTED


def test_another_groups_objects_answer_404_like_missing_ones(app, objects, people):
    bob = app.test_client()
    login(bob, people.coord_b.email)
    for rule, method in _routes(app):
        if "order_id" not in rule.arguments or rule.rule.startswith(("/staff", "/api")):
            continue
        theirs = bob.open(_url(rule, {"order_id": objects["a"].id}), method=method)
        missing = bob.open(_url(rule, {"order_id": 2**31 - 2}), method=method)
        # Same answer as for a missing order: 404, or 403 on staff-only routes (no existence oracle).
        assert theirs.status_code == missing.status_code and theirs.status_code in (403, 404), rule.rule


def test_posts_without_csrf_token_are_refused(app_factory, _migrated, people):
    strict = app_factory(WTF_CSRF_ENABLED=True)
    client = strict.test_client()
    with client:
        # Log in the proper way (with the form's token), then drop it on every other unsafe request.
        page = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        assert client.post("/login", data={"email": people.staff.email, "password": "correct horse battery", "csrf_token": token}).status_code == 303
    refused = 0
    for rule, method in _routes(strict):
        if method not in ("POST", "PUT", "PATCH", "DELETE") or rule.rule.startswith("/api/") or rule.endpoint == "auth.login":
            continue
        response = client.open(_url(rule, {}), method=method, data={"reason": "x"})
        assert response.status_code in (400, 404), (rule.rule, response.status_code)
        refused += 1
    assert refused > 15
    htmx = client.post("/orders/preview", headers={"HX-Request": "true"})
    assert htmx.status_code in (400, 403)


def test_security_headers_everywhere(client, people, staff_client):
    for response in (client.get("/"), client.get("/login"), staff_client.get("/staff/"), client.get("/api/v1/cases"), client.get("/nowhere")):
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert staff_client.get("/staff/").headers["Cache-Control"] == "no-store"
    cookie = staff_client.get_cookie("session")
    assert cookie.http_only and cookie.same_site == "Lax"


def test_no_inline_scripts_or_styles_in_pages(staff_client, coord_client, client, objects):
    pages = [client.get("/"), client.get("/cases/sonia-dahmani"), client.get("/login"), client.get("/signup"),
             staff_client.get("/staff/orders"), staff_client.get(f"/staff/orders/{objects['a'].id}"), coord_client.get("/orders/new")]
    for response in pages:
        html = response.get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline script"
        assert " style=" not in html and "<style" not in html
        assert "hx-on" not in html


XSS = ['<script>alert(1)</script>', '"><img src=x onerror=alert(1)>', "<div hx-get='/logout' hx-trigger='load'>x</div>",
       "javascript:alert(1)", "{{7*7}}"]


@pytest.mark.parametrize("payload", XSS)
def test_text_fields_are_rendered_escaped_everywhere(app, client, people, payload):
    data = {"name": "Group " + payload, "type": "local", "country": payload[:100], "region": payload[:100],
            "contact_name": payload, "contact_email": "xss@x.example", "address_line1": payload, "city": payload[:100],
            "postcode": payload[:20], "expected_writers": "5", "password": "a long pass phrase", "confirm": "a long pass phrase"}
    assert client.post("/signup", data=data).status_code == 303
    group = db.session.scalar(sa.select(Group).where(Group.contact_email == "xss@x.example"))
    group.status = group.status.__class__("approved")
    db.session.commit()
    staff = app.test_client()
    login(staff, people.staff.email)
    coordinator = app.test_client()
    login(coordinator, "xss@x.example", "a long pass phrase")
    case = db.session.scalar(sa.select(Case).where(Case.slug == "sonia-dahmani"))
    order = f.order(case.campaign, group, [(case, 1, 10)], status=OrderStatus.SUBMITTED)
    order.notes = payload
    order.delivery_line1 = payload
    case.story = payload
    db.session.commit()
    pages = [staff.get(f"/staff/groups/{group.id}"), staff.get("/staff/groups"), staff.get(f"/staff/orders/{order.id}"),
             staff.get("/staff/orders"), coordinator.get("/group"), coordinator.get(f"/orders/{order.id}"),
             client.get("/cases/sonia-dahmani"), staff.get("/staff/outbox")]
    for response in pages:
        html = response.get_data(as_text=True)
        assert response.status_code == 200
        assert payload not in html or payload in ("javascript:alert(1)", "{{7*7}}"), response.request.path
        assert "<script>alert(1)" not in html and "onerror=alert(1)>" not in html and "hx-trigger='load'" not in html
    assert "49" not in client.get("/cases/sonia-dahmani").get_data(as_text=True).split("Their story")[1][:200]


def test_oversized_bodies_are_413(app, client):
    app.config["MAX_CONTENT_LENGTH"] = 1024
    response = client.post("/login", data={"email": "a@b.c", "password": "x" * 5000})
    assert response.status_code == 413


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.dictionaries(
    st.sampled_from(["name", "type", "country", "region", "contact_name", "contact_email", "contact_phone", "address_line1",
                     "city", "postcode", "expected_writers", "password", "confirm", "email", "needed_by", "notes",
                     "delivery_line1", "qty_3_25", "qty_4_10", "action", "reason", "comment", "cards", "quantity", "note"]),
    st.one_of(st.text(max_size=300), st.integers(min_value=-10**12, max_value=10**12).map(str), st.just(""), st.just("0"))),
)
def test_fuzzed_forms_never_cause_a_server_error(fuzz_clients, data):
    for client, urls in fuzz_clients:
        for url in urls:
            response = client.post(url, data=data)
            assert response.status_code < 500, (url, data, response.status_code)


@pytest.fixture
def fuzz_clients(app, people, objects):
    staff = app.test_client()
    login(staff, people.staff.email)
    coordinator = app.test_client()
    login(coordinator, people.coord_a.email)
    case_id = objects["case"].id
    return [
        (app.test_client(), ["/signup", "/login", "/forgot"]),
        (coordinator, ["/orders/new", "/orders/preview", "/account/tokens"]),
        (staff, [f"/staff/stock/{case_id}/print-runs", f"/staff/stock/{case_id}/adjustments", f"/staff/orders/{objects['b'].id}/hold",
                 f"/staff/groups/{people.group_b.id}/invite", "/staff/webhooks/"]),
    ]


def test_audit_events_are_append_only(people):
    from app.auth import services as accounts

    accounts.end_all_sessions(people.coord_a)
    assert db.session.scalar(sa.select(AuditEvent)) is not None
    for statement in (sa.update(AuditEvent).values(comment="rewritten"), sa.delete(AuditEvent)):
        with pytest.raises(DBAPIError, match="append-only"):
            db.session.execute(statement)
            db.session.flush()
        db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) >= 1


def test_audit_events_hold_no_email_addresses(client, people, staff_client):
    staff_client.post(f"/staff/groups/{people.group_b.id}/invite", data={"email": "invitee@private.example"})
    client.post("/signup", data={"name": "G", "type": "local", "country": "UK", "contact_name": "N", "contact_email": "signup@private.example",
                                 "address_line1": "1", "city": "C", "expected_writers": "5", "password": "a long pass phrase", "confirm": "a long pass phrase"})
    dump = json.dumps([(e.actor_label, e.before, e.after, e.comment) for e in db.session.scalars(sa.select(AuditEvent))])
    assert "@" not in dump


def test_gdpr_export_erase_keeps_totals(runner, people, objects):
    from app.public.services import case_totals

    objects["a"].status = OrderStatus.APPROVED
    db.session.commit()
    before = case_totals([objects["case"].id])
    exported = json.loads(runner.invoke(args=["gdpr", "export", str(people.group_a.id)]).output)
    assert exported["group"]["contact_email"] == "alice@a.example" and exported["users"][0]["email"] == "alice@a.example"
    assert exported["orders"][0]["id"] == objects["a"].id
    result = runner.invoke(args=["gdpr", "erase", str(people.group_a.id), "--yes"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    group, user, order = people.group_a, people.coord_a, objects["a"]
    assert "Cardiff" not in group.name and group.contact_email.endswith("@invalid") and group.address_line1 == ""
    assert user.email.endswith("@invalid") and user.password_hash is None and not user.is_active
    assert order.delivery_line1 == "" and order.notes == ""
    assert case_totals([objects["case"].id]) == before
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxEmail).where(OutboxEmail.to == "alice@a.example")) == 0
    assert runner.invoke(args=["gdpr", "erase", "999999", "--yes"]).exit_code != 0


def test_gdpr_retention(runner, people):
    from datetime import timedelta

    from app.models import utcnow

    people.group_b.created_at = utcnow() - timedelta(days=900)
    db.session.commit()
    dry = runner.invoke(args=["gdpr", "retention", "--months", "24", "--dry-run"])
    assert "Would erase 1 groups" in dry.output
    runner.invoke(args=["gdpr", "retention", "--months", "24"])
    db.session.expire_all()
    assert people.group_b.anonymised_at is not None and people.group_a.anonymised_at is None
    assert runner.invoke(args=["gdpr", "retention", "--months", "1"]).exit_code != 0


def test_backup_under_concurrent_writes_restores_complete(app, runner, people, tmp_path, database_url):
    from app.auth import tokens

    stop = threading.Event()
    written = []

    def writer():
        with app.app_context():
            staff = db.session.get(User, staff_id)
            while not stop.is_set() and len(written) < 400:
                tokens.create_token(staff, "load")
                written.append(1)
            db.session.remove()

    staff_id = people.staff.id
    db.session.rollback()  # this thread holds no lock while the writer and the backup run
    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    try:
        for _ in range(1000):
            if len(written) >= 10 or not thread.is_alive():
                break
            threading.Event().wait(0.01)
        assert len(written) >= 10, "the writer is writing"
        before = len(written)
        target = tmp_path / ("copy.dump" if is_postgres() else "copy.sqlite")
        result = runner.invoke(args=["backup", str(target)])
        during = len(written) - before
    finally:
        stop.set()
        thread.join()
    assert result.exit_code == 0, result.output
    if is_postgres():
        _check_pg_restore(target, before, len(written))
    else:
        copy = sqlite3.connect(target)
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        users = copy.execute("SELECT COUNT(*) FROM user").fetchone()[0]
        copied = copy.execute("SELECT COUNT(*) FROM api_token").fetchone()[0]
        copy.close()
        assert users == 3 and before <= copied <= len(written)
        assert runner.invoke(args=["backup", str(target)]).exit_code != 0  # never overwrites a backup
    assert during >= 0


def _check_pg_restore(dump, at_least, at_most):
    import subprocess

    subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", "test_restore"], check=True)
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", "test_restore"], check=True)
    subprocess.run(["pg_restore", "-h", "127.0.0.1", "-U", "postgres", "--no-owner", "-d", "test_restore", str(dump)], check=True)
    engine = sa.create_engine("postgresql+psycopg://postgres@127.0.0.1:5432/test_restore")
    with engine.connect() as conn:
        assert conn.execute(sa.text('SELECT COUNT(*) FROM "user"')).scalar() == 3
        assert at_least <= conn.execute(sa.text("SELECT COUNT(*) FROM api_token")).scalar() <= at_most
        assert conn.execute(sa.text("SELECT COUNT(*) FROM alembic_version")).scalar() == 1
    engine.dispose()
    subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "test_restore"], check=True)


def test_nul_bytes_in_forms_and_queries_are_refused_not_a_server_error(client, staff_client):
    """PostgreSQL refuses text with NUL: it must never reach a query (signup looked up the name: a 500)."""
    response = client.post("/signup", data={"name": "G\x00", "type": "local", "country": "UK", "contact_name": "N",
                                            "contact_email": "nul@p.example", "address_line1": "1", "city": "C",
                                            "expected_writers": "5", "password": "a long pass phrase", "confirm": "a long pass phrase"})
    assert response.status_code == 400
    assert db.session.scalar(sa.select(Group).where(Group.contact_email == "nul@p.example")) is None
    assert staff_client.get("/staff/orders?q=a%00b").status_code == 400
    assert client.get("/p?code=%00").status_code == 400
