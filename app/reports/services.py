"""Reports: "N cards from this pack were posted". The campaign's headline figure, so it must be exact.

- `record_report` inserts the report row and bumps the pack's counter with ONE conditional UPDATE
  (`cards_posted = cards_posted + k WHERE id = :id AND cards_posted + k <= size`) in the same
  transaction: concurrent writers can neither lose a count nor push a pack past its size, on SQLite
  (writers queue on BEGIN IMMEDIATE) and PostgreSQL (the UPDATE re-checks its WHERE on the row it locks).
- Idempotency: every report carries a key (a fresh one per page load, or the API's `Idempotency-Key`).
  The same key again answers with the first report and adds nothing; the same key with another body is
  refused (KeyConflict → 422). Two requests with one key at the same moment: the database's unique
  constraint lets one in; the other rolls back and answers from the winner's row.
- Staff void or correct a report; the counter follows in the same transaction; both are audited.

Services own their transaction (they commit or roll back) and never touch `request`: the pack page,
the scan station and the API all call these.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Optional, Union

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import gettext, ngettext
from sqlalchemy.exc import IntegrityError

from .. import audit, database
from ..extensions import db
from ..webhooks import services as webhooks
from ..models import Case, OrderLine, Pack, Report, ReportDay, ReportSource, User, utcnow
from ..packs import codes
from ..tracking import stats

MAX_CARDS = 1000  # the largest pack (and the report table's CHECK)
MAX_KEY_LENGTH = 100
MAX_REASON_LENGTH = 500


class ReportError(ValueError):
    """A report (or a change to one) was refused; the message is for people."""


class TooManyCards(ReportError):
    """More cards than the pack has left: nothing was saved."""

    def __init__(self, cards_left: int, size: int):
        self.cards_left = cards_left
        self.size = size
        # Messages for people, in the page's language (English for staff and the API).
        if cards_left <= 0:
            message = ngettext("The %(num)s card of this pack has already been reported. Thank you!",
                               "All %(num)s cards of this pack have already been reported. Thank you!", size)
        elif cards_left == 1:
            message = gettext("Only 1 card is left in this pack: enter 1.")
        else:
            message = ngettext("Only %(num)s card is left in this pack: enter %(num)s or fewer.",
                               "Only %(num)s cards are left in this pack: enter %(num)s or fewer.", cards_left)
        super().__init__(message)


class KeyConflict(ReportError):
    """This idempotency key was already used for a different report."""


@dataclass(frozen=True)
class Recorded:
    """The answer to a report: the row that counts, and whether this request was a replay of it."""

    report: Report
    replayed: bool = False


@dataclass(frozen=True)
class PackTotals:
    """What the thanks message shows: this pack's and this case's running totals."""

    pack_posted: int
    pack_size: int
    case_reported: int

    @property
    def pack_left(self) -> int:
        return self.pack_size - self.pack_posted


@dataclass(frozen=True)
class PackView:
    """A pack as the volunteer's page and the report endpoints use it: read with one Core query (no ORM
    entities, identity map or lazy loads), the case's columns as plain attributes on `case`."""

    id: int
    case_id: int
    token: str
    code: str
    size: int
    cards_posted: int
    case: SimpleNamespace

    @property
    def cards_left(self) -> int:
        return self.size - self.cards_posted


AnyPack = Union[Pack, PackView]


# --- Statements of the hot paths, built once (Core on the tables where no ORM object is needed) ---

