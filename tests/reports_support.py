"""Shared set-up for the report, scan and chase tests: a dispatched order with packs, users, log in."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from app.auth import services as accounts
from app.extensions import db
from app.models import Case, Group, OrderStatus, Pack, Role, Shipment, User
from tests import factories as f

PASSWORD = "correct horse battery staple"

# Strings from the group's personal data that must never reach the volunteer's pack page.
GROUP_SECRETS = dict(
    name="Llanfair Friends of Rights", contact_name="Ceridwen Secretkeeper", contact_email="ceridwen@private.example",
    contact_phone="07700 900123", address_line1="42 Hidden Lane", address_line2="Flat 9",
    city="Aberporthwen", postcode="SA99 9ZZ", region="Ceredigion",
)


@dataclass
class World:
    case: Case
    group: Group
    packs: list[Pack]


def make_world(packs: int = 3, size: int = 25, dispatched_days_ago: int | None = 20, status=OrderStatus.DISPATCHED) -> World:
    """A campaign, a case, a group with private details, and an order with packs (dispatched)."""
    campaign = f.campaign(is_current=True)
    case = f.case(campaign, what_to_write="Tell her she is not alone.", solidarity_name="Sonia",
                  solidarity_address="Solidarity address\nTunis", solidarity_address_is_placeholder=False)
    group = f.group(**GROUP_SECRETS)
    order = f.order(campaign, group, [(case, packs, size)], status=status)
    made = [f.pack(case, size, line=order.lines[0]) for _ in range(packs)]
    if dispatched_days_ago is not None:
        db.session.add(Shipment(order_id=order.id, carrier="Royal Mail", tracking_number="RM1",
                                dispatched_at=datetime.now(timezone.utc) - timedelta(days=dispatched_days_ago)))
    db.session.commit()
    return World(case=case, group=group, packs=made)


def make_user(role: Role, email: str, group: Group | None = None) -> User:
    user = accounts.create_user(email, PASSWORD, role, group_name=group.name if group else None)
    return user


def log_in(client, email: str) -> None:
    response = client.post("/login", data={"email": email, "password": PASSWORD})
    assert response.status_code == 303, response.get_data(as_text=True)[:500]


def text_of(response) -> str:
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


def hidden_value(html: str, name: str) -> str:
    match = re.search(rf'name="{name}"[^>]*value="([^"]*)"', html) or re.search(rf'value="([^"]*)"[^>]*name="{name}"', html)
    assert match, f"no hidden {name}"
    return match.group(1)
