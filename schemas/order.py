"""Orders to rectify as the REST API reads them (phones get the same documents through the
change feed), the request that issues one, its service (送达), the list's query, and issuing
bodies."""

from __future__ import annotations

import base64
import binascii

import marshmallow as ma

from schemas.common import ObjectIdString, RequestSchema, Timestamp
from server.clock import DEVICE_TIMES
from server.models.device import DEVICE_ID_PATTERN
from server.models.number_block import NumberState
from server.models.order import OrderState, ServiceKind
from server.models.synced import UUID_PATTERN
from server.services.hazards import number_blocks, order_text
from server.services.hazards.service import MAX_SIGNATURE_BYTES

_UUID = ma.validate.Regexp(UUID_PATTERN, error="a lower-case UUID")
_TERM = ma.validate.Range(*order_text.term_limits())


def _text(low: int, high: int, **kw):
    return ma.fields.String(validate=ma.validate.Length(low, high), **kw)


class OrderItemRequestSchema(RequestSchema):
    """What to order rectified within a term: a failed item of the inspection, or a hazard
    assigned to the inspector that no inspection found (a verified public report)."""

    item_code = _text(1, 40, metadata={"description": "a failed item of the inspection"})
    hazard_id = ma.fields.String(
        validate=_UUID,
        metadata={"description": "instead of item_code: a hazard assigned to the inspector"},
    )
    term_days = ma.fields.Integer(
        required=True,
        strict=True,
        validate=_TERM,
        metadata={"description": "calendar days from the day after service"},
    )
    measures = _text(1, 2000, required=True, metadata={"description": "整改措施"})


class OrderCreateSchema(RequestSchema):
    """Issue an order for chosen failed items of a submitted inspection, with a co-inspector;
    `supersedes` names the numbered order this one corrects."""

    inspection_id = ma.fields.String(required=True, validate=_UUID)
    co_inspector_id = ObjectIdString(required=True)
    items = ma.fields.List(
        ma.fields.Nested(OrderItemRequestSchema),
        required=True,
        validate=ma.validate.Length(1, 50),
    )
    issuing_body_id = ObjectIdString(
        load_default=None, metadata={"description": "default: the jurisdiction's only one"}
    )
    supersedes = ma.fields.String(load_default=None, validate=_UUID)
    reserved_number = ma.fields.Nested(
        "ReservedNumberSchema",
        load_default=None,
        metadata={"description": "issued offline under a number of the device's block"},
    )


class ReservedNumberSchema(RequestSchema):
    block_id = ma.fields.String(required=True, validate=_UUID)
    n = ma.fields.Integer(required=True, strict=True, validate=ma.validate.Range(1, 10**9))


class NumberBlockCreateSchema(RequestSchema):
    """Reserve numbers for a device (the phone chooses the block id: a retry finds it)."""

    id = ma.fields.String(required=True, validate=_UUID)
    device_id = ma.fields.String(required=True, validate=ma.validate.Regexp(DEVICE_ID_PATTERN))
    size = ma.fields.Integer(
        required=True, strict=True, validate=ma.validate.Range(1, number_blocks.max_size())
    )


class VoidSchema(RequestSchema):
    """Void (作废) a reserved number with a reason."""

    n = ma.fields.Integer(required=True, strict=True, validate=ma.validate.Range(1, 10**9))
    reason = _text(1, 500, required=True)


class BlockNumberSchema(ma.Schema):
    n = ma.fields.Integer()
    number = ma.fields.String()
    state = ma.fields.String(metadata={"enum": list(NumberState.ALL)})
    order_id = ma.fields.String(allow_none=True)
    reason = ma.fields.String(allow_none=True)
    at = Timestamp()


class NumberBlockSchema(ma.Schema):
    id = ma.fields.String()
    issuing_body_id = ObjectIdString()
    jurisdiction_id = ObjectIdString()
    inspector_id = ObjectIdString()
    device_id = ma.fields.String()
    year = ma.fields.Integer()
    size = ma.fields.Integer()
    numbers = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Nested(BlockNumberSchema))
    version = ma.fields.Integer()
    created_at = Timestamp()


