"""Engine tuning: SQLite pragmas and write transactions, applied to every connection."""

from __future__ import annotations

from flask import Flask, has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Engine

from .extensions import db

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _wants_write_lock() -> bool:
    """Unsafe requests and CLI work take SQLite's write lock up front; page views read concurrently."""
    return not has_request_context() or request.method not in SAFE_METHODS


def configure_sqlite(engine: Engine, synchronous: str) -> None:
    """WAL, foreign keys, a busy timeout and BEGIN IMMEDIATE for writers on every SQLite connection.

    pysqlite opens transactions lazily and would upgrade a read lock to a write lock mid-transaction,
    which fails at once with "database is locked" under concurrent writers. We take over transaction
    control (the SQLAlchemy recipe) and begin writers with BEGIN IMMEDIATE, so they queue on the busy
    timeout instead.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # pragma: no cover - exercised on every connect
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE" if _wants_write_lock() else "BEGIN")


def init_app(app: Flask) -> None:
    """Bind the database and tune the engine for its dialect."""
    db.init_app(app)
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "sqlite":
            synchronous = app.config["SQLITE_SYNCHRONOUS"]
            if synchronous not in {"FULL", "NORMAL", "EXTRA"}:
                raise ValueError("SQLITE_SYNCHRONOUS must be FULL, NORMAL or EXTRA")
            configure_sqlite(engine, synchronous)
