"""Journeys 6 and 7 in a real browser: a mailing updates the case's mailed total and timeline; the dashboard
follows a volunteer's report, and its filters update the URL."""

from __future__ import annotations

import csv
import io
import re

import sqlalchemy as sa
from playwright.sync_api import expect

from .conftest import CASE_A, STAFF_EMAIL, expect_settled, login, make_packs, report_behind_the_page, scalar, shot

CASE_C = "cambodia-youth-environment"  # only this module reports for it


def _case(live, slug: str) -> tuple[int, str]:
    from app.models import Case

    return scalar(live, sa.select(Case.id).where(Case.slug == slug)), scalar(live, sa.select(Case.name).where(Case.slug == slug))


def _number(text: str) -> int:
    return int(re.sub(r"[^\d]", "", text) or 0)


def _kpi(page, term: str):
    """The figure of a KPI tile, found by its label."""
    return page.locator(".kpi").filter(has=page.get_by_role("term").get_by_text(term, exact=True)).get_by_role("definition").first


def test_journey_6_mailing_updates_mailed_total_and_timeline(new_page, live_server, artifacts):
    case_id, case_name = _case(live_server, CASE_A)
    staff = new_page()
    login(staff, STAFF_EMAIL)
    staff.goto(f"/staff/cases/{case_id}")
    mailed_before = _number(_kpi(staff, "Mailed").inner_text())
    staff.goto(f"/cases/{CASE_A}")
    public_mailed = staff.locator("#case-totals").get_by_role("definition").nth(2)
    public_before = _number(public_mailed.inner_text())

    staff.goto(f"/staff/cases/{case_id}")
    staff.get_by_role("link", name="Record a mailing").click()
    expect(staff.get_by_label("Case", exact=True)).to_have_value(str(case_id))
    staff.get_by_label("Cards").fill("12000")
    staff.get_by_label("What it carries").select_option(label="Solidarity cards")
    staff.get_by_label("Goes to").select_option(label="Their family")
    staff.get_by_label("Destination").fill("The family, via Partner Rights Org")
    staff.get_by_label("Carrier").fill("DHL")
    staff.get_by_label("Tracking number").fill("DHL-42-BROWSER")
    shot(staff, artifacts, "j6-01-record-mailing")
    staff.get_by_role("button", name="Record mailing").click()
    expect(staff.get_by_text("Mailing of 12,000 cards recorded.")).to_be_visible()
    expect(staff.get_by_role("heading", level=1)).to_contain_text("Prepared")

    # Prepared cards are not mailed yet; sending them counts them.
    staff.get_by_role("button", name="Mark sent").click()
    expect(staff.get_by_text("Marked sent.")).to_be_visible()
    expect(staff.get_by_role("heading", level=1)).to_contain_text("Sent")
    shot(staff, artifacts, "j6-02-mailing-sent")

    staff.get_by_role("link", name=case_name).click()
    expect(_kpi(staff, "Mailed")).to_have_text(f"{mailed_before + 12000:,}")
    timeline = staff.locator("#timeline").get_by_role("listitem")
    expect(timeline.filter(has_text="12,000 solidarity cards sent → The family, via Partner Rights Org")).to_have_count(1)
    expect(timeline.filter(has_text="12,000 solidarity cards prepared")).to_have_count(1)
    shot(staff, artifacts, "j6-03-case-timeline")

    # The public page: the mailed total and an update, without the destination's name or tracking.
    public = new_page()
    public.goto(f"/cases/{CASE_A}")
    expect(public.locator("#case-totals").get_by_role("definition").nth(2)).to_have_text(f"{public_before + 12000:,}")
    updates = public.get_by_role("region", name="Updates")
    expect(updates).to_contain_text(f"12,000 solidarity cards sent to {case_name}'s family")
    expect(updates).not_to_contain_text("Partner Rights Org")
    expect(public.locator("main")).not_to_contain_text("DHL-42-BROWSER")
    shot(public, artifacts, "j6-04-public-case")


