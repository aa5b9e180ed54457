"""One pagination helper for every list."""

from __future__ import annotations

from flask import current_app
from flask_sqlalchemy.pagination import Pagination, SelectPagination
import sqlalchemy as sa
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


class _CountedRowsPagination(_RowsPagination):
    """Rows and their total in ONE query (`COUNT(*) OVER ()`): an aggregate query is computed once,
    not again inside a count. Only a page past the end needs the separate count."""

    def _query_items(self) -> list:
        select, column = self._query_args["select"], self._query_args.get("total_column")
        if column is None:  # else the query has a column with the total already
            select, column = select.add_columns(sa.func.count().over().label("total_rows")), "total_rows"
        rows = list(self._query_args["session"].execute(select.limit(self.per_page).offset(self._query_offset)).all())
        # No row on the first page: there are none at all. Past the end: count them apart.
        self._counted = getattr(rows[0], column) if rows else (0 if self._query_offset == 0 else None)
        return rows

    def _query_count(self) -> int:
        return self._counted if self._counted is not None else super()._query_count()


class _TotalledRowsPagination(_RowsPagination):
    """Rows, and their total from a separate query that gives the same number more cheaply."""

    def _query_count(self) -> int:
        return int(self._query_args["session"].execute(self._query_args["total"]).scalar() or 0)


def paginate_rows(query: Select, page: int | None, per_page: int | None = None, counted: bool | str = False,
                  total: Select | None = None) -> Pagination:
    """A page of a multi-column `query` (e.g. aggregates); the same page rules as `paginate`.

    How the rows are counted, for queries that would be costly to count again:
    - `counted=True` reads rows and total in one query; the rows then carry an extra `total_rows` column;
    - `counted="name"`: the query's own column `name` holds the total already (a `COUNT(*) OVER ()` in
      a subquery, before joins the count does not need: one over the whole query keeps every joined
      row, where a sort with LIMIT keeps only a page);
    - `total`, a query of one number, counts them apart (when that is cheap, say one index).
    """
    per_page = min(per_page or current_app.config["PER_PAGE"], 200)
    page = max(1, page or 1)
    if total is not None:
        cls, extra = _TotalledRowsPagination, {"total": total}
    else:
        cls = _CountedRowsPagination if counted else _RowsPagination
        extra = {"total_column": counted} if isinstance(counted, str) else {}
    result = cls(select=query, session=db.session(), page=page, per_page=per_page, error_out=False, **extra)
    if page > 1 and not result.items and result.pages:
        result = cls(select=query, session=db.session(), page=result.pages, per_page=per_page, error_out=False, **extra)
    return result
