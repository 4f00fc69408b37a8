"""An order over the API, end to end: issued on site, numbered and rendered by its jobs; the
PDF's text (pdftotext) names the enterprise, the number, both inspectors and the hazards in
Chinese; its QR (pdftoppm, zxing-cpp) opens the public check page, which shows the number,
enterprise, date and status and nothing else; service starts the hazards' deadlines."""

from __future__ import annotations

import base64
import io
import subprocess
from datetime import UTC, datetime
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

import pytest
import zxingcpp
from PIL import Image

from server.models.audit_event import AuditEvent
from server.models.hazard import Hazard
from server.models.timer import Timer
from server.services.hazards.register import finding_id
from tests.hazards.helpers import (
    GENERAL,
    MAJOR_TO_CONFIRM,
    failing_answers,
    make_issuing_world,
    submit_inspection,
)

CHINA = ZoneInfo("Asia/Shanghai")
ITEMS = [
    {"item_code": MAJOR_TO_CONFIRM, "term_days": 10, "measures": "立即设专人监护"},
    {"item_code": GENERAL, "term_days": 5, "measures": "组织监护人员培训"},
]


@pytest.fixture
def world(client, auth_headers, published, job_settings):
    found = make_issuing_world(client, auth_headers)
    found["inspection"] = submit_inspection(found, failing_answers(MAJOR_TO_CONFIRM, GENERAL))
    found["headers"] = {
        who: auth_headers(found[who]) for who in ("inspector", "co_inspector", "manager")
    }
    return found


def _issue(client, world):
    body = {
        "inspection_id": world["inspection"],
        "co_inspector_id": str(world["co_inspector"].id),
        "items": ITEMS,
    }
    return client.post("/api/v1/orders", json=body, headers=world["headers"]["inspector"])


def _signature() -> str:
    image = Image.new("L", (120, 40), 255)
    image.paste(0, (10, 18, 110, 22))
    out = io.BytesIO()
    image.save(out, "PNG")
    return base64.b64encode(out.getvalue()).decode()


