"""The evidence a reviewer weighs before the answers, per queued object: its photos (capture
time against receive time, the clock-skew flag, where each was taken against the place, and
whether the app says its own camera took it) and, for an inspection, the phone's fix.

"Taken in the app" is the upload's declared `capture` (media.tus.CAPTURES): `camera` says the
app's own camera screen made the picture, `library` that it was picked from the gallery. It is
our app's statement, not proof: it rules out nothing a changed client would fake, so the queue
shows it beside what the bytes and the server say (EXIF capture time, GPS, receive time).

Only an object's own evidence counts, as for its completeness (server.services.inspections.
photos_present): uploaded for it by someone of its audience.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path

import yaml

from server.geo import distance_m
from server.models.enterprise import Enterprise
from server.models.hazard import Hazard
from server.models.inspection import Inspection
from server.models.photo import PhotoContext
from server.services.hazards.closeout import place_of

#: Kinds of photo links that are a hazard's evidence: the finding's and the firm's
#: rectification photos (server.wiring registers both).
HAZARD_KINDS = ("hazard", "rectification")


@cache
def far_from_place_m() -> float:
    """Beyond this distance from its place a photo or fix is flagged (review.yaml)."""
    raw = yaml.safe_load(Path(__file__).with_name("review.yaml").read_text(encoding="utf-8"))
    return float(raw["far_from_place_m"])


@dataclass(frozen=True)
class PhotoEvidence:
    sha256: str
    context_id: str
    kind: str
    item_code: str | None
    captured_at: datetime | None
    captured_local: str | None
    received_at: datetime
    clock_skew_seconds: float | None
    skew_flag: bool
    #: (longitude, latitude) as the camera wrote it.
    gps: tuple[float, float] | None
    distance_m: float | None
    capture: str | None
    make: str | None
    model: str | None


@dataclass(frozen=True)
class Evidence:
    photos: list[PhotoEvidence]
    #: The point the evidence is compared with and what it is (enterprise, space, hazard).
    place: tuple[float, float] | None
    place_kind: str | None
    #: The phone's fix for the inspection and its distance from the place.
    fix: tuple[float, float] | None
    fix_distance_m: float | None
    #: Any device clock off beyond the limit, or a photo's own skew flag.
    skewed: bool
    #: Every photo declared taken with the app's camera: all, some, none, undeclared (none said).
    in_app: str
    #: A photo or the fix farther than `far_from_place_m` from the place.
    far: bool


def for_inspections(raws: list[dict]) -> dict[str, Evidence]:
    """The evidence of each inspection (raw documents), by id."""
    places = _enterprise_points({r["enterprise_id"] for r in raws})
    photos = _photos("inspection", raws, Inspection.audience)
    out = {}
    for raw in raws:
        place = places.get(raw["enterprise_id"])
        loc = raw.get("location") or None
        fix = (loc["longitude"], loc["latitude"]) if loc else None
        # The item is the one whose answer names the photo (an upload may not say).
        items = {
            sha: code
            for code, answer in (raw.get("answers") or {}).items()
            for sha in answer.get("photos") or ()
        }
        out[raw["_id"]] = _evidence(
            photos[raw["_id"]], place, "enterprise" if place else None, fix, raw, items
        )
    return out


def for_hazards(raws: list[dict]) -> dict[str, Evidence]:
    """The evidence of each hazard (raw documents), by id: its finding and rectification."""
    photos: dict[str, list] = defaultdict(list)
    for kind in HAZARD_KINDS:
        for hazard_id, found in _photos(kind, raws, Hazard.audience).items():
            photos[hazard_id] += found
    out = {}
    for raw in raws:
        point, space = place_of(raw)
        own = (raw.get("place") or {}).get("location")
        kind = "hazard" if own else "space" if space and space.get("location") else "enterprise"
        out[raw["_id"]] = _evidence(photos[raw["_id"]], point, kind if point else None, None, raw)
    return out


def _evidence(contexts, place, place_kind, fix, raw, items=None) -> Evidence:
    shown = [_photo(c, place, (items or {}).get(c["photo"])) for c in contexts]
    fix_distance = distance_m(fix, place) if fix and place else None
    distances = [p.distance_m for p in shown if p.distance_m is not None]
    if fix_distance is not None:
        distances.append(fix_distance)
    said = [p.capture for p in shown if p.capture]
    if not said:
        in_app = "undeclared"
    elif len(said) == len(shown) and all(c == "camera" for c in said):
        in_app = "all"
    elif any(c == "camera" for c in said):
        in_app = "some"
    else:
        in_app = "none"
    return Evidence(
        photos=shown,
        place=place,
        place_kind=place_kind,
        fix=fix,
        fix_distance_m=fix_distance,
        skewed=bool(raw.get("clock_skewed")) or any(p.skew_flag for p in shown),
        in_app=in_app,
        far=any(d > far_from_place_m() for d in distances),
    )


def _photo(context: dict, place, item_code: str | None) -> PhotoEvidence:
    gps = context.get("gps")
    point = (gps["longitude"], gps["latitude"]) if gps else None
    links = context.get("links") or [{}]
    return PhotoEvidence(
        sha256=context["photo"],
        context_id=context["_id"],
        kind=context["target_kind"],
        item_code=item_code or links[0].get("item_code"),
        captured_at=context.get("captured_at"),
        captured_local=context.get("captured_local"),
        received_at=context["received_at"],
        clock_skew_seconds=context.get("clock_skew_seconds"),
        skew_flag=bool(context.get("skew_flag")),
        gps=point,
        distance_m=distance_m(point, place) if point and place else None,
        capture=context.get("capture"),
        make=context.get("make"),
        model=context.get("model"),
    )


def _photos(kind: str, raws: list[dict], audience) -> dict[str, list[dict]]:
    """Per object, the upload contexts that are its own evidence, oldest first."""
    by_id = {r["_id"]: r for r in raws}
    found: dict[str, list[dict]] = defaultdict(list)
    if not by_id:
        return found
    contexts = PhotoContext._get_collection().find(
        {"target_kind": kind, "target_id": {"$in": list(by_id)}},
        {"exif": 0, "watermark": 0, "link_keys": 0},
    )
    for raw in sorted(contexts, key=lambda c: c["received_at"]):
        doc = by_id[raw["target_id"]]
        uploader = PhotoContext._from_son(raw).uploader()
        named = doc.get("photos") or ()
        if kind == "inspection" and raw["photo"] not in named:
            continue  # not among what its answers name: not its evidence
        if uploader is not None and audience.allows(uploader, doc):
            found[raw["target_id"]].append(raw)
    return found


def _enterprise_points(ids) -> dict:
    points = {}
    for raw in Enterprise._get_collection().find({"_id": {"$in": list(ids)}}, {"location": 1}):
        if raw.get("location"):
            points[raw["_id"]] = tuple(raw["location"]["coordinates"])
    return points
