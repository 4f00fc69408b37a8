"""Public reports (群众举报): sent without an account, followed by a code, verified by a
supervisor of the jurisdiction before anything reaches the hazard register.

- `submit`: counted per client address by the login throttle's moving window (`throttle.count`,
  PUBLIC_REPORT_RATE_LIMIT) before anything is stored; a report names a known enterprise (its
  jurisdiction follows) or a jurisdiction and the enterprise's name and address as words. The
  reporter gets a follow-up code of 80 random bits, stored only as its hash.
- `add_photo`: at most PUBLIC_REPORT_MAX_PHOTOS photos of at most PUBLIC_REPORT_MAX_PHOTO_BYTES
  each, while the report is pending. Each is checked and decoded by the media checks and
  re-encoded without any metadata before it is stored (`media.images.without_metadata`): no
  EXIF, no GPS, no phone model reaches anyone, the enterprise least of all. It is then ingested
  like any upload, by the report's own uploader id (no user's), linked to the report.
- `follow_up`: what the code shows the reporter: the report's status, nothing of the decision.
- `verify` / `dismiss`: a supervisor of the jurisdiction decides (compare-and-set on the report,
  so two decisions never both win; audited). Verifying makes a hazard of source
  `public_report` through the register, recorded by the supervisor, with the report's photos
  linked to it as evidence; the hazard carries nothing of the reporter (no contact, no
  uploader, no report id), so no one who sees the hazard learns who reported it.
"""

from __future__ import annotations

import base64
import hashlib
import io
import logging
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from bson import ObjectId
from bson.errors import InvalidId

from media import images, ingest, tus
from media.blobstore import BlobStore
from media.errors import EmptyUpload
from media.links import LinkTarget
from server.actor import Actor, Role
from server.config import Settings
from server.errors import Conflict, DomainError, Forbidden, NotFound, RuleViolation, TooLarge
from server.models.enterprise import Enterprise
from server.models.jurisdiction import Jurisdiction
from server.models.photo import PhotoContext, context_key
from server.models.public_report import PublicReport, Status
from server.services.audit import record
from server.services.hazards import register
from server.services.login_throttle import LoginThrottle

log = logging.getLogger(__name__)

#: The link kind of a report's photos (registered in server.wiring).
LINK_KIND = "public_report"
#: Follow-up codes: 16 characters of an alphabet without 0/O, 1/I (80 bits), in groups of 4.
CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
CODE_LENGTH, CODE_GROUP = 16, 4
CODE_PATTERN = r"^[0-9A-Za-z]{4}(-?[0-9A-Za-z]{4}){3}$"
#: A report's photos are re-encoded at this JPEG quality, long side at most twice REVIEW_PX.
PHOTO_QUALITY = 88
#: Hazards verified from reports get an id derived from the report (a retried verify finds it).
_IDS = uuid.UUID("0f4b3c2e-9d8a-4e61-b7a4-6a1f2c5d8e90")
COLLECTION = PublicReport._get_collection_name()


@dataclass(frozen=True)
class Submitted:
    """A stored report and the code its reporter follows it with (shown once)."""

    report_id: ObjectId
    code: str


def new_code() -> str:
    chars = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return "-".join(chars[i : i + CODE_GROUP] for i in range(0, CODE_LENGTH, CODE_GROUP))


def code_hash(code: str) -> str:
    """The stored form of a code, read as people type it (any case, with or without dashes)."""
    normal = str(code).replace("-", "").replace(" ", "").upper()
    return hashlib.sha256(f"public-report/1\n{normal}".encode()).hexdigest()


def hazard_id_for(report_id) -> str:
    return str(uuid.uuid5(_IDS, str(report_id)))


def submit(data: dict, *, client_ip: str, throttle: LoginThrottle, now: datetime) -> Submitted:
    """Store a report (after counting it against the client's address); returns its code."""
    throttle.count(
        f"public-report:{client_ip}",
        now=now,
        refusal="too many reports from this address; try again later",
    )
    jurisdiction_id, enterprise = _where(data)
    code = new_code()
    report = PublicReport(
        code_hash=code_hash(code),
        jurisdiction_id=jurisdiction_id,
        enterprise_id=enterprise["_id"] if enterprise else None,
        enterprise_name=data.get("enterprise_name") or enterprise["name"],
        enterprise_address=data.get("enterprise_address")
        or (enterprise.get("address") if enterprise else None),
        place=data.get("place"),
        description=data["description"],
        contact=data.get("contact"),
        uploader_id=ObjectId(),
        photos=[],
        status=Status.PENDING,
        submitted_at=now,
        updated_at=now,
    ).save(force_insert=True)
    _audit(None, "submit", report.id, None, now=now)
    return Submitted(report.id, code)


