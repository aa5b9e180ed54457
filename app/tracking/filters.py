"""The filters every figure respects: one parser for the dashboard, the exports and the API.

`parse_filters` takes any mapping of strings (request.args, a JSON body, CLI options) and never
raises: values that do not parse are dropped and explained in `errors`, keyed by the argument name,
so the page can show the message next to the field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta, timezone
from typing import Mapping, Optional

from ..models import GroupType

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

MIN_DATE = date(2000, 1, 1)
MAX_DATE = date(2100, 12, 31)

# URL argument names: short, stable, documented (they end up in bookmarks and API calls).
ARG_NAMES = ("campaign", "case", "group", "country", "region", "type", "from", "to")


@dataclass(frozen=True)
class Filters:
    """Which cards to count. Empty means "everything in the campaign"."""

    campaign_id: Optional[int] = None
    case_id: Optional[int] = None
    group_id: Optional[int] = None
    country: str = ""
    region: str = ""
    group_type: Optional[GroupType] = None
    date_from: Optional[date] = None
    date_to: Optional[date] = None
    errors: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    @property
    def by_group(self) -> bool:
        """True when the figures are limited to some groups (then mailings, which go to cases, do not apply)."""
        return bool(self.group_id or self.country or self.region or self.group_type)

    @property
    def by_date(self) -> bool:
        return bool(self.date_from or self.date_to)

    @property
    def active(self) -> bool:
        return bool(self.case_id or self.by_group or self.by_date)

    def since(self) -> Optional[datetime]:
        """Start of the range as an aware UTC datetime (inclusive)."""
        return datetime.combine(self.date_from, time.min, tzinfo=timezone.utc) if self.date_from else None

    def until(self) -> Optional[datetime]:
        """End of the range as an aware UTC datetime (exclusive: the day after `date_to`)."""
        return datetime.combine(self.date_to + timedelta(days=1), time.min, tzinfo=timezone.utc) if self.date_to else None

    def to_args(self, **changes: object) -> dict[str, str]:
        """The filters as URL arguments (for links that keep them), with some changed; None drops one."""
        args = {
            "campaign": str(self.campaign_id) if self.campaign_id else "",
            "case": str(self.case_id) if self.case_id else "",
            "group": str(self.group_id) if self.group_id else "",
            "country": self.country,
            "region": self.region,
            "type": self.group_type.value if self.group_type else "",
            "from": self.date_from.isoformat() if self.date_from else "",
            "to": self.date_to.isoformat() if self.date_to else "",
        }
        for key, value in changes.items():
            args[key] = "" if value is None else str(value)
        return {key: value for key, value in args.items() if value}

    def without_dates(self) -> "Filters":
        return replace(self, date_from=None, date_to=None)


def clean_text(value: str, limit: int = 100) -> str:
    """Typed text for a search or filter: control characters (NUL breaks PostgreSQL) removed, trimmed, capped."""
    return _CONTROL.sub("", value or "").strip()[:limit]


def parse_id(raw: Optional[str]) -> Optional[int]:
    """An id typed in a URL: 1 to 9 ASCII digits ('²' is a digit to str.isdigit, not to int), else None."""
    raw = (raw or "").strip()
    if raw.isascii() and raw.isdigit() and len(raw) <= 9 and int(raw) > 0:
        return int(raw)
    return None


def parse_date(raw: str) -> Optional[date]:
    try:
        value = date.fromisoformat(raw.strip()[:10]) if len(raw.strip()) == 10 else None
    except ValueError:
        return None
    if value is None or not MIN_DATE <= value <= MAX_DATE:
        return None
    return value


def parse_filters(args: Mapping[str, str]) -> Filters:
    """Filters from URL-style arguments; anything that does not parse is dropped and explained."""
    errors: dict[str, str] = {}

    def text(name: str, limit: int = 100) -> str:
        return clean_text(args.get(name) or "", limit)

    ids: dict[str, Optional[int]] = {}
    for name in ("campaign", "case", "group"):
        raw = text(name, 20)
        ids[name] = parse_id(raw) if raw else None
        if raw and ids[name] is None:
            errors[name] = f"Unknown {name}: showing all."

    group_type = None
    raw_type = text("type", 20)
    if raw_type:
        try:
            group_type = GroupType(raw_type)
        except ValueError:
            errors["type"] = "Unknown group type: showing all."

    dates: dict[str, Optional[date]] = {}
    for name in ("from", "to"):
        raw = text(name, 40)
        dates[name] = parse_date(raw) if raw else None
        if raw and dates[name] is None:
            errors[name] = "Enter a date as YYYY-MM-DD (between 2000 and 2100)."
    if dates["from"] and dates["to"] and dates["from"] > dates["to"]:
        errors["to"] = "The end date is before the start date: showing from the start date on."
        dates["to"] = None

    return Filters(
        campaign_id=ids["campaign"],
        case_id=ids["case"],
        group_id=ids["group"],
        country=text("country"),
        region=text("region"),
        group_type=group_type,
        date_from=dates["from"],
        date_to=dates["to"],
        errors=errors,
    )
