"""The volunteer's pack page and manual code entry: content, privacy, htmx and no-JS paths, limits."""

from __future__ import annotations

import gzip
import re
import threading
import uuid

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Pack, Report, ReportSource
from app.packs import codes
from app.reports import services
from tests.reports_support import GROUP_SECRETS, hidden_value, make_world, text_of

HX = {"HX-Request": "true"}


@pytest.fixture
def world(app):
    return make_world(packs=2, size=25)


@pytest.fixture
def pack(world):
    return world.packs[0]


def _report_rows(pack_id: int) -> list[Report]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(Report).where(Report.pack_id == pack_id)))


def _posted(pack_id: int) -> int:
    db.session.expire_all()
    return db.session.scalar(sa.select(Pack.cards_posted).where(Pack.id == pack_id))


def _assert_no_group_data(html: str) -> None:
    for field, value in GROUP_SECRETS.items():
        assert value not in html, f"the pack page shows the group's {field}"


# --- The page ---------------------------------------------------------------------------------------

def test_pack_page_shows_the_case_and_one_question(client, world, pack):
    response = client.get(f"/p/{pack.token}")
    assert response.status_code == 200
    html = text_of(response)
    case = world.case
    for text in (case.name, case.ask, "Tell her she is not alone.", "Solidarity address", "How many cards did you post?"):
        assert text in html
    assert 'name="cards" type="number"' in html and 'value="1"' in html and 'max="25"' in html and 'min="1"' in html
    assert html.count('type="submit"') == 1
    assert 'class="case-photo case-photo--placeholder"' in html
    assert f'href="/cases/{case.slug}"' in html
    assert response.headers["Cache-Control"] == "no-store"
    assert re.fullmatch(r"[0-9a-f-]{36}", hidden_value(html, "idempotency_key"))
    assert "/static/js/pack.js" in html and "<script>" not in html and " style=" not in html


def test_each_page_load_gets_a_fresh_idempotency_key(client, pack):
    keys = {hidden_value(client.get(f"/p/{pack.token}").get_data(as_text=True), "idempotency_key") for _ in range(3)}
    assert len(keys) == 3


@pytest.mark.parametrize("spelling", ["upper-url", "lower-token", "mixed"])
def test_qr_urls_match_in_any_case(client, pack, spelling):
    url = {
        "upper-url": f"/P/{pack.token}",
        "lower-token": f"/p/{pack.token.lower()}",
        "mixed": f"/P/{pack.token[:10].lower()}{pack.token[10:]}",
    }[spelling]
    response = client.get(url)
    assert response.status_code == 200
    assert f'action="/p/{pack.token}"' in response.get_data(as_text=True)  # canonical URL in the form


def test_pack_page_shows_nothing_about_the_group(client, pack):
    pages = [client.get(f"/p/{pack.token}")]
    pages.append(client.post(f"/p/{pack.token}", data={"cards": "2", "idempotency_key": "k-1"}, headers=HX))
    pages.append(client.post(f"/p/{pack.token}", data={"cards": "2", "idempotency_key": "k-2"}, follow_redirects=True))
    pages.append(client.post(f"/p/{pack.token}", data={"cards": "99", "idempotency_key": "k-3"}))
    pages.append(client.post(f"/p/{pack.token}", data={"cards": "99", "idempotency_key": "k-4"}, headers=HX))
    assert [p.status_code for p in pages] == [200, 200, 200, 422, 422]
    for page in pages:
        _assert_no_group_data(page.get_data(as_text=True))


@pytest.mark.parametrize("token", ["0" * 26, "NOT-A-TOKEN", "A" * 40])
def test_unknown_token_is_a_friendly_404_with_the_manual_entry_link(client, pack, token):
    response = client.get(f"/p/{token}")
    assert response.status_code == 404
    html = text_of(response)
    assert "We could not find this pack" in html and 'href="/p"' in html


def test_reissued_token_stops_working(client, pack):
    old = pack.token
    pack.token = codes.new_token()
    pack.code = codes.new_code()
    db.session.commit()
    assert client.get(f"/p/{old}").status_code == 404
    assert client.post(f"/p/{old}", data={"cards": "1", "idempotency_key": "k"}).status_code == 404
    assert client.get(f"/p/{pack.token}").status_code == 200