def _where(data: dict) -> tuple[ObjectId, dict | None]:
    """The jurisdiction a report goes to, and the known enterprise it names (if any)."""
    enterprise = None
    if data.get("enterprise_id") is not None:
        enterprise = Enterprise._get_collection().find_one(
            {"_id": data["enterprise_id"]}, {"name": 1, "address": 1, "jurisdiction_id": 1}
        )
        if enterprise is None:
            raise RuleViolation(
                "no enterprise has this id: leave it out and name the enterprise",
                errors=[{"in": "json", "field": "enterprise_id", "messages": ["unknown"]}],
            )
        if data.get("jurisdiction_id") not in (None, enterprise["jurisdiction_id"]):
            raise RuleViolation(
                "the enterprise is not in that jurisdiction",
                errors=[{"in": "json", "field": "jurisdiction_id", "messages": ["mismatch"]}],
            )
        return enterprise["jurisdiction_id"], enterprise
    missing = [f for f in ("jurisdiction_id", "enterprise_name") if not data.get(f)]
    if missing:
        raise RuleViolation(
            "name a known enterprise, or a jurisdiction and the enterprise's name",
            errors=[{"in": "json", "field": f, "messages": ["required"]} for f in missing],
        )
    if not Jurisdiction.objects(id=data["jurisdiction_id"]).only("id").first():
        raise RuleViolation(
            "no jurisdiction has this id",
            errors=[{"in": "json", "field": "jurisdiction_id", "messages": ["unknown"]}],
        )
    return data["jurisdiction_id"], None


def by_code(code: str) -> PublicReport:
    """The report a follow-up code opens; NotFound for any other code."""
    report = PublicReport.objects(code_hash=code_hash(code)).first()
    if report is None:
        raise NotFound("no report has this follow-up code")
    return report


def follow_up(code: str) -> dict:
    """What the reporter sees: the status of their report and how many photos it has."""
    report = by_code(code)
    return {
        "status": report.status,
        "submitted_at": report.submitted_at,
        "photos": len(report.photos),
    }


def _uploader(report: PublicReport) -> Actor:
    """Who uploads a report's photos: an id of the report's own, naming no user and no
    enterprise (the upload pipeline needs a role; this one grants nothing: the report's
    resolver alone lets this id link photos, and it belongs to no enterprise)."""
    return Actor(
        user_id=report.uploader_id, role=Role.WORKER, jurisdiction_id=report.jurisdiction_id
    )


def add_photo(
    code: str, data: bytes, *, settings: Settings, store: BlobStore, now: datetime
) -> dict:
    """Check, strip and store one photo of a pending report (bounded in count and size);
    returns what `follow_up` shows. The same photo twice is stored once."""
    report = by_code(code)
    if not data:
        raise EmptyUpload("an empty file is not a photo")
    limit = min(settings.public_report_max_photo_bytes, settings.max_upload_bytes)
    if len(data) > limit:
        raise TooLarge(f"a photo of a report is at most {limit} bytes", limit=limit, unit="bytes")
    if report.status != Status.PENDING:
        raise Conflict("the report has been decided: it takes no more photos")
    clean = strip(data, settings)
    sha256 = hashlib.sha256(clean).hexdigest()
    if sha256 in report.photos:
        return follow_up(code)
    _open_for_photos(report, settings)
    collection = PublicReport._get_collection()
    most = settings.public_report_max_photos
    # Reserve the photo's place first, so concurrent uploads never pass the bound.
    reserved = collection.update_one(
        {
            "_id": report.id,
            "status": Status.PENDING,
            "photos": {"$ne": sha256},
            f"photos.{most - 1}": {"$exists": False},
        },
        {"$push": {"photos": sha256}, "$set": {"updated_at": now}, "$inc": {"rev": 1}},
    )
    if reserved.matched_count == 0:
        report.reload()
        if sha256 in report.photos:
            return follow_up(code)
        _open_for_photos(report, settings)
        raise Conflict("the report changed meanwhile: send the photo again")
    try:
        _ingest(
            _uploader(report), report.id, clean, sha256, settings=settings, store=store, now=now
        )
    except DomainError:
        collection.update_one({"_id": report.id}, {"$pull": {"photos": sha256}})
        report.reload()
        if report.status != Status.PENDING:  # decided while the photo was being stored
            raise Conflict("the report has been decided: it takes no more photos") from None
        raise
    return follow_up(code)


