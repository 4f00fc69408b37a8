"""Distances on the ground, for "was it done at the place" rules (a scan at a confined space, a
re-inspection at a hazard): WGS-84 points as (longitude, latitude) in decimal degrees."""

from __future__ import annotations

import math

#: Mean Earth radius (IUGG), metres.
EARTH_RADIUS_M = 6_371_008.8


def distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance of two (longitude, latitude) points (haversine)."""
    lon1, lat1, lon2, lat2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(h))
