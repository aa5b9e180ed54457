"""Label sheets, inserts and packing slips: every QR decodes (real decoder) to the right pack."""

from __future__ import annotations

import pytest
from reportlab.lib.units import mm

from app.packs import labels, qr, services
from app.packs.codes import format_code, new_code, new_token
from tests import factories
from tests.packs_helpers import decode_pdf, token_from_url

BASE = "http://cards.test"


def fake_labels(n: int, size: int = 25) -> list[labels.PackLabel]:
    return [labels.PackLabel(i + 1, new_token(), new_code(), f"Case {i % 3}", "Free them now.", size) for i in range(n)]


@pytest.mark.parametrize("key", sorted(labels.TEMPLATES))
def test_every_template_keeps_the_qr_at_least_20mm_and_inside_its_label(key):
    template = labels.TEMPLATES[key]
    symbol = qr.pack_matrix(new_token(), "https://a-rather-long-host-name.example.org")
    assert template.qr_box * symbol.size / symbol.width_with_quiet_zone >= labels.MIN_SYMBOL_MM * mm
    assert template.qr_box < template.label_height
    page_w, page_h = template.page_size
    for position in range(template.per_page):
        x, y = template.origin(position)
        assert 0 <= x and x + template.label_width <= page_w + 0.01
        assert 0 <= y and y + template.label_height <= page_h + 0.01


@pytest.mark.parametrize("layout,paper,count", [("3x8", "a4", 30), ("3x8", "letter", 24), ("2x4", "a4", 9),
                                                ("2x4", "letter", 8), ("insert", "a4", 2), ("insert", "letter", 2)])
