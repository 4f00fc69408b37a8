"""Failed-login attempts per (username, client address), kept in MongoDB while Redis is down
(server.services.login_throttle): the attempts of the last window, by id and time."""

from __future__ import annotations

from mongoengine import DateTimeField, DictField, Document, IntField, ListField, StringField


class LoginWindow(Document):
    #: The throttle key: `login:<username>:<address>`, `public-report:<address>`.
    id = StringField(primary_key=True)
    #: `[{"id", "at"}]`: attempts counted in the window ending now (older ones are dropped).
    attempts = ListField(DictField())
    #: After this nothing in the document counts any more: the purge job deletes it.
    expires_at = DateTimeField(required=True)
    #: Incremented by every write: attempts compare-and-set on exactly (_id, rev).
    rev = IntField(required=True, default=0)

    meta = {
        "collection": "login_windows",
        # Unique (trivially: it holds _id) so the embedded server answers the compare-and-set
        # from an index instead of scanning every window.
        "indexes": [{"fields": ["id", "rev"], "unique": True}],
    }
