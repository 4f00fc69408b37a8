"""Close-out (销号) needs evidence of a visit: a re-inspection whose record and photos were
taken at the hazard's place, not a paper one (16号令 Art.18 [M]; domain review §7).

The place is the hazard's GPS position, else its confined space's, else its enterprise's; and,
when the hazard is at a confined space of the ledger, that space's signed QR label. A record is
at the place when its fix (no coarser than the accuracy limit) lies within the radius of it, or
when the label it scanned verifies for that space in its current version; each photo of the
record whose camera wrote a GPS position must lie within the radius too. Radius and accuracy
limit are data (server/services/hazards/rectification.yaml).

`place_reasons(hazard, record, label_keys=...)` is every reason a record does not show a visit
(empty: it does); the lifecycle's `reinspected_at_place` rule refuses with them, each a
machine-readable code.
"""

from __future__ import annotations

from bson import ObjectId

from server.geo import distance_m
from server.models.enterprise import Enterprise
from server.models.photo import PhotoContext
from server.models.space import Space
from server.services.hazards.timings import load
from server.services.spaces import labels


def place_of(hazard: dict) -> tuple[tuple[float, float] | None, dict | None]:
    """The point the hazard is at (longitude, latitude), and its space (raw) if it has one."""
    place = hazard.get("place") or {}
    space = None
    if place.get("space_id") and ObjectId.is_valid(place["space_id"]):
        space = Space._get_collection().find_one({"_id": ObjectId(place["space_id"])})
    if place.get("location"):
        loc = place["location"]
        return (loc["longitude"], loc["latitude"]), space
    for doc in (space, Enterprise._get_collection().find_one({"_id": hazard["enterprise_id"]})):
        if doc and doc.get("location"):
            return tuple(doc["location"]["coordinates"]), space
    return None, space


def place_reasons(
    hazard: dict, record: dict | None, *, by: ObjectId | None, label_keys: tuple = ()
) -> list[dict]:
    """Why `record` (location, label, photos) does not show a visit at the hazard's place."""
    if not record:
        return [{"code": "REINSPECTION_MISSING", "detail": "no re-inspection record"}]
    timings = load()
    radius, coarse = timings.closeout_radius_m, timings.closeout_max_accuracy_m
    point, space = place_of(hazard)
    reasons: list[dict] = []
    if not record.get("photos"):
        reasons.append({"code": "REINSPECTION_PHOTO_MISSING", "detail": "no photo of the visit"})
    if point is None and space is None:
        return [*reasons, {"code": "PLACE_UNKNOWN", "detail": "the hazard has no place to check"}]
    by_fix = _fix_reasons(point, record.get("location"), radius, coarse)
    by_label = _label_reasons(space, record.get("label"), label_keys)
    if by_fix and by_label:  # at the place by neither: say why for both
        reasons += by_fix + by_label
    if point is not None:
        reasons += _photo_reasons(point, record.get("photos") or (), by, radius)
    return reasons


def _fix_reasons(point, fix: dict | None, radius: float, coarse: float) -> list[dict]:
    if point is None:
        return [{"code": "POSITION_UNUSABLE", "detail": "the hazard's place has no position"}]
    if not fix:
        return [{"code": "POSITION_MISSING", "detail": "the record has no GPS position"}]
    accuracy = fix.get("accuracy_m")
    if accuracy is not None and accuracy > coarse:
        return [{"code": "FIX_TOO_COARSE", "accuracy_m": accuracy, "limit_m": coarse}]
    distance = distance_m(point, (fix["longitude"], fix["latitude"]))
    if distance > radius:
        return [{"code": "NOT_AT_PLACE", "distance_m": round(distance, 1), "radius_m": radius}]
    return []


def _label_reasons(space: dict | None, scanned: str | None, keys: tuple) -> list[dict]:
    if space is None:
        return [{"code": "LABEL_UNUSABLE", "detail": "the hazard is not at a space with a label"}]
    if not scanned:
        return [{"code": "LABEL_MISSING", "detail": "the record scanned no label"}]
    try:
        labels.verify(
            labels.token_of(scanned),
            keys,
            current_version=space.get("label_version"),
            space_id=space["_id"],
        )
    except labels.LabelError as refused:
        return [{"code": "LABEL_INVALID", "error": refused.code}]
    return []


def _photo_reasons(point, photos, by: ObjectId | None, radius: float) -> list[dict]:
    """A photo whose camera wrote a position elsewhere was not taken at the place."""
    if by is None:
        return []
    reasons = []
    found = PhotoContext._get_collection().find(
        {"photo": {"$in": list(photos)}, "uploader_id": by, "gps": {"$ne": None}},
        {"photo": 1, "gps": 1},
    )
    for context in found:
        gps = context["gps"]
        distance = distance_m(point, (gps["longitude"], gps["latitude"]))
        if distance > radius:
            reasons.append(
                {
                    "code": "PHOTO_NOT_AT_PLACE",
                    "photo": context["photo"],
                    "distance_m": round(distance, 1),
                    "radius_m": radius,
                }
            )
    return reasons
