"""QR codes for packs: the URL they hold, SVG for screens and vector rectangles for PDFs.

- `pack_url(token, base_url)` is what people see: `<BASE_URL>/p/<TOKEN>`.
- `qr_payload(token, base_url)` is what the QR code holds: the same URL upper-cased entirely
  (`HTTP://CARDS.EXAMPLE/P/<TOKEN>`), so the whole payload is in QR alphanumeric mode (5.5 bits a
  symbol instead of 8): a smaller symbol with bigger modules at the same printed size. Scheme and host
  are case-insensitive; the `/P/` route and the token lookup are case-insensitive too (PRODUCT.md).
- Error correction is Q (25 % of the symbol can be lost), with the standard 4-module quiet zone.

Speed: printing thousands of labels builds thousands of distinct symbols. `qrcode` spends ~85 % of
its time choosing the mask (it lays the data out 8 times and scores each in pure Python). We let it
lay the data out once with mask 0, then derive the 8 masked symbols by XOR on rows held as integers
and score them with the ISO/IEC 18004 penalty rules (regexes and bit operations): the same symbol
`qrcode` would build with that mask, chosen by the standard rule, in ~1 ms instead of ~4.5 ms.
`tests/test_packs_qr.py` checks the symbols against `qrcode`'s own output for every mask.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import qrcode
import qrcode.constants
from qrcode.util import MODE_8BIT_BYTE, MODE_ALPHA_NUM, QRData

ERROR_CORRECTION = qrcode.constants.ERROR_CORRECT_Q
QUIET_ZONE = 4  # modules of light margin on each side (ISO/IEC 18004 minimum)
_ALPHANUMERIC = re.compile(r"^[0-9A-Z $%*+\-./:]*$")


def pack_url(token: str, base_url: str) -> str:
    """The pack's address as people read it: `<BASE_URL>/p/<TOKEN>`."""
    return f"{base_url.rstrip('/')}/p/{token.upper()}"


def qr_payload(token: str, base_url: str) -> str:
    """The text inside the QR code: the pack URL upper-cased entirely (alphanumeric mode)."""
    return pack_url(token, base_url).upper()


@dataclass(frozen=True)
class QRMatrix:
    """A QR symbol without its quiet zone: `rows[r]` has bit (size - 1 - c) set where module (r, c) is dark."""

    size: int
    rows: tuple[int, ...]
    version: int
    mask: int

    def is_dark(self, r: int, c: int) -> bool:
        return bool(self.rows[r] >> (self.size - 1 - c) & 1)

    def runs(self) -> list[tuple[int, int, int]]:
        """Horizontal runs of dark modules as (row, first column, length): one rectangle each."""
        out = []
        size = self.size
        for r, bits in enumerate(self.rows):
            for m in _DARK_RUN.finditer(format(bits, f"0{size}b")):
                out.append((r, m.start(), m.end() - m.start()))
        return out

    @property
    def width_with_quiet_zone(self) -> int:
        return self.size + 2 * QUIET_ZONE


_DARK_RUN = re.compile(r"1+")


def _data(payload: str) -> QRData:
    mode = MODE_ALPHA_NUM if _ALPHANUMERIC.match(payload) else MODE_8BIT_BYTE
    return QRData(payload.encode(), mode=mode, check_data=False)


@lru_cache(maxsize=64)
def _version_for(length: int, alphanumeric: bool) -> int:
    """The smallest version holding a payload of this length and mode (the same for every token)."""
    qr = qrcode.QRCode(error_correction=ERROR_CORRECTION, border=0)
    qr.add_data(_data(("A" if alphanumeric else "a") * length))
    return qr.best_fit()


# Penalty scoring works on one big integer per symbol ("packed"): each row and then each column is a
# field of `size` bits (leftmost module in the highest bit) plus one always-zero separator bit, field f
# at bits f * (size + 1). Every rule then becomes a few shifts, ANDs and popcounts over all 2·size
# lines at once; no window can match across a separator because it is 0 in both colours.
_TO_DIGITS = bytes.maketrans(b"\x00\x01", b"01")


