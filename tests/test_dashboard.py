"""The dashboard pages: figures on the page, filters in the URL, htmx fragments, bad input, and a
number of SQL statements that does not grow with the data."""

import re

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from app.extensions import db
from app.models import AuditEvent, Case, GroupType
from app.tracking import stats
from app.tracking.filters import Filters
from tests import tracking_data

DASHBOARD_URLS = [
    "/staff/dashboard",
    "/staff/dashboard/groups",
    "/staff/dashboard/regions",
    "/staff/dashboard/group-types",
    "/staff/dashboard/reconciliation",
    "/staff/dashboard/compare",
]


def _text(response) -> str:
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


@pytest.fixture
def data(people):
    return tracking_data.build(groups=8)


def test_staff_land_on_figures_from_the_nav_and_the_overview(staff_client, data):
    html = staff_client.get("/staff/").get_data(as_text=True)
    assert 'href="/staff/dashboard"' in html and "Open the dashboard" in html
    totals = stats.overview(stats.resolve(Filters())).totals
    assert f"<dd>{totals.reported:,}</dd>" in html


def test_dashboard_shows_the_same_figures_as_the_stats(staff_client, data):
    response = staff_client.get("/staff/dashboard")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    html = _text(response)
    overview = stats.overview(stats.resolve(Filters()))
    assert f"<dt>Reported posted</dt><dd>{overview.totals.reported:,}</dd>" in html
    assert f"<dt>Mailed to the cases</dt><dd>{overview.totals.mailed:,}</dd>" in html
    for row in overview.rows:
        cells = html.split(f">{row.case.name}</a>")[1].split("</tr>")[0]
        numbers = re.findall(r'<td class="num[^"]*">(?:<strong>)?([\d,—%]+)', cells)
        assert numbers[:3] == [f"{row.totals.ordered:,}", f"{row.totals.dispatched:,}", f"{row.totals.reported:,}"]
    assert '<svg class="chart"' in html and "<rect class=\"chart-s0\"" in html
    assert "style=" not in html.split('<main id="main"')[1]  # CSP: no inline styles


