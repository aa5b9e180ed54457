"""Forms for logging in, signing up, resetting passwords and invitations."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, IntegerField, PasswordField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, EqualTo, Length, NumberRange, Optional, ValidationError

from ..models import GroupType
from . import services

EMAIL = [DataRequired(message="Enter your email address."), Email(message="Enter a valid email address."), Length(max=254)]


def _password_rules(form, field) -> None:
    problem = services.password_problem(field.data or "")
    if problem:
        raise ValidationError(problem)


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=EMAIL)
    password = PasswordField("Password", validators=[DataRequired(message="Enter your password."), Length(max=200)])


class ForgotPasswordForm(FlaskForm):
    email = EmailField("Email", validators=EMAIL)


class NewPasswordForm(FlaskForm):
    password = PasswordField("New password", validators=[DataRequired(message="Choose a password."), _password_rules])
    confirm = PasswordField("Repeat the password", validators=[EqualTo("password", message="The two passwords differ.")])


class GroupDetailsForm(FlaskForm):
    """The group's details, used at sign-up and when a coordinator edits their group."""

    name = StringField("Group name", validators=[DataRequired(message="Enter your group's name."), Length(max=200)])
    type = SelectField("Type of group", choices=[SelectChoice(t.value, t.label) for t in GroupType], default=GroupType.LOCAL.value)
    country = StringField("Country", validators=[DataRequired(message="Enter the country."), Length(max=100)], default="United Kingdom")
    region = StringField("Region", validators=[Optional(), Length(max=100)])
    contact_name = StringField("Your name", validators=[DataRequired(message="Enter your name."), Length(max=200)])
    contact_phone = StringField("Phone (optional)", validators=[Optional(), Length(max=50)])
    address_line1 = StringField("Delivery address", validators=[DataRequired(message="Enter the address we send parcels to."), Length(max=200)])
    address_line2 = StringField("Address line 2 (optional)", validators=[Optional(), Length(max=200)])
    city = StringField("Town or city", validators=[DataRequired(message="Enter the town or city."), Length(max=100)])
    postcode = StringField("Postcode", validators=[Optional(), Length(max=20)])
    expected_writers = IntegerField(
        "How many people will write?",
        validators=[DataRequired(message="Enter a number of writers (at least 1)."), NumberRange(min=1, max=100000, message="Enter a number from 1 to 100,000.")],
        default=20,
    )


class SignupForm(GroupDetailsForm):
    contact_email = EmailField("Your email", validators=EMAIL)
    password = PasswordField("Password", validators=[DataRequired(message="Choose a password."), _password_rules])
    confirm = PasswordField("Repeat the password", validators=[EqualTo("password", message="The two passwords differ.")])

    def validate_name(self, field) -> None:
        if services.group_name_taken(field.data):
            raise ValidationError("A group with this name is already registered.")

    def validate_contact_email(self, field) -> None:
        if services.email_taken(field.data):
            raise ValidationError("An account with this email already exists: log in or reset your password.")


class InviteForm(FlaskForm):
    email = EmailField("Coordinator's email", validators=EMAIL)
    name = StringField("Their name", validators=[Optional(), Length(max=200)])

    def validate_email(self, field) -> None:
        if services.email_taken(field.data):
            raise ValidationError("An account with this email already exists.")


class ReasonForm(FlaskForm):
    """A plain action button with an optional reason (CSRF-protected)."""

    reason = TextAreaField("Reason (optional)", validators=[Optional(), Length(max=1000)])
