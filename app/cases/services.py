"""Cases, their photos and outcome updates, campaigns (and which one is current), and a case's timeline.

Every change commits in one transaction with its audit event. A new photo is written to disk before
the commit and removed again if the commit fails; the old photo is removed only after it.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any, Optional

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from flask_babel import format_decimal, lazy_gettext, ngettext

from .. import audit
from ..extensions import db
from ..models import (
    MAILED_STATUSES,
    Campaign,
    Case,
    CaseStatus,
    CaseTranslation,
    Mailing,
    MailingStatus,
    OutcomeUpdate,
    PackSize,
    User,
)
from . import photos

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
MAX_TARGET = 100_000_000


class CaseError(ValueError):
    """A change was refused; `field` names the form field the message belongs to."""

    def __init__(self, message: str, field: Optional[str] = None):
        super().__init__(message)
        self.field = field


# --- Cases ---------------------------------------------------------------------------------------------

@dataclass
class CaseInput:
    campaign_id: int
    slug: str
    name: str
    country: str
    summary: str
    story: str
    ask: str
    what_to_write: str = ""
    authority_name: str = ""
    authority_address: str = ""
    authority_address_is_placeholder: bool = True
    solidarity_name: str = ""
    solidarity_address: str = ""
    solidarity_address_is_placeholder: bool = True
    target: int = 0
    position: int = 0
    photo_alt: str = ""


@dataclass
class Photo:
    data: bytes
    ext: str


AUDITED_CASE_FIELDS = [f for f in CaseInput.__dataclass_fields__] + ["photo_path", "status"]


def _case_snapshot(case: Case) -> dict[str, Any]:
    snap = {}
    for name in AUDITED_CASE_FIELDS:
        value = getattr(case, name)
        snap[name] = value.value if isinstance(value, CaseStatus) else value
    for long_text in ("story", "what_to_write", "authority_address", "solidarity_address"):
        if isinstance(snap.get(long_text), str) and len(snap[long_text]) > 200:
            snap[long_text] = snap[long_text][:200] + "…"
    return snap


def _check_case(data: CaseInput, case: Optional[Case] = None) -> None:
    if db.session.get(Campaign, data.campaign_id) is None:
        raise CaseError("Choose a campaign.", "campaign_id")
    if not SLUG.match(data.slug) or len(data.slug) > 80:
        raise CaseError("Use lower-case letters, digits and single hyphens, e.g. sonia-dahmani.", "slug")
    clash = db.session.scalar(sa.select(Case.id).where(Case.slug == data.slug))
    if clash is not None and (case is None or clash != case.id):
        raise CaseError("Another case already has this web address.", "slug")
    if not 0 <= data.target <= MAX_TARGET:
        raise CaseError(f"Enter a target from 0 to {MAX_TARGET:,}.", "target")
    if not -10_000 <= data.position <= 10_000:
        raise CaseError("Enter a display order from -10,000 to 10,000.", "position")


def _commit_with_photo(new_photo: Optional[str]) -> None:
    try:
        db.session.commit()
    except IntegrityError as error:
        db.session.rollback()
        photos.remove(new_photo)
        raise CaseError("Another case already has this web address.", "slug") from error
    except Exception:
        db.session.rollback()
        photos.remove(new_photo)
        raise


def create_case(data: CaseInput, photo: Optional[Photo], actor: User) -> Case:
    """Add a case (active) to a campaign. Commits."""
    _check_case(data)
    case = Case(**asdict(data), status=CaseStatus.ACTIVE)
    new_photo = photos.save(photo.data, photo.ext) if photo else None
    case.photo_path = new_photo
    db.session.add(case)
    db.session.flush()
    audit.record("case.created", case, actor=actor, after=_case_snapshot(case))
    _commit_with_photo(new_photo)
    return case


def update_case(case: Case, data: CaseInput, photo: Optional[Photo], remove_photo: bool, actor: User) -> Case:
    """Change every field of a case; replace or remove its photo. Commits, or changes nothing and raises."""
    _check_case(data, case)
    before = _case_snapshot(case)
    old_photo = case.photo_path
    new_photo = photos.save(photo.data, photo.ext) if photo else None
    for name, value in asdict(data).items():
        setattr(case, name, value)
    if new_photo:
        case.photo_path = new_photo
    elif remove_photo:
        case.photo_path = None
    after = _case_snapshot(case)
    changed = [k for k in after if after[k] != before[k]]
    if changed:
        audit.record("case.updated", case, actor=actor, before={k: before[k] for k in changed}, after={k: after[k] for k in changed})
    _commit_with_photo(new_photo)
    if old_photo and old_photo != case.photo_path:
        photos.remove(old_photo)
    return case


def set_case_status(case: Case, status: CaseStatus, actor: User) -> None:
    """Archive a case (no longer on the home page or the order form; its page stays) or restore it. Commits."""
    if case.status is status:
        return
    before = case.status
    case.status = status
    audit.record("case.archived" if status is CaseStatus.ARCHIVED else "case.restored", case, actor=actor,
                 before={"status": before.value}, after={"status": status.value})
    db.session.commit()


def get_case(case_id: int) -> Optional[Case]:
    return db.session.get(Case, case_id)


def campaign_named(campaigns: list[Campaign], wanted: str) -> Optional[Campaign]:
    """The campaign with the id typed in the URL, else the current one, else the latest."""
    from ..tracking.filters import parse_id

    wanted_id = parse_id(wanted)
    chosen = next((c for c in campaigns if c.id == wanted_id), None)
    return chosen or next((c for c in campaigns if c.is_current), campaigns[0] if campaigns else None)


def cases_of(campaign: Optional[Campaign]) -> list[Case]:
    if campaign is None:
        return []
    return list(db.session.scalars(
        sa.select(Case).where(Case.campaign_id == campaign.id).order_by(Case.status, Case.position, Case.id)
    ))


# --- Outcome updates -----------------------------------------------------------------------------------

def add_outcome(case: Case, happened_on: date, title: str, body: str, actor: User) -> OutcomeUpdate:
    """Post news about a case (shown on its public page). Commits."""
    if not title.strip():
        raise CaseError("Give the update a title.", "title")
    outcome = OutcomeUpdate(case_id=case.id, happened_on=happened_on, title=title.strip(), body=body.strip())
    db.session.add(outcome)
    db.session.flush()
    audit.record("outcome.posted", case, actor=actor, after={"outcome_id": outcome.id, "happened_on": happened_on.isoformat(), "title": outcome.title})
    db.session.commit()
    return outcome


def delete_outcome(outcome: OutcomeUpdate, actor: User) -> None:
    """Remove an update posted by mistake. Commits."""
    case = outcome.case
    audit.record("outcome.deleted", case, actor=actor, before={"outcome_id": outcome.id, "happened_on": outcome.happened_on.isoformat(), "title": outcome.title})
    db.session.delete(outcome)
    db.session.commit()


def get_outcome(case: Case, outcome_id: int) -> Optional[OutcomeUpdate]:
    outcome = db.session.get(OutcomeUpdate, outcome_id)
    return outcome if outcome is not None and outcome.case_id == case.id else None


# --- Timeline --------------------------------------------------------------------------------------------

@dataclass
class TimelineEntry:
    on: date
    kind: str  # "outcome" or "mailing"
    title: str
    body: str = ""
    mailing: Optional[Mailing] = None
    status: Optional[MailingStatus] = None


# The public timeline, in the page's language: whole sentences, so each language can order its words.
PUBLIC_DESTINATIONS = {
    "person": lazy_gettext("to %(name)s"), "family": lazy_gettext("to %(name)s's family"),
    "partner": lazy_gettext("to a partner organisation for %(name)s"),
    "embassy": lazy_gettext("to an embassy"), "authority": lazy_gettext("to the authorities"),
}
STEP_WORDS = {MailingStatus.PREPARED: "prepared", MailingStatus.SENT: "sent", MailingStatus.DELIVERED: "delivered",
              MailingStatus.ACKNOWLEDGED: "acknowledged as received"}
DATE_FIELDS = {MailingStatus.PREPARED: "prepared_on", MailingStatus.SENT: "sent_on",
               MailingStatus.DELIVERED: "delivered_on", MailingStatus.ACKNOWLEDGED: "acknowledged_on"}


def public_mailing_title(m: Mailing, status: MailingStatus, case_name: str) -> str:
    """"12,000 solidarity cards sent to Sonia Dahmani's family", in the current language."""
    n, num = m.quantity, format_decimal(m.quantity)
    solidarity = m.content.value == "solidarity"
    if status is MailingStatus.SENT:
        where = PUBLIC_DESTINATIONS[m.destination_type.value] % {"name": case_name}
        if solidarity:
            return ngettext("%(count)s solidarity card sent %(where)s", "%(count)s solidarity cards sent %(where)s",
                            n, count=num, where=where)
        return ngettext("%(count)s appeal letter sent %(where)s", "%(count)s appeal letters sent %(where)s",
                        n, count=num, where=where)
    if status is MailingStatus.DELIVERED:
        if solidarity:
            return ngettext("%(count)s solidarity card delivered", "%(count)s solidarity cards delivered", n, count=num)
        return ngettext("%(count)s appeal letter delivered", "%(count)s appeal letters delivered", n, count=num)
    if solidarity:
        return ngettext("%(count)s solidarity card acknowledged as received",
                        "%(count)s solidarity cards acknowledged as received", n, count=num)
    return ngettext("%(count)s appeal letter acknowledged as received",
                    "%(count)s appeal letters acknowledged as received", n, count=num)


def timeline(case: Case, public: bool) -> list[TimelineEntry]:
    """Outcome updates and each mailing step, newest first. Two queries.

    The public timeline shows only mailings that left the office, and never the destination's name,
    the carrier or the tracking number.
    """
    entries = [
        TimelineEntry(on=o.happened_on, kind="outcome", title=o.title, body=o.body)
        for o in db.session.scalars(sa.select(OutcomeUpdate).where(OutcomeUpdate.case_id == case.id))
    ]
    query = sa.select(Mailing).where(Mailing.case_id == case.id)
    if public:
        query = query.where(Mailing.status.in_(MAILED_STATUSES))
    for m in db.session.scalars(query):
        kind = "solidarity cards" if m.content.value == "solidarity" else "appeal letters"
        for status, field_name in DATE_FIELDS.items():
            on = getattr(m, field_name)
            if on is None or (public and status is MailingStatus.PREPARED):
                continue
            if public:
                title = public_mailing_title(m, status, case.name)
            else:
                title = f"{m.quantity:,} {kind} {STEP_WORDS[status]}"
                if status in (MailingStatus.PREPARED, MailingStatus.SENT):
                    title += f" → {m.destination}"
            entries.append(TimelineEntry(on=on, kind="mailing", title=title, mailing=None if public else m, status=status))
    entries.sort(key=lambda e: (e.on, e.kind == "mailing"), reverse=True)
    return entries


# --- Case texts in other languages ----------------------------------------------------------------------

TRANSLATED_LOCALES = ("fr", "es", "ar")  # English lives on the case itself


@dataclass
class TranslationInput:
    """A case's public texts in one language; empty optional fields show the English text."""

    summary: str
    ask: str
    story: str
    name: str = ""
    country: str = ""
    what_to_write: str = ""
    authority_name: str = ""
    solidarity_name: str = ""
    photo_alt: str = ""


