"""Case photos: JPEG, PNG or WebP (checked by their first bytes, not the file name), at most 2 MB,
stored under a random name in the upload folder (instance/uploads by default) and served by a route."""

from __future__ import annotations

import os
import re
import secrets
from typing import IO, Optional

from flask import current_app

MAX_BYTES = 2 * 1024 * 1024
NAME = re.compile(r"^cases/[0-9a-f]{32}\.(jpg|png|webp)$")
MIMETYPES = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}


class PhotoError(ValueError):
    """The upload is not an acceptable photo; the message is for people."""


def sniff(head: bytes) -> Optional[str]:
    """The image type from its magic bytes: 'jpg', 'png', 'webp', or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    return None


def read(stream: IO[bytes]) -> tuple[bytes, str]:
    """Read an uploaded file (at most MAX_BYTES) and check its type. Returns (data, extension)."""
    data = stream.read(MAX_BYTES + 1)
    if not data:
        raise PhotoError("The file is empty.")
    if len(data) > MAX_BYTES:
        raise PhotoError("The photo is larger than 2 MB: make it smaller and try again.")
    ext = sniff(data[:16])
    if ext is None:
        raise PhotoError("Upload a JPEG, PNG or WebP image.")
    return data, ext


def folder() -> str:
    return current_app.config.get("UPLOAD_FOLDER") or os.path.join(current_app.instance_path, "uploads")


def save(data: bytes, ext: str) -> str:
    """Write the photo under a random name; returns its path relative to the upload folder."""
    relative = f"cases/{secrets.token_hex(16)}.{ext}"
    path = os.path.join(folder(), relative)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "xb") as handle:
        handle.write(data)
    return relative


def remove(relative: Optional[str]) -> None:
    """Delete a stored photo if it is one of ours (best effort: a leftover file harms nobody)."""
    if relative and NAME.match(relative):
        try:
            os.remove(os.path.join(folder(), relative))
        except OSError:
            pass