def _open_for_photos(report: PublicReport, settings: Settings) -> None:
    if report.status != Status.PENDING:
        raise Conflict("the report has been decided: it takes no more photos")
    if len(report.photos) >= settings.public_report_max_photos:
        raise RuleViolation(
            f"a report has at most {settings.public_report_max_photos} photos",
            reasons=[
                {"rule": "public_report_photo_count", "max": settings.public_report_max_photos}
            ],
        )


def strip(data: bytes, settings: Settings) -> bytes:
    """The photo checked and decoded by the media checks (in the process's decode budget), as
    a JPEG without metadata."""
    pixels = images.declared_pixels(io.BytesIO(data))
    budget = images.pixel_budget(settings.max_image_pixels)
    held = pixels if pixels <= settings.max_image_pixels else 0  # refused from its header
    with budget.reserve(
        held, timeout=ingest.DECODE_WAIT_SECONDS, retry_after=ingest.DECODE_RETRY_AFTER
    ):
        return images.without_metadata(
            data,
            max_pixels=settings.max_image_pixels,
            draft_px=settings.review_px,
            long_side=2 * settings.review_px,
            quality=PHOTO_QUALITY,
        )


def _ingest(actor: Actor, report_id, data: bytes, sha256: str, *, settings, store, now) -> None:
    """One upload of the whole photo through the tus rules and the ingest, as any phone's."""
    metadata = ",".join(
        f"{key} {base64.b64encode(value.encode()).decode()}"
        for key, value in (
            ("sha256", sha256),
            ("link_kind", LINK_KIND),
            ("link_id", str(report_id)),
        )
    )
    upload = tus.create_upload(
        actor, length=len(data), metadata_header=metadata, now=now, settings=settings
    )
    tus.append(
        actor,
        upload.id,
        offset=0,
        read=io.BytesIO(data).read,
        content_length=len(data),
        checksum=None,
        now=now,
        settings=settings,
        store=store,
    )


def photo_link_target(actor: Actor, report_id: str):
    """A report's photos are linked by its own uploader while it is pending, and seen by those
    who see the report (supervisors of its jurisdiction, admins), who add none."""
    try:
        oid = ObjectId(str(report_id))
    except (InvalidId, TypeError):
        return None
    raw = PublicReport._get_collection().find_one(
        {"_id": oid},
        {"uploader_id": 1, "status": 1, "photos": 1, "enterprise_id": 1, "jurisdiction_id": 1},
    )
    if raw is None:
        return None
    if raw["uploader_id"] == actor.user_id:
        return LinkTarget(enterprise_id=raw.get("enterprise_id")) if _pending(raw) else None
    if not PublicReport.audience.allows(actor, raw):
        return None
    return LinkTarget(enterprise_id=raw.get("enterprise_id"), accepts=frozenset(raw["photos"]))


def _pending(raw: dict) -> bool:
    return raw.get("status") == Status.PENDING


def visible(actor: Actor, **filters):
    """The reports `actor` may read (supervisors: their jurisdiction's), newest first."""
    return PublicReport.objects.for_actor(actor).filter(**filters).order_by("-submitted_at")


def read(actor: Actor, report_id) -> PublicReport:
    """One report in the actor's scope; NotFound outside it (and for a malformed id)."""
    try:
        oid = ObjectId(str(report_id))
    except (InvalidId, TypeError):
        raise NotFound(f"public report {report_id} not found") from None
    report = PublicReport.objects(id=oid).first()
    if not PublicReport.audience.allows(actor, report):
        raise NotFound(f"public report {report_id} not found")
    return report


