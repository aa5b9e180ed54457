"""Load the campaigns and cases from the data file in the repo. Idempotent: only adds what is missing."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from .extensions import db
from .models import Campaign, Case, CaseStatus, CaseTranslation, OutcomeUpdate, PackSize

DATA_FILE = Path(__file__).parent / "data" / "campaigns.json"
CURRENT_CAMPAIGN_SLUG = "w4r-2025"


@dataclass
class SeedResult:
    campaigns: int = 0
    cases: int = 0
    outcomes: int = 0
    pack_sizes: int = 0
    translations: int = 0

    @property
    def changed(self) -> bool:
        return any((self.campaigns, self.cases, self.outcomes, self.pack_sizes, self.translations))


def load_data(path: Path = DATA_FILE) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        return json.load(handle)


def seed(data: dict[str, Any] | None = None) -> SeedResult:
    """Insert missing campaigns, cases, outcome updates and pack sizes; never overwrite staff edits.

    The data file's current campaign becomes current only when no campaign is current yet, so a
    campaign staff switched to stays current. Commits once.
    """
    data = data or load_data()
    result = SeedResult()
    for c_data in data["campaigns"]:
        campaign = db.session.scalar(sa.select(Campaign).where(Campaign.slug == c_data["slug"]))
        if campaign is None:
            campaign = Campaign(
                slug=c_data["slug"],
                name=c_data["name"],
                starts_on=date.fromisoformat(c_data["starts_on"]),
                ends_on=date.fromisoformat(c_data["ends_on"]),
                is_current=False,
            )
            db.session.add(campaign)
            db.session.flush()
            result.campaigns += 1
        existing_sizes = set(
            db.session.scalars(sa.select(PackSize.cards).where(PackSize.campaign_id == campaign.id))
        )
        for cards in c_data.get("pack_sizes", []):
            if cards not in existing_sizes:
                db.session.add(PackSize(campaign_id=campaign.id, cards=cards))
                result.pack_sizes += 1
        for position, case_data in enumerate(c_data["cases"], start=1):
            result.cases += _seed_case(campaign, position, case_data, result)
    current_slug = next((c["slug"] for c in data["campaigns"] if c.get("current")), None)
    has_current = db.session.scalar(sa.select(Campaign.id).where(Campaign.is_current.is_(True)))
    if current_slug and has_current is None:
        db.session.execute(
            sa.update(Campaign).where(Campaign.slug == current_slug).values(is_current=True)
        )
    db.session.commit()
    return result


def _seed_case(campaign: Campaign, position: int, data: dict[str, Any], result: SeedResult) -> int:
    case = db.session.scalar(sa.select(Case).where(Case.slug == data["slug"]))
    created = 0
    if case is None:
        case = Case(
            campaign_id=campaign.id,
            slug=data["slug"],
            name=data["name"],
            country=data["country"],
            summary=data["summary"],
            story=data["story"],
            ask=data["ask"],
            what_to_write=data.get("what_to_write", ""),
            authority_name=data.get("authority_name", ""),
            authority_address=data.get("authority_address", ""),
            authority_address_is_placeholder=not data.get("authority_address"),
            solidarity_name=data.get("solidarity_name", ""),
            solidarity_address=data.get("solidarity_address", ""),
            solidarity_address_is_placeholder=not data.get("solidarity_address"),
            target=data.get("target", 0),
            status=CaseStatus(data.get("status", "active")),
            position=position,
        )
        db.session.add(case)
        db.session.flush()
        created = 1
    known = set(
        db.session.execute(
            sa.select(OutcomeUpdate.happened_on, OutcomeUpdate.title).where(OutcomeUpdate.case_id == case.id)
        ).all()
    )
    for outcome in data.get("outcomes", []):
        key = (date.fromisoformat(outcome["happened_on"]), outcome["title"])
        if key not in known:
            db.session.add(
                OutcomeUpdate(case_id=case.id, happened_on=key[0], title=key[1], body=outcome.get("body", ""))
            )
            result.outcomes += 1
    # Texts in other languages: only languages the case has none in yet (staff edits are kept).
    have = set(db.session.scalars(sa.select(CaseTranslation.locale).where(CaseTranslation.case_id == case.id)))
    for locale, texts in data.get("translations", {}).items():
        if locale not in have:
            fields = {k: texts.get(k, "") for k in CaseTranslation.TEXT_FIELDS}
            db.session.add(CaseTranslation(case_id=case.id, locale=locale, **fields))
            result.translations += 1
    return created
