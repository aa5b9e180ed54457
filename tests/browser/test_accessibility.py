"""Accessibility in a real browser: axe-core (WCAG 2.2 AA rules) on the public pages, the order form and the
scan station in the states people see; keyboard-only use of the pack page and the order form with a
visible focus; errors that htmx swaps in sit in live regions."""

from __future__ import annotations

import re
import uuid

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from .conftest import (
    CASE_A, PHONE, STAFF_EMAIL, axe_violations, expect_settled, login, make_coordinator, make_packs,
    report_behind_the_page, scalar, shot,
)


def assert_accessible(page, where: str) -> None:
    """No serious or critical axe violations on the page as it is now."""
    violations = axe_violations(page)
    assert not violations, f"{where}: " + "\n".join(
        f"{v['impact']} {v['id']}: {v['help']} at {v['nodes']}\n  {v['summary']}" for v in violations
    )


def _case_name(live, slug: str) -> str:
    from app.models import Case

    return scalar(live, sa.select(Case.name).where(Case.slug == slug))


# --- axe ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("viewport", [None, PHONE], ids=["desktop", "phone"])
def test_public_pages_have_no_serious_axe_violations(new_page, live_server, viewport):
    pack = make_packs(live_server, size=10)[0]
    page = new_page(viewport=viewport) if viewport else new_page()

    page.goto("/")
    assert_accessible(page, "home")
    page.goto(f"/cases/{CASE_A}")
    assert_accessible(page, "case page")
    page.goto("/p/NO-SUCH-PACK-TOKEN-AT-ALL")
    assert_accessible(page, "pack not found")

    page.goto("/p")
    assert_accessible(page, "manual entry")
    page.get_by_label("Pack code").fill("0000-0000-0")
    page.get_by_role("button", name="Open my pack").click()
    expect(page.locator("#code-error")).not_to_be_empty()
    assert_accessible(page, "manual entry with an error")

    page.goto(f"/p/{pack.token}")
    assert_accessible(page, "pack page")
    cards = page.get_by_role("spinbutton", name="How many cards did you post?")
    report_behind_the_page(live_server, pack.id, 5)  # another volunteer, meanwhile
    cards.fill("6")
    page.get_by_role("button", name="Report my cards").click()
    expect(page.locator("#cards-error")).to_have_text(re.compile("Only 5 cards are left"))
    assert_accessible(page, "pack page with an error")
    cards.fill("2")
    page.get_by_role("button", name="Report my cards").click()
    expect(page.get_by_role("heading", name="Thank you!")).to_be_visible()
    assert_accessible(page, "thanks")
    page.goto(f"/p/{pack.token}")
    cards.fill("3")
    page.get_by_role("button", name="Report my cards").click()
    expect(page.get_by_role("heading", name="Thank you!")).to_be_visible()
    page.goto(f"/p/{pack.token}")
    expect(page.get_by_role("heading", name="Every card is reported")).to_be_visible()
    assert_accessible(page, "pack page of a complete pack")


def test_order_form_has_no_serious_axe_violations(new_page, live_server, artifacts):
    email, _ = make_coordinator(live_server)
    page = new_page()
    login(page, email)
    page.goto("/orders/new")
    assert_accessible(page, "order form")
    case_a = _case_name(live_server, CASE_A)
    page.get_by_label(f"Packs of 25 cards for {case_a}").fill("3")
    expect(page.locator("#order-summary tfoot")).to_contain_text("75")
    assert_accessible(page, "order form with live totals")
    # A quantity the office does not take: the error is swapped into its live region.
    qty = page.get_by_label(f"Packs of 50 cards for {case_a}")
    qty.fill("999")
    error = page.locator("#" + qty.get_attribute("aria-describedby"))
    expect(error).to_have_text(re.compile("At most 200 packs per line"))
    expect(error).to_have_attribute("aria-live", "polite")
    assert_accessible(page, "order form with a live error")
    shot(page, artifacts, "a11y-order-form-live-error")
    # Submitted with errors: the page comes back with the summary and each error next to its field.
    page.get_by_role("button", name="Submit order").click()
    expect(page.get_by_role("alert")).to_be_visible()
    assert_accessible(page, "order form after a refused submit")

    # Other coordinator pages on the way.
    for url in ("/group", "/account"):
        page.goto(url)
        assert_accessible(page, url)