def test_journey_7_dashboard_follows_a_report_and_filters_push_the_url(new_page, live_server, artifacts):
    case_id, case_name = _case(live_server, CASE_C)
    pack = make_packs(live_server, case_slug=CASE_C, size=10)[0]
    staff = new_page()
    login(staff, STAFF_EMAIL)
    staff.goto("/staff/dashboard")
    row = staff.get_by_role("row").filter(has=staff.get_by_role("rowheader").get_by_text(case_name))
    reported = row.get_by_role("cell").nth(2)
    before = _number(reported.inner_text())
    total_before = _number(_kpi(staff, "Reported posted").inner_text())
    shot(staff, artifacts, "j7-01-dashboard")

    # A volunteer reports 7 cards from a pack of this case.
    volunteer = new_page()
    volunteer.goto(f"/p/{pack.token}")
    volunteer.get_by_role("spinbutton", name="How many cards did you post?").fill("7")
    volunteer.get_by_role("button", name="Report my cards").click()
    expect(volunteer.get_by_role("heading", name="Thank you!")).to_be_visible()

    # Applying the filters again (htmx) shows the new figures.
    staff.get_by_role("button", name="Apply").click()
    expect(reported).to_have_text(f"{before + 7:,}")
    expect(_kpi(staff, "Reported posted")).to_have_text(f"{total_before + 7:,}")

    # Filtering by case swaps the dashboard and pushes a short URL.
    dashboard = staff.locator("#dashboard")
    staff.get_by_label("Case", exact=True).select_option(label=case_name)
    expect(staff).to_have_url(re.compile(rf"/staff/dashboard\?(.*&)?case={case_id}(&|$)"))
    assert "region=" not in staff.url and "country=" not in staff.url  # empty fields are left out
    expect_settled(dashboard)
    body_rows = staff.get_by_role("table").first.locator("tbody").get_by_role("row")
    expect(body_rows).to_have_count(1)
    expect(body_rows.first).to_contain_text(case_name)
    expect(_kpi(staff, "Reported posted")).to_have_text(f"{before + 7:,}")
    shot(staff, artifacts, "j7-02-dashboard-filtered")

    # The filtered page is a real URL: loading it afresh shows the same selection.
    staff.reload()
    expect(staff.get_by_label("Case", exact=True)).to_have_value(str(case_id))
    expect(body_rows).to_have_count(1)

    # The per-case CSV export follows the filter.
    with staff.expect_download() as download_info:
        staff.get_by_role("link", name="Per-case summary").click()
    rows = list(csv.DictReader(io.StringIO(download_info.value.path().read_text(encoding="utf-8-sig"))))
    cases = [r for r in rows if r["case"] != "Total"]
    assert [(r["case"], int(r["cards_reported"])) for r in cases] == [(case_name, before + 7)], rows


def test_dashboard_figures_refresh_themselves_under_the_filters(new_page, live_server, monkeypatch):
    """During the peak nobody presses anything: a report recorded meanwhile appears on its own, under the
    filters on screen, and the address bar and history stay as they were."""
    monkeypatch.setitem(live_server.app.config, "DASHBOARD_REFRESH_SECONDS", 1)
    case_id, case_name = _case(live_server, CASE_C)
    pack = make_packs(live_server, case_slug=CASE_C, size=10)[0]
    staff = new_page()
    login(staff, STAFF_EMAIL)
    staff.goto(f"/staff/dashboard?case={case_id}")
    url, history = staff.url, staff.evaluate("() => history.length")
    expect(staff.get_by_role("button", name="Pause auto-refresh")).to_have_attribute("aria-pressed", "false")
    updated = staff.locator("#dashboard-updated")
    expect(updated).to_have_text(re.compile(r"^Updated \d\d:\d\d:\d\d UTC$"))
    first_update = updated.inner_text()
    before = _number(_kpi(staff, "Reported posted").inner_text())

    report_behind_the_page(live_server, pack.id, 6)

    expect(_kpi(staff, "Reported posted")).to_have_text(f"{before + 6:,}")
    expect(updated).not_to_have_text(first_update)
    body_rows = staff.get_by_role("table").first.locator("tbody").get_by_role("row")
    expect(body_rows).to_have_count(1)  # still only the filtered case
    expect(body_rows.first).to_contain_text(case_name)
    assert staff.url == url and staff.evaluate("() => history.length") == history
    expect(staff.get_by_label("Case", exact=True)).to_have_value(str(case_id))

    # The chart's table, once opened, stays open across refreshes.
    staff.get_by_text("Show the figures as a table").click()
    staff.get_by_role("heading", level=1).click()  # focus out of the figures, so they may refresh
    last_update = updated.inner_text()
    expect(updated).not_to_have_text(last_update)
    expect(staff.locator("#chart-data")).to_have_attribute("open", "")


