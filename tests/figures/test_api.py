"""`/api/v1/figures`, the monthly self-inspection reports and the monthly ledger over HTTP:
scoping by role, a report once per enterprise and month (a nil return too) and audited, the
ledger as CSV and XLSX naming who did not report, and a real transition reaching the figures
through the feed's jobs."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from mongoengine.connection import get_db
from openpyxl import load_workbook

from server.actor import Role
from server.clock import utcnow
from server.jobs.figures import follow_figures
from server.models.hazard import Hazard
from server.services.figures.contribution import month_of
from server.services.hazards import lifecycle
from sync import figures as follower
from sync import sequencer
from tests.audit.helpers import actions
from tests.factories import (
    EnterpriseFactory,
    JurisdictionFactory,
    UserFactory,
    enterprise_user,
    regulator,
)


@pytest.fixture
def place(db):
    j1, j2 = JurisdictionFactory(), JurisdictionFactory()
    a = EnterpriseFactory(jurisdiction_id=j1.id, name="甲公司")
    b = EnterpriseFactory(jurisdiction_id=j1.id, name="乙公司")
    c = EnterpriseFactory(jurisdiction_id=j2.id, name="丙公司")
    return {
        "j1": j1,
        "j2": j2,
        "a": a,
        "b": b,
        "c": c,
        "admin": UserFactory(role=Role.ADMIN.value),
        "supervisor": regulator(Role.SUPERVISOR, j1),
        "inspector": regulator(Role.INSPECTOR, j1),
        "manager_a": enterprise_user(Role.ENTERPRISE_MANAGER, a),
        "manager_c": enterprise_user(Role.ENTERPRISE_MANAGER, c),
        "worker_a": enterprise_user(Role.WORKER, a),
    }


def _hazard(enterprise, state="issued", **extra) -> Hazard:
    return Hazard(
        id=str(uuid.uuid4()),
        source="manual",
        enterprise_id=enterprise.id,
        jurisdiction_id=enterprise.jurisdiction_id,
        description="消防通道堵塞",
        level="general",
        state=state,
        checklist_code="HW",
        **extra,
    ).save()


@pytest.mark.parametrize(
    "who,query,status,hazards",
    [
        ("admin", "", 200, 3),
        ("admin", "?jurisdiction_id={j2}", 200, 1),
        ("supervisor", "", 200, 2),
        ("supervisor", "?enterprise_id={b}", 200, 1),
        ("supervisor", "?enterprise_id={c}", 404, None),
        ("supervisor", "?jurisdiction_id={j2}", 404, None),
        ("manager_a", "", 200, 1),
        ("manager_a", "?enterprise_id={b}", 404, None),
        ("manager_c", "", 200, 1),
        ("inspector", "", 403, None),
        ("worker_a", "", 403, None),
    ],
)
def test_figures_are_scoped_by_role(client, auth_headers, place, who, query, status, hazards):
    for firm in ("a", "b", "c"):
        _hazard(place[firm])
    follower.follow(sequencer_ran(client))
    url = "/api/v1/figures" + query.format(**{k: getattr(v, "id", v) for k, v in place.items()})
    response = client.get(url, headers=auth_headers(place[who]))
    assert response.status_code == status, response.get_json()
    if status == 200:
        assert response.get_json()["hazards"]["hazards"] == hazards
    else:
        assert response.mimetype == "application/problem+json"


def sequencer_ran(client):
    db = get_db()
    sequencer.sequence_pending(db)
    return db


def test_a_transition_reaches_the_figures_through_the_feed_job(client, auth_headers, place):
    hazard = _hazard(place["a"], deadline=utcnow() + timedelta(days=5))
    headers = auth_headers(place["supervisor"])
    follower.follow(sequencer_ran(client))
    before = client.get("/api/v1/figures", headers=headers).get_json()["hazards"]
    assert (before["open"], before["overdue"]) == (1, 0)
    lifecycle.take(None, hazard.id, "mark_overdue", {}, now=utcnow())
    assert follow_figures()["counted"] == 1
    after = client.get("/api/v1/figures", headers=headers).get_json()
    assert (after["hazards"]["open"], after["hazards"]["overdue"]) == (1, 1)
    assert after["current"]["behind"] == 0
    assert [r["key"] for r in after["by_campaign"]] == ["HW"]


def test_a_month_is_reported_once_and_a_nil_return_counts(client, auth_headers, place, db, jobs):
    headers = auth_headers(place["manager_a"])
    month = month_of(utcnow())
    nil = {"month": month, "hazards_found": 0, "hazards_rectified": 0}
    first = client.post("/api/v1/monthly-reports", json=nil, headers=headers)
    assert first.status_code == 201, first.get_json()
    assert first.get_json()["nil"] is True
    again = client.post("/api/v1/monthly-reports", json=nil, headers=headers)
    assert again.status_code == 200
    assert again.get_json() == first.get_json()
    other = {**nil, "hazards_found": 2, "hazards_rectified": 1}
    conflict = client.post("/api/v1/monthly-reports", json=other, headers=headers)
    assert conflict.status_code == 409
    assert conflict.get_json()["type"] == "/problems/conflict"
    jobs()  # the audit jobs on the real Redis: the retry's event has the same key
    assert actions(db, str(place["j1"].id)).count("monthly_report.submit") == 1


@pytest.mark.parametrize(
    "body,code",
    [
        ({"month": "2999-01", "hazards_found": 0, "hazards_rectified": 0}, "MONTH_AHEAD"),
        (
            {"month": "2026-01", "hazards_found": 1, "hazards_rectified": 2},
            "MORE_RECTIFIED_THAN_FOUND",
        ),
    ],
)
def test_a_report_breaking_a_rule_is_refused(client, auth_headers, place, body, code):
    response = client.post(
        "/api/v1/monthly-reports", json=body, headers=auth_headers(place["manager_a"])
    )
    assert response.status_code == 422
    assert [r["code"] for r in response.get_json()["reasons"]] == [code]


@pytest.mark.parametrize("who", ["supervisor", "inspector", "admin"])
def test_only_an_enterprise_manager_reports(client, auth_headers, place, who):
    body = {"month": "2026-01", "hazards_found": 0, "hazards_rectified": 0}
    response = client.post("/api/v1/monthly-reports", json=body, headers=auth_headers(place[who]))
    assert response.status_code == 403


def test_reports_are_listed_in_scope(client, auth_headers, place):
    body = {"month": "2026-01", "hazards_found": 3, "hazards_rectified": 3}
    for who in ("manager_a", "manager_c"):
        client.post("/api/v1/monthly-reports", json=body, headers=auth_headers(place[who]))
    seen = {
        who: {
            r["enterprise_id"]
            for r in client.get("/api/v1/monthly-reports", headers=auth_headers(place[who])).json
        }
        for who in ("admin", "supervisor", "manager_a", "manager_c", "inspector")
    }
    a, c = str(place["a"].id), str(place["c"].id)
    assert seen == {
        "admin": {a, c},
        "supervisor": {a},
        "manager_a": {a},
        "manager_c": {c},
        "inspector": set(),
    }


def test_the_monthly_ledger_names_who_did_not_report(client, auth_headers, place):
    month = "2026-11"
    body = {"month": month, "hazards_found": 0, "hazards_rectified": 0, "note": "本月无隐患"}
    client.post("/api/v1/monthly-reports", json=body, headers=auth_headers(place["manager_a"]))
    hazard = _hazard(place["b"])
    Hazard.objects(id=hazard.id).update(set__created_at=datetime(2026, 11, 3, 2, tzinfo=UTC))
    follower.follow(sequencer_ran(client))
    headers = auth_headers(place["supervisor"])
    url = f"/api/v1/jurisdictions/{place['j1'].id}/monthly-ledger.csv?month={month}"
    response = client.get(url, headers=headers)
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    by_name = {r[0]: r for r in rows[2:] if len(r) > 7}
    assert by_name["甲公司"][2:5] == ["是", by_name["甲公司"][3], "是"]
    assert by_name["乙公司"][2] == "否" and by_name["乙公司"][7] == "1"
    missing_at = next(i for i, r in enumerate(rows) if r and r[0] == "本月未上报自查报告的单位")
    assert rows[missing_at][1] == "1"
    assert [r[0] for r in rows[missing_at + 1 :]] == ["乙公司"]

    xlsx = client.get(url.replace(".csv", ".xlsx"), headers=headers)
    assert xlsx.status_code == 200
    assert xlsx.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    book = load_workbook(io.BytesIO(xlsx.data))
    unreported = [row[0] for row in book["未上报单位"].iter_rows(min_row=3, values_only=True)]
    assert unreported == ["乙公司"]

    for who, status in (("supervisor", 200), ("admin", 200), ("manager_a", 404)):
        assert client.get(url, headers=auth_headers(place[who])).status_code == status
    other = f"/api/v1/jurisdictions/{place['j2'].id}/monthly-ledger.csv?month={month}"
    assert client.get(other, headers=headers).status_code == 404
    bad = client.get(url.replace(month, "2026-13"), headers=headers)
    assert bad.status_code == 422
    assert bad.mimetype == "application/problem+json"


def test_names_reach_the_spreadsheet_as_text(client, auth_headers, place):
    """Control characters XLSX forbids are dropped, and a name is never a formula."""
    place["j1"].update(set__name="辖区\x00\x16一")
    place["b"].update(set__name="=HYPERLINK(1)")
    url = f"/api/v1/jurisdictions/{place['j1'].id}/monthly-ledger.csv?month=2026-11"
    headers = auth_headers(place["supervisor"])
    book = load_workbook(io.BytesIO(client.get(url.replace(".csv", ".xlsx"), headers=headers).data))
    assert book["台账"]["A1"].value == "辖区一 2026-11 隐患排查治理台账"
    names = [row[0] for row in book["台账"].iter_rows(min_row=3, values_only=True)]
    assert "'=HYPERLINK(1)" in names
    text = client.get(url, headers=headers).data.decode("utf-8-sig")
    assert "'=HYPERLINK(1)" in text and "\x00" not in text