_PACK_T, _REPORT_T = Pack.__table__, Report.__table__
_PACK_BY_TOKEN = sa.select(Pack).options(so.joinedload(Pack.case)).where(Pack.token == sa.bindparam("token"))
_CASE_T = Case.__table__
_PACK_VIEW_COLUMNS = ("id", "case_id", "token", "code", "size", "cards_posted")
_CASE_COLUMNS = tuple(column.name for column in _CASE_T.columns)
_PACK_VIEW_BY_TOKEN = (
    sa.select(*(_PACK_T.c[name] for name in _PACK_VIEW_COLUMNS), *_CASE_T.columns)
    .select_from(_PACK_T.join(_CASE_T, _CASE_T.c.id == _PACK_T.c.case_id))
    .where(_PACK_T.c.token == sa.bindparam("token"))
)
_REPORT_BY_KEY = sa.select(Report).where(Report.idempotency_key == sa.bindparam("key"))
_KEY_USED = sa.select(_REPORT_T.c.id).where(_REPORT_T.c.idempotency_key == sa.bindparam("key"))
_PACK_COUNTS = sa.select(_PACK_T.c.cards_posted, _PACK_T.c.size).where(_PACK_T.c.id == sa.bindparam("pack_id"))
# The counter moves only by this conditional UPDATE: it fits, or nothing changes (rowcount 0).
_BUMP = (
    sa.update(_PACK_T)
    .where(_PACK_T.c.id == sa.bindparam("pack_id"), _PACK_T.c.cards_posted + sa.bindparam("cards") <= _PACK_T.c.size)
    .values(cards_posted=_PACK_T.c.cards_posted + sa.bindparam("cards"))
)
_INSERT_REPORT = sa.insert(_REPORT_T)


@functools.cache
def _case_reported_statement() -> sa.Select:
    """A case's reported cards, by the dashboard's definition (`stats.reports_select`: the per-day counters)."""
    return stats.reports_select(None, stats.NO_FILTERS).where(ReportDay.case_id == sa.bindparam("case_id"))


# --- Finding packs --------------------------------------------------------------------------------

def find_pack_by_token(text: str) -> Optional[Pack]:
    """The pack whose secret token this is (any case; I/L/O read as 1/1/0), with its case, else None.

    A reissued pack has a new token, so its old one finds nothing. One query (the case is joined).
    """
    token = codes.normalise(text or "")
    if len(token) != codes.TOKEN_LENGTH:
        return None
    return db.session.scalar(_PACK_BY_TOKEN, {"token": token})


def find_pack_view(text: str) -> Optional[PackView]:
    """`find_pack_by_token` for the hot paths (the pack page, reports): the same pack and case columns
    in one Core query, as plain values. The read transaction it opens stays open like the ORM's."""
    token = codes.normalise(text or "")
    if len(token) != codes.TOKEN_LENGTH:
        return None
    row = db.session.execute(_PACK_VIEW_BY_TOKEN, {"token": token}).first()
    if row is None:
        return None
    split = len(_PACK_VIEW_COLUMNS)
    return PackView(*row[:split], case=SimpleNamespace(**dict(zip(_CASE_COLUMNS, row[split:]))))


def find_pack_by_code(text: str) -> Optional[Pack]:
    """The pack with this printed short code, else None; InvalidCode / CheckSymbolMismatch for bad input."""
    code = codes.parse_code(text or "")
    return db.session.scalar(sa.select(Pack).where(Pack.code == code))


def find_report_by_key(key: str) -> Optional[Report]:
    return db.session.scalar(_REPORT_BY_KEY, {"key": key})


def totals_for(pack: AnyPack) -> PackTotals:
    """The pack's posted count and the case's reported total (the dashboard's definition), read fresh."""
    return pack_totals(pack.id, pack.case_id)


def pack_totals(pack_id: int, case_id: int) -> PackTotals:
    """`totals_for` by ids (no pack object to refresh)."""
    posted, size = db.session.execute(_PACK_COUNTS, {"pack_id": pack_id}).one()
    reported = db.session.scalar(_case_reported_statement(), {"case_id": case_id})
    return PackTotals(pack_posted=posted, pack_size=size, case_reported=int(reported or 0))


# --- Recording --------------------------------------------------------------------------------------

def _check_cards(cards: int) -> None:
    if isinstance(cards, bool) or not isinstance(cards, int) or not 1 <= cards <= MAX_CARDS:
        raise ReportError(gettext("Enter a whole number of cards from 1 to %(max)s.", max=MAX_CARDS))


