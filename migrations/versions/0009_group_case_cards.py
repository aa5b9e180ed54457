"""group case cards: ordered, dispatched and reported cards per group and case, kept by triggers

Revision ID: 0009_group_case_cards
Revises: 0008_report_counters

The reconciliation page (per group and case, sorted by unreported cards) summed every order line of
the campaign per request: 190 ms (p50) on the `global` demo, over the 150 ms goal on both databases.
`group_case_cards` holds, per group and case, what that sum gave:

- accepted_lines: order lines of orders staff accepted (approved, packed, dispatched, delivered);
- ordered:        their cards (packs x pack size);
- dispatched:     cards on lines of dispatched or delivered orders;
- reported:       the sum of order_line.cards_reported of all the pair's lines (any order status).

Triggers keep it in the transaction that changes an order line (insert, delete, packs, pack size,
case, order, cards_reported: the report counters of 0008 change that column, so reports, voids and
corrections reach it) or an order (status, group; a deleted order takes its lines off first). Every
change is an atomic upsert (`n = n + k`). On SQLite row triggers; on PostgreSQL statement triggers
with transition tables (a bulk COPY does one grouped upsert, ordered by key), except the row trigger
BEFORE DELETE on "order" (its lines are still there; the cascade that deletes them finds no order).

Indexes for date ranges, so a range reads its own rows: orders placed in it (submitted_at,
created_at), parcels that left in it (shipment dispatched_at, order_id), and its days' report
counters from the index alone (group_report_day case_id, day, group_id, cards).

The DDL is written out here on purpose: a migration must not change when the app's code does.
"""
import sqlalchemy as sa
from alembic import op

revision = "0009_group_case_cards"
down_revision = "0008_report_counters"
branch_labels = None
depends_on = None

ACCEPTED = "('approved', 'packed', 'dispatched', 'delivered')"
DISPATCHED = "('dispatched', 'delivered')"
FIGURES = ("accepted_lines", "ordered", "dispatched", "reported")


def _line_figures(line: str, status: str, sign: str = "", total: str = "") -> str:
    """accepted_lines, ordered, dispatched, reported of order line `line` on an order in `status`;
    with total="SUM", of all the lines of the query."""
    cards = f"{line}.packs * {line}.pack_size"
    figures = (
        f"CASE WHEN {status} IN {ACCEPTED} THEN 1 ELSE 0 END",
        f"CASE WHEN {status} IN {ACCEPTED} THEN {cards} ELSE 0 END",
        f"CASE WHEN {status} IN {DISPATCHED} THEN {cards} ELSE 0 END",
        f"{line}.cards_reported",
    )
    return ", ".join(f"{sign}{total}({figure})" for figure in figures)


def _upsert(alias: str = "") -> str:
    target = alias or "group_case_cards"
    sets = ", ".join(f"{name} = {target}.{name} + excluded.{name}" for name in FIGURES)
    return f"ON CONFLICT (group_id, case_id) DO UPDATE SET {sets}"


INSERT = "INSERT INTO group_case_cards (group_id, case_id, accepted_lines, ordered, dispatched, reported) "
INSERT_AS_T = "INSERT INTO group_case_cards AS t (group_id, case_id, accepted_lines, ordered, dispatched, reported) "

# --- SQLite: row triggers ---------------------------------------------------------------------------


def _sqlite_line(row: str, sign: str) -> str:
    """Add (sign '') or take off (sign '-') the figures of order line `row` (NEW or OLD)."""
    return (
        f"{INSERT}SELECT o.group_id, {row}.case_id, {_line_figures(row, 'o.status', sign)} "
        f'FROM "order" o WHERE o.id = {row}.order_id {_upsert()};'
    )


def _sqlite_order(row: str, sign: str) -> str:
    """Add or take off the figures of all the lines of order `row`, as if its status and group were `row`'s."""
    return (
        f"{INSERT}SELECT {row}.group_id, l.case_id, {_line_figures('l', f'{row}.status', sign, total='SUM')} "
        f"FROM order_line l WHERE l.order_id = {row}.id GROUP BY l.case_id {_upsert()};"
    )