def test_every_qr_on_every_sheet_decodes_to_its_pack(layout, paper, count):
    items = fake_labels(count)
    pdf = labels.render_labels(items, labels.get_template(layout, paper), base_url=BASE)
    pages = decode_pdf(pdf)
    per_page = labels.get_template(layout, paper).per_page
    assert len(pages) == -(-count // per_page)
    decoded = [b.text for page in pages for b in page]
    assert decoded == [qr.qr_payload(item.token, BASE) for item in items]
    assert all(b.ec_level == "Q" for page in pages for b in page)


def test_start_position_and_copies():
    template = labels.get_template("3x8", "a4")
    items = fake_labels(3)
    pdf = labels.render_labels(items, template, base_url=BASE, start_at=5, copies=2)
    pages = decode_pdf(pdf)
    assert len(pages) == 1
    tokens = [token_from_url(b.text) for b in pages[0]]
    assert tokens == [items[0].token] * 2 + [items[1].token] * 2 + [items[2].token] * 2
    # Position 5 is the middle of the second row of a 3-column sheet.
    first = pages[0][0].position.top_left
    page_w, page_h = template.page_size
    scale = 150 / 72
    x, y = template.origin(4)
    assert x * scale <= first.x <= (x + template.label_width / 2) * scale
    assert (page_h - y - template.label_height) * scale <= first.y <= (page_h - y) * scale


def test_start_position_fills_the_rest_of_the_sheet_then_starts_a_new_one():
    pdf = labels.render_labels(fake_labels(6), labels.get_template("2x4", "a4"), base_url=BASE, start_at=7)
    assert [len(page) for page in decode_pdf(pdf)] == [2, 4]


def test_bad_options_are_refused():
    template = labels.get_template("3x8", "a4")
    with pytest.raises(ValueError):
        labels.render_labels([], template, base_url=BASE, start_at=25)
    with pytest.raises(ValueError):
        labels.render_labels([], template, base_url=BASE, copies=0)


def test_empty_selection_is_a_valid_pdf():
    pdf = labels.render_labels([], labels.get_template("3x8", "a4"), base_url=BASE)
    assert pdf.startswith(b"%PDF") and decode_pdf(pdf) == [[]]


def test_long_and_non_latin_text_is_fitted_not_fatal():
    item = labels.PackLabel(1, new_token(), new_code(), "Ζ" * 10 + " a name " * 20, "ask " * 200, 50)
    pdf = labels.render_labels([item], labels.get_template("3x8", "a4"), base_url=BASE)
    assert [b.text for b in decode_pdf(pdf)[0]] == [qr.qr_payload(item.token, BASE)]


def _text(pdf: bytes) -> str:
    import pypdfium2

    return " ".join(pypdfium2.PdfDocument(pdf)[0].get_textpage().get_text_range().split())  # lines joined


def test_names_in_other_scripts_are_printed_not_boxes():
    names = ["Сабина Ахмедова", "Ζωή Παπαδοπούλου", "Zoë Müller"]
    items = [labels.PackLabel(i + 1, new_token(), new_code(), name, "Free them now.", 25) for i, name in enumerate(names)]
    pdf = labels.render_labels(items, labels.get_template("2x4", "a4"), base_url=BASE)
    text = _text(pdf)
    assert all(name in text for name in names) and "■" not in text
    assert b"DejaVuSans-Bold" in pdf  # the Cyrillic and Greek names, as an embedded subset
    slip = labels.PackingSlip(1, "Группа Одесса", ("вул. Дерибасівська 1", "65000 Одеса"),
                              (labels.SlipLine("Сабина Ахмедова", 25, 1),), tuple(items[:1]))
    slip_text = _text(labels.render_packing_slip(slip, base_url=BASE))
    assert all(part in slip_text for part in ("Группа Одесса", "вул. Дерибасівська 1", "Сабина Ахмедова · 25 cards"))


def test_western_european_text_needs_no_embedded_font():
    item = labels.PackLabel(1, new_token(), new_code(), "Zoë Müller · “Free them”…", "Libérez-les !", 25)
    pdf = labels.render_labels([item], labels.get_template("3x8", "a4"), base_url=BASE)
    assert "Zoë Müller" in _text(pdf) and b"DejaVu" not in pdf


def test_labels_of_a_real_order_decode_to_its_packs_tokens(app):
    campaign = factories.campaign()
    case_a, case_b = factories.case(campaign, name="Sonia Dahmani"), factories.case(campaign)
    order = factories.order(campaign, factories.group(), lines=[(case_a, 4, 25), (case_b, 2, 50)])
    assert services.create_packs_for_order(order) == 6
    packs = services.order_packs(order)
    items = services.label_items(services.Selection(kind="order", order_id=order.id))
    assert [i.pack_id for i in items] == [p.id for p in packs]
    assert items[0].case_name == "Sonia Dahmani" and items[0].size == 25 and items[-1].size == 50
    pdf = labels.render_labels(items, labels.get_template("3x8", "a4"), base_url=app.config["BASE_URL"])
    decoded = [token_from_url(b.text) for b in decode_pdf(pdf)[0]]
    assert decoded == [p.token for p in packs]
    # A lower-cased URL names the same pack too: the token matches case-insensitively.
    assert [token_from_url(b.text.lower()) for b in decode_pdf(pdf)[0]] == [p.token for p in packs]


def test_packing_slip_lists_group_address_lines_and_every_pack(app):
    campaign = factories.campaign()
    case = factories.case(campaign, name="Case with packs")
    group = factories.group(name="Cardiff Writers", address_line1="1 Secret Street")
    order = factories.order(campaign, group, lines=[(case, 18, 10)])
    services.create_packs_for_order(order)
    slip = services.packing_slip(order)
    assert slip.group_name == "Cardiff Writers"
    assert "1 Secret Street" in slip.address_lines and "CF1 1AA Cardiff" in slip.address_lines
    assert slip.lines == (labels.SlipLine("Case with packs", 10, 18),)
    pdf = labels.render_packing_slip(slip, base_url=BASE)
    pages = decode_pdf(pdf)
    assert len(pages) == 2  # 18 packs: 16 on the first page
    decoded = [token_from_url(b.text) for page in pages for b in page]
    assert decoded == [p.token for p in services.order_packs(order)]
    import pypdfium2

    text = pypdfium2.PdfDocument(pdf)[0].get_textpage().get_text_range()
    assert "Cardiff Writers" in text and "1 Secret Street" in text
    assert format_code(services.order_packs(order)[0].code) in text


def test_progress_is_reported():
    seen = []
    labels.render_labels(fake_labels(250), labels.get_template("3x8", "a4"), base_url=BASE,
                         progress=lambda done, total: seen.append((done, total)))
    assert seen == [(100, 250), (200, 250), (250, 250)]


def test_decoded_qr_urls_open_their_pack_page(app, client):
    from urllib.parse import urlsplit

    campaign = factories.campaign()
    case = factories.case(campaign, name="Printed case", ask="Free them now.")
    order = factories.order(campaign, factories.group(name="Hidden Group"), lines=[(case, 3, 10)])
    services.create_packs_for_order(order)
    from app.extensions import db

    db.session.commit()
    items = services.label_items(services.Selection(kind="order", order_id=order.id))
    pdf = labels.render_labels(items, labels.get_template("2x4", "a4"), base_url=app.config["BASE_URL"])
    urls = [b.text for b in decode_pdf(pdf)[0]]
    assert len(urls) == 3
    for url in urls:
        for path in (urlsplit(url).path, urlsplit(url.lower()).path):  # as printed (upper case) and lower-cased
            page = client.get(path)
            html = page.get_data(as_text=True)
            assert page.status_code == 200 and "Printed case" in html and "Free them now." in html
            assert "Hidden Group" not in html