TRANSLATION_LIMITS = {"name": 200, "country": 100, "summary": 500, "ask": 500, "story": 20_000,
                      "what_to_write": 20_000, "authority_name": 200, "solidarity_name": 200, "photo_alt": 300}


def get_translation(case: Case, locale: str) -> Optional[CaseTranslation]:
    return db.session.scalar(
        sa.select(CaseTranslation).where(CaseTranslation.case_id == case.id, CaseTranslation.locale == locale)
    )


def translations_of(case: Case) -> dict[str, CaseTranslation]:
    """The case's translations by locale."""
    return {t.locale: t for t in db.session.scalars(sa.select(CaseTranslation).where(CaseTranslation.case_id == case.id))}


def save_translation(case: Case, locale: str, data: TranslationInput, actor: User) -> CaseTranslation:
    """Add or change the case's texts in `locale`. Same rules as the English texts. Audited; commits."""
    if locale not in TRANSLATED_LOCALES:
        raise CaseError("Choose French, Spanish or Arabic.")
    for name in ("summary", "ask", "story"):
        if not getattr(data, name).strip():
            raise CaseError("This text is needed in every language.", name)
    for name, limit in TRANSLATION_LIMITS.items():
        if len(getattr(data, name)) > limit:
            raise CaseError(f"Keep this under {limit:,} characters.", name)
    translation = get_translation(case, locale)
    before = {} if translation is None else {k: getattr(translation, k) for k in TRANSLATION_LIMITS}
    if translation is None:
        translation = CaseTranslation(case_id=case.id, locale=locale)
        db.session.add(translation)
    for name, value in asdict(data).items():
        setattr(translation, name, value)
    after = {k: getattr(translation, k) for k in TRANSLATION_LIMITS}
    changed = [k for k in after if after[k] != before.get(k)]
    if changed:
        shorten = lambda v: v[:200] + "…" if isinstance(v, str) and len(v) > 200 else v  # noqa: E731
        audit.record("case.translation_saved", case, actor=actor, comment=locale,
                     before={k: shorten(before.get(k)) for k in changed}, after={k: shorten(after[k]) for k in changed})
    try:
        db.session.commit()
    except IntegrityError as error:  # someone else added this language at the same moment
        db.session.rollback()
        raise CaseError("Someone else saved this language just now: reload the page and try again.") from error
    return translation


