"""User accounts: creation and password rules."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import sqlalchemy as sa
from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.security import check_password_hash, generate_password_hash

from .. import audit, mail
from ..extensions import db
from ..models import Group, GroupStatus, GroupType, Role, User, utcnow

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


# --- Logging in -----------------------------------------------------------------------------------

class LoginRefused(AccountError):
    """Wrong email or password, or an account that may not log in yet; one message for all."""


_DUMMY_HASH = generate_password_hash("not-a-real-password-just-timing")


def authenticate(email: str, password: str) -> User:
    """The user with these credentials, or LoginRefused. Unknown user and wrong password answer alike."""
    user = db.session.scalar(sa.select(User).where(User.email == normalise_email(email)))
    if user is None or not user.password_hash:
        check_password_hash(_DUMMY_HASH, password)  # same work either way: no timing oracle
        raise LoginRefused("Wrong email or password.")
    if not check_password_hash(user.password_hash, password):
        raise LoginRefused("Wrong email or password.")
    if not user.can_log_in:
        if user.group is not None and user.group.status is GroupStatus.PENDING:
            raise LoginRefused("Your group is waiting for approval by staff. We will email you when it is approved.")
        raise LoginRefused("This account is disabled. Contact your campaign office.")
    user.last_login_at = utcnow()
    db.session.commit()
    return user


def load_user(user_id: str) -> Optional[User]:
    """Flask-Login's loader: `<id>:<session version>`; a stale version or a disabled user is no user."""
    try:
        raw_id, raw_version = user_id.split(":", 1)
        uid, version = int(raw_id), int(raw_version)
    except ValueError:
        return None
    user = db.session.get(User, uid)
    if user is None or user.session_version != version or not user.can_log_in:
        return None
    return user


def end_all_sessions(user: User, actor: Optional[User] = None) -> None:
    """Bump the session version: every session of this user ends at its next request. Commits."""
    db.session.execute(sa.update(User).where(User.id == user.id).values(session_version=User.session_version + 1))
    audit.record("user.sessions_ended", user, actor=actor or user)
    db.session.commit()
    db.session.refresh(user)


# --- Signed links (password reset, invitation) ----------------------------------------------------

def _serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt)


def make_link_token(user: User, purpose: str) -> str:
    """A signed token naming the user and their session version: it dies once the password is set."""
    return _serializer(purpose).dumps({"u": user.id, "v": user.session_version})


def user_from_link_token(token: str, purpose: str, max_age: int) -> Optional[User]:
    try:
        data = _serializer(purpose).loads(token, max_age=max_age)
    except BadSignature:
        return None
    user = db.session.get(User, int(data.get("u", 0)))
    if user is None or user.session_version != data.get("v") or not user.is_active:
        return None
    return user


def request_password_reset(email: str) -> None:
    """Email a reset link when the account exists; say nothing either way. Commits."""
    user = db.session.scalar(sa.select(User).where(User.email == normalise_email(email)))
    if user is None or not user.is_active:
        return
    token = make_link_token(user, "password-reset")
    mail.queue(user.email, "Reset your password", "password_reset", user=user, token=token)
    db.session.commit()


def set_password(user: User, password: str, action: str = "user.password_set") -> None:
    """Set a new password and end every existing session (and every outstanding link). Commits."""
    problem = password_problem(password)
    if problem:
        raise AccountError(problem)
    user.password_hash = generate_password_hash(password)
    user.session_version = user.session_version + 1
    audit.record(action, user, actor=user)
    db.session.commit()


# --- Signing up and invitations ---------------------------------------------------------------------

@dataclass
class GroupDetails:
    name: str
    type: GroupType
    country: str
    region: str
    contact_name: str
    contact_email: str
    contact_phone: str
    address_line1: str
    address_line2: str
    city: str
    postcode: str
    expected_writers: int

    @classmethod
    def from_form(cls, form) -> "GroupDetails":
        """Take the named fields from a form (extra fields are ignored: no mass assignment)."""
        values = {}
        for name in cls.__dataclass_fields__:
            value = form[name].data
            values[name] = value.strip() if isinstance(value, str) else value
        values["type"] = GroupType(values["type"])
        values["region"] = values["region"] or ""
        return cls(**values)


def group_name_taken(name: str) -> bool:
    return db.session.scalar(sa.select(Group.id).where(sa.func.lower(Group.name) == name.strip().lower())) is not None


def email_taken(email: str) -> bool:
    return db.session.scalar(sa.select(User.id).where(User.email == normalise_email(email))) is not None


def sign_up(details: GroupDetails, password: str) -> User:
    """A coordinator signs up with their group; both wait for staff approval. Commits."""
    if group_name_taken(details.name):
        raise AccountError("A group with this name is already registered.")
    if email_taken(details.contact_email):
        raise AccountError("An account with this email already exists.")
    problem = password_problem(password)
    if problem:
        raise AccountError(problem)
    group = Group(**{**details.__dict__, "contact_email": normalise_email(details.contact_email)}, status=GroupStatus.PENDING)
    user = User(
        email=normalise_email(details.contact_email), name=details.contact_name, role=Role.COORDINATOR,
        group=group, password_hash=generate_password_hash(password),
    )
    db.session.add_all([group, user])
    db.session.flush()
    audit.record("group.signed_up", group, actor=user, after={"name": group.name, "status": "pending"})
    for staff in db.session.scalars(sa.select(User).where(User.role == Role.STAFF, User.is_active.is_(True))):
        mail.queue(staff.email, f"New group waiting for approval: {group.name}", "group_signed_up", group=group)
    mail.queue(user.email, "We received your sign-up", "signup_received", user=user, group=group)
    db.session.commit()
    return user


def invite_coordinator(email: str, name: str, group: Group, actor: User) -> User:
    """Staff invite a coordinator to an approved group; they choose a password from the emailed link. Commits."""
    email = normalise_email(email)
    if email_taken(email):
        raise AccountError("An account with this email already exists.")
    user = User(email=email, name=name, role=Role.COORDINATOR, group=group, password_hash=None)
    db.session.add(user)
    db.session.flush()
    audit.record("user.invited", user, actor=actor, after={"email": email, "group": group.name})
    mail.queue(email, f"You are invited to coordinate {group.name}", "invitation", user=user, group=group,
               token=make_link_token(user, "invitation"), inviter=actor)
    db.session.commit()
    return user


def set_group_status(group: Group, status: GroupStatus, actor: User, reason: str = "") -> None:
    """Approve or disable a group; its coordinators are told by email. Disabling ends their sessions. Commits."""
    before = group.status
    if before is status:
        return
    group.status = status
    audit.record("group.status_changed", group, actor=actor, before={"status": before.value},
                 after={"status": status.value}, comment=reason)
    for user in group.users:
        if status is GroupStatus.DISABLED:
            user.session_version = user.session_version + 1
        mail.queue(user.email, f"Your group {group.name}: {'approved' if status is GroupStatus.APPROVED else 'not approved'}",
                   "group_status", user=user, group=group, status=status, reason=reason)
    db.session.commit()


def set_user_active(user: User, active: bool, actor: User) -> None:
    """Enable or disable an account; disabling ends every session at once. Commits."""
    if user.id == actor.id and not active:
        raise AccountError("You cannot disable your own account.")
    before = user.is_active
    user.is_active = active
    if not active:
        user.session_version = user.session_version + 1
    audit.record("user.active_changed", user, actor=actor, before={"is_active": before}, after={"is_active": active})
    db.session.commit()
