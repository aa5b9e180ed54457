"""Friendly error pages (HTML) for people; problem+json (RFC 9457) under /api/."""

from __future__ import annotations

from flask import Flask, render_template, request
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException

from . import ratelimit
from .extensions import db

# What people see for the errors they can meet (translated on the public pages); others show
# Werkzeug's English name and description.
MESSAGES = {
    400: (_l("Bad request"), _l("The page could not handle what was sent. Go back, reload the page and try again.")),
    403: (_l("Forbidden"), _l("You do not have access to this page.")),
    405: (_l("Method not allowed"), _l("This address cannot be used that way. Go back and try again.")),
    413: (_l("Too large"), _l("What you sent is too large.")),
    429: (_l("Too many requests"), _l("Too many requests from your connection. Please wait a minute and try again.")),
}


def error_page_context(error: HTTPException) -> dict:
    """Title and message for the HTML error page, in the page's language when we have them."""
    title, message = MESSAGES.get(error.code or 0, (error.name, error.description))
    return {"error": error, "title": title, "message": message}


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
        # Keep the exception's Retry-After (429) and Allow (405) on the page that replaces its body.
        headers = {k: v for k, v in error.get_headers() if k == "Allow"}
        if error.code == 429 and (wait := ratelimit.retry_after(error)):
            headers["Retry-After"] = wait
        return render_template(template, **error_page_context(error)), error.code, headers

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
