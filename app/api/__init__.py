"""The JSON API: flask-smorest generates the OpenAPI document from the schemas that validate requests."""

from __future__ import annotations

from flask import Flask, render_template
from flask_smorest import Api

from ..extensions import csrf


def init_app(app: Flask) -> None:
    """Register the API blueprint, its OpenAPI document and the readable docs page."""
    app.config.setdefault("API_TITLE", "Write for Rights cards API")
    app.config.setdefault("API_VERSION", "v1")
    app.config.setdefault("OPENAPI_VERSION", "3.0.3")
    app.config.setdefault("OPENAPI_URL_PREFIX", "/api/v1")
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    app.config.setdefault("API_SPEC_OPTIONS", {
        "info": {"description": "Campaign figures, orders, packs, reports, mailings and shipments. "
                                "Authenticate with `Authorization: Bearer <token>`; errors are application/problem+json (RFC 9457)."},
    })
    api = Api(app)  # one per app: flask-smorest keeps per-app state (spec, docs blueprint) on the object
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    from .views import bp

    api.register_blueprint(bp)
    csrf.exempt(bp)  # bearer tokens, never cookies: no CSRF risk

    @app.get("/api/v1/docs")
    def api_docs():
        """A readable page of the API, rendered from the OpenAPI document."""
        return render_template("api/docs.html", spec=api.spec.to_dict())
