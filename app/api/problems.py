"""RFC 9457 problem details for every API error."""

from __future__ import annotations

from typing import Any, Optional

from flask import jsonify
from flask.wrappers import Response
from werkzeug.exceptions import HTTPException

PROBLEM_TYPE = "about:blank"


class ValidationProblem(Exception):
    """422 with field details, raised by views after the schema accepted the input."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("Invalid input")
        self.errors = errors


class ConflictProblem(Exception):
    """409: the request does not fit the object's current state."""


def problem(status: int, title: str, detail: Optional[str] = None, errors: Optional[dict[str, Any]] = None,
            headers: Optional[dict[str, str]] = None) -> Response:
    body: dict[str, Any] = {"type": PROBLEM_TYPE, "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/problem+json"
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def from_http_exception(error: HTTPException) -> Response:
    """Turn any HTTP error (including webargs' 422 with field messages) into problem+json."""
    errors = None
    data = getattr(error, "data", None)
    if isinstance(data, dict) and "messages" in data:
        # webargs: {"json": {"field": [...]}, "query": {...}} -> flatten the locations
        errors = {}
        for location_errors in data["messages"].values():
            if isinstance(location_errors, dict):
                errors.update(location_errors)
    headers = {}
    if error.code == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="api"'
    from ..ratelimit import retry_after as _retry_after

    retry_after = _retry_after(error) if error.code == 429 else None
    if retry_after:
        headers["Retry-After"] = retry_after
    detail = error.description if error.code != 422 else "The request has invalid fields."
    return problem(error.code or 500, error.name, detail, errors, headers)