def test_a_short_code_typed_into_the_address_bar_opens_the_pack(client, pack):
    response = client.get(f"/p/{codes.format_code(pack.code).lower()}")
    assert response.status_code == 303
    assert response.headers["Location"] == f"/p/{pack.token}"


def test_a_full_pack_shows_no_form(client, pack):
    services.record_report(pack, 25, ReportSource.PAGE, "fill")
    html = text_of(client.get(f"/p/{pack.token}"))
    assert "Every card is reported" in html and "<form class=\"report__form\"" not in html


# --- Posting a report: htmx and no-JS ---------------------------------------------------------------

def test_htmx_post_answers_with_the_thanks_fragment(client, world, pack):
    services.record_report(world.packs[1], 4, ReportSource.PAGE, "other-pack")
    response = client.post(f"/p/{pack.token}", data={"cards": "3", "idempotency_key": "abc-1"}, headers=HX)
    assert response.status_code == 200
    html = text_of(response)
    assert "<html" not in html and html.strip().startswith('<section id="report"')
    assert "Thank you!" in html and "<strong>3 cards</strong>" in html
    assert "<dt>From this pack</dt><dd>3 of 25</dd>" in html
    assert f"<dt>For {world.case.name}, by everyone</dt><dd>7</dd>" in html
    assert f'href="/cases/{world.case.slug}"' in html
    assert _posted(pack.id) == 3


def test_no_js_post_redirects_to_a_thanks_page(client, world, pack):
    response = client.post(f"/p/{pack.token}", data={"cards": "5", "idempotency_key": "abc-2"})
    assert response.status_code == 303
    report = _report_rows(pack.id)[0]
    assert response.headers["Location"] == f"/p/{pack.token}/thanks/{report.id}"
    page = client.get(response.headers["Location"])
    assert page.status_code == 200
    html = text_of(page)
    assert "<html" in html and "Thank you!" in html and "<dd>5 of 25</dd>" in html
    assert world.case.what_to_write in html  # the rest of the pack page is still there
    assert page.headers["Cache-Control"] == "no-store"


def test_same_url_answers_fragment_or_page(client, pack):
    full = client.post(f"/p/{pack.token}", data={"cards": "99", "idempotency_key": "x-1"})
    fragment = client.post(f"/p/{pack.token}", data={"cards": "99", "idempotency_key": "x-1"}, headers=HX)
    assert "<html" in full.get_data(as_text=True)
    assert "<html" not in fragment.get_data(as_text=True)
    assert "HX-Request" in fragment.headers["Vary"] and "HX-Request" in full.headers["Vary"]


