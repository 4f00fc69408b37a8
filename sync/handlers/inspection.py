"""Pushing inspections: the data a phone may send for each operation, and the inspection rules
the push engine applies (server.services.inspections holds the rules themselves)."""

from __future__ import annotations

import marshmallow as ma
from bson import ObjectId

from checklists.regime import Conditions
from checklists.versions import pinned_template
from server.clock import DEVICE_TIMES, offset_minutes
from server.errors import Forbidden, NotFound, RuleViolation
from server.models.enterprise import Enterprise
from server.models.inspection import Inspection, Status
from server.models.synced import UUID_PATTERN
from server.services import inspections
from server.services.hazards.register import FINDINGS_JOB
from server.services.outbox import Job
from sync.collections import BY_NAME
from sync.handler import PushContext, PushHandler
from sync.policy import Refusal

#: Fields an inspection is created with and keeps (its checklist version, its enterprise,
#: what it corrects).
PINNED = frozenset({"checklist_code", "checklist_version", "enterprise_id", "corrects"})
REQUIRED_TO_CREATE = ("checklist_code", "checklist_version", "enterprise_id")
#: An answer as a phone sends it, by item code, for the OpenAPI document: what
#: `inspections.judge_answers` takes (it judges the value against the item; `outcome` is the
#: server's to say).
ANSWER_SENT = {
    "type": "object",
    "required": ["value"],
    "properties": {
        "value": {
            "oneOf": [{"type": "string"}, {"type": "number"}],
            "description": "'yes', 'no', 'na', a number in the item's unit, a choice code or text",
        },
        "note": {"type": "string", "maxLength": inspections.NOTE_MAX, "nullable": True},
        "photos": {
            "type": "array",
            "maxItems": inspections.PHOTOS_PER_ITEM_MAX,
            "items": {"type": "string", "pattern": inspections.SHA256.pattern},
            "nullable": True,
            "description": "SHA-256 of the item's photos",
        },
        "outcome": {"type": "string", "description": "ignored: the server judges the answer"},
    },
    "additionalProperties": False,
}


class InspectionDataLocationSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    longitude = ma.fields.Float(
        required=True, allow_nan=False, validate=ma.validate.Range(-180, 180)
    )
    latitude = ma.fields.Float(required=True, allow_nan=False, validate=ma.validate.Range(-90, 90))
    accuracy_m = ma.fields.Float(
        load_default=None, allow_none=True, allow_nan=False, validate=ma.validate.Range(0, 1e5)
    )


_DEVICE_TIME = ma.validate.Range(*DEVICE_TIMES)


class InspectionDataSchema(ma.Schema):
    """The device-owned fields of an inspection draft."""

    class Meta:
        unknown = ma.RAISE

    checklist_code = ma.fields.String(validate=ma.validate.Regexp(r"^[A-Z]{2,4}$"))
    checklist_version = ma.fields.Integer(strict=True, validate=ma.validate.Range(min=1))
    enterprise_id = ma.fields.String(validate=ma.validate.Regexp(r"^[0-9a-f]{24}$"))
    corrects = ma.fields.String(validate=ma.validate.Regexp(UUID_PATTERN))
    unannounced = ma.fields.Boolean()
    #: Checked item by item against the pinned checklist (`judge_answers`), not here: the
    #: checklist knows each item's type, and a 30-item draft is checked once.
    answers = ma.fields.Raw(metadata={"type": "object", "additionalProperties": ANSWER_SENT})
    note = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=2000))
    location = ma.fields.Nested(InspectionDataLocationSchema, allow_none=True)
    started_at_device = ma.fields.AwareDateTime(validate=_DEVICE_TIME)
    device_time = ma.fields.AwareDateTime(validate=_DEVICE_TIME)
    submitted_at_device = ma.fields.AwareDateTime(validate=_DEVICE_TIME)

    def __init__(self, op: str, **kwargs):
        super().__init__(**kwargs)
        self.op = op

    @ma.validates_schema
    def _required_to_create(self, data, **kwargs):
        missing = [f for f in REQUIRED_TO_CREATE if f not in data] if self.op == "create" else []
        if missing:
            raise ma.ValidationError({f: ["required to create"] for f in missing})


#: What a create reads of its enterprise: where it belongs and what it is judged under.
ENTERPRISE_FIELDS = ("jurisdiction_id", "regime", "industry_code", "altitude_m", "poisoning_risk")

#: Fields a change may set, as sent.
EDITABLE = ("unannounced", "note", "location", "device_time")


def _offsets(data: dict, *fields: str) -> dict:
    """The UTC offset each of these device times was sent with, as `<field>_offset_min`."""
    return {f"{f}_offset_min": offset_minutes(data.get(f)) for f in fields if f in data}


