"""Printable PDFs for packs (reportlab): label sheets, one-per-page inserts and packing slips.

Pure rendering: callers pass plain `PackLabel`/`PackingSlip` values, never database objects, so a
background thread can render without a session and tests need no database.

Templates (positions are numbered 1, 2, 3… left to right, then top to bottom):

| key | paper | labels | label size | margins (left, top) | pitch (across, down) | real sheet |
|---|---|---|---|---|---|---|
| `3x8` | A4 | 3 × 8 = 24 | 70 × 37 mm | 0, 0.5 mm | 70, 37 mm | Avery 3474 / Herma 4453 (A4, 24 per sheet, no gaps) |
| `3x8` | Letter | 3 × 8 = 24 | 2.75 × 1.25 in | 0.125, 0.5 in | 2.75, 1.25 in | generic 24-up US Letter sheet |
| `2x4` | A4 | 2 × 4 = 8 | 99.1 × 67.7 mm | 4.65, 13.1 mm | 101.6, 67.7 mm | Avery L7165 (A4, 8 per sheet) |
| `2x4` | Letter | 2 × 4 = 8 | 4 × 2.5 in | 0.15625, 0.5 in | 4.1875, 2.5 in | 8-up US Letter (Avery 5163 columns, 2.5 in rows) |
| `insert` | A4 / Letter | 1 per page | the page | – | – | pack insert card, printed on plain paper |

Every QR symbol is at least 20 mm wide without its quiet zone (`MIN_SYMBOL_MM`), which is kept blank
around it: 4 modules. Speed: each pack's QR matrix is built once and drawn as one vector path of
rectangles (copies reuse the path); nothing is rasterised. See `bench/labels.py` and BENCHMARKS.md.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import BinaryIO, Callable, Iterable, Optional, Sequence

from reportlab import rl_config
from reportlab.lib.pagesizes import A4, LETTER
from reportlab.lib.units import inch, mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase.pdfmetrics import registerFont, stringWidth
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from . import qr
from .codes import format_code

# Binary Flate streams, without reportlab's default ASCII85 wrapping: 20 % smaller and faster PDFs.
# (A process-wide reportlab setting; this app makes no other PDFs that would care.)
rl_config.useA85 = 0

MIN_SYMBOL_MM = 20.0
PAPERS = {"a4": A4, "letter": LETTER}
PAPER_NAMES = {"a4": "A4", "letter": "US Letter"}
LAYOUTS = {"3x8": "Stickers, 3 × 8 per sheet", "2x4": "Stickers, 2 × 4 per sheet", "insert": "Pack insert, one per page"}
SCAN_TEXT = "Scan when you post"
FONT, BOLD, MONO = "Helvetica", "Helvetica-Bold", "Courier-Bold"
# The built-in fonts cover Western European text only (WinAnsi); text in other scripts (a group's
# name in Greek, Cyrillic, Arabic…) is drawn in DejaVu Sans (app/packs/fonts, with its licence),
# embedded as a subset only in the PDFs that need it. Arabic letters come out unjoined and left to
# right: reportlab's canvas does no shaping.
UNICODE_FONTS = {FONT: "DejaVuSans", BOLD: "DejaVuSans-Bold"}
FONT_DIR = Path(__file__).with_name("fonts")
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class PackLabel:
    """What one pack's label shows."""

    pack_id: int
    token: str
    code: str
    case_name: str
    ask: str
    size: int


@dataclass(frozen=True)
class Template:
    """A sheet of labels: where each label sits on the page (all lengths in points)."""

    layout: str
    paper: str
    columns: int
    rows: int
    label_width: float
    label_height: float
    left: float
    top: float
    across: float
    down: float
    qr_box: float  # width of the QR including its quiet zone
    description: str = ""

    @property
    def page_size(self) -> tuple[float, float]:
        return PAPERS[self.paper]

    @property
    def per_page(self) -> int:
        return self.columns * self.rows

    def origin(self, position: int) -> tuple[float, float]:
        """Bottom-left corner of the label at 0-based `position` on its page."""
        row, column = divmod(position, self.columns)
        x = self.left + column * self.across
        y = self.page_size[1] - self.top - row * self.down - self.label_height
        return x, y


