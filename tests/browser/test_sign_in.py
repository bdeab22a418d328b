"""Signing in and out on a phone, as each of the three demo roles."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from playwright.sync_api import Page, expect

from .pages import DEMO_USERS, BrowserLog, assert_fits_width, save_screenshot, sign_in

pytestmark = pytest.mark.browser


@dataclass(frozen=True)
class Home:
    """What one demo role should see straight after signing in."""

    role: str
    name: str
    url: re.Pattern[str]
    heading: re.Pattern[str]
    caption: str
    screenshot: str


HOMES = {
    "person": Home(
        "person",
        "Sam Patel",
        re.compile(r"/records/[^/]+/today$"),
        re.compile(r"^Today"),
        "Your plan",
        "person-today",
    ),
    "carer": Home(
        "carer",
        "Alex Patel",
        re.compile(r"/records/[^/]+/today$"),
        re.compile(r"^Today"),
        "Sam Patel",
        "carer-today",
    ),
    "coordinator": Home(
        "coordinator",
        "Jo Brown",
        re.compile(r"/caseload$"),
        re.compile(r"^Your caseload$"),
        "20 people",
        "coordinator-caseload",
    ),
}

# Text that only a signed-in page shows: the demo people's names and their records.
HEALTH_DATA = re.compile(
    r"Sam Patel|Alex Patel|Jo Brown|Today,|Your plan|Your caseload|breathing exercises"
)


def expect_nhs_header(page: Page) -> None:
    header = page.locator("header.nhsuk-header")
    expect(header).to_be_visible()
    expect(header).to_contain_text("Care plan tracker")


def expect_home(page: Page, home: Home) -> None:
    expect(page).to_have_url(home.url)
    expect(page.get_by_role("heading", level=1)).to_have_text(home.heading)
    starts_with_caption = re.compile(rf"^{re.escape(home.caption)}\b")
    if home.role == "coordinator":
        expect(page.locator("caption")).to_have_text(starts_with_caption)
        expect(page.locator("tbody tr")).to_have_count(20)
    else:
        expect(page.locator(".nhsuk-caption-l")).to_have_text(starts_with_caption)
    expect_nhs_header(page)
    expect(page.locator("header.nhsuk-header")).to_contain_text(home.name)


def expect_signed_out(page: Page) -> None:
    """The sign-in page, and nothing from anyone's record."""
    expect(page).to_have_url(re.compile(r"/sign-in(\?|$)"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    expect(page.locator("body")).not_to_contain_text(HEALTH_DATA)
    expect(page.get_by_role("link", name="Sign out")).to_have_count(0)


def test_sign_in_page_fits_a_small_phone(phone: Page, browser_log: BrowserLog) -> None:
    phone.goto("/")
    expect_signed_out(phone)
    expect_nhs_header(phone)
    expect(phone.get_by_label("Email address")).to_be_visible()
    expect(phone.get_by_label("Password", exact=True)).to_be_visible()
    save_screenshot(phone, "sign-in")
    assert_fits_width(phone, 360)
    browser_log.assert_clean()


@pytest.mark.parametrize("role", list(HOMES))
def test_each_role_signs_in_on_a_phone_and_signing_out_leaves_nothing_to_go_back_to(
    phone: Page, browser_log: BrowserLog, role: str
) -> None:
    home = HOMES[role]
    sign_in(phone, DEMO_USERS[role])
    expect_home(phone, home)
    save_screenshot(phone, home.screenshot)
    assert_fits_width(phone, 360)
    browser_log.assert_clean()
    home_url = phone.url

    phone.get_by_role("link", name="Sign out").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Sign out")
    phone.get_by_role("button", name="Sign out").click()
    expect_signed_out(phone)
    expect(phone.get_by_role("status").filter(has_text="You have signed out.")).to_be_visible()

    # Back to the "Sign out" page, then to the home page: neither may come back.
    phone.go_back()
    expect_signed_out(phone)
    phone.go_back()
    expect_signed_out(phone)
    phone.reload()
    expect_signed_out(phone)
    phone.goto(home_url)
    expect_signed_out(phone)
    browser_log.assert_clean()


def test_the_error_watch_catches_a_csp_violation(phone: Page, browser_log: BrowserLog) -> None:
    """The watch on console errors is what the other tests rely on: prove that it sees one."""
    phone.goto("/sign-in")
    phone.evaluate(
        """() => { const s = document.createElement('script');
                   s.textContent = 'window.inlineRan = true';
                   document.body.appendChild(s); }"""
    )
    # Console events arrive asynchronously: give Chromium a moment to report it.
    for _ in range(50):
        if browser_log.csp_violations():
            break
        phone.wait_for_timeout(20)
    assert phone.evaluate("() => window.inlineRan === undefined"), "inline script ran: no CSP?"
    violations = browser_log.csp_violations()
    assert violations, f"no CSP violation was reported; errors seen: {browser_log.errors}"
    browser_log.clear()
