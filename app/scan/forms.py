"""Scan station forms: the scan itself (a GET lookup, no CSRF) and recording a count."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, StringField
from wtforms.validators import InputRequired, Length

from ..reports.forms import CARDS_VALIDATORS, KEY_VALIDATORS, CardsField
from .services import MAX_SCAN_LENGTH


class ScanForm(FlaskForm):
    """Whatever the scanner typed. A lookup changes nothing, so it is a GET form without CSRF."""

    class Meta:
        csrf = False

    q = StringField("Scan a pack", validators=[Length(max=MAX_SCAN_LENGTH)])


class ScanReportForm(FlaskForm):
    """The count for the pack on screen; the key (fresh per lookup) makes a double Enter count once."""

    pack_id = IntegerField(validators=[InputRequired()])
    cards = CardsField("Cards posted", validators=CARDS_VALIDATORS)
    idempotency_key = HiddenField(validators=KEY_VALIDATORS)