def _sheet(layout, paper, columns, rows, w, h, left, top, across, down, qr_box, description) -> Template:
    return Template(layout, paper, columns, rows, w, h, left, top, across, down, qr_box, description)


TEMPLATES: dict[tuple[str, str], Template] = {
    ("3x8", "a4"): _sheet("3x8", "a4", 3, 8, 70 * mm, 37 * mm, 0, 0.5 * mm, 70 * mm, 37 * mm, 30 * mm,
                          "70 × 37 mm, 24 per A4 sheet (Avery 3474)"),
    ("3x8", "letter"): _sheet("3x8", "letter", 3, 8, 2.75 * inch, 1.25 * inch, 0.125 * inch, 0.5 * inch,
                              2.75 * inch, 1.25 * inch, 30 * mm, "2.75 × 1.25 in, 24 per Letter sheet"),
    ("2x4", "a4"): _sheet("2x4", "a4", 2, 4, 99.1 * mm, 67.7 * mm, 4.65 * mm, 13.1 * mm, 101.6 * mm,
                          67.7 * mm, 52 * mm, "99.1 × 67.7 mm, 8 per A4 sheet (Avery L7165)"),
    ("2x4", "letter"): _sheet("2x4", "letter", 2, 4, 4 * inch, 2.5 * inch, 0.15625 * inch, 0.5 * inch,
                              4.1875 * inch, 2.5 * inch, 52 * mm, "4 × 2.5 in, 8 per Letter sheet"),
    ("insert", "a4"): _sheet("insert", "a4", 1, 1, A4[0], A4[1], 0, 0, A4[0], A4[1], 90 * mm,
                             "A4 insert card, one pack per page"),
    ("insert", "letter"): _sheet("insert", "letter", 1, 1, LETTER[0], LETTER[1], 0, 0, LETTER[0], LETTER[1],
                                 90 * mm, "Letter insert card, one pack per page"),
}


def get_template(layout: str, paper: str) -> Template:
    """The template for a layout (`3x8`, `2x4`, `insert`) on a paper (`a4`, `letter`); KeyError if unknown."""
    return TEMPLATES[(layout, paper)]


@lru_cache(maxsize=None)
def _unicode_font(font: str) -> str:
    name = UNICODE_FONTS[font]
    registerFont(TTFont(name, str(FONT_DIR / f"{name}.ttf")))
    return name


@lru_cache(maxsize=8192)
def font_for(font: str, text: str) -> str:
    """`font` when it has every character of `text`, else its DejaVu Sans counterpart."""
    if font not in UNICODE_FONTS:
        return font
    try:
        text.encode("cp1252")
    except UnicodeEncodeError:
        return _unicode_font(font)
    return font


@lru_cache(maxsize=4096)
def _fit(text: str, font: str, size: float, width: float, max_lines: int) -> tuple[str, ...]:
    """`text` wrapped to `width`, at most `max_lines` lines, the last shortened with … if needed."""
    font = font_for(font, text)
    lines = simpleSplit(" ".join(text.split()), font, size, width) or [""]
    if len(lines) <= max_lines:
        return tuple(lines)
    kept = lines[:max_lines]
    last = kept[-1]
    while last and stringWidth(last + "…", font, size) > width:
        last = last[:-1].rstrip()
    kept[-1] = last + "…"
    return tuple(kept)


def _text_lines(canvas: Canvas, lines: Iterable[str], x: float, y: float, font: str, size: float,
                leading: Optional[float] = None, centre: bool = False) -> float:
    """Draw lines downwards from baseline `y`; return the baseline after the last line."""
    leading = leading or size * 1.2
    for line in lines:
        canvas.setFont(font_for(font, line), size)
        if centre:
            canvas.drawCentredString(x, y, line)
        else:
            canvas.drawString(x, y, line)
        y -= leading
    return y


class _QRCache:
    """Each pack's QR path is built once per document, however many copies are drawn."""

    def __init__(self, canvas: Canvas, base_url: str):
        self.canvas, self.base_url = canvas, base_url
        self._paths: dict[str, tuple[qr.QRMatrix, str]] = {}

    def draw(self, token: str, x: float, y: float, box: float) -> None:
        entry = self._paths.get(token)
        if entry is None:
            matrix = qr.pack_matrix(token, self.base_url)
            entry = (matrix, qr.path_operators(matrix))
            self._paths = {token: entry}  # labels are drawn in order: keep only the current pack
        qr.draw_operators(self.canvas, entry[0], entry[1], x, y, box)


