"""The data model: typed SQLAlchemy 2.0 models holding data and invariants; services do the work.

Invariants live in the database too (CHECK, UNIQUE, NOT NULL, foreign keys), so no code path,
CLI script or concurrent writer can break them.
"""

from __future__ import annotations

import enum
from datetime import date, datetime, timezone
from typing import Any, Optional

import sqlalchemy as sa
import sqlalchemy.orm as so

from .extensions import db


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(sa.types.TypeDecorator):
    """Timezone-aware UTC datetimes on every database (SQLite stores them naive)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Optional[datetime], dialect) -> Optional[datetime]:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass an aware UTC datetime")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Optional[datetime], dialect) -> Optional[datetime]:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value


def _enum(cls: type[enum.Enum], name: str) -> sa.Enum:
    """Store enums as their values in a VARCHAR with a CHECK constraint (portable, readable)."""
    return sa.Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=20,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )


def _created() -> so.Mapped[datetime]:
    return so.mapped_column(UTCDateTime(), default=utcnow, nullable=False)


class Role(str, enum.Enum):
    STAFF = "staff"
    COORDINATOR = "coordinator"


class GroupType(str, enum.Enum):
    LOCAL = "local"
    SCHOOL = "school"
    UNIVERSITY = "university"
    FAITH = "faith"
    WORKPLACE = "workplace"
    OTHER = "other"

    @property
    def label(self) -> str:
        return {
            "local": "Local group",
            "school": "School",
            "university": "University or student group",
            "faith": "Faith group",
            "workplace": "Workplace group",
            "other": "Other",
        }[self.value]


class GroupStatus(str, enum.Enum):
    PENDING = "pending"
    APPROVED = "approved"
    DISABLED = "disabled"


class CaseStatus(str, enum.Enum):
    ACTIVE = "active"
    ARCHIVED = "archived"


class OrderStatus(str, enum.Enum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    ON_HOLD = "on_hold"
    APPROVED = "approved"
    PACKED = "packed"
    DISPATCHED = "dispatched"
    DELIVERED = "delivered"
    REJECTED = "rejected"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


# Statuses whose cards count as "ordered" in public totals: staff have accepted the order.
ORDERED_STATUSES = (
    OrderStatus.APPROVED,
    OrderStatus.PACKED,
    OrderStatus.DISPATCHED,
    OrderStatus.DELIVERED,
)
DISPATCHED_STATUSES = (OrderStatus.DISPATCHED, OrderStatus.DELIVERED)


class StockKind(str, enum.Enum):
    PRINT_RUN = "print_run"
    ADJUSTMENT = "adjustment"
    RESERVATION = "reservation"
    RELEASE = "release"


class ReportSource(str, enum.Enum):
    PAGE = "page"
    SCAN = "scan"
    API = "api"
    STAFF = "staff"


class MailingContent(str, enum.Enum):
    SOLIDARITY = "solidarity"
    APPEALS = "appeals"


class MailingDestination(str, enum.Enum):
    PERSON = "person"
    FAMILY = "family"
    PARTNER = "partner"
    EMBASSY = "embassy"
    AUTHORITY = "authority"


class MailingStatus(str, enum.Enum):
    PREPARED = "prepared"
    SENT = "sent"
    DELIVERED = "delivered"
    ACKNOWLEDGED = "acknowledged"


# Mailings count towards a case's public "mailed" total once they have left the office.
MAILED_STATUSES = (MailingStatus.SENT, MailingStatus.DELIVERED, MailingStatus.ACKNOWLEDGED)


class Campaign(db.Model):
    __tablename__ = "campaign"
    __table_args__ = (sa.CheckConstraint("ends_on >= starts_on", name="dates_ordered"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    slug: so.Mapped[str] = so.mapped_column(sa.String(80), unique=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(200))
    starts_on: so.Mapped[date]
    ends_on: so.Mapped[date]
    is_current: so.Mapped[bool] = so.mapped_column(default=False)
    created_at: so.Mapped[datetime] = _created()

    cases: so.Mapped[list[Case]] = so.relationship(
        back_populates="campaign", order_by="(Case.position, Case.id)"
    )
    pack_sizes: so.Mapped[list[PackSize]] = so.relationship(
        back_populates="campaign", order_by="PackSize.cards"
    )

    def __repr__(self) -> str:
        return f"<Campaign {self.slug}>"


# At most one current campaign, enforced by the database (partial unique index on both dialects).
sa.Index(
    "uq_campaign_one_current",
    Campaign.is_current,
    unique=True,
    sqlite_where=sa.text("is_current"),
    postgresql_where=sa.text("is_current"),
)


class PackSize(db.Model):
    """A pack size staff offer in a campaign, e.g. 10, 25 or 50 cards."""

    __tablename__ = "pack_size"
    __table_args__ = (
        sa.UniqueConstraint("campaign_id", "cards"),
        sa.CheckConstraint("cards > 0 AND cards <= 1000", name="cards_range"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    campaign_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("campaign.id", ondelete="CASCADE"))
    cards: so.Mapped[int]
    active: so.Mapped[bool] = so.mapped_column(default=True)

    campaign: so.Mapped[Campaign] = so.relationship(back_populates="pack_sizes")


class Case(db.Model):
    __tablename__ = "case"
    __table_args__ = (
        sa.CheckConstraint("target >= 0", name="target_nonnegative"),
        sa.CheckConstraint("stock_printed >= 0", name="stock_printed_nonnegative"),
        sa.CheckConstraint("stock_reserved >= 0", name="stock_reserved_nonnegative"),
        sa.Index("ix_case_campaign_position", "campaign_id", "position"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    campaign_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("campaign.id", ondelete="RESTRICT"))
    slug: so.Mapped[str] = so.mapped_column(sa.String(80), unique=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(200))
    country: so.Mapped[str] = so.mapped_column(sa.String(100))
    summary: so.Mapped[str] = so.mapped_column(sa.String(500))
    story: so.Mapped[str] = so.mapped_column(sa.Text)
    ask: so.Mapped[str] = so.mapped_column(sa.String(500))
    what_to_write: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    authority_name: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    authority_address: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    authority_address_is_placeholder: so.Mapped[bool] = so.mapped_column(default=True)
    solidarity_name: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    solidarity_address: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    solidarity_address_is_placeholder: so.Mapped[bool] = so.mapped_column(default=True)
    target: so.Mapped[int] = so.mapped_column(default=0)
    status: so.Mapped[CaseStatus] = so.mapped_column(
        _enum(CaseStatus, "case_status"), default=CaseStatus.ACTIVE
    )
    position: so.Mapped[int] = so.mapped_column(default=0)
    photo_path: so.Mapped[Optional[str]] = so.mapped_column(sa.String(200))
    photo_alt: so.Mapped[str] = so.mapped_column(sa.String(300), default="")
    # Card stock, changed only by atomic SQL in the stock service; the ledger is StockMovement.
    stock_printed: so.Mapped[int] = so.mapped_column(default=0)
    stock_reserved: so.Mapped[int] = so.mapped_column(default=0)
    created_at: so.Mapped[datetime] = _created()

    campaign: so.Mapped[Campaign] = so.relationship(back_populates="cases")
    outcomes: so.Mapped[list[OutcomeUpdate]] = so.relationship(
        back_populates="case", order_by="OutcomeUpdate.happened_on.desc()"
    )
    translations: so.Mapped[list["CaseTranslation"]] = so.relationship(
        back_populates="case", cascade="all, delete-orphan", passive_deletes=True, order_by="CaseTranslation.locale"
    )

    @property
    def stock_available(self) -> int:
        return self.stock_printed - self.stock_reserved

    def __repr__(self) -> str:
        return f"<Case {self.slug}>"


class CaseTranslation(db.Model):
    """A case's public texts in another language (fr, es, ar). An empty field shows the English one."""

    __tablename__ = "case_translation"
    __table_args__ = (sa.UniqueConstraint("case_id", "locale"),)

    TEXT_FIELDS = ("name", "country", "summary", "ask", "story", "what_to_write", "authority_name", "solidarity_name",
                   "photo_alt")

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    case_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("case.id", ondelete="CASCADE"))
    locale: so.Mapped[str] = so.mapped_column(sa.String(8))
    name: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    country: so.Mapped[str] = so.mapped_column(sa.String(100), default="")
    summary: so.Mapped[str] = so.mapped_column(sa.String(500), default="")
    ask: so.Mapped[str] = so.mapped_column(sa.String(500), default="")
    story: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    what_to_write: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    authority_name: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    solidarity_name: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    photo_alt: so.Mapped[str] = so.mapped_column(sa.String(300), default="")
    updated_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False)

    case: so.Mapped[Case] = so.relationship(back_populates="translations")

    def __repr__(self) -> str:
        return f"<CaseTranslation {self.case_id} {self.locale}>"


