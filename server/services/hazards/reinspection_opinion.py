"""The re-inspection opinion (整改复查意见书) of an order to rectify as a PDF: it cites the
order's number and date and says, item by item, what the re-inspection found — rectified and
closed, not yet rectified, or not yet re-inspected. Rendered on request by media.documents once
an item of the order was re-inspected; the wording is
server/services/hazards/data/reinspection_opinion.yaml."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml

from media import documents
from server.actor import Actor
from server.errors import RuleViolation
from server.models.hazard import Hazard
from server.models.issuing_body import IssuingBody
from server.services.hazards import orders, states
from server.services.hazards.order_document import chinese_date

TEXT_FILE = Path(__file__).resolve().parent / "data" / "reinspection_opinion.yaml"


@cache
def text() -> dict:
    return yaml.safe_load(TEXT_FILE.read_text(encoding="utf-8"))


def document(actor: Actor, order_id: str) -> documents.Document:
    """The opinion on an order the actor may read, once one of its items was re-inspected."""
    order = orders.read(actor, order_id)  # NotFound outside the caller's scope
    hazards = {
        h["_id"]: h
        for h in Hazard._get_collection().find(
            {"_id": {"$in": order["hazard_ids"]}}, {"state": 1, "reinspection": 1}
        )
    }
    visits = [h["reinspection"] for h in hazards.values() if h.get("reinspection")]
    if order.get("number") is None or not visits:
        raise RuleViolation(
            "a re-inspection opinion follows a re-inspection of the order's hazards",
            reasons=[{"code": "NOT_REINSPECTED"}],
        )
    words, labels = text(), text()["labels"]
    body = IssuingBody.objects(id=order["issuing_body_id"]).first()
    issued = chinese_date(order["issued_at"])
    blocks = [
        documents.Block(
            orders.enterprise_name(order) + words["addressee_suffix"], size=12, align="L"
        ),
        documents.Block(words["intro"].format(date=issued, number=order["number"]), indent=8),
    ]
    for n, item in enumerate(order["items"], 1):
        hazard = hazards.get(item["hazard_id"]) or {}
        visit = hazard.get("reinspection")
        if hazard.get("state") == states.CLOSED and visit:
            outcome = words["outcomes"]["closed"].format(date=chinese_date(visit["at"]))
        elif visit:
            outcome = words["outcomes"]["reinspected"].format(date=chinese_date(visit["at"]))
        else:
            outcome = words["outcomes"]["pending"]
        blocks.append(documents.Block(f"{n}. {item['description']}", before=3))
        blocks.append(documents.Block(f"{labels['measures']}：{item['measures']}", indent=6))
        if visit and visit.get("note"):
            blocks.append(documents.Block(f"{labels['note']}：{visit['note']}", indent=6))
        blocks.append(documents.Block(outcome, indent=6))
    blocks.append(documents.Block(words["inspectors_label"] + "：", before=6, align="L"))
    for inspector in order["inspectors"]:
        line = f"{inspector['name']}　　{words['certificate_label']}：{inspector['certificate']}"
        blocks.append(documents.Block(line, indent=8, align="L"))
    last = max(v["at"] for v in visits)
    blocks += [
        documents.Block(words["enterprise_signature_label"] + "：", before=6, align="L"),
        documents.Block(body.name if body else "", before=8, align="R"),
        documents.Block(chinese_date(last), align="R"),
        documents.Block(words["copies_note"], size=9, before=6, align="L"),
    ]
    return documents.Document(
        title=words["title"],
        number=order["number"],
        blocks=tuple(blocks),
        date=last,
        author=body.name if body else "",
        subject=order["number"],
    )
