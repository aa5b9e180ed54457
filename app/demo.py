"""Synthetic, believable demo data on top of `seed`: groups, orders in every status, stock, packs,
shipments, reports (a few voided or corrected) and mailings. Reproducible for a given seed (pack tokens
and codes excepted: they always come from `secrets`).

Rows are made as tuples with explicit ids and streamed to the database in batches, in foreign-key
order, inside one transaction: `executemany` on SQLite, `COPY` on PostgreSQL. The global scale
(20,000 groups, ~1M packs, ~2M reports) takes about two minutes on SQLite.
"""

from __future__ import annotations

import enum
import random
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Callable, Optional

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from werkzeug.security import generate_password_hash

from .extensions import db
from .models import (
    Case,
    CaseStatus,
    Group,
    GroupReportDay,
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
    ReportDay,
    ReportSource,
    Role,
    Shipment,
    StockKind,
    StockMovement,
    User,
)
from .packs.codes import new_codes, new_tokens
from .tracking import counters
from .public.services import current_campaign

SCALES = {"small": 50, "national": 1000, "global": 20000}
# Packs a group gets on average beyond the small scale (national ~100k packs, global ~1M); the small
# demo keeps a few packs per line, sized to the group, so `make run` and the tests stay quick.
PACKS_PER_GROUP = {"small": 0, "national": 100, "global": 50}
# Order lines with packs per group: 1.25 orders x 2 cases x the share of statuses that have packs.
_LINES_WITH_PACKS = 1.25 * 2 * 74 / 94
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


# Every column the demo fills, per table; rows are tuples in this order.
COLUMNS: dict[type, tuple[str, ...]] = {
    Group: ("id", "name", "type", "status", "country", "region", "contact_name", "contact_email", "contact_phone",
            "address_line1", "address_line2", "city", "postcode", "expected_writers", "created_at"),
    User: ("id", "email", "name", "password_hash", "role", "group_id", "is_active", "session_version", "created_at"),
    Order: ("id", "campaign_id", "group_id", "status", "needed_by", "delivery_name", "delivery_line1", "delivery_line2",
            "delivery_city", "delivery_postcode", "delivery_country", "notes", "staff_comment", "created_by_id",
            "created_at", "updated_at", "submitted_at"),
    Shipment: ("id", "order_id", "carrier", "tracking_number", "tracking_url", "dispatched_at", "created_by_id", "delivered_at"),
    OrderLine: ("id", "order_id", "case_id", "pack_size", "packs", "requested_packs", "cards_reported"),
    PrintRun: ("id", "case_id", "cards", "printer", "note", "created_by_id", "created_at"),
    StockMovement: ("id", "case_id", "kind", "quantity", "order_id", "print_run_id", "note", "created_by_id", "created_at"),
    Pack: ("id", "case_id", "order_line_id", "size", "token", "code", "cards_posted", "created_at"),
    Report: ("id", "pack_id", "case_id", "cards", "source", "idempotency_key", "created_at", "created_by_id", "voided",
             "voided_at", "voided_by_id", "void_reason", "corrects_id"),
    Mailing: ("id", "case_id", "quantity", "content", "destination_type", "destination", "carrier", "tracking_number",
              "status", "prepared_on", "sent_on", "delivered_on", "acknowledged_on", "notes", "created_by_id", "created_at"),
}


