"""Claims of the gapless counters of `server.sequence` (one document per number taken).

Declared as a document only for its index: the claim of a caller's idempotency key is looked up
by `(counter, key)`, which must be unique so that one key never holds two numbers and the
embedded server answers the lookup from the index.
"""

from __future__ import annotations

from mongoengine import DateTimeField, Document, IntField, StringField


class CounterClaim(Document):
    #: "<counter>:<n>": the unique `_id` is what lets exactly one caller take a number.
    id = StringField(primary_key=True)
    counter = StringField(required=True)
    n = IntField(required=True, min_value=1)
    #: The taker's idempotency key (e.g. an outbox entry id): the same key, the same number.
    key = StringField(required=True)
    at = DateTimeField(required=True)

    meta = {
        "collection": "counter_claims",
        "indexes": [{"fields": ["counter", "key"], "unique": True}],
    }
