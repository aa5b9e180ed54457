"""The staff scan station: messy scanner input, look-up, recording, the twice-scanned flag, undo."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import AuditEvent, Pack, Report, ReportSource, Role
from app.packs import codes
from app.reports import services as reports
from app.scan.services import parse_scan
from tests.reports_support import hidden_value, log_in, make_user, make_world, text_of

HX = {"HX-Request": "true"}
TOKEN = "7K3Q9XJ2M4ABCDEFGHJKMNPQRS"  # 26 Crockford symbols
CODE = "0ABC1DEF" + codes.ALPHABET[codes.check_value("0ABC1DEF")]


def test_the_fixture_code_is_valid():
    assert codes.check_value("0ABC1DEF") < 32 and codes.parse_code(CODE) == CODE


# --- Parsing what the scanner typed ---------------------------------------------------------------

@pytest.mark.parametrize("typed", [
    f"HTTP://127.0.0.1:5000/P/{TOKEN}",                     # the printed QR: upper-case URL
    f"http://127.0.0.1:5000/p/{TOKEN.lower()}",            # lower case
    f"https://cards.example.org/p/{TOKEN}\n",               # another host, trailing Enter
    f"HTTPÖ--127.0.0.1Ö5000-P-{TOKEN}",                     # German layout: ':' → 'Ö', '/' → '-'
    f"HTTP&&127.0.0.1&5000&P&{TOKEN}",                      # French layout garbles punctuation differently
    f"HTTP127001500P{TOKEN}",                               # separators lost altogether
    f"  {TOKEN}  ",                                          # just the token
    f"]Q1HTTP://HOST/P/{TOKEN}",                            # an AIM symbology prefix
    f"http://host/p/{TOKEN[:5].lower()}{TOKEN[5:]}",        # mixed case
])
def test_parse_finds_the_token_in_any_url(typed):
    assert parse_scan(typed).token == TOKEN


def test_parse_reads_i_l_o_in_a_token_as_1_1_0():
    token = "1" + TOKEN[1:-1] + "0"
    assert parse_scan(f"http://h/p/I{TOKEN[1:-1]}O").token == token
    assert parse_scan(f"http://h/p/l{TOKEN[1:-1]}o").token == token


@pytest.mark.parametrize("typed", [
    CODE, CODE.lower(), codes.format_code(CODE), codes.format_code(CODE).lower(),
    " ".join([CODE[:4], CODE[4:8], CODE[8]]),               # spaces
    f"{CODE[:4]}Ö{CODE[4:8]}&{CODE[8]}",                   # garbled hyphens
    f"{CODE[:4]}__{CODE[4:8]}//{CODE[8]}\r\n",
    "OABC-IDEF-" + CODE[8],                                  # O for 0, I for 1
    "oabc ldef " + CODE[8].lower(),                          # o and l
    f"PACK: {codes.format_code(CODE)}",                     # words before the code
])
def test_parse_finds_the_short_code(typed):
    parsed = parse_scan(typed)
    assert (parsed.code, parsed.token, parsed.problem) == (CODE, None, "")


def test_parse_reports_a_check_symbol_mismatch():
    wrong = CODE[:8] + ("Z" if CODE[8] != "Z" else "Y")
    parsed = parse_scan(codes.format_code(wrong))
    assert parsed.code is None and "typo" in parsed.problem


@pytest.mark.parametrize("typed", ["", "   ", "-/:!", "HELLO", "12345"])
def test_parse_reports_nonsense(typed):
    parsed = parse_scan(typed)
    assert parsed.token is None and parsed.code is None and parsed.problem


def test_parse_caps_the_input_length():
    assert parse_scan("A" * 10_000).token == "A" * 26  # bounded work, still an answer


# --- The station --------------------------------------------------------------------------------------

@pytest.fixture
def world(app):
    return make_world(packs=2, size=25)


@pytest.fixture
def staff_client(client, app):
    make_user(Role.STAFF, "staff@example.org")
    log_in(client, "staff@example.org")
    return client


def _posted(pack_id: int) -> int:
    db.session.expire_all()
    return db.session.scalar(sa.select(Pack.cards_posted).where(Pack.id == pack_id))


def _region(html: str, region_id: str) -> tuple[str, str]:
    """(attributes, text) of the status region `region_id` (scan-status or scan-alert) in `html`."""
    match = re.search(rf'<div id="{region_id}"([^>]*)>(.*?)</div>', html)
    assert match, f"no #{region_id}"
    return match.group(1), re.sub(r"<[^>]+>", "", match.group(2)).strip()


def _swap(response) -> tuple[str, str, str]:
    """An htmx answer of the station: (the #station working area, the new status text, the new alert text).
    The status region itself is not in the working area: only its content comes, out of band."""
    html = text_of(response)
    assert "<html" not in html and html.startswith('<div id="station"')
    station, _, rest = html.partition('<div id="scan-status"')
    assert rest, "no out-of-band status"
    status_attrs, status = _region(html, "scan-status")
    alert_attrs, alert = _region(html, "scan-alert")
    for attrs in (status_attrs, alert_attrs):
        assert attrs.strip() == 'hx-swap-oob="innerHTML"'  # the live regions' own attributes stay on the page's nodes
    assert 'role="status"' not in station and 'role="alert"' not in station and "aria-live" not in station
    return station, status, alert


def test_station_page(staff_client):
    response = staff_client.get("/staff/scan")
    assert response.status_code == 200
    html = text_of(response)
    assert 'id="scan-input"' in html and "autofocus" in html and "Waiting for a scan" in html
    assert "/static/js/scan.js" in html and "qr-scanner.umd.min.js" in html  # the camera library is loaded on demand
    assert 'id="camera-toggle"' in html and "hidden" in html
    assert response.headers["Cache-Control"] == "no-store"
    # One status region, outside the area htmx replaces: polite confirmations, assertive errors.
    messages = html.index('<div id="scan-messages"')
    assert messages < html.index('<div id="station"')
    assert _region(html, "scan-status") == (' role="status" aria-live="polite" aria-atomic="true"', "")
    assert _region(html, "scan-alert") == (' role="alert" aria-atomic="true"', "")
    assert "hx-swap-oob" not in html


@pytest.mark.parametrize("how", ["upper-url", "lower-url", "code", "garbled-code"])
def test_scanning_shows_the_pack_with_a_count_field(staff_client, world, how):
    pack = world.packs[0]
    typed = {
        "upper-url": f"HTTP://127.0.0.1:5000/P/{pack.token}",
        "lower-url": f"http://127.0.0.1:5000/p/{pack.token.lower()}",
        "code": codes.format_code(pack.code),
        "garbled-code": f"{pack.code[:4].lower()}Ö{pack.code[4:]}",
    }[how]
    response = staff_client.get("/staff/scan", query_string={"q": typed}, headers=HX)
    assert response.status_code == 200
    html, status, alert = _swap(response)
    assert (status, alert) == ("", "")  # a found pack clears what the last scan said
    assert f"Pack {codes.format_code(pack.code)}" in html
    assert world.case.name in html and world.group.name in html
    assert "<dt>Size</dt><dd>25 cards</dd>" in html and "<strong>0</strong> · 25 left" in html
    assert 'id="scan-cards"' in html and "autofocus" in html
    assert "Scanned before" not in html


def test_scan_without_htmx_is_the_full_page(staff_client, world):
    response = staff_client.get("/staff/scan", query_string={"q": world.packs[0].code})
    html = response.get_data(as_text=True)
    assert "<html" in html and 'id="scan-count-form"' in html
    assert "HX-Request" in response.headers["Vary"]


def test_scanning_an_unknown_pack_says_so(staff_client, world):
    station, status, alert = _swap(staff_client.get("/staff/scan", query_string={"q": f"HTTP://X/P/{codes.new_token()}"}, headers=HX))
    assert "No pack has this QR code" in alert and status == "" and 'id="scan-cards"' not in station
    station, status, alert = _swap(staff_client.get("/staff/scan", query_string={"q": "hello"}, headers=HX))
    assert alert.startswith("hello —") and "neither a pack link nor a pack code" in alert


def test_scanning_an_unknown_pack_without_js_says_so_in_the_status_region(staff_client, world):
    html = text_of(staff_client.get("/staff/scan", query_string={"q": "hello"}))
    assert "<html" in html and "neither a pack link nor a pack code" in _region(html, "scan-alert")[1]


def _record(client, pack, cards: str, headers=HX, key=None):
    station = client.get("/staff/scan", query_string={"q": pack.code}, headers=HX).get_data(as_text=True)
    key = key or hidden_value(station, "idempotency_key")
    return client.post("/staff/scan/report", data={"pack_id": pack.id, "cards": cards, "idempotency_key": key}, headers=headers), key


def test_recording_a_count_adds_a_scan_report_and_lists_it(staff_client, world):
    pack = world.packs[0]
    response, _ = _record(staff_client, pack, "12")
    assert response.status_code == 200
    html, status, alert = _swap(response)
    assert status == f"Recorded 12 cards for pack {codes.format_code(pack.code)} ({world.case.name})." and alert == ""
    assert re.search(r'scan-feed__item is-new"> <span class="scan-feed__cards">12</span>', html)
    report = db.session.scalar(sa.select(Report))
    assert (report.source, report.cards, report.created_by_id is not None) == (ReportSource.SCAN, 12, True)
    assert _posted(pack.id) == 12


def test_recording_without_js_redirects_with_a_message(staff_client, world):
    response, _ = _record(staff_client, world.packs[0], "3", headers={})
    assert response.status_code == 303 and response.headers["Location"] == "/staff/scan"
    page = text_of(staff_client.get("/staff/scan"))
    assert _region(page, "scan-status")[1].startswith("Recorded 3 cards")  # in the station's region…
    assert page.count("Recorded 3 cards") == 1  # …not twice
    assert "Recorded 3 cards" not in text_of(staff_client.get("/staff/scan"))  # shown once


def test_double_enter_counts_once(staff_client, world):
    pack = world.packs[0]
    first, key = _record(staff_client, pack, "5")
    again, _ = _record(staff_client, pack, "5", key=key)
    assert _swap(again)[1].startswith("Already recorded: 5 cards")
    assert _posted(pack.id) == 5


def test_scanning_the_same_pack_twice_is_flagged_not_refused(staff_client, world):
    pack = world.packs[0]
    _record(staff_client, pack, "5")
    html = text_of(staff_client.get("/staff/scan", query_string={"q": pack.code}, headers=HX))
    assert "Scanned before" in html and "(1×" in html and "5 cards" in html
    response, _ = _record(staff_client, pack, "4")
    assert response.status_code == 200 and _posted(pack.id) == 9


def test_counts_that_do_not_fit_are_refused_next_to_the_field(staff_client, world):
    pack = world.packs[0]
    response, key = _record(staff_client, pack, "30")
    assert response.status_code == 422
    html, status, alert = _swap(response)
    assert "Only 25 cards are left" in html and 'aria-invalid="true"' in html  # next to the field…
    assert alert.startswith(f"Not recorded for pack {codes.format_code(pack.code)}: Only 25 cards are left")  # …and announced
    assert status == ""
    assert f'value="{key}"' in html  # the same key, so a corrected retry is still one report
    bad, _ = _record(staff_client, pack, "lots")
    assert bad.status_code == 422 and "Enter a whole number" in _swap(bad)[2]
    assert _posted(pack.id) == 0


def test_undo_voids_the_scan(staff_client, world):
    pack = world.packs[0]
    _record(staff_client, pack, "7")
    report = db.session.scalar(sa.select(Report))
    response = staff_client.post(f"/staff/scan/{report.id}/undo", headers=HX)
    assert response.status_code == 200
    html, status, alert = _swap(response)
    assert status.startswith("Undone: 7 cards") and alert == ""
    assert "is-voided" in html and "Undone</span>" in html
    db.session.expire_all()
    assert report.voided and report.void_reason == "undone at scan station"
    assert _posted(pack.id) == 0
    assert db.session.scalar(sa.select(AuditEvent.action).where(AuditEvent.object_type == "report")) == "report.voided"
    twice = staff_client.post(f"/staff/scan/{report.id}/undo", headers=HX)
    assert twice.status_code == 200 and "already voided" in _swap(twice)[2]  # an error: the alert region
    again = staff_client.post(f"/staff/scan/{report.id}/undo")
    assert again.status_code == 303
    assert "already voided" in _region(text_of(staff_client.get("/staff/scan")), "scan-alert")[1]


def test_undo_is_only_for_scan_reports(staff_client, world):
    report = reports.record_report(world.packs[0], 2, ReportSource.PAGE, "volunteer").report
    assert staff_client.post(f"/staff/scan/{report.id}/undo").status_code == 404
    assert staff_client.post("/staff/scan/999/undo").status_code == 404


def test_feed_fragment(staff_client, world):
    _record(staff_client, world.packs[1], "2")
    response = staff_client.get("/staff/scan/feed")
    html = text_of(response)
    assert html.startswith('<section id="scan-feed"') and 'hx-trigger="every 15s"' in html
    assert codes.format_code(world.packs[1].code) in html


# --- Staff: a pack's reports, void and correct in the browser ---------------------------------------

def test_pack_reports_page_voids_and_corrects(staff_client, world):
    pack = world.packs[0]
    report = reports.record_report(pack, 6, ReportSource.PAGE, "v1").report
    page = text_of(staff_client.get(f"/staff/packs/{pack.id}/reports"))
    assert world.group.name in page and "Void or correct" in page

    refused = staff_client.post(f"/staff/reports/{report.id}/correct", data={"cards": "8", "reason": ""})
    assert refused.status_code == 422 and "Say why the number changes." in text_of(refused)
    too_many = staff_client.post(f"/staff/reports/{report.id}/correct", data={"cards": "26", "reason": "x"})
    assert too_many.status_code == 422 and "from 1 to 1000" not in text_of(too_many)
    assert "Only 25 cards are left" in text_of(too_many)

    done = staff_client.post(f"/staff/reports/{report.id}/correct", data={"cards": "8", "reason": "slip"})
    assert done.status_code == 303
    assert _posted(pack.id) == 8
    correction = db.session.scalar(sa.select(Report).where(Report.corrects_id == report.id))
    no_reason = staff_client.post(f"/staff/reports/{correction.id}/void", data={"reason": " "})
    assert no_reason.status_code == 422 and "Say why this report is void." in text_of(no_reason)
    assert staff_client.post(f"/staff/reports/{correction.id}/void", data={"reason": "wrong pack"}).status_code == 303
    assert _posted(pack.id) == 0
    assert staff_client.post("/staff/reports/999/void", data={"reason": "x"}).status_code == 404


def test_station_forms_do_not_expire_during_a_long_day(app_factory, app, monkeypatch):
    """The CSRF token of a station page loaded in the morning still works in the evening."""
    import itsdangerous.timed

    station_app = app_factory(WTF_CSRF_ENABLED=True)
    assert station_app.config["WTF_CSRF_TIME_LIMIT"] is None
    with station_app.app_context():
        world = make_world(packs=1, size=25)
        make_user(Role.STAFF, "early@example.org")
        code, pack_id = world.packs[0].code, world.packs[0].id
    client = station_app.test_client()
    login_page = client.get("/login").get_data(as_text=True)
    client.post("/login", data={"email": "early@example.org", "password": "correct horse battery staple",
                                "csrf_token": hidden_value(login_page, "csrf_token")})
    html = client.get("/staff/scan", query_string={"q": code}).get_data(as_text=True)
    form = {name: hidden_value(html, name) for name in ("csrf_token", "pack_id", "idempotency_key")}

    class Evening:
        @staticmethod
        def time() -> float:
            import time

            return time.time() + 13 * 3600

    monkeypatch.setattr(itsdangerous.timed, "time", Evening)
    response = client.post("/staff/scan/report", data={**form, "cards": "4"}, headers=HX)
    assert response.status_code == 200 and "Recorded 4 cards" in _swap(response)[1]
    with station_app.app_context():
        assert db.session.get(Pack, pack_id).cards_posted == 4
    refused = client.post("/staff/scan/report", data={**form, "cards": "4", "csrf_token": "forged"}, headers=HX)
    assert refused.status_code == 400
