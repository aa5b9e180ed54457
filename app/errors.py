"""Friendly error pages (HTML) for people; the API answers problem+json on its own."""

from __future__ import annotations

from flask import Flask, render_template
from werkzeug.exceptions import HTTPException

from .extensions import db


def init_app(app: Flask) -> None:
    """Register the 4xx/5xx handlers."""

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException):
        template = "errors/404.html" if error.code == 404 else "errors/error.html"
        return render_template(template, error=error), error.code

    @app.errorhandler(500)
    def _server_error(error):
        db.session.rollback()
        return render_template("errors/500.html"), 500
