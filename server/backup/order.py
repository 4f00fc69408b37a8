"""The order in which a backup copies collections, and why it keeps the archive consistent.

There are no transactions, so a backup of a running service is a long series of single-document
reads while phones keep pushing. What makes the result usable is the order in which the service
writes documents that name one another: the chunks of a photo before the blob record that
lists them, a change before the receipt that acknowledges it, an outbox entry before the change
that requires it. The rule: **when the service writes B before the A that names it, A's
collection is copied first.** Any A in the archive was written after its B; B's pass lists its
collection only after A's pass has ended, so it finds that B (the service never deletes a B that
something still names). The restore inserts in the reverse order, so a database being restored
never holds an A without its B either.

The converse is not promised, and is harmless: a B written during the backup may be there without
the A that would have named it (a change without its receipt: a replay is answered from the
mutation ids the document keeps; a blob or chunk that nothing names yet: garbage, like the
chunks of an interrupted upload). Where names go both ways, the order keeps the one that
matters: an inspection that says its photos arrived is copied before the photos' contexts, so
every photo it claims is there as its evidence; a context linked during the backup may then
name an inspection created after the inspections pass (a dangling link: the context stays its
uploader's evidence).
"""

from __future__ import annotations

from collections.abc import Iterable

from media.blobstore import BLOBS, CHUNKS
from media.holder import HOLDERS
from server import sequence
from server.models import (
    Alarm,
    AuditEvent,
    AuditSignature,
    AuthToken,
    ChecklistVersion,
    Device,
    Enterprise,
    EntryDecision,
    EntryEvent,
    FigureCell,
    FigurePlace,
    GasLimitsVersion,
    Hazard,
    HazardListing,
    Inspection,
    IssuingBody,
    JobRun,
    Jurisdiction,
    LabelKeyRecord,
    LoginWindow,
    MonthlyReport,
    Notification,
    NumberBlock,
    Order,
    OutboxEntry,
    Permit,
    PermitRecord,
    Photo,
    PhotoContext,
    PublicReport,
    ReviewDecision,
    Roster,
    Space,
    Timer,
    Upload,
    User,
    Violation,
    Webhook,
    WebhookDelivery,
    keyed_reads,
)
from server.models.synced import DIRTY
from server.services.audit.heads import SIGNED as AUDIT_SIGNED
from server.services.device_keys import CHALLENGES
from sync.push import RECEIPTS
from sync.sequencer import LOG, STATE

#: Where collections this order does not name are copied (tests/backup fail on any such
#: collection of the service, so each new one gets a considered place).
UNLISTED = "*"

