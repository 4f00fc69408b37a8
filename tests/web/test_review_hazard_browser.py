"""A hazard's page in headless Chromium (Debian's chromium and chromedriver, driven by
selenium): a supervisor logs in, sees the photo's review copy, confirms the level from its form
and then finds the listing offered. The screenshot is kept as
.artifacts/screenshots/review/hazard.png."""

from __future__ import annotations

import pytest
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.wait import WebDriverWait

from tests.factories import PASSWORD
from tests.hazards.helpers import make_firm
from tests.media import helpers as media
from tests.web.browser import SCREENSHOTS, chromium, served

pytestmark = pytest.mark.slow

SHOTS = SCREENSHOTS / "review"
#: True once the page is a new, fully loaded document (the old one is marked before a click).
NEXT_PAGE = "return !window.tapped && document.readyState === 'complete'"


@pytest.fixture
def base_url(app):
    with served(app) as url:
        yield url


@pytest.fixture
def browser():
    SHOTS.mkdir(parents=True, exist_ok=True)
    with chromium(size=(1280, 1400)) as driver:
        yield driver


def _press(driver, button) -> None:
    driver.execute_script("window.tapped = true")
    button.click()
    loaded = WebDriverWait(driver, 10, ignored_exceptions=(WebDriverException,))
    loaded.until(lambda d: d.execute_script(NEXT_PAGE))


def test_a_supervisor_confirms_a_level_on_the_hazard_page(
    client, auth_headers, browser, base_url, jobs
):
    world = make_firm(client, auth_headers)
    inspector = auth_headers(world["inspector"])
    photo = media.jpeg()
    made = client.post(
        "/api/v1/hazards",
        json={
            "enterprise_id": str(world["firm"].id),
            "description": "有限空间作业未设监护人",
            "level": "major",
            "photos": [media.sha256(photo)],
        },
        headers=inspector,
    )
    hazard = made.get_json()["id"]
    meta = media.photo_metadata(photo, link_id=hazard, kind="hazard")
    assert media.upload(client, inspector, photo, meta=meta).status_code == 204
    jobs()
    url = f"/review/hazards/{hazard}"
    browser.get(base_url + url)
    browser.find_element(By.ID, "username").send_keys(world["supervisor"].username)
    browser.find_element(By.ID, "password").send_keys(PASSWORD)
    _press(browser, browser.find_element(By.ID, "login"))
    assert browser.current_url == base_url + url
    image = browser.find_element(By.CSS_SELECTOR, "#photos img")
    shown = "return arguments[0].complete && arguments[0].naturalWidth"
    assert WebDriverWait(browser, 10).until(lambda d: d.execute_script(shown, image))
    _press(browser, browser.find_element(By.CSS_SELECTOR, "#take-confirm_level button"))
    assert browser.find_elements(By.ID, "take-list"), "listing is offered once confirmed"
    assert "确认等级" in browser.find_element(By.ID, "timeline").text
    browser.save_screenshot(str(SHOTS / "hazard.png"))
