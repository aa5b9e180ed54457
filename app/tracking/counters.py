"""Counter tables for the figures, kept by database triggers in the transaction that changes a report
or a pack, so no code path (services, the API, the demo's bulk load, a CLI script) can leave them
behind, and every change is atomic SQL (`cards = cards + k`, upserts), never read-modify-write.

- `report_day (case_id, day)`: cards of reports not voided, per case and UTC day. Case totals, the
  public pages and the chart read a few hundred rows instead of millions of reports.
- `group_report_day (group_id, case_id, day)`: the same per group (packs on an order line), for
  figures by group, region or type within a date range or per day.
- `order_line.cards_reported`: the sum of the line's packs' `cards_posted` (itself the sum of the
  pack's reports not voided), for figures by group, region or type over the whole campaign.

A report counts on the UTC day of its `created_at`; voiding takes it off that day. A pack assigned to
an order line later brings its reports to the line's group. Orders never change group.

On SQLite the triggers are per row; on PostgreSQL per statement with transition tables, so a bulk
`COPY` or a many-row UPDATE does one grouped upsert. Upserts are ordered by key, so concurrent
transactions take the counter rows' locks in the same order.
"""

from __future__ import annotations

# --- SQLite: row triggers --------------------------------------------------------------------------

_SQLITE_GROUP_OF = (
    'SELECT o.group_id FROM pack p JOIN order_line l ON l.id = p.order_line_id '
    'JOIN "order" o ON o.id = l.order_id WHERE p.id = {pack}'
)
_SQLITE_ADD_DAY = (
    "INSERT INTO report_day (case_id, day, cards) SELECT {row}.case_id, date({row}.created_at), {sign}{row}.cards "
    "WHERE NOT {row}.voided ON CONFLICT (case_id, day) DO UPDATE SET cards = cards + excluded.cards;"
)
_SQLITE_ADD_GROUP_DAY = (
    "INSERT INTO group_report_day (group_id, case_id, day, cards) "
    "SELECT o.group_id, {row}.case_id, date({row}.created_at), {sign}{row}.cards "
    'FROM pack p JOIN order_line l ON l.id = p.order_line_id JOIN "order" o ON o.id = l.order_id '
    "WHERE p.id = {row}.pack_id AND NOT {row}.voided "
    "ON CONFLICT (group_id, case_id, day) DO UPDATE SET cards = cards + excluded.cards;"
)


def _sqlite_report(row: str, sign: str) -> str:
    return _SQLITE_ADD_DAY.format(row=row, sign=sign) + " " + _SQLITE_ADD_GROUP_DAY.format(row=row, sign=sign)


def _sqlite_pack_reports(line: str, sign: str) -> str:
    """Move the pack's counted reports into (+) or out of (-) the group of order line `line`."""
    return (
        "INSERT INTO group_report_day (group_id, case_id, day, cards) "  # nosec B608 - fixed DDL from constants, no input
        f"SELECT o.group_id, r.case_id, date(r.created_at), {sign}SUM(r.cards) "
        f'FROM report r JOIN order_line l ON l.id = {line} JOIN "order" o ON o.id = l.order_id '
        "WHERE r.pack_id = OLD.id AND NOT r.voided GROUP BY o.group_id, r.case_id, date(r.created_at) "
        "ON CONFLICT (group_id, case_id, day) DO UPDATE SET cards = cards + excluded.cards;"
    )