def _draw_sticker(canvas: Canvas, qrs: _QRCache, t: Template, label: PackLabel, x: float, y: float) -> None:
    pad = 1.5 * mm
    big = t.layout == "2x4"
    box = t.qr_box
    code_size = 12 if big else 9.5
    qr_x = x + pad
    qr_y = y + t.label_height - pad - box
    qrs.draw(label.token, qr_x, qr_y, box)
    # The short code, under the QR (below its quiet zone), centred on it.
    canvas.setFont(MONO, code_size)
    canvas.drawCentredString(qr_x + box / 2, qr_y - code_size * 0.95, format_code(label.code))

    text_x = qr_x + box + 1 * mm
    width = x + t.label_width - pad - text_x
    top = y + t.label_height - pad - (12 if big else 8)
    name_size, small = (13, 9) if big else (8.5, 6.5)
    yy = _text_lines(canvas, _fit(label.case_name, BOLD, name_size, width, 3 if big else 2), text_x, top, BOLD, name_size)
    if big:
        yy = _text_lines(canvas, _fit(label.ask, FONT, small, width, 4), text_x, yy - 2, FONT, small)
    else:
        yy = _text_lines(canvas, _fit(label.ask, FONT, small, width, 1), text_x, yy, FONT, small)
    yy = _text_lines(canvas, (SCAN_TEXT,), text_x, yy - (4 if big else 1), BOLD, small + (1 if big else 0.5))
    _text_lines(canvas, (f"Pack of {label.size} cards",), text_x, yy - (2 if big else 0), FONT, small)


def _draw_insert(canvas: Canvas, qrs: _QRCache, t: Template, label: PackLabel, base_url: str) -> None:
    width, height = t.page_size
    margin = 20 * mm
    centre = width / 2
    y = height - margin - 24
    y = _text_lines(canvas, _fit(label.case_name, BOLD, 26, width - 2 * margin, 2), centre, y, BOLD, 26, centre=True)
    y = _text_lines(canvas, _fit(label.ask, FONT, 14, width - 2 * margin, 3), centre, y - 6, FONT, 14, centre=True)
    y = _text_lines(canvas, (SCAN_TEXT,), centre, y - 18, BOLD, 22, centre=True)
    box = t.qr_box
    qr_y = y - box + 8
    qrs.draw(label.token, centre - box / 2, qr_y, box)
    y = _text_lines(canvas, (format_code(label.code),), centre, qr_y - 14, MONO, 26, centre=True)
    y = _text_lines(canvas, (f"This pack: {label.size} cards",), centre, y - 8, FONT, 16, centre=True)
    manual = f"No camera? Type the code at {base_url.rstrip('/')}/p"
    _text_lines(canvas, _fit(manual, FONT, 11, width - 2 * margin, 2), centre, y - 6, FONT, 11, centre=True)


def render_labels(
    labels: Sequence[PackLabel],
    template: Template,
    *,
    base_url: str,
    start_at: int = 1,
    copies: int = 1,
    out: Optional[BinaryIO] = None,
    progress: Optional[Progress] = None,
    title: str = "Pack labels",
) -> Optional[bytes]:
    """A PDF of `copies` labels per pack, the first at position `start_at` (1-based) of the first sheet.

    Writes to `out` if given (returns None), else returns the PDF bytes. `progress(done, total)` is
    called every 100 labels and at the end.
    """
    if not 1 <= start_at <= template.per_page:
        raise ValueError(f"start_at must be between 1 and {template.per_page}")
    if not 1 <= copies <= 100:
        raise ValueError("copies must be between 1 and 100")
    buffer = out or io.BytesIO()
    canvas = Canvas(buffer, pagesize=template.page_size, pageCompression=1)
    canvas.setTitle(title)
    canvas.setAuthor("Write for Rights cards")
    qrs = _QRCache(canvas, base_url)
    total = len(labels) * copies
    position = start_at - 1 if template.layout != "insert" else 0
    done = 0
    for label in labels:
        for _ in range(copies):
            if position == template.per_page:
                canvas.showPage()
                position = 0
            if template.layout == "insert":
                _draw_insert(canvas, qrs, template, label, base_url)
            else:
                _draw_sticker(canvas, qrs, template, label, *template.origin(position))
            position += 1
            done += 1
            if progress and done % 100 == 0:
                progress(done, total)
    if total == 0:
        canvas.setFont(FONT, 12)
        canvas.drawString(20 * mm, template.page_size[1] - 30 * mm, "No packs selected.")
    canvas.showPage()
    canvas.save()
    if progress:
        progress(total, total)
    return None if out is not None else buffer.getvalue()


