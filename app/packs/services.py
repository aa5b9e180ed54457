"""Packs: creating them (with a fresh secret token and short code each), assigning, reissuing, and
gathering what their labels and packing slips show.

When packs are created: **when an order is approved**. Approval is when staff commit stock to the
order, and labels are printed between approval and packing. `orders.services.approve` calls
`create_packs_for_order(order)` inside its transaction, and **`create_packs_for_order` does not
commit: the caller commits**, so the order's new status, its stock reservation and its packs land
together (or not at all). Called again (say after quantities were adjusted) it only adds the packs
still missing; staff can do that from the order's packs page (`add_missing_packs`, which commits).
Every other function here commits its own unit of work unless told `commit=False`.

Packs can also be made ahead for a print run (pre-printed labels, `order_line_id` NULL) and assigned
to an order line later; such assigned packs count towards the line, so approval creates fewer.

Identity: tokens (130 bits) and codes (40 bits + check) come from `codes`, never from SECRET_KEY.
Token collisions are practically impossible; code collisions are rare but real at a million packs,
so codes are checked against the table before inserting, and an insert that still hits the unique
constraint (a concurrent writer took the same code in between) is retried inside a SAVEPOINT.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Optional, Sequence

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, OperationalError

from .. import audit
from ..extensions import db
from ..models import ORDERED_STATUSES, Case, Group, Order, OrderLine, Pack, PrintRun, User, utcnow
from . import codes
from .labels import PackingSlip, PackLabel, SlipLine

MAX_ATTEMPTS = 10
MAX_PACKS_PER_CALL = 10_000
MAX_SELECTION = 20_000
_IN_CHUNK = 500


class PackError(ValueError):
    """A pack operation was refused; the message is for people."""


# --- identities --------------------------------------------------------------------------------------


def _taken_codes(candidates: Sequence[str]) -> set[str]:
    taken: set[str] = set()
    for i in range(0, len(candidates), _IN_CHUNK):
        chunk = candidates[i : i + _IN_CHUNK]
        taken.update(db.session.scalars(sa.select(Pack.code).where(Pack.code.in_(chunk))))
    return taken


def _fresh_identities(count: int) -> list[tuple[str, str]]:
    """`count` (token, code) pairs, distinct from each other and from every code already stored."""
    chosen: dict[str, str] = {}  # code -> token
    while len(chosen) < count:
        batch = {codes.new_code(): codes.new_token() for _ in range(count - len(chosen))}
        fresh = [code for code in batch if code not in chosen]
        taken = _taken_codes(fresh)
        for code in fresh:
            if code not in taken:
                chosen[code] = batch[code]
    return [(token, code) for code, token in chosen.items()]


def _is_identity_clash(error: IntegrityError | OperationalError) -> bool:
    """A unique token/code taken by a concurrent writer, or (PostgreSQL) a deadlock between two
    such writers each waiting for a code the other has just inserted: both are worth a retry."""
    if isinstance(error, OperationalError):
        return getattr(error.orig, "sqlstate", None) == "40P01"  # deadlock_detected
    text = str(error.orig).lower()
    return any(name in text for name in ("pack.code", "pack.token", "uq_pack_code", "uq_pack_token"))


def _insert_packs(rows: list[dict]) -> None:
    """Insert pack rows, each with a fresh token and code; retried if a concurrent insert clashes."""
    for _attempt in range(MAX_ATTEMPTS):
        identities = _fresh_identities(len(rows))
        # Inserting in code order makes two batches wait for each other's codes in one direction only.
        identities.sort(key=lambda pair: pair[1])
        values = [dict(row, token=token, code=code) for row, (token, code) in zip(rows, identities)]
        try:
            with db.session.begin_nested():
                db.session.execute(sa.insert(Pack), values)
            return
        except (IntegrityError, OperationalError) as error:
            if not _is_identity_clash(error):
                raise
    raise PackError("Could not allocate unique pack codes; please try again.")


def _finish(commit: bool) -> None:
    if commit:
        db.session.commit()
    else:
        db.session.flush()


# --- creating and assigning --------------------------------------------------------------------------


def _packs_on_line(line_id: int) -> int:
    return db.session.scalar(sa.select(sa.func.count(Pack.id)).where(Pack.order_line_id == line_id)) or 0


def create_packs_for_order(order: Order) -> int:
    """Create the packs an order still lacks: one per pack ordered on each line. Returns how many.

    Called by the approval, inside its transaction: this flushes, **the caller commits**.
    """
    created = 0
    for line in order.lines:
        missing = line.packs - _packs_on_line(line.id)
        if missing <= 0:
            continue
        rows = [dict(case_id=line.case_id, order_line_id=line.id, size=line.pack_size, cards_posted=0,
                     created_at=utcnow()) for _ in range(missing)]
        _insert_packs(rows)
        created += missing
    db.session.flush()
    return created


def add_missing_packs(order: Order, actor: Optional[User]) -> int:
    """Staff action: create the packs an approved order still lacks, audit it and commit."""
    if order.status not in ORDERED_STATUSES:
        raise PackError("Packs are made for approved orders only.")
    created = create_packs_for_order(order)
    if created:
        audit.record("packs.created", order, actor=actor, after={"packs": created})
    db.session.commit()
    return created


def create_preprinted_packs(print_run: PrintRun, size: int, count: int, *, actor: Optional[User] = None,
                            commit: bool = True) -> int:
    """Create `count` unassigned packs of `size` cards from a print run (labels printed ahead)."""
    if not 1 <= size <= 1000:
        raise PackError("A pack holds between 1 and 1,000 cards.")
    if not 1 <= count <= MAX_PACKS_PER_CALL:
        raise PackError(f"Create between 1 and {MAX_PACKS_PER_CALL:,} packs at a time.")
    already = db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(Pack.size), 0)).where(Pack.print_run_id == print_run.id)
    ) or 0
    if already + size * count > print_run.cards:
        left = max(0, print_run.cards - already)
        raise PackError(f"This print run has {left:,} cards left for packs; {size * count:,} were asked for.")
    rows = [dict(case_id=print_run.case_id, print_run_id=print_run.id, order_line_id=None, size=size,
                 cards_posted=0, created_at=utcnow()) for _ in range(count)]
    _insert_packs(rows)
    audit.record("packs.preprinted", print_run, actor=actor, after={"size": size, "count": count})
    _finish(commit)
    return count


def assign_packs(pack_ids: Iterable[int], order_line: OrderLine, *, actor: Optional[User] = None,
                 commit: bool = True) -> int:
    """Assign pre-printed packs to an order line: all of them or none.

    Each pack must be unassigned, for the line's case and of the line's pack size, and the line may
    not end up with more packs than it ordered.
    """
    ids = sorted(set(pack_ids))
    if not ids:
        raise PackError("Choose at least one pack.")
    if len(ids) > MAX_PACKS_PER_CALL:
        raise PackError(f"Assign at most {MAX_PACKS_PER_CALL:,} packs at a time.")
    # Lock the line (PostgreSQL; SQLite writers are serialised by BEGIN IMMEDIATE) so two concurrent
    # assignments cannot both fit into the same free places.
    db.session.execute(sa.select(OrderLine.id).where(OrderLine.id == order_line.id).with_for_update())
    room = order_line.packs - _packs_on_line(order_line.id)
    if len(ids) > room:
        db.session.rollback()
        raise PackError(f"This line has room for {max(room, 0)} more pack(s); {len(ids)} were chosen.")
    assigned = 0
    for i in range(0, len(ids), _IN_CHUNK):
        result = db.session.execute(
            sa.update(Pack)
            .where(
                Pack.id.in_(ids[i : i + _IN_CHUNK]),
                Pack.order_line_id.is_(None),
                Pack.case_id == order_line.case_id,
                Pack.size == order_line.pack_size,
            )
            .values(order_line_id=order_line.id)
            .execution_options(synchronize_session=False)
        )
        assigned += result.rowcount
    if assigned != len(ids):
        db.session.rollback()
        raise PackError(
            f"{len(ids) - assigned} of the chosen packs are missing, already assigned, for another case "
            f"or not {order_line.pack_size}-card packs. Nothing was assigned."
        )
    audit.record("packs.assigned", order_line, actor=actor, after={"pack_ids": ids})
    _finish(commit)
    return assigned


def reissue_pack(pack: Pack, actor: Optional[User], *, commit: bool = True) -> Pack:
    """Give a pack a new token and code (a lost or damaged label): the old ones stop working at once.

    The pack keeps its id, case, size, order line and reports. The audit event records the old and new
    short codes (never tokens: they are secrets).
    """
    old_code = pack.code
    for _attempt in range(MAX_ATTEMPTS):
        token, code = _fresh_identities(1)[0]
        try:
            with db.session.begin_nested():
                pack.token, pack.code, pack.reissued_at = token, code, utcnow()
                db.session.flush()
            break
        except (IntegrityError, OperationalError) as error:
            if not _is_identity_clash(error):
                raise
    else:
        raise PackError("Could not allocate a unique pack code; please try again.")
    audit.record("pack.reissued", pack, actor=actor, before={"code": old_code}, after={"code": pack.code})
    _finish(commit)
    return pack


# --- reading ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Selection:
    """Which packs to print: a whole order, a print run, chosen pack ids, or an id range (inclusive)."""

    kind: str  # "order" | "print_run" | "packs" | "range"
    order_id: Optional[int] = None
    print_run_id: Optional[int] = None
    pack_ids: tuple[int, ...] = ()
    first_id: Optional[int] = None
    last_id: Optional[int] = None

    def as_dict(self) -> dict:
        return {"kind": self.kind, "order_id": self.order_id, "print_run_id": self.print_run_id,
                "pack_ids": list(self.pack_ids), "first_id": self.first_id, "last_id": self.last_id}

    @classmethod
    def from_dict(cls, data: dict) -> Selection:
        return cls(kind=data["kind"], order_id=data.get("order_id"), print_run_id=data.get("print_run_id"),
                   pack_ids=tuple(data.get("pack_ids") or ()), first_id=data.get("first_id"),
                   last_id=data.get("last_id"))


def selection_query(selection: Selection, group_id: Optional[int] = None) -> sa.Select:
    """Packs of a selection in print order (by id), restricted to one group's orders if `group_id` is given."""
    query = sa.select(Pack).order_by(Pack.id)
    if selection.kind == "order":
        query = query.join(OrderLine, OrderLine.id == Pack.order_line_id).where(OrderLine.order_id == selection.order_id)
    elif selection.kind == "print_run":
        query = query.where(Pack.print_run_id == selection.print_run_id)
    elif selection.kind == "packs":
        query = query.where(Pack.id.in_(selection.pack_ids[:MAX_SELECTION]))
    elif selection.kind == "range":
        if selection.first_id is None or selection.last_id is None:
            raise PackError("Give the first and last pack number.")
        if not 0 <= selection.last_id - selection.first_id < MAX_SELECTION:
            raise PackError(f"A range covers 1 to {MAX_SELECTION:,} pack numbers, first to last.")
        query = query.where(Pack.id.between(selection.first_id, selection.last_id))
    else:
        raise PackError("Unknown selection.")
    if group_id is not None:
        owned = (
            sa.select(OrderLine.id)
            .join(Order, Order.id == OrderLine.order_id)
            .where(Order.group_id == group_id)
        )
        query = query.where(Pack.order_line_id.in_(owned))
    return query


