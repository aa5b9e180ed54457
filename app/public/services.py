"""Public figures: the current campaign, its cases and their live totals."""

from __future__ import annotations

from datetime import date
from typing import Optional

import sqlalchemy as sa

from ..extensions import db
from ..models import Campaign, Case, CaseStatus
from ..tracking import stats
from ..tracking.stats import CaseTotals

__all__ = ["CaseTotals", "case_totals", "current_campaign", "public_cases", "public_timeline", "days_left", "get_public_case"]


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
    """Cards ordered, dispatched, reported posted and mailed per case: the one definition in
    `app.tracking.stats`, so these public figures equal the dashboard's. Three grouped queries."""
    return stats.case_totals(case_ids)


def public_timeline(case: Case) -> list:
    """Outcome updates and mailings that left the office, newest first, without tracking details."""
    from ..cases.services import timeline

    return timeline(case, public=True)


def days_left(campaign: Campaign, today: Optional[date] = None) -> int:
    """Whole days until the campaign ends, counting today; 0 once it is over."""
    today = today or date.today()
    return max(0, (campaign.ends_on - today).days + 1)


def get_public_case(slug: str) -> Optional[Case]:
    """An active or archived case by slug (archived cases keep their public page)."""
    return db.session.scalars(sa.select(Case).where(Case.slug == slug)).first()
