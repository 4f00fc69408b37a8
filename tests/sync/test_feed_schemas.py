"""Every collection the feed delivers has its typed copy in the OpenAPI document: a client
generated from it knows each change it can receive (the pull's union is keyed by collection)."""

from __future__ import annotations

from schemas.sync import COPIES
from sync.collections import REGISTRY


def test_every_synced_collection_has_a_copy_schema():
    assert sorted(COPIES) == sorted(c.name for c in REGISTRY)


def test_the_pull_union_names_each_collection(app):
    document = app.test_client().get("/openapi.json").get_json()
    union = document["components"]["schemas"]["PullPage"]["properties"]["changes"]["items"]
    assert set(union["discriminator"]["mapping"]) >= {c.name for c in REGISTRY}
