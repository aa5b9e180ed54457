"""The application factory, configuration and database tuning."""

import pytest
import sqlalchemy as sa

from app import create_app
from app.config import DEV_SECRET_KEY, ConfigError
from app.extensions import db
from tests.conftest import is_postgres


def test_config_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("BASE_URL", "https://cards.example.org/")
    monkeypatch.setenv("DATABASE_URL", "sqlite:///" + str(tmp_path / "x.sqlite"))
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    monkeypatch.setenv("MAIL_SERVER", "smtp.example.org")
    app = create_app({"TESTING": True})
    assert app.config["BASE_URL"] == "https://cards.example.org"  # trailing slash dropped
    assert app.config["SQLALCHEMY_DATABASE_URI"].endswith("x.sqlite")
    assert app.config["REDIS_URL"] == "redis://127.0.0.1:6379/0"
    assert app.config["MAIL_SERVER"] == "smtp.example.org"
    assert app.config["MAX_CONTENT_LENGTH"] > 0


def test_defaults_use_sqlite_in_instance(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    app = create_app({"TESTING": True})
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    assert uri.startswith("sqlite:///") and uri.endswith("instance/cardtrail.sqlite")
    assert app.config["REDIS_URL"] is None


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"SECRET_KEY": DEV_SECRET_KEY}, "SECRET_KEY"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY"),
        ({"SECRET_KEY": "x" * 40, "DEBUG": True}, "DEBUG"),
    ],
)
def test_production_refuses_unsafe_config(overrides, message, app_factory):
    with pytest.raises(ConfigError, match=message):
        app_factory(APP_ENV="production", **overrides)


def test_production_starts_with_safe_config(app_factory, _migrated):
    app = app_factory(APP_ENV="production", SECRET_KEY="k" * 40)
    assert app.config["APP_ENV"] == "production"
    assert app.test_client().get("/").headers["Strict-Transport-Security"].startswith("max-age=31536000")


@pytest.mark.skipif(is_postgres(), reason="SQLite connection pragmas")
def test_sqlite_pragmas_on_every_connection(app):
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 15000
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL


def test_security_headers(client):
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "object-src 'none'" in csp and "frame-ancestors 'none'" in csp and "base-uri 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_postgres_dialect_when_configured(app):
    expected = "postgresql" if is_postgres() else "sqlite"
    assert db.engine.dialect.name == expected
    assert db.session.scalar(sa.text("SELECT 1")) == 1
