"""Fixtures: `app`, `client`, `runner`, `db_session` helpers, and factories.

The suite runs on a temporary SQLite file by default and on PostgreSQL when TEST_DATABASE_URL is set.
The schema is built once per run by the real migrations (`flask db upgrade`), and every test starts
from empty tables.
"""

from __future__ import annotations

import os

import pytest
import sqlalchemy as sa
from flask import g, request_started
from flask_migrate import upgrade

from app import create_app
from app.extensions import db

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")


def is_postgres() -> bool:
    return bool(TEST_DATABASE_URL and TEST_DATABASE_URL.startswith("postgresql"))


def reset_database(url: str) -> None:
    """Drop everything in the test database so migrations start from empty."""
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("DROP SCHEMA public CASCADE")
            conn.exec_driver_sql("CREATE SCHEMA public")
    engine.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    if TEST_DATABASE_URL:
        reset_database(TEST_DATABASE_URL)
        return TEST_DATABASE_URL
    return "sqlite:///" + str(tmp_path_factory.mktemp("db") / "test.sqlite")


def make_config(database_url: str, **overrides) -> dict:
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key-that-is-long-enough-0123456789",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "WTF_CSRF_ENABLED": False,
        "BASE_URL": "http://cards.test",
        "SERVER_NAME": None,
        "RATELIMIT_ENABLED": False,
    }
    config.update(overrides)
    return config


@pytest.fixture(scope="session")
def _migrated(database_url):
    app = create_app(make_config(database_url))
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return database_url


def _empty_tables() -> None:
    tables = list(reversed(db.metadata.sorted_tables))
    if db.engine.dialect.name == "postgresql":
        names = ", ".join(f'"{t.name}"' for t in tables)
        db.session.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    else:
        for table in tables:
            db.session.execute(table.delete())
    db.session.commit()


def _forget_request_user(sender, **extra):
    """Tests hold one app context across requests, so `g` outlives a request: forget who logged in."""
    g.pop("_login_user", None)


@pytest.fixture
def app(_migrated):
    app = create_app(make_config(_migrated))
    request_started.connect(_forget_request_user, app)
    with app.app_context():
        _empty_tables()
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def seeded(app):
    """The seeded campaigns and cases."""
    from app import seeding

    seeding.seed()
    return app


@pytest.fixture
def app_factory(database_url):
    """Build extra apps in a test; their connection pools are closed afterwards."""
    made = []

    def build(**overrides):
        extra = create_app(make_config(overrides.pop("url", database_url), **overrides))
        made.append(extra)
        return extra

    yield build
    for extra in made:
        with extra.app_context():
            db.engine.dispose()


PASSWORD = "correct horse battery"
_HASH: dict[str, str] = {}


def password_hash() -> str:
    """One scrypt hash per run (hashing costs ~80 ms): every test user shares this password."""
    if "h" not in _HASH:
        from werkzeug.security import generate_password_hash

        _HASH["h"] = generate_password_hash(PASSWORD)
    return _HASH["h"]


class People:
    """A staff member and coordinators of two groups, on top of the seeded campaign."""

    def __init__(self):
        from app.models import Role, User
        from tests import factories as f

        self.group_a = f.group(name="Cardiff Writers", contact_name="Alice Cardiff", contact_email="alice@a.example",
                               address_line1="12 Hidden Road", city="Cardiff", postcode="CF10 1AA", expected_writers=40)
        self.group_b = f.group(name="Leeds Letters", contact_name="Bob Leeds", contact_email="bob@b.example",
                               address_line1="99 Private Lane", city="Leeds", postcode="LS1 1AA")
        self.staff = User(email="staff@test.example", name="Sam Staff", role=Role.STAFF, password_hash=password_hash())
        self.coord_a = User(email="alice@a.example", name="Alice", role=Role.COORDINATOR, group=self.group_a, password_hash=password_hash())
        self.coord_b = User(email="bob@b.example", name="Bob", role=Role.COORDINATOR, group=self.group_b, password_hash=password_hash())
        db.session.add_all([self.staff, self.coord_a, self.coord_b])
        db.session.commit()


@pytest.fixture
def people(seeded) -> People:
    return People()


def login(client, email: str, password: str = PASSWORD):
    response = client.post("/login", data={"email": email, "password": password})
    assert response.status_code == 303, response.get_data(as_text=True)[-800:]
    return response


@pytest.fixture
def staff_client(app, people):
    client = app.test_client()
    login(client, people.staff.email)
    return client


@pytest.fixture
def coord_client(app, people):
    client = app.test_client()
    login(client, people.coord_a.email)
    return client
