"""QR symbols: payload, alphanumeric mode, level Q, quiet zone, and identity with qrcode's own output."""

from __future__ import annotations

import io

import pypdfium2
import qrcode
import zxingcpp
from hypothesis import given, settings
from hypothesis import strategies as st
from qrcode.util import lost_point
from reportlab.pdfgen.canvas import Canvas

from app.packs import qr
from app.packs.codes import new_token

BASE = "http://cards.example.org"


def qrcode_rows(payload: str, mask: int) -> tuple[int, ...]:
    ref = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_Q, border=0, mask_pattern=mask)
    ref.add_data(payload)
    ref.make()
    return tuple(int("".join("1" if v else "0" for v in row), 2) for row in ref.modules)


def test_pack_url_and_payload():
    token = new_token()
    assert qr.pack_url(token, BASE + "/") == f"{BASE}/p/{token}"
    assert qr.pack_url(token.lower(), BASE) == f"{BASE}/p/{token}"
    assert qr.qr_payload(token, BASE) == f"HTTP://CARDS.EXAMPLE.ORG/P/{token}"


def test_payload_is_alphanumeric_mode_and_smaller_than_byte_mode():
    token = new_token()
    upper = qr.matrix(qr.qr_payload(token, BASE))
    lower = qr.matrix(qr.pack_url(token, BASE))
    assert upper.version < lower.version
    assert upper.size == upper.version * 4 + 17


@settings(max_examples=40, deadline=None)
@given(base=st.sampled_from([BASE, "https://w4r.org", "http://127.0.0.1:5000", "https://cards.amnesty.org.uk"]))
def test_symbol_is_exactly_qrcodes_symbol_for_the_chosen_mask(base):
    payload = qr.qr_payload(new_token(), base)
    ours = qr.matrix(payload)
    assert ours.rows == qrcode_rows(payload, ours.mask)


def test_every_mask_is_built_like_qrcode_builds_it():
    payload = qr.qr_payload(new_token(), BASE)
    layout = qr._layout(qr.matrix(payload).version)
    ref = qrcode.QRCode(version=layout.size // 4 - 4, error_correction=qr.ERROR_CORRECTION, border=0, mask_pattern=0)
    ref.add_data(qr._data(payload))
    ref.make(fit=False)
    unmasked = (qr._pack(ref.modules) & ~layout.format_cells) ^ layout.flips[0]
    m = qr._masks(layout.size)
    for mask in range(8):
        packed = unmasked ^ layout.flips[mask] | layout.formats[mask]
        rows = tuple(packed >> r * m.width & m.row_field for r in range(layout.size))
        assert rows == qrcode_rows(payload, mask)


@settings(max_examples=80, deadline=None)
@given(st.integers(5, 41).flatmap(lambda n: st.lists(st.lists(st.booleans(), min_size=n, max_size=n), min_size=n, max_size=n)))
def test_penalty_equals_qrcode_lost_point(matrix):
    assert qr.penalty(matrix) == lost_point(matrix)


def test_mask_is_the_one_with_the_lowest_penalty():
    payload = qr.qr_payload(new_token(), BASE)
    ours = qr.matrix(payload)
    scores = []
    for mask in range(8):
        rows = qrcode_rows(payload, mask)
        scores.append(qr.penalty([[bool(r >> (ours.size - 1 - c) & 1) for c in range(ours.size)] for r in rows]))
    assert scores[ours.mask] == min(scores)


def test_svg_has_quiet_zone_and_one_path():
    svg = qr.svg("HTTP://X/P/ABC", title="Pack <1>")
    ours = qr.matrix("HTTP://X/P/ABC")
    assert f'viewBox="0 0 {ours.size + 8} {ours.size + 8}"' in svg
    assert svg.count("<path") == 1 and "<title>Pack &lt;1&gt;</title>" in svg
    assert "M4 4h7" in svg  # the top-left finder starts 4 modules in: the quiet zone is kept


def test_vector_drawing_decodes_with_level_q_and_keeps_quiet_zone():
    token = new_token()
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=(200, 200))
    symbol = qr.pack_matrix(token, BASE)
    qr.draw(canvas, symbol, 20, 20, 160)
    canvas.save()
    image = pypdfium2.PdfDocument(buffer.getvalue())[0].render(scale=2, grayscale=True).to_pil()
    results = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    assert [r.text for r in results] == [qr.qr_payload(token, BASE)]
    assert results[0].ec_level == "Q"
    # Nothing dark in the quiet zone: the first dark pixel is 4 modules inside the 160-point box.
    module_px = 160 / symbol.width_with_quiet_zone * 2
    first_dark = min(x for x in range(400) if image.getpixel((x, 200)) < 128 or any(image.getpixel((x, y)) < 128 for y in range(0, 400, 3)))
    assert abs(first_dark - (40 + 4 * module_px)) <= 2
