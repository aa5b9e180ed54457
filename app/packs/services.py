"""Packs: one per pack ordered, created when staff approve an order (in the same transaction)."""

from __future__ import annotations

from ..extensions import db
from ..models import Order, Pack
from .codes import new_code, new_token


def create_packs_for_order(order: Order) -> list[Pack]:
    """One Pack per pack on each line; the caller commits (so approval and packs land together)."""
    packs = [
        Pack(case_id=line.case_id, order_line_id=line.id, size=line.pack_size, token=new_token(), code=new_code())
        for line in order.lines
        for _ in range(line.packs)
    ]
    db.session.add_all(packs)
    db.session.flush()
    return packs