def verify(
    actor: Actor,
    report_id,
    *,
    level: str,
    now: datetime,
    window: timedelta,
    enterprise_id=None,
    description: str | None = None,
    place: str | None = None,
    legal_basis: list[str] | None = None,
    inspector_id=None,
) -> PublicReport:
    """A supervisor finds the report true (查实): it becomes a hazard of the register with the
    report's photos as its evidence, assigned to `inspector_id` (an inspector of the
    jurisdiction) to order it rectified and re-inspect it. A second call on a verified report
    completes what a first may have left undone and changes nothing else."""
    report = read(actor, report_id)
    if actor.role is not Role.SUPERVISOR:
        raise Forbidden("only a supervisor of the jurisdiction verifies a public report")
    if report.status == Status.DISMISSED:
        raise Conflict("the report was dismissed")
    # Once verified, the enterprise the supervisor named is the report's (a retry names none).
    chosen = report.enterprise_id if report.status == Status.VERIFIED else None
    chosen = chosen or enterprise_id or report.enterprise_id
    if chosen is None:
        raise RuleViolation(
            "name the enterprise the report is about (enterprise_id)",
            reasons=[{"rule": "public_report_enterprise_known"}],
        )
    register.visible_enterprise(actor, chosen)  # NotFound outside the jurisdiction
    hazard_id = report.hazard_id or hazard_id_for(report.id)
    # Photos whose upload context exists (one still being stored when the decision came is
    # left out rather than named without evidence).
    contexts = {
        sha256: context_key(sha256, report.uploader_id, LINK_KIND, str(report.id))
        for sha256 in report.photos
    }
    stored = {
        c["_id"]
        for c in PhotoContext._get_collection().find(
            {"_id": {"$in": list(contexts.values())}}, {"_id": 1}
        )
    }
    photos = [sha256 for sha256, context in contexts.items() if context in stored]
    if report.status == Status.PENDING:
        _decide(
            actor,
            report,
            {"status": Status.VERIFIED, "hazard_id": hazard_id, "enterprise_id": chosen},
            "verify",
            now=now,
        )
    register.create_from_public_report(
        actor,
        hazard_id,
        enterprise_id=chosen,
        now=now,
        window=window,
        level=level,
        description=description or report.description,
        place={"text": place or report.place} if (place or report.place) else {},
        legal_basis=list(legal_basis or ()),
        photos=photos,
        inspector_id=inspector_id,
    )
    for sha256 in photos:
        ingest.link_copy(contexts[sha256], "hazard", hazard_id, actor=actor, now=now)
    return read(actor, report.id)


def dismiss(actor: Actor, report_id, *, reason: str, now: datetime) -> PublicReport:
    """A supervisor finds nothing to it, and says why; the reporter sees only "dismissed"."""
    report = read(actor, report_id)
    if actor.role is not Role.SUPERVISOR:
        raise Forbidden("only a supervisor of the jurisdiction dismisses a public report")
    if report.status != Status.PENDING:
        raise Conflict(f"the report is {report.status} already")
    _decide(
        actor, report, {"status": Status.DISMISSED, "dismiss_reason": reason}, "dismiss", now=now
    )
    return read(actor, report.id)


def _decide(actor: Actor, report: PublicReport, changes: dict, action: str, *, now) -> None:
    """Compare-and-set a pending report to its decision; Conflict when another came first."""
    collection = PublicReport._get_collection()
    while True:
        before = collection.find_one({"_id": report.id})
        if before["status"] != Status.PENDING:
            raise Conflict(f"the report was {before['status']} meanwhile")
        won = collection.update_one(
            {"_id": report.id, "rev": before["rev"]},
            {
                "$set": {
                    **changes,
                    "decided_by": actor.user_id,
                    "decided_at": now,
                    "updated_at": now,
                },
                "$inc": {"rev": 1},
            },
        )
        if won.matched_count:
            break
        # a photo arrived meanwhile: decide on the report as it is now
    report.reload()
    _audit(actor, action, report.id, before, now=now)


def _audit(actor: Actor | None, action: str, report_id, before, *, now) -> None:
    after = PublicReport._get_collection().find_one({"_id": report_id})
    record.record(
        actor,
        f"public_report.{action}",
        "public_report",
        report_id,
        before=before,
        after=after,
        now=now,
        photos=list(after.get("photos") or ()),
        chain=after["jurisdiction_id"],
        key=f"public_report.{action}:{report_id}",
    )