def test_dashboard_auto_refresh_pauses_and_waits_for_a_visible_tab(new_page, live_server, monkeypatch):
    """Pausing stops the polls (and is remembered); a hidden tab does not poll. Time is Playwright's fake
    clock, so 'nothing happens for five seconds' is checked without waiting five seconds."""
    monkeypatch.setitem(live_server.app.config, "DASHBOARD_REFRESH_SECONDS", 1)
    case_id, _ = _case(live_server, CASE_C)
    pack = make_packs(live_server, case_slug=CASE_C, size=10)[0]
    staff = new_page()
    login(staff, STAFF_EMAIL)
    staff.clock.install()
    staff.goto(f"/staff/dashboard?case={case_id}")
    count_polls = ("() => { window.polls = 0; document.addEventListener('htmx:beforeRequest', e => {"
                   " if (e.detail.elt.id === 'dashboard-updated') window.polls += 1; }); }")
    staff.evaluate(count_polls)

    def polls() -> int:
        return staff.evaluate("() => window.polls")

    def polled(action) -> int:
        """Do `action`; if it polled, wait for the answer to be swapped in and let htmx settle (its 20 ms
        settle timer runs on the fake clock too). The number of polls so far."""
        staff.evaluate("() => document.getElementById('dashboard-updated').classList.add('answered-before')")
        before = polls()
        action()
        if polls() > before:
            expect(staff.locator("#dashboard-updated.answered-before")).to_have_count(0)
            staff.clock.run_for(50)
        return polls()

    assert polled(lambda: staff.clock.run_for(1_000)) == 1  # polling works…

    toggle = staff.get_by_role("button", name="Pause auto-refresh")
    toggle.click()
    expect(toggle).to_have_attribute("aria-pressed", "true")
    figure = _kpi(staff, "Reported posted")
    shown = figure.inner_text()
    report_behind_the_page(live_server, pack.id, 3)
    assert polled(lambda: staff.clock.run_for(5_000)) == 1  # …and stops while paused
    expect(figure).to_have_text(shown)

    # The pause is remembered when the page loads again.
    staff.reload()
    staff.evaluate(count_polls)
    expect(toggle).to_have_attribute("aria-pressed", "true")
    assert polled(lambda: staff.clock.run_for(5_000)) == 0

    # Resuming refreshes at once, then every second again.
    assert polled(toggle.click) == 1
    expect(toggle).to_have_attribute("aria-pressed", "false")
    expect(figure).to_have_text(f"{_number(shown) + 3:,}")
    assert polled(lambda: staff.clock.run_for(1_000)) == 2

    # A hidden tab is left alone; shown again after a while, it catches up at once.
    def visibility(state: str) -> None:
        staff.evaluate("state => { Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => state});"
                       " document.dispatchEvent(new Event('visibilitychange')); }", state)

    assert polled(lambda: visibility("hidden")) == 2
    assert polled(lambda: staff.clock.run_for(5_000)) == 2
    assert polled(lambda: visibility("visible")) == 3

    # A keyboard user inside the figures keeps them: no refresh pulls the links from under the focus.
    link = staff.locator("#dashboard-figures a").first
    link.focus()
    assert polled(lambda: staff.clock.run_for(3_000)) == 3
    expect(link).to_be_focused()
    toggle.focus()
    assert polled(lambda: staff.clock.run_for(1_000)) == 4