SQLITE_TRIGGERS = (
    "CREATE TRIGGER report_counts_insert AFTER INSERT ON report "
    f"BEGIN {_sqlite_report('NEW', '')} END",
    "CREATE TRIGGER report_counts_delete AFTER DELETE ON report "
    f"BEGIN {_sqlite_report('OLD', '-')} END",
    "CREATE TRIGGER report_counts_update AFTER UPDATE OF voided, cards, case_id, pack_id, created_at ON report "
    f"BEGIN {_sqlite_report('OLD', '-')} {_sqlite_report('NEW', '')} END",
    "CREATE TRIGGER pack_counts_insert AFTER INSERT ON pack "
    "WHEN NEW.order_line_id IS NOT NULL AND NEW.cards_posted <> 0 "
    "BEGIN UPDATE order_line SET cards_reported = cards_reported + NEW.cards_posted WHERE id = NEW.order_line_id; END",
    "CREATE TRIGGER pack_counts_delete AFTER DELETE ON pack "
    "WHEN OLD.order_line_id IS NOT NULL AND OLD.cards_posted <> 0 "
    "BEGIN UPDATE order_line SET cards_reported = cards_reported - OLD.cards_posted WHERE id = OLD.order_line_id; END",
    "CREATE TRIGGER pack_counts_update AFTER UPDATE OF cards_posted, order_line_id ON pack "
    "WHEN OLD.cards_posted IS NOT NEW.cards_posted OR OLD.order_line_id IS NOT NEW.order_line_id "
    "BEGIN "
    "UPDATE order_line SET cards_reported = cards_reported - OLD.cards_posted WHERE id = OLD.order_line_id; "
    "UPDATE order_line SET cards_reported = cards_reported + NEW.cards_posted WHERE id = NEW.order_line_id; "
    "END",
    "CREATE TRIGGER pack_line_moves AFTER UPDATE OF order_line_id ON pack "
    "WHEN OLD.order_line_id IS NOT NEW.order_line_id "
    f"BEGIN {_sqlite_pack_reports('OLD.order_line_id', '-')} {_sqlite_pack_reports('NEW.order_line_id', '')} END",
)
SQLITE_DROP = tuple(
    f"DROP TRIGGER IF EXISTS {name}"
    for name in ("report_counts_insert", "report_counts_delete", "report_counts_update",
                 "pack_counts_insert", "pack_counts_delete", "pack_counts_update", "pack_line_moves")
)

# --- PostgreSQL: statement triggers with transition tables ------------------------------------------

_PG_DAY = "(created_at AT TIME ZONE 'UTC')::date"


def _pg_report_changes(*sides: tuple[str, str]) -> str:
    """(case_id, pack_id, day, cards) of counted reports in the transition tables, signed."""
    return " UNION ALL ".join(
        f"SELECT case_id, pack_id, {_PG_DAY} AS day, {sign}cards AS cards FROM {table} WHERE NOT voided"  # nosec B608 - fixed DDL from constants, no input
        for table, sign in sides
    )


def _pg_report_function(name: str, *sides: tuple[str, str]) -> str:
    changes = _pg_report_changes(*sides)
    return (
        f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "  # nosec B608 - fixed DDL from constants, no input
        f"INSERT INTO report_day AS d (case_id, day, cards) "
        f"SELECT c.case_id, c.day, SUM(c.cards) FROM ({changes}) c GROUP BY c.case_id, c.day "
        "HAVING SUM(c.cards) <> 0 ORDER BY c.case_id, c.day "
        "ON CONFLICT (case_id, day) DO UPDATE SET cards = d.cards + EXCLUDED.cards; "
        f"INSERT INTO group_report_day AS d (group_id, case_id, day, cards) "
        f"SELECT o.group_id, c.case_id, c.day, SUM(c.cards) FROM ({changes}) c "
        'JOIN pack p ON p.id = c.pack_id JOIN order_line l ON l.id = p.order_line_id JOIN "order" o ON o.id = l.order_id '
        "GROUP BY o.group_id, c.case_id, c.day HAVING SUM(c.cards) <> 0 ORDER BY o.group_id, c.case_id, c.day "
        "ON CONFLICT (group_id, case_id, day) DO UPDATE SET cards = d.cards + EXCLUDED.cards; "
        "RETURN NULL; END $$"
    )


def _pg_pack_lines(*sides: tuple[str, str]) -> str:
    changes = " UNION ALL ".join(
        f"SELECT order_line_id, {sign}cards_posted AS cards FROM {table} WHERE order_line_id IS NOT NULL"  # nosec B608 - fixed DDL from constants, no input
        for table, sign in sides
    )
    return (
        "UPDATE order_line l SET cards_reported = l.cards_reported + c.cards FROM ("  # nosec B608 - fixed DDL from constants, no input
        f"SELECT order_line_id, SUM(cards) AS cards FROM ({changes}) x GROUP BY order_line_id "
        "HAVING SUM(cards) <> 0) c WHERE l.id = c.order_line_id; "
    )


_PG_PACK_MOVES = (
    # Packs that changed order line take their counted reports from the old line's group to the new one's.
    "INSERT INTO group_report_day AS d (group_id, case_id, day, cards) "
    "SELECT o.group_id, r.case_id, (r.created_at AT TIME ZONE 'UTC')::date AS day, SUM(side.sign * r.cards) "
    "FROM (SELECT after_row.id, before_row.order_line_id AS old_line, after_row.order_line_id AS new_line "
    "FROM old_rows before_row JOIN new_rows after_row ON after_row.id = before_row.id "
    "WHERE before_row.order_line_id IS DISTINCT FROM after_row.order_line_id) m "
    "CROSS JOIN LATERAL (VALUES (m.old_line, -1), (m.new_line, 1)) AS side(line_id, sign) "
    "JOIN report r ON r.pack_id = m.id AND NOT r.voided "
    'JOIN order_line l ON l.id = side.line_id JOIN "order" o ON o.id = l.order_id '
    "GROUP BY o.group_id, r.case_id, (r.created_at AT TIME ZONE 'UTC')::date HAVING SUM(side.sign * r.cards) <> 0 "
    "ORDER BY 1, 2, 3 "
    "ON CONFLICT (group_id, case_id, day) DO UPDATE SET cards = d.cards + EXCLUDED.cards; "
)

