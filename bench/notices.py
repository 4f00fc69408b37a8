"""Orders to rectify (notices): how many orders a process issues per second end to end —
request, numbering job, PDF rendering job and their audit appends, run from the outbox as a
worker runs them — and how much of that time rendering the PDF takes.

`notice_issue_ratio` compares issuing N orders with rendering the same N PDFs alone: what the
orders add around the rendering (counters, snapshots, blob store, audit, outbox) must stay
under half of it. Inspections are written as a submission leaves them (failed items judged),
so the orders' hazards are registered by the numbering job, as when an inspector issues the
order with the submission.
"""

from __future__ import annotations

import sys
import time
import uuid

from mongoengine.connection import get_db

from bench.common import bench_settings, target
from checklists.loader import load_editions
from checklists.template import AnswerType
from checklists.versions import pinned_template, publish_editions
from media import documents
from media.label_print import Font
from server.actor import Role
from server.clock import utcnow
from server.db import connect_mongo, ensure_indexes
from server.jobs import context
from server.jobs.outbox import run_entry
from server.models import DOCUMENTS
from server.models.enterprise import Enterprise
from server.models.issuing_body import IssuingBody
from server.models.jurisdiction import Jurisdiction
from server.models.order import Order
from server.models.outbox_entry import PENDING, READY, OutboxEntry
from server.models.user import User
from server.services import outbox
from server.services.hazards import issuing, order_document, orders
from server.services.passwords import hash_password
from server.wiring import register_jobs

#: Orders per run, each for two failed items of its own inspection.
#: Orders issued before the timed run.
WARM_UP = 4
ORDERS = 40
ITEMS_PER_ORDER = 2


def _user(username: str, name: str, role: Role, jurisdiction, certificate=None) -> User:
    return (
        User.objects(username=username).first()
        or User(
            username=username,
            display_name=name,
            role=role.value,
            jurisdiction_id=jurisdiction.id,
            enforcement_certificate=certificate,
            password_hash=hash_password("bench-password", "CHEAPEST"),
        ).save()
    )


def setup():
    settings = bench_settings()
    connect_mongo(settings)
    ensure_indexes(DOCUMENTS)
    context.configure(settings)
    register_jobs()
    outbox.configure_dispatch(None)  # entries are run here, from the outbox, one by one
    publish_editions(load_editions(), now=utcnow())
    j = (
        Jurisdiction.objects(code="319998").first()
        or Jurisdiction(code="319998", name="基准辖区").save()
    )
    firm = (
        Enterprise.objects(credit_code="91310000BENCH0002X").first()
        or Enterprise(
            name="上海申华化工有限公司",
            credit_code="91310000BENCH0002X",
            industry="化工",
            address="上海市",
            jurisdiction_id=j.id,
        ).save()
    )
    inspector = _user("bench-notices-a", "李明", Role.INSPECTOR, j, "31010012")
    co = _user("bench-notices-b", "王芳", Role.INSPECTOR, j, "31010034")
    body = IssuingBody.objects(jurisdiction_id=j.id).first()
    if body is None:
        admin = _user("bench-notices-admin", "管理员", Role.ADMIN, j)
        admin.update(unset__jurisdiction_id=True)
        body = issuing.create(
            admin.reload().actor(),
            now=utcnow(),
            jurisdiction_id=j.id,
            name="基准区应急管理局",
            number_format="（区）应急责改〔{year}〕第{n}号",
            reconsideration_body="基准区人民政府",
            court="基准区人民法院",
        )
    return settings, firm, inspector, co


def _inspection(firm, inspector, codes) -> str:
    """An inspection as its submission leaves it, with `codes` failed (general)."""
    template = pinned_template("CS", 2)
    answers = {
        item.code: {"value": "yes", "outcome": "pass"}
        for item in template.items
        if item.answer is AnswerType.YES_NO_NA
    }
    for code in codes:
        answers[code] = {"value": "no", "outcome": "fail", "severity": "general", "photos": []}
    inspection_id = str(uuid.uuid4())
    get_db()["inspections"].insert_one(
        {
            "_id": inspection_id,
            "status": "submitted",
            "enterprise_id": firm.id,
            "jurisdiction_id": firm.jurisdiction_id,
            "inspector_id": inspector.id,
            "checklist_code": "CS",
            "checklist_version": 2,
            "answers": answers,
            "sync_seq": None,
            "sync_rev": 1,
        }
    )
    return inspection_id


def _drain() -> None:
    """Run every ready or witnessed entry, as workers would, until none is left."""
    while True:
        todo = [
            e["_id"]
            for e in OutboxEntry._get_collection().find(
                {"state": {"$in": [READY, PENDING]}}, {"_id": 1}
            )
        ]
        ran = [run_entry(entry_id) for entry_id in todo]
        if not any(r is not None for r in ran):
            return


def issue(firm, inspector, co, count: int = ORDERS) -> tuple[float, list[str]]:
    codes = [i.code for i in pinned_template("CS", 2).items if i.answer is AnswerType.YES_NO_NA]
    inspections = [_inspection(firm, inspector, codes[:ITEMS_PER_ORDER]) for _ in range(count)]
    _drain()  # what earlier runs and the setup left
    started = time.perf_counter()
    made = [
        orders.request(
            inspector.actor(),
            inspection_id,
            items=[
                {"item_code": c, "term_days": 10, "measures": "立即整改"}
                for c in codes[:ITEMS_PER_ORDER]
            ],
            co_inspector_id=co.id,
            now=utcnow(),
        )["id"]
        for inspection_id in inspections
    ]
    _drain()
    return time.perf_counter() - started, made


def render_alone(settings, made: list[str]) -> float:
    font = Font(settings.watermark_font, settings.watermark_font_index)
    found = list(Order._get_collection().find({"_id": {"$in": made}}))
    bodies = {b.id: b for b in IssuingBody.objects(id__in=[o["issuing_body_id"] for o in found])}
    started = time.perf_counter()
    for order in found:
        built = order_document.build(
            order,
            bodies[order["issuing_body_id"]],
            orders.enterprise_name(order),
            public_url=settings.public_url,
        )
        documents.render(built, font)
    return time.perf_counter() - started


def main() -> int:
    settings, firm, inspector, co = setup()
    # Warm-up, as the other parts do: the font file in the page cache, code paths, the
    # server's JIT; its orders take the first numbers and are not counted.
    issue(firm, inspector, co, count=WARM_UP)
    issuing_s, made = issue(firm, inspector, co)
    numbered = Order.objects(id__in=made, state="issued", pdf__ne=None).count()
    rendering_s = render_alone(settings, made)
    print(f"{numbered}/{ORDERS} orders numbered and rendered in {issuing_s:.2f} s")
    print(f"orders issued per second: {ORDERS / issuing_s:.1f}")
    print(f"rendering the same PDFs alone: {rendering_s:.2f} s")
    print(f"share of issuing time spent rendering: {rendering_s / issuing_s:.0%}")
    ok = numbered == ORDERS
    ok &= target("notice_issue_ratio", issuing_s / rendering_s, "<=", 1.5)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
