"""Order forms. The case × pack-size grid of quantities is parsed by `parse_quantities`."""

from __future__ import annotations

from datetime import date

from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import BooleanField, DateField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from .services import MAX_PACKS_PER_LINE, OrderOptions


class OrderForm(FlaskForm):
    needed_by = DateField("Needed by", validators=[Optional()], format="%Y-%m-%d")
    delivery_name = StringField("Recipient", validators=[DataRequired(message="Enter who receives the parcel."), Length(max=200)])
    delivery_line1 = StringField("Address", validators=[DataRequired(message="Enter the delivery address."), Length(max=200)])
    delivery_line2 = StringField("Address line 2 (optional)", validators=[Optional(), Length(max=200)])
    delivery_city = StringField("Town or city", validators=[DataRequired(message="Enter the town or city."), Length(max=100)])
    delivery_postcode = StringField("Postcode", validators=[Optional(), Length(max=20)])
    delivery_country = StringField("Country", validators=[DataRequired(message="Enter the country."), Length(max=100)])
    notes = TextAreaField("Notes for the office (optional)", validators=[Optional(), Length(max=2000, message="Keep notes under 2,000 characters.")])

    def validate_needed_by(self, field) -> None:
        if field.data and field.data < date.today():
            raise ValidationError("The date is in the past: choose today or later.")


def parse_quantities(formdata: MultiDict, options: OrderOptions) -> tuple[dict[tuple[int, int], int], dict[str, str]]:
    """Quantities from `qty_<case>_<size>` fields; blank means 0. Returns (quantities, errors by field)."""
    quantities: dict[tuple[int, int], int] = {}
    errors: dict[str, str] = {}
    for case in options.cases:
        for size in options.sizes:
            name = options.field_name(case.id, size)
            raw = (formdata.get(name) or "").strip()
            if not raw:
                continue
            if not raw.isdigit() or len(raw) > 6:
                errors[name] = "Enter a whole number of packs (0 or more)."
                continue
            value = int(raw)
            if value > MAX_PACKS_PER_LINE:
                errors[name] = f"At most {MAX_PACKS_PER_LINE} packs per line; contact the office for more."
                continue
            if value:
                quantities[(case.id, size)] = value
    return quantities, errors


class ApproveForm(FlaskForm):
    comment = TextAreaField("Comment for the coordinator (optional)", validators=[Optional(), Length(max=1000)])
    override_stock = BooleanField("Approve beyond stock")


class ReasonForm(FlaskForm):
    reason = TextAreaField("Reason", validators=[Optional(), Length(max=1000)])


class DispatchForm(FlaskForm):
    carrier = StringField("Carrier", validators=[DataRequired(message="Enter the carrier."), Length(max=100)], default="Royal Mail")
    tracking_number = StringField("Tracking number", validators=[DataRequired(message="Enter the tracking number."), Length(max=100)])
    tracking_url = StringField("Tracking link (optional)", validators=[Optional(), Length(max=500)])

    def validate_tracking_url(self, field) -> None:
        if field.data and not field.data.startswith(("https://", "http://")):
            raise ValidationError("Start the link with https://")
