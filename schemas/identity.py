"""Request and response bodies of identity and tenancy: jurisdictions, enterprises, users."""

from __future__ import annotations

import marshmallow as ma

from checklists.regime import REGIMES, industries
from schemas.common import GeoPoint, ObjectIdString, RequestSchema, Timestamp
from server.actor import Role
from server.models.device import DEVICE_ID_PATTERN
from server.models.user import USERNAME_PATTERN

_text = ma.fields.String
_len = ma.validate.Length


class JurisdictionSchema(ma.Schema):
    id = ObjectIdString(dump_only=True)
    code = _text()
    name = _text()
    created_at = Timestamp(dump_only=True)


class JurisdictionCreateSchema(RequestSchema):
    code = _text(required=True, validate=ma.validate.Regexp(r"^\d{6}$", error="six digits"))
    name = _text(required=True, validate=_len(1, 100))


class EnterpriseSchema(ma.Schema):
    id = ObjectIdString(dump_only=True)
    name = _text()
    credit_code = _text()
    industry = _text()
    industry_code = _text(allow_none=True)
    regime = _text(allow_none=True, metadata={"enum": list(REGIMES)})
    regime_override = ma.fields.Nested(lambda: RegimeOverrideSchema(), allow_none=True)
    has_confined_spaces = ma.fields.Boolean(allow_none=True)
    altitude_m = ma.fields.Float(allow_none=True)
    poisoning_risk = ma.fields.Boolean(allow_none=True)
    poisoning_risk_from = _text(
        allow_none=True,
        metadata={
            "enum": ["ledger", "admin"],
            "description": "ledger: derived from the gases of its spaces in use; admin: stated",
        },
    )
    location = GeoPoint(allow_none=True)
    jurisdiction_id = ObjectIdString()
    version = ma.fields.Integer()
    created_at = Timestamp()
    updated_at = Timestamp()


class RegimeOverrideSchema(ma.Schema):
    regime = _text()
    reason = _text()
    by = _text()
    at = Timestamp()


def _industry_code(**kwargs):
    return _text(
        validate=ma.validate.OneOf(list(industries().industries)),
        metadata={"description": "code of the industry list (GB/T 4754 sections and divisions)"},
        **kwargs,
    )


_site_facts = {
    "has_confined_spaces": lambda: ma.fields.Boolean(allow_none=True),
    "altitude_m": lambda: ma.fields.Float(
        allow_none=True, allow_nan=False, validate=ma.validate.Range(-500, 9000)
    ),
    "poisoning_risk": lambda: ma.fields.Boolean(
        allow_none=True, metadata={"description": "H2S/CO poisoning risk (admins only)"}
    ),
}


class EnterpriseRegimeSchema(RequestSchema):
    regime = _text(
        required=True,
        allow_none=True,
        validate=ma.validate.OneOf(list(REGIMES)),
        metadata={"description": "null: back to the regime of the enterprise's industry"},
    )
    reason = _text(required=True, validate=_len(1, 500))


class EnterpriseCreateSchema(RequestSchema):
    name = _text(required=True, validate=_len(1, 200))
    credit_code = _text(
        required=True,
        validate=_len(18, 40),
        metadata={"description": "统一社会信用代码 (GB 32100-2015), check character verified"},
    )
    industry = _text(required=True, validate=_len(1, 100))
    industry_code = _industry_code()
    address = _text(required=True, validate=_len(1, 300))
    location = GeoPoint(load_default=None, allow_none=True)
    jurisdiction_id = ObjectIdString(required=True)
    has_confined_spaces = _site_facts["has_confined_spaces"]()
    altitude_m = _site_facts["altitude_m"]()
    poisoning_risk = _site_facts["poisoning_risk"]()


class EnterpriseUpdateSchema(RequestSchema):
    name = _text(validate=_len(1, 200))
    credit_code = _text(validate=_len(18, 40))
    industry = _text(validate=_len(1, 100))
    industry_code = _industry_code()
    address = _text(validate=_len(1, 300))
    location = GeoPoint(allow_none=True)
    has_confined_spaces = _site_facts["has_confined_spaces"]()
    altitude_m = _site_facts["altitude_m"]()
    poisoning_risk = _site_facts["poisoning_risk"]()


class UserSchema(ma.Schema):
    id = ObjectIdString(dump_only=True)
    username = _text()
    display_name = _text()
    role = _text()
    jurisdiction_id = ObjectIdString(allow_none=True)
    enterprise_id = ObjectIdString(allow_none=True)
    active = ma.fields.Boolean()
    must_change_password = ma.fields.Boolean(
        metadata={"description": "reset by someone else: choose a new password first"}
    )
    version = ma.fields.Integer()
    created_at = Timestamp()


def _password(required: bool):
    # NIST SP 800-63B: length matters, composition rules do not; cap to bound hashing cost.
    return _text(required=required, load_only=True, validate=_len(8, 256))


class UserCreateSchema(RequestSchema):
    username = _text(
        required=True,
        validate=ma.validate.Regexp(
            USERNAME_PATTERN, error="2-64 of a-z 0-9 . _ - starting with a letter or digit"
        ),
    )
    password = _password(required=True)
    display_name = _text(required=True, validate=_len(1, 100))
    role = _text(required=True, validate=ma.validate.OneOf([r.value for r in Role]))
    jurisdiction_id = ObjectIdString(load_default=None, allow_none=True)
    enterprise_id = ObjectIdString(load_default=None, allow_none=True)

    @ma.pre_load
    def _lower_username(self, data, **kwargs):
        if isinstance(data, dict) and isinstance(data.get("username"), str):
            data = {**data, "username": data["username"].strip().lower()}
        return data


class UserUpdateSchema(RequestSchema):
    """Passwords are not changed here: see `changePassword` and `resetPassword`."""

    display_name = _text(validate=_len(1, 100))
    active = ma.fields.Boolean()


class PasswordChangeSchema(RequestSchema):
    current_password = _text(required=True, load_only=True, validate=_len(1, 256))
    new_password = _password(required=True)


class PasswordResetSchema(RequestSchema):
    temporary_password = _password(required=True)


class DeviceSchema(ma.Schema):
    device_id = _text()
    user_id = ObjectIdString()
    platform = _text(allow_none=True)
    model = _text(allow_none=True)
    app_version = _text(allow_none=True)
    registered_at = Timestamp()
    last_seen_at = Timestamp()
    key_id = _text(allow_none=True, metadata={"description": "of the bound device key"})
    key_bound_at = Timestamp(allow_none=True)
    revoked_at = Timestamp(allow_none=True)


class DeviceRegisterSchema(RequestSchema):
    device_id = _text(
        required=True,
        validate=ma.validate.Regexp(DEVICE_ID_PATTERN, error="8-128 of A-Z a-z 0-9 . _ : -"),
        metadata={"description": "generated by the app at install time, e.g. a UUID"},
    )
    platform = _text(load_default=None, validate=_len(1, 40))
    model = _text(load_default=None, validate=_len(1, 100))
    app_version = _text(load_default=None, validate=_len(1, 40))
