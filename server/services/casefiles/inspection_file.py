"""An inspection's case file: its facts (device and server times side by side), every answer
against the pinned checklist version, the photos with their watermark data, the hazards it
found with their state and re-inspection, its orders, and the audit events of the inspection,
its hazards and its orders with their chain position (review decisions on it are audit events
of the inspection, so they are listed there)."""

from __future__ import annotations

from datetime import datetime

from mongoengine.connection import get_db

from checklists.versions import pinned_template
from media import documents
from server.actor import Actor
from server.errors import NotFound
from server.models.hazard import Hazard
from server.services import inspections
from server.services.casefiles import evidence, names, sections
from server.services.casefiles.trail import trail
from server.services.casefiles.wording import name, text


def build(actor: Actor, inspection_id: str, public, *, now: datetime) -> documents.Document:
    """The case file of an inspection the actor may see (NotFound otherwise; Forbidden for a
    role that reads no case files); `public` verifies the chain's signed heads."""
    inspection = inspections.read(actor, inspection_id)
    sections.require_reader(actor)
    named = evidence.inspection_photos(inspection)
    hazards = list(
        Hazard._get_collection().find({"inspection_ids": inspection["id"]}).sort("created_at", 1)
    )
    its_orders = sections.orders_of(inspection_id=inspection["id"])
    found = trail(
        get_db(),
        inspection["jurisdiction_id"],
        [inspection["id"], *(h["_id"] for h in hazards), *(o["_id"] for o in its_orders)],
        [sha for sha, _ in named],
        public,
        now=now,
    )
    shown = evidence.shown(actor, named)
    who = [inspection["inspector_id"], actor.user_id]
    who += [(h.get("reinspection") or {}).get("by") for h in hazards]
    who += [str(p.context.uploader_id) for p in shown if p.context]
    who += sections.user_ids_of(found)
    people = names.people(who)
    parts = [
        ("facts", _facts(inspection, people)),
        ("answers", _answers(inspection)),
        ("photos", sections.photos(shown, people, lambda of: of)),
        ("hazards", _hazards(hazards, people)),
        ("orders", sections.orders(its_orders, {h["_id"] for h in hazards})),
        ("audit", sections.audit(found, people)),
    ]
    return sections.case_file("inspection", inspection["id"], parts, people, actor, now=now)


def _facts(inspection: dict, people: dict[str, str]) -> list:
    fact, labels = sections.fact, text()["labels"]
    firm = names.enterprises([inspection["enterprise_id"]]).get(
        str(inspection["enterprise_id"]), ""
    )
    out = [
        fact("enterprise", firm),
        fact("checklist", f"{inspection['checklist_code']} v{inspection['checklist_version']}"),
        fact("inspector", people.get(str(inspection["inspector_id"]), "")),
        fact("started_at", sections.when(inspection.get("started_at_device"))),
        fact("submitted_at", sections.when(inspection.get("submitted_at"))),
        fact("received_at", sections.when(inspection.get("received_at"))),
        fact("unannounced", labels["yes_word" if inspection.get("unannounced") else "no_word"]),
    ]
    if inspection.get("clock_offset_s") is not None:
        out.append(fact("clock_skew", f"{inspection['clock_offset_s']:.0f} s"))
    location = inspection.get("location") or {}
    if location:
        out.append(fact("location", f"{location.get('latitude')}, {location.get('longitude')}"))
    if inspection.get("note"):
        out.append(fact("note", inspection["note"]))
    return out


def _answers(inspection: dict) -> list:
    """Each answer in the pinned version's order: item, text, value, outcome, note, photos."""
    labels = text()["labels"]
    answers = inspection.get("answers") or {}
    try:
        items = pinned_template(inspection["checklist_code"], inspection["checklist_version"]).items
        order = [(i.code, i.text.zh_cn) for i in items if i.code in answers]
    except NotFound:
        order = []
    order += [(code, "") for code in sorted(answers) if code not in dict(order)]
    out = []
    for code, wording in order:
        answer = answers[code] or {}
        value = answer.get("value")
        out.append(sections.line(f"{code} {wording}", size=10))
        said = f"{labels['answer']}：{value}　{labels['outcome']}："
        said += name("outcomes", answer.get("outcome")) or "-"
        if answer.get("note"):
            said += f"　{labels['note']}：{answer['note']}"
        if answer.get("photos"):
            said += "　" + labels["photo_count"].format(n=len(answer["photos"]))
        out.append(sections.line(said, indent=8, size=9.5))
    return out or [sections.line(labels["none"])]


def _hazards(hazards: list[dict], people: dict[str, str]) -> list:
    labels = text()["labels"]
    out = []
    for h in hazards:
        out.append(
            sections.line(
                f"{h.get('item_code') or ''} {h['description']}；{name('levels', h['level'])}；"
                f"{name('states', h['state'])}；{labels['deadline']}："
                f"{sections.when(h.get('deadline')) or labels['none']}"
            )
        )
        visit = h.get("reinspection")
        if visit:
            out.append(
                sections.line(
                    f"{labels['reinspected_by']}：{people.get(str(visit.get('by')), '')}　"
                    f"{labels['reinspected_at']}：{sections.when(visit.get('at'))}　"
                    f"{visit.get('note') or ''}",
                    indent=8,
                )
            )
        out.append(sections.line(f"id {h['_id']}", indent=8, size=sections.SMALL))
    return out or [sections.line(labels["none"])]
