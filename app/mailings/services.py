"""Mailings: batches of collected cards that staff forward to a case.

Status moves only forward, one step at a time: prepared → sent → delivered → acknowledged, each step
with its date, each an audit event, each a conditional UPDATE (two people acting at once cannot both
move it). Skipping a step is refused: every date on the public timeline is then a real one.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Optional

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_sqlalchemy.pagination import Pagination

from .. import audit
from ..extensions import db
from ..webhooks import services as webhooks
from ..models import (
    Campaign,
    Case,
    Mailing,
    MailingContent,
    MailingDestination,
    MailingStatus,
    Pack,
    User,
)
from ..pagination import paginate

M = MailingStatus
NEXT: dict[MailingStatus, MailingStatus] = {M.PREPARED: M.SENT, M.SENT: M.DELIVERED, M.DELIVERED: M.ACKNOWLEDGED}
DATE_FIELDS: dict[MailingStatus, str] = {
    M.PREPARED: "prepared_on", M.SENT: "sent_on", M.DELIVERED: "delivered_on", M.ACKNOWLEDGED: "acknowledged_on",
}
STATUS_VERBS = {M.PREPARED: "Prepared", M.SENT: "Sent", M.DELIVERED: "Delivered", M.ACKNOWLEDGED: "Acknowledged"}
CONTENT_LABELS = {MailingContent.SOLIDARITY: "Solidarity cards", MailingContent.APPEALS: "Appeal letters"}
DESTINATION_LABELS = {
    MailingDestination.PERSON: "The person",
    MailingDestination.FAMILY: "Their family",
    MailingDestination.PARTNER: "A partner organisation",
    MailingDestination.EMBASSY: "An embassy",
    MailingDestination.AUTHORITY: "The authorities",
}
MAX_QUANTITY = 10_000_000
MAX_PACKS = 1000


class MailingError(ValueError):
    """A mailing change was refused; `field` names the form field the message belongs to."""

    def __init__(self, message: str, field: Optional[str] = None):
        super().__init__(message)
        self.field = field


@dataclass
class MailingInput:
    """Validated form input for a mailing (status and its dates move only through `advance`)."""

    case_id: int
    quantity: int
    content: MailingContent
    destination_type: MailingDestination
    destination: str
    carrier: str = ""
    tracking_number: str = ""
    prepared_on: Optional[date] = None
    notes: str = ""
    pack_codes: list[str] = field(default_factory=list)


def next_status(mailing: Mailing) -> Optional[MailingStatus]:
    return NEXT.get(mailing.status)


# Free text may name people (a family member, a partner's contact): audit events record only that it
# changed, via a short fingerprint, never the text itself.
FREE_TEXT = ("destination", "tracking_number", "notes")


def _fingerprint(text: str) -> str:
    return "(empty)" if not text else "text#" + hashlib.sha256(text.encode()).hexdigest()[:8]


def _snapshot(mailing: Mailing) -> dict[str, Any]:
    return {
        "case_id": mailing.case_id, "quantity": mailing.quantity, "content": mailing.content.value,
        "destination_type": mailing.destination_type.value, "carrier": mailing.carrier,
        "status": mailing.status.value, "prepared_on": mailing.prepared_on.isoformat() if mailing.prepared_on else None,
        "packs": sorted(p.code for p in mailing.packs),
        **{name: _fingerprint(getattr(mailing, name)) for name in FREE_TEXT},
    }


def _packs_for(codes: list[str], case_id: int) -> list[Pack]:
    if not codes:
        return []
    if len(codes) > MAX_PACKS:
        raise MailingError(f"Link at most {MAX_PACKS:,} packs to one mailing.", "pack_codes")
    packs = list(db.session.scalars(sa.select(Pack).where(Pack.code.in_(codes))))
    found = {p.code for p in packs}
    missing = [c for c in codes if c not in found]
    if missing:
        raise MailingError("No pack has the code " + ", ".join(missing[:5]) + ("…" if len(missing) > 5 else "") + ".", "pack_codes")
    other = [p.code for p in packs if p.case_id != case_id]
    if other:
        raise MailingError("These packs are for another case: " + ", ".join(other[:5]) + ".", "pack_codes")
    return packs


def _check(data: MailingInput) -> Case:
    case = db.session.get(Case, data.case_id)
    if case is None:
        raise MailingError("Choose a case.", "case_id")
    if not 0 < data.quantity <= MAX_QUANTITY:
        raise MailingError(f"Enter 1 to {MAX_QUANTITY:,} cards.", "quantity")
    if not data.destination.strip():
        raise MailingError("Say where the cards go.", "destination")
    return case


def create(data: MailingInput, actor: User) -> Mailing:
    """Record a prepared mailing (optionally linked to packs). Commits."""
    _check(data)
    packs = _packs_for(data.pack_codes, data.case_id)
    mailing = Mailing(
        case_id=data.case_id, quantity=data.quantity, content=data.content, destination_type=data.destination_type,
        destination=data.destination.strip(), carrier=data.carrier.strip(), tracking_number=data.tracking_number.strip(),
        status=M.PREPARED, prepared_on=data.prepared_on or date.today(), notes=data.notes.strip(), created_by_id=actor.id,
    )
    mailing.packs = packs
    db.session.add(mailing)
    db.session.flush()
    audit.record("mailing.created", mailing, actor=actor, after=_snapshot(mailing))
    db.session.commit()
    return mailing


def update(mailing: Mailing, data: MailingInput, actor: User) -> Mailing:
    """Change a mailing's details (not its status). Commits, or changes nothing and raises."""
    _check(data)
    if data.prepared_on and mailing.sent_on and data.prepared_on > mailing.sent_on:
        raise MailingError("It cannot be prepared after it was sent.", "prepared_on")
    packs = _packs_for(data.pack_codes, data.case_id)
    before = _snapshot(mailing)
    mailing.case_id = data.case_id
    mailing.quantity = data.quantity
    mailing.content = data.content
    mailing.destination_type = data.destination_type
    mailing.destination = data.destination.strip()
    mailing.carrier = data.carrier.strip()
    mailing.tracking_number = data.tracking_number.strip()
    mailing.prepared_on = data.prepared_on or mailing.prepared_on
    mailing.notes = data.notes.strip()
    mailing.packs = packs
    after = _snapshot(mailing)
    changed = [k for k in after if after[k] != before[k]]
    if changed:
        audit.record("mailing.updated", mailing, actor=actor, before={k: before[k] for k in changed}, after={k: after[k] for k in changed})
    db.session.commit()
    return mailing


