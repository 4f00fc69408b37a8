"""Gas-limit versions in MongoDB: the gas-test rules published as immutable, numbered versions
(one per edition of `data/gas_limits.yaml`, earlier editions kept in `data/editions/`), as the
checklists are (checklists.versions, whose rules apply: the same content again is a no-op,
other content under a published edition an EditionConflict, an edition needs its predecessor).

Phones receive every version through the feed and decide confined-space entries offline with
the newest; a decision names the version it applied, so the server re-checks it by the same.
"""

from __future__ import annotations

import logging
from datetime import datetime

from mongoengine import NotUniqueError

from checklists.loader import DATA_DIR, load_gas_limits
from checklists.template import GasLimits
from checklists.versions import EditionConflict, Published
from server.actor import Actor
from server.errors import NotFound
from server.models.gas_limits import GasLimitsVersion
from server.services.audit import record

log = logging.getLogger(__name__)

CODE = "GAS"


def load_gas_editions() -> list[GasLimits]:
    """Every edition of the shipped gas rules, oldest first: the archived ones
    (`data/editions/gas_limits.<n>.yaml`) and the current file."""
    current = load_gas_limits()
    archived = [
        load_gas_limits(DATA_DIR / "editions" / f"gas_limits.{n}.yaml")
        for n in range(1, current.edition)
    ]
    for n, edition in enumerate(archived, start=1):
        if edition.edition != n:
            raise EditionConflict(f"editions/gas_limits.{n}.yaml says edition {edition.edition}")
    return [*archived, current]


def latest() -> GasLimitsVersion | None:
    return GasLimitsVersion.objects.order_by("-id").first()


def find(version: int | None = None) -> GasLimitsVersion:
    """One version by number (None: the newest), else NotFound."""
    found = latest() if version is None else GasLimitsVersion.objects(id=version).first()
    if found is None:
        raise NotFound(
            "gas limits" + ("" if version is None else f" version {version}") + " not found"
        )
    return found


def publish(limits: GasLimits, *, now: datetime, actor: Actor | None = None) -> Published:
    """Publish `limits` as version `limits.edition`; see the module docstring."""
    content_hash = limits.content_hash()
    same = GasLimitsVersion.objects(id=limits.edition).first()
    if same is None:
        current = latest()
        if (current.id if current else 0) != limits.edition - 1:
            raise EditionConflict(
                f"gas limits edition {limits.edition} follows version {limits.edition - 1}, "
                "which is not published"
            )
        doc = GasLimitsVersion(
            id=limits.edition,
            content_hash=content_hash,
            content=dict(limits.document),
            changelog=[entry.to_dict() for entry in limits.changelog],
            published_at=now,
            published_by=actor.user_id if actor else None,
        )
        try:
            doc.save(force_insert=True)
        except NotUniqueError:
            same = GasLimitsVersion.objects.get(id=limits.edition)  # a concurrent publisher
        else:
            log.info("gas limits published", extra={"version": limits.edition})
            _audit(actor, doc, now)
            return Published(CODE, limits.edition, content_hash, created=True)
    if same.content_hash != content_hash:
        raise EditionConflict(
            f"gas limits version {limits.edition} is published with other content; give the "
            "changed file the next edition"
        )
    _audit(actor, same, now)  # fills in an event lost to a crash after the save
    return Published(CODE, same.id, content_hash, created=False)


def publish_editions(
    editions: list[GasLimits], *, now: datetime, actor: Actor | None = None
) -> Published:
    """Publish every edition in order; returns the newest."""
    for limits in editions:
        found = publish(limits, now=now, actor=actor)
    return found


def _audit(actor: Actor | None, version: GasLimitsVersion, now: datetime) -> None:
    record.record(
        actor,
        "gas_limits.publish",
        "gas_limits_version",
        version.id,
        before=None,
        after=version,
        now=now,
        key=f"gas_limits.publish:{version.id}",
    )
