"""User accounts: creation and password rules."""

from __future__ import annotations

from typing import Optional

import sqlalchemy as sa
from werkzeug.security import generate_password_hash

from .. import audit
from ..extensions import db
from ..models import Group, Role, User

MIN_PASSWORD_LENGTH = 8
# The most common passwords (a short list; refuse these whatever their length).
COMMON_PASSWORDS = frozenset(
    """password 12345678 123456789 1234567890 password1 password123 qwertyuiop qwerty123 iloveyou
    11111111 00000000 abc12345 letmein1 welcome1 sunshine princess football baseball superman
    trustno1 passw0rd admin123 administrator changeme""".split()
)


class AccountError(ValueError):
    """A user could not be created or changed; the message is for people."""


def password_problem(password: str) -> Optional[str]:
    """Why a password is refused, or None when it is acceptable."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Use at least {MIN_PASSWORD_LENGTH} characters (15 or more is better)."
    if len(password) > 200:
        return "Use at most 200 characters."
    if password.lower() in COMMON_PASSWORDS:
        return "That password is too common: choose another."
    return None


def normalise_email(email: str) -> str:
    return email.strip().lower()


def create_user(
    email: str,
    password: str,
    role: Role,
    group_name: Optional[str] = None,
    name: str = "",
    actor: Optional[User] = None,
) -> User:
    """Create an active user; coordinators belong to exactly one group. Commits."""
    email = normalise_email(email)
    if "@" not in email or len(email) > 254:
        raise AccountError("Enter a valid email address.")
    problem = password_problem(password)
    if problem:
        raise AccountError(problem)
    if db.session.scalar(sa.select(User.id).where(User.email == email)) is not None:
        raise AccountError(f"A user with the email {email} already exists.")
    group = None
    if role is Role.COORDINATOR:
        if not group_name:
            raise AccountError("A coordinator needs --group NAME.")
        group = db.session.scalar(sa.select(Group).where(Group.name == group_name))
        if group is None:
            raise AccountError(f"No group named {group_name!r}.")
    elif group_name:
        raise AccountError("Staff do not belong to a group.")
    user = User(email=email, name=name, password_hash=generate_password_hash(password), role=role, group=group)
    db.session.add(user)
    db.session.flush()
    audit.record("user.created", user, actor=actor, after={"email": email, "role": role.value})
    db.session.commit()
    return user
