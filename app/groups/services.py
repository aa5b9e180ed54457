"""Groups: staff review and look-ups; a coordinator only ever reaches their own group."""

from __future__ import annotations

from typing import Optional

import sqlalchemy as sa
from flask_sqlalchemy.pagination import Pagination

from ..extensions import db
from ..models import Group, GroupStatus, User
from ..pagination import paginate

GROUP_SORTS = {
    "name": Group.name,
    "created": Group.created_at,
    "country": Group.country,
    "writers": Group.expected_writers,
}


def list_groups(
    status: Optional[str] = None,
    q: str = "",
    country: str = "",
    sort: str = "-created",
    page: int = 1,
) -> Pagination:
    """Groups for staff, filtered, searched (name, contact, city), sorted and paginated."""
    query = sa.select(Group)
    if status in {s.value for s in GroupStatus}:
        query = query.where(Group.status == GroupStatus(status))
    if country:
        query = query.where(Group.country == country)
    if q:
        like = f"%{q.strip().lower()}%"
        query = query.where(
            sa.or_(sa.func.lower(Group.name).like(like), sa.func.lower(Group.contact_name).like(like),
                   sa.func.lower(Group.city).like(like), sa.func.lower(Group.contact_email).like(like))
        )
    column = GROUP_SORTS.get(sort.lstrip("-"), Group.created_at)
    query = query.order_by(column.desc() if sort.startswith("-") else column.asc(), Group.id)
    return paginate(query, page)


def status_counts() -> dict[GroupStatus, int]:
    rows = db.session.execute(sa.select(Group.status, sa.func.count()).group_by(Group.status)).all()
    counts = {status: 0 for status in GroupStatus}
    counts.update(dict(rows))
    return counts


def countries() -> list[str]:
    return list(db.session.scalars(sa.select(Group.country).distinct().order_by(Group.country)))


def get_group(group_id: int) -> Optional[Group]:
    return db.session.get(Group, group_id)


def group_users(group: Group) -> list[User]:
    return list(db.session.scalars(sa.select(User).where(User.group_id == group.id).order_by(User.email)))
