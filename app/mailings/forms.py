"""Mailing forms."""

from __future__ import annotations

import re
from datetime import date

from ..tracking.forms import CleanForm
from wtforms import DateField, HiddenField, IntegerField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from ..models import MailingContent, MailingDestination, MailingStatus
from ..packs.codes import InvalidCode, parse_code
from .services import CONTENT_LABELS, DESTINATION_LABELS, MAX_PACKS, MAX_QUANTITY, MailingInput

_SEPARATORS = re.compile(r"[\s,;]+")


def parse_pack_codes(text: str) -> tuple[list[str], list[str]]:
    """(canonical codes, the pieces that are not codes) from text with one code per line or comma."""
    codes: list[str] = []
    bad: list[str] = []
    for piece in _SEPARATORS.split(text or ""):
        if not piece:
            continue
        try:
            code = parse_code(piece)
        except (InvalidCode, KeyError):  # KeyError: a typed U, before the packs branch's fix to parse_code
            bad.append(piece[:20])
        else:
            if code not in codes:
                codes.append(code)
    return codes, bad


class MailingForm(CleanForm):
    case_id = SelectField("Case", coerce=int, validators=[InputRequired(message="Choose a case.")])
    quantity = IntegerField("Cards", validators=[InputRequired(message="Enter how many cards go in this mailing."),
                                                 NumberRange(min=1, max=MAX_QUANTITY, message=f"Enter 1 to {MAX_QUANTITY:,}.")])
    content = SelectField("What it carries", choices=[SelectChoice(c.value, CONTENT_LABELS[c]) for c in MailingContent])
    destination_type = SelectField("Goes to", choices=[SelectChoice(d.value, DESTINATION_LABELS[d]) for d in MailingDestination])
    destination = StringField("Destination", validators=[DataRequired(message="Say who receives it."), Length(max=300)])
    carrier = StringField("Carrier", validators=[Optional(), Length(max=100)])
    tracking_number = StringField("Tracking number", validators=[Optional(), Length(max=100)])
    prepared_on = DateField("Prepared on", validators=[Optional()], format="%Y-%m-%d")
    notes = TextAreaField("Notes (staff only)", validators=[Optional(), Length(max=2000, message="Keep notes under 2,000 characters.")])
    pack_codes = TextAreaField("Packs it came from (optional)", validators=[Optional(), Length(max=MAX_PACKS * 14)])

    def set_cases(self, cases) -> None:
        self.case_id.choices = [SelectChoice(c.id, c.name, optgroup=c.campaign.name) for c in cases]

    def validate_prepared_on(self, field) -> None:
        if field.data and not date(2000, 1, 1) <= field.data <= date.today():
            raise ValidationError("Enter a date between 2000 and today.")

    def validate_pack_codes(self, field) -> None:
        codes, bad = parse_pack_codes(field.data or "")
        if bad:
            raise ValidationError("Not a pack code: " + ", ".join(bad[:5]) + ("…" if len(bad) > 5 else "") + ".")
        if len(codes) > MAX_PACKS:
            raise ValidationError(f"Link at most {MAX_PACKS:,} packs to one mailing.")

    def to_input(self) -> MailingInput:
        return MailingInput(
            case_id=self.case_id.data, quantity=self.quantity.data, content=MailingContent(self.content.data),
            destination_type=MailingDestination(self.destination_type.data), destination=self.destination.data or "",
            carrier=self.carrier.data or "", tracking_number=self.tracking_number.data or "",
            prepared_on=self.prepared_on.data, notes=self.notes.data or "",
            pack_codes=parse_pack_codes(self.pack_codes.data or "")[0],
        )


class AdvanceForm(CleanForm):
    to = HiddenField(validators=[DataRequired()])
    on = DateField("Date", validators=[InputRequired(message="Enter the date.")], format="%Y-%m-%d", default=date.today)

    def target(self) -> MailingStatus | None:
        try:
            return MailingStatus(self.to.data)
        except ValueError:
            return None


class DeleteForm(CleanForm):
    """CSRF only."""