SQLITE_TRIGGERS = (
    "CREATE TRIGGER group_case_cards_line_insert AFTER INSERT ON order_line "
    f"BEGIN {_sqlite_line('NEW', '')} END",
    "CREATE TRIGGER group_case_cards_line_delete AFTER DELETE ON order_line "
    f"BEGIN {_sqlite_line('OLD', '-')} END",
    "CREATE TRIGGER group_case_cards_line_update AFTER UPDATE OF order_id, case_id, packs, pack_size, cards_reported "
    "ON order_line WHEN OLD.order_id IS NOT NEW.order_id OR OLD.case_id IS NOT NEW.case_id "
    "OR OLD.packs IS NOT NEW.packs OR OLD.pack_size IS NOT NEW.pack_size OR OLD.cards_reported IS NOT NEW.cards_reported "
    f"BEGIN {_sqlite_line('OLD', '-')} {_sqlite_line('NEW', '')} END",
    'CREATE TRIGGER group_case_cards_order_update AFTER UPDATE OF status, group_id ON "order" '
    "WHEN OLD.status IS NOT NEW.status OR OLD.group_id IS NOT NEW.group_id "
    f"BEGIN {_sqlite_order('OLD', '-')} {_sqlite_order('NEW', '')} END",
    'CREATE TRIGGER group_case_cards_order_delete BEFORE DELETE ON "order" '
    f"BEGIN {_sqlite_order('OLD', '-')} END",
)
SQLITE_DROP = tuple(
    f"DROP TRIGGER IF EXISTS {name}" for name in (
        "group_case_cards_line_insert", "group_case_cards_line_delete", "group_case_cards_line_update",
        "group_case_cards_order_update", "group_case_cards_order_delete")
)

# --- PostgreSQL: statement triggers with transition tables ------------------------------------------


def _pg_lines(*sides: tuple[str, str]) -> str:
    """Upsert the signed figures of the order lines in the transition tables (their orders as they are now)."""
    changes = " UNION ALL ".join(
        f"SELECT order_id, case_id, packs * pack_size AS cards, cards_reported, {sign}1 AS sign FROM {table}"
        for table, sign in sides
    )
    sums = (
        f"SUM(c.sign * CASE WHEN o.status IN {ACCEPTED} THEN 1 ELSE 0 END)",
        f"SUM(c.sign * CASE WHEN o.status IN {ACCEPTED} THEN c.cards ELSE 0 END)",
        f"SUM(c.sign * CASE WHEN o.status IN {DISPATCHED} THEN c.cards ELSE 0 END)",
        "SUM(c.sign * c.cards_reported)",
    )
    return (
        f"{INSERT_AS_T}SELECT o.group_id, c.case_id, {', '.join(sums)} "
        f'FROM ({changes}) c JOIN "order" o ON o.id = c.order_id GROUP BY o.group_id, c.case_id '
        f"HAVING {' OR '.join(f'{s} <> 0' for s in sums)} "
        f"ORDER BY 1, 2 {_upsert('t')}; "
    )


# Orders whose status or group changed: their lines leave the old (status, group) and join the new one.
_PG_ORDERS = (
    f"{INSERT_AS_T}SELECT c.group_id, l.case_id, "
    f"SUM(c.sign * CASE WHEN c.status IN {ACCEPTED} THEN 1 ELSE 0 END), "
    f"SUM(c.sign * CASE WHEN c.status IN {ACCEPTED} THEN l.packs * l.pack_size ELSE 0 END), "
    f"SUM(c.sign * CASE WHEN c.status IN {DISPATCHED} THEN l.packs * l.pack_size ELSE 0 END), "
    "SUM(c.sign * l.cards_reported) "
    "FROM (SELECT b.id, b.group_id, b.status, -1 AS sign FROM old_rows b JOIN new_rows a ON a.id = b.id "
    "WHERE a.status IS DISTINCT FROM b.status OR a.group_id IS DISTINCT FROM b.group_id "
    "UNION ALL SELECT a.id, a.group_id, a.status, 1 AS sign FROM old_rows b JOIN new_rows a ON a.id = b.id "
    "WHERE a.status IS DISTINCT FROM b.status OR a.group_id IS DISTINCT FROM b.group_id) c "
    "JOIN order_line l ON l.order_id = c.id GROUP BY c.group_id, l.case_id "
    f"ORDER BY 1, 2 {_upsert('t')}; "
)

_PG_ORDER_DELETE = (
    f"{INSERT_AS_T}SELECT OLD.group_id, l.case_id, {_line_figures('l', 'OLD.status', '-', total='SUM')} "
    f"FROM order_line l WHERE l.order_id = OLD.id GROUP BY l.case_id ORDER BY 2 {_upsert('t')}; "
)

