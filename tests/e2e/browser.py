"""A headless Chromium for the end-to-end tests: open a page, wait for what it shows, keep a screenshot.

Chromium and its driver come from Debian's packages (``apt-get install -y chromium
chromium-driver``); nothing is ever downloaded by the tests. Selenium drives it with
the driver path given explicitly, so its own driver manager never goes looking for one.

Usage::

    with Browser() as browser:
        browser.open("http://127.0.0.1:8080/")
        browser.wait_for_text("DAGs")
        browser.screenshot("/tmp/lakefs-wap-screenshots/home.png")

Screenshots are refused inside the repository: they belong under /tmp.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from selenium import webdriver
from selenium.common.exceptions import JavascriptException, NoSuchElementException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT_DIR = Path(tempfile.gettempdir()) / "lakefs-wap-screenshots"
_INSTALL_HINT = "install Debian's packages: `apt-get update && apt-get install -y chromium chromium-driver`"
_CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
_DRIVER_NAMES = ("chromedriver",)
_T = TypeVar("_T")


class BrowserUnavailable(RuntimeError):
    """No headless Chromium could be found or started; the message says what to install."""


class PageCheckFailed(AssertionError):
    """A page did not show what a test waited for in time; the message has the URL and what the page showed."""


def _find(names: tuple[str, ...], env_var: str, extra_dirs: tuple[str, ...] = ()) -> Path:
    configured = os.environ.get(env_var)
    if configured:
        path = Path(configured)
        if path.is_file() and os.access(path, os.X_OK):
            return path
        raise BrowserUnavailable(f"{env_var}={configured} is not an executable file")
    for name in names:
        found = shutil.which(name)
        if found:
            return Path(found)
        for directory in extra_dirs:
            candidate = Path(directory) / name
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return candidate
    raise BrowserUnavailable(f"none of {', '.join(names)} found on PATH (or set {env_var}): {_INSTALL_HINT}")


def chromium_binary() -> Path:
    return _find(_CHROMIUM_NAMES, "CHROMIUM_BIN")


def chromedriver_binary() -> Path:
    # Debian puts the driver on PATH, but also keeps it next to the browser.
    return _find(_DRIVER_NAMES, "CHROMEDRIVER_BIN", ("/usr/lib/chromium",))


class Browser:
    """One headless Chromium session alive inside a ``with`` block; its profile directory is removed on exit."""

    def __init__(self, *, width: int = 1440, height: int = 1000, page_load_timeout: float = 60.0) -> None:
        self.width = width
        self.height = height
        self.page_load_timeout = page_load_timeout
        self._profile: Path | None = None
        self._driver: webdriver.Chrome | None = None

    def __enter__(self) -> Browser:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def start(self) -> None:
        options = webdriver.ChromeOptions()
        options.binary_location = str(chromium_binary())
        self._profile = Path(tempfile.mkdtemp(prefix="lakefs-wap-chromium-"))
        for argument in (
            "--headless=new",
            # Containers run us as root, where Chromium's sandbox cannot start.
            "--no-sandbox",
            # /dev/shm is tiny in containers; a full one crashes the renderer.
            "--disable-dev-shm-usage",
            "--disable-gpu",
            "--no-first-run",
            "--disable-extensions",
            "--disable-background-networking",
            "--disable-sync",
            "--metrics-recording-only",
            f"--user-data-dir={self._profile}",
            f"--window-size={self.width},{self.height}",
        ):
            options.add_argument(argument)
        service = Service(executable_path=str(chromedriver_binary()))
        try:
            self._driver = webdriver.Chrome(options=options, service=service)
        except WebDriverException as error:
            self.close()
            raise BrowserUnavailable(f"headless Chromium did not start: {error.msg or error}") from None
        self._driver.set_page_load_timeout(self.page_load_timeout)

    def close(self) -> None:
        driver, self._driver = self._driver, None
        if driver is not None:
            # quit() ends chromedriver (a child of ours, by its pid) and the browser it started.
            driver.quit()
        if self._profile is not None:
            shutil.rmtree(self._profile, ignore_errors=True)
            self._profile = None

    @property
    def driver(self) -> webdriver.Chrome:
        """The Selenium driver, for what this small API does not cover."""
        if self._driver is None:
            raise BrowserUnavailable("the browser is not started: use `with Browser() as browser:`")
        return self._driver

    @property
    def url(self) -> str:
        return str(self.driver.current_url)

    def open(self, url: str) -> None:
        self.driver.get(url)

    def page_text(self) -> str:
        """What a reader sees: the body's rendered text (hidden elements left out)."""
        try:
            text = self.driver.execute_script("return document.body ? document.body.innerText : ''")
        except JavascriptException:
            return ""
        return str(text or "")

    def run_script(self, script: str, *args: Any) -> Any:
        return self.driver.execute_script(script, *args)

    def wait_for_text(self, text: str, *, timeout: float = 30.0) -> None:
        """Wait until ``text`` is part of the page's visible text."""
        self._wait(lambda: text in self.page_text() or None, timeout=timeout, waiting_for=f"text {text!r}")

    def wait_for_selector(self, css: str, *, timeout: float = 30.0) -> WebElement:
        """Wait until an element matching the CSS selector ``css`` exists and is displayed; return it."""

        def displayed() -> WebElement | None:
            for element in self.driver.find_elements(By.CSS_SELECTOR, css):
                try:
                    if element.is_displayed():
                        return element
                except WebDriverException:
                    continue  # replaced by the page while we looked
            return None

        return self._wait(displayed, timeout=timeout, waiting_for=f"an element matching {css!r}")

    def click(self, css: str, *, timeout: float = 30.0) -> None:
        """Click the first displayed element matching ``css`` once it appears."""
        self.wait_for_selector(css, timeout=timeout).click()

    def click_text(self, text: str, *, tag: str = "button", timeout: float = 30.0) -> None:
        """Click the first displayed ``tag`` element whose whole visible text is ``text``."""
        xpath = f"//{tag}[normalize-space()={_xpath_literal(text)}]"

        def displayed() -> WebElement | None:
            return next((e for e in self.driver.find_elements(By.XPATH, xpath) if e.is_displayed()), None)

        self._wait(displayed, timeout=timeout, waiting_for=f"a <{tag}> reading {text!r}").click()

    def switch_to_new_window(self, known: set[str], *, timeout: float = 30.0) -> None:
        """Switch to a window that is not one of ``known`` (the handles before a click that opens a tab)."""
        handle = self._wait(
            lambda: next((h for h in self.driver.window_handles if h not in known), None),
            timeout=timeout,
            waiting_for="a new window",
        )
        self.driver.switch_to.window(handle)

    def find_all(self, css: str) -> list[WebElement]:
        return list(self.driver.find_elements(By.CSS_SELECTOR, css))

    def find(self, css: str) -> WebElement:
        try:
            return self.driver.find_element(By.CSS_SELECTOR, css)
        except NoSuchElementException:
            raise PageCheckFailed(f"no element matches {css!r} on {self.url}") from None

    def screenshot(self, path: str | Path) -> Path:
        """Save a PNG of the viewport at ``path`` (outside the repository); return the path."""
        target = Path(path).resolve()
        if target.is_relative_to(REPOSITORY_ROOT):
            raise ValueError(f"screenshots stay out of the repository: {target} is inside {REPOSITORY_ROOT}; use /tmp")
        target.parent.mkdir(parents=True, exist_ok=True)
        if not self.driver.save_screenshot(str(target)):
            raise PageCheckFailed(f"Chromium could not write a screenshot to {target}")
        return target

    def _wait(self, probe: Callable[[], _T | None], *, timeout: float, waiting_for: str) -> _T:
        deadline = time.monotonic() + timeout
        while True:
            result = probe()
            if result is not None:
                return result
            if time.monotonic() >= deadline:
                shown = " ".join(self.page_text().split())[:1500]
                raise PageCheckFailed(
                    f"{self.url} did not show {waiting_for} within {timeout:.0f}s; the page showed: {shown!r}"
                )
            time.sleep(0.25)


def _xpath_literal(text: str) -> str:
    """``text`` as an XPath string literal (XPath 1.0 has no escapes: quotes are joined with concat())."""
    if "'" not in text:
        return f"'{text}'"
    if '"' not in text:
        return f'"{text}"'
    return "concat(" + ', "\'", '.join(f"'{part}'" for part in text.split("'")) + ")"