class OutcomeUpdate(db.Model):
    """News about a case, e.g. "released on 1 January", shown on the case page."""

    __tablename__ = "outcome_update"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    case_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("case.id", ondelete="CASCADE"), index=True
    )
    happened_on: so.Mapped[date]
    title: so.Mapped[str] = so.mapped_column(sa.String(200))
    body: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    created_at: so.Mapped[datetime] = _created()

    case: so.Mapped[Case] = so.relationship(back_populates="outcomes")


class Group(db.Model):
    """An organisation of volunteers. Contact and address are personal data."""

    __tablename__ = "group"
    __table_args__ = (
        sa.CheckConstraint("expected_writers >= 0 AND expected_writers <= 1000000", name="writers_range"),
        sa.Index("ix_group_country_region", "country", "region"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(200), unique=True)
    type: so.Mapped[GroupType] = so.mapped_column(_enum(GroupType, "group_type"))
    status: so.Mapped[GroupStatus] = so.mapped_column(
        _enum(GroupStatus, "group_status"), default=GroupStatus.PENDING, index=True
    )
    country: so.Mapped[str] = so.mapped_column(sa.String(100))
    region: so.Mapped[str] = so.mapped_column(sa.String(100), default="")
    contact_name: so.Mapped[str] = so.mapped_column(sa.String(200))
    contact_email: so.Mapped[str] = so.mapped_column(sa.String(254))
    contact_phone: so.Mapped[str] = so.mapped_column(sa.String(50), default="")
    address_line1: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    address_line2: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    city: so.Mapped[str] = so.mapped_column(sa.String(100), default="")
    postcode: so.Mapped[str] = so.mapped_column(sa.String(20), default="")
    expected_writers: so.Mapped[int] = so.mapped_column(default=0)
    created_at: so.Mapped[datetime] = _created()
    anonymised_at: so.Mapped[Optional[datetime]] = so.mapped_column(UTCDateTime())

    users: so.Mapped[list[User]] = so.relationship(back_populates="group")
    orders: so.WriteOnlyMapped[Order] = so.relationship(back_populates="group")

    def __repr__(self) -> str:
        return f"<Group {self.name}>"


class User(db.Model):
    __tablename__ = "user"
    __table_args__ = (
        sa.CheckConstraint(
            "(role = 'staff' AND group_id IS NULL) OR (role = 'coordinator' AND group_id IS NOT NULL)",
            name="role_group",
        ),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    email: so.Mapped[str] = so.mapped_column(sa.String(254), unique=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    password_hash: so.Mapped[Optional[str]] = so.mapped_column(sa.String(256))
    role: so.Mapped[Role] = so.mapped_column(_enum(Role, "user_role"))
    group_id: so.Mapped[Optional[int]] = so.mapped_column(
        sa.ForeignKey("group.id", ondelete="RESTRICT"), index=True
    )
    is_active: so.Mapped[bool] = so.mapped_column(default=True)
    # Bumped to end every session of this user (logout everywhere, disable, password change).
    session_version: so.Mapped[int] = so.mapped_column(default=1)
    created_at: so.Mapped[datetime] = _created()
    last_login_at: so.Mapped[Optional[datetime]] = so.mapped_column(UTCDateTime())

    group: so.Mapped[Optional[Group]] = so.relationship(back_populates="users")

    @property
    def is_staff(self) -> bool:
        return self.role is Role.STAFF

    # Flask-Login protocol. The id carries the session version, so bumping it ends every session.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    @property
    def can_log_in(self) -> bool:
        """Active, has a password, and (for coordinators) their group is approved."""
        if not self.is_active or not self.password_hash:
            return False
        return self.is_staff or (self.group is not None and self.group.status is GroupStatus.APPROVED)

    def __repr__(self) -> str:
        return f"<User {self.email}>"


class Order(db.Model):
    __tablename__ = "order"
    __table_args__ = (
        sa.Index("ix_order_campaign_status", "campaign_id", "status"),
        sa.Index("ix_order_group_campaign", "group_id", "campaign_id"),
        # Orders placed in a date range: COALESCE(submitted_at, created_at), see stats._placed_in_range.
        sa.Index("ix_order_placed", "submitted_at", "created_at"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    campaign_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("campaign.id", ondelete="RESTRICT"))
    group_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("group.id", ondelete="RESTRICT"))
    status: so.Mapped[OrderStatus] = so.mapped_column(
        _enum(OrderStatus, "order_status"), default=OrderStatus.DRAFT
    )
    needed_by: so.Mapped[Optional[date]]
    delivery_name: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    delivery_line1: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    delivery_line2: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    delivery_city: so.Mapped[str] = so.mapped_column(sa.String(100), default="")
    delivery_postcode: so.Mapped[str] = so.mapped_column(sa.String(20), default="")
    delivery_country: so.Mapped[str] = so.mapped_column(sa.String(100), default="")
    notes: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    staff_comment: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    created_by_id: so.Mapped[Optional[int]] = so.mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL")
    )
    created_at: so.Mapped[datetime] = _created()
    updated_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    submitted_at: so.Mapped[Optional[datetime]] = so.mapped_column(UTCDateTime())

    campaign: so.Mapped[Campaign] = so.relationship()
    group: so.Mapped[Group] = so.relationship(back_populates="orders")
    lines: so.Mapped[list[OrderLine]] = so.relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="OrderLine.id"
    )
    shipments: so.Mapped[list[Shipment]] = so.relationship(
        back_populates="order", order_by="Shipment.id"
    )

    @property
    def total_cards(self) -> int:
        return sum(line.cards for line in self.lines)

    @property
    def total_packs(self) -> int:
        return sum(line.packs for line in self.lines)


class OrderLine(db.Model):
    """Packs of one size for one case within an order."""

    __tablename__ = "order_line"
    __table_args__ = (
        sa.UniqueConstraint("order_id", "case_id", "pack_size"),
        sa.CheckConstraint("packs >= 0 AND packs <= 10000", name="packs_range"),
        sa.CheckConstraint("requested_packs >= 0 AND requested_packs <= 10000", name="requested_range"),
        sa.CheckConstraint("pack_size > 0 AND pack_size <= 1000", name="pack_size_range"),
        sa.Index("ix_order_line_case", "case_id"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    order_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("order.id", ondelete="CASCADE"))
    case_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("case.id", ondelete="RESTRICT"))
    pack_size: so.Mapped[int]
    packs: so.Mapped[int]
    # What the coordinator asked for; `packs` is what staff approved (they may adjust it).
    requested_packs: so.Mapped[int]
    # Sum of the line's packs' cards_posted, kept by database triggers (app/tracking/counters.py).
    cards_reported: so.Mapped[int] = so.mapped_column(default=0, server_default="0")

    order: so.Mapped[Order] = so.relationship(back_populates="lines")
    case: so.Mapped[Case] = so.relationship()
    pack_list: so.WriteOnlyMapped[Pack] = so.relationship(back_populates="order_line", passive_deletes=True)

    @property
    def cards(self) -> int:
        return self.packs * self.pack_size


class PrintRun(db.Model):
    """Cards printed for a case; optionally with pre-printed pack labels not yet assigned."""

    __tablename__ = "print_run"
    __table_args__ = (sa.CheckConstraint("cards > 0", name="cards_positive"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    case_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("case.id", ondelete="RESTRICT"), index=True)
    cards: so.Mapped[int]
    printer: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    note: so.Mapped[str] = so.mapped_column(sa.String(500), default="")
    created_by_id: so.Mapped[Optional[int]] = so.mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    created_at: so.Mapped[datetime] = _created()

    case: so.Mapped[Case] = so.relationship()


class StockMovement(db.Model):
    """The stock ledger: print runs and adjustments add, reservations take, releases give back."""

    __tablename__ = "stock_movement"
    __table_args__ = (
        sa.CheckConstraint("quantity <> 0", name="quantity_nonzero"),
        sa.Index("ix_stock_movement_case_created", "case_id", "created_at"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    case_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("case.id", ondelete="RESTRICT"))
    kind: so.Mapped[StockKind] = so.mapped_column(_enum(StockKind, "stock_kind"))
    quantity: so.Mapped[int]
    order_id: so.Mapped[Optional[int]] = so.mapped_column(
        sa.ForeignKey("order.id", ondelete="SET NULL"), index=True
    )
    print_run_id: so.Mapped[Optional[int]] = so.mapped_column(sa.ForeignKey("print_run.id", ondelete="SET NULL"))
    note: so.Mapped[str] = so.mapped_column(sa.String(500), default="")
    created_by_id: so.Mapped[Optional[int]] = so.mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    created_at: so.Mapped[datetime] = _created()


class Pack(db.Model):
    """One bundle of printed cards for one case, identified by a secret token and a short code."""

    __tablename__ = "pack"
    __table_args__ = (
        sa.CheckConstraint("size > 0 AND size <= 1000", name="size_range"),
        sa.CheckConstraint("cards_posted >= 0 AND cards_posted <= size", name="posted_within_size"),
        sa.Index("ix_pack_case", "case_id"),
        sa.Index("ix_pack_order_line", "order_line_id"),
        sa.Index("ix_pack_print_run", "print_run_id"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    case_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("case.id", ondelete="RESTRICT"))
    order_line_id: so.Mapped[Optional[int]] = so.mapped_column(
        sa.ForeignKey("order_line.id", ondelete="RESTRICT")
    )
    print_run_id: so.Mapped[Optional[int]] = so.mapped_column(
        sa.ForeignKey("print_run.id", ondelete="SET NULL")
    )
    size: so.Mapped[int]
    token: so.Mapped[str] = so.mapped_column(sa.String(32), unique=True)
    code: so.Mapped[str] = so.mapped_column(sa.String(16), unique=True)
    # Changed only by an atomic conditional UPDATE in the same transaction as the report row.
    cards_posted: so.Mapped[int] = so.mapped_column(default=0)
    created_at: so.Mapped[datetime] = _created()
    reissued_at: so.Mapped[Optional[datetime]] = so.mapped_column(UTCDateTime())

    case: so.Mapped[Case] = so.relationship()
    order_line: so.Mapped[Optional[OrderLine]] = so.relationship(back_populates="pack_list")

    @property
    def cards_left(self) -> int:
        return self.size - self.cards_posted


class LabelJobStatus(str, enum.Enum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class LabelJob(db.Model):
    """A big label PDF rendered in the background; the file lives in instance/labels/."""

    __tablename__ = "label_job"
    __table_args__ = (
        sa.CheckConstraint("done >= 0 AND done <= total", name="done_within_total"),
        sa.Index("ix_label_job_created", "created_at"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    created_by_id: so.Mapped[Optional[int]] = so.mapped_column(
        sa.ForeignKey("user.id", ondelete="CASCADE"), index=True
    )
    # The group whose packs a coordinator may print; NULL for staff (every pack).
    group_id: so.Mapped[Optional[int]] = so.mapped_column(sa.ForeignKey("group.id", ondelete="CASCADE"))
    # What to print: the selection and the sheet options, as plain JSON.
    params: so.Mapped[dict[str, Any]] = so.mapped_column(sa.JSON)
    status: so.Mapped[LabelJobStatus] = so.mapped_column(
        _enum(LabelJobStatus, "label_job_status"), default=LabelJobStatus.QUEUED
    )
    total: so.Mapped[int] = so.mapped_column(default=0)
    done: so.Mapped[int] = so.mapped_column(default=0)
    filename: so.Mapped[str] = so.mapped_column(sa.String(100), default="")
    error: so.Mapped[str] = so.mapped_column(sa.String(500), default="")
    created_at: so.Mapped[datetime] = _created()
    updated_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    finished_at: so.Mapped[Optional[datetime]] = so.mapped_column(UTCDateTime())


class Report(db.Model):
    """"N cards from this pack were posted"; voided reports no longer count."""

    __tablename__ = "report"
    __table_args__ = (
        sa.CheckConstraint("cards > 0 AND cards <= 1000", name="cards_range"),
        sa.Index("ix_report_pack", "pack_id"),
        sa.Index("ix_report_case_created", "case_id", "created_at"),
        sa.Index("ix_report_created", "created_at"),
        # Covers the totals (per case, per day, per pack) so they read the index alone, not the table.
        sa.Index("ix_report_totals", "case_id", "voided", "created_at", "cards", "pack_id"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    pack_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("pack.id", ondelete="RESTRICT"))
    # Denormalised from the pack (which never changes case) for per-case aggregates without a join.
    case_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("case.id", ondelete="RESTRICT"))
    cards: so.Mapped[int]
    source: so.Mapped[ReportSource] = so.mapped_column(_enum(ReportSource, "report_source"))
    idempotency_key: so.Mapped[str] = so.mapped_column(sa.String(100), unique=True, nullable=False)
    created_at: so.Mapped[datetime] = _created()
    created_by_id: so.Mapped[Optional[int]] = so.mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    voided: so.Mapped[bool] = so.mapped_column(default=False)
    voided_at: so.Mapped[Optional[datetime]] = so.mapped_column(UTCDateTime())
    voided_by_id: so.Mapped[Optional[int]] = so.mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    void_reason: so.Mapped[str] = so.mapped_column(sa.String(500), default="")
    # A correction voids the original and records a new report pointing back to it.
    corrects_id: so.Mapped[Optional[int]] = so.mapped_column(sa.ForeignKey("report.id", ondelete="SET NULL"))

    pack: so.Mapped[Pack] = so.relationship()


class ReportDay(db.Model):
    """Cards reported (reports not voided) per case and UTC day: a counter table kept by database
    triggers on `report` in the same transaction (app/tracking/counters.py). Read-only for the app."""

    __tablename__ = "report_day"

    case_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("case.id", ondelete="CASCADE"), primary_key=True)
    day: so.Mapped[date] = so.mapped_column(primary_key=True)
    cards: so.Mapped[int] = so.mapped_column(default=0)


class GroupReportDay(db.Model):
    """Cards reported per group, case and UTC day (packs on an order line only), kept by database
    triggers on `report` and `pack` in the same transaction. Read-only for the app."""

    __tablename__ = "group_report_day"
    # Figures of a date range read its days' rows from this index alone (migration 0009).
    __table_args__ = (sa.Index("ix_group_report_day_case_day", "case_id", "day", "group_id", "cards"),)

    group_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("group.id", ondelete="CASCADE"), primary_key=True)
    case_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("case.id", ondelete="CASCADE"), primary_key=True)
    day: so.Mapped[date] = so.mapped_column(primary_key=True)
    cards: so.Mapped[int] = so.mapped_column(default=0)


class GroupCaseCards(db.Model):
    """Per group and case, what the order lines add up to (migration 0009), kept by database triggers on
    `order_line` and `order` in the same transaction: lines of orders staff accepted and their cards
    (ordered), cards of dispatched or delivered orders, and the lines' cards_reported (any status).
    Read-only for the app."""

    __tablename__ = "group_case_cards"
    __table_args__ = (sa.Index("ix_group_case_cards_case", "case_id"),)

    group_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("group.id", ondelete="CASCADE"), primary_key=True)
    case_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("case.id", ondelete="CASCADE"), primary_key=True)
    accepted_lines: so.Mapped[int] = so.mapped_column(default=0, server_default="0")
    ordered: so.Mapped[int] = so.mapped_column(default=0, server_default="0")
    dispatched: so.Mapped[int] = so.mapped_column(default=0, server_default="0")
    reported: so.Mapped[int] = so.mapped_column(default=0, server_default="0")


class Shipment(db.Model):
    """A parcel sent to a group for an order."""

    __tablename__ = "shipment"
    # Parcels that left in a date range (orders first dispatched in it, see stats._first_dispatched_in_range).
    __table_args__ = (sa.Index("ix_shipment_dispatched", "dispatched_at", "order_id"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    order_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("order.id", ondelete="RESTRICT"), index=True)
    carrier: so.Mapped[str] = so.mapped_column(sa.String(100))
    tracking_number: so.Mapped[str] = so.mapped_column(sa.String(100), default="")
    tracking_url: so.Mapped[str] = so.mapped_column(sa.String(500), default="")
    dispatched_at: so.Mapped[datetime] = _created()
    delivered_at: so.Mapped[Optional[datetime]] = so.mapped_column(UTCDateTime())
    delivery_confirmed_by_id: so.Mapped[Optional[int]] = so.mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL")
    )
    created_by_id: so.Mapped[Optional[int]] = so.mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))

    order: so.Mapped[Order] = so.relationship(back_populates="shipments")


