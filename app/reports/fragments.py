"""The case parts of the pack page, rendered once per case text and language, then reused.

The pack page is mostly the case: its photo, name, the ask, what to write and both addresses. Those
parts (`_case_top.html`, `_case_bottom.html`) read nothing but the case's texts, the page's language
and the URL prefix, so they are cached under exactly those values: when staff edit a case or its
translation the key changes and the next page renders afresh (no version column, no invalidation
message, nothing stale across workers). The report form, CSRF token, pack code and counts are never
cached: they stay in pack.html.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from flask import render_template, request
from markupsafe import Markup

# Every value the two templates show (photo, name, texts, addresses) ...
FIELDS = ("slug", "photo_path", "photo_alt", "name", "country", "ask", "what_to_write", "summary",
          "solidarity_name", "solidarity_address", "solidarity_address_is_placeholder",
          "authority_name", "authority_address", "authority_address_is_placeholder")
# ... and the fields whose English fallback in another language is marked with lang="en".
LANG_FIELDS = ("ask", "what_to_write", "summary")
MAX_ENTRIES = 512  # cases × languages; the oldest entry goes first


@dataclass(frozen=True)
class CaseParts:
    top: Markup
    bottom: Markup


_cache: OrderedDict[tuple, CaseParts] = OrderedDict()
_lock = threading.Lock()


def _key(case: Any, language: str) -> tuple:
    return (language, request.script_root, case.id, tuple(getattr(case, name) for name in FIELDS),
            tuple(case.lang_attrs(name) for name in LANG_FIELDS))


def case_parts(case: Any, language: str) -> CaseParts:
    """The rendered case parts for this (localized) case in `language`, from the cache when its texts
    are unchanged."""
    key = _key(case, language)
    with _lock:
        parts = _cache.get(key)
        if parts is not None:
            _cache.move_to_end(key)
            return parts
    # Already HTML: the output of our own autoescaped templates (every case text in them is escaped).
    top = render_template("reports/_case_top.html", case=case)
    bottom = render_template("reports/_case_bottom.html", case=case)
    parts = CaseParts(Markup(top), Markup(bottom))  # nosec B704 - autoescaped template output, see above
    with _lock:
        _cache[key] = parts
        while len(_cache) > MAX_ENTRIES:
            _cache.popitem(last=False)
    return parts


def clear() -> None:
    with _lock:
        _cache.clear()
