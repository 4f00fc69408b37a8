"""The review site's figures page: the supervisor's jurisdiction drawn as inline SVG charts
(no script), zh-CN first and en, the month's missing reports named; refused to inspectors; and
one screenshot through Debian's headless Chromium (slow), kept as
.artifacts/screenshots/review/figures.png."""

from __future__ import annotations

import re
import uuid

import pytest
from mongoengine.connection import get_db

from server.actor import Role
from server.models.hazard import Hazard
from sync import figures as follower
from sync import sequencer
from tests.factories import PASSWORD, EnterpriseFactory, JurisdictionFactory, regulator
from tests.web.browser import SCREENSHOTS, chromium, served
from tests.web.pages import log_in

SHOTS = SCREENSHOTS / "review"


@pytest.fixture
def jurisdiction(client):
    j = JurisdictionFactory()
    firms = [EnterpriseFactory(jurisdiction_id=j.id, name=n) for n in ("甲化工", "乙机械")]
    for i, (state, level, campaign) in enumerate(
        [
            ("issued", "general", "CS"),
            ("overdue", "major", "CS"),
            ("closed", "general", "HW"),
            ("overdue", "general", None),
        ]
    ):
        Hazard(
            id=str(uuid.uuid4()),
            source="manual",
            enterprise_id=firms[i % 2].id,
            jurisdiction_id=j.id,
            description="隐患",
            level=level,
            state=state,
            checklist_code=campaign,
        ).save()
    db = get_db()
    sequencer.sequence_pending(db)
    follower.follow(db)  # the page reads what the follower counted
    return {"j": j, "firms": firms, "supervisor": regulator(Role.SUPERVISOR, j)}


def test_the_supervisor_sees_the_figures_as_charts(client, jurisdiction):
    log_in(client, jurisdiction["supervisor"], "/review/figures")
    page = client.get("/review/figures")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<script" not in html
    for chart in ("chart-levels", "chart-campaigns", "chart-enterprises", "chart-inspectors"):
        assert f'<svg xmlns="http://www.w3.org/2000/svg" id="{chart}"' in html
    assert re.search(r'id="n-hazards">4<', html) and re.search(r'id="n-overdue">2<', html)
    assert "逾期未整改" in html and "企业自查及其他" in html
    # Nobody reported this month yet (reports come over the API): both firms are named.
    missing = re.search(r'<ul id="not-reported">(.*?)</ul>', html, re.S).group(1)
    assert "甲化工" in missing and "乙机械" in missing
    english = client.get("/review/figures?lang=en").get_data(as_text=True)
    assert "Hazard figures" in english and "Overdue" in english


def test_an_inspector_is_refused_the_figures_page(client, jurisdiction):
    inspector = regulator(Role.INSPECTOR, jurisdiction["j"])
    log_in(client, inspector, "/review/figures")
    refused = client.get("/review/figures")
    assert refused.status_code == 403
    assert refused.mimetype == "text/html"


@pytest.mark.slow
def test_a_screenshot_of_the_figures_page(app, client, jurisdiction):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.wait import WebDriverWait

    with served(app) as base, chromium(size=(1200, 1800)) as driver:
        driver.get(base + "/review/figures")
        driver.find_element(By.ID, "username").send_keys(jurisdiction["supervisor"].username)
        driver.find_element(By.ID, "password").send_keys(PASSWORD)
        driver.find_element(By.ID, "login").click()
        # The page after the login, once it has loaded (the click only sends the form).
        chart = WebDriverWait(driver, 20).until(lambda d: d.find_elements(By.ID, "chart-levels"))[0]
        assert chart.size["width"] > 300
        SHOTS.mkdir(parents=True, exist_ok=True)
        shot = SHOTS / "figures.png"
        shot.unlink(missing_ok=True)
        driver.save_screenshot(str(shot))
        assert shot.stat().st_size > 10_000
