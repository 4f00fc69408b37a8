"""The worker page end to end in headless Chromium (Debian's chromium and chromedriver, driven
by selenium; no browser is downloaded) at a phone's viewport of 360x740: log in from the
label's URL, be denied with reasons, enter after a passing gas test, exit; the attendant's page
shows the alarm when the attendant checks out with an entrant inside. Screenshots of each step
are kept under .artifacts/screenshots/worker-page/ (the test prints the folder)."""

from __future__ import annotations

import shutil

import pytest
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.wait import WebDriverWait

from tests.factories import PASSWORD
from tests.spaces.site import READINGS, make_site
from tests.web.browser import SCREENSHOTS, chromium, served

# One worker runs the whole module (`make test` distributes with --dist loadgroup): its browser
# fixture empties the module's screenshot folder first, which would delete the shots another
# worker's half of the module had just taken; and one Chromium serves all its tests.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("worker-page-browser")]

SHOTS = SCREENSHOTS / "worker-page"
WIDTH, HEIGHT = 360, 740


@pytest.fixture(scope="module")
def base_url(app):
    with served(app) as url:
        yield url


@pytest.fixture(scope="module")
def browser(pytestconfig):
    """One headless Chromium for the module, emulating a phone 360 px wide."""
    # No implicit wait: each tap waits for its page (`_press`), and an absent element (a
    # decision without reasons) is an answer, not something to wait for.
    shutil.rmtree(SHOTS, ignore_errors=True)
    SHOTS.mkdir(parents=True)
    with chromium(phone=(WIDTH, HEIGHT)) as driver:
        yield driver
    # Shown with the suite's output, not captured with the test's.
    with pytestconfig.pluginmanager.getplugin("capturemanager").global_and_fixture_disabled():
        print(f"\nscreenshots of the worker page: {SHOTS}")


@pytest.fixture
def site(client, world, auth_headers):
    return make_site(client, world, auth_headers)


def _shot(driver, name: str) -> None:
    # The page must fit the phone: nothing wider than the screen.
    width = driver.execute_script("return document.documentElement.scrollWidth")
    assert width <= WIDTH, f"{name}: the page is {width}px wide"
    driver.save_screenshot(str(SHOTS / f"{name}.png"))


def _press(driver, button) -> None:
    """Tap a button and wait until its form has loaded the next page: the old document is
    marked, and the wait ends at a complete document without the mark."""
    driver.execute_script("window.tapped = true")
    button.click()
    # A script may run while the old document unloads: such errors mean "not yet".
    loaded = WebDriverWait(driver, 10, ignored_exceptions=(WebDriverException,))
    loaded.until(lambda d: d.execute_script(NEXT_PAGE))


#: True once the page is a new, fully loaded document.
NEXT_PAGE = "return !window.tapped && document.readyState === 'complete'"


def _log_in(driver, base_url, url, user) -> None:
    driver.delete_all_cookies()
    driver.get(base_url + url)
    assert driver.current_url.startswith(f"{base_url}/login?next=")
    driver.find_element(By.ID, "username").send_keys(user.username)
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    _shot(driver, f"login-{user.username}")
    _press(driver, driver.find_element(By.ID, "login"))
    assert driver.current_url == base_url + url


def _decision(driver) -> tuple[str, list[str]]:
    box = driver.find_element(By.ID, "decision")
    codes = [li.get_attribute("data-code") for li in box.find_elements(By.TAG_NAME, "li")]
    return box.find_element(By.TAG_NAME, "strong").text, codes


def test_the_worker_logs_in_is_denied_then_enters_and_exits(browser, base_url, site):
    site.ready(readings={**READINGS, "H2S": {"value": 30, "unit": "ppm"}})
    url = f"/s/{site.token}"
    _log_in(browser, base_url, url, site.users["worker"])
    assert "1号污水井" in browser.find_element(By.ID, "space").text
    assert "先通风、再检测、后作业" in browser.page_source
    _shot(browser, "1-space")

    _press(browser, browser.find_element(By.ID, "enter"))
    assert _decision(browser) == ("进入有限空间：不允许", ["GAS_FAIL"])
    assert "气体检测不合格（H2S 30 ppm）" in browser.find_element(By.ID, "reasons").text
    _shot(browser, "2-denied")

    assert site.record("gas_test", "manager", readings=READINGS).status_code == 201
    _press(browser, browser.find_element(By.ID, "enter"))
    assert _decision(browser)[0] == "进入有限空间：允许"
    _shot(browser, "3-entered")

    _press(browser, browser.find_element(By.ID, "exit"))
    assert _decision(browser)[0] == "离开有限空间：允许"
    _shot(browser, "4-exited")


def test_the_attendant_checking_out_with_an_entrant_inside_sees_the_alarm(browser, base_url, site):
    site.ready()
    assert site.scan("enter", who="contractor").get_json()["allowed"]
    url = f"/s/{site.token}"
    _log_in(browser, base_url, url, site.users["attendant"])
    roster = browser.find_element(By.ID, "roster").text
    assert "空间内人员（1 人）" in roster and "李四" in roster
    _shot(browser, "5-attendant-roster")

    _press(browser, browser.find_element(By.ID, "attendant_check_out"))
    assert _decision(browser)[0] == "监护人签退：允许"
    alarm = browser.find_element(By.ID, "alarm-1")
    assert "所有人员立即撤离" in alarm.text
    _shot(browser, "6-attendant-alarm")

    _press(browser, alarm.find_element(By.TAG_NAME, "button"))
    browser.find_element(By.ID, "space")  # the page is there, and without the alarm
    assert 'id="alarm-1"' not in browser.page_source
    _shot(browser, "7-alarm-acknowledged")
