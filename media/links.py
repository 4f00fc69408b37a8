"""What a photo is evidence for, and who may see it: a registry the owners of linked objects fill.

Media knows no inspections, hazards or rectifications; the packages that own them register,
explicitly at wiring time (never by importing a module). The linkable kinds are exactly those
registered; a kind is named like `inspection` or `gas_test` (KIND_PATTERN).
- `register_link_kind(kind, resolver)`: `resolver(actor, link_id)` answers whether the actor
  may see that object, as `None`/`False` (no: the caller gets 404, as for an object that does
  not exist), `True`, or a `LinkTarget` that also names the object's enterprise (printed on the
  watermark). A resolver may raise a domain error (e.g. `RuleViolation` for a submitted
  inspection) to refuse new evidence with its own problem.
- `register_arrival_hook(kind, hook)`: `hook(sha256, link)` runs after a photo linked to an
  object of that kind is stored (e.g. mark an inspection item's evidence complete). The ingest
  records the run in the outbox (job `ARRIVAL_JOB`, which calls `run_arrival_hooks`), so a
  failing hook is retried until it succeeds. Hooks must be idempotent: a retry, or a photo
  linked again, calls them again.

Visibility of photo evidence (`can_see`, the one rule every read of a photo goes through): a
photo is seen through its upload contexts (server.models.photo), each separately. A context
shows to admins and its uploader (`PhotoContext.audience`), and to whoever a registered
resolver lets see the object it is linked to — for a context made before its object existed,
only if its uploader may see that object too (else anyone could plant evidence in another
tenant's file by guessing an id). An actor who may see no context of a photo is told it does
not exist, exactly as for a hash nobody uploaded.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from bson import ObjectId

from media.errors import UnknownLinkKind
from server.actor import Actor
from server.errors import NotFound, RuleViolation
from server.models.photo import Photo, PhotoContext

log = logging.getLogger(__name__)

#: Names of link kinds: lower-case words, as the owners' collections are named.
KIND_PATTERN = re.compile(r"^[a-z][a-z0-9_]{1,31}$")
#: Ids of linked objects: server ObjectIds or the ids phones generate offline (UUIDs).
LINK_ID_PATTERN = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
#: Checklist item codes (`CS-01`).
ITEM_CODE_PATTERN = re.compile(r"^[A-Za-z0-9._-]{1,40}$")
#: The outbox job that runs the arrival hooks of one link (registered by the wiring).
ARRIVAL_JOB = "media.arrival"


@dataclass(frozen=True)
class LinkTarget:
    """What a resolver knows about a visible object."""

    enterprise_id: ObjectId | None = None
    #: When the work it records began (an inspection's start): a photo taken well before it
    #: is not evidence of it (an old photo reused), and is flagged.
    started_at: datetime | None = None
    #: The only photos (SHA-256) the object still takes, when it is closed to new evidence (a
    #: submitted inspection takes the photos its answers named, no others); None: any.
    accepts: frozenset[str] | None = None
    #: The object does not exist yet, and the caller may make it (a phone uploads a photo
    #: before its inspection's push lands): evidence may be linked to it, but a pending target
    #: shows nobody anything through it (`can_see`).
    pending: bool = False


@dataclass(frozen=True)
class LinkRef:
    """One link of a photo, as hooks receive it."""

    kind: str
    id: str
    item_code: str | None = None


Resolver = Callable[[Actor, str], "LinkTarget | bool | None"]
ArrivalHook = Callable[[str, LinkRef], None]


class LinkRegistry:
    """Resolvers and arrival hooks per link kind."""

    def __init__(self) -> None:
        self._resolvers: dict[str, Resolver] = {}
        self._hooks: dict[str, list[ArrivalHook]] = {}

    def register_link_kind(self, kind: str, resolver: Resolver) -> None:
        """Make `kind` linkable; registering a kind twice replaces its resolver."""
        _check_kind_name(kind)
        self._resolvers[kind] = resolver

    def unregister_link_kind(self, kind: str) -> None:
        self._resolvers.pop(kind, None)

    def register_arrival_hook(self, kind: str, hook: ArrivalHook) -> None:
        _check_kind_name(kind)
        hooks = self._hooks.setdefault(kind, [])
        if hook not in hooks:  # wiring may run more than once in a process (tests, reloads)
            hooks.append(hook)

    def unregister_arrival_hook(self, kind: str, hook: ArrivalHook) -> None:
        hooks = self._hooks.get(kind, [])
        if hook in hooks:
            hooks.remove(hook)

    def resolve(self, actor: Actor, kind: str, link_id: str) -> LinkTarget | None:
        """The target if the actor may see it, else None; UnknownLinkKind if unregistered."""
        resolver = self._resolvers.get(kind)
        if resolver is None:
            raise UnknownLinkKind(
                f"link kind {kind!r} is not registered on this server",
                reasons=[{"rule": "link_kind_registered", "kind": kind}],
            )
        found = resolver(actor, link_id)
        if found is None or found is False:
            return None
        return found if isinstance(found, LinkTarget) else LinkTarget()

    def registered(self, kind: str) -> bool:
        return kind in self._resolvers

    def hooks(self, kind: str) -> list[ArrivalHook]:
        return list(self._hooks.get(kind, ()))


def _check_kind_name(kind: str) -> None:
    if not KIND_PATTERN.match(kind):
        raise ValueError(f"link kind {kind!r} does not match {KIND_PATTERN.pattern}")


#: The process's registry; the wiring code (app factory, worker) registers into it.
registry = LinkRegistry()
register_link_kind = registry.register_link_kind
unregister_link_kind = registry.unregister_link_kind
register_arrival_hook = registry.register_arrival_hook
unregister_arrival_hook = registry.unregister_arrival_hook


def validate_link(kind: str, link_id: str, item_code: str | None) -> list[dict]:
    """Field problems of a link's syntax (empty when valid), for a 422 `errors` list; whether
    the kind is registered is the registry's answer (UnknownLinkKind)."""
    problems = []
    if not KIND_PATTERN.match(kind or ""):
        problems.append(("link_kind", "2-32 characters of a-z 0-9 _, starting with a letter"))
    if not LINK_ID_PATTERN.match(link_id or ""):
        problems.append(("link_id", "1-128 characters of A-Z a-z 0-9 . _ : -"))
    if item_code is not None and not ITEM_CODE_PATTERN.match(item_code):
        problems.append(("item_code", "1-40 characters of A-Z a-z 0-9 . _ -"))
    return [
        {"in": "headers", "field": f"Upload-Metadata.{field}", "messages": [message]}
        for field, message in problems
    ]