def _pack_lines(lines: list[bytes]) -> int:
    """Lines of 0/1 bytes (field 0 first) as one packed integer."""
    return int(b"0".join(reversed(lines)).translate(_TO_DIGITS), 2)


def _pack(rows: list[list[Any]]) -> int:
    """A square matrix of truthy/falsy cells, its rows then its columns, as one packed integer."""
    row_bytes = [bytes(map(bool, row)) for row in rows]
    return _pack_lines(row_bytes + [bytes(col) for col in zip(*row_bytes)])


@dataclass(frozen=True)
class _Masks:
    """Constant bitmasks over the packed layout for one symbol size."""

    width: int  # bits per field, separator included
    line: int  # every module bit of every field (rows and columns)
    rows: int  # module bits of the row fields only
    row_pairs: int  # bits where a 2×2 block can start: row fields 0..n-2, columns 0..n-2
    row_field: int  # one row's module bits


@lru_cache(maxsize=16)
def _masks(size: int) -> _Masks:
    width = size + 1
    full, left = (1 << size) - 1, (1 << (size - 1)) - 1
    return _Masks(
        width=width,
        line=sum(full << f * width for f in range(2 * size)),
        rows=sum(full << f * width for f in range(size)),
        row_pairs=sum(left << f * width for f in range(size - 1)),
        row_field=full,
    )


def _packed_penalty(packed: int, size: int) -> int:
    """ISO/IEC 18004 mask penalty N1 + N2 + N3 + N4 of a packed symbol."""
    m = _masks(size)
    dark, light = packed, ~packed & m.line
    score = 0
    for z in (dark, light):  # N1: each run of L >= 5 same-colour modules scores L - 2
        windows = z & z >> 1 & z >> 2 & z >> 3 & z >> 4  # a 5-window of one colour starts here
        score += windows.bit_count() + 2 * (windows & ~(windows >> 1)).bit_count()  # (L - 4) + 2
    w = m.width  # N2: 3 for each 2×2 block of one colour (rows r and r + 1, columns c and c + 1)
    same_below = ~(packed ^ packed >> w)
    same_right = ~(packed ^ packed >> 1)
    score += 3 * (same_below & same_below >> 1 & same_right & m.row_pairs).bit_count()
    # N3: 40 for each 1:1:3:1:1 finder-like pattern with 4 light modules before or after it.
    for pattern in ("10111010000", "00001011101"):
        found = m.line
        for k, colour in enumerate(pattern):
            found &= (dark if colour == "1" else light) >> (10 - k)
        score += 40 * found.bit_count()
    black = (packed & m.rows).bit_count()  # N4: 10 for each 5 % the dark share is away from 50 %
    score += 10 * int(abs(black * 100 / (size * size) - 50) / 5)
    return score


def penalty(rows: list[list[Any]]) -> int:
    """The mask penalty of a square matrix of cells, scored as `qrcode.util.lost_point` does."""
    return _packed_penalty(_pack(rows), len(rows))


@dataclass(frozen=True)
class _Layout:
    """For one version, packed: which modules hold format bits, and per mask what it flips and sets."""

    size: int
    format_cells: int
    flips: tuple[int, ...]  # flips[m]: data modules that mask m inverts
    formats: tuple[int, ...]  # formats[m]: dark format-information (and fixed dark) modules for mask m


@lru_cache(maxsize=16)
def _layout(version: int) -> _Layout:
    # The function patterns come from qrcode itself, so our symbols are exactly its symbols.
    qr = qrcode.QRCode(version=version, error_correction=ERROR_CORRECTION, border=0)
    n = version * 4 + 17
    qr.modules_count = n
    qr.modules = [[None] * n for _ in range(n)]
    qr.setup_position_probe_pattern(0, 0)
    qr.setup_position_probe_pattern(n - 7, 0)
    qr.setup_position_probe_pattern(0, n - 7)
    qr.setup_position_adjust_pattern()
    qr.setup_timing_pattern()
    if version >= 7:
        qr.setup_type_number(False)
    fixed = [[cell is not None for cell in row] for row in qr.modules]
    qr.setup_type_info(False, 0)
    data = [[cell is None for cell in row] for row in qr.modules]
    format_cells = [[cell is not None and not fixed[r][c] for c, cell in enumerate(row)] for r, row in enumerate(qr.modules)]
    flips, formats = [], []
    for mask in range(8):
        flip = qrcode.util.mask_func(mask)
        flips.append(_pack([[data[r][c] and flip(r, c) for c in range(n)] for r in range(n)]))
        qr.modules = [[False] * n for _ in range(n)]
        qr.setup_type_info(False, mask)
        formats.append(_pack(qr.modules))
    return _Layout(size=n, format_cells=_pack(format_cells), flips=tuple(flips), formats=tuple(formats))