def advance(mailing: Mailing, to: MailingStatus, on: date, actor: User, today: Optional[date] = None) -> None:
    """Move one step forward (prepared → sent → delivered → acknowledged) on date `on`. Commits.

    Refused: going back, staying, skipping a step, a date before the previous step's or in the future.
    """
    today = today or date.today()
    frm = mailing.status
    expected = NEXT.get(frm)
    if expected is None:
        raise MailingError("This mailing is acknowledged: there is no further step.")
    if to is not expected:
        if list(M).index(to) <= list(M).index(frm):
            raise MailingError(f"A mailing that is {frm.value} cannot go back to {to.value}.")
        raise MailingError(f"Mark it {expected.value} first: steps cannot be skipped.")
    previous = getattr(mailing, DATE_FIELDS[frm])
    if previous and on < previous:
        raise MailingError(f"The date cannot be before it was {frm.value} ({previous.strftime('%-d %B %Y')}).", "on")
    if on > today:
        raise MailingError("The date cannot be in the future.", "on")
    result = db.session.execute(
        sa.update(Mailing).where(Mailing.id == mailing.id, Mailing.status == frm)
        .values(status=to, **{DATE_FIELDS[to]: on}).execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.rollback()
        raise MailingError("Someone else changed this mailing meanwhile: reload the page and try again.")
    mailing.status = to
    setattr(mailing, DATE_FIELDS[to], on)
    audit.record("mailing.status_changed", mailing, actor=actor,
                 before={"status": frm.value}, after={"status": to.value, DATE_FIELDS[to]: on.isoformat()})
    webhooks.emit("mailing.status_changed", {"mailing_id": mailing.id, "case_id": mailing.case_id, "quantity": mailing.quantity,
                                             "from": frm.value, "to": to.value, "on": on.isoformat()})
    db.session.commit()


def delete(mailing: Mailing, actor: User) -> None:
    """Delete a mailing recorded by mistake, only while it is prepared (it never counted). Commits."""
    if mailing.status is not M.PREPARED:
        raise MailingError("Only a prepared mailing can be deleted; this one has left the office.")
    audit.record("mailing.deleted", mailing, actor=actor, before=_snapshot(mailing))
    db.session.delete(mailing)
    db.session.commit()


# --- Reading -------------------------------------------------------------------------------------

def get(mailing_id: int) -> Optional[Mailing]:
    return db.session.get(Mailing, mailing_id)


def case_choices() -> list[Case]:
    """Cases to mail to: the current campaign's first, then earlier ones (cards arrive late)."""
    return list(db.session.scalars(
        sa.select(Case).join(Campaign, Campaign.id == Case.campaign_id)
        .options(so.contains_eager(Case.campaign))
        .order_by(Campaign.is_current.desc(), Campaign.starts_on.desc(), Case.position, Case.id)
    ))


SORTS = {"created": Mailing.id, "prepared": Mailing.prepared_on, "sent": Mailing.sent_on, "quantity": Mailing.quantity,
         "status": Mailing.status}


@dataclass
class ListFilters:
    campaign_id: Optional[int] = None
    case_id: Optional[int] = None
    status: Optional[MailingStatus] = None
    destination_type: Optional[MailingDestination] = None
    q: str = ""
    sort: str = "-created"
    page: int = 1


def list_mailings(filters: ListFilters) -> Pagination:
    """Mailings, filtered, searched (destination, carrier, tracking number), sorted and paginated."""
    query = sa.select(Mailing).join(Case, Case.id == Mailing.case_id).options(so.contains_eager(Mailing.case))
    if filters.campaign_id:
        query = query.where(Case.campaign_id == filters.campaign_id)
    if filters.case_id:
        query = query.where(Mailing.case_id == filters.case_id)
    if filters.status:
        query = query.where(Mailing.status == filters.status)
    if filters.destination_type:
        query = query.where(Mailing.destination_type == filters.destination_type)
    if filters.q:
        like = "%" + filters.q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(sa.or_(*[sa.func.lower(c).like(like, escape="\\") for c in
                                     (Mailing.destination, Mailing.carrier, Mailing.tracking_number, Case.name)]))
    key = filters.sort.lstrip("-")
    column = SORTS.get(key, Mailing.id)
    descending = filters.sort.startswith("-") if key in SORTS else True
    query = query.order_by((column.desc() if descending else column.asc()).nulls_last(), Mailing.id.desc())
    return paginate(query, filters.page)


def campaigns() -> list[Campaign]:
    return list(db.session.scalars(sa.select(Campaign).order_by(Campaign.starts_on.desc())))


def history(mailing: Mailing) -> list:
    """(event, actor's email) rows of the mailing's audit events, oldest first."""
    from ..tracking.services import object_history

    return object_history("mailing", mailing.id, newest_first=False)