def count_selection(selection: Selection, group_id: Optional[int] = None) -> int:
    """How many packs a selection holds (for the user's group only if `group_id` is given)."""
    inner = selection_query(selection, group_id).order_by(None).with_only_columns(Pack.id).subquery()
    return db.session.scalar(sa.select(sa.func.count()).select_from(inner)) or 0


def label_items(selection: Selection, group_id: Optional[int] = None, limit: Optional[int] = None) -> list[PackLabel]:
    """Plain label values for a selection, in print order (safe to render outside a session)."""
    query = (
        selection_query(selection, group_id)
        .join(Case, Case.id == Pack.case_id)
        .with_only_columns(Pack.id, Pack.token, Pack.code, Case.name, Case.ask, Pack.size)
        .limit(limit if limit is not None else MAX_SELECTION)
    )
    return [PackLabel(*row) for row in db.session.execute(query)]


def order_packs(order: Order) -> list[Pack]:
    """An order's packs by line, then id."""
    return list(
        db.session.scalars(
            sa.select(Pack)
            .join(OrderLine, OrderLine.id == Pack.order_line_id)
            .where(OrderLine.order_id == order.id)
            .order_by(OrderLine.id, Pack.id)
        )
    )


def packing_slip(order: Order) -> PackingSlip:
    """What the packing slip of an order shows."""
    group: Group = order.group
    name = order.delivery_name or group.contact_name
    address = [name, order.delivery_line1, order.delivery_line2,
               " ".join(part for part in (order.delivery_postcode, order.delivery_city) if part),
               order.delivery_country]
    if not order.delivery_line1:  # no address on the order: the group's own
        address = [group.contact_name, group.address_line1, group.address_line2,
                   " ".join(part for part in (group.postcode, group.city) if part), group.country]
    lines = tuple(SlipLine(line.case.name, line.pack_size, line.packs) for line in order.lines)
    return PackingSlip(
        order_id=order.id,
        group_name=group.name,
        address_lines=tuple(part for part in address if part),
        lines=lines,
        packs=tuple(label_items(Selection(kind="order", order_id=order.id))),
    )


