"""Journeys 3, 4 and 5 in a real browser: the pack page on a phone (with and without JavaScript), manual
code entry at /p, and the staff scan station with a keyboard-wedge scanner."""

from __future__ import annotations

import re

import sqlalchemy as sa
from playwright.sync_api import expect

from .conftest import PHONE, STAFF_EMAIL, expect_settled, login, make_packs, report_behind_the_page, scalar, shot


def _posted(live, pack_id: int) -> int:
    from app.models import Pack

    return scalar(live, sa.select(Pack.cards_posted).where(Pack.id == pack_id))


def _reports(live, pack_id: int, counting: bool = True) -> int:
    from app.models import Report

    query = sa.select(sa.func.count()).select_from(Report).where(Report.pack_id == pack_id)
    if counting:
        query = query.where(Report.voided.is_(False))
    return scalar(live, query)


def _case_reported(live, case_slug: str) -> int:
    from app.models import Case
    from app.public.services import case_totals

    with live.app.app_context():
        from app.extensions import db

        try:
            case_id = db.session.scalar(sa.select(Case.id).where(Case.slug == case_slug))
            return case_totals([case_id])[case_id].reported
        finally:
            db.session.remove()


def _phone(new_page, **options):
    return new_page(viewport=PHONE, is_mobile=True, has_touch=True, **options)


def test_journey_3_pack_page_on_a_phone_counts_once(new_page, live_server, artifacts):
    pack = make_packs(live_server, size=25)[0]
    page = _phone(new_page)

    # The camera app opens the QR's upper-case URL.
    page.goto(f"/P/{pack.token}")
    expect(page.get_by_role("heading", level=1)).to_have_text(pack.case_name)
    expect(page.get_by_role("heading", name="What to write")).to_be_visible()
    expect(page.get_by_role("heading", name="Where to post it")).to_be_visible()
    cards = page.get_by_role("spinbutton", name="How many cards did you post?")
    expect(cards).to_have_value("1")
    cards.fill("5")
    page.get_by_role("button", name="One card more").tap()
    expect(cards).to_have_value("6")
    shot(page, artifacts, "j3-01-pack-page-phone")
    page.get_by_role("button", name="Report my cards").tap()
    thanks = page.locator("#report")
    expect(thanks.get_by_role("heading", name="Thank you!")).to_be_visible()
    expect(thanks).to_contain_text("You reported 6 cards")
    expect(thanks.get_by_role("definition").first).to_have_text("6 of 25")
    expect(thanks).to_be_focused()  # the thanks is announced
    case_total = _case_reported(live_server, pack.case_slug)
    expect(thanks.get_by_role("definition").nth(1)).to_have_text(f"{case_total:,}")
    shot(page, artifacts, "j3-02-thanks-phone")
    assert _posted(live_server, pack.id) == 6

    # A flaky network: the report reaches the server, the answer never reaches the phone.
    page.get_by_role("link", name="Report more cards from this pack").tap()
    cards.fill("4")
    lost = {"answers": 0}

    def lose_the_answer(route):
        route.fetch()  # the server records the report ...
        lost["answers"] += 1
        route.abort("connectionreset")  # ... and the phone sees a dropped connection

    page.route(re.compile(r"/p/[0-9A-Z]+$", re.I), lambda route: lose_the_answer(route) if route.request.method == "POST" else route.continue_())
    page.get_by_role("button", name="Report my cards").tap()
    expect(page.locator("#flash")).to_contain_text("No connection")
    expect(page.locator("#flash")).to_have_attribute("aria-live", "polite")
    assert lost["answers"] == 1 and _posted(live_server, pack.id) == 10
    shot(page, artifacts, "j3-03-network-error")
    page.unroute_all()
    # The volunteer taps again: the same report, counted once.
    page.get_by_role("button", name="Report my cards").tap()
    expect(thanks).to_contain_text("We already had this report and counted it once.")
    expect(thanks.get_by_role("definition").first).to_have_text("10 of 25")
    assert _posted(live_server, pack.id) == 10 and _reports(live_server, pack.id) == 2

    # A double tap counts once.
    page.get_by_role("link", name="Report more cards from this pack").tap()
    cards.fill("2")
    page.get_by_role("button", name="Report my cards").dblclick()
    expect(thanks.get_by_role("definition").first).to_have_text("12 of 25")
    assert _posted(live_server, pack.id) == 12 and _reports(live_server, pack.id) == 3

    # Another volunteer reports 10 from the same pack while this page is open: 3 are left, 13 is refused.
    page.get_by_role("link", name="Report more cards from this pack").tap()
    expect(cards).to_have_attribute("max", "13")
    report_behind_the_page(live_server, pack.id, 10)
    cards.fill("13")
    page.get_by_role("button", name="Report my cards").tap()
    error = page.locator("#cards-error")
    expect(error).to_have_text("Only 3 cards are left in this pack: enter 3 or fewer.")
    expect(error).to_have_attribute("role", "alert")
    expect(cards).to_have_attribute("aria-invalid", "true")
    expect(cards).to_have_attribute("aria-describedby", re.compile(r"\bcards-error\b"))
    expect(cards).to_be_focused()
    # The refused form was swapped in by htmx: its stepper works again and clamps to what is left.
    page.get_by_role("button", name="One card fewer").tap()
    expect(cards).to_have_value("3")
    shot(page, artifacts, "j3-04-too-many-refused")
    assert _posted(live_server, pack.id) == 22
    # The volunteer corrects it and the pack is complete.
    cards.fill("3")
    page.get_by_role("button", name="Report my cards").tap()
    expect(thanks.get_by_role("definition").first).to_have_text("25 of 25")
    expect(page.get_by_role("link", name="Report more cards from this pack")).to_have_count(0)
    page.goto(f"/p/{pack.token.lower()}")
    expect(page.get_by_role("heading", name="Every card is reported")).to_be_visible()
    assert _posted(live_server, pack.id) == 25