# --- packing slips ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SlipLine:
    case_name: str
    pack_size: int
    packs: int


@dataclass(frozen=True)
class PackingSlip:
    """What goes in the parcel: who it is for, the order lines and every pack with its code and QR."""

    order_id: int
    group_name: str
    address_lines: tuple[str, ...]
    lines: tuple[SlipLine, ...]
    packs: tuple[PackLabel, ...] = field(default=())


SLIP_COLUMNS = 4
SLIP_CELL_HEIGHT = 44 * mm
SLIP_QR_BOX = 30 * mm


def render_packing_slip(slip: PackingSlip, *, base_url: str, paper: str = "a4",
                        out: Optional[BinaryIO] = None) -> Optional[bytes]:
    """A packing slip PDF: group, delivery address, lines, then a grid of packs (QR, code, case, size)."""
    page_width, page_height = PAPERS[paper]
    margin = 15 * mm
    buffer = out or io.BytesIO()
    canvas = Canvas(buffer, pagesize=(page_width, page_height), pageCompression=1)
    canvas.setTitle(f"Packing slip, order {slip.order_id}")
    canvas.setAuthor("Write for Rights cards")
    qrs = _QRCache(canvas, base_url)
    page = 1

    def footer() -> None:
        canvas.setFont(FONT, 8)
        canvas.drawRightString(page_width - margin, margin / 2, f"Order {slip.order_id} · page {page}")

    y = page_height - margin - 16
    y = _text_lines(canvas, (f"Packing slip · Order {slip.order_id}",), margin, y, BOLD, 18)
    y = _text_lines(canvas, _fit(slip.group_name, BOLD, 12, page_width - 2 * margin, 2), margin, y - 4, BOLD, 12)
    y = _text_lines(canvas, slip.address_lines, margin, y, FONT, 11, leading=14)
    y -= 10
    y = _text_lines(canvas, ("Case", ), margin, y, BOLD, 10)
    canvas.drawRightString(page_width - margin - 40 * mm, y + 12, "Pack size")
    canvas.drawRightString(page_width - margin, y + 12, "Packs")
    for line in slip.lines:
        name = _fit(line.case_name, FONT, 10, page_width - 2 * margin - 70 * mm, 1)[0]
        _text_lines(canvas, (name,), margin, y, FONT, 10)
        canvas.setFont(FONT, 10)
        canvas.drawRightString(page_width - margin - 40 * mm, y, f"{line.pack_size} cards")
        canvas.drawRightString(page_width - margin, y, str(line.packs))
        y -= 13
    total_packs = sum(line.packs for line in slip.lines)
    canvas.setFont(BOLD, 10)
    canvas.drawRightString(page_width - margin, y, f"{total_packs} packs in total")
    y -= 22

    cell_width = (page_width - 2 * margin) / SLIP_COLUMNS
    column = 0
    for label in slip.packs:
        if column == 0 and y - SLIP_CELL_HEIGHT < margin:
            footer()
            canvas.showPage()
            page += 1
            y = page_height - margin
        x = margin + column * cell_width
        qrs.draw(label.token, x + (cell_width - SLIP_QR_BOX) / 2, y - SLIP_QR_BOX, SLIP_QR_BOX)
        centre = x + cell_width / 2
        canvas.setFont(MONO, 10)
        canvas.drawCentredString(centre, y - SLIP_QR_BOX - 9, format_code(label.code))
        _text_lines(canvas, _fit(f"{label.case_name} · {label.size} cards", FONT, 7.5, cell_width - 4, 1),
                    centre, y - SLIP_QR_BOX - 18, FONT, 7.5, centre=True)
        column += 1
        if column == SLIP_COLUMNS:
            column = 0
            y -= SLIP_CELL_HEIGHT
    footer()
    canvas.showPage()
    canvas.save()
    return None if out is not None else buffer.getvalue()
