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

Visibility of a photo (`can_see`): admins, whoever uploaded it (first, or linked it later by
uploading the same bytes), and whoever a registered resolver lets see any linked object.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bson import ObjectId

from media.errors import UnknownLinkKind
from server.actor import Actor
from server.errors import NotFound, RuleViolation
from server.models.photo import Photo

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
    #: shows nobody anything (`can_see`, `visible_links`).
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


def can_see(actor: Actor, photo) -> bool:
    """May the actor see this photo (see the module docstring)?"""
    if actor.is_admin or photo.uploader_id == actor.user_id:
        return True
    links = list(photo.links or [])
    if any(link.linked_by == actor.user_id for link in links):
        return True
    for link in links:
        try:
            if _shows(registry.resolve(actor, link.kind, link.id)):
                return True
        except UnknownLinkKind:
            continue  # a kind no longer registered grants nothing
    return False


def _shows(target: LinkTarget | None) -> bool:
    return target is not None and not target.pending


def visible_links(actor: Actor, photo) -> list:
    """The photo's links the actor may know of: all for admins and the photo's first
    uploader; otherwise those they made or whose object they may see (the same content may
    be evidence in another tenant's file)."""
    links = list(photo.links or [])
    if actor.is_admin or photo.uploader_id == actor.user_id:
        return links
    shown = []
    for link in links:
        if link.linked_by == actor.user_id:
            shown.append(link)
            continue
        try:
            if _shows(registry.resolve(actor, link.kind, link.id)):
                shown.append(link)
        except UnknownLinkKind:
            continue
    return shown


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


def gps_visible(actor: Actor, photo) -> bool:
    """Where a photo was taken (metadata GPS, and the original, whose EXIF carries it): the
    regulators who review evidence (admin, supervisor, inspector) always; enterprise roles
    only for photos they uploaded themselves, so a party answering a notice cannot read, and
    copy into forged rectification photos, the positions the inspectors recorded."""
    if actor.is_admin or actor.is_regulator:
        return True
    return photo.uploader_id == actor.user_id or any(
        link.linked_by == actor.user_id for link in photo.links or []
    )


def visible_photo(actor: Actor, sha256: str) -> Photo:
    """The photo if the actor may see it; NotFound otherwise (never say whether it exists)."""
    photo = Photo.objects(id=str(sha256).lower()).first()
    if photo is None or not can_see(actor, photo):
        raise NotFound(f"photo {sha256} not found")
    return photo