def test_journey_3_pack_page_without_javascript(new_page, live_server, artifacts):
    pack = make_packs(live_server, size=10)[0]
    page = _phone(new_page, java_script_enabled=False)
    page.goto(f"/p/{pack.token}")
    expect(page.get_by_role("button", name="One card more")).to_be_hidden()  # the stepper needs JavaScript
    page.get_by_role("spinbutton", name="How many cards did you post?").fill("3")
    page.get_by_role("button", name="Report my cards").click()
    # A plain POST, redirected (303) to the thanks page.
    expect(page).to_have_url(re.compile(rf"/p/{pack.token}/thanks/\d+$"))
    expect(page.get_by_role("heading", name="Thank you!")).to_be_visible()
    expect(page.locator("#report").get_by_role("definition").first).to_have_text("3 of 10")
    shot(page, artifacts, "j3-05-thanks-no-js")
    page.reload()  # reloading the thanks page reports nothing again
    expect(page.get_by_role("heading", name="Thank you!")).to_be_visible()
    assert _posted(live_server, pack.id) == 3 and _reports(live_server, pack.id) == 1

    # Too many cards without JavaScript: the page comes back with the message next to the field.
    page.get_by_role("link", name="Report more cards from this pack").click()
    report_behind_the_page(live_server, pack.id, 6)
    page.get_by_role("spinbutton", name="How many cards did you post?").fill("7")
    page.get_by_role("button", name="Report my cards").click()
    expect(page.locator("#cards-error")).to_have_text("Only 1 card is left in this pack: enter 1.")
    assert _posted(live_server, pack.id) == 9


def test_journey_4_manual_code_entry(new_page, live_server, artifacts):
    pack = make_packs(live_server)[0]
    page = _phone(new_page)
    page.goto("/p")
    code = page.get_by_label("Pack code")
    # A code that is no pack: a clear message next to the field.
    code.fill("ZZZZ-ZZZZ-Z")
    page.get_by_role("button", name="Open my pack").tap()
    expect(page.locator("#code-error")).not_to_be_empty()
    expect(code).to_have_attribute("aria-invalid", "true")
    shot(page, artifacts, "j4-01-code-not-found")
    # The real code, typed in small letters without the dashes.
    code.fill(pack.code.lower())
    shot(page, artifacts, "j4-02-code-typed")
    page.get_by_role("button", name="Open my pack").tap()
    expect(page).to_have_url(re.compile(rf"/p/{pack.token}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(pack.case_name)
    expect(page.get_by_role("button", name="Report my cards")).to_be_visible()
    shot(page, artifacts, "j4-03-pack-page")


def test_journey_5_scan_station_with_a_keyboard_scanner(new_page, live_server, artifacts):
    first, second = make_packs(live_server, size=50, count=2)
    page = new_page()
    login(page, STAFF_EMAIL)
    page.goto("/staff/scan")
    scan = page.get_by_label("Scan a returned pack or tally slip")
    expect(scan).to_be_focused()

    # The USB scanner "types" the QR's URL and presses Enter.
    page.keyboard.type(f"{live_server.url}/P/{first.token}")
    page.keyboard.press("Enter")
    station = page.locator("#station")
    expect(station.get_by_role("heading", name=re.compile(r"^Pack "))).to_have_text(f"Pack {first.printed}")
    count = page.get_by_label("Cards posted")
    expect(count).to_be_focused()
    expect_settled(station)
    page.keyboard.type("12")
    page.keyboard.press("Enter")
    expect(station.get_by_role("status")).to_contain_text("Recorded 12 cards for pack")
    feed = page.locator("#scan-feed").get_by_role("listitem")
    expect(feed.first).to_contain_text(first.printed)
    expect(feed.first.locator(".scan-feed__cards")).to_have_text("12")
    expect(scan).to_be_focused()
    assert _posted(live_server, first.id) == 12

    # The next pack is scanned while the count field of another has focus: it is taken as a scan.
    page.keyboard.type(first.code)
    page.keyboard.press("Enter")
    expect(count).to_be_focused()
    expect(station).to_contain_text("Scanned before")
    expect_settled(station)
    page.keyboard.type(f"{live_server.url}/P/{second.token}")
    page.keyboard.press("Enter")
    expect(station.get_by_role("heading", name=re.compile(r"^Pack "))).to_have_text(f"Pack {second.printed}")
    expect(count).to_be_focused()
    expect_settled(station)
    page.keyboard.type("7")
    page.keyboard.press("Enter")
    expect(station.get_by_role("status")).to_contain_text("Recorded 7 cards for pack")
    expect(feed.first).to_contain_text(second.printed)
    expect(feed.nth(1)).to_contain_text(first.printed)
    shot(page, artifacts, "j5-01-scan-station-feed")
    assert _posted(live_server, second.id) == 7

    # Undo the last scan.
    feed.first.get_by_role("button", name=re.compile(r"^Undo 7 cards")).click()
    expect(station.get_by_role("status")).to_contain_text("Undone: 7 cards")
    expect(feed.first.get_by_text("Undone")).to_be_visible()
    expect(feed.first.get_by_role("button")).to_have_count(0)
    shot(page, artifacts, "j5-02-scan-undone")
    assert _posted(live_server, second.id) == 0 and _posted(live_server, first.id) == 12
    assert _reports(live_server, second.id, counting=False) == 1 and _reports(live_server, second.id) == 0