def test_the_pdf_names_everyone_and_its_qr_opens_the_check_page(client, world, jobs, tmp_path):
    issued = _issue(client, world)
    assert issued.status_code == 202, issued.get_json()
    order_id = issued.get_json()["id"]
    manager = world["headers"]["manager"]
    assert client.get(f"/api/v1/orders/{order_id}", headers=manager).status_code == 404
    jobs()
    order = client.get(f"/api/v1/orders/{order_id}", headers=manager).get_json()
    assert order["number"] == "（区）应急责改〔2026〕第1号"
    pdf = client.get(f"/api/v1/orders/{order_id}/pdf", headers=manager)
    assert pdf.mimetype == "application/pdf"
    path = tmp_path / "order.pdf"
    path.write_bytes(pdf.data)
    lines = subprocess.run(
        ["pdftotext", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout
    text = "".join(lines.split())  # lines wrap anywhere in Chinese
    hazards = Hazard.objects(id__in=order["hazard_ids"])
    for wanted in (
        "责令限期整改指令书",
        "上海申华化工有限公司",
        "（区）应急责改〔2026〕第1号",
        "李明",
        "执法证号：31010012",
        "王芳",
        "执法证号：31010034",
        "立即设专人监护",
        "（重大事故隐患）",
        "上海市浦东新区人民政府申请行政复议",
        *("".join(h.description.split()) for h in hazards),
    ):
        assert wanted in text, wanted
    # The QR, read from the rendered page, opens the check page.
    subprocess.run(["pdftoppm", "-r", "150", "-png", str(path), str(tmp_path / "p")], check=True)
    pages = sorted(tmp_path.glob("p-*.png"))
    found = [r.text for r in zxingcpp.read_barcodes(Image.open(pages[0]))]
    assert len(found) == 1
    url = urlparse(found[0])
    assert url.path == f"/o/{order['check_token']}"
    page = client.get(url.path)
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    for wanted in ("（区）应急责改〔2026〕第1号", "上海申华化工有限公司", "2026年", "已签发"):
        assert wanted in html
    for hidden in ("李明", "31010012", "监护", order_id):
        assert hidden not in html
    assert client.get("/o/" + "x" * 24).status_code == 404
    # Rendered once, its hash in the audit log.
    jobs()
    [rendered] = AuditEvent.objects(action="order.render")
    assert rendered.photos == [order["pdf"]["sha256"]]


def test_service_starts_each_hazards_deadline_from_the_day_after(client, world, jobs):
    order_id = _issue(client, world).get_json()["id"]
    jobs()
    url = f"/api/v1/orders/{order_id}/service"
    missing = client.post(url, json={"kind": "signed"}, headers=world["headers"]["inspector"])
    assert missing.status_code == 422
    assert {r.get("field") for r in missing.get_json()["reasons"]} == {
        "signature",
        "representative",
    }
    # The enterprise does not record a signature; it may acknowledge in the app.
    as_firm = client.post(url, json={"kind": "signed"}, headers=world["headers"]["manager"])
    assert as_firm.status_code == 403
    body = {"kind": "signed", "signature": _signature(), "representative": "赵强"}
    served = client.post(url, json=body, headers=world["headers"]["co_inspector"])
    assert served.status_code == 200, served.get_json()
    order = served.get_json()
    assert order["state"] == "served" and len(order["service"]["signature"]) == 64
    at = datetime.fromisoformat(order["service"]["at"].replace("Z", "+00:00"))
    day = at.astimezone(CHINA).date()
    for item in ITEMS:
        hazard = Hazard.objects.get(id=finding_id(world["inspection"], item["item_code"]))
        assert hazard.state == "issued"
        deadline = hazard.deadline.replace(tzinfo=UTC).astimezone(CHINA)
        assert deadline.time().hour == 0
        assert (deadline.date() - day).days == item["term_days"] + 1  # 24:00 of the last day
        assert hazard.history[-1]["order_number"] == "（区）应急责改〔2026〕第1号"
        # The deadline the service set is on the hazard's timers (overdue at it, reminders).
        due = {t.due_at for t in Timer.objects(id__startswith=f"hazard:{hazard.id}:")}
        assert hazard.deadline in due
    again = client.post(url, json={"kind": "acknowledged"}, headers=world["headers"]["manager"])
    assert again.status_code == 409
    jobs()
    [event] = AuditEvent.objects(action="order.serve")
    assert event.photos == [order["service"]["signature"]]


def test_a_numbered_order_is_corrected_only_by_a_new_numbered_order(client, world, jobs):
    first = _issue(client, world).get_json()["id"]
    jobs()
    body = {
        "inspection_id": world["inspection"],
        "co_inspector_id": str(world["co_inspector"].id),
        "items": [{"item_code": GENERAL, "term_days": 7, "measures": "组织培训并考核"}],
        "supersedes": first,
    }
    headers = world["headers"]["inspector"]
    second = client.post("/api/v1/orders", json=body, headers=headers)
    assert second.status_code == 202, second.get_json()
    jobs()
    new = client.get(f"/api/v1/orders/{second.get_json()['id']}", headers=headers).get_json()
    old = client.get(f"/api/v1/orders/{first}", headers=headers).get_json()
    assert new["number"] == "（区）应急责改〔2026〕第2号" and new["supersedes"] == first
    assert old["superseded_by"] == new["id"] and old["number"].endswith("第1号")
    again = client.post(
        "/api/v1/orders", json={**body, "items": body["items"][:1]}, headers=headers
    )
    assert again.get_json()["id"] == new["id"]  # the same request: the same order
    body["items"] = [{"item_code": MAJOR_TO_CONFIRM, "term_days": 3, "measures": "x"}]
    twice = client.post("/api/v1/orders", json=body, headers=headers)
    assert twice.status_code == 422
    assert [r["code"] for r in twice.get_json()["reasons"]] == ["SUPERSEDED"]
    check = client.get("/o/" + old["check_token"]).get_data(as_text=True)
    assert "已由新指令书更正" in check


def test_the_field_record_lists_each_item_and_the_problems_found(client, world, tmp_path):
    url = f"/api/v1/inspections/{world['inspection']}/field-record.pdf"
    record = client.get(url, headers=world["headers"]["inspector"])
    assert record.status_code == 200 and record.mimetype == "application/pdf"
    path = tmp_path / "record.pdf"
    path.write_bytes(record.data)
    lines = subprocess.run(
        ["pdftotext", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout
    text = "".join(lines.split())
    for wanted in (
        "现场检查记录",
        "上海申华化工有限公司",
        "李明（执法证号：31010012）",
        f"[{GENERAL}]",
        "：不符合（现场未见）",
        "：符合",
        "被检查单位负责人（签名）：",
        "拒绝签名",
    ):
        assert wanted in text, wanted
    assert text.count("：不符合") == 2
    other = client.get(url, headers=world["headers"]["co_inspector"])
    assert other.status_code == 404  # not their inspection


def test_a_served_correcting_order_runs_the_deadline_from_its_own_service(client, world, jobs):
    first = _issue(client, world).get_json()["id"]
    jobs()
    ack = {"kind": "acknowledged"}
    headers = world["headers"]
    served = client.post(f"/api/v1/orders/{first}/service", json=ack, headers=headers["manager"])
    assert served.status_code == 200, served.get_json()
    hazard_id = finding_id(world["inspection"], GENERAL)
    before = Hazard.objects.get(id=hazard_id)
    acknowledged = client.post(
        f"/api/v1/hazards/{hazard_id}/transitions",
        json={"action": "acknowledge", "version": before.version},
        headers=headers["manager"],
    )
    assert acknowledged.status_code == 200, acknowledged.get_json()
    body = {
        "inspection_id": world["inspection"],
        "co_inspector_id": str(world["co_inspector"].id),
        "items": [{"item_code": GENERAL, "term_days": 20, "measures": "组织培训并考核"}],
        "supersedes": first,
    }
    second = client.post("/api/v1/orders", json=body, headers=headers["inspector"])
    assert second.status_code == 202, second.get_json()
    jobs()
    # Until it is served the firm still works to the first order.
    assert Hazard.objects.get(id=hazard_id).deadline == before.deadline
    url = f"/api/v1/orders/{second.get_json()['id']}/service"
    for _ in range(2):  # a retried service reissues once
        again = client.post(url, json=ack, headers=headers["manager"])
    assert again.status_code == 200, again.get_json()
    at = datetime.fromisoformat(again.get_json()["service"]["at"].replace("Z", "+00:00"))
    hazard = Hazard.objects.get(id=hazard_id)
    assert hazard.state == "issued"  # the firm acknowledges the correcting order afresh
    deadline = hazard.deadline.replace(tzinfo=UTC).astimezone(CHINA)
    assert (deadline.date() - at.astimezone(CHINA).date()).days == 21
    assert [h["action"] for h in hazard.history].count("reissue") == 1
    assert hazard.history[-1]["order_number"] == "（区）应急责改〔2026〕第2号"
    due = {
        t.due_at for t in Timer.objects(id__startswith=f"hazard:{hazard.id}:", state="scheduled")
    }
    assert hazard.deadline in due and before.deadline not in due
