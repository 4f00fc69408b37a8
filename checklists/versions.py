"""Checklist versions in MongoDB: publishing new immutable versions and finding them again.

Publishing: each edition of a template file (`checklists/data/<code>.yaml` says its `edition`;
earlier ones are kept in `data/editions/`) becomes the version of the same number.

A version is never modified; publishing the same content again is a no-op, so the command can
run at every start. Inspections pin (code, version) and can always fetch what they were done
against.

Publishing is audited (`checklist.publish`, system chain) with one key per version: every
publish records the current version's event again, so an event lost to a crash between the
save and its record is filled in by the next publish (at the latest the next start), and none
is doubled.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime

from mongoengine import NotUniqueError

from checklists.schema import TemplateSchema
from checklists.template import LOCALES, ChecklistTemplate
from server.actor import Actor
from server.errors import NotFound
from server.models.checklist import ChecklistVersion
from server.services.audit import record

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Published:
    code: str
    version: int
    content_hash: str
    created: bool


def latest(code: str) -> ChecklistVersion | None:
    """The newest published version of a template, or None."""
    return ChecklistVersion.objects(code=code).order_by("-version").first()


def find(code: str, version: str | int | None = None) -> ChecklistVersion:
    """One version by number or content hash (`None`: the newest), else NotFound."""
    code = code.upper()
    if version is None:
        found = latest(code)
    elif re.fullmatch(r"[0-9]{1,9}", str(version)):  # ASCII digits only: "¹".isdigit()
        found = ChecklistVersion.objects(id=ChecklistVersion.key(code, int(version))).first()
    else:
        found = ChecklistVersion.objects(code=code, content_hash=str(version).lower()).first()
    if found is None:
        what = f"checklist {code}" + ("" if version is None else f" version {version}")
        raise NotFound(f"{what} not found")
    return found


def latest_versions() -> list[ChecklistVersion]:
    """The newest version of every template, ordered by code."""
    newest: dict[str, ChecklistVersion] = {}
    for v in ChecklistVersion.objects.only("code", "version").batch_size(500):
        if v.code not in newest or v.version > newest[v.code].version:
            newest[v.code] = v
    keys = [ChecklistVersion.key(code, v.version) for code, v in sorted(newest.items())]
    found = {v.id: v for v in ChecklistVersion.objects(id__in=keys)}
    return [found[key] for key in keys]


class EditionConflict(ValueError):
    """A data file's edition is published already with other content (versions are
    immutable: the changed file needs the next edition number), or an earlier one is not."""


def publish(template: ChecklistTemplate, *, now: datetime, actor: Actor | None = None) -> Published:
    """Publish `template` as version `template.edition` (a first-edition file: 1); publishing
    an edition already published with the same content is a no-op, with other content an
    EditionConflict, and an edition whose predecessor is not published one too.
    `actor`: the admin publishing (None: the system, e.g. `flask publish-checklists`)."""
    content_hash = template.content_hash()
    for _attempt in range(5):
        current = latest(template.code)
        same = ChecklistVersion.objects(
            id=ChecklistVersion.key(template.code, template.edition)
        ).first()
        if same is not None:
            if same.content_hash != content_hash:
                raise EditionConflict(
                    f"{template.code} version {template.edition} is published with other "
                    "content; give the changed file the next edition"
                )
            _audit(actor, same, now)
            return Published(template.code, same.version, content_hash, created=False)
        if (current.version if current else 0) != template.edition - 1:
            raise EditionConflict(
                f"{template.code} edition {template.edition} follows version "
                f"{template.edition - 1}, which is not published"
            )
        number = template.edition
        doc = ChecklistVersion(
            id=ChecklistVersion.key(template.code, number),
            code=template.code,
            version=number,
            content_hash=content_hash,
            content=template.to_dict(),
            localized={locale: template.localized(locale) for locale in LOCALES},
            item_count=len(template.items),
            changelog=[entry.to_dict() for entry in template.changelog],
            published_at=now,
            published_by=actor.user_id if actor else None,
        )
        try:
            doc.save(force_insert=True)
        except NotUniqueError:
            continue  # another publisher took this number; look again
        log.info("checklist published", extra={"code": template.code, "version": number})
        _audit(actor, doc, now)
        return Published(template.code, number, content_hash, created=True)
    raise RuntimeError(f"could not publish {template.code}: too many concurrent publishers")


def publish_all(
    templates: dict[str, ChecklistTemplate], *, now: datetime, actor: Actor | None = None
) -> list[Published]:
    return [publish(t, now=now, actor=actor) for _code, t in sorted(templates.items())]


def publish_editions(
    editions: dict[str, list[ChecklistTemplate]], *, now: datetime, actor: Actor | None = None
) -> list[Published]:
    """Publish every edition of every template in order (`checklists.loader.load_editions`):
    a fresh database gets version 1 from the archived first edition, then version 2, ...; one
    that has them already publishes only what is new. Returns the newest of each template."""
    newest = []
    for _code, history in sorted(editions.items()):
        for template in history:
            found = publish(template, now=now, actor=actor)
        newest.append(found)
    return newest


def _audit(actor: Actor | None, version: ChecklistVersion, now: datetime) -> None:
    record.record(
        actor,
        "checklist.publish",
        "checklist_version",
        version.id,
        before=None,
        after=version,
        now=now,
        key=f"checklist.publish:{version.id}",
    )


_TEMPLATES: dict[str, ChecklistTemplate] = {}


def pinned_template(code: str, version: int) -> ChecklistTemplate:
    """The template exactly as published in (code, version); NotFound if never published.

    Versions are immutable, so each is rebuilt from MongoDB once per process.
    """
    key = ChecklistVersion.key(code, version)
    if key not in _TEMPLATES:
        found = ChecklistVersion.objects(id=key).only("content").first()
        if found is None:
            raise NotFound(f"checklist {code} version {version} not found")
        _TEMPLATES[key] = TemplateSchema().load(found.content)
    return _TEMPLATES[key]
