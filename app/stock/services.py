"""Card stock per case. The counters on Case change only through atomic conditional UPDATEs;
every change also writes a StockMovement row (the ledger)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import sqlalchemy as sa
from flask import current_app

from .. import audit
from ..extensions import db
from ..models import Case, CaseStatus, Order, PrintRun, StockKind, StockMovement, User
from ..public.services import current_campaign


class StockError(ValueError):
    """A stock change was refused; the message is for people."""


def _cards_by_case(order: Order) -> dict[int, int]:
    needed: dict[int, int] = {}
    for line in order.lines:
        if line.packs:
            needed[line.case_id] = needed.get(line.case_id, 0) + line.packs * line.pack_size
    return needed


def reserve_for_order(order: Order, actor: User, override: bool = False) -> list[tuple[str, int, int]]:
    """Reserve the order's cards per case. Returns the shortages (case name, needed, available) and
    reserves only where stock suffices, unless `override`. On any shortage the caller rolls back."""
    shortages = []
    for case_id, cards in sorted(_cards_by_case(order).items()):
        condition = [Case.id == case_id]
        if not override:
            condition.append(Case.stock_printed - Case.stock_reserved >= cards)
        result = db.session.execute(
            sa.update(Case).where(*condition).values(stock_reserved=Case.stock_reserved + cards)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            case = db.session.get(Case, case_id)
            db.session.refresh(case)
            shortages.append((case.name, cards, max(0, case.stock_available)))
            continue
        db.session.add(StockMovement(case_id=case_id, kind=StockKind.RESERVATION, quantity=-cards, order_id=order.id,
                                     created_by_id=actor.id, note="beyond stock (override)" if override else ""))
    return shortages


def release_for_order(order: Order, actor: User) -> None:
    """Give an order's reserved cards back (cancelled after approval). The caller commits."""
    for case_id, cards in _cards_by_case(order).items():
        db.session.execute(
            sa.update(Case).where(Case.id == case_id, Case.stock_reserved >= cards)
            .values(stock_reserved=Case.stock_reserved - cards).execution_options(synchronize_session=False)
        )
        db.session.add(StockMovement(case_id=case_id, kind=StockKind.RELEASE, quantity=cards, order_id=order.id, created_by_id=actor.id))


def record_print_run(case: Case, cards: int, printer: str, note: str, actor: User) -> PrintRun:
    """Cards delivered by the printer add to the case's stock. Commits."""
    if not 0 < cards <= 10_000_000:
        raise StockError("Enter a number of cards from 1 to 10,000,000.")
    run = PrintRun(case_id=case.id, cards=cards, printer=printer, note=note, created_by_id=actor.id)
    db.session.add(run)
    db.session.flush()
    db.session.execute(sa.update(Case).where(Case.id == case.id).values(stock_printed=Case.stock_printed + cards)
                       .execution_options(synchronize_session=False))
    db.session.add(StockMovement(case_id=case.id, kind=StockKind.PRINT_RUN, quantity=cards, print_run_id=run.id, created_by_id=actor.id, note=note))
    audit.record("stock.print_run", case, actor=actor, after={"cards": cards, "printer": printer}, comment=note)
    db.session.commit()
    return run


def adjust(case: Case, quantity: int, note: str, actor: User) -> None:
    """Correct the stock (damaged, counted, found): positive or negative, never below zero. Commits."""
    if quantity == 0 or abs(quantity) > 10_000_000:
        raise StockError("Enter a non-zero adjustment of at most 10,000,000 cards.")
    if not note.strip():
        raise StockError("Say why the stock changes.")
    result = db.session.execute(
        sa.update(Case).where(Case.id == case.id, Case.stock_printed + quantity >= 0)
        .values(stock_printed=Case.stock_printed + quantity).execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.rollback()
        raise StockError("That would take the stock below zero.")
    db.session.add(StockMovement(case_id=case.id, kind=StockKind.ADJUSTMENT, quantity=quantity, created_by_id=actor.id, note=note))
    audit.record("stock.adjusted", case, actor=actor, after={"quantity": quantity}, comment=note)
    db.session.commit()


@dataclass
class StockRow:
    case: Case
    printed: int
    reserved: int
    available: int
    low: bool


def low_stock_threshold() -> int:
    return int(current_app.config.get("LOW_STOCK_CARDS", 500))


def overview() -> list[StockRow]:
    """Stock of every active case of the current campaign."""
    campaign = current_campaign()
    if campaign is None:
        return []
    threshold = low_stock_threshold()
    cases = db.session.scalars(
        sa.select(Case).where(Case.campaign_id == campaign.id, Case.status == CaseStatus.ACTIVE).order_by(Case.position, Case.id)
    )
    return [StockRow(c, c.stock_printed, c.stock_reserved, c.stock_available, c.stock_available < threshold) for c in cases]


def movements(case: Case, limit: int = 100) -> list[StockMovement]:
    return list(db.session.scalars(
        sa.select(StockMovement).where(StockMovement.case_id == case.id).order_by(StockMovement.id.desc()).limit(limit)
    ))


def get_case(case_id: int) -> Optional[Case]:
    return db.session.get(Case, case_id)