POSTGRES_TRIGGERS = (
    "CREATE OR REPLACE FUNCTION group_case_cards_line_insert() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    f"{_pg_lines(('new_rows', ''))} RETURN NULL; END $$",
    "CREATE OR REPLACE FUNCTION group_case_cards_line_delete() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    f"{_pg_lines(('old_rows', '-'))} RETURN NULL; END $$",
    "CREATE OR REPLACE FUNCTION group_case_cards_line_update() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    f"{_pg_lines(('old_rows', '-'), ('new_rows', ''))} RETURN NULL; END $$",
    "CREATE OR REPLACE FUNCTION group_case_cards_order_update() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    f"{_PG_ORDERS} RETURN NULL; END $$",
    "CREATE OR REPLACE FUNCTION group_case_cards_order_delete() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    f"{_PG_ORDER_DELETE} RETURN OLD; END $$",
    "CREATE TRIGGER group_case_cards_line_insert AFTER INSERT ON order_line REFERENCING NEW TABLE AS new_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION group_case_cards_line_insert()",
    "CREATE TRIGGER group_case_cards_line_delete AFTER DELETE ON order_line REFERENCING OLD TABLE AS old_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION group_case_cards_line_delete()",
    "CREATE TRIGGER group_case_cards_line_update AFTER UPDATE ON order_line "
    "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION group_case_cards_line_update()",
    'CREATE TRIGGER group_case_cards_order_update AFTER UPDATE ON "order" '
    "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION group_case_cards_order_update()",
    'CREATE TRIGGER group_case_cards_order_delete BEFORE DELETE ON "order" '
    "FOR EACH ROW EXECUTE FUNCTION group_case_cards_order_delete()",
)
POSTGRES_DROP = (
    *(f"DROP TRIGGER IF EXISTS {name} ON {table}" for name, table in (
        ("group_case_cards_line_insert", "order_line"), ("group_case_cards_line_delete", "order_line"),
        ("group_case_cards_line_update", "order_line"), ("group_case_cards_order_update", '"order"'),
        ("group_case_cards_order_delete", '"order"'))),
    *(f"DROP FUNCTION IF EXISTS {name}()" for name in (
        "group_case_cards_line_insert", "group_case_cards_line_delete", "group_case_cards_line_update",
        "group_case_cards_order_update", "group_case_cards_order_delete")),
)

BACKFILL = (
    "DELETE FROM group_case_cards",
    f"{INSERT}SELECT o.group_id, l.case_id, {_line_figures('l', 'o.status', total='SUM')} "
    'FROM order_line l JOIN "order" o ON o.id = l.order_id GROUP BY o.group_id, l.case_id',
)


def upgrade():
    op.create_table(
        "group_case_cards",
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("accepted_lines", sa.Integer(), server_default="0", nullable=False),
        sa.Column("ordered", sa.Integer(), server_default="0", nullable=False),
        sa.Column("dispatched", sa.Integer(), server_default="0", nullable=False),
        sa.Column("reported", sa.Integer(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"], name=op.f("fk_group_case_cards_case_id_case"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["group_id"], ["group.id"], name=op.f("fk_group_case_cards_group_id_group"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("group_id", "case_id", name=op.f("pk_group_case_cards")),
    )
    op.create_index("ix_group_case_cards_case", "group_case_cards", ["case_id"], unique=False)
    # Figures of a date range: the orders placed in it and the parcels that left in it.
    op.create_index("ix_order_placed", "order", ["submitted_at", "created_at"], unique=False)
    op.create_index("ix_shipment_dispatched", "shipment", ["dispatched_at", "order_id"], unique=False)
    # The report counters of a date range's days, from the index alone (`cards` is in it, so each report
    # updates it too: one more index entry per counted report, for a range read 3x faster on SQLite).
    op.create_index("ix_group_report_day_case_day", "group_report_day", ["case_id", "day", "group_id", "cards"], unique=False)
    dialect = op.get_bind().dialect.name
    for statement in BACKFILL + (POSTGRES_TRIGGERS if dialect == "postgresql" else SQLITE_TRIGGERS):
        op.execute(statement)


def downgrade():
    dialect = op.get_bind().dialect.name
    for statement in POSTGRES_DROP if dialect == "postgresql" else SQLITE_DROP:
        op.execute(statement)
    op.drop_index("ix_group_report_day_case_day", table_name="group_report_day")
    op.drop_index("ix_shipment_dispatched", table_name="shipment")
    op.drop_index("ix_order_placed", table_name="order")
    op.drop_index("ix_group_case_cards_case", table_name="group_case_cards")
    op.drop_table("group_case_cards")
