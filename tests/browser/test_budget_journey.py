"""Budget monitoring on a phone: the demo person records a spend and sees the figures move.

Debian's Chromium, emulating a Pixel 7, against the real app under gunicorn on the
demo data. Sam opens the budget from the record's links, reads the personal
assistant line, records this week's wages through the form, and finds the line's
spent-to-date and projected year-end both grown by what was paid.
"""

from __future__ import annotations

import re
import secrets
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from tracker.clock import today

from .axe import blocking, require_axe, run_axe
from .pages import DEMO_USERS, BrowserLog, assert_fits_width, save_screenshot, sign_in

pytestmark = pytest.mark.browser

PA_LINE = "Personal assistant wages"


def figure(page: Page, key: str) -> Decimal:
    """A money figure from the line's summary list, such as "Spent to date"."""
    row = page.locator(".nhsuk-summary-list__row", has=page.locator("dt", has_text=key))
    text = row.locator("dd").inner_text()
    return Decimal(re.search(r"£([\d,]+\.\d\d)", text).group(1).replace(",", ""))


def assert_accessible(page: Page) -> None:
    """No serious or critical axe-core finding (WCAG 2.2 A/AA and best practice)."""
    found = blocking(run_axe(page))
    assert not found, "\n".join(str(v) for v in found)


def test_the_demo_person_records_a_spend_and_sees_the_line_and_projection_update(
    new_phone, browser_log: BrowserLog
) -> None:
    require_axe()
    payee = f"Priya Shah (PA) {secrets.token_hex(3)}"
    phone: Page = new_phone()
    sign_in(phone, DEMO_USERS["person"])
    expect(phone).to_have_url(re.compile(r"/records/[^/]+/today$"))

    # --- the budget, from the record's links ---------------------------------------------
    phone.get_by_role("link", name="Budget", exact=True).click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Budget")
    expect(phone.locator("main")).to_contain_text("Direct payment")
    assert_fits_width(phone, 360)
    assert_accessible(phone)
    phone.get_by_role("link", name=PA_LINE, exact=True).click()
    expect(phone.get_by_role("heading", level=1)).to_have_text(PA_LINE)
    spent_before = figure(phone, "Spent to date")
    projected_before = figure(phone, "Projected spend for the year")
    expect(phone.locator("svg.app-budget-bar title")).to_have_text(f"{PA_LINE}: planned and spent")

    # --- record this week's wages -----------------------------------------------------------
    phone.get_by_role("link", name="Record spending on this line").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Record spending")
    expect(phone.get_by_label("Which part of the budget was it for?")).to_have_value(
        re.compile(r".+")
    )
    day = today()
    phone.get_by_label("Day").fill(str(day.day))
    phone.get_by_label("Month").fill(str(day.month))
    phone.get_by_label("Year").fill(str(day.year))
    phone.get_by_label("How much was paid?").fill("£240.00")
    phone.get_by_label("Who was it paid to?").fill(payee)
    phone.get_by_label("Note (optional)").fill("Weekly wages")
    assert_fits_width(phone, 360)
    assert_accessible(phone)
    phone.get_by_role("button", name="Save spending").click()

    # --- the line has moved, and so has its projection ----------------------------------------
    expect(phone.get_by_role("heading", level=1)).to_have_text(PA_LINE)
    expect(phone.locator("main")).to_contain_text(f"£240.00 paid to {payee} has been recorded.")
    assert figure(phone, "Spent to date") == spent_before + Decimal("240.00")
    assert figure(phone, "Projected spend for the year") > projected_before
    expect(phone.locator("table", has_text=payee)).to_contain_text("£240.00")
    save_screenshot(phone, "budget-line-after-a-spend")
    assert_fits_width(phone, 360)
    assert_accessible(phone)

    # --- and on the budget page ----------------------------------------------------------
    phone.get_by_role("link", name="Budget", exact=True).first.click()
    expect(phone.locator("main")).to_contain_text(payee)

    # --- this plan year's statement: the new payment is on it, and it fits a phone --------
    phone.get_by_role("link", name="Get a statement for any period").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Spending statement")
    expect(phone.locator("table", has_text=payee)).to_contain_text("£240.00")
    assert_fits_width(phone, 360)
    assert_accessible(phone)
    browser_log.assert_clean()
