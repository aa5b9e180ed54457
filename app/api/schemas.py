"""API schemas: the same marshmallow schemas validate requests and generate the OpenAPI document."""

from __future__ import annotations

import re
from typing import Any

from marshmallow import Schema, ValidationError, fields, pre_load, validate

from ..models import OrderStatus

MAX_ID = 2**31 - 1
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class InputSchema(Schema):
    """Request input: text with control characters is refused (422) before it reaches the database."""

    @pre_load
    def _refuse_control_characters(self, data: Any, **_: Any) -> Any:
        if hasattr(data, "items"):
            bad = {key: ["Control characters are not allowed."] for key, value in data.items()
                   if isinstance(value, str) and _CONTROL.search(value)}
            if bad:
                raise ValidationError(bad)
        return data


class PageArgs(InputSchema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=100))


def page_of(item_schema: type[Schema], name: str) -> type[Schema]:
    """An envelope schema: items plus page, per_page, total, pages — the same on every list."""
    return Schema.from_dict(
        {
            "items": fields.List(fields.Nested(item_schema), required=True),
            "page": fields.Integer(required=True),
            "per_page": fields.Integer(required=True),
            "total": fields.Integer(required=True),
            "pages": fields.Integer(required=True),
        },
        name=name,
    )


class Totals(Schema):
    ordered = fields.Integer(required=True, metadata={"description": "Cards in accepted orders"})
    reported = fields.Integer(required=True, metadata={"description": "Cards reported posted (not voided)"})
    mailed = fields.Integer(required=True, metadata={"description": "Cards mailed on to the case"})


class CampaignOut(Schema):
    id = fields.Integer(required=True)
    slug = fields.String(required=True)
    name = fields.String(required=True)
    starts_on = fields.Date(required=True)
    ends_on = fields.Date(required=True)
    is_current = fields.Boolean(required=True)


class CaseOut(Schema):
    id = fields.Integer(required=True)
    slug = fields.String(required=True)
    campaign_id = fields.Integer(required=True)
    name = fields.String(required=True)
    country = fields.String(required=True)
    summary = fields.String(required=True)
    ask = fields.String(required=True)
    status = fields.String(required=True, attribute="status.value")
    target = fields.Integer(required=True)
    totals = fields.Nested(Totals, required=True)


class CaseArgs(PageArgs):
    campaign = fields.String(metadata={"description": "Campaign slug; default: the current campaign"})


class StatsOut(Schema):
    campaign = fields.Nested(CampaignOut, required=True)
    totals = fields.Nested(Totals, required=True)
    cases = fields.List(fields.Nested(CaseOut), required=True)


