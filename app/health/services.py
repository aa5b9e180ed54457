"""The checks behind /healthz."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from ..extensions import db

log = logging.getLogger(__name__)


def database_reachable() -> bool:
    """True when the database answers `SELECT 1`; the error is logged (class only), never raised."""
    try:
        db.session.execute(sa.text("SELECT 1"))
        return True
    except SQLAlchemyError as error:
        log.warning("health check: database unreachable (%s)", type(error).__name__)
        return False
    finally:
        db.session.rollback()
