"""Friendly error pages (HTML) for people; problem+json (RFC 9457) under /api/."""

from __future__ import annotations

from flask import Flask, render_template, request
from werkzeug.exceptions import HTTPException

from .extensions import db


def _is_api() -> bool:
    return request.path.startswith("/api/")


def init_app(app: Flask) -> None:
    """Register the 4xx/5xx handlers (after the API's, so this one decides for every route)."""
    from .api import problems

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException):
        if _is_api():
            return problems.from_http_exception(error)
        template = "errors/404.html" if error.code == 404 else "errors/error.html"
        return render_template(template, error=error), error.code

    @app.errorhandler(problems.ValidationProblem)
    def _validation_problem(error: problems.ValidationProblem):
        return problems.problem(422, "Unprocessable Entity", "The request has invalid fields.", error.errors)

    @app.errorhandler(problems.ConflictProblem)
    def _conflict(error: problems.ConflictProblem):
        return problems.problem(409, "Conflict", str(error))

    @app.errorhandler(500)
    def _server_error(error):
        db.session.rollback()
        if _is_api():
            return problems.problem(500, "Internal Server Error", "Something went wrong on our side.")
        return render_template("errors/500.html"), 500