class GroupOut(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    type = fields.String(required=True, attribute="type.value")
    status = fields.String(required=True, attribute="status.value")
    country = fields.String(required=True)
    region = fields.String(required=True)
    contact_name = fields.String(required=True)
    contact_email = fields.String(required=True)
    expected_writers = fields.Integer(required=True)


class GroupArgs(PageArgs):
    status = fields.String(validate=validate.OneOf(["pending", "approved", "disabled"]))
    q = fields.String(validate=validate.Length(max=100))


class OrderLineOut(Schema):
    id = fields.Integer(required=True)
    case_id = fields.Integer(required=True)
    pack_size = fields.Integer(required=True)
    packs = fields.Integer(required=True)
    requested_packs = fields.Integer(required=True)


class ShipmentOut(Schema):
    id = fields.Integer(required=True)
    order_id = fields.Integer(required=True)
    carrier = fields.String(required=True)
    tracking_number = fields.String(required=True)
    tracking_url = fields.String(required=True)
    dispatched_at = fields.DateTime(required=True)
    delivered_at = fields.DateTime(allow_none=True, required=True)


class OrderOut(Schema):
    id = fields.Integer(required=True)
    campaign_id = fields.Integer(required=True)
    group_id = fields.Integer(required=True)
    status = fields.String(required=True, attribute="status.value")
    needed_by = fields.Date(allow_none=True, required=True)
    notes = fields.String(required=True)
    staff_comment = fields.String(required=True)
    created_at = fields.DateTime(required=True)
    submitted_at = fields.DateTime(allow_none=True, required=True)
    total_packs = fields.Integer(required=True)
    total_cards = fields.Integer(required=True)
    lines = fields.List(fields.Nested(OrderLineOut), required=True)
    shipments = fields.List(fields.Nested(ShipmentOut), required=True)


class OrderArgs(PageArgs):
    status = fields.String(validate=validate.OneOf([s.value for s in OrderStatus]))
    group_id = fields.Integer(validate=validate.Range(min=1, max=MAX_ID))


class OrderLineIn(InputSchema):
    case_id = fields.Integer(required=True, validate=validate.Range(min=1, max=MAX_ID))
    pack_size = fields.Integer(required=True, validate=validate.Range(min=1, max=1000))
    packs = fields.Integer(required=True, validate=validate.Range(min=1, max=200))


class OrderIn(InputSchema):
    lines = fields.List(fields.Nested(OrderLineIn), required=True, validate=validate.Length(min=1, max=100))
    needed_by = fields.Date(allow_none=True, load_default=None)
    delivery_name = fields.String(load_default="", validate=validate.Length(max=200))
    delivery_line1 = fields.String(load_default="", validate=validate.Length(max=200))
    delivery_line2 = fields.String(load_default="", validate=validate.Length(max=200))
    delivery_city = fields.String(load_default="", validate=validate.Length(max=100))
    delivery_postcode = fields.String(load_default="", validate=validate.Length(max=20))
    delivery_country = fields.String(load_default="", validate=validate.Length(max=100))
    notes = fields.String(load_default="", validate=validate.Length(max=2000))
    submit = fields.Boolean(load_default=True, metadata={"description": "Submit at once (else a draft)"})


class TransitionIn(InputSchema):
    to = fields.String(required=True, validate=validate.OneOf([s.value for s in OrderStatus if s is not OrderStatus.DRAFT]))
    comment = fields.String(load_default="", validate=validate.Length(max=1000))
    carrier = fields.String(load_default="", validate=validate.Length(max=100))
    tracking_number = fields.String(load_default="", validate=validate.Length(max=100))
    tracking_url = fields.String(load_default="", validate=validate.Length(max=500))
    override_stock = fields.Boolean(load_default=False)


class PackOut(Schema):
    id = fields.Integer(required=True)
    case_id = fields.Integer(required=True)
    order_line_id = fields.Integer(allow_none=True, required=True)
    size = fields.Integer(required=True)
    code = fields.String(required=True)
    cards_posted = fields.Integer(required=True)
    url = fields.String(required=True)


class PacksOut(Schema):
    items = fields.List(fields.Nested(PackOut), required=True)
    labels_pdf = fields.String(allow_none=True, required=True, metadata={"description": "Label sheet PDF for these packs"})


class ShipmentArgs(PageArgs):
    order_id = fields.Integer(validate=validate.Range(min=1, max=MAX_ID))


class Problem(Schema):
    """RFC 9457 problem details."""

    type = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String()
    errors = fields.Dict(metadata={"description": "Field → messages, for validation errors"})


class ReportIn(InputSchema):
    cards = fields.Integer(required=True, validate=validate.Range(min=1, max=1000))


class ReportOut(Schema):
    id = fields.Integer(required=True)
    pack_code = fields.String(required=True)
    case_id = fields.Integer(required=True)
    cards = fields.Integer(required=True)
    source = fields.String(required=True)
    created_at = fields.DateTime(required=True)
    replayed = fields.Boolean(required=True, metadata={"description": "True when this key was seen before: nothing was added"})
    pack_posted = fields.Integer(required=True)
    pack_size = fields.Integer(required=True)
    case_reported = fields.Integer(required=True)


class MailingOut(Schema):
    id = fields.Integer(required=True)
    case_id = fields.Integer(required=True)
    quantity = fields.Integer(required=True)
    content = fields.String(required=True, attribute="content.value")
    destination_type = fields.String(required=True, attribute="destination_type.value")
    destination = fields.String(required=True)
    carrier = fields.String(required=True)
    tracking_number = fields.String(required=True)
    status = fields.String(required=True, attribute="status.value")
    prepared_on = fields.Date(allow_none=True, required=True)
    sent_on = fields.Date(allow_none=True, required=True)
    delivered_on = fields.Date(allow_none=True, required=True)
    acknowledged_on = fields.Date(allow_none=True, required=True)


class MailingArgs(PageArgs):
    case_id = fields.Integer(validate=validate.Range(min=1, max=MAX_ID))
    status = fields.String(validate=validate.OneOf(["prepared", "sent", "delivered", "acknowledged"]))


class LabelArgs(InputSchema):
    template = fields.String(load_default="3x8", validate=validate.OneOf(["3x8", "2x4", "insert"]))
    paper = fields.String(load_default="a4", validate=validate.OneOf(["a4", "letter"]))
