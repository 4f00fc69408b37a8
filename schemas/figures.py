"""Figures of supervision, monthly self-inspection reports and the monthly ledger as the API
reads and takes them (server.services.figures)."""

from __future__ import annotations

import marshmallow as ma

from schemas.common import ObjectIdString, RequestSchema, Timestamp
from schemas.space import CoverageSchema

MONTH = ma.validate.Regexp(r"^\d{4}-(0[1-9]|1[0-2])$", error="a month as YYYY-MM")


def _month(**kwargs) -> ma.fields.String:
    return ma.fields.String(validate=MONTH, metadata={"example": "2026-12"}, **kwargs)


class FiguresQuerySchema(RequestSchema):
    jurisdiction_id = ObjectIdString(load_default=None)
    enterprise_id = ObjectIdString(load_default=None)
    month_from = _month(load_default=None)
    month_to = _month(load_default=None)


class HazardFiguresSchema(ma.Schema):
    key = ma.fields.String(
        metadata={"description": "what the row is of: total, a level, a campaign, an enterprise"}
    )
    hazards = ma.fields.Integer()
    open = ma.fields.Integer(metadata={"description": "not yet in a final state"})
    overdue = ma.fields.Integer(metadata={"description": "of the open, marked overdue"})
    closed = ma.fields.Integer(metadata={"description": "rectified: closed or on the spot"})
    penalized = ma.fields.Integer()
    withdrawn = ma.fields.Integer(metadata={"description": "counted in no rate"})
    repeats = ma.fields.Integer(metadata={"description": "repeating an earlier hazard"})
    reinspected_on_time = ma.fields.Integer()
    reinspected_late = ma.fields.Integer()
    closure_rate = ma.fields.Float(allow_none=True)
    median_days_to_close = ma.fields.Float(allow_none=True)
    reinspection_on_time_rate = ma.fields.Float(allow_none=True)


class InspectionFiguresSchema(ma.Schema):
    inspections = ma.fields.Integer(metadata={"description": "submitted"})
    unannounced = ma.fields.Integer(metadata={"description": "四不两直"})
    unannounced_share = ma.fields.Float(allow_none=True)


class InspectorFiguresSchema(InspectionFiguresSchema):
    inspector_id = ObjectIdString()


class FiguresScopeSchema(ma.Schema):
    jurisdiction_id = ObjectIdString(allow_none=True)
    enterprise_id = ObjectIdString(allow_none=True)
    month_from = ma.fields.String(allow_none=True)
    month_to = ma.fields.String(allow_none=True)


class FiguresCurrentSchema(ma.Schema):
    followed = ma.fields.Integer(metadata={"description": "the last feed number counted"})
    behind = ma.fields.Integer(metadata={"description": "feed entries not yet counted"})


class EntryFiguresSchema(ma.Schema):
    denied_scans = ma.fields.Integer()
    violations = ma.fields.Integer()


class DeviceFiguresSchema(ma.Schema):
    registered = ma.fields.Integer()
    with_unsynced_work = ma.fields.Integer(
        metadata={"description": "their last sync reported mutations or photos still to push"}
    )


class FiguresSchema(ma.Schema):
    scope = ma.fields.Nested(FiguresScopeSchema)
    current = ma.fields.Nested(FiguresCurrentSchema)
    hazards = ma.fields.Nested(HazardFiguresSchema)
    by_level = ma.fields.List(ma.fields.Nested(HazardFiguresSchema))
    by_campaign = ma.fields.List(ma.fields.Nested(HazardFiguresSchema))
    by_enterprise = ma.fields.List(ma.fields.Nested(HazardFiguresSchema))
    inspections = ma.fields.Nested(InspectionFiguresSchema)
    by_inspector = ma.fields.List(ma.fields.Nested(InspectorFiguresSchema))
    spaces = ma.fields.Nested(CoverageSchema)
    entries = ma.fields.Nested(EntryFiguresSchema)
    devices = ma.fields.Nested(DeviceFiguresSchema)


class MonthlyReportCreateSchema(RequestSchema):
    month = _month(required=True)
    hazards_found = ma.fields.Integer(
        required=True,
        validate=ma.validate.Range(min=0, max=100_000),
        metadata={"description": "0: a nil return (no hazard found)"},
    )
    hazards_rectified = ma.fields.Integer(
        required=True, validate=ma.validate.Range(min=0, max=100_000)
    )
    note = ma.fields.String(load_default=None, validate=ma.validate.Length(max=2000))


class MonthlyReportSchema(ma.Schema):
    id = ma.fields.String(attribute="_id")
    enterprise_id = ObjectIdString()
    jurisdiction_id = ObjectIdString()
    month = ma.fields.String()
    nil = ma.fields.Boolean(metadata={"description": "no hazard found this month"})
    hazards_found = ma.fields.Integer()
    hazards_rectified = ma.fields.Integer()
    note = ma.fields.String(allow_none=True)
    submitted_by = ObjectIdString()
    submitted_at = Timestamp()


class MonthlyReportListQuerySchema(RequestSchema):
    month = _month(load_default=None)
    enterprise_id = ObjectIdString(load_default=None)


class LedgerQuerySchema(RequestSchema):
    month = _month(required=True)