class InspectionHandler(PushHandler):
    synced = BY_NAME["inspections"]
    kind = "inspection"
    fixed_fields = PINNED

    def __init__(self) -> None:
        self._schemas = {op: InspectionDataSchema(op) for op in self.ops}

    def data_schema(self, op: str) -> ma.Schema:
        return self._schemas[op]

    def create(self, ctx: PushContext, data: dict) -> dict:
        actor = ctx.actor
        if actor.role not in inspections.INSPECTING_ROLES:
            raise Forbidden("only inspectors and supervisors make inspections")
        enterprise = self._enterprise(ctx, data["enterprise_id"])
        template = pinned_template(data["checklist_code"], data["checklist_version"])
        conditions = inspections.conditions_of(enterprise)
        judged = inspections.judge_answers(template, data.get("answers") or {}, conditions)
        if "corrects" in data:
            self._check_correctable(ctx, data["corrects"])
        # Every named photo waits until `settle` finds it arrived as this inspection's own
        # evidence (its id is the engine's, not known here; a photo may come first).
        missing = list(judged.photos)
        return {
            "checklist_code": data["checklist_code"],
            "checklist_version": data["checklist_version"],
            "enterprise_id": enterprise.id,
            "jurisdiction_id": enterprise.jurisdiction_id,
            "inspector_id": actor.user_id,
            "status": Status.DRAFT,
            "unannounced": data.get("unannounced", False),
            "answers": judged.answers,
            "judged_under": conditions.to_dict(),
            "note": data.get("note"),
            "location": data.get("location"),
            "started_at_device": data.get("started_at_device"),
            "device_time": data.get("device_time"),
            **_offsets(data, "started_at_device", "device_time"),
            "clock_offset_s": ctx.clock_offset_s,
            "clock_skewed": ctx.clock_skewed,
            "photos": judged.photos,
            "missing_photos": missing,
            "photos_complete": not missing,
            "corrects": data.get("corrects"),
        }

    def refusal(self, ctx: PushContext, current: dict, op: str) -> Refusal | None:
        refused = inspections.change_refused(ctx.actor, current)
        if refused:
            return Refusal("NOT_OWNER", refused, conflict=False)
        if inspections.is_evidence(current):
            return Refusal(
                "SUBMITTED_IMMUTABLE",
                "a submitted inspection is immutable evidence; make a correction instead",
            )
        return None

    def changes(self, ctx: PushContext, current: dict, op: str, data: dict) -> dict:
        changes: dict = {field: data[field] for field in EDITABLE if field in data}
        changes.update(_offsets(data, "device_time"))
        if ctx.clock_offset_s is not None:
            changes["clock_offset_s"] = ctx.clock_offset_s
            changes["clock_skewed"] = ctx.clock_skewed
        answers = current.get("answers") or {}
        template = pinned_template(current["checklist_code"], current["checklist_version"])
        conditions = Conditions.from_dict(current.get("judged_under"))
        if "answers" in data:
            judged = inspections.judge_answers(template, data["answers"], conditions)
            answers = judged.answers
            present = inspections.photos_present([{**current, "photos": judged.photos}])
            here = present.get(current["_id"], set())
            missing = [h for h in judged.photos if h not in here]
            changes.update(
                answers=answers,
                photos=judged.photos,
                missing_photos=missing,
                photos_complete=not missing,
            )
        if op == "submit":
            reasons = inspections.submission_problems(template, answers, conditions)
            if reasons:
                raise RuleViolation(
                    "the inspection is not complete enough to submit", reasons=reasons
                )
            changes.update(status=Status.SUBMITTED, submitted_at=ctx.now)
            if "submitted_at_device" in data:
                changes["submitted_at_device"] = data["submitted_at_device"]
                changes.update(_offsets(data, "submitted_at_device"))
        elif op == "delete":
            changes["deleted_at"] = ctx.now
        return changes

    def settle(self, ctx: PushContext, docs: list[dict]) -> None:
        """Strike off the photos that arrived as each inspection's own evidence before the
        write: uploaded ahead of a create (flaky links reorder requests), or finished
        between the manifest check and the write, so found no missing entry to strike."""
        waiting = [doc for doc in docs if doc.get("missing_photos")]
        if not waiting:
            return
        present = inspections.photos_present(waiting)
        for doc in waiting:
            arrived = present.get(doc["_id"], set())
            here = [h for h in doc["missing_photos"] if h in arrived]
            if here and inspections.photos_arrived(doc["_id"], here):
                doc["missing_photos"] = [h for h in doc["missing_photos"] if h not in arrived]
                doc["photos_complete"] = not doc["missing_photos"]

    def photos(self, doc: dict) -> list[str]:
        missing = set(doc.get("missing_photos") or ())
        return [h for h in doc.get("photos") or () if h not in missing]

    def device_time(self, op: str, data: dict):
        stamp = {"create": "started_at_device", "submit": "submitted_at_device"}.get(op)
        return data.get(stamp) or data.get("device_time")

    def jobs(self, ctx: PushContext, op: str, before: dict | None, after: dict) -> list[Job]:
        """A submission's failed items become hazards, through the outbox with the submit."""
        return [Job(FINDINGS_JOB, {"inspection_id": after["_id"]})] if op == "submit" else []

    def receipt(self, doc: dict) -> dict:
        return {
            "missing_photos": list(doc.get("missing_photos") or []),
            "photos_complete": bool(doc.get("photos_complete", True)),
        }

    def _enterprise(self, ctx: PushContext, enterprise_id: str) -> Enterprise:
        """The enterprise (only ENTERPRISE_FIELDS) if the actor may see it, looked up by `_id`
        alone (the one index every server answers from), once per push."""
        cache = ctx.memo.setdefault("enterprises", {})
        if enterprise_id not in cache:
            found = Enterprise._get_collection().find_one(
                {"_id": ObjectId(enterprise_id)},
                {f: 1 for f in (*ENTERPRISE_FIELDS, *Enterprise.audience.fields)},
            )
            visible = Enterprise.audience.allows(ctx.actor, found)
            cache[enterprise_id] = Enterprise._from_son(found) if visible else None
        if cache[enterprise_id] is None:
            raise NotFound(f"enterprise {enterprise_id} not found")
        return cache[enterprise_id]

    def _check_correctable(self, ctx: PushContext, original_id: str) -> None:
        original = ctx.db[self.collection].find_one({"_id": original_id})
        if not Inspection.audience.allows(ctx.actor, original):
            raise NotFound(f"inspection {original_id} not found")
        if not inspections.is_evidence(original):
            raise RuleViolation(
                "only a submitted inspection is corrected; edit the draft instead",
                reasons=[{"code": "NOT_SUBMITTED", "inspection": original_id}],
            )