def delete_translation(case: Case, locale: str, actor: User) -> bool:
    """Remove the case's texts in `locale` (the public pages show English again). Audited; commits."""
    translation = get_translation(case, locale)
    if translation is None:
        return False
    audit.record("case.translation_deleted", case, actor=actor, comment=locale,
                 before={"summary": translation.summary[:200]}, after={})
    db.session.delete(translation)
    db.session.commit()
    return True


def history(case: Case, limit: int = 20) -> list:
    """(event, actor's email) rows of the case's audit events, newest first."""
    from ..tracking.services import object_history

    return object_history("case", case.id, limit=limit)


# --- Campaigns ---------------------------------------------------------------------------------------------

@dataclass
class CampaignInput:
    slug: str
    name: str
    starts_on: date
    ends_on: date
    pack_sizes: list[int] = field(default_factory=list)


def campaigns() -> list[Campaign]:
    return list(db.session.scalars(sa.select(Campaign).order_by(Campaign.starts_on.desc(), Campaign.id.desc())))


def get_campaign(campaign_id: int) -> Optional[Campaign]:
    return db.session.get(Campaign, campaign_id)


def _check_campaign(data: CampaignInput, campaign: Optional[Campaign] = None) -> None:
    if not SLUG.match(data.slug) or len(data.slug) > 80:
        raise CaseError("Use lower-case letters, digits and single hyphens, e.g. w4r-2026.", "slug")
    clash = db.session.scalar(sa.select(Campaign.id).where(Campaign.slug == data.slug))
    if clash is not None and (campaign is None or clash != campaign.id):
        raise CaseError("Another campaign already has this short name.", "slug")
    if data.ends_on < data.starts_on:
        raise CaseError("The campaign cannot end before it starts.", "ends_on")
    if not data.pack_sizes:
        raise CaseError("Offer at least one pack size.", "pack_sizes")