def order_packs_query(order: Order) -> sa.Select:
    """An order's packs by line, then id (for paging)."""
    return (
        sa.select(Pack)
        .join(OrderLine, OrderLine.id == Pack.order_line_id)
        .where(OrderLine.order_id == order.id)
        .order_by(OrderLine.id, Pack.id)
    )


def packs_per_line(order: Order) -> dict[int, int]:
    """How many packs exist for each of an order's lines."""
    return dict(
        db.session.execute(
            sa.select(Pack.order_line_id, sa.func.count(Pack.id))
            .join(OrderLine, OrderLine.id == Pack.order_line_id)
            .where(OrderLine.order_id == order.id)
            .group_by(Pack.order_line_id)
        ).all()
    )


@dataclass(frozen=True)
class PrintRunPacks:
    run: PrintRun
    packs: int
    unassigned: int


def print_runs_with_packs(limit: int = 100) -> list[PrintRunPacks]:
    """Recent print runs with how many pre-printed packs each has, and how many are unassigned."""
    runs = db.session.scalars(sa.select(PrintRun).order_by(PrintRun.created_at.desc(), PrintRun.id.desc()).limit(limit)).all()
    counts = {
        run_id: (total, unassigned)
        for run_id, total, unassigned in db.session.execute(
            sa.select(
                Pack.print_run_id,
                sa.func.count(Pack.id),
                sa.func.count(Pack.id).filter(Pack.order_line_id.is_(None)),
            )
            .where(Pack.print_run_id.in_([r.id for r in runs]))
            .group_by(Pack.print_run_id)
        ).all()
    }
    return [PrintRunPacks(run, *counts.get(run.id, (0, 0))) for run in runs]


def print_run_packs_query(print_run: PrintRun) -> sa.Select:
    """A print run's pre-printed packs by id."""
    return sa.select(Pack).where(Pack.print_run_id == print_run.id).order_by(Pack.id)


def get_print_run(run_id: int) -> Optional[PrintRun]:
    return db.session.get(PrintRun, run_id)


def get_pack(pack_id: int) -> Optional[Pack]:
    return db.session.get(Pack, pack_id)


def get_order_line(line_id: int) -> Optional[OrderLine]:
    return db.session.get(OrderLine, line_id)