def _check_key(key: str) -> str:
    key = (key or "").strip()
    if not key or len(key) > MAX_KEY_LENGTH:
        raise ReportError(gettext("This report has no valid idempotency key: reload the page and try again."))
    return key


def _replay(existing: Report, pack_id: int, cards: int) -> Recorded:
    """The first answer for a repeated key, or KeyConflict when the body differs."""
    if existing.pack_id != pack_id or existing.cards != cards:
        raise KeyConflict(ngettext(
            "This report was already sent with %(num)s card. Reload the page to report more cards.",
            "This report was already sent with %(num)s cards. Reload the page to report more cards.",
            existing.cards,
        ))
    return Recorded(existing, replayed=True)


def _bump(pack_id: int, cards: int) -> bool:
    """Add `cards` to the pack's counter if they fit: one atomic conditional UPDATE. True if it did."""
    return db.session.execute(_BUMP, {"pack_id": pack_id, "cards": cards}).rowcount == 1


def _refuse_too_many(pack_id: int) -> TooManyCards:
    """Read what is left inside the failed transaction, then roll it back."""
    posted, size = db.session.execute(_PACK_COUNTS, {"pack_id": pack_id}).one()
    db.session.rollback()
    return TooManyCards(size - posted, size)


def record_report(
    pack: AnyPack,
    cards: int,
    source: ReportSource,
    idempotency_key: str,
    actor: Optional[User] = None,
) -> Recorded:
    """Record that `cards` cards of `pack` were posted, exactly once per idempotency key. Commits.

    Reads first (a replayed key, the webhooks to notify), then ends that read transaction and writes in
    one short transaction: the conditional UPDATE of the counter, the report row, its webhook
    deliveries. On SQLite only that transaction holds the write lock (see `database.reads_first`).
    The caller's session is rolled back first: pass no pending changes in.

    Raises TooManyCards (nothing saved) when they do not fit, KeyConflict when the key was used for
    another report, ReportError for invalid input.
    """
    _check_cards(cards)
    key = _check_key(idempotency_key)
    pack_id, case_id = pack.id, pack.case_id
    actor_id = actor.id if actor else None

    # A replay is rare: a Core look-up of the key first, the ORM report only when it was used.
    used = db.session.execute(_KEY_USED, {"key": key}).first() is not None
    existing = find_report_by_key(key) if used else None
    if existing is not None:
        try:
            return _replay(existing, pack_id, cards)
        finally:
            db.session.rollback()  # nothing to write; end the transaction
    hook_ids = webhooks.subscribers("report.recorded")
    db.session.rollback()  # end the read transaction before taking the write lock

    created_at = utcnow()
    try:
        with database.write_transaction():
            if not _bump(pack_id, cards):
                raise _refuse_too_many(pack_id)
            result = db.session.execute(_INSERT_REPORT, {
                "pack_id": pack_id, "case_id": case_id, "cards": cards, "source": source, "idempotency_key": key,
                "created_at": created_at, "created_by_id": actor_id, "voided": False, "void_reason": "",
            })
            report_id = result.inserted_primary_key[0]
            webhooks.queue(hook_ids, "report.recorded", {"report_id": report_id, "pack_id": pack_id,
                                                         "case_id": case_id, "cards": cards, "source": source.value})
            db.session.commit()
    except IntegrityError:
        # Another request with the same key committed first (its INSERT won the unique index).
        db.session.rollback()
        existing = find_report_by_key(key)
        db.session.rollback()
        if existing is None:
            raise
        return _replay(existing, pack_id, cards)
    # The row as written, without reading it back: a persistent object with nothing to load.
    report = Report(id=report_id, pack_id=pack_id, case_id=case_id, cards=cards, source=source,
                    idempotency_key=key, created_at=created_at, created_by_id=actor_id, voided=False,
                    voided_at=None, voided_by_id=None, void_reason="", corrects_id=None)
    so.make_transient_to_detached(report)
    db.session.add(report)
    return Recorded(report)


