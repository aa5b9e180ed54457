"""Forms for printing labels, reissuing, pre-printing and assigning packs."""

from __future__ import annotations

import re

from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, RadioField, SelectChoice, SelectField, StringField
from wtforms.validators import NumberRange, Optional, ValidationError

from . import labels
from .services import MAX_SELECTION, Selection

_PACK_LIST = re.compile(r"^[\d\s,\-–]*$")


def parse_pack_numbers(text: str, limit: int = MAX_SELECTION) -> list[int]:
    """`"12, 15-18"` → [12, 15, 16, 17, 18]; ValueError with a message for people."""
    text = (text or "").strip()
    if not _PACK_LIST.match(text):
        raise ValueError("Use pack numbers, commas and ranges such as 12, 15-18.")
    ids: list[int] = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        first, _, last = part.replace("–", "-").partition("-")
        try:
            a, b = int(first), int(last or first)
        except ValueError:
            raise ValueError(f"“{part}” is not a pack number or range.") from None
        if a > b or b - a >= limit:
            raise ValueError(f"“{part}” is not a valid range.")
        ids.extend(range(a, b + 1))
        if len(ids) > limit:
            raise ValueError(f"Choose at most {limit:,} packs.")
    if not ids:
        raise ValueError("Give at least one pack number.")
    return sorted(set(ids))


class LabelForm(FlaskForm):
    """Which packs, on which sheet, from which position, how many copies."""

    layout = SelectField("Template", choices=[SelectChoice(k, v) for k, v in labels.LAYOUTS.items()], default="3x8")
    paper = SelectField("Paper", choices=[SelectChoice(k, v) for k, v in labels.PAPER_NAMES.items()], default="a4")
    start_at = IntegerField("Start at position", default=1, validators=[NumberRange(1, 24)],
                            description="For a part-used sheet: 1 is top left, counting across then down.")
    copies = IntegerField("Copies of each label", default=1, validators=[NumberRange(1, 20)])
    kind = RadioField("Packs", choices=[SelectChoice("order", "The whole order"),
                                        SelectChoice("print_run", "The whole print run"),
                                        SelectChoice("packs", "These packs"),
                                        SelectChoice("range", "A range of pack numbers")], default="order")
    order_id = HiddenField()
    print_run_id = HiddenField()
    packs = StringField("Pack numbers", validators=[Optional()], description="e.g. 12, 15-18")
    first_id = IntegerField("From pack number", validators=[Optional(), NumberRange(1)])
    last_id = IntegerField("To pack number", validators=[Optional(), NumberRange(1)])

    def validate_start_at(self, field) -> None:
        template = labels.TEMPLATES.get((self.layout.data, self.paper.data))
        if template and field.data and field.data > template.per_page:
            raise ValidationError(f"This sheet has {template.per_page} positions.")

    def validate_packs(self, field) -> None:
        if self.kind.data == "packs":
            try:
                parse_pack_numbers(field.data)
            except ValueError as error:
                raise ValidationError(str(error)) from None

    def validate_last_id(self, field) -> None:
        if self.kind.data == "range":
            if self.first_id.data is None or field.data is None:
                raise ValidationError("Give the first and the last pack number.")
            if not 0 <= field.data - self.first_id.data < MAX_SELECTION:
                raise ValidationError(f"The range must go up, and cover at most {MAX_SELECTION:,} packs.")

    def _int(self, field) -> int | None:
        try:
            return int(field.data) if field.data not in (None, "") else None
        except (TypeError, ValueError):
            return None

    def validate_order_id(self, field) -> None:
        if self.kind.data == "order" and self._int(field) is None:
            raise ValidationError("Choose an order.")

    def validate_print_run_id(self, field) -> None:
        if self.kind.data == "print_run" and self._int(field) is None:
            raise ValidationError("Choose a print run.")

    def selection(self) -> Selection:
        """The validated selection."""
        kind = self.kind.data
        if kind == "order":
            return Selection(kind="order", order_id=self._int(self.order_id))
        if kind == "print_run":
            return Selection(kind="print_run", print_run_id=self._int(self.print_run_id))
        if kind == "packs":
            return Selection(kind="packs", pack_ids=tuple(parse_pack_numbers(self.packs.data)))
        return Selection(kind="range", first_id=self.first_id.data, last_id=self.last_id.data)


class PreviewForm(LabelForm):
    """The same options read from a GET query for the on-screen preview (no state change, no CSRF)."""

    class Meta:
        csrf = False


class ConfirmForm(FlaskForm):
    """An action button: only the CSRF token."""


class PreprintForm(FlaskForm):
    size = IntegerField("Cards per pack", default=25, validators=[NumberRange(1, 1000)])
    count = IntegerField("Number of packs", default=100, validators=[NumberRange(1, 10_000)])


class AssignForm(FlaskForm):
    packs = StringField("Pre-printed pack numbers", description="e.g. 120-129, 140")

    def validate_packs(self, field) -> None:
        try:
            parse_pack_numbers(field.data, limit=10_000)
        except ValueError as error:
            raise ValidationError(str(error)) from None
