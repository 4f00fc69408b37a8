"""A hazard's case file: its facts, photos with their watermark data, every decision of its
history (levels, listing, escalations, extensions, close-out), its orders, its re-inspection,
and the audit events of the hazard and its orders with their chain position."""

from __future__ import annotations

from datetime import datetime

from mongoengine.connection import get_db

from media import documents
from server.actor import Actor
from server.services.casefiles import evidence, names, sections
from server.services.casefiles.trail import trail
from server.services.casefiles.wording import name, text
from server.services.hazards import lifecycle


def build(actor: Actor, hazard_id: str, public, *, now: datetime) -> documents.Document:
    """The case file of a hazard the actor may see (NotFound otherwise; Forbidden for a role
    that reads no case files); `public` verifies the chain's signed heads."""
    hazard = lifecycle.read(actor, hazard_id)
    sections.require_reader(actor)
    named = evidence.hazard_photos(hazard)
    its_orders = sections.orders_of(hazard_ids=hazard["id"])
    found = trail(
        get_db(),
        hazard["jurisdiction_id"],
        [hazard["id"], *(o["_id"] for o in its_orders)],
        [sha for sha, _ in named],
        public,
        now=now,
    )
    shown = evidence.shown(actor, named)
    history = hazard.get("history") or []
    who = [hazard.get("inspector_id"), hazard.get("reported_by"), actor.user_id]
    who += [e.get("by") for e in history + (hazard.get("escalations") or [])]
    who += [(hazard.get(k) or {}).get("by") for k in ("reinspection", "closeout_application")]
    who += [str(p.context.uploader_id) for p in shown if p.context]
    who += sections.user_ids_of(found)
    people = names.people(who)
    parts = [
        ("facts", _facts(hazard, people)),
        ("photos", sections.photos(shown, people, _photo_of)),
        ("decisions", _decisions(hazard, people)),
        ("orders", sections.orders(its_orders, {hazard["id"]})),
        ("reinspection", _reinspection(hazard, people)),
        ("audit", sections.audit(found, people)),
    ]
    return sections.case_file("hazard", hazard["id"], parts, people, actor, now=now)


def _photo_of(of: str) -> str:
    return name("photo_of", of) if of in text()["photo_of"] else name("actions", of)


def _facts(hazard: dict, people: dict[str, str]) -> list:
    fact = sections.fact
    firm = names.enterprises([hazard["enterprise_id"]]).get(str(hazard["enterprise_id"]), "")
    level = name("levels", hazard["level"])
    if not hazard.get("level_confirmed", True):
        level += text()["labels"]["level_unconfirmed"]
    out = [
        fact("enterprise", firm),
        fact("description", hazard["description"]),
        fact("level", level),
        fact("state", name("states", hazard["state"])),
        fact("listing", name("listing", hazard.get("listing") or "none")),
        fact("deadline", sections.when(hazard.get("deadline")) or text()["labels"]["none"]),
        fact("source", name("sources", hazard["source"])),
        fact("found_at", sections.when(hazard.get("created_at"))),
        fact("inspector", people.get(str(hazard.get("inspector_id")), "")),
    ]
    if hazard.get("item_code"):
        item = f"{hazard['checklist_code']} v{hazard['checklist_version']} {hazard['item_code']}"
        out.append(fact("item", item))
    if hazard.get("legal_basis"):
        out.append(fact("legal_basis", "；".join(hazard["legal_basis"])))
    place = hazard.get("place") or {}
    location = place.get("location") or {}
    if place.get("text") or location:
        where = place.get("text") or ""
        if location:
            where += f" ({location.get('latitude')}, {location.get('longitude')})"
        out.append(fact("place", where.strip()))
    return out


def _decisions(hazard: dict, people: dict[str, str]) -> list:
    """Every transition of its history, with who took it and what they gave."""
    labels = text()["labels"]
    out = []
    for e in hazard.get("history") or ():
        who = people.get(str(e.get("by")), labels["system"] if e.get("role") == "system" else "")
        said = [e[k] for k in ("reason", "note", "order_number") if e.get(k)]
        if e.get("escalation"):
            said.append(name("escalations", e["escalation"]))
        if e.get("level_before"):
            said.append(f"{name('levels', e['level_before'])} → {name('levels', e['level'])}")
        if e.get("deadline"):
            said.append(f"{labels['deadline']} {sections.when(e['deadline'])}")
        moved = f"{name('states', e.get('from'))} → {name('states', e['to'])}"
        detail = f"；{'；'.join(str(s) for s in said)}" if said else ""
        role = f"（{e['role']}）" if e.get("role") else ""
        out.append(
            sections.line(
                f"{sections.when(e['at'])}　{name('actions', e['action'])}　{moved}　"
                f"{who}{role}{detail}"
            )
        )
    application = hazard.get("closeout_application")
    if application:
        out.append(
            sections.fact(
                "application",
                f"{application['text']}（{people.get(str(application.get('by')), '')}，"
                f"{sections.when(application['at'])}）",
            )
        )
    penalty = hazard.get("penalty")
    if penalty:
        persons = "；".join(penalty.get("persons") or ())
        out.append(sections.fact("penalty", f"{penalty.get('firm', '')}；{persons}"))
    return out or [sections.line(labels["none"])]


def _reinspection(hazard: dict, people: dict[str, str]) -> list:
    visit = hazard.get("reinspection")
    if not visit:
        return [sections.line(text()["labels"]["none"])]
    out = [
        sections.fact("reinspected_by", people.get(str(visit.get("by")), "")),
        sections.fact("reinspected_at", sections.when(visit.get("at"))),
    ]
    if visit.get("note"):
        out.append(sections.fact("note", visit["note"]))
    location = visit.get("location") or {}
    if location:
        out.append(sections.fact("gps", f"{location.get('latitude')}, {location.get('longitude')}"))
    if visit.get("label"):
        out.append(sections.line(text()["labels"]["label_scanned"]))
    return out