def check_link_target(
    actor: Actor, kind: str, link_id: str, sha256: str | None = None
) -> LinkTarget:
    """The object photos are to be linked to, if the actor may see it; else NotFound (never
    say whether it exists). Unregistered kinds are UnknownLinkKind (422); a photo the object
    no longer takes (`LinkTarget.accepts`) is a RuleViolation (422)."""
    problems = validate_link(kind, link_id, None)
    if problems:
        raise RuleViolation("the link target is invalid", errors=problems)
    target = registry.resolve(actor, kind, link_id)
    if target is None:
        raise NotFound(f"{kind} {link_id} not found")
    if sha256 is not None and target.accepts is not None and sha256 not in target.accepts:
        raise RuleViolation(
            f"this {kind} is closed to new evidence: it takes only the photos it names",
            reasons=[{"rule": "evidence_named_before_closing", "kind": kind, "id": link_id}],
        )
    return target


def can_see(actor: Actor, context: PhotoContext) -> bool:
    """May the actor see this upload context (see the module docstring)?"""
    if PhotoContext.audience.allows(actor, context):
        return True
    if visible_target(actor, context.target_kind, context.target_id) is None:
        return False
    if not context.pending:
        return True  # its uploader could see the object when they made it
    uploader = context.uploader()
    return (
        uploader is not None
        and visible_target(uploader, context.target_kind, context.target_id) is not None
    )


def visible_target(actor: Actor, kind: str, link_id: str) -> LinkTarget | None:
    """The object if it exists and the actor may see it; None otherwise (also for one not
    pushed yet, and for a kind no longer registered: it grants nothing)."""
    try:
        target = registry.resolve(actor, kind, link_id)
    except UnknownLinkKind:
        return None
    return None if target is None or target.pending else target