POSTGRES_TRIGGERS = (
    _pg_report_function("report_counts_insert", ("new_rows", "")),
    _pg_report_function("report_counts_delete", ("old_rows", "-")),
    _pg_report_function("report_counts_update", ("old_rows", "-"), ("new_rows", "")),
    "CREATE OR REPLACE FUNCTION pack_counts_insert() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    f"{_pg_pack_lines(('new_rows', ''))} RETURN NULL; END $$",
    "CREATE OR REPLACE FUNCTION pack_counts_delete() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    f"{_pg_pack_lines(('old_rows', '-'))} RETURN NULL; END $$",
    "CREATE OR REPLACE FUNCTION pack_counts_update() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    f"{_pg_pack_lines(('old_rows', '-'), ('new_rows', ''))} {_PG_PACK_MOVES} RETURN NULL; END $$",
    "CREATE TRIGGER report_counts_insert AFTER INSERT ON report REFERENCING NEW TABLE AS new_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION report_counts_insert()",
    "CREATE TRIGGER report_counts_delete AFTER DELETE ON report REFERENCING OLD TABLE AS old_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION report_counts_delete()",
    "CREATE TRIGGER report_counts_update AFTER UPDATE ON report REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION report_counts_update()",
    "CREATE TRIGGER pack_counts_insert AFTER INSERT ON pack REFERENCING NEW TABLE AS new_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION pack_counts_insert()",
    "CREATE TRIGGER pack_counts_delete AFTER DELETE ON pack REFERENCING OLD TABLE AS old_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION pack_counts_delete()",
    "CREATE TRIGGER pack_counts_update AFTER UPDATE ON pack REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION pack_counts_update()",
)
POSTGRES_DROP = (
    *(f"DROP TRIGGER IF EXISTS {name} ON {table}" for name, table in (
        ("report_counts_insert", "report"), ("report_counts_delete", "report"), ("report_counts_update", "report"),
        ("pack_counts_insert", "pack"), ("pack_counts_delete", "pack"), ("pack_counts_update", "pack"))),
    *(f"DROP FUNCTION IF EXISTS {name}()" for name in (
        "report_counts_insert", "report_counts_delete", "report_counts_update",
        "pack_counts_insert", "pack_counts_delete", "pack_counts_update")),
)


def backfill(dialect: str) -> tuple[str, ...]:
    """Statements that compute every counter from the reports and packs (the triggers keep them after)."""
    day = "date(r.created_at)" if dialect == "sqlite" else "(r.created_at AT TIME ZONE 'UTC')::date"
    return (
        "DELETE FROM report_day",
        "DELETE FROM group_report_day",
        f"INSERT INTO report_day (case_id, day, cards) SELECT r.case_id, {day}, SUM(r.cards) FROM report r "  # nosec B608 - fixed DDL from constants, no input
        f"WHERE NOT r.voided GROUP BY r.case_id, {day}",
        f"INSERT INTO group_report_day (group_id, case_id, day, cards) SELECT o.group_id, r.case_id, {day}, SUM(r.cards) "  # nosec B608 - fixed DDL from constants, no input
        'FROM report r JOIN pack p ON p.id = r.pack_id JOIN order_line l ON l.id = p.order_line_id '
        'JOIN "order" o ON o.id = l.order_id '
        f"WHERE NOT r.voided GROUP BY o.group_id, r.case_id, {day}",
        "UPDATE order_line SET cards_reported = COALESCE("
        "(SELECT SUM(p.cards_posted) FROM pack p WHERE p.order_line_id = order_line.id), 0)",
    )


def install(dialect: str) -> tuple[str, ...]:
    """The trigger DDL for `dialect` (as the migration runs it)."""
    return POSTGRES_TRIGGERS if dialect == "postgresql" else SQLITE_TRIGGERS


def uninstall(dialect: str) -> tuple[str, ...]:
    return POSTGRES_DROP if dialect == "postgresql" else SQLITE_DROP
