"""Every tracking, mailing and case-management route: anonymous users go to the login page,
coordinators get 403, staff get in. The list is checked against the URL map so none is forgotten."""

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Case
from tests import factories as f

ROUTES = [
    ("get", "/staff/dashboard"),
    ("get", "/staff/dashboard/groups"),
    ("get", "/staff/dashboard/regions"),
    ("get", "/staff/dashboard/group-types"),
    ("get", "/staff/dashboard/reconciliation"),
    ("get", "/staff/dashboard/compare"),
    ("get", "/staff/exports/cases.csv"),
    ("get", "/staff/exports/orders.csv"),
    ("get", "/staff/exports/packs.csv"),
    ("get", "/staff/exports/reports.csv"),
    ("get", "/staff/exports/mailings.csv"),
    ("get", "/staff/exports/groups.csv"),
    ("get", "/staff/audit"),
    ("get", "/staff/mailings/"),
    ("get", "/staff/mailings/new"),
    ("post", "/staff/mailings/new"),
    ("get", "/staff/mailings/1"),
    ("get", "/staff/mailings/1/edit"),
    ("post", "/staff/mailings/1/edit"),
    ("post", "/staff/mailings/1/advance"),
    ("post", "/staff/mailings/1/delete"),
    ("get", "/staff/cases"),
    ("get", "/staff/cases/new"),
    ("post", "/staff/cases/new"),
    ("get", "/staff/cases/1"),
    ("get", "/staff/cases/1/edit"),
    ("post", "/staff/cases/1/edit"),
    ("post", "/staff/cases/1/archive"),
    ("post", "/staff/cases/1/restore"),
    ("post", "/staff/cases/1/outcomes"),
    ("post", "/staff/cases/1/outcomes/1/delete"),
    ("get", "/staff/cases/1/translations/fr"),
    ("post", "/staff/cases/1/translations/fr"),
    ("post", "/staff/cases/1/translations/fr/delete"),
    ("get", "/staff/campaigns"),
    ("get", "/staff/campaigns/new"),
    ("post", "/staff/campaigns/new"),
    ("get", "/staff/campaigns/1/edit"),
    ("post", "/staff/campaigns/1/edit"),
    ("post", "/staff/campaigns/1/current"),
]
PUBLIC_ENDPOINTS = {"cases.media"}


def test_the_route_list_covers_every_new_route(app):
    rules = {
        (method.lower(), rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.endpoint.split(".")[0] in {"tracking", "mailings", "cases"} and rule.endpoint not in PUBLIC_ENDPOINTS
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    listed = set()
    for method, url in ROUTES:
        adapter = app.url_map.bind("cards.test")
        endpoint, _ = adapter.match(url, method=method.upper())
        rule = next(r for r in app.url_map.iter_rules(endpoint) if method.upper() in r.methods)
        listed.add((method, rule.rule))
    assert rules == listed


@pytest.mark.parametrize("method, url", ROUTES)
def test_anonymous_users_are_sent_to_login(client, seeded, method, url):
    response = getattr(client, method)(url)
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


@pytest.mark.parametrize("method, url", ROUTES)
def test_coordinators_get_403(coord_client, method, url):
    response = getattr(coord_client, method)(url)
    assert response.status_code == 403


@pytest.mark.parametrize("method, url", [r for r in ROUTES if r[0] == "get"])
def test_staff_get_in(staff_client, method, url):
    case = db.session.scalar(sa.select(Case).order_by(Case.id))
    mailing = f.mailing(case, 10)
    db.session.commit()
    url = url.replace("/mailings/1", f"/mailings/{mailing.id}").replace("/cases/1", f"/cases/{case.id}")
    response = staff_client.get(url)
    assert response.status_code == 200
    response.close()


def test_unsafe_requests_need_a_csrf_token(app, staff_client):
    """With CSRF on (as in production), every POST without the token is refused and changes nothing."""
    app.config["WTF_CSRF_ENABLED"] = True
    for method, url in ROUTES:
        if method == "post":
            assert staff_client.post(url, data={}).status_code == 400, url