mailing_pack = sa.Table(
    "mailing_pack",
    db.metadata,
    sa.Column("mailing_id", sa.ForeignKey("mailing.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("pack_id", sa.ForeignKey("pack.id", ondelete="CASCADE"), primary_key=True),
)


class Mailing(db.Model):
    """Staff forwarding a batch of collected cards to a case."""

    __tablename__ = "mailing"
    __table_args__ = (
        sa.CheckConstraint("quantity > 0 AND quantity <= 10000000", name="quantity_range"),
        sa.Index("ix_mailing_case_status", "case_id", "status"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    case_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("case.id", ondelete="RESTRICT"))
    quantity: so.Mapped[int]
    content: so.Mapped[MailingContent] = so.mapped_column(_enum(MailingContent, "mailing_content"))
    destination_type: so.Mapped[MailingDestination] = so.mapped_column(
        _enum(MailingDestination, "mailing_destination")
    )
    destination: so.Mapped[str] = so.mapped_column(sa.String(300))
    carrier: so.Mapped[str] = so.mapped_column(sa.String(100), default="")
    tracking_number: so.Mapped[str] = so.mapped_column(sa.String(100), default="")
    status: so.Mapped[MailingStatus] = so.mapped_column(
        _enum(MailingStatus, "mailing_status"), default=MailingStatus.PREPARED
    )
    prepared_on: so.Mapped[Optional[date]]
    sent_on: so.Mapped[Optional[date]]
    delivered_on: so.Mapped[Optional[date]]
    acknowledged_on: so.Mapped[Optional[date]]
    notes: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    created_by_id: so.Mapped[Optional[int]] = so.mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    created_at: so.Mapped[datetime] = _created()

    case: so.Mapped[Case] = so.relationship()
    packs: so.Mapped[list[Pack]] = so.relationship(secondary=mailing_pack)


class AuditEvent(db.Model):
    """Who changed what, when, from what to what. Append-only."""

    __tablename__ = "audit_event"
    __table_args__ = (
        sa.Index("ix_audit_object", "object_type", "object_id"),
        sa.Index("ix_audit_created", "created_at"),
        sa.Index("ix_audit_actor", "actor_id"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    created_at: so.Mapped[datetime] = _created()
    actor_id: so.Mapped[Optional[int]] = so.mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    actor_label: so.Mapped[str] = so.mapped_column(sa.String(254), default="system")
    action: so.Mapped[str] = so.mapped_column(sa.String(80))
    object_type: so.Mapped[str] = so.mapped_column(sa.String(40))
    object_id: so.Mapped[Optional[int]]
    before: so.Mapped[Optional[dict[str, Any]]] = so.mapped_column(sa.JSON)
    after: so.Mapped[Optional[dict[str, Any]]] = so.mapped_column(sa.JSON)
    comment: so.Mapped[str] = so.mapped_column(sa.Text, default="")

    actor: so.Mapped[Optional[User]] = so.relationship(lazy="joined")

    @property
    def actor_name(self) -> str:
        """Who did it, for people: the user's email while they exist, else the role recorded."""
        return self.actor.email if self.actor is not None else self.actor_label


class ApiToken(db.Model):
    """A bearer token for the API; only its SHA-256 hash is stored."""

    __tablename__ = "api_token"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(100), default="")
    prefix: so.Mapped[str] = so.mapped_column(sa.String(12))
    token_hash: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    created_at: so.Mapped[datetime] = _created()
    last_used_at: so.Mapped[Optional[datetime]] = so.mapped_column(UTCDateTime())
    revoked_at: so.Mapped[Optional[datetime]] = so.mapped_column(UTCDateTime())

    user: so.Mapped[User] = so.relationship()


class OutboxEmail(db.Model):
    """Every email the app sends; in development (no SMTP) staff read them here."""

    __tablename__ = "outbox_email"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    to: so.Mapped[str] = so.mapped_column(sa.String(254), index=True)
    subject: so.Mapped[str] = so.mapped_column(sa.String(300))
    body: so.Mapped[str] = so.mapped_column(sa.Text)
    created_at: so.Mapped[datetime] = _created()
    sent_at: so.Mapped[Optional[datetime]] = so.mapped_column(UTCDateTime())


class WebhookStatus(str, enum.Enum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class Webhook(db.Model):
    """A URL that receives signed event notifications (HMAC-SHA256 with its secret)."""

    __tablename__ = "webhook"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    url: so.Mapped[str] = so.mapped_column(sa.String(500))
    # Kept as given: signing needs the secret itself (staff see only its first characters).
    secret: so.Mapped[str] = so.mapped_column(sa.String(128))
    events: so.Mapped[list[str]] = so.mapped_column(sa.JSON, default=list)
    active: so.Mapped[bool] = so.mapped_column(default=True)
    created_by_id: so.Mapped[Optional[int]] = so.mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    created_at: so.Mapped[datetime] = _created()


class WebhookDelivery(db.Model):
    """One event for one webhook: queued in the transaction that caused it, sent later with retries."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        sa.Index("ix_webhook_delivery_due", "status", "next_attempt_at"),
        sa.Index("ix_webhook_delivery_webhook", "webhook_id", "id"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    webhook_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("webhook.id", ondelete="CASCADE"))
    event: so.Mapped[str] = so.mapped_column(sa.String(60))
    payload: so.Mapped[dict[str, Any]] = so.mapped_column(sa.JSON)
    status: so.Mapped[WebhookStatus] = so.mapped_column(
        _enum(WebhookStatus, "webhook_status"), default=WebhookStatus.PENDING
    )
    attempts: so.Mapped[int] = so.mapped_column(default=0)
    next_attempt_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)
    last_status_code: so.Mapped[Optional[int]]
    last_error: so.Mapped[str] = so.mapped_column(sa.String(500), default="")
    created_at: so.Mapped[datetime] = _created()
    delivered_at: so.Mapped[Optional[datetime]] = so.mapped_column(UTCDateTime())

    webhook: so.Mapped[Webhook] = so.relationship()


class Reminder(db.Model):
    """A chase-list email to a group's coordinators about dispatched packs with no report yet."""

    __tablename__ = "reminder"
    __table_args__ = (
        sa.CheckConstraint("packs >= 0", name="packs_nonnegative"),
        sa.Index("ix_reminder_group_sent", "group_id", "sent_at"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    group_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("group.id", ondelete="CASCADE"))
    sent_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)
    sent_by_id: so.Mapped[Optional[int]] = so.mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    # How many unreported packs the email listed.
    packs: so.Mapped[int]
    recipients: so.Mapped[int] = so.mapped_column(default=0)

    group: so.Mapped[Group] = so.relationship()