#: (collection, what it names or why it stands here), in backup order.
BACKUP_ORDER: tuple[tuple[str, str], ...] = (
    (RECEIPTS, "written after the change it acknowledges"),
    (
        FigureCell._get_collection_name(),
        "counts of hazards and inspections, written after them; derived: a restore is followed "
        "by `flask figures-recount`",
    ),
    (FigurePlace._get_collection_name(), "where a hazard or inspection is counted; derived"),
    (MonthlyReport._get_collection_name(), "names its enterprise and its submitter"),
    (CHALLENGES, "one-time renewal challenges, minutes long; names a device id"),
    (AuthToken._get_collection_name(), "names its user"),
    (Device._get_collection_name(), "names its user"),
    (Notification._get_collection_name(), "names its recipient and the hazard it is about"),
    (
        HazardListing._get_collection_name(),
        "names its hazard (written after the hazard's listing transition)",
    ),
    (
        PublicReport._get_collection_name(),
        "names the hazard its verification made and its photos, each written before it",
    ),
    (
        NumberBlock._get_collection_name(),
        "names the orders using its numbers (written before it binds them) and its issuing "
        "body (an order names its block too: the block, written first, may be missing when "
        "it was reserved during the backup); its numbers' claims are taken before it lists them",
    ),
    (
        WebhookDelivery._get_collection_name(),
        "names the order it delivers (written after it is numbered or served) and its enterprise",
    ),
    (Webhook._get_collection_name(), "names its enterprise and the user who set it"),
    (
        Order._get_collection_name(),
        "names its hazards and inspection (written before it is numbered), its issuing body, "
        "its users, the PDF and signature blobs (stored before it names them), the outbox "
        "entry staged before it",
    ),
    (
        Hazard._get_collection_name(),
        "names the inspection that found it (written after it, by its submission's job), its "
        "enterprise, its photos and the earlier hazard it repeats",
    ),
    (
        ReviewDecision._get_collection_name(),
        "names the inspection it decided (written after the inspection's review is set)",
    ),
    (
        Inspection._get_collection_name(),
        "names its enterprise, inspector and checklist version, the outbox entries staged "
        "before it changed, and the photos it says have arrived",
    ),
    (JobRun._get_collection_name(), "names the outbox entry it is a run of"),
    (OutboxEntry._get_collection_name(), "staged before the change that requires it"),
    (Timer._get_collection_name(), "its outbox entry is written after it, under its key"),
    (
        Violation._get_collection_name(),
        "names its space, permit, entry event or alarm (written before it) and its hazard",
    ),
    (
        EntryEvent._get_collection_name(),
        "names its space, permit and worker, and the roster change it made (recorded on it "
        "after the change)",
    ),
    (
        Roster._get_collection_name(),
        "names its space, the permits of the workers inside and its open alarms (each "
        "written before it is listed)",
    ),
    (
        EntryDecision._get_collection_name(),
        "names its space, permit and people (written before it), and the entry event and "
        "roster change its merge made (written after it)",
    ),
    (Alarm._get_collection_name(), "names its space, permit and people"),
    (PermitRecord._get_collection_name(), "names its permit (written after it)"),
    (Permit._get_collection_name(), "names its space, enterprise and people"),
    (Space._get_collection_name(), "names its enterprise and jurisdiction, and its sign photo"),
    (Upload._get_collection_name(), "names its staged chunks and, once complete, its photo"),
    (
        PhotoContext._get_collection_name(),
        "names its photo (written before it) and its watermarked copy",
    ),
    (
        Photo._get_collection_name(),
        "names its blobs (the original and the thumbnail) and its contexts, each announced "
        "just before it is written: an announced context the archive lacks names nothing",
    ),
    (User._get_collection_name(), "names its enterprise and jurisdiction"),
    (Enterprise._get_collection_name(), "names its jurisdiction"),
    (IssuingBody._get_collection_name(), "names its jurisdiction"),
    (Jurisdiction._get_collection_name(), "named by users, enterprises and inspections"),
    (ChecklistVersion._get_collection_name(), "named by inspections"),
    (GasLimitsVersion._get_collection_name(), "names nothing; decisions may name its versions"),
    (LabelKeyRecord._get_collection_name(), "names nothing; labels name its key ids"),
    (BLOBS, "a blob record is written after its chunks"),
    (UNLISTED, "collections no entry names"),
    ("_meta", "marks a database this project created"),
    (keyed_reads.ROOT, "the one document keyed reads start from; made again when missing"),
    (STATE, "watermarks of the feed's jobs"),
    (DIRTY, "the sequencer's markers; a restore re-sequences everything anyway"),
    (sequence.LEASES, "runtime locks; a restore clears them"),
    (HOLDERS, "heartbeats of the processes holding uploads; stale within 30 s after a restore"),
    (LoginWindow._get_collection_name(), "failed-login counts while Redis was down"),
    (sequence.COUNTERS, "a head moves only after the claims and log entries it counts exist"),
    (sequence.CLAIMS, "claims of the gapless counters"),
    (AUDIT_SIGNED, "the signer's last signed head per chain, written after its signature"),
    (AuditSignature._get_collection_name(), "names a chain's event by number and hash"),
    (
        AuditEvent._get_collection_name(),
        "after the chains' heads (counters) and signatures, so neither names an event the "
        "archive lacks; an event may name a change made during the backup that it lacks",
    ),
    (
        LOG,
        "after every synced document, whose sync_seq is set after its entry is written, and "
        "after the head",
    ),
    (CHUNKS, "after the blob records and uploads that name them; the bulk of the bytes"),
)

_RANK = {name: rank for rank, (name, _why) in enumerate(BACKUP_ORDER)}


def known(name: str) -> bool:
    """Has `name` a place of its own in the order?"""
    return name in _RANK and name != UNLISTED


def backup_order(names: Iterable[str]) -> list[str]:
    """`names` in the order a backup copies them (unlisted ones by name, at their place)."""
    return sorted(set(names), key=lambda n: (_RANK.get(n, _RANK[UNLISTED]), n))


def restore_order(names: Iterable[str]) -> list[str]:
    """`names` in the order a restore inserts them: what is named before what names it."""
    return list(reversed(backup_order(names)))
