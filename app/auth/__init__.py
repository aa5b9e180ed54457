"""Accounts, login and roles."""

from flask_login import LoginManager


def init_login(manager: LoginManager) -> None:
    """Wire Flask-Login to our user loader (sessions carry the user's session version)."""
    from . import services

    manager.login_view = "auth.login"
    manager.login_message = "Please log in to see that page."
    manager.login_message_category = "info"
    manager.session_protection = "basic"
    manager.user_loader(services.load_user)
