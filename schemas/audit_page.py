"""What the review site's audit page accepts: a chain and a range of its events (a query string
that also carries the site's `lang`)."""

from __future__ import annotations

import marshmallow as ma

#: Events verified per request: the range is exported and read back while the page waits.
MAX_RANGE = 200_000


class AuditRangeSchema(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE

    chain = ma.fields.String(validate=ma.validate.Regexp(r"^([0-9a-f]{24}|system)$"))
    first = ma.fields.Integer(validate=ma.validate.Range(min=1, max=2**53))
    last = ma.fields.Integer(validate=ma.validate.Range(min=1, max=2**53))

    @ma.validates_schema
    def _range(self, data, **kwargs):
        first, last = data.get("first"), data.get("last")
        if first is not None and last is not None:
            if last < first:
                raise ma.ValidationError("last comes before first", "last")
            if last - first + 1 > MAX_RANGE:
                raise ma.ValidationError(f"at most {MAX_RANGE} events at once", "last")
