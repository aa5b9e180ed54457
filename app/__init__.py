"""Card logistics for a letter-writing campaign: the application factory."""

from __future__ import annotations

import os
from typing import Any, Mapping, Optional

from flask import Flask
from werkzeug.routing import IntegerConverter, UnicodeConverter


class IdConverter(IntegerConverter):
    """`<int:…>` in URLs: only ids the database can hold (1 … 2**31-1); anything else is a 404."""

    def __init__(self, map, *args, **kwargs):  # noqa: A002 - werkzeug's signature
        kwargs.setdefault("min", 1)
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(map, *args, **kwargs)


class TextConverter(UnicodeConverter):
    """`<name>` in URLs: no control characters (a NUL would reach PostgreSQL, which refuses it); else 404."""

    def __init__(self, map, *args, **kwargs):  # noqa: A002 - werkzeug's signature
        super().__init__(map, *args, **kwargs)
        self.regex = self.regex.replace("[^/]", "[^/\\x00-\\x1f\\x7f]")

from . import config as config_module


def create_app(test_config: Optional[Mapping[str, Any]] = None) -> Flask:
    """Build the app: defaults from the environment, then `instance/config.py`, then test overrides."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    app = Flask(
        __name__,
        instance_path=os.path.join(root, "instance"),
        instance_relative_config=True,
        template_folder=os.path.join(root, "templates"),
        static_folder=os.path.join(root, "static"),
    )
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.from_mapping(config_module.from_environment(app.instance_path))
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
    else:
        app.config.from_mapping(test_config)
    config_module.check_production(app.config)

    app.url_map.converters["int"] = IdConverter
    app.url_map.converters["default"] = app.url_map.converters["string"] = TextConverter
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_commands(app)
    register_proxy_fix(app)
    worker = app.config.get("WEBHOOK_WORKER")
    if worker if worker is not None else not app.testing:
        from .webhooks.services import start_worker_on_first_request

        start_worker_on_first_request(app)
    return app


def register_proxy_fix(app: Flask) -> None:
    """Behind PROXY_FIX trusted proxies, take the client's address, scheme and host from X-Forwarded-*
    (rate limits key on the real client; CSRF's same-origin check sees https)."""
    hops = int(app.config.get("PROXY_FIX") or 0)
    if hops > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)  # type: ignore[method-assign]


def register_extensions(app: Flask) -> None:
    from . import auth, database, logs, mail, security

    logs.init_app(app)
    from .extensions import csrf, db, htmx, limiter, login_manager, migrate

    database.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(app.root_path), "migrations"))
    csrf.init_app(app)
    htmx.init_app(app)
    limiter.init_app(app)
    from . import ratelimit

    ratelimit.init_app(app)
    login_manager.init_app(app)
    auth.init_login(login_manager)
    mail.init_app(app)
    security.init_app(app)

    from . import i18n, templating

    templating.init_app(app)
    i18n.init_app(app)


def register_blueprints(app: Flask) -> None:
    from .auth.views import bp as auth_bp
    from .cases.views import bp as cases_bp
    from .chase.views import bp as chase_bp
    from .groups.views import bp as groups_bp
    from .health.views import bp as health_bp
    from .mailings.views import bp as mailings_bp
    from .orders.views import bp as orders_bp
    from .public.views import bp as public_bp
    from .reports.views import bp as reports_bp
    from .scan.views import bp as scan_bp
    from .staff.views import bp as staff_bp
    from .packs.views import bp as packs_bp
    from .stock.views import bp as stock_bp
    from .tracking.views import bp as tracking_bp
    from .webhooks.views import bp as webhooks_bp

    for blueprint in (health_bp, public_bp, auth_bp, groups_bp, orders_bp, staff_bp, stock_bp, reports_bp, scan_bp, chase_bp,
                      webhooks_bp, tracking_bp, mailings_bp, cases_bp, packs_bp):
        app.register_blueprint(blueprint)

    from . import api

    api.init_app(app)


def register_errorhandlers(app: Flask) -> None:
    from . import errors

    errors.init_app(app)


def register_commands(app: Flask) -> None:
    from . import cli

    cli.init_app(app)
