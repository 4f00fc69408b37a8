"""The review of an inspection end to end in headless Chromium (Debian's chromium and
chromedriver, driven by selenium; no browser is downloaded): the inspector's phone pushes an
inspection and sends its photo over tus; the supervisor finds it in the queue, reads the
review copy beside its camera facts and returns an item with a reason; the phone pulls the
decision and answers with a correction; the supervisor approves the correction. Screenshots
of each step are kept under .artifacts/screenshots/review/ (the test prints the folder)."""

from __future__ import annotations

import pytest
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.wait import WebDriverWait

from tests.factories import PASSWORD
from tests.review.helpers import desk
from tests.web.browser import SCREENSHOTS, chromium, served

# One worker runs the whole module (`make test` distributes with --dist loadgroup): its browser
# fixture empties the module's screenshot folder first, which would delete the shots another
# worker's half of the module had just taken; and one Chromium serves all its tests.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("review-browser")]

SHOTS = SCREENSHOTS / "review"
#: A reviewer's desk screen.
WIDTH, HEIGHT = 1280, 900
#: Seconds a page or its images may take to load: the machine may be busy running other tests.
WAIT = 30
#: True once the page is a new, fully loaded document.
NEXT_PAGE = "return !window.tapped && document.readyState === 'complete'"


@pytest.fixture(scope="module")
def base_url(app):
    with served(app) as url:
        yield url


@pytest.fixture(scope="module")
def browser(pytestconfig):
    # Only this test's own shots: the directory holds the other review pages' too.
    SHOTS.mkdir(parents=True, exist_ok=True)
    for old in SHOTS.glob("[0-9]-*.png"):
        old.unlink()
    with chromium(size=(WIDTH, HEIGHT)) as driver:
        yield driver
    with pytestconfig.pluginmanager.getplugin("capturemanager").global_and_fixture_disabled():
        print(f"\nscreenshots of the review site: {SHOTS}")


def _shot(driver, name: str) -> None:
    """The whole page, however long: the window grows to its height for the picture."""
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(WIDTH, max(HEIGHT, min(height, 6000)))
    driver.save_screenshot(str(SHOTS / f"{name}.png"))
    driver.set_window_size(WIDTH, HEIGHT)


def _press(driver, element) -> None:
    """Click and wait until the next page has loaded (the old document is marked)."""
    driver.execute_script("window.tapped = true")
    element.click()
    loaded = WebDriverWait(driver, WAIT, ignored_exceptions=(WebDriverException,))
    loaded.until(lambda d: d.execute_script(NEXT_PAGE))


def _log_in(driver, base_url, path, user) -> None:
    driver.delete_all_cookies()
    driver.get(base_url + path)
    assert driver.current_url.startswith(f"{base_url}/login?next=")
    driver.find_element(By.ID, "username").send_keys(user.username)
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    _press(driver, driver.find_element(By.ID, "login"))
    assert driver.current_url == base_url + path


def _images_loaded(driver) -> bool:
    return driver.execute_script(
        "return [...document.images].every(i => i.complete && i.naturalWidth > 0)"
    )


def test_returned_with_a_reason_corrected_on_the_phone_then_approved(
    browser, base_url, client, auth_headers, published
):
    d = desk(client, auth_headers)
    first, sha = d.inspect()

    _log_in(browser, base_url, "/review/queue", d.supervisor)
    row = browser.find_element(By.CSS_SELECTOR, f'tr.entry[data-id="{first}"]')
    assert "检查记录" in row.text and "首次提交" in row.text
    assert (
        row.find_element(By.TAG_NAME, "img")
        .get_attribute("src")
        .endswith(f"/review/photos/{sha}/thumbnail")
    )
    WebDriverWait(browser, WAIT).until(_images_loaded)
    _shot(browser, "1-queue")

    _press(browser, row.find_element(By.CSS_SELECTOR, "a.open"))
    WebDriverWait(browser, WAIT).until(_images_loaded)
    item = browser.find_element(By.ID, f"item-{d.item}")
    assert "31.230400, 121.473700" in item.find_element(By.CLASS_NAME, "gps").text
    assert item.find_element(By.CLASS_NAME, "review-copy").get_attribute("naturalWidth") != "0"
    _shot(browser, "2-inspection")
    browser.find_element(By.ID, f"reason-{d.item}").send_keys("照片看不清井盖编号，请补拍")
    _press(browser, browser.find_element(By.ID, "return"))
    assert "已退回" in browser.find_element(By.ID, "status").text
    _shot(browser, "3-returned")

    # The phone learns it at its next pull, and answers with a correction of the record.
    d.phone.pull()
    returned = d.phone.server["inspections"][first]
    assert returned["status"] == "returned"
    assert returned["review"]["reasons"] == {d.item: "照片看不清井盖编号，请补拍"}
    _log_in(browser, base_url, "/review/awaiting", d.inspector)
    assert "照片看不清井盖编号" in browser.find_element(By.ID, "awaiting").text
    _shot(browser, "4-awaiting-inspector")
    second, _ = d.inspect(corrects=first, note="已补拍，编号 W-07 清晰", seed=2)

    _log_in(browser, base_url, "/review/queue", d.supervisor)
    row = browser.find_element(By.CSS_SELECTOR, f'tr.entry[data-id="{second}"]')
    assert "更正记录" in row.text and "照片看不清井盖编号" in row.text
    assert not browser.find_elements(By.CSS_SELECTOR, f'tr.entry[data-id="{first}"]')
    _shot(browser, "5-queue-correction")
    _press(browser, row.find_element(By.CSS_SELECTOR, "a.open"))
    assert d.item in browser.find_element(By.ID, "changes").text
    _press(browser, browser.find_element(By.ID, "approve"))
    assert "已通过" in browser.find_element(By.ID, "status").text
    assert len(browser.find_elements(By.CSS_SELECTOR, "#thread li")) == 2
    _shot(browser, "6-approved")

    d.phone.pull()
    assert d.phone.server["inspections"][second]["status"] == "approved"
