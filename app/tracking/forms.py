"""The base of the tracking, mailing and case forms."""

from __future__ import annotations

import re
from typing import Any

from flask_wtf import FlaskForm

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def strip_control(value: Any) -> Any:
    """Remove control characters from typed text (a NUL byte would make PostgreSQL refuse the row)."""
    return _CONTROL.sub("", value) if isinstance(value, str) else value


class CleanForm(FlaskForm):
    """A FlaskForm whose every field drops control characters from what people type."""

    class Meta:
        def bind_field(self, form, unbound_field, options):
            filters = list(unbound_field.kwargs.get("filters", ())) + [strip_control]
            return unbound_field.bind(form=form, filters=filters, **options)
