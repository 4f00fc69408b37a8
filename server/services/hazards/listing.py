"""The record of a supervised listing (挂牌督办, server.models.hazard_listing): written when a
hazard is listed (by a supervisor, or by the system when a confirmed major passes its deadline)
with the day it is published, and closed when it is delisted (摘牌) after close-out."""

from __future__ import annotations

from datetime import datetime

from bson import ObjectId
from pymongo.errors import DuplicateKeyError

from server.models.hazard_listing import HazardListing
from server.services.hazards.timings import day_of, load


def listed(hazard: dict, *, by: ObjectId | None, reason: str, now: datetime) -> dict:
    """Write the listing of `hazard` once (a hazard is listed once); returns it."""
    collection = HazardListing._get_collection()
    published = day_of(now + load().publish_after)
    doc = {
        "_id": hazard["_id"],
        "enterprise_id": hazard["enterprise_id"],
        "jurisdiction_id": hazard["jurisdiction_id"],
        "listed_at": now,
        "listed_by": by,
        "reason": reason,
        # A DateField is stored as a midnight instant.
        "published_on": datetime(published.year, published.month, published.day),
    }
    try:
        collection.insert_one(doc)
    except DuplicateKeyError:
        return collection.find_one({"_id": hazard["_id"]})
    return doc


def delisted(hazard_id: str, *, now: datetime) -> None:
    """Close the listing of a hazard (its first delisting stands)."""
    HazardListing._get_collection().update_one(
        {"_id": hazard_id, "delisted_at": None}, {"$set": {"delisted_at": now}}
    )
