"""Stock forms: print runs and adjustments."""

from flask_wtf import FlaskForm
from wtforms import IntegerField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional


class PrintRunForm(FlaskForm):
    cards = IntegerField("Cards printed", validators=[DataRequired(message="Enter how many cards arrived."), NumberRange(min=1, max=10_000_000, message="Enter 1 to 10,000,000.")])
    printer = StringField("Printer", validators=[Optional(), Length(max=200)])
    note = StringField("Note", validators=[Optional(), Length(max=500)])


class AdjustForm(FlaskForm):
    quantity = IntegerField("Change (+/−)", validators=[DataRequired(message="Enter a non-zero number, e.g. -40 or 100."), NumberRange(min=-10_000_000, max=10_000_000)])
    note = StringField("Why", validators=[DataRequired(message="Say why the stock changes."), Length(max=500)])
