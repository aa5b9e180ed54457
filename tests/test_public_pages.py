"""The campaign home and case pages: content, live totals, 404s and the htmx fragments."""

import re
from datetime import date

import pytest

from app.extensions import db
from app.models import MailingStatus, OrderStatus
from app.public import services
from tests import factories as f


@pytest.fixture
def figures(seeded):
    """Known orders, reports and mailings for Sonia Dahmani's case."""
    from app.models import Case
    import sqlalchemy as sa

    case = db.session.scalar(sa.select(Case).where(Case.slug == "sonia-dahmani"))
    campaign = case.campaign
    group = f.group()
    approved = f.order(campaign, group, [(case, 4, 25)], status=OrderStatus.DISPATCHED)
    f.order(campaign, group, [(case, 2, 50)], status=OrderStatus.SUBMITTED)  # not accepted: not counted
    pack = f.pack(case, 25, line=approved.lines[0], posted=7)
    f.report(pack, 5)
    f.report(pack, 2)
    f.report(pack, 9, voided=True)  # voided: not counted
    f.mailing(case, 1200, MailingStatus.SENT)
    f.mailing(case, 300, MailingStatus.PREPARED)  # not sent yet: not counted
    db.session.commit()
    return case


def _text(response) -> str:
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


def test_home_lists_the_current_cases_with_totals(client, figures):
    response = client.get("/")
    assert response.status_code == 200
    html = _text(response)
    assert "Write for Rights 2025" in html
    for name in ("Sonia Dahmani", "Sai Zaw Thaike", "Abortion Support Network volunteers"):
        assert name in html
    assert "Neth Nahara" not in html  # last year's case
    card = html.split('id="case-%d-name"' % figures.id)[1].split("</article>")[0]
    assert "<dt>Cards ordered</dt><dd>100</dd>" in card
    assert "<dt>Reported posted</dt><dd>7</dd>" in card
    assert "<dt>Mailed to the case</dt><dd>1,200</dd>" in card


def test_home_days_left(client, seeded):
    campaign = services.current_campaign()
    assert services.days_left(campaign, date(2025, 12, 31)) == 1
    assert services.days_left(campaign, date(2025, 12, 1)) == 31
    assert services.days_left(campaign, date(2026, 1, 5)) == 0
    assert "The campaign has ended" in _text(client.get("/"))  # today is after 31 Dec 2025


def test_home_without_campaign(client):
    response = client.get("/")
    assert response.status_code == 200
    assert "No campaign yet" in response.get_data(as_text=True)


def test_case_page_content(client, figures):
    response = client.get("/cases/sonia-dahmani")
    assert response.status_code == 200
    html = _text(response)
    assert "<h1 id=\"case-title\">Sonia Dahmani</h1>" in html
    assert "The ask" in html and figures.ask in html
    assert "What to write" in html and "Where to send it" in html
    assert "Address to be confirmed" in html  # placeholder addresses are not shown as real ones
    assert "<dt>Reported posted</dt><dd>7</dd>" in html
    assert "No updates yet" in html


def test_case_page_shows_outcomes(client, seeded):
    html = _text(client.get("/cases/neth-nahara"))
    assert "Released from prison" in html and "1 January 2025" in html
    assert "Archived" in html


def test_case_page_shows_a_real_address(client, figures):
    figures.authority_address = "Palais de Carthage\nTunis"
    figures.authority_address_is_placeholder = False
    db.session.commit()
    html = client.get("/cases/sonia-dahmani").get_data(as_text=True)
    assert "<address>Palais de Carthage\nTunis</address>" in html


def test_unknown_case_is_a_friendly_404(client, seeded):
    response = client.get("/cases/nobody")
    assert response.status_code == 404
    assert "We could not find that page" in response.get_data(as_text=True)
    assert "<html" in response.get_data(as_text=True)


def test_user_text_is_escaped(client, figures):
    figures.story = '<script>alert(1)</script><div hx-get="/evil">'
    db.session.commit()
    html = client.get("/cases/sonia-dahmani").get_data(as_text=True)
    assert "<script>alert(1)" not in html and 'hx-get="/evil"' not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


@pytest.mark.parametrize("url, fragment_id", [("/", "case-cards"), ("/cases/sonia-dahmani", "case-totals")])
def test_htmx_gets_the_fragment_and_browsers_the_page(client, figures, url, fragment_id):
    full = client.get(url)
    assert "<html" in full.get_data(as_text=True)
    assert "HX-Request" in full.headers["Vary"]
    fragment = client.get(url, headers={"HX-Request": "true"})
    body = fragment.get_data(as_text=True)
    assert "<html" not in body and body.lstrip().startswith(f'<div id="{fragment_id}"') or body.lstrip().startswith(f'<section id="{fragment_id}"')
    assert "HX-Request" in fragment.headers["Vary"]
    boosted = client.get(url, headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert "<html" in boosted.get_data(as_text=True)


def test_totals_query_count_does_not_grow_with_cases(app, seeded):
    from sqlalchemy import event

    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    ids = [c.id for c in services.public_cases(services.current_campaign())]
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        services.case_totals(ids)
        many = len(statements)
        statements.clear()
        services.case_totals(ids[:1])
        assert len(ids) == 6 and many == len(statements) == 3
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)


def test_static_htmx_is_vendored(client):
    response = client.get("/static/js/htmx-2.0.11.min.js")
    assert response.status_code == 200
    assert b"htmx" in response.data[:200]
    response.close()
