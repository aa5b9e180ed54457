"""Engine tuning: SQLite pragmas and write transactions, applied to every connection."""

from __future__ import annotations

import contextlib
import functools
from contextvars import ContextVar
from typing import Callable, Iterator, Optional

from flask import Flask, has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Engine

from .extensions import db

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# "read": transactions begin deferred (no write lock) even in an unsafe request; "write": they begin
# with the write lock. None: decided by the request method (below).
_begin_mode: ContextVar[Optional[str]] = ContextVar("sqlite_begin_mode", default=None)


def _wants_write_lock() -> bool:
    """Unsafe requests and CLI work take SQLite's write lock up front; page views read concurrently.

    A hot write path can do better (see `reads_first`): read without the lock, then hold it only for
    its short write transaction (`write_transaction`)."""
    mode = _begin_mode.get()
    if mode is not None:
        return mode == "write"
    return not has_request_context() or request.method not in SAFE_METHODS


@contextlib.contextmanager
def _mode(mode: str) -> Iterator[None]:
    token = _begin_mode.set(mode)
    try:
        yield
    finally:
        _begin_mode.reset(token)


def reads_first(view: Callable) -> Callable:
    """For a view whose only write is a service's `write_transaction`: its reads begin deferred, so an
    unsafe request does not hold SQLite's write lock while it looks things up, validates and renders.

    The service must end the read transaction (commit or roll back) before it writes: SQLite cannot
    safely upgrade a deferred transaction to a writer under concurrency. No effect on PostgreSQL."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        with _mode("read"):
            return view(*args, **kwargs)

    return wrapper


def write_transaction() -> contextlib.AbstractContextManager[None]:
    """Transactions begun inside take SQLite's write lock at BEGIN (BEGIN IMMEDIATE), whatever the request."""
    return _mode("write")


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