def test_scan_station_has_no_serious_axe_violations(new_page, live_server, artifacts):
    pack = make_packs(live_server, size=20)[0]
    page = new_page()
    login(page, STAFF_EMAIL)
    page.goto("/staff/scan")
    assert_accessible(page, "scan station")
    station = page.locator("#station")
    page.keyboard.type(pack.code)
    page.keyboard.press("Enter")
    count = page.get_by_label("Cards posted")
    expect(count).to_be_focused()
    expect_settled(station)
    assert_accessible(page, "scan station with a pack")
    page.keyboard.type("25")
    page.keyboard.press("Enter")
    expect(page.locator("#scan-cards-error")).to_contain_text("Only 20 cards are left")  # next to the field
    alert = page.locator("#scan-alert")  # and announced by the station's persistent alert region
    expect(alert).to_have_attribute("role", "alert")
    expect(alert).to_contain_text(f"Not recorded for pack {pack.printed}: Only 20 cards are left")
    expect(count).to_have_attribute("aria-invalid", "true")
    expect(count).to_have_attribute("aria-describedby", "scan-cards-hint scan-cards-error")
    assert_accessible(page, "scan station with an error")
    expect_settled(station)
    count.fill("5")
    count.press("Enter")
    expect(page.locator("#scan-messages").get_by_role("status")).to_contain_text("Recorded 5 cards")
    expect(alert).to_be_empty()
    assert_accessible(page, "scan station after a record")
    shot(page, artifacts, "a11y-scan-station")


def test_staff_pages_have_no_serious_axe_violations(new_page, live_server):
    """Not in the brief's list, but on the journeys: login, sign-up, dashboard tabs, orders, mailings."""
    page = new_page()
    for url in ("/login", "/signup"):
        page.goto(url)
        assert_accessible(page, url)
    login(page, STAFF_EMAIL)
    for url in ("/staff/", "/staff/orders", "/staff/dashboard", "/staff/dashboard/groups", "/staff/dashboard/regions",
                "/staff/dashboard/group-types", "/staff/dashboard/reconciliation", "/staff/dashboard/compare",
                "/staff/mailings/", "/staff/mailings/new", "/staff/groups"):
        page.goto(url)
        assert_accessible(page, url)


# --- Keyboard ------------------------------------------------------------------------------------------------

