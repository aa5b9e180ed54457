"""Route guards. Anonymous users go to the login page; coordinators on staff routes get 403.

Object-level checks (a coordinator's own group only) live in the services, which answer "not found".
"""

from __future__ import annotations

from functools import wraps
from typing import Callable, TypeVar

from flask import abort
from flask_login import current_user, login_required

F = TypeVar("F", bound=Callable)

__all__ = ["login_required", "staff_required", "coordinator_required"]


def staff_required(view: F) -> F:
    """Only staff; coordinators get 403."""

    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if not current_user.is_staff:
            abort(403)
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def coordinator_required(view: F) -> F:
    """Only coordinators (they act for their group); staff get 403."""

    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if current_user.is_staff:
            abort(403)
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]
