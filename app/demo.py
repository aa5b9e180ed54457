"""Synthetic, believable demo data on top of `seed`: groups, orders in every status, stock, packs,
shipments, reports and mailings. Reproducible for a given seed (pack tokens excepted: they always come
from `secrets`). Rows go in with bulk INSERTs and explicit ids, so larger scales stay quick.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Callable, Optional

import sqlalchemy as sa
from werkzeug.security import generate_password_hash

from .extensions import db
from .models import (
    Case,
    CaseStatus,
    Group,
    GroupStatus,
    GroupType,
    Mailing,
    MailingContent,
    MailingDestination,
    MailingStatus,
    Order,
    OrderLine,
    OrderStatus,
    Pack,
    PrintRun,
    Report,
    ReportSource,
    Role,
    Shipment,
    StockKind,
    StockMovement,
    User,
)
from .packs.codes import new_code, new_token
from .public.services import current_campaign

SCALES = {"small": 50, "national": 1000, "global": 20000}
DEMO_PASSWORD = "write-for-rights-demo"  # nosec B105 - published demo login for synthetic data
STAFF_EMAIL = "staff@example.org"
COORDINATOR_EMAIL = "coordinator@example.org"

# country -> region -> towns: groups get a town that lies in their region.
PLACES = {
    "United Kingdom": {
        "London": ["Camden", "Hackney", "Lewisham", "Islington"], "Scotland": ["Glasgow", "Edinburgh", "Dundee", "Aberdeen", "Inverness"],
        "Wales": ["Cardiff", "Swansea", "Bangor", "Aberystwyth"], "Northern Ireland": ["Belfast", "Derry"],
        "North West": ["Manchester", "Liverpool", "Lancaster", "Kendal"], "North East": ["Newcastle", "Durham", "Sunderland"],
        "Yorkshire": ["Leeds", "Sheffield", "York", "Hull"], "West Midlands": ["Birmingham", "Coventry", "Worcester"],
        "East Midlands": ["Leicester", "Derby", "Nottingham"], "South West": ["Bristol", "Exeter", "Plymouth", "Bath"],
        "South East": ["Brighton", "Oxford", "Reading", "Canterbury"], "East of England": ["Norwich", "Cambridge", "Colchester"],
    },
    "Ireland": {"Dublin": ["Dublin", "Dún Laoghaire"], "Munster": ["Cork", "Limerick"], "Connacht": ["Galway", "Sligo"]},
    "Netherlands": {"Utrecht": ["Utrecht", "Amersfoort"], "Zuid-Holland": ["Leiden", "Delft"], "Noord-Holland": ["Haarlem"]},
    "Canada": {"Ontario": ["Toronto", "Ottawa"], "Quebec": ["Montreal"], "British Columbia": ["Victoria", "Vancouver"]},
}
NAME_PATTERNS = {
    GroupType.LOCAL: "{town} Amnesty Group",
    GroupType.SCHOOL: "{town} {nth} School Human Rights Club",
    GroupType.UNIVERSITY: "University of {town} Amnesty Society",
    GroupType.FAITH: "{town} Friends Meeting House Writers",
    GroupType.WORKPLACE: "{town} Library Staff Writers",
    GroupType.OTHER: "{town} Book Club for Rights",
}
FIRST = ["Amira", "Ben", "Chloé", "Dev", "Eilidh", "Femi", "Grace", "Hugo", "Ines", "Jonah", "Kasia", "Liam", "Maya", "Niamh", "Omar", "Priya", "Rhys", "Sofia", "Tom", "Yusuf"]
LAST = ["Ahmed", "Byrne", "Clarke", "Davies", "Evans", "Fraser", "Gill", "Hughes", "Iqbal", "Jones", "Kaur", "Lewis", "Murphy", "Nowak", "Owen", "Patel", "Quinn", "Roberts", "Singh", "Walsh"]
CARRIERS = [("Royal Mail", "https://www.royalmail.com/track-your-item#/tracking-results/{n}"), ("DPD", "https://track.dpd.co.uk/parcels/{n}"), ("Parcelforce", "https://www.parcelforce.com/track-trace?trackNumber={n}")]

# How often each order status appears (every status at least once at small scale).
STATUS_WEIGHTS = [
    (OrderStatus.DRAFT, 4), (OrderStatus.SUBMITTED, 10), (OrderStatus.ON_HOLD, 2),
    (OrderStatus.APPROVED, 8), (OrderStatus.PACKED, 6), (OrderStatus.DISPATCHED, 30),
    (OrderStatus.DELIVERED, 30), (OrderStatus.REJECTED, 2), (OrderStatus.CANCELLED, 2),
]
HAS_PACKS = {OrderStatus.APPROVED, OrderStatus.PACKED, OrderStatus.DISPATCHED, OrderStatus.DELIVERED}
SHIPPED = {OrderStatus.DISPATCHED, OrderStatus.DELIVERED}


class DemoError(RuntimeError):
    """Demo data cannot be generated."""


class DemoAlreadyLoaded(DemoError):
    """The demo data is there already; generating it again would duplicate it."""


def demo_logins() -> list[tuple[str, str, str]]:
    return [("staff", STAFF_EMAIL, DEMO_PASSWORD), ("coordinator", COORDINATOR_EMAIL, DEMO_PASSWORD)]


@dataclass
class DemoResult:
    groups: int = 0
    users: int = 0
    orders: int = 0
    packs: int = 0
    reports: int = 0
    mailings: int = 0


def _at(day: date, rng: random.Random) -> datetime:
    return datetime.combine(day, time(rng.randint(8, 21), rng.randint(0, 59)), tzinfo=timezone.utc)


class _Ids:
    """Explicit ids for bulk inserts, continuing after what the tables already hold."""

    def __init__(self) -> None:
        self._next: dict[type, int] = {}

    def next(self, model: type) -> int:
        if model not in self._next:
            self._next[model] = (db.session.scalar(sa.select(sa.func.max(model.id))) or 0) + 1
        value = self._next[model]
        self._next[model] = value + 1
        return value

    def models(self) -> list[type]:
        return list(self._next)


def generate(
    scale: str = "small",
    seed: int = 1,
    progress: Optional[Callable[[str, int], None]] = None,
) -> DemoResult:
    """Add demo data for the current campaign at `scale`. Commits once; refuses to run twice."""
    if scale not in SCALES:
        raise DemoError(f"Unknown scale {scale!r}: choose one of {', '.join(SCALES)}.")
    campaign = current_campaign()
    if campaign is None:
        raise DemoError("No campaign yet: run `flask seed` first.")
    if db.session.scalar(sa.select(User.id).where(User.email == STAFF_EMAIL)) is not None:
        raise DemoAlreadyLoaded("Demo data is already loaded.")
    progress = progress or (lambda _stage, _n: None)
    rng = random.Random(seed)  # nosec B311 - reproducible synthetic data, not secrets (tokens come from secrets)
    ids = _Ids()
    result = DemoResult()
    cases = list(
        db.session.scalars(
            sa.select(Case).where(Case.campaign_id == campaign.id, Case.status == CaseStatus.ACTIVE)
        )
    )
    sizes = [ps.cards for ps in campaign.pack_sizes if ps.active] or [25]
    start, end = campaign.starts_on, campaign.ends_on
    password_hash = generate_password_hash(DEMO_PASSWORD)
    rows: dict[type, list[dict[str, Any]]] = {m: [] for m in (Group, User, Order, OrderLine, Pack, Shipment, Report, PrintRun, StockMovement, Mailing)}

    staff_id = ids.next(User)
    rows[User].append(dict(id=staff_id, email=STAFF_EMAIL, name="Sam Staff", password_hash=password_hash, role=Role.STAFF, group_id=None, is_active=True, session_version=1, created_at=_at(start - timedelta(days=60), rng)))

    # Groups, each with a coordinator.
    n_groups = SCALES[scale]
    used_names: set[str] = set()
    group_ids: list[int] = []
    for i in range(n_groups):
        country = "United Kingdom" if rng.random() < 0.75 else rng.choice(list(PLACES))
        region = rng.choice(list(PLACES[country]))
        town = rng.choice(PLACES[country][region])
        gtype = rng.choices(list(GroupType), weights=[40, 20, 15, 10, 8, 7])[0]
        base = NAME_PATTERNS[gtype].format(town=town, nth=rng.choice(["High", "Academy", "Community", "Grammar"]))
        name = base if base not in used_names else f"{base} {i + 1}"
        used_names.add(name)
        gid = ids.next(Group)
        contact = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        status = GroupStatus.PENDING if i >= n_groups - max(1, n_groups // 25) else GroupStatus.APPROVED
        rows[Group].append(dict(
            id=gid, name=name, type=gtype, status=status, country=country, region=region,
            contact_name=contact, contact_email=f"group{gid}@example.org", contact_phone=f"07700 9{gid:05d}"[:13],
            address_line1=f"{rng.randint(1, 200)} {rng.choice(['High Street', 'Church Lane', 'Station Road', 'Mill Road', 'Park Avenue'])}",
            address_line2="", city=town,
            postcode=f"{rng.choice('ABCDEGHKLMNS')}{rng.randint(1, 29)} {rng.randint(1, 9)}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}",
            expected_writers=rng.choice([10, 15, 20, 30, 40, 60, 80, 120, 200]), created_at=_at(start - timedelta(days=rng.randint(5, 400)), rng),
        ))
        email = COORDINATOR_EMAIL if i == 0 else f"coordinator{gid}@example.org"
        rows[User].append(dict(id=ids.next(User), email=email, name=contact, password_hash=password_hash, role=Role.COORDINATOR, group_id=gid, is_active=status is GroupStatus.APPROVED, session_version=1, created_at=rows[Group][-1]["created_at"]))
        if status is GroupStatus.APPROVED:
            group_ids.append(gid)
    progress("groups", n_groups)

    reserved: dict[int, int] = {c.id: 0 for c in cases}
    statuses, weights = zip(*STATUS_WEIGHTS)
    for g_index, gid in enumerate(group_ids):
        group = rows[Group][gid - rows[Group][0]["id"]]
        for o_index in range(rng.choice([1, 1, 1, 2])):
            # Cycle through every status first so even a tiny demo shows them all.
            seq = g_index * 2 + o_index
            status = statuses[seq] if seq < len(statuses) else rng.choices(statuses, weights)[0]
            oid = ids.next(Order)
            created = _at(start + timedelta(days=rng.randint(-20, 25)), rng)
            submitted = created + timedelta(hours=rng.randint(1, 48)) if status is not OrderStatus.DRAFT else None
            rows[Order].append(dict(
                id=oid, campaign_id=campaign.id, group_id=gid, status=status,
                needed_by=(created + timedelta(days=rng.randint(10, 30))).date(),
                delivery_name=group["contact_name"], delivery_line1=group["address_line1"], delivery_line2="",
                delivery_city=group["city"], delivery_postcode=group["postcode"], delivery_country=group["country"],
                notes=rng.choice(["", "", "Writeathon on Human Rights Day, 10 December.", "Please deliver to the school office.", "Our stall at the Christmas market."]),
                staff_comment="Rejected: this group already has an order in progress." if status is OrderStatus.REJECTED else "",
                created_by_id=None, created_at=created, updated_at=submitted or created, submitted_at=submitted,
            ))
            dispatched_at = (submitted or created) + timedelta(days=rng.randint(2, 6))
            if status in SHIPPED:
                carrier, url = rng.choice(CARRIERS)
                number = f"{rng.choice('ABCDEFGH')}{rng.choice('ABCDEFGH')}{rng.randint(10**8, 10**9 - 1)}GB"
                rows[Shipment].append(dict(
                    id=ids.next(Shipment), order_id=oid, carrier=carrier, tracking_number=number, tracking_url=url.format(n=number),
                    dispatched_at=dispatched_at, created_by_id=staff_id,
                    delivered_at=dispatched_at + timedelta(days=rng.randint(1, 4)) if status is OrderStatus.DELIVERED else None,
                ))
            for case in rng.sample(cases, k=min(len(cases), rng.choice([1, 2, 2, 3]))):
                size = rng.choice(sizes)
                packs = max(1, min(8, group["expected_writers"] // size + rng.randint(0, 2)))
                line_id = ids.next(OrderLine)
                rows[OrderLine].append(dict(id=line_id, order_id=oid, case_id=case.id, pack_size=size, packs=packs, requested_packs=packs))
                if status not in HAS_PACKS:
                    continue
                reserved[case.id] += packs * size
                rows[StockMovement].append(dict(id=ids.next(StockMovement), case_id=case.id, kind=StockKind.RESERVATION, quantity=-packs * size, order_id=oid, note="", created_by_id=staff_id, created_at=submitted + timedelta(hours=20)))
                for _ in range(packs):
                    pack_id = ids.next(Pack)
                    posted = 0
                    if status in SHIPPED and rng.random() < 0.7:
                        posted = size if rng.random() < 0.5 else rng.randint(1, size)
                        remaining, parts = posted, rng.choice([1, 1, 2])
                        for part in range(parts):
                            cards = remaining if part == parts - 1 else rng.randint(1, remaining)
                            if cards <= 0:
                                continue
                            remaining -= cards
                            when = _at(min(end, dispatched_at.date() + timedelta(days=rng.randint(2, 30))), rng)
                            rows[Report].append(dict(
                                id=ids.next(Report), pack_id=pack_id, case_id=case.id, cards=cards,
                                source=rng.choices([ReportSource.PAGE, ReportSource.SCAN], weights=[85, 15])[0],
                                idempotency_key=str(uuid.UUID(int=rng.getrandbits(128))), created_at=when,
                                created_by_id=None, voided=False, void_reason="",
                            ))
                        posted -= remaining
                    rows[Pack].append(dict(id=pack_id, case_id=case.id, order_line_id=line_id, size=size, token=new_token(), code=new_code(), cards_posted=posted, created_at=submitted + timedelta(hours=20)))
    progress("orders", len(rows[Order]))

    # Stock: one print run per case, comfortably above what orders reserved.
    for case in cases:
        printed = max(case.target, reserved[case.id]) + 5000
        run_id = ids.next(PrintRun)
        printed_at = _at(start - timedelta(days=30), rng)
        rows[PrintRun].append(dict(id=run_id, case_id=case.id, cards=printed, printer="Campaign print house", note="First print run", created_by_id=staff_id, created_at=printed_at))
        rows[StockMovement].append(dict(id=ids.next(StockMovement), case_id=case.id, kind=StockKind.PRINT_RUN, quantity=printed, order_id=None, print_run_id=run_id, note="", created_by_id=staff_id, created_at=printed_at))
        # Mailings: cards collected at the office, forwarded to the case (never more than were reported).
        collected = sum(r["cards"] for r in rows[Report] if r["case_id"] == case.id)
        for m in range(rng.randint(1, 3)):
            quantity = collected * rng.randint(15, 30) // 100
            if quantity <= 0:
                break
            status = [MailingStatus.ACKNOWLEDGED, MailingStatus.DELIVERED, MailingStatus.SENT, MailingStatus.PREPARED][min(m + rng.randint(0, 1), 3)]
            prepared = end - timedelta(days=rng.randint(5, 25))
            rows[Mailing].append(dict(
                id=ids.next(Mailing), case_id=case.id, quantity=quantity,
                content=rng.choice(list(MailingContent)), destination_type=rng.choice([MailingDestination.FAMILY, MailingDestination.PARTNER, MailingDestination.EMBASSY]),
                destination=f"Partner organisation for {case.name}", carrier="DHL Express", tracking_number=f"JD0146000{rng.randint(10**8, 10**9 - 1)}",
                status=status, prepared_on=prepared,
                sent_on=prepared + timedelta(days=2) if status is not MailingStatus.PREPARED else None,
                delivered_on=prepared + timedelta(days=9) if status in (MailingStatus.DELIVERED, MailingStatus.ACKNOWLEDGED) else None,
                acknowledged_on=prepared + timedelta(days=20) if status is MailingStatus.ACKNOWLEDGED else None,
                notes="", created_by_id=staff_id, created_at=_at(prepared, rng),
            ))

    for model, model_rows in rows.items():
        for chunk in range(0, len(model_rows), 5000):
            db.session.execute(sa.insert(model), model_rows[chunk:chunk + 5000])
        progress(model.__tablename__, len(model_rows))
    for case in cases:
        db.session.execute(
            sa.update(Case).where(Case.id == case.id).values(
                stock_printed=Case.stock_printed + sum(r["cards"] for r in rows[PrintRun] if r["case_id"] == case.id),
                stock_reserved=Case.stock_reserved + reserved[case.id],
            )
        )
    _reset_sequences(ids.models())
    db.session.commit()
    result.groups, result.users, result.orders = len(rows[Group]), len(rows[User]), len(rows[Order])
    result.packs, result.reports, result.mailings = len(rows[Pack]), len(rows[Report]), len(rows[Mailing])
    return result


def _reset_sequences(models: list[type]) -> None:
    """After inserts with explicit ids, move PostgreSQL's id sequences past them."""
    if db.engine.dialect.name != "postgresql":
        return
    for model in models:
        table = model.__tablename__
        db.session.execute(
            sa.text(f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), (SELECT MAX(id) FROM \"{table}\"))")  # nosec B608 - table names come from our models
        )