def test_a_boosted_post_gets_the_whole_flow_not_a_fragment(client, pack):
    response = client.post(f"/p/{pack.token}", data={"cards": "1", "idempotency_key": "boost"},
                           headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert response.status_code == 303


def test_thanks_page_of_another_pack_is_not_found(client, world):
    report = services.record_report(world.packs[1], 1, ReportSource.PAGE, "theirs").report
    assert client.get(f"/p/{world.packs[0].token}/thanks/{report.id}").status_code == 404
    assert client.get(f"/p/{world.packs[0].token}/thanks/999").status_code == 404


def test_replayed_post_counts_once_and_answers_the_same(client, pack):
    data = {"cards": "4", "idempotency_key": "retry-key"}
    first = client.post(f"/p/{pack.token}", data=data)
    second = client.post(f"/p/{pack.token}", data=data)
    third = client.post(f"/p/{pack.token}", data=data, headers=HX)
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert third.status_code == 200 and "counted it once" in text_of(third)
    assert len(_report_rows(pack.id)) == 1 and _posted(pack.id) == 4


def test_same_key_with_another_number_is_422(client, pack):
    client.post(f"/p/{pack.token}", data={"cards": "4", "idempotency_key": "changed"})
    response = client.post(f"/p/{pack.token}", data={"cards": "6", "idempotency_key": "changed"}, headers=HX)
    assert response.status_code == 422
    assert "already sent with 4 cards" in text_of(response)
    assert _posted(pack.id) == 4


def test_simultaneous_posts_with_one_key_through_the_app_count_once(app, pack):
    token, pack_id = pack.token, pack.id
    db.session.rollback()
    barrier = threading.Barrier(8)
    answers: list = [None] * 8

    def post(i: int) -> None:
        client = app.test_client()
        barrier.wait()
        answers[i] = client.post(f"/p/{token}", data={"cards": "2", "idempotency_key": "double-tap"})

    threads = [threading.Thread(target=post, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert [a.status_code for a in answers] == [303] * 8
    assert len({a.headers["Location"] for a in answers}) == 1
    assert len(_report_rows(pack_id)) == 1 and _posted(pack_id) == 2


@pytest.mark.parametrize("headers", [{}, HX], ids=["no-js", "htmx"])
def test_over_reporting_is_refused_with_a_clear_message_and_nothing_saved(client, pack, headers):
    services.record_report(pack, 20, ReportSource.PAGE, "first")
    response = client.post(f"/p/{pack.token}", data={"cards": "6", "idempotency_key": "second"}, headers=headers)
    assert response.status_code == 422
    html = text_of(response)
    assert "Only 5 cards are left in this pack: enter 5 or fewer." in html
    assert 'aria-invalid="true"' in html and 'max="5"' in html
    assert ('<html' in html) is (not headers)
    assert _posted(pack.id) == 20 and len(_report_rows(pack.id)) == 1


@pytest.mark.parametrize("cards, message", [
    ("abc", "Enter a whole number of cards"), ("0", "from 1 to 1000"), ("-2", "Enter a whole number"),
    ("", "Enter how many cards you posted."), ("2.5", "Enter a whole number"), ("1001", "from 1 to 1000"),
])
def test_invalid_numbers_are_explained_next_to_the_field(client, pack, cards, message):
    response = client.post(f"/p/{pack.token}", data={"cards": cards, "idempotency_key": "k-x"}, headers=HX)
    assert response.status_code == 422
    error = re.search(r'<p class="field__error" id="cards-error"[^>]*>(.*?)</p>', response.get_data(as_text=True), re.S)
    assert message in error.group(1)
    assert _posted(pack.id) == 0


def test_a_post_without_a_key_is_refused(client, pack):
    response = client.post(f"/p/{pack.token}", data={"cards": "1"})
    assert response.status_code == 422 and "reload the page" in text_of(response)
    assert _posted(pack.id) == 0


# --- CSRF ---------------------------------------------------------------------------------------------

def test_posts_need_the_form_token(app_factory, app):
    csrf_app = app_factory(WTF_CSRF_ENABLED=True)
    with csrf_app.app_context():
        world = make_world(packs=1, size=10)
        pack = world.packs[0]
        token, pack_id = pack.token, pack.id
    client = csrf_app.test_client()
    refused = client.post(f"/p/{token}", data={"cards": "1", "idempotency_key": "no-token"})
    assert refused.status_code == 400
    assert "please tap the button again" in text_of(refused)  # the form comes back, ready to resend
    assert client.post("/p", data={"code": "ABCD-EFGH-J"}).status_code == 400

    page = client.get(f"/p/{token}").get_data(as_text=True)
    form = {"csrf_token": hidden_value(page, "csrf_token"), "idempotency_key": hidden_value(page, "idempotency_key"), "cards": "2"}
    assert client.post(f"/p/{token}", data=form).status_code == 303
    with csrf_app.app_context():
        assert db.session.get(Pack, pack_id).cards_posted == 2


# --- Manual code entry --------------------------------------------------------------------------------

def _code_with_confusables() -> str:
    """A valid code whose body has a 1 and a 0 (so it can be typed with I, L and O)."""
    n = 0
    while True:
        body = f"10{n:06d}"[:8]
        check = codes.check_value(body)
        if check < 32:
            return body + codes.ALPHABET[check]
        n += 1


@pytest.fixture
def coded_pack(pack):
    pack.code = _code_with_confusables()
    db.session.commit()
    return pack


def test_manual_entry_page(client):
    response = client.get("/p")
    assert response.status_code == 200
    html = text_of(response)
    assert "Type your pack code" in html and 'name="code"' in html
    assert client.get("/P").status_code == 200


@pytest.mark.parametrize("typed", [
    "{code}", "{lower}", "{dashed}", "  {spaced}  ", "{dashed_lower}", "{ilo}",
])
def test_manual_entry_is_tolerant(client, coded_pack, typed):
    code = coded_pack.code
    variants = {
        "code": code, "lower": code.lower(), "dashed": codes.format_code(code),
        "spaced": " ".join(code[i:i + 3] for i in range(0, 9, 3)), "dashed_lower": codes.format_code(code).lower(),
        "ilo": code[0].replace("1", "I") + code[1].replace("0", "O") + code[2:].replace("1", "l").replace("0", "o"),
    }
    response = client.post("/p", data={"code": typed.format(**variants)})
    assert response.status_code == 303
    assert response.headers["Location"] == f"/p/{coded_pack.token}"


def test_a_typo_is_caught_by_the_check_symbol_next_to_the_field(client, coded_pack):
    code = coded_pack.code
    wrong = code[:3] + ("X" if code[3] != "X" else "Y") + code[4:]
    response = client.post("/p", data={"code": codes.format_code(wrong)})
    assert response.status_code == 422
    error = re.search(r'<p class="field__error" id="code-error"[^>]*>(.*?)</p>', response.get_data(as_text=True), re.S)
    assert "typo" in error.group(1)
    assert 'aria-invalid="true"' in response.get_data(as_text=True)


@pytest.mark.parametrize("typed, message", [
    ("ABC", "A pack code has 9 letters and digits; this has 3."),
    ("", "Type the code printed under the QR code."),
])
def test_malformed_codes_are_explained(client, typed, message):
    response = client.post("/p", data={"code": typed})
    assert response.status_code == 422 and message in text_of(response)


def test_a_valid_code_of_no_pack_says_so(client, pack):
    code = codes.new_code()
    while code == pack.code:
        code = codes.new_code()
    response = client.post("/p", data={"code": code})
    assert response.status_code == 422 and "No pack has that code" in text_of(response)


# --- Rate limits --------------------------------------------------------------------------------------

@pytest.fixture
def limited(app_factory, app):
    """An app with rate limits on (and tight) and a world to use it on."""
    limited_app = app_factory(
        RATELIMIT_ENABLED=True,
        RATELIMIT_CODE_LOOKUPS_PER_IP="3 per minute",
        RATELIMIT_PACK_MISSES_PER_IP="4 per minute",
        RATELIMIT_REPORT_PER_IP="5 per minute",
        RATELIMIT_REPORT_PER_PACK="3 per minute",
    )
    with limited_app.app_context():
        world = make_world(packs=3, size=25)
        packs = [(p.token, p.code, p.id) for p in world.packs]
    return limited_app, packs


def _ip(n: int) -> dict:
    return {"REMOTE_ADDR": f"198.51.100.{n}"}


def test_code_lookups_are_limited_per_ip_counting_failures(limited):
    app, packs = limited
    client = app.test_client()
    for _ in range(5):  # successful look-ups do not count against the limit
        assert client.post("/p", data={"code": packs[0][1]}, environ_base=_ip(1)).status_code == 303
    statuses = [client.post("/p", data={"code": codes.new_code()}, environ_base=_ip(1)).status_code for _ in range(4)]
    assert statuses == [422, 422, 422, 429]
    assert client.post("/p", data={"code": packs[0][1]}, environ_base=_ip(1)).status_code == 429
    assert client.post("/p", data={"code": packs[0][1]}, environ_base=_ip(2)).status_code == 303  # another client


def test_random_token_floods_get_404s_then_429(limited):
    app, packs = limited
    client = app.test_client()
    statuses = [client.get(f"/p/{codes.new_token()}", environ_base=_ip(3)).status_code for _ in range(6)]
    assert statuses == [404, 404, 404, 404, 429, 429]
    assert client.get(f"/p/{packs[0][0]}", environ_base=_ip(4)).status_code == 200


def test_reports_are_limited_per_pack_across_clients(limited):
    app, packs = limited
    client = app.test_client()
    token = packs[0][0]
    statuses = [
        client.post(f"/p/{token}", data={"cards": "1", "idempotency_key": str(uuid.uuid4())}, environ_base=_ip(10 + i)).status_code
        for i in range(4)
    ]
    assert statuses == [303, 303, 303, 429]
    with app.app_context():
        assert db.session.get(Pack, packs[0][2]).cards_posted == 3


def test_reports_are_limited_per_client_across_packs(limited):
    app, packs = limited
    client = app.test_client()
    statuses = [
        client.post(f"/p/{packs[i % 3][0]}", data={"cards": "1", "idempotency_key": str(uuid.uuid4())}, environ_base=_ip(20)).status_code
        for i in range(6)
    ]
    assert statuses == [303] * 5 + [429]


# --- Weight -------------------------------------------------------------------------------------------

def test_pack_page_with_everything_it_loads_stays_small(client, pack):
    page = client.get(f"/p/{pack.token}")
    html = page.get_data()
    assets = re.findall(rb'(?:src|href)="(/static/[^"]+\.(?:js|css|svg))"', html)
    assert any(a.endswith(b"pack.js") for a in assets) and any(a.endswith(b"htmx-2.0.11.min.js") for a in assets)
    assert not any(b"qr-scanner" in a for a in assets)
    total = len(gzip.compress(html))
    for asset in assets:
        response = client.get(asset.decode())
        assert response.status_code == 200
        total += len(gzip.compress(response.get_data()))
        response.close()
    assert total <= 60 * 1024, f"{total} bytes compressed"


# --- Statements per request ---------------------------------------------------------------------------

def _statements(app, action) -> list[str]:
    """The SQL statements (not BEGIN/COMMIT/ROLLBACK) a request runs."""
    seen: list[str] = []

    def record(conn, cursor, statement, *args):
        if statement.split(None, 1)[0].upper() in {"SELECT", "INSERT", "UPDATE", "DELETE"}:
            seen.append(statement)

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        action()
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    return seen


def test_pack_page_is_one_query_and_a_report_the_minimal_set(app, client, pack):
    url, pack_id = f"/p/{pack.token}", pack.id
    page = _statements(app, lambda: client.get(url))
    assert len(page) == 1 and "FROM pack JOIN" in page[0], page
    key = hidden_value(client.get(url).get_data(as_text=True), "idempotency_key")
    report = _statements(app, lambda: client.post(url, data={"idempotency_key": key, "cards": "2"}))
    # pack+case, replayed key?, webhooks to notify; then the conditional UPDATE and the INSERT
    assert [s.split(None, 1)[0] for s in report] == ["SELECT", "SELECT", "SELECT", "UPDATE", "INSERT"]
    assert _posted(pack_id) == 2


# --- The cached case parts -------------------------------------------------------------------------------

def test_case_parts_are_cached_but_an_edit_shows_at_once(app, client, world):
    from app.models import Case
    from app.reports import fragments

    fragments.clear()
    token = world.packs[0].token
    first = client.get(f"/p/{token}").get_data(as_text=True)
    assert "Tell her she is not alone." in first and len(fragments._cache) == 1
    second = client.get(f"/p/{token}").get_data(as_text=True)
    assert len(fragments._cache) == 1  # the same case text: reused
    # Only the case parts are shared: every load still gets its own form key and the live count.
    assert hidden_value(first, "idempotency_key") != hidden_value(second, "idempotency_key")
    case = db.session.get(Case, world.case.id)
    case.what_to_write = "Write to her in your own words."
    db.session.commit()
    edited = client.get(f"/p/{token}").get_data(as_text=True)
    assert "Write to her in your own words." in edited and "Tell her she is not alone." not in edited
    french = client.get(f"/p/{token}?lang=fr").get_data(as_text=True)
    assert "Ce qu’il faut écrire" in french and "What to write" not in french
    assert 'lang="en" dir="ltr">Write to her in your own words.' in french  # no translation: English, marked
    assert "What to write" in client.get(f"/p/{token}?lang=en").get_data(as_text=True)


def test_cached_case_parts_stay_escaped(client, world):
    from app.models import Case

    case = db.session.get(Case, world.case.id)
    case.ask = "<script>alert(1)</script> & write"
    db.session.commit()
    for _ in range(2):  # rendered, then from the cache
        html = client.get(f"/p/{world.packs[0].token}").get_data(as_text=True)
        assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; write" in html