FOCUSED = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const style = getComputedStyle(el);
  // A date field's focus is on its day, month or year part, inside the field: :focus-visible stays false.
  const visible = el.matches(':focus-visible') || (el.type === 'date' && el.matches(':focus-within'));
  return {html: el.outerHTML.slice(0, 120), visible: visible, outline: style.outlineStyle,
          width: parseFloat(style.outlineWidth), shadow: style.boxShadow};
}"""


def _is_focused(locator) -> bool:
    return locator.evaluate("el => el === document.activeElement")


def tab_to(page, target, limit: int = 60) -> int:
    """Press Tab until `target` has focus; every element on the way shows a visible focus. Returns the presses."""
    for presses in range(1, limit + 1):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        assert focused is not None, "the focus left the page before reaching " + str(target)
        assert focused["visible"], f"no :focus-visible on {focused['html']}"
        assert (focused["outline"] != "none" and focused["width"] >= 2) or focused["shadow"] != "none", \
            f"focus not visible on {focused['html']}: {focused}"
        if _is_focused(target):
            return presses
    raise AssertionError(f"{target} not reached in {limit} presses of Tab")


def test_pack_page_by_keyboard_only(new_page, live_server, artifacts):
    pack = make_packs(live_server, size=10)[0]
    page = new_page(viewport=PHONE)
    page.goto(f"/p/{pack.token}")

    # The first Tab shows the skip link; it takes the focus to the content.
    skip = page.get_by_role("link", name="Skip to content")
    tab_to(page, skip, limit=1)
    box = skip.bounding_box()
    assert box and box["x"] >= 0 and box["y"] >= 0  # on screen when focused
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()

    more = page.get_by_role("button", name="One card more")
    cards = page.get_by_role("spinbutton", name="How many cards did you post?")
    tab_to(page, more, limit=25)
    page.keyboard.press("Space")
    page.keyboard.press("Enter")
    expect(cards).to_have_value("3")
    page.keyboard.press("Shift+Tab")
    expect(cards).to_be_focused()
    page.keyboard.press("ArrowUp")
    expect(cards).to_have_value("4")
    report = page.get_by_role("button", name="Report my cards")
    tab_to(page, report, limit=3)
    shot(page, artifacts, "a11y-pack-page-keyboard-focus")
    page.keyboard.press("Enter")
    thanks = page.locator("#report")
    expect(thanks.get_by_role("heading", name="Thank you!")).to_be_visible()
    expect(thanks).to_be_focused()  # screen readers read the thanks
    expect(thanks.get_by_role("definition").first).to_have_text("4 of 10")
    # The next control after the thanks is its link, reachable and visible.
    tab_to(page, page.get_by_role("link", name=re.compile(r"^More about")), limit=3)


def test_order_form_by_keyboard_only(new_page, live_server):
    email, _ = make_coordinator(live_server)
    case_a = _case_name(live_server, CASE_A)
    page = new_page()
    login(page, email)
    page.goto("/orders/new")
    qty = page.get_by_label(f"Packs of 25 cards for {case_a}")
    tab_to(page, qty)
    page.keyboard.type("2")
    summary = page.locator("#order-summary")
    expect(summary.locator("tfoot")).to_have_text(re.compile(r"Total\s*2\s*50"))
    # The summary is replaced inside a live region that stays in the page.
    expect(page.locator("[aria-live='polite']").filter(has=summary)).to_have_count(1)
    page.keyboard.press("ArrowUp")  # number fields step with the arrows
    expect(summary.locator("tfoot")).to_have_text(re.compile(r"Total\s*3\s*75"))
    submit = page.get_by_role("button", name="Submit order")
    tab_to(page, submit, limit=80)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/orders/\d+$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Submitted")


def test_htmx_errors_land_in_live_regions(new_page, live_server):
    """A refused htmx request (the server says no, or the network fails) is put in the status region."""
    pack = make_packs(live_server, size=10)[0]
    page = new_page()
    page.goto(f"/p/{pack.token}")
    flash = page.locator("#flash")
    expect(flash).to_have_attribute("role", "status")
    expect(flash).to_have_attribute("aria-live", "polite")
    page.route(re.compile(r"/p/[0-9A-Z]+$", re.I),
               lambda route: route.fulfill(status=500, body="boom") if route.request.method == "POST" else route.continue_())
    page.get_by_role("button", name="Report my cards").click()
    expect(flash).to_contain_text("Something went wrong on our side")
    page.unroute_all()
    page.route(re.compile(r"/p/[0-9A-Z]+$", re.I),
               lambda route: route.fulfill(status=429, body="slow down") if route.request.method == "POST" else route.continue_())
    page.get_by_role("button", name="Report my cards").click()
    expect(flash).to_contain_text("Too many requests")
    page.unroute_all()
    # The field's own error region is ready before any error arrives.
    expect(page.locator("#cards-error")).to_have_attribute("aria-live", "polite")
    assert uuid.UUID(page.locator("input[name='idempotency_key']").input_value())
