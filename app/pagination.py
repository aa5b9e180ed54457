"""One pagination helper for every list."""

from __future__ import annotations

from flask import current_app
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import Select

from .extensions import db


def paginate(query: Select, page: int | None, per_page: int | None = None) -> Pagination:
    """A page of `query`; out-of-range or nonsense page numbers give the nearest valid page."""
    per_page = per_page or current_app.config["PER_PAGE"]
    page = max(1, page or 1)
    result = db.paginate(query, page=page, per_page=per_page, max_per_page=200, error_out=False, count=True)
    if page > 1 and not result.items and result.pages:
        result = db.paginate(query, page=result.pages, per_page=per_page, max_per_page=200, error_out=False)
    return result
