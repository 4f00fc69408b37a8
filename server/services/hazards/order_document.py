"""The order to rectify as a document (media.documents): the wording of
server/services/hazards/data/order.yaml filled with an order, its issuing body and enterprise,
and a QR that opens the order's public check page."""

from __future__ import annotations

from datetime import datetime

from media import documents
from server.models.issuing_body import IssuingBody
from server.services.hazards import order_text
from server.services.hazards.service import deadline
from server.services.hazards.timings import CHINA

#: The check page of an order: `<public url>/o/<token>` (server.web.order_check).
CHECK_PATH = "/o/"


def check_url(public_url: str, token: str) -> str:
    return public_url.rstrip("/") + CHECK_PATH + token


def chinese_date(moment: datetime) -> str:
    day = moment.astimezone(CHINA).date()
    return f"{day.year}年{day.month}月{day.day}日"


def build(order: dict, body: IssuingBody, enterprise_name: str, *, public_url: str):
    """The order's document; deadlines are dated once it is served, else run from service."""
    words = order_text.text()
    labels = words["item_labels"]
    blocks = [
        documents.Block(enterprise_name + words["addressee_suffix"], size=12, align="L"),
        documents.Block(words["findings_intro"], indent=8),
    ]
    served = (order.get("service") or {}).get("at")
    for n, item in enumerate(order["items"], 1):
        major = labels["major"] if item.get("major") else ""
        blocks.append(documents.Block(f"{n}. {item['description']}{major}", before=3))
        if item.get("place"):
            blocks.append(documents.Block(f"{labels['place']}：{item['place']}", indent=6))
        if item.get("legal_basis"):
            basis = "；".join(item["legal_basis"])
            blocks.append(documents.Block(f"{labels['legal_basis']}：{basis}", indent=6))
        blocks.append(documents.Block(f"{labels['measures']}：{item['measures']}", indent=6))
        if served:
            line = words["deadline_line"].format(
                days=item["term_days"], date=chinese_date(deadline(served, item["term_days"]))
            )
        else:
            line = words["deadline_pending"].format(days=item["term_days"])
        blocks.append(documents.Block(line, indent=6))
    remedy = words["remedy_clause"].format(
        reconsideration_body=body.reconsideration_body, court=body.court
    )
    blocks += [
        documents.Block(words["order_line"], indent=8, before=4),
        documents.Block(order.get("interim_duty") or words["interim_duty"], indent=8),
        documents.Block(remedy, indent=8),
        documents.Block(words["inspectors_label"] + "：", before=6, align="L"),
    ]
    for inspector in order["inspectors"]:
        line = f"{inspector['name']}　　{words['certificate_label']}：{inspector['certificate']}"
        blocks.append(documents.Block(line, indent=8, align="L"))
    blocks += [
        documents.Block(words["enterprise_signature_label"] + "：", before=6, align="L"),
        documents.Block(body.name, before=8, align="R"),
        documents.Block(chinese_date(order["issued_at"]), align="R"),
        documents.Block(words["copies_note"], size=9, before=6, align="L"),
    ]
    return documents.Document(
        title=words["title"],
        number=order["number"],
        blocks=tuple(blocks),
        date=order["issued_at"],
        qr=documents.Qr(check_url(public_url, order["check_token"]), words["check_caption"]),
        author=body.name,
        subject=order["number"],
    )
