"""The photos a hazard or an inspection names, each as the reader may see it: through the
upload context `media.links.visible_photo` chooses, with its watermark lines, capture and
receive times and position; a photo the server does not hold (or the reader may not see) is
listed by its hash alone."""

from __future__ import annotations

from dataclasses import dataclass

from media.blobstore import BlobStore
from media.links import gps_visible, visible_photo
from server.actor import Actor
from server.errors import NotFound
from server.models.photo import Photo, PhotoContext


@dataclass(frozen=True)
class Evidence:
    """One named photo: its hash, what it is evidence of (`finding`, an action of the
    hazard's history, `reinspection`, or an answer's item code) and its context (None: not
    held, or not visible to the reader)."""

    sha256: str
    of: str
    context: PhotoContext | None
    #: Whether the reader may see where it was taken (media.links.gps_visible).
    gps_shown: bool = False


def hazard_photos(hazard: dict) -> list[tuple[str, str]]:
    """(hash, of) of every photo a hazard names: its finding, each transition's (the firm's
    report), its re-inspection; each hash once, first mention first."""
    named = [(sha, "finding") for sha in hazard.get("photos") or ()]
    for entry in hazard.get("history") or ():
        named += [(sha, entry["action"]) for sha in entry.get("photos") or ()]
    visit = hazard.get("reinspection") or {}
    named += [(sha, "reinspection") for sha in visit.get("photos") or ()]
    return _once(named)


def inspection_photos(inspection: dict) -> list[tuple[str, str]]:
    """(hash, item code) of every photo an inspection's answers name."""
    answers = inspection.get("answers") or {}
    named = [(sha, code) for code in sorted(answers) for sha in answers[code].get("photos") or ()]
    return _once(named)


def _once(named: list[tuple[str, str]]) -> list[tuple[str, str]]:
    seen: dict[str, str] = {}
    for sha, of in named:
        seen.setdefault(sha, of)
    return list(seen.items())


def shown(actor: Actor, named: list[tuple[str, str]]) -> list[Evidence]:
    """The named photos as `actor` may see them."""
    out = []
    for sha, of in named:
        try:
            context = visible_photo(actor, sha).context
        except NotFound:
            out.append(Evidence(sha, of, None))
            continue
        out.append(Evidence(sha, of, context, gps_visible(actor, context)))
    return out


def review_copy(context: PhotoContext) -> bytes:
    """The watermarked review copy of a context (a JPEG)."""
    return BlobStore(Photo._get_db()).read_all(context.review)
