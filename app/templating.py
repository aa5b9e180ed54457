"""Jinja filters and globals shared by every template."""

from __future__ import annotations

from typing import Any, Iterable

from flask import Flask, current_app, request, url_for


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
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
