"""Forms for the pack page (volunteers), manual code entry and staff corrections."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from flask_babel import gettext, lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Regexp

from ..i18n import PublicForm
from .services import MAX_CARDS, MAX_KEY_LENGTH, MAX_REASON_LENGTH


def new_idempotency_key() -> str:
    """A fresh key for one page load of a report form."""
    return str(uuid.uuid4())


class CardsField(IntegerField):
    """A whole number of cards, with a message people understand when it is not one."""

    def process_formdata(self, valuelist):
        if valuelist:
            raw = (valuelist[0] or "").strip()
            if not raw:
                self.data = None
                return
            if not raw.isdigit() or len(raw) > 6:
                self.data = None
                raise ValueError(gettext("Enter a whole number of cards, like 3."))
            self.data = int(raw)


CARDS_VALIDATORS = [
    InputRequired(message=_l("Enter how many cards you posted.")),
    NumberRange(min=1, max=MAX_CARDS, message=_l("Enter a number from %(min)s to %(max)s.")),
]
KEY_VALIDATORS = [
    DataRequired(message=_l("The form is incomplete: reload the page.")),
    Length(max=MAX_KEY_LENGTH, message=_l("The form is incomplete: reload the page.")),
    Regexp(r"^[A-Za-z0-9-]+$", message=_l("The form is incomplete: reload the page.")),
]


class ReportForm(PublicForm):
    """How many cards did you post? The key makes retries and double taps count once."""

    class Meta:
        # CSRFProtect has checked the token of every POST before the view runs; checking it again
        # here was a third of the form's cost on the busiest POST of the campaign.
        csrf = False

    cards = CardsField(_l("How many cards did you post?"), validators=CARDS_VALIDATORS, default=1)
    # No default: a post must carry the key its page was given (a default would make every retry new).
    idempotency_key = HiddenField(validators=KEY_VALIDATORS)


@dataclass(frozen=True)
class ReportEntry:
    """What the pack page's form shows: its idempotency key, the number in the field and the errors.

    A page load needs no ReportForm (`fresh`): WTForms' per-request field set-up was a tenth of the
    pack page, the most visited page of the campaign. A refused post shows its form's values (`of`)."""

    key: str
    cards: str
    errors: tuple[str, ...] = ()

    @classmethod
    def fresh(cls) -> "ReportEntry":
        return cls(new_idempotency_key(), "1")

    @classmethod
    def of(cls, form: ReportForm) -> "ReportEntry":
        return cls(form.idempotency_key._value(), form.cards._value(),
                   tuple(form.cards.errors) + tuple(form.idempotency_key.errors))


class CodeForm(PublicForm):
    """The short code printed under the QR code, typed by hand."""

    code = StringField(
        _l("Pack code"),
        validators=[DataRequired(message=_l("Type the code printed under the QR code.")),
                    Length(max=40, message=_l("That is too long for a pack code."))],
    )


class VoidForm(FlaskForm):
    reason = TextAreaField(
        "Reason",
        validators=[DataRequired(message="Say why this report is void."), Length(max=MAX_REASON_LENGTH)],
    )


class CorrectForm(FlaskForm):
    cards = CardsField("Correct number of cards", validators=CARDS_VALIDATORS)
    reason = TextAreaField(
        "Reason",
        validators=[DataRequired(message="Say why the number changes."), Length(max=MAX_REASON_LENGTH)],
    )