@pytest.mark.parametrize("url", DASHBOARD_URLS)
def test_every_view_renders_page_and_fragment(staff_client, data, url):
    full = staff_client.get(url)
    assert full.status_code == 200
    assert "<html" in full.get_data(as_text=True) and "HX-Request" in full.headers["Vary"]
    fragment = staff_client.get(url, headers={"HX-Request": "true"})
    body = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and "<html" not in body
    assert body.lstrip().startswith('<div id="dashboard"')
    boosted = staff_client.get(url, headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert "<html" in boosted.get_data(as_text=True)


def test_filters_are_in_the_url_and_in_every_link(staff_client, data):
    case = db.session.scalar(sa.select(Case).where(Case.slug == "sonia-dahmani"))
    url = f"/staff/dashboard/groups?case={case.id}&country=United+Kingdom&type=local&from=2025-11-05&to=2025-12-20"
    html = staff_client.get(url).get_data(as_text=True)
    assert f'<option value="{case.id}" selected>' in html
    assert '<option value="local" selected>' in html and 'value="2025-11-05"' in html
    assert 'hx-push-url="true"' in html
    # tabs and exports keep the filters
    assert re.search(r'href="/staff/dashboard/regions\?[^"]*case=%d[^"]*type=local' % case.id, html)
    assert re.search(r'href="/staff/exports/reports\.csv\?[^"]*from=2025-11-05', html)


def test_filtered_page_figures_match_sql(staff_client, data):
    html = _text(staff_client.get("/staff/dashboard/regions?type=school"))
    expected = db.session.execute(sa.text(
        'SELECT g.country, g.region, SUM(r.cards) FROM report r JOIN pack p ON p.id = r.pack_id '
        'JOIN order_line ol ON ol.id = p.order_line_id JOIN "order" o ON o.id = ol.order_id JOIN "group" g ON g.id = o.group_id '
        "WHERE NOT r.voided AND g.type = 'school' GROUP BY g.country, g.region")).all()
    for country, region, cards in expected:
        row = html.split(f">{region}</a> <span class=\"muted small\">{country}</span>")[1].split("</tr>")[0]
        assert f'<td class="num">{int(cards):,}</td>' in row


def test_group_filter_and_chip(staff_client, data):
    group = data["groups"][0]
    html = _text(staff_client.get(f"/staff/dashboard?group={group.id}"))
    assert f"Group: <strong>{group.name}</strong>" in html
    assert "not per group" in html  # mailings do not apply to a group


@pytest.mark.parametrize("query", [
    "from=2025-02-30", "from=99999-01-01&to=0000-00-00", "campaign=abc&case=-3", "case=999999999999999999999",
    "type=<script>", "group=0", "page=-5", "page=99999999999999999999", "sort=;drop", "country=" + "x" * 5000,
    "from=2025-12-10&to=2025-11-01", "country=%00&region=a%00b&type=%00", "campaign=%C2%B2&case=%D9%A3&group=%C2%B9",
])
@pytest.mark.parametrize("url", DASHBOARD_URLS)
def test_nonsense_filters_never_fail(staff_client, data, url, query):
    response = staff_client.get(f"{url}?{query}")
    if "%00" in query:  # NUL bytes are refused before any view (app/security.py)
        assert response.status_code == 400
        return
    assert response.status_code == 200
    assert "<script>" not in response.get_data(as_text=True).split('<main id="main"')[1]


def test_bad_date_is_explained_next_to_the_field(staff_client, data):
    html = staff_client.get("/staff/dashboard?from=2025-02-30").get_data(as_text=True)
    assert 'aria-describedby="f-from-error"' in html and 'id="f-from-error"' in html and "YYYY-MM-DD" in html


def test_highlight_groups_with_many_unreported_cards(app, staff_client, data):
    app.config["UNREPORTED_ALERT_CARDS"] = 1
    html = staff_client.get("/staff/dashboard/groups").get_data(as_text=True)
    alerts = html.count('class="row--alert"')
    page = stats.group_rows(stats.resolve(Filters()), page=1)
    assert alerts == sum(1 for r in page.items if r.unreported >= 1) > 0
    app.config["UNREPORTED_ALERT_CARDS"] = 10**9
    assert 'class="row--alert"' not in staff_client.get("/staff/dashboard/groups").get_data(as_text=True)


def test_chase_list_link_only_when_the_route_exists(app, staff_client, data):
    html = staff_client.get("/staff/dashboard/groups").get_data(as_text=True)
    assert ("Open the chase list" in html) == ("reports.chase_list" in app.view_functions)


# --- The number of statements does not grow with the data ------------------------------------------

class StatementCounter:
    def __init__(self):
        self.statements: list[str] = []

    def __call__(self, conn, cursor, statement, *args):
        self.statements.append(statement)


def _count(client, url: str) -> int:
    counter = StatementCounter()
    event.listen(db.engine, "before_cursor_execute", counter)
    try:
        response = client.get(url)
        response.get_data()
    finally:
        event.remove(db.engine, "before_cursor_execute", counter)
    assert response.status_code == 200
    return len(counter.statements)


QUERY_URLS = DASHBOARD_URLS + [
    "/staff/dashboard?from=2025-11-01&to=2025-12-31&country=United+Kingdom&type=local",
    "/staff/dashboard/groups?region=Wales&sort=rate",
    "/staff/dashboard/reconciliation?from=2025-11-15",
    "/staff/exports/cases.csv",
]


def test_statement_count_does_not_grow_with_the_data(staff_client, people):
    tracking_data.build(groups=2, seed=1, prefix="Small ")
    small = {url: _count(staff_client, url) for url in QUERY_URLS}
    tracking_data.build(groups=40, seed=2, prefix="Big ")
    big = {url: _count(staff_client, url) for url in QUERY_URLS}
    assert db.session.scalar(sa.text("SELECT COUNT(*) FROM report")) > 50
    assert small == big
    assert max(big.values()) <= 15, big


# --- Audit log ---------------------------------------------------------------------------------------

def test_audit_log_filters_and_shows_before_and_after(staff_client, people):
    from app import audit

    audit.record("case.updated", people.group_a, actor=people.staff, before={"target": 100}, after={"target": 250})
    audit.record("order.status_changed", people.group_b, actor=None, before={"status": "submitted"}, after={"status": "approved"})
    db.session.commit()
    html = _text(staff_client.get("/staff/audit"))
    assert "case.updated" in html and "order.status_changed" in html
    assert "by staff@test.example" in html and "by system" in html  # the email comes from the user row
    assert re.search(r"<th scope=\"row\">target</th><td>100</td><td aria-hidden=\"true\">→</td><td>250</td>", html)
    only_staff = _text(staff_client.get("/staff/audit?actor=STAFF@test"))
    assert "case.updated" in only_staff and "order.status_changed" not in only_staff
    by_type = staff_client.get("/staff/audit?type=group", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in by_type and by_type.lstrip().startswith('<div id="audit-results"')
    assert "case.updated" in by_type
    future = _text(staff_client.get("/staff/audit?from=2099-01-01"))
    assert "No events match" in future
    bad = staff_client.get("/staff/audit?from=31/12/2025&to=x&actor=%25&object=abc&page=-1")
    assert bad.status_code == 200 and "Enter a date as YYYY-MM-DD" in bad.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id))) == 2