def arrival_args(sha256: str, link: LinkRef) -> dict:
    """The JSON arguments of an `ARRIVAL_JOB` entry."""
    return {"sha256": sha256, "kind": link.kind, "link_id": link.id, "item_code": link.item_code}


def run_arrival_hooks(sha256: str, link: LinkRef) -> None:
    """Run every arrival hook of the link's kind; when any failed, raise the first failure
    after trying them all, so that the outbox retries (hooks are idempotent)."""
    failures = []
    for hook in registry.hooks(link.kind):
        try:
            hook(sha256, link)
        except Exception as exc:  # noqa: BLE001 - the others still run; re-raised below
            log.exception("photo arrival hook failed", extra={"photo": sha256, "kind": link.kind})
            failures.append(exc)
    if failures:
        raise failures[0]


def gps_visible(actor: Actor, context: PhotoContext) -> bool:
    """Where a photo was taken (metadata GPS, and the original, whose EXIF carries it): the
    regulators who review evidence (admin, supervisor, inspector) always; enterprise roles
    only in contexts they uploaded themselves, so a party answering a notice cannot read, and
    copy into forged rectification photos, the positions the inspectors recorded."""
    if actor.is_admin or actor.is_regulator:
        return True
    return context.uploader_id == actor.user_id


@dataclass(frozen=True)
class Shown:
    """A photo as one actor may read it: the content, the context shown, and every context
    they may see (the shown one among them), oldest first."""

    photo: Photo
    context: PhotoContext
    contexts: list[PhotoContext]


def visible_photo(actor: Actor, sha256: str, context_id: str | None = None) -> Shown:
    """The photo through the context `context_id`, or by default through the actor's own
    oldest context, else the oldest they may see; NotFound when they may see none of it, or
    not that one (never say whether it exists)."""
    sha256 = str(sha256).lower()
    photo = Photo.objects(id=sha256).first()
    contexts = [c for c in _contexts(photo) if can_see(actor, c)] if photo else []
    if not contexts:
        raise NotFound(f"photo {sha256} not found")
    contexts.sort(key=lambda c: c.received_at)
    if context_id is None:
        own = [c for c in contexts if c.uploader_id == actor.user_id]
        return Shown(photo, (own or contexts)[0], contexts)
    chosen = next((c for c in contexts if c.id == context_id), None)
    if chosen is None:
        raise NotFound(f"photo {sha256} not found")
    return Shown(photo, chosen, contexts)


def _contexts(photo: Photo) -> list[PhotoContext]:
    ids = list(photo.contexts or ())
    if not ids:
        return []
    # Announced ids whose ingest never finished name nothing and are simply not found.
    return list(PhotoContext.objects(id__in=ids).batch_size(len(ids)))


#: What `arrived_for` reads of a context: its photo, its object and its uploader's tenant.
ARRIVAL_FIELDS = (
    "photo",
    "target_kind",
    "target_id",
    "uploader_id",
    "uploader_role",
    "jurisdiction_id",
    "uploader_enterprise_id",
)


@dataclass(frozen=True)
class Arrived:
    """A context of a photo linked to an object, as the object's owner judges it: the photo,
    the object's id, and the uploader (None when unknown)."""

    sha256: str
    link_id: str
    uploader: Actor | None


def arrived_for(kind: str, link_ids: Iterable[str], hashes: Iterable[str]) -> list[Arrived]:
    """Every context of these photos linked to these objects of `kind`, whoever uploaded
    it: two lookups by `_id` (photos, then their contexts). The owner of the objects decides
    which of them count (whose uploader is in the object's own audience)."""
    wanted, shas = set(link_ids), list(dict.fromkeys(hashes))
    if not wanted or not shas:
        return []
    photos = Photo._get_collection().find({"_id": {"$in": shas}}, {"contexts": 1})
    ids = [c for p in photos.batch_size(len(shas)) for c in p.get("contexts") or ()]
    if not ids:
        return []
    found = PhotoContext.objects(id__in=ids).only(*ARRIVAL_FIELDS).batch_size(len(ids))
    return [
        Arrived(c.photo, c.target_id, c.uploader())
        for c in found
        if c.target_kind == kind and c.target_id in wanted
    ]