def _set_pack_sizes(campaign: Campaign, sizes: list[int]) -> None:
    """Offer exactly `sizes`: add missing ones, reactivate or deactivate others (orders keep theirs)."""
    existing = {ps.cards: ps for ps in db.session.scalars(sa.select(PackSize).where(PackSize.campaign_id == campaign.id))}
    for cards, ps in existing.items():
        ps.active = cards in sizes
    for cards in sizes:
        if cards not in existing:
            db.session.add(PackSize(campaign_id=campaign.id, cards=cards, active=True))


def _campaign_snapshot(campaign: Campaign, sizes: list[int]) -> dict[str, Any]:
    return {"slug": campaign.slug, "name": campaign.name, "starts_on": campaign.starts_on.isoformat(),
            "ends_on": campaign.ends_on.isoformat(), "pack_sizes": sizes}


def active_sizes(campaign: Campaign) -> list[int]:
    return sorted(ps.cards for ps in campaign.pack_sizes if ps.active)


def create_campaign(data: CampaignInput, actor: User) -> Campaign:
    """Add a campaign (not current until staff switch to it). Commits."""
    _check_campaign(data)
    campaign = Campaign(slug=data.slug, name=data.name.strip(), starts_on=data.starts_on, ends_on=data.ends_on, is_current=False)
    db.session.add(campaign)
    db.session.flush()
    _set_pack_sizes(campaign, data.pack_sizes)
    audit.record("campaign.created", campaign, actor=actor, after=_campaign_snapshot(campaign, data.pack_sizes))
    try:
        db.session.commit()
    except IntegrityError as error:
        db.session.rollback()
        raise CaseError("Another campaign already has this short name.", "slug") from error
    return campaign


def update_campaign(campaign: Campaign, data: CampaignInput, actor: User) -> Campaign:
    """Change a campaign's names, dates and pack sizes. Commits."""
    _check_campaign(data, campaign)
    before = _campaign_snapshot(campaign, active_sizes(campaign))
    campaign.slug, campaign.name = data.slug, data.name.strip()
    campaign.starts_on, campaign.ends_on = data.starts_on, data.ends_on
    _set_pack_sizes(campaign, data.pack_sizes)
    after = _campaign_snapshot(campaign, sorted(data.pack_sizes))
    changed = [k for k in after if after[k] != before[k]]
    if changed:
        audit.record("campaign.updated", campaign, actor=actor, before={k: before[k] for k in changed}, after={k: after[k] for k in changed})
    try:
        db.session.commit()
    except IntegrityError as error:
        db.session.rollback()
        raise CaseError("Another campaign already has this short name.", "slug") from error
    return campaign


def make_current(campaign: Campaign, actor: User) -> None:
    """Make this the current campaign, in one transaction: unset the current one, then set this one
    (the database allows only one current campaign). Commits."""
    previous = db.session.scalar(sa.select(Campaign).where(Campaign.is_current.is_(True)))
    if previous is not None and previous.id == campaign.id:
        return
    db.session.execute(sa.update(Campaign).where(Campaign.is_current.is_(True)).values(is_current=False)
                       .execution_options(synchronize_session=False))
    db.session.execute(sa.update(Campaign).where(Campaign.id == campaign.id).values(is_current=True)
                       .execution_options(synchronize_session=False))
    audit.record("campaign.made_current", campaign, actor=actor,
                 before={"current": previous.slug if previous else None}, after={"current": campaign.slug})
    db.session.commit()
    db.session.expire_all()
