"""Request and response bodies of the confined-space ledger and its coverage figures."""

from __future__ import annotations

import marshmallow as ma

from schemas.common import GeoPoint, ObjectIdString, RequestSchema, Timestamp
from server.models.space import SpaceStatus, SpaceType

_text = ma.fields.String
_len = ma.validate.Length
_CODE = ma.validate.Regexp(r"^[A-Za-z0-9._-]{1,40}$", error="letters, digits, '.', '_', '-'")
_gas = _text(validate=ma.validate.Regexp(r"^[A-Za-z0-9_]{1,20}$"))
_item = _text(validate=_len(1, 100))


class SpaceSchema(ma.Schema):
    id = ObjectIdString(dump_only=True)
    enterprise_id = ObjectIdString()
    jurisdiction_id = ObjectIdString()
    code = _text()
    name = _text()
    type = _text(metadata={"enum": list(SpaceType.ALL)})
    location = GeoPoint(allow_none=True)
    geofence_radius_m = ma.fields.Float()
    depth_m = ma.fields.Float(allow_none=True)
    underground = ma.fields.Boolean()
    gases = ma.fields.List(_text(), metadata={"description": "gas codes of gas_limits.yaml"})
    ppe = ma.fields.List(_text())
    rescue_equipment = ma.fields.List(_text())
    explosive = ma.fields.Boolean()
    sign_photo = _text(allow_none=True, metadata={"description": "SHA-256 of the sign photo"})
    sign_photo_at = Timestamp(allow_none=True)
    status = _text(metadata={"enum": list(SpaceStatus.ALL)})
    label_version = ma.fields.Integer()
    label_issued_at = Timestamp(allow_none=True)
    note = _text(allow_none=True)
    version = ma.fields.Integer()
    created_at = Timestamp()
    updated_at = Timestamp()


class _SpaceFields(RequestSchema):
    name = _text(validate=_len(1, 100))
    type = _text(validate=ma.validate.OneOf(SpaceType.ALL))
    location = GeoPoint(allow_none=True)
    geofence_radius_m = ma.fields.Float(validate=ma.validate.Range(1, 5000), allow_nan=False)
    depth_m = ma.fields.Float(allow_none=True, validate=ma.validate.Range(0, 2000), allow_nan=False)
    underground = ma.fields.Boolean()
    gases = ma.fields.List(_gas, validate=_len(max=30))
    ppe = ma.fields.List(_item, validate=_len(max=30))
    rescue_equipment = ma.fields.List(_item, validate=_len(max=30))
    explosive = ma.fields.Boolean()
    note = _text(allow_none=True, validate=_len(max=1000))


class SpaceCreateSchema(_SpaceFields):
    enterprise_id = ObjectIdString(required=True)
    code = _text(required=True, validate=_CODE)
    name = _text(required=True, validate=_len(1, 100))
    type = _text(required=True, validate=ma.validate.OneOf(SpaceType.ALL))


class SpaceUpdateSchema(_SpaceFields):
    code = _text(validate=_CODE)
    status = _text(validate=ma.validate.OneOf(SpaceStatus.ALL))


class SpaceListQuerySchema(RequestSchema):
    enterprise_id = ObjectIdString(load_default=None)


class CoverageSchema(ma.Schema):
    """Ledger and signage coverage over the enterprises that have confined spaces."""

    enterprise_id = ObjectIdString()
    jurisdiction_id = ObjectIdString()
    enterprises = ma.fields.Integer(metadata={"description": "enterprises counted"})
    enterprises_with_spaces = ma.fields.Integer(
        metadata={"description": "of them, those that say they have confined spaces"}
    )
    enterprises_with_ledger = ma.fields.Integer(
        metadata={"description": "of those, the ones with at least one space registered"}
    )
    ledger_rate = ma.fields.Float(allow_none=True)
    spaces = ma.fields.Integer(metadata={"description": "spaces registered (not retired)"})
    signed = ma.fields.Integer(metadata={"description": "with a sign photographed"})
    labelled = ma.fields.Integer(metadata={"description": "with a current QR label"})
    signed_rate = ma.fields.Float(allow_none=True)
    labelled_rate = ma.fields.Float(allow_none=True)


class SpaceLabelSchema(ma.Schema):
    """A space's current QR label: what the QR encodes."""

    space_id = ObjectIdString()
    label_version = ma.fields.Integer()
    issued_at = Timestamp()
    token = _text(metadata={"description": "base64url of the signed label record (85 bytes)"})
    url = _text(metadata={"description": "what the QR encodes: {PUBLIC_URL}/s/{token}"})


class LabelKeySchema(ma.Schema):
    key_id = _text(metadata={"description": "hex of the first 4 bytes of SHA-256 of the key"})
    algorithm = _text(metadata={"enum": ["Ed25519"]})
    public_key = _text(metadata={"description": "base64 of the 32 raw bytes"})
    signs = ma.fields.Boolean(metadata={"description": "the key new labels are signed with"})


class LabelKeysSchema(ma.Schema):
    keys = ma.fields.List(ma.fields.Nested(LabelKeySchema))
