"""The on-site inspection record (现场检查记录) of a submitted inspection as a PDF: the firm,
the time, the inspector, each item checked with its result, the problems found, and the
signature lines (a refusal to sign is noted on it). Rendered on request by media.documents;
the wording is server/services/hazards/data/field_record.yaml."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml

from checklists.regime import Conditions
from checklists.versions import pinned_template
from media import documents
from server.actor import Actor
from server.errors import NotFound, RuleViolation
from server.models.enterprise import Enterprise
from server.models.inspection import Inspection, Status
from server.models.user import User
from server.services.hazards.order_document import chinese_date

TEXT_FILE = Path(__file__).resolve().parent / "data" / "field_record.yaml"


@cache
def text() -> dict:
    return yaml.safe_load(TEXT_FILE.read_text(encoding="utf-8"))


def document(actor: Actor, inspection_id: str) -> documents.Document:
    """The record of an inspection the actor may read, once submitted."""
    raw = Inspection._get_collection().find_one({"_id": str(inspection_id)})
    if not Inspection.audience.allows(actor, raw):
        raise NotFound(f"inspection {inspection_id} not found")
    if raw.get("status") not in Status.FINDINGS:
        raise RuleViolation(
            "a field record is made of a submitted inspection",
            reasons=[{"code": "NOT_SUBMITTED"}],
        )
    words, labels = text(), text()["labels"]
    firm = Enterprise._get_collection().find_one({"_id": raw["enterprise_id"]}) or {}
    inspector = User.objects(id=raw["inspector_id"]).first()
    template = pinned_template(raw["checklist_code"], raw["checklist_version"])
    conditions = Conditions.from_dict(raw.get("judged_under"))
    when = raw.get("submitted_at") or raw["received_at"]
    who = inspector.display_name if inspector else ""
    if inspector and inspector.enforcement_certificate:
        who += f"（{labels['certificate']}：{inspector.enforcement_certificate}）"
    blocks = [
        documents.Block(f"{labels['enterprise']}：{firm.get('name', '')}", align="L"),
        documents.Block(f"{labels['address']}：{firm.get('address', '')}", align="L"),
        documents.Block(f"{labels['time']}：{chinese_date(when)}", align="L"),
        documents.Block(f"{labels['checklist']}：{template.title.get('zh-CN')}", align="L"),
        documents.Block(f"{labels['inspector']}：{who}", align="L"),
        documents.Block(labels["findings"] + "：", before=4, align="L"),
    ]
    problems = []
    answers = raw.get("answers") or {}
    for n, item in enumerate(template.items, 1):
        answer = answers.get(item.code)
        if answer is None:
            continue
        shown = item.for_regime(conditions.regime) if conditions.regime else item
        outcome = words["outcomes"].get(answer.get("outcome"), answer.get("outcome") or "")
        note = f"（{answer['note']}）" if answer.get("note") else ""
        line = f"{n}. [{item.code}] {shown.text.get('zh-CN')}：{outcome}{note}"
        blocks.append(documents.Block(line, size=10, indent=4))
        if answer.get("outcome") == "fail":
            problems.append(f"{shown.text.get('zh-CN')}{note}")
    blocks.append(documents.Block(labels["problems"] + "：", before=4, align="L"))
    blocks += [documents.Block(f"{i}. {p}", indent=4) for i, p in enumerate(problems, 1)] or [
        documents.Block(labels["none"], indent=4)
    ]
    blocks += [
        documents.Block(words["inspector_signature"], before=8, align="L"),
        documents.Block(words["enterprise_signature"], before=8, align="L"),
        documents.Block(words["refusal_note"], size=9, before=2, align="L"),
    ]
    return documents.Document(
        title=words["title"],
        number=f"{raw['checklist_code']}-{str(raw['_id'])[:8]}",
        blocks=tuple(blocks),
        date=when,
        subject=str(raw["_id"]),
    )
