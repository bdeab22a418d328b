"""Helpers for browser tests: signing in, watching for errors, widths and screenshots.

Fixtures live in ``conftest.py``; these are plain functions and classes so that
tests can import them (``from .pages import sign_in``).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tracker.demo import DEMO_PASSWORD, DEMO_USERS

from .liveserver import REPO_ROOT

if TYPE_CHECKING:
    from playwright.sync_api import ConsoleMessage, Page

__all__ = [
    "DEMO_PASSWORD",
    "DEMO_USERS",
    "BrowserLog",
    "assert_fits_width",
    "page_width",
    "save_screenshot",
    "screenshot_dir",
    "sign_in",
]


@dataclass
class BrowserLog:
    """Console errors, uncaught exceptions and CSP violations seen on watched pages.

    Chromium reports a Content-Security-Policy violation as a console error
    ("Refused to execute inline script because it violates …"), and a failed
    resource load (404, 500) the same way, so all of them land in ``errors``.
    """

    errors: list[str] = field(default_factory=list)
    allowed: list[re.Pattern[str]] = field(default_factory=list)
    _watched: list[Page] = field(default_factory=list, repr=False)

    def watch(self, page: Page) -> None:
        """Record this page's errors (once, however often it is called)."""
        if any(p is page for p in self._watched):
            return
        self._watched.append(page)
        page.on("console", self._on_console)
        page.on("pageerror", lambda exc: self._add(f"uncaught exception: {exc}"))

    def _on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            where = (message.location or {}).get("url", "")
            self._add(f"console error: {message.text}" + (f" ({where})" if where else ""))

    def _add(self, text: str) -> None:
        if not any(p.search(text) for p in self.allowed):
            self.errors.append(text)

    def allow(self, pattern: str) -> None:
        """Expect errors matching ``pattern`` (a regular expression) in this test."""
        self.allowed.append(re.compile(pattern))

    def csp_violations(self) -> list[str]:
        return [e for e in self.errors if "Content Security Policy" in e]

    def clear(self) -> None:
        self.errors.clear()

    def assert_clean(self) -> None:
        """Fail the test if any page reported an error."""
        __tracebackhide__ = True
        if self.errors:
            pytest.fail(
                "the browser reported errors (a CSP violation is a bug: the app allows no "
                "inline script or style):\n  " + "\n  ".join(self.errors),
                pytrace=False,
            )


def sign_in(page: Page, email: str, password: str = DEMO_PASSWORD) -> None:
    """Sign in through the real form and wait until the app has moved on from it."""
    __tracebackhide__ = True
    page.goto("/sign-in")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in", exact=True).click()
    if re.search(r"/sign-in(\?|$)", page.url):
        summary = page.locator(".nhsuk-error-summary")
        detail = summary.inner_text() if summary.count() else page.title()
        pytest.fail(f"could not sign in as {email}: {detail}", pytrace=False)


def page_width(page: Page) -> dict[str, int]:
    """The document's scroll width and the layout viewport's width, in CSS px."""
    return page.evaluate(
        """async () => {
            await document.fonts.ready;  // then two frames, so layout has settled
            await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
            return {scroll: document.documentElement.scrollWidth, inner: window.innerWidth};
        }"""
    )


def assert_fits_width(page: Page, width: int = 360) -> None:
    """The current page, loaded afresh on a ``width``-px-wide screen, does not scroll sideways.

    It opens the page's URL in a new tab of the same context (same cookies) whose
    viewport is ``width`` from the start, rather than resizing ``page`` under a
    laid-out document, which can report a stale width for a moment.
    """
    __tracebackhide__ = True
    narrow = page.context.new_page()
    try:
        narrow.set_viewport_size({"width": width, "height": 780})
        # Wait for "load", not "networkidle": with a service worker in charge,
        # Playwright can miss requests finishing and never see the network idle.
        narrow.goto(page.url, wait_until="load")
        measured = page_width(narrow)
        # On a phone, content wider than the screen also widens the layout
        # viewport (the page is zoomed out), so innerWidth grows with it.
        if max(measured["scroll"], measured["inner"]) > width:
            wide = narrow.evaluate(
                """(w) => [...document.querySelectorAll('body *')]
                    .filter(e => e.getBoundingClientRect().right > w + 0.5)
                    .slice(0, 5)
                    .map(e => e.tagName.toLowerCase() + '.' + [...e.classList].join('.'))""",
                width,
            )
            pytest.fail(
                f"{page.url} scrolls sideways at {width} px: scrollWidth is "
                f"{measured['scroll']}; elements past the edge: {wide}",
                pytrace=False,
            )
        assert measured["inner"] == width, f"the viewport is not {width} px wide: {measured}"
    finally:
        narrow.close()


def screenshot_dir() -> Path:
    """docs/screenshots/ with TRACKER_UPDATE_SCREENSHOTS=1, else the ignored test-artifacts/."""
    if os.environ.get("TRACKER_UPDATE_SCREENSHOTS") == "1":
        return REPO_ROOT / "docs" / "screenshots"
    return REPO_ROOT / "test-artifacts" / "screenshots"


def save_screenshot(page: Page, name: str) -> Path:
    """A phone-sized screenshot of what is on screen, saved as ``<name>.png``."""
    folder = screenshot_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), animations="disabled", caret="hide")
    return path
