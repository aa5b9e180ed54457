"""Card logistics for a letter-writing campaign: the application factory."""

from __future__ import annotations

import os
from typing import Any, Mapping, Optional

from flask import Flask

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

    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_commands(app)
    return app


def register_extensions(app: Flask) -> None:
    from . import auth, database, mail, security
    from .extensions import csrf, db, htmx, limiter, login_manager, migrate

    database.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(app.root_path), "migrations"))
    csrf.init_app(app)
    htmx.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    auth.init_login(login_manager)
    mail.init_app(app)
    security.init_app(app)

    from . import templating

    templating.init_app(app)


def register_blueprints(app: Flask) -> None:
    from .auth.views import bp as auth_bp
    from .cases.views import bp as cases_bp
    from .groups.views import bp as groups_bp
    from .mailings.views import bp as mailings_bp
    from .orders.views import bp as orders_bp
    from .public.views import bp as public_bp
    from .staff.views import bp as staff_bp
    from .stock.views import bp as stock_bp
    from .tracking.views import bp as tracking_bp

    for blueprint in (public_bp, auth_bp, groups_bp, orders_bp, staff_bp, stock_bp, tracking_bp, mailings_bp, cases_bp):
        app.register_blueprint(blueprint)


def register_errorhandlers(app: Flask) -> None:
    from . import errors

    errors.init_app(app)


def register_commands(app: Flask) -> None:
    from . import cli

    cli.init_app(app)
