"""Public figures: the current campaign, its cases and their live totals."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Optional

import sqlalchemy as sa

from ..extensions import db
from ..models import (
    MAILED_STATUSES,
    ORDERED_STATUSES,
    Campaign,
    Case,
    CaseStatus,
    Mailing,
    Order,
    OrderLine,
    Report,
)


@dataclass(frozen=True)
class CaseTotals:
    ordered: int = 0
    reported: int = 0
    mailed: int = 0


def current_campaign() -> Optional[Campaign]:
    """The campaign marked current, else the most recent one."""
    return db.session.scalars(
        sa.select(Campaign).order_by(Campaign.is_current.desc(), Campaign.starts_on.desc()).limit(1)
    ).first()


def public_cases(campaign: Campaign) -> list[Case]:
    """The campaign's active cases in display order."""
    return list(
        db.session.scalars(
            sa.select(Case)
            .where(Case.campaign_id == campaign.id, Case.status == CaseStatus.ACTIVE)
            .order_by(Case.position, Case.id)
        )
    )


def case_totals(case_ids: list[int]) -> dict[int, CaseTotals]:
    """Cards ordered (accepted orders), reported posted (not voided) and mailed, per case.

    Three grouped queries whatever the number of cases.
    """
    if not case_ids:
        return {}
    ordered = dict(
        db.session.execute(
            sa.select(OrderLine.case_id, sa.func.sum(OrderLine.packs * OrderLine.pack_size))
            .join(Order, Order.id == OrderLine.order_id)
            .where(OrderLine.case_id.in_(case_ids), Order.status.in_(ORDERED_STATUSES))
            .group_by(OrderLine.case_id)
        ).all()
    )
    reported = dict(
        db.session.execute(
            sa.select(Report.case_id, sa.func.sum(Report.cards))
            .where(Report.case_id.in_(case_ids), Report.voided.is_(False))
            .group_by(Report.case_id)
        ).all()
    )
    mailed = dict(
        db.session.execute(
            sa.select(Mailing.case_id, sa.func.sum(Mailing.quantity))
            .where(Mailing.case_id.in_(case_ids), Mailing.status.in_(MAILED_STATUSES))
            .group_by(Mailing.case_id)
        ).all()
    )
    return {
        case_id: CaseTotals(
            ordered=int(ordered.get(case_id) or 0),
            reported=int(reported.get(case_id) or 0),
            mailed=int(mailed.get(case_id) or 0),
        )
        for case_id in case_ids
    }


def days_left(campaign: Campaign, today: Optional[date] = None) -> int:
    """Whole days until the campaign ends, counting today; 0 once it is over."""
    today = today or date.today()
    return max(0, (campaign.ends_on - today).days + 1)


def get_public_case(slug: str) -> Optional[Case]:
    """An active or archived case by slug (archived cases keep their public page)."""
    return db.session.scalars(sa.select(Case).where(Case.slug == slug)).first()
