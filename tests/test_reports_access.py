"""Who may open what: staff routes of the scan station, chase list and report corrections."""

from __future__ import annotations

import pytest

from app.models import ReportSource, Role
from app.reports import services as reports
from tests.reports_support import log_in, make_user, make_world

STAFF_ROUTES = [
    ("get", "/staff/scan"),
    ("get", "/staff/scan?q=ABCD"),
    ("get", "/staff/scan/feed"),
    ("post", "/staff/scan/report"),
    ("post", "/staff/scan/{report}/undo"),
    ("get", "/staff/chase"),
    ("post", "/staff/chase/{group}/remind"),
    ("get", "/staff/packs/{pack}/reports"),
    ("post", "/staff/reports/{report}/void"),
    ("post", "/staff/reports/{report}/correct"),
]


@pytest.fixture
def ids(app):
    world = make_world(packs=1)
    report = reports.record_report(world.packs[0], 1, ReportSource.SCAN, "k").report
    make_user(Role.COORDINATOR, "coord@example.org", group=world.group)
    return {"report": report.id, "group": world.group.id, "pack": world.packs[0].id}


@pytest.mark.parametrize("method, url", STAFF_ROUTES)
def test_anonymous_users_are_sent_to_log_in(client, ids, method, url):
    response = getattr(client, method)(url.format(**ids), data={"reason": "x", "cards": "1"})
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


@pytest.mark.parametrize("method, url", STAFF_ROUTES)
def test_coordinators_get_403(client, ids, method, url):
    log_in(client, "coord@example.org")
    response = getattr(client, method)(url.format(**ids), data={"reason": "x", "cards": "1"})
    assert response.status_code == 403


@pytest.mark.parametrize("headers", [{}, {"HX-Request": "true"}])
def test_htmx_header_is_no_way_in(client, ids, headers):
    assert client.get("/staff/scan/feed", headers=headers).status_code == 302


def test_staff_nav_links_to_the_station_and_the_chase_list(client, app):
    make_user(Role.STAFF, "staff@example.org")
    log_in(client, "staff@example.org")
    html = client.get("/staff/").get_data(as_text=True)
    assert 'href="/staff/scan"' in html and 'href="/staff/chase"' in html
