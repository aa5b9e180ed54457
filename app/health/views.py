"""`GET /healthz`: 200 `{"status": "ok"}` when the database answers, 503 when it does not.

No login, no rate limit, no session cookie: a load balancer polls it every few seconds from every
instance, and must take an instance out of rotation when its database connection is gone.
"""

from __future__ import annotations

from flask import Blueprint, jsonify

from ..extensions import limiter
from . import services

bp = Blueprint("health", __name__)


@bp.get("/healthz")
@limiter.exempt
def healthz():
    """Liveness and readiness: the database answers a trivial query."""
    if services.database_reachable():
        response = jsonify(status="ok")
    else:
        response = jsonify(status="unavailable", checks={"database": "unreachable"})
        response.status_code = 503
    response.headers["Cache-Control"] = "no-store"
    return response