# --- Staff: void and correct ------------------------------------------------------------------------

def _check_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ReportError("Give a reason.")
    if len(reason) > MAX_REASON_LENGTH:
        raise ReportError(f"Keep the reason under {MAX_REASON_LENGTH} characters.")
    return reason


def _void(report: Report, actor: User, reason: str) -> tuple[int, int]:
    """Mark the report void (only if it still counts) and take its cards off the pack, in the caller's
    transaction. Returns (pack_id, cards)."""
    report_id, pack_id, cards = report.id, report.pack_id, report.cards
    # Lock the pack and its order line first (PostgreSQL; SQLite writers are serialised): the order in
    # which `record_report` reaches them, before the day counters the report's trigger updates, so
    # concurrent writers queue instead of deadlocking, and a second void waits for the first.
    db.session.execute(sa.select(Pack.id).where(Pack.id == pack_id).with_for_update())
    db.session.execute(
        sa.select(OrderLine.id).join(Pack, Pack.order_line_id == OrderLine.id).where(Pack.id == pack_id)
        .with_for_update(of=OrderLine)
    )
    voided = db.session.execute(
        sa.update(Report)
        .where(Report.id == report_id, Report.voided.is_(False))
        .values(voided=True, voided_at=utcnow(), voided_by_id=actor.id, void_reason=reason)
        .execution_options(synchronize_session=False)
    ).rowcount
    if voided != 1:
        db.session.rollback()
        raise ReportError("This report was already voided.")
    db.session.execute(
        sa.update(Pack)
        .where(Pack.id == pack_id)
        .values(cards_posted=Pack.cards_posted - cards)
        .execution_options(synchronize_session=False)
    )
    return pack_id, cards


def void_report(report: Report, actor: User, reason: str) -> Report:
    """Void a report: it no longer counts and the pack's count goes down by its cards. Audited. Commits."""
    reason = _check_reason(reason)
    _, cards = _void(report, actor, reason)
    audit.record(
        "report.voided", report, actor=actor,
        before={"voided": False, "cards": cards}, after={"voided": True, "cards": cards}, comment=reason,
    )
    db.session.commit()
    return report


def correct_report(report: Report, cards: int, actor: User, reason: str) -> Report:
    """Replace a report's number: void it and record a new report pointing back to it, atomically.

    Audited; commits. TooManyCards (nothing changed) if the new number does not fit the pack.
    """
    _check_cards(cards)
    reason = _check_reason(reason)
    if not report.voided and report.cards == cards:
        raise ReportError(f"The report already says {cards}: nothing to correct.")
    pack_id, old_cards = _void(report, actor, reason)
    if not _bump(pack_id, cards):
        raise _refuse_too_many(pack_id)
    correction = Report(
        pack_id=pack_id,
        case_id=report.case_id,
        cards=cards,
        source=ReportSource.STAFF,
        # One correction per report: a second concurrent correction of the same report cannot land.
        idempotency_key=f"correction-of-{report.id}",
        created_by_id=actor.id,
        corrects_id=report.id,
    )
    db.session.add(correction)
    db.session.flush()
    audit.record(
        "report.corrected", report, actor=actor,
        before={"cards": old_cards}, after={"cards": cards, "correction_id": correction.id}, comment=reason,
    )
    db.session.commit()
    return correction


# --- Reading for staff -------------------------------------------------------------------------------

def pack_reports(pack: Pack) -> list[Report]:
    """Every report of a pack, newest first (voided ones included)."""
    return list(
        db.session.scalars(
            sa.select(Report).where(Report.pack_id == pack.id).order_by(Report.id.desc())
        )
    )


def get_report(report_id: int) -> Optional[Report]:
    return db.session.scalar(
        sa.select(Report).options(so.joinedload(Report.pack)).where(Report.id == report_id)
    )