def test_audit_log_paginates(staff_client, people):
    from app import audit

    for n in range(30):
        audit.record("case.updated", people.group_a, actor=people.staff, after={"n": n})
    db.session.commit()
    first = staff_client.get("/staff/audit").get_data(as_text=True)
    second = staff_client.get("/staff/audit?page=2").get_data(as_text=True)
    assert "Showing 1–25 of 30" in first and "Showing 26–30 of 30" in second
    assert "<td>29</td>" in first and "<td>0</td>" in second


def test_group_types_view_lists_every_type_with_orders(staff_client, data):
    html = _text(staff_client.get("/staff/dashboard/group-types"))
    rows = stats.type_rows(stats.resolve(Filters()))
    assert rows and all(f">{r.type.label}</a>" in html for r in rows)
    assert {r.type for r in rows} <= set(GroupType)


def test_htmx_filter_requests_push_a_url_without_empty_fields(staff_client, data):
    response = staff_client.get("/staff/dashboard?campaign=&case=&country=&type=school&from=&to=", headers={"HX-Request": "true"})
    assert response.headers["HX-Push-Url"] == "/staff/dashboard?type=school"
    clean = staff_client.get("/staff/dashboard?type=school", headers={"HX-Request": "true"})
    assert "HX-Push-Url" not in clean.headers
    page = staff_client.get("/staff/dashboard?case=&type=school")  # a normal page load is left alone
    assert "HX-Push-Url" not in page.headers


# --- The figures refresh themselves (polling) ------------------------------------------------------------

POLL = {"HX-Request": "true", "HX-Target": "dashboard-figures"}


def _reported_kpi(html: str) -> int:
    return int(re.search(r"<dt>Reported posted</dt><dd>([\d,]+)</dd>", html).group(1).replace(",", ""))


@pytest.mark.parametrize("url", DASHBOARD_URLS)
def test_the_figures_region_polls_itself_without_pushing_urls(staff_client, data, url):
    page = _text(staff_client.get(url))
    figures = page.index('<div id="dashboard-figures"')
    assert page.index('<div id="dashboard"') < figures < page.index('id="exports-title"')  # the exports stay put
    poller = re.search(r'<p id="dashboard-updated"([^>]*)>(.*?)</p>', page)
    attrs = poller.group(1)
    assert f'hx-get="{url}"' in attrs and 'hx-trigger="refresh-figures"' in attrs
    assert 'hx-target="#dashboard-figures"' in attrs and 'hx-select="#dashboard-figures"' in attrs
    assert 'hx-push-url="false"' in attrs and 'data-refresh-seconds="30"' in attrs
    assert re.fullmatch(r'Updated <time datetime="\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00">\d\d:\d\d:\d\d</time> UTC', poller.group(2))
    assert 'id="dashboard-refresh-toggle"' in page and 'aria-pressed="false"' in page and "/static/js/dashboard.js" in page

    # The poll, even with the empty fields a filter form leaves, answers the figures alone and pushes nothing.
    response = staff_client.get(f"{url}?case=&country=", headers=POLL)
    body = _text(response)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    assert body.lstrip().startswith('<div id="dashboard-figures"') and "<html" not in body
    assert 'id="dashboard"' not in body and 'id="dashboard-filters"' not in body and "exports-title" not in body
    assert "HX-Push-Url" not in response.headers and "HX-Request" in response.headers["Vary"]
    assert "HX-Push-Url" in staff_client.get(f"{url}?case=&country=", headers={"HX-Request": "true"}).headers  # unlike a filter swap


def test_a_poll_keeps_the_filters_and_shows_new_reports(staff_client, data):
    from app.models import OrderStatus, ReportSource
    from app.reports import services as reports
    from tests import factories as f

    case = db.session.scalar(sa.select(Case).join(Case.campaign).where(Case.campaign.has(is_current=True)).order_by(Case.position))
    url = f"/staff/dashboard?case={case.id}&type=school"
    page = _text(staff_client.get(url))
    assert f'hx-get="{url.replace("&", "&amp;")}"' in page  # the poll asks under the filters on screen
    before = _reported_kpi(_text(staff_client.get(f"/staff/dashboard?case={case.id}", headers=POLL)))

    group = f.group(name="Polled School")
    order = f.order(case.campaign, group, lines=[(case, 1, 10)], status=OrderStatus.DISPATCHED)
    pack = f.pack(case, size=10, line=order.lines[0])
    db.session.commit()
    reports.record_report(pack, 4, ReportSource.PAGE, "poll-test")
    assert _reported_kpi(_text(staff_client.get(f"/staff/dashboard?case={case.id}", headers=POLL))) == before + 4


def test_refresh_interval_comes_from_config(app, staff_client, data):
    app.config["DASHBOARD_REFRESH_SECONDS"] = 1
    assert 'data-refresh-seconds="1"' in _text(staff_client.get("/staff/dashboard/groups", headers=POLL))
