"""Scoped lookups shared by every aggregate: an id the caller may not see is simply not found."""

from __future__ import annotations

from bson import ObjectId
from bson.errors import InvalidId
from mongoengine import QuerySet

from server.errors import NotFound


def parse_object_id(value: object, what: str = "object") -> ObjectId:
    """An ObjectId from a path or body value; anything malformed answers like an unknown id."""
    if isinstance(value, ObjectId):
        return value
    try:
        return ObjectId(str(value))
    except (InvalidId, TypeError):
        raise NotFound(f"{what} {value} not found") from None


def get_or_404(queryset: QuerySet, object_id: object, what: str):
    """The one object with this id inside an already scoped queryset, else NotFound."""
    oid = parse_object_id(object_id, what)
    obj = queryset.filter(id=oid).first()
    if obj is None:
        raise NotFound(f"{what} {object_id} not found")
    return obj