class _BulkWriter:
    """Buffers rows per table and writes them in foreign-key order, in the session's transaction:
    `executemany` on SQLite (values as SQLAlchemy stores them), `COPY` on PostgreSQL."""

    BATCH = 20_000

    def __init__(self) -> None:
        self.rows: dict[type, list[tuple]] = {model: [] for model in COLUMNS}
        self.counts: dict[type, int] = defaultdict(int)
        self.postgresql = db.engine.dialect.name == "postgresql"
        self.convert: dict[type, list[tuple[int, Callable[[Any], Any]]]] = {}
        for model, columns in COLUMNS.items():
            converters = []
            for index, name in enumerate(columns):
                column_type = model.__table__.c[name].type
                if isinstance(column_type, sa.Enum):
                    converters.append((index, _enum_value))
                elif not self.postgresql and isinstance(column_type, sa.types.TypeDecorator):
                    converters.append((index, _sqlite_datetime))
                elif not self.postgresql and isinstance(column_type, sa.Date):
                    converters.append((index, _sqlite_date))
            self.convert[model] = converters
        if not self.postgresql:
            # A bigger page cache (about 400 MB) while indexes grow by a million rows.
            db.session.execute(sa.text("PRAGMA cache_size=-400000"))

    def add(self, model: type, row: tuple) -> None:
        self.rows[model].append(row)
        if len(self.rows[model]) >= self.BATCH:
            self.flush()

    def flush(self) -> None:
        """Write every buffered row, parents before children."""
        raw = db.session.connection().connection
        for model, rows in self.rows.items():
            if not rows:
                continue
            converters = self.convert[model]
            if converters:
                rows = [_converted(row, converters) for row in rows]
            table, columns = model.__tablename__, COLUMNS[model]
            names = ", ".join(columns)
            if self.postgresql:
                with raw.driver_connection.cursor() as cursor:
                    with cursor.copy(f'COPY "{table}" ({names}) FROM STDIN') as copy:  # nosec B608 - our table and column names
                        for row in rows:
                            copy.write_row(row)
            else:
                cursor = raw.cursor()
                marks = ", ".join("?" * len(columns))
                cursor.executemany(f'INSERT INTO "{table}" ({names}) VALUES ({marks})', rows)  # nosec B608 - our names
                cursor.close()
            self.counts[model] += len(rows)
            self.rows[model] = []


