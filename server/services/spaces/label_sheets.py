"""Use cases of QR labels: issue a space's next label (retiring the one before), and the
printable label of a space or the sheet of an enterprise's labels (media.label_print).

Issuing is audited as `space.label`. The token of a label is deterministic (its version and
issue date are stored on the space), so the same label renders the same QR whenever it is
printed again; only issuing a new version changes it.
"""

from __future__ import annotations

from datetime import datetime

from media import label_print
from server.actor import Actor
from server.config import Settings
from server.errors import Conflict, NotFound, RuleViolation
from server.models.enterprise import Enterprise
from server.models.scoping import get_or_404
from server.models.space import Space, SpaceStatus
from server.services.spaces import labels, ledger

#: The sign's wording (M13 Art.11 and GB 46768: a warning sign at the space saying entry
#: needs approval; the order 先通风、再检测、后作业 is M13 Art.14). Our own wording.
HEADING = "危险！有限空间"
WARNING = "危险！未经许可严禁入内；\n先通风、再检测、后作业"


def label_keys(settings: Settings) -> tuple[labels.LabelKey, ...]:
    return labels.keys_from(settings.label_signing_keys, settings.audit_signing_key)


def issue_label(actor: Actor, space: Space, *, now: datetime) -> Space:
    """The space's next label version; the previous one is refused from now on."""
    ledger.require_writer(actor, space.enterprise_id)
    if space.status == SpaceStatus.RETIRED:
        raise RuleViolation("a retired space gets no label")
    n = Space.objects(id=space.id, version=space.version).update_one(
        inc__label_version=1, set__label_issued_at=now, set__updated_at=now, inc__version=1
    )
    if n != 1:
        raise Conflict("the space was changed by someone else; reload and retry")
    updated = Space.objects.get(id=space.id)
    ledger.audit(
        actor,
        "space.label",
        space,
        updated,
        now,
        key=f"space.label:{space.id}:{updated.label_version}",
    )
    return updated


def token(space: Space, settings: Settings) -> str:
    """The token of the space's current label; NotFound before the first is issued."""
    if not space.label_version:
        raise NotFound(f"space {space.id} has no label yet")
    return labels.sign(
        label_keys(settings)[0],
        space_id=space.id,
        version=space.label_version,
        issued=space.label_issued_at.date(),
    )


def label_url(space: Space, settings: Settings) -> str:
    return labels.url(settings.public_url, token(space, settings))


def card(
    space: Space, settings: Settings, enterprise: Enterprise | None = None
) -> label_print.Card:
    firm = enterprise or Enterprise.objects.get(id=space.enterprise_id)
    return label_print.Card(
        data=label_url(space, settings),
        title=space.name,
        lines=(f"编号 {space.code}", firm.name),
        heading=HEADING,
        warning=WARNING,
    )


def font(settings: Settings) -> label_print.Font:
    return label_print.Font(settings.watermark_font, settings.watermark_font_index)


def sheet(actor: Actor, enterprise_id, settings: Settings) -> bytes:
    """A PDF of the current labels of an enterprise's spaces in use, by code."""
    enterprise = get_or_404(Enterprise.objects.for_actor(actor), enterprise_id, "enterprise")
    spaces = (
        Space.objects.for_actor(actor)
        .filter(enterprise_id=enterprise.id, label_version__gt=0, status__ne=SpaceStatus.RETIRED)
        .order_by("code")
    )
    cards = [card(s, settings, enterprise) for s in spaces]
    if not cards:
        raise NotFound(f"enterprise {enterprise.id} has no labelled spaces")
    return label_print.pdf(cards, font(settings))
