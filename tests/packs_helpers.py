"""Helpers for pack tests: render PDF pages and decode every QR code on them with a real decoder."""

from __future__ import annotations

import pypdfium2
import zxingcpp


def decode_pdf(pdf: bytes, dpi: int = 150) -> list[list[zxingcpp.Barcode]]:
    """The QR codes found on each page, in reading order (top to bottom, left to right)."""
    document = pypdfium2.PdfDocument(pdf)
    pages = []
    try:
        for page in document:
            image = page.render(scale=dpi / 72, grayscale=True).to_pil()
            found = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode, try_rotate=False,
                                           try_downscale=False)
            found.sort(key=lambda b: (round(b.position.top_left.y / 40), b.position.top_left.x))
            pages.append(found)
            page.close()
    finally:
        document.close()
    return pages


def token_from_url(url: str) -> str:
    """The token of a pack URL however it is cased (the /p/ route matches case-insensitively)."""
    head, _, token = url.rpartition("/")
    assert head.lower().endswith("/p"), url
    return token.upper()
