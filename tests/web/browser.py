"""Driving the server-rendered pages in Debian's headless Chromium (no browser download): the
suite's app served over HTTP in a thread, and one way to start the browser."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from werkzeug.serving import make_server

from tests.processes import ROOT, free_port

CHROMIUM, DRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
#: Where browser tests keep their screenshots (artefacts of `make test`).
SCREENSHOTS = ROOT / ".artifacts" / "screenshots"


@contextmanager
def served(app) -> Iterator[str]:
    """The app served by a werkzeug server in a thread of this process; yields its base URL."""
    server = make_server("127.0.0.1", free_port(), app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)


@contextmanager
def chromium(*, size: tuple[int, int] | None = None, phone: tuple[int, int] | None = None):
    """A headless Chromium in zh-CN: a window of `size`, or emulating a phone of `phone` CSS
    pixels (pixel ratio 2)."""
    assert Path(CHROMIUM).exists() and Path(DRIVER).exists(), "run scripts/bootstrap.sh"
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--lang=zh-CN"):
        options.add_argument(flag)
    if size:
        options.add_argument(f"--window-size={size[0]},{size[1]}")
    if phone:
        metrics = {"width": phone[0], "height": phone[1], "pixelRatio": 2}
        options.add_experimental_option("mobileEmulation", {"deviceMetrics": metrics})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=DRIVER))
    try:
        yield driver
    finally:
        driver.quit()
