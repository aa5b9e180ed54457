"""One pagination helper for every list."""

from __future__ import annotations

from flask import current_app
from flask_sqlalchemy.pagination import Pagination, SelectPagination
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


class _RowsPagination(SelectPagination):
    """Like db.paginate, but the items are whole rows (several columns), not the first column's scalars."""

    def _query_items(self) -> list:
        select = self._query_args["select"].limit(self.per_page).offset(self._query_offset)
        return list(self._query_args["session"].execute(select).all())


def paginate_rows(query: Select, page: int | None, per_page: int | None = None) -> Pagination:
    """A page of a multi-column `query` (e.g. aggregates); the same page rules as `paginate`."""
    per_page = min(per_page or current_app.config["PER_PAGE"], 200)
    page = max(1, page or 1)
    result = _RowsPagination(select=query, session=db.session(), page=page, per_page=per_page, error_out=False)
    if page > 1 and not result.items and result.pages:
        result = _RowsPagination(select=query, session=db.session(), page=result.pages, per_page=per_page, error_out=False)
    return result
