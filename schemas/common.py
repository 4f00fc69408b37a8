"""Shared marshmallow pieces: strict request bodies, ids, times, locations."""

from __future__ import annotations

import marshmallow as ma
from bson import ObjectId
from bson.errors import InvalidId

from server.clock import rfc3339

_SCALARS = [{"type": "string"}, {"type": "number"}, {"type": "boolean"}]
#: The documentation of a JSON value that is text, a number, a boolean or a list of them (an
#: EXIF tag, a failed rule's particulars): the metadata of a `ma.fields.Raw`.
JSON_SCALAR_OR_LIST = {"anyOf": [*_SCALARS, {"type": "array", "items": {"anyOf": _SCALARS}}]}
#: Any JSON value (a job's arguments), as the component `JsonValue` that server.api.openapi
#: registers; `JSON_VALUE` is the metadata of a `ma.fields.Raw` that is one.
JSON_VALUE_COMPONENT = {
    "anyOf": [
        *_SCALARS,
        {"type": "array", "items": {"$ref": "#/components/schemas/JsonValue"}},
        {"type": "object", "additionalProperties": {"$ref": "#/components/schemas/JsonValue"}},
    ],
    "nullable": True,
}
JSON_VALUE = {"allOf": [{"$ref": "#/components/schemas/JsonValue"}]}


#: The largest integer MongoDB stores (a signed 64-bit one): a count a client sends that is
#: kept or queried is at most this, or pymongo cannot encode it.
MONGO_INT_MAX = 2**63 - 1


class RequestSchema(ma.Schema):
    """Base of every request body: unknown fields are an error, not silently dropped."""

    class Meta:
        unknown = ma.RAISE


class ObjectIdString(ma.fields.String):
    """A 24-hex-digit id; loads to ObjectId, dumps to str (documented with its pattern)."""

    default_error_messages = {"invalid_id": "Not a valid id (24 hexadecimal digits)."}

    def __init__(self, **kwargs):
        metadata = {"pattern": "^[0-9a-fA-F]{24}$", **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return ObjectId(text)
        except (InvalidId, TypeError):
            raise self.make_error("invalid_id") from None

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else str(value)


class Timestamp(ma.fields.DateTime):
    """An instant in a response, written as every response writes times (server.clock.rfc3339:
    `2026-12-01T09:00:00.123Z`)."""

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else rfc3339(value)


class LocationSchema(ma.Schema):
    """WGS-84 position as phones report it."""

    class Meta:
        unknown = ma.RAISE

    longitude = ma.fields.Float(
        required=True, allow_nan=False, validate=ma.validate.Range(-180, 180)
    )
    latitude = ma.fields.Float(required=True, allow_nan=False, validate=ma.validate.Range(-90, 90))


class GeoPoint(ma.fields.Nested):
    """A location stored as a GeoJSON point and exchanged as {longitude, latitude}."""

    def __init__(self, **kwargs):
        super().__init__(LocationSchema, **kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        if not value:
            return None
        lng, lat = value["coordinates"] if isinstance(value, dict) else value
        return {"longitude": lng, "latitude": lat}

    def _deserialize(self, value, attr, data, **kwargs):
        loaded = super()._deserialize(value, attr, data, **kwargs)
        return [loaded["longitude"], loaded["latitude"]]


class OneOfNested(ma.fields.Raw):
    """A value that is one of several schemas, told apart by `discriminator`, or one of the
    plain values `also` documents (documented as a `oneOf` by server.api.openapi). Values pass
    through as they are: the schemas describe them for clients, they do not reshape them."""

    def __init__(
        self,
        choices: dict[str, type[ma.Schema]],
        *,
        discriminator=None,
        also: tuple[dict, ...] = (),
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.choices = choices
        self.discriminator = discriminator
        self.also = also


class AsIs(ma.fields.Nested):
    """A nested schema documented for clients, its values passed as they are both ways: the
    view checks each one itself (one push mutation at a time, so a bad one gets its own
    receipt), or the value was built whole elsewhere (a problem document, a phone's copy)."""

    def _deserialize(self, value, attr, data, **kwargs):
        return value

    def _serialize(self, nested_obj, attr, obj, **kwargs):
        return nested_obj


class PaginationMetadataSchema(ma.Schema):
    """The `X-Pagination` header of a paged list: JSON, as flask-smorest writes it (documentation
    only). `first_page` and `last_page` are absent from an empty list; `page`,
    `previous_page` and `next_page` when there is no such page."""

    total = ma.fields.Integer(required=True, metadata={"description": "items in the whole list"})
    total_pages = ma.fields.Integer(required=True, metadata={"description": "0 for an empty list"})
    first_page = ma.fields.Integer()
    last_page = ma.fields.Integer()
    page = ma.fields.Integer(metadata={"description": "the page answered, when it exists"})
    previous_page = ma.fields.Integer()
    next_page = ma.fields.Integer()