def _enum_value(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value


def _sqlite_datetime(value: Optional[datetime]) -> Optional[str]:
    """As UTCDateTime + SQLAlchemy store it on SQLite: naive UTC, microseconds always written.
    The demo makes every datetime in UTC already, so the "+00:00" suffix is all there is to drop."""
    if value is None:
        return None
    return value.isoformat(" ", "microseconds")[:26]


def _sqlite_date(value: Optional[date]) -> Optional[str]:
    return None if value is None else value.isoformat()


def _converted(row: tuple, converters: list[tuple[int, Callable[[Any], Any]]]) -> tuple:
    values = list(row)
    for index, convert in converters:
        values[index] = convert(values[index])
    return tuple(values)


def progress_length(scale: str) -> int:
    """How many steps `generate` reports through its `progress` callback at this scale."""
    return 2 * SCALES[scale] + len(COLUMNS)


def generate(
    scale: str = "small",
    seed: int = 1,
    progress: Optional[Callable[[str, int], None]] = None,
) -> DemoResult:
    """Add demo data for the current campaign at `scale`. Commits once; refuses to run twice.

    `progress(stage, steps)` is called as work advances; the steps add up to `progress_length(scale)`.
    """
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
    out = _BulkWriter()
    cases = list(
        db.session.scalars(
            sa.select(Case).where(Case.campaign_id == campaign.id, Case.status == CaseStatus.ACTIVE)
        )
    )
    sizes = [ps.cards for ps in campaign.pack_sizes if ps.active] or [25]
    start, end = campaign.starts_on, campaign.ends_on
    password_hash = generate_password_hash(DEMO_PASSWORD)
    large = PACKS_PER_GROUP[scale] > 0
    # Beyond small: packs per line around PACKS_PER_GROUP / lines, more reports per pack (class sets
    # reported in several goes), so global has ~1M packs and ~2M reports.
    packs_per_line = max(1, round(PACKS_PER_GROUP[scale] / _LINES_WITH_PACKS))
    report_share, report_parts = (0.9, [1, 2, 3, 4, 5, 6]) if large else (0.7, [1, 1, 2])
    taken_codes = set(db.session.scalars(sa.select(Pack.code)))

    staff_id = ids.next(User)
    users = 1
    out.add(User, (staff_id, STAFF_EMAIL, "Sam Staff", password_hash, Role.STAFF, None, True, 1, _at(start - timedelta(days=60), rng)))

    # Groups, each with a coordinator.
    n_groups = SCALES[scale]
    used_names: set[str] = set()
    groups: list[tuple] = []  # (id, contact, line1, city, postcode, country, expected writers) of approved groups
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
        line1 = f"{rng.randint(1, 200)} {rng.choice(['High Street', 'Church Lane', 'Station Road', 'Mill Road', 'Park Avenue'])}"
        postcode = f"{rng.choice('ABCDEGHKLMNS')}{rng.randint(1, 29)} {rng.randint(1, 9)}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}"
        writers = rng.choice([10, 15, 20, 30, 40, 60, 80, 120, 200])
        created = _at(start - timedelta(days=rng.randint(5, 400)), rng)
        out.add(Group, (gid, name, gtype, status, country, region, contact, f"group{gid}@example.org",
                        f"07700 9{gid:05d}"[:13], line1, "", town, postcode, writers, created))
        email = COORDINATOR_EMAIL if i == 0 else f"coordinator{gid}@example.org"
        out.add(User, (ids.next(User), email, contact, password_hash, Role.COORDINATOR, gid,
                       status is GroupStatus.APPROVED, 1, created))
        users += 1
        if status is GroupStatus.APPROVED:
            groups.append((gid, contact, line1, town, postcode, country, writers))
        if i % 100 == 99:
            progress("groups", 100)
    progress("groups", n_groups % 100)

    # The report counter triggers (app/tracking/counters.py) are off while the rows stream in, inside
    # this transaction (writers wait, on SQLite and PostgreSQL alike); the demo adds to those counters
    # itself. group_case_cards' triggers (migration 0009) stay on: order lines are few (~50,000 at the
    # global scale), each written after its order with its cards_reported, so they fill it as they go.
    dialect = db.engine.dialect.name
    for statement in counters.uninstall(dialect):
        db.session.execute(sa.text(statement))
    per_day: dict[tuple[int, date], int] = defaultdict(int)
    per_group_day: dict[tuple[int, int, date], int] = defaultdict(int)
    reserved: dict[int, int] = {c.id: 0 for c in cases}
    collected: dict[int, int] = {c.id: 0 for c in cases}
    statuses, weights = zip(*STATUS_WEIGHTS)
    orders = packs_made = reports_made = 0
    for g_index, (gid, contact, line1, town, postcode, country, writers) in enumerate(groups):
        for o_index in range(rng.choice([1, 1, 1, 2])):
            # Cycle through every status first so even a tiny demo shows them all.
            seq = g_index * 2 + o_index
            status = statuses[seq] if seq < len(statuses) else rng.choices(statuses, weights)[0]
            oid = ids.next(Order)
            orders += 1
            created = _at(start + timedelta(days=rng.randint(-20, 25)), rng)
            submitted = created + timedelta(hours=rng.randint(1, 48)) if status is not OrderStatus.DRAFT else None
            notes = rng.choice(["", "", "Writeathon on Human Rights Day, 10 December.", "Please deliver to the school office.", "Our stall at the Christmas market."])
            comment = "Rejected: this group already has an order in progress." if status is OrderStatus.REJECTED else ""
            out.add(Order, (oid, campaign.id, gid, status, (created + timedelta(days=rng.randint(10, 30))).date(),
                            contact, line1, "", town, postcode, country, notes, comment, None, created,
                            submitted or created, submitted))
            dispatched_at = (submitted or created) + timedelta(days=rng.randint(2, 6))
            shipped = status in SHIPPED
            if shipped:
                carrier, url = rng.choice(CARRIERS)
                number = f"{rng.choice('ABCDEFGH')}{rng.choice('ABCDEFGH')}{rng.randint(10**8, 10**9 - 1)}GB"
                delivered = dispatched_at + timedelta(days=rng.randint(1, 4)) if status is OrderStatus.DELIVERED else None
                out.add(Shipment, (ids.next(Shipment), oid, carrier, number, url.format(n=number), dispatched_at, staff_id, delivered))
            for case in rng.sample(cases, k=min(len(cases), rng.choice([1, 2, 2, 3]))):
                size = rng.choice(sizes)
                if large:
                    packs = rng.randint(1, 2 * packs_per_line - 1)
                else:
                    packs = max(1, min(8, writers // size + rng.randint(0, 2)))
                line_id = ids.next(OrderLine)
                if status not in HAS_PACKS:
                    out.add(OrderLine, (line_id, oid, case.id, size, packs, packs, 0))
                    continue
                submitted = submitted or created  # statuses with packs were always submitted
                reserved[case.id] += packs * size
                packed_at = submitted + timedelta(hours=20)
                out.add(StockMovement, (ids.next(StockMovement), case.id, StockKind.RESERVATION, -packs * size, oid, None, "", staff_id, packed_at))
                tokens, codes = new_tokens(packs), new_codes(packs, taken_codes)
                # Groups write together (a class, a writeathon, a stall): a line's cards are reported on
                # a few writing days after the parcel arrives, not spread evenly over the weeks.
                writing_days = rng.sample(range(2, 31), k=rng.choice([1, 2, 2, 3, 4]))
                line_packs: list[tuple] = []
                line_reports: list[tuple] = []
                for n in range(packs):
                    pack_id = ids.next(Pack)
                    posted = 0
                    pack_reports: list[tuple] = []
                    if shipped and rng.random() < report_share:
                        posted = size if rng.random() < 0.5 else rng.randint(1, size)
                        remaining, parts = posted, rng.choice(report_parts)
                        for part in range(parts):
                            if remaining <= 0:
                                break
                            cards = remaining if part == parts - 1 else rng.randint(1, remaining)
                            remaining -= cards
                            when = _at(min(end, dispatched_at.date() + timedelta(days=rng.choice(writing_days))), rng)
                            _add_report(pack_reports, ids, rng, pack_id, case.id, size, cards, when, staff_id)
                        posted -= remaining
                        collected[case.id] += posted
                    line_packs.append((pack_id, case.id, line_id, size, tokens[n], codes[n], posted, packed_at))
                    line_reports += pack_reports
                # Parents first (a buffer may be written out at any add), with the line's counter.
                out.add(OrderLine, (line_id, oid, case.id, size, packs, packs, sum(p[6] for p in line_packs)))
                for row in line_packs:
                    out.add(Pack, row)
                for row in line_reports:
                    out.add(Report, row)
                    if not row[8]:  # counted (not voided): the day counters
                        day = row[6].date()
                        per_day[(case.id, day)] += row[3]
                        per_group_day[(gid, case.id, day)] += row[3]
                reports_made += len(line_reports)
                packs_made += len(line_packs)
        if g_index % 100 == 99:
            progress("orders", 100)
    progress("orders", n_groups - len(groups) + len(groups) % 100)

    # Stock: one print run per case, comfortably above what orders reserved.
    mailings = 0
    printed_total: dict[int, int] = {}
    for case in cases:
        printed = max(case.target, reserved[case.id]) + 5000
        printed_total[case.id] = printed
        run_id = ids.next(PrintRun)
        printed_at = _at(start - timedelta(days=30), rng)
        out.add(PrintRun, (run_id, case.id, printed, "Campaign print house", "First print run", staff_id, printed_at))
        out.add(StockMovement, (ids.next(StockMovement), case.id, StockKind.PRINT_RUN, printed, None, run_id, "", staff_id, printed_at))
        # Mailings: cards collected at the office, forwarded to the case (never more than were reported).
        for m in range(rng.randint(1, 3)):
            quantity = collected[case.id] * rng.randint(15, 30) // 100
            if quantity <= 0:
                break
            status = [MailingStatus.ACKNOWLEDGED, MailingStatus.DELIVERED, MailingStatus.SENT, MailingStatus.PREPARED][min(m + rng.randint(0, 1), 3)]
            prepared = end - timedelta(days=rng.randint(5, 25))
            out.add(Mailing, (
                ids.next(Mailing), case.id, quantity, rng.choice(list(MailingContent)),
                rng.choice([MailingDestination.FAMILY, MailingDestination.PARTNER, MailingDestination.EMBASSY]),
                f"Partner organisation for {case.name}", "DHL Express", f"JD0146000{rng.randint(10**8, 10**9 - 1)}",
                status, prepared, prepared + timedelta(days=2) if status is not MailingStatus.PREPARED else None,
                prepared + timedelta(days=9) if status in (MailingStatus.DELIVERED, MailingStatus.ACKNOWLEDGED) else None,
                prepared + timedelta(days=20) if status is MailingStatus.ACKNOWLEDGED else None,
                "", staff_id, _at(prepared, rng),
            ))
            mailings += 1

    out.flush()
    _add_to_counters(per_day, per_group_day)
    for statement in counters.install(dialect):
        db.session.execute(sa.text(statement))
    progress("saved", len(COLUMNS))
    for case in cases:
        db.session.execute(
            sa.update(Case).where(Case.id == case.id).values(
                stock_printed=Case.stock_printed + printed_total[case.id],
                stock_reserved=Case.stock_reserved + reserved[case.id],
            )
        )
    _reset_sequences(ids.models())
    db.session.commit()
    # Fresh planner statistics for tables that just grew a million rows: without them SQLite joins
    # the dashboard's filtered figures in a poor order (2x slower on the global demo).
    db.session.execute(sa.text("ANALYZE"))
    db.session.commit()
    return DemoResult(groups=n_groups, users=users, orders=orders, packs=packs_made, reports=reports_made, mailings=mailings)


def _add_to_counters(per_day: dict[tuple[int, date], int], per_group_day: dict[tuple[int, int, date], int]) -> None:
    """Add the demo's reports to the day counters (upserts: rows may exist from earlier reports)."""
    upsert = sqlite_insert if db.engine.dialect.name == "sqlite" else postgresql_insert
    day_rows = [dict(case_id=c, day=d, cards=n) for (c, d), n in sorted(per_day.items())]
    group_rows = [dict(group_id=g, case_id=c, day=d, cards=n) for (g, c, d), n in sorted(per_group_day.items())]
    for model, rows, keys in ((ReportDay, day_rows, ["case_id", "day"]), (GroupReportDay, group_rows, ["group_id", "case_id", "day"])):
        statement = upsert(model)
        statement = statement.on_conflict_do_update(index_elements=keys, set_={"cards": model.cards + statement.excluded.cards})
        for i in range(0, len(rows), 5000):
            db.session.execute(statement, rows[i:i + 5000])


VOID_REASONS = ["Reported twice by the same class.", "Typed 52 instead of 25.", "Test entry at the stall."]


def _add_report(out: list[tuple], ids: _Ids, rng: random.Random, pack_id: int, case_id: int, size: int,
                cards: int, when: datetime, staff_id: int) -> None:
    """Report rows for `cards` that count: one report, sometimes after a voided duplicate, sometimes a
    staff correction of a voided wrong number."""
    source = rng.choices([ReportSource.PAGE, ReportSource.SCAN], weights=[85, 15])[0]
    roll = rng.random()
    if roll < 0.02:  # a correction: the wrong number was voided and replaced by staff
        wrong_id = ids.next(Report)
        out.append((wrong_id, pack_id, case_id, rng.randint(1, size), source, _key(rng), when, None,
                    True, when + timedelta(hours=2), staff_id, "Wrong number: corrected.", None))
        later = when + timedelta(hours=2)
        out.append((ids.next(Report), pack_id, case_id, cards, ReportSource.STAFF, f"correction-of-{wrong_id}",
                    later, staff_id, False, None, None, "", wrong_id))
        return
    if roll < 0.04:  # a duplicate, voided by staff
        out.append((ids.next(Report), pack_id, case_id, cards, source, _key(rng), when, None,
                    True, when + timedelta(days=1), staff_id, rng.choice(VOID_REASONS), None))
        out.append((ids.next(Report), pack_id, case_id, cards, source, _key(rng), when + timedelta(minutes=1),
                    None, False, None, None, "", None))
        return
    out.append((ids.next(Report), pack_id, case_id, cards, source, _key(rng), when, None, False, None, None, "", None))


def _key(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128)))


def _reset_sequences(models: list[type]) -> None:
    """After inserts with explicit ids, move PostgreSQL's id sequences past them."""
    if db.engine.dialect.name != "postgresql":
        return
    for model in models:
        table = model.__tablename__
        db.session.execute(
            sa.text(f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), (SELECT MAX(id) FROM \"{table}\"))")  # nosec B608 - table names come from our models
        )
