"""The staff overview: what needs doing now."""

from __future__ import annotations

import sqlalchemy as sa

from ..extensions import db
from ..groups.services import status_counts
from ..models import GroupStatus, Order, OrderStatus
from ..public.services import current_campaign
from ..stock import services as stock
from ..tracking import stats


def overview() -> dict:
    campaign = current_campaign()
    counts = {s: 0 for s in OrderStatus}
    if campaign is not None:
        counts.update(dict(db.session.execute(
            sa.select(Order.status, sa.func.count(Order.id)).where(Order.campaign_id == campaign.id).group_by(Order.status)
        ).all()))
    return {
        "campaign": campaign,
        "order_counts": {status.value: n for status, n in counts.items()},
        "pending_groups": status_counts()[GroupStatus.PENDING],
        "low_stock": [row for row in stock.overview() if row.low],
        "figures": stats.overview(stats.resolve(stats.NO_FILTERS)).totals if campaign is not None else None,
    }
