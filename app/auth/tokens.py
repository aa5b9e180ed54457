"""API tokens: 256 random bits, shown once, stored as a SHA-256 hash, revocable, with last-used time."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Optional

import sqlalchemy as sa

from .. import audit
from ..extensions import db
from ..models import ApiToken, User, utcnow

PREFIX = "w4r_"


class TokenError(ValueError):
    pass


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def create_token(user: User, name: str = "", actor: Optional[User] = None) -> tuple[ApiToken, str]:
    """A new token for `user`; returns the row and the raw token (shown once, never stored). Commits."""
    if not user.is_active:
        raise TokenError("This account is disabled.")
    raw = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=name.strip()[:100], prefix=raw[:12], token_hash=_hash(raw))
    db.session.add(token)
    db.session.flush()
    audit.record("api_token.created", token, actor=actor or user, after={"name": token.name, "prefix": token.prefix, "user_id": user.id})
    db.session.commit()
    return token, raw


def user_for_token(raw: str) -> Optional[User]:
    """The user a live token acts for, or None. Records the last-used time (at most once a minute)."""
    if not raw.startswith(PREFIX) or len(raw) > 100:
        return None
    token = db.session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == _hash(raw)))
    if token is None or token.revoked_at is not None or not token.user.can_log_in:
        return None
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        db.session.execute(sa.update(ApiToken).where(ApiToken.id == token.id).values(last_used_at=now))
        db.session.commit()
    return token.user


def tokens_of(user: User) -> list[ApiToken]:
    return list(db.session.scalars(sa.select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())))


def revoke(token_id: int, user: User) -> None:
    """Revoke one of the user's own tokens (staff may revoke anyone's). Commits."""
    token = db.session.get(ApiToken, token_id)
    if token is None or (token.user_id != user.id and not user.is_staff):
        raise TokenError("No such token.")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit.record("api_token.revoked", token, actor=user, before={"prefix": token.prefix})
        db.session.commit()
