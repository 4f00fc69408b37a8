"""What the review site's hazard pages accept: the list's filters (a query string that also
carries the site's `lang`) and a transition taken from a form (form fields are text, so the
version is read from text; the API's TransitionSchema judges the rest)."""

from __future__ import annotations

import marshmallow as ma

from schemas.common import ObjectIdString
from schemas.hazard import TransitionSchema
from server.models.hazard import Level
from server.services.hazards import states


class HazardFilterSchema(ma.Schema):
    """The hazard list's filters; other query parameters (the site's `lang`) are left alone."""

    class Meta:
        unknown = ma.EXCLUDE

    state = ma.fields.String(validate=ma.validate.OneOf(states.STATES))
    level = ma.fields.String(validate=ma.validate.OneOf(Level.ALL))
    #: The checklist (campaign) whose item found it: CS, HW, FH, OC.
    campaign = ma.fields.String(validate=ma.validate.Regexp(r"^[A-Z]{1,8}$"))
    enterprise_id = ObjectIdString()
    overdue = ma.fields.Boolean()
    listed = ma.fields.Boolean()
    page = ma.fields.Integer(validate=ma.validate.Range(min=1, max=10_000))


class TransitionFormSchema(TransitionSchema):
    """A transition from a page's form: `version` arrives as text."""

    version = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1))
