"""Public figures: the current campaign, its cases and their live totals."""

from __future__ import annotations

from datetime import date
from typing import Optional

import sqlalchemy as sa
from markupsafe import Markup

from ..extensions import db
from ..models import Campaign, Case, CaseStatus, CaseTranslation
from ..tracking import stats
from ..tracking.stats import CaseTotals

__all__ = ["CaseTotals", "LocalizedCase", "case_totals", "current_campaign", "public_cases", "public_timeline", "days_left",
           "get_public_case", "localize", "localize_all"]


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


class LocalizedCase:
    """A case as the public sees it in one language: the texts staff translated, English where a
    field is empty or there is no translation; every other attribute is the case's own."""

    def __init__(self, case: Case, translation: Optional[CaseTranslation], locale: str = "en"):
        self._case = case
        self._translation = translation
        self._locale = locale

    def __getattr__(self, name: str):
        translation = self.__dict__["_translation"]
        if translation is not None and name in CaseTranslation.TEXT_FIELDS:
            value = getattr(translation, name)
            if value and value.strip():
                return value
        return getattr(self.__dict__["_case"], name)

    def is_translated(self, field: str) -> bool:
        """True when `field` shows a translation (False: the English text, as a fallback)."""
        return self._translation is not None and bool((getattr(self._translation, field) or "").strip())

    def lang_attrs(self, field: str) -> Markup:
        """` lang="en" dir="ltr"` on an element showing this field's English text in a page of another
        language (screen readers switch voice; English stays left to right in an Arabic page)."""
        if self._locale == "en" or self.is_translated(field):
            return Markup("")
        return Markup(' lang="en" dir="ltr"')

    def __repr__(self) -> str:
        locale = self._translation.locale if self._translation is not None else "en"
        return f"<LocalizedCase {self._case.slug} {locale}>"


def localize_all(cases: list[Case], locale: str) -> list[LocalizedCase]:
    """The cases in `locale` (one query; none for English)."""
    by_case: dict[int, CaseTranslation] = {}
    if locale != "en" and cases:
        by_case = {
            t.case_id: t
            for t in db.session.scalars(
                sa.select(CaseTranslation).where(
                    CaseTranslation.case_id.in_([c.id for c in cases]), CaseTranslation.locale == locale
                )
            )
        }
    return [LocalizedCase(c, by_case.get(c.id), locale) for c in cases]


def localize(case: Case, locale: str) -> LocalizedCase:
    """One case in `locale`, English where it has no translation."""
    return localize_all([case], locale)[0]
