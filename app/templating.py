"""Jinja filters and globals shared by every template."""

from __future__ import annotations

from typing import Any, Iterable

from flask import Flask, current_app, request, url_for
from jinja2 import Environment, nodes
from jinja2.ext import Extension
from markupsafe import Markup


def format_number(value: int | float | None) -> str:
    """1234567 -> '1,234,567'."""
    return f"{int(value or 0):,}"


def percent(part: int | float | None, whole: int | float | None) -> int:
    """Whole percent of part in whole, capped to 0..100 (for progress bars)."""
    if not whole:
        return 0
    return max(0, min(100, int(round(100 * (part or 0) / whole))))


def items2dict(pairs: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    return dict(pairs)


def url_with(**changes: Any) -> str:
    """The current URL with some query arguments changed (None removes one): for filters, sorting, pages."""
    args = request.args.to_dict()
    for key, value in changes.items():
        if value is None or value == "":
            args.pop(key, None)
        else:
            args[key] = value
    return url_for(request.endpoint, **(request.view_args or {}), **args)


def has_endpoint(name: str) -> bool:
    """True when a view with this endpoint name is registered (links to features another branch adds)."""
    return name in current_app.view_functions


def rate(value: float | None) -> str:
    """0.4236 -> '42%'; None (nothing to compare with) -> '—'."""
    return "—" if value is None else f"{int(round(100 * value))}%"


def init_app(app: Flask) -> None:
    """Register filters and globals."""
    app.jinja_env.filters["number"] = format_number
    app.jinja_env.filters["items2dict"] = items2dict
    app.jinja_env.globals["percent"] = percent
    app.jinja_env.globals["url_with"] = url_with
    app.jinja_env.globals["has_endpoint"] = has_endpoint
    app.jinja_env.filters["rate"] = rate
    app.jinja_env.add_extension(FragmentCache)
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True


# --- Fragment cache: template parts that are the same for every visitor, rendered once ------------------

class FragmentCache(Extension):
    """`{% cache "name", key, ... %}…{% endcache %}`: the body is rendered once per name, keys and URL
    prefix, then reused (Jinja's own fragment-cache example, kept in process memory).

    For parts that read nothing but their keys and constants: the page chrome of anonymous visitors in
    each language (brand, menu, footer, asset links). Never for anything per user or per request (CSRF
    tokens, forms, counts). The translations are static files and the asset URLs fixed per process, so
    the entries never go stale; with templates auto-reloading (development) nothing is cached."""

    tags = {"cache"}
    MAX_ENTRIES = 256

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        self._entries: dict[tuple, Markup] = {}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        keys = [parser.parse_expression()]
        while parser.stream.skip_if("comma"):
            keys.append(parser.parse_expression())
        body = parser.parse_statements(("name:endcache",), drop_needle=True)
        return nodes.CallBlock(self.call_method("_cached", [nodes.List(keys)]), [], [], body).set_lineno(lineno)

    def _cached(self, keys: list, caller) -> Markup:
        if self.environment.auto_reload:
            return caller()
        key = (request.script_root, *keys)
        value = self._entries.get(key)
        if value is None:
            value = caller()
            if len(self._entries) >= self.MAX_ENTRIES:
                self._entries.clear()
            self._entries[key] = value
        return value
