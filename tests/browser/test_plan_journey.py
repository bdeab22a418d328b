"""The person's everyday journey on a phone: mark an action done, put a goal on hold.

Debian's Chromium, emulating a Pixel 7, against the real app under gunicorn on the
demo data. Both changes go through htmx (only a fragment is swapped), and both must
still be there after a reload, read back from the server.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from .pages import DEMO_USERS, BrowserLog, assert_fits_width, save_screenshot, sign_in

pytestmark = pytest.mark.browser

ACTION = "Do my breathing exercises before bed"  # the demo person's daily action
GOAL = "To sleep through the night most nights"  # the goal it belongs to
NOTE = "In hospital with a chest infection, back to this next month"


def todays_occurrence(page: Page, what: str):
    """Today's occurrence of an action (the first list; the overdue ones are further down)."""
    return page.locator("ul.app-occurrences").first.locator("li.app-occurrence", has_text=what)


def test_the_person_marks_an_action_done_and_puts_a_goal_on_hold_and_both_survive_a_reload(
    phone: Page, browser_log: BrowserLog
) -> None:
    sign_in(phone, DEMO_USERS["person"])
    expect(phone).to_have_url(re.compile(r"/records/[^/]+/today$"))
    today_url = phone.url

    # --- mark today's action done, in one tap ------------------------------------------
    occurrence = todays_occurrence(phone, ACTION)
    expect(occurrence).to_have_count(1)
    occurrence_id = occurrence.get_attribute("id")
    assert occurrence_id, "the occurrence has no id to swap"
    item = phone.locator(f"#{occurrence_id}")
    done = item.get_by_role("button", name=re.compile(r"^Done"))
    if done.count() == 0:
        # The demo data may already have marked it done: change it, then back.
        item.get_by_role("button", name=re.compile(r"^Missed")).click()
        expect(item.locator(".nhsuk-tag")).to_have_text("Missed")
    with phone.expect_response(re.compile(r"/actions/[^/]+/mark$")) as marked:
        item.get_by_role("button", name=re.compile(r"^Done")).click()
    assert marked.value.status == 200
    assert marked.value.request.headers.get("hx-request") == "true", "not sent by htmx"
    expect(item.locator(".nhsuk-tag")).to_have_text("Done")
    expect(item.get_by_role("button", name=re.compile(r"^Done"))).to_have_count(0)
    assert phone.url == today_url, "marking should not leave the page"

    phone.reload()
    expect(phone.locator(f"#{occurrence_id} .nhsuk-tag")).to_have_text("Done")
    assert_fits_width(phone, 360)

    # --- open the goal and put it on hold with a note -----------------------------------
    phone.locator("nav.app-record-nav").get_by_role("link", name="Plan and goals").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Care and support plan")
    phone.get_by_role("link", name=GOAL).click()
    expect(phone.get_by_role("heading", level=1)).to_have_text(GOAL)
    goal_url = phone.url

    status = phone.locator("#goal-status")
    status.get_by_text("Change the status").click()
    status.get_by_label("On hold", exact=True).check()
    status.get_by_label("Add a note").fill(NOTE)
    with phone.expect_response(re.compile(r"/goals/[^/]+/status$")) as changed:
        status.get_by_role("button", name="Save status").click()
    assert changed.value.status == 200
    assert changed.value.request.headers.get("hx-request") == "true", "not sent by htmx"
    status = phone.locator("#goal-status")
    expect(status).to_contain_text("Saved.")
    expect(status.locator("h2 .nhsuk-tag")).to_have_text("On hold")
    assert phone.url == goal_url

    phone.reload()
    status = phone.locator("#goal-status")
    expect(status.locator("h2 .nhsuk-tag")).to_have_text("On hold")
    newest = status.locator("ol.app-timeline > li").first
    expect(newest).to_contain_text("On hold")
    expect(newest).to_contain_text(NOTE)
    expect(newest).to_contain_text("by Sam Patel")
    assert_fits_width(phone, 360)
    save_screenshot(phone, "person-goal-on-hold")

    # --- and Today still shows the action as done -----------------------------------------
    phone.goto(today_url)
    expect(phone.locator(f"#{occurrence_id} .nhsuk-tag")).to_have_text("Done")
    save_screenshot(phone, "person-today-marked")
    browser_log.assert_clean()