class Base64Image(ma.fields.String):
    """Bytes sent as standard base64 (a signature image)."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if len(text) > (MAX_SIGNATURE_BYTES * 4) // 3 + 4:
            raise ma.ValidationError(f"at most {MAX_SIGNATURE_BYTES} bytes")
        try:
            return base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise ma.ValidationError("not base64") from None


class ServiceRequestSchema(RequestSchema):
    """How the order reached the enterprise: signed (with the signature image and the
    representative's name), refused (with a note), or acknowledged in the app."""

    kind = ma.fields.String(required=True, validate=ma.validate.OneOf(ServiceKind.ALL))
    signature = Base64Image(
        metadata={"description": "PNG or JPEG, base64", "format": "byte"},
    )
    representative = _text(1, 100, metadata={"description": "who signed or refused"})
    note = _text(1, 2000, metadata={"description": "a refusal's circumstances, witnesses"})
    device_time = ma.fields.AwareDateTime(
        load_default=None, validate=ma.validate.Range(*DEVICE_TIMES)
    )


class OrderQuerySchema(ma.Schema):
    inspection_id = ma.fields.String(validate=_UUID)
    state = ma.fields.String(validate=ma.validate.OneOf(OrderState.ALL))


class OrderInspectorSchema(ma.Schema):
    user_id = ObjectIdString()
    name = ma.fields.String()
    certificate = ma.fields.String(metadata={"description": "执法证号"})


class OrderItemSchema(ma.Schema):
    hazard_id = ma.fields.String()
    item_code = ma.fields.String()
    term_days = ma.fields.Integer()
    measures = ma.fields.String()
    description = ma.fields.String()
    legal_basis = ma.fields.List(ma.fields.String())
    level = ma.fields.String()
    major = ma.fields.Boolean()
    place = ma.fields.String()


class OrderPdfSchema(ma.Schema):
    sha256 = ma.fields.String()
    size = ma.fields.Integer()
    rendered_at = Timestamp()


class OrderServiceSchema(ma.Schema):
    kind = ma.fields.String(metadata={"enum": list(ServiceKind.ALL)})
    at = Timestamp()
    by = ObjectIdString()
    role = ma.fields.String()
    device_time = Timestamp(allow_none=True)
    representative = ma.fields.String(allow_none=True)
    note = ma.fields.String(allow_none=True)
    signature = ma.fields.String(allow_none=True, metadata={"description": "SHA-256 of the image"})


class OrderSchema(ma.Schema):
    """An order; `number` once its job numbered it (state `issued`)."""

    id = ma.fields.String()
    state = ma.fields.String(metadata={"enum": list(OrderState.ALL)})
    number = ma.fields.String(allow_none=True)
    seq = ma.fields.Integer(allow_none=True)
    year = ma.fields.Integer(allow_none=True)
    issuing_body_id = ObjectIdString()
    enterprise_id = ObjectIdString()
    jurisdiction_id = ObjectIdString()
    inspection_id = ma.fields.String()
    inspector_id = ObjectIdString()
    co_inspector_id = ObjectIdString()
    inspectors = ma.fields.List(ma.fields.Nested(OrderInspectorSchema))
    items = ma.fields.List(ma.fields.Nested(OrderItemSchema))
    hazard_ids = ma.fields.List(ma.fields.String())
    interim_duty = ma.fields.String()
    supersedes = ma.fields.String(allow_none=True)
    reserved = ma.fields.Nested(ReservedNumberSchema, allow_none=True)
    superseded_by = ma.fields.String(allow_none=True)
    refused_reason = ma.fields.String(allow_none=True)
    check_token = ma.fields.String(metadata={"description": "the public check page /o/<token>"})
    pdf = ma.fields.Nested(OrderPdfSchema, allow_none=True)
    service = ma.fields.Nested(OrderServiceSchema, allow_none=True)
    requested_at = Timestamp()
    issued_at = Timestamp(allow_none=True)
    version = ma.fields.Integer()
    created_at = Timestamp()
    updated_at = Timestamp()


class IssuingBodySchema(ma.Schema):
    id = ObjectIdString()
    name = ma.fields.String()
    jurisdiction_id = ObjectIdString()
    number_format = ma.fields.String()
    reconsideration_body = ma.fields.String()
    court = ma.fields.String()
    active = ma.fields.Boolean()
    created_at = Timestamp()


class IssuingBodyCreateSchema(RequestSchema):
    name = _text(1, 100, required=True)
    jurisdiction_id = ObjectIdString(required=True)
    number_format = _text(
        1,
        100,
        required=True,
        metadata={"example": "（区）应急责改〔{year}〕第{n}号"},
    )
    reconsideration_body = _text(1, 100, required=True, metadata={"description": "行政复议机关"})
    court = _text(1, 100, required=True, metadata={"description": "人民法院"})
