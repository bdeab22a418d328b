"""Browser tests: the real app under gunicorn, driven by Debian's Chromium through Playwright.

* ``live_server`` (session): demo data in a temporary folder, served by gunicorn
  with two workers on a free port; stopped at the end of the run.
* ``browser`` (session): one headless Chromium for the whole run. Playwright never
  downloads a browser here; it drives ``chromium`` from the system. Without it the
  tests fail when ``CI`` is set, and are skipped (with the reason) otherwise.
* ``new_phone(**options)`` / ``phone``: a fresh, isolated browser context (its own
  cookies and storage) emulating a Pixel 7, and a page in it.
* ``browser_log``: every page is watched. A console error, an uncaught exception
  or a Content-Security-Policy violation fails the test when it ends; call
  ``browser_log.assert_clean()`` to check sooner, ``browser_log.allow(regex)`` when
  a test expects one.

Helpers to import (sign in, width checks, screenshots) are in ``pages.py``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from .liveserver import LiveServer, load_demo, start_gunicorn
from .pages import BrowserLog

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page, Playwright

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DEVICE = "Pixel 7"
# For actions, navigations and ``expect``. Everything is local, but on a busy
# 2-core machine a cold worker plus an argon2 sign-in has taken over 5 s
# (``expect``'s default), so 15 s; only a failing test ever waits that long.
TIMEOUT_MS = 15_000


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test in this folder is a browser test, whether or not it says so."""
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents and not item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.browser)


def _unavailable(reason: str) -> None:
    """Fail in CI (browser tests must run there); skip, with the reason, elsewhere."""
    if os.environ.get("CI", "").strip().lower() not in {"", "0", "false", "no"}:
        pytest.fail(f"{reason}. CI is set, and browser tests must run in CI.", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium_executable() -> str:
    path = shutil.which("chromium")
    if not path:
        _unavailable("Debian's chromium is not installed (apt-get install chromium)")
    return str(path)


# --- the server -------------------------------------------------------------------


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The app under gunicorn (2 workers) on demo data, for the whole session."""
    root = tmp_path_factory.mktemp("live-server")
    load_demo(root / "data")
    server = start_gunicorn(root / "data", root / "logs", workers=2)
    try:
        yield server
    finally:
        server.stop()
    problems = server.problems()
    assert not problems, "the live server logged errors:\n" + "\n".join(problems)


# --- the browser ------------------------------------------------------------------


@pytest.fixture(scope="session")
def playwright(chromium_executable: str) -> Iterator[Playwright]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed (pip install -e '.[test]')")
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright: Playwright, chromium_executable: str) -> Iterator[Browser]:
    """One Chromium for the whole run; each test makes fresh contexts (fresh profiles)."""
    browser = playwright.chromium.launch(
        executable_path=chromium_executable, headless=True, args=CHROMIUM_ARGS
    )
    try:
        yield browser
    finally:
        browser.close()


@pytest.fixture
def browser_log() -> BrowserLog:
    """Errors from every page this test opens; checked when the test ends."""
    return BrowserLog()


@pytest.fixture
def new_phone(
    browser: Browser, playwright: Playwright, live_server: LiveServer, browser_log: BrowserLog
) -> Iterator[Callable[..., Page]]:
    """Make a page in a fresh Pixel 7 context; keyword arguments override context options."""
    contexts: list[BrowserContext] = []

    def make(**overrides: Any) -> Page:
        options = dict(playwright.devices[DEVICE])
        options.pop("default_browser_type", None)
        options.update(base_url=live_server.url, locale="en-GB", timezone_id="Europe/London")
        options.update(overrides)
        context = browser.new_context(**options)
        context.set_default_timeout(TIMEOUT_MS)
        context.set_default_navigation_timeout(TIMEOUT_MS)
        context.on("page", browser_log.watch)
        contexts.append(context)
        page = context.new_page()
        browser_log.watch(page)  # now, not when the "page" event arrives
        return page

    yield make
    for context in contexts:
        context.close()
    browser_log.assert_clean()


@pytest.fixture
def phone(new_phone: Callable[..., Page]) -> Page:
    """A page on an emulated Pixel 7 (412 × 839 CSS px, touch, mobile user agent)."""
    return new_phone()
