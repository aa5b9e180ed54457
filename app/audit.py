"""Append-only audit trail: every service that changes something important records it here."""

from __future__ import annotations

from typing import Any, Optional

from .extensions import db
from .models import AuditEvent, User


def record(
    action: str,
    obj: Any,
    *,
    actor: Optional[User] = None,
    before: Optional[dict[str, Any]] = None,
    after: Optional[dict[str, Any]] = None,
    comment: str = "",
) -> AuditEvent:
    """Add an audit event to the current transaction (the caller commits)."""
    event = AuditEvent(
        actor_id=actor.id if actor else None,
        actor_label=actor.email if actor else "system",
        action=action,
        object_type=type(obj).__name__.lower(),
        object_id=getattr(obj, "id", None),
        before=before,
        after=after,
        comment=comment,
    )
    db.session.add(event)
    return event
