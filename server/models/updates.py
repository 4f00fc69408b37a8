"""mongoengine update clauses built from a use case's validated changes."""

from __future__ import annotations


def set_changes(changes: dict) -> dict:
    """`set__<field>` for each change; `location` ([longitude, latitude]) as a GeoJSON point,
    and null clears it with an `$unset`, since mongoengine's PointField refuses to `$set` None."""
    updates = {f"set__{k}": v for k, v in changes.items() if k != "location"}
    if "location" in changes:
        if changes["location"] is None:
            updates["unset__location"] = True
        else:
            updates["set__location"] = {"type": "Point", "coordinates": changes["location"]}
    return updates
