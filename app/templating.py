"""Jinja filters and globals shared by every template."""

from __future__ import annotations

from flask import Flask


def format_number(value: int | float | None) -> str:
    """1234567 -> '1,234,567'."""
    return f"{int(value or 0):,}"


def percent(part: int | float | None, whole: int | float | None) -> int:
    """Whole percent of part in whole, capped to 0..100 (for progress bars)."""
    if not whole:
        return 0
    return max(0, min(100, int(round(100 * (part or 0) / whole))))


def init_app(app: Flask) -> None:
    """Register filters and globals."""
    app.jinja_env.filters["number"] = format_number
    app.jinja_env.globals["percent"] = percent
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
