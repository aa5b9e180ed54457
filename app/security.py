"""Security headers on every response, with a CSP that htmx 2 works under (no inline script or style)."""

from __future__ import annotations

from flask import Flask, abort, request, session
from flask.wrappers import Response

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "worker-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ]
)


def init_app(app: Flask) -> None:
    """Refuse NUL bytes in form and query values; add the security headers to every response."""

    @app.before_request
    def _refuse_nul_bytes() -> None:
        # No one types a NUL, and PostgreSQL refuses text holding one (the query would fail with a 500).
        # The API checks its own input (app/api/schemas.py: a 422 problem, as its OpenAPI document says).
        if request.path.startswith("/api/"):
            return
        values = request.args.values() if request.method in ("GET", "HEAD") else (*request.args.values(), *request.form.values())
        if any("\x00" in value for value in values):
            abort(400, "Form or query values may not contain NUL characters.")

    @app.after_request
    def _security_headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CSP)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        headers.setdefault("X-Frame-Options", "DENY")
        if app.config.get("APP_ENV") == "production":
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        if session.get("_user_id"):
            # Pages behind a login can hold personal data: never keep them in a cache.
            response.headers["Cache-Control"] = "no-store"
        return response