def matrix(payload: str) -> QRMatrix:
    """The QR symbol for `payload` at level Q, with the mask the standard penalty rules choose."""
    data = _data(payload)
    version = _version_for(len(payload), data.mode == MODE_ALPHA_NUM)
    layout = _layout(version)
    qr = qrcode.QRCode(version=version, error_correction=ERROR_CORRECTION, border=0, mask_pattern=0)
    qr.add_data(data)
    qr.make(fit=False)
    # Undo mask 0 and its format bits: left are the function patterns and the raw data bits.
    unmasked = (_pack(qr.modules) & ~layout.format_cells) ^ layout.flips[0]
    best_score, best_mask, best = -1, 0, 0
    for mask in range(8):
        packed = unmasked ^ layout.flips[mask] | layout.formats[mask]
        score = _packed_penalty(packed, layout.size)
        if best_score < 0 or score < best_score:
            best_score, best_mask, best = score, mask, packed
    size, m = layout.size, _masks(layout.size)
    rows = tuple(best >> r * m.width & m.row_field for r in range(size))
    return QRMatrix(size=size, rows=rows, version=version, mask=best_mask)


def pack_matrix(token: str, base_url: str) -> QRMatrix:
    """The QR symbol printed for a pack."""
    return matrix(qr_payload(token, base_url))


def svg(payload: str, *, module_px: int = 4, title: str = "") -> str:
    """An inline SVG (one path, quiet zone included) for screens; scales cleanly with CSS."""
    qr = matrix(payload)
    width = qr.width_with_quiet_zone
    path = "".join(f"M{c + QUIET_ZONE} {r + QUIET_ZONE}h{n}v1h-{n}z" for r, c, n in qr.runs())
    label = _xml_escape(title)
    title_element = f"<title>{label}</title>" if title else ""
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {width}" '
        f'width="{width * module_px}" height="{width * module_px}" role="img" '
        f'shape-rendering="crispEdges" class="qr">{title_element}'
        f'<rect width="{width}" height="{width}" fill="#fff"/>'
        f'<path d="{path}" fill="#000"/></svg>'
    )


def _xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def path_operators(qr: QRMatrix) -> str:
    """PDF path operators for `qr` in module units: one `re` (rectangle) per horizontal run of dark modules.

    Integers only, formatted once per symbol: reportlab's per-number formatting is what made
    drawing slow, and copies reuse the string.
    """
    return " ".join([f"{c} {r} {n} 1 re" for r, c, n in qr.runs()]) + " f"


def draw_operators(canvas: Any, qr: QRMatrix, operators: str, x: float, y: float, width: float) -> None:
    """Fill `path_operators(qr)` so the symbol *with* its quiet zone spans (x, y) to (x + width, y + width).

    The quiet zone is left unpainted (labels are white); row 0 is at the top.
    """
    module = width / qr.width_with_quiet_zone
    canvas.saveState()
    canvas.setFillColorRGB(0, 0, 0)
    canvas.translate(x + QUIET_ZONE * module, y + (QUIET_ZONE + qr.size) * module)
    canvas.scale(module, -module)
    canvas.addLiteral(operators)
    canvas.restoreState()


def draw(canvas: Any, qr: QRMatrix, x: float, y: float, width: float) -> None:
    """Draw `qr` as filled vector rectangles on a reportlab canvas (see `draw_operators`)."""
    draw_operators(canvas, qr, path_operators(qr), x, y, width)
