"""Migrations build the schema from empty, match the models, and go down and up again."""

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from app.extensions import db
from tests.conftest import is_postgres, reset_database


def _diff() -> list:
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": False})
        return compare_metadata(context, db.metadata)


def test_models_and_migrations_do_not_drift(app):
    assert _diff() == []


def test_downgrade_to_empty_and_upgrade_again(tmp_path, database_url, app_factory):
    # A separate database so the shared one is untouched (on PostgreSQL: the same one, rebuilt after).
    url = database_url if is_postgres() else "sqlite:///" + str(tmp_path / "fresh.sqlite")
    app = app_factory(url=url)
    with app.app_context():
        downgrade(revision="base")
        tables = set(sa.inspect(db.engine).get_table_names()) - {"alembic_version"}
        assert tables == set()
        upgrade()
        assert set(sa.inspect(db.engine).get_table_names()) >= {"pack", "report", "order", "case"}
        assert _diff() == []


def test_flask_db_upgrade_from_empty_via_cli(tmp_path, database_url, app_factory):
    url = database_url if is_postgres() else "sqlite:///" + str(tmp_path / "cli.sqlite")
    if is_postgres():
        reset_database(url)
    app = app_factory(url=url)
    result = app.test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert "report" in sa.inspect(db.engine).get_table_names()
