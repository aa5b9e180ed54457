"""One place decides whether a view answers with a fragment or the full page."""

from __future__ import annotations

from typing import Any

from urllib.parse import urlencode

from flask import make_response, render_template, request
from flask.wrappers import Response

from .extensions import htmx


def wants_fragment() -> bool:
    """True for an htmx request that swaps part of the page (not a boosted navigation or history restore)."""
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def targets(element_id: str) -> bool:
    """True for an htmx swap aimed at the element with this id (HX-Target): a region that refreshes itself."""
    return wants_fragment() and htmx.target == element_id


def render(page_template: str, fragment_template: str, /, *, status_code: int = 200, **context: Any) -> Response:
    """Render the fragment alone for htmx swaps, else the full page (which includes the fragment)."""
    template = fragment_template if wants_fragment() else page_template
    response = make_response(render_template(template, **context), status_code)
    response.vary.add("HX-Request")
    return response


def push_clean_url(response: Response) -> Response:
    """A GET filter form swapped by htmx sends its empty fields too (`?case=&region=`): push the URL
    without them, so the address bar and bookmarks stay short."""
    if wants_fragment() and request.method == "GET" and any(v == "" for v in request.args.values()):
        args = [(k, v) for k, v in request.args.items(multi=True) if v != ""]
        response.headers["HX-Push-Url"] = request.path + ("?" + urlencode(args) if args else "")
    return response
