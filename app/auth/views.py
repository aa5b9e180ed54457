"""Log in and out, sign up, reset a password, accept an invitation."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user

from ..extensions import limiter
from . import services
from .decorators import login_required
from .forms import ForgotPasswordForm, LoginForm, NewPasswordForm, SignupForm

bp = Blueprint("auth", __name__)


def _login_email_key() -> str:
    return "login:" + services.normalise_email(request.form.get("email", ""))[:254]


def home_for(user) -> str:
    return url_for("staff.home") if user.is_staff else url_for("groups.my_group")


def _safe_next(target: str | None) -> str | None:
    """Only local paths: never redirect to another site after login."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("30 per minute", methods=["POST"])
@limiter.limit("10 per 15 minutes", methods=["POST"], key_func=_login_email_key,
               deduct_when=lambda response: response.status_code != 303)
def login():
    """Log in with email and password."""
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = services.authenticate(form.email.data, form.password.data)
        except services.LoginRefused as refused:
            form.password.errors.append(str(refused))
        else:
            session.clear()  # a fresh session at login
            login_user(user)
            return redirect(_safe_next(request.args.get("next")) or home_for(user), code=303)
    return render_template("auth/login.html", form=form), (422 if form.errors else 200)


@bp.post("/logout")
@login_required
def logout():
    """Log out of this browser."""
    logout_user()
    session.clear()
    flash("You are logged out.", "success")
    return redirect(url_for("public.home"), code=303)


@bp.post("/logout-everywhere")
@login_required
def logout_everywhere():
    """End every session of this account, on every device."""
    services.end_all_sessions(current_user._get_current_object())
    logout_user()
    session.clear()
    flash("You are logged out on every device.", "success")
    return redirect(url_for("auth.login"), code=303)


@bp.route("/signup", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"])
def signup():
    """A coordinator registers their group; staff approve it."""
    form = SignupForm()
    if form.validate_on_submit():
        details = services.GroupDetails.from_form(form)
        try:
            services.sign_up(details, form.password.data)
        except services.AccountError as error:
            form.name.errors.append(str(error))
        else:
            return redirect(url_for("auth.signup_done"), code=303)
    return render_template("auth/signup.html", form=form), (422 if form.errors else 200)


@bp.get("/signup/done")
def signup_done():
    """Thanks: the group waits for approval."""
    return render_template("auth/signup_done.html")


@bp.route("/forgot", methods=["GET", "POST"])
@limiter.limit("5 per 15 minutes", methods=["POST"])
def forgot_password():
    """Ask for a password reset link (the answer is the same whether the account exists or not)."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        services.request_password_reset(form.email.data)
        flash("If an account exists for that address, we have emailed a link to reset the password. It works for one hour.", "success")
        return redirect(url_for("auth.login"), code=303)
    return render_template("auth/forgot.html", form=form), (422 if form.errors else 200)


def _choose_password(token: str, purpose: str, max_age_key: str, template: str, action: str):
    user = services.user_from_link_token(token, purpose, current_app.config[max_age_key])
    if user is None:
        return render_template("auth/link_expired.html"), 410
    form = NewPasswordForm()
    if form.validate_on_submit():
        services.set_password(user, form.password.data, action=action)
        flash("Your password is set. You can log in now.", "success")
        return redirect(url_for("auth.login"), code=303)
    return render_template(template, form=form, user=user), (422 if form.errors else 200)


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    """Choose a new password from an emailed link."""
    return _choose_password(token, "password-reset", "PASSWORD_RESET_MAX_AGE", "auth/reset.html", "user.password_reset")


@bp.route("/invite/<token>", methods=["GET", "POST"])
def accept_invitation(token: str):
    """An invited coordinator chooses their password."""
    return _choose_password(token, "invitation", "INVITATION_MAX_AGE", "auth/invitation.html", "user.invitation_accepted")


@bp.get("/account")
@login_required
def account():
    """Your account: who you are, log out everywhere."""
    return render_template("auth/account.html")
