"""Chase list forms."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import IntegerField
from wtforms.validators import NumberRange, Optional


class RemindForm(FlaskForm):
    """The reminder button: CSRF, and the number of days the list was drawn with."""

    days = IntegerField(validators=[Optional(), NumberRange(min=0, max=365)])
