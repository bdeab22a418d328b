"""Each role's main journeys on a phone (Pixel 7), where other browser tests do not cover them.

Covered elsewhere: signing in and out (``test_sign_in``); the person logging mood, a
symptom and the diary, and the carer's support log (``test_logging_journey``);
marking an action and putting a goal on hold (``test_plan_journey``); preparing for
a review and sharing it, the coordinator reading and printing the summary, and the
carer's early review request (``test_review_journeys``); logging offline
(``test_pwa``). Here:

* the person asks for an early review; the coordinator finds it on the caseload and
  in the summary, and records a review held today;
* the carer marks the action they own, and cannot mark the person's own;
* phone-sized screenshots of the main pages, for ``docs/screenshots/``
  (``TRACKER_UPDATE_SCREENSHOTS=1`` writes them there; otherwise to
  ``test-artifacts/screenshots/``).

The live server is shared by the whole session, so each test writes its own
unique text and looks for that.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tracker.clock import today

from .pages import DEMO_USERS, BrowserLog, save_screenshot, sign_in

pytestmark = pytest.mark.browser

CARER_ACTION = "Help with the evening routine"  # Alex's daily action in the demo
OWN_ACTION = "Do my breathing exercises before bed"  # Sam's own


def nhs_date(day) -> str:
    return f"{day.day} {day:%B %Y}"


def record_path(page: Page) -> str:
    match = re.search(r"(/records/[a-z0-9]+)/", page.url)
    assert match, page.url
    return match.group(1)


def test_the_person_asks_for_an_early_review_and_the_coordinator_sees_it_and_records_a_review(
    new_phone: Callable[..., Page], browser_log: BrowserLog
) -> None:
    what = f"Mornings are too hard without help ({secrets.token_hex(4)})"
    agreed = f"A personal assistant on weekday mornings ({secrets.token_hex(4)})"

    # --- the person asks, from their record's Reviews page ------------------------------
    sam = new_phone()
    sign_in(sam, DEMO_USERS["person"])
    record = record_path(sam)
    sam.locator("nav.app-record-nav").get_by_role("link", name="Reviews", exact=True).click()
    expect(sam.get_by_role("heading", level=1)).to_have_text("Reviews")
    sam.get_by_role("link", name="Ask for an early review").click()
    expect(sam.get_by_role("heading", level=1)).to_have_text("Ask for an early review")
    # Nothing chosen: the error summary says what to do, and takes the focus.
    browser_log.allow(r"status of 422")  # the form comes back with its errors
    sam.get_by_role("button", name="Send request").click()
    summary = sam.locator(".nhsuk-error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("Select why you want an early review")
    expect(sam).to_have_title(re.compile(r"^Error: "))
    sam.get_by_label("Things in the plan are not working").check()
    sam.get_by_label("What has changed?").fill(what)
    sam.get_by_label("Within a week").check()
    sam.get_by_role("button", name="Send request").click()
    expect(sam.locator(".app-flash")).to_contain_text("has been sent to the care coordinator")
    card = sam.locator(".nhsuk-card").filter(has_text=what)
    expect(card.locator(".nhsuk-tag")).to_have_text("Requested")

    # --- the coordinator: the caseload, then Sam's summary with the request --------------
    jo = new_phone()
    sign_in(jo, DEMO_USERS["coordinator"])
    expect(jo.get_by_role("heading", level=1)).to_have_text("Your caseload")
    row = jo.locator("tbody tr").filter(has_text="Sam Patel")
    expect(row).to_contain_text(re.compile(r"\d+ waiting"))
    row.get_by_role("link", name="Sam Patel").click()
    expect(jo).to_have_url(re.compile(rf"{record}/summary$"))
    expect(jo.get_by_role("heading", level=1)).to_have_text("Sam Patel")
    expect(jo.locator("main")).to_contain_text(re.compile(r"What's working|has not shared"))
    requests = jo.locator(".nhsuk-summary-list__row").filter(has_text="Early review requests")
    expect(requests).to_contain_text("Things in the plan are not working (requested)")

    # --- and records a review held today with someone else on the caseload -------------
    # (Not Sam: a review resets the period Sam's summary covers, which other tests read.)
    jo.get_by_role("link", name="Caseload").first.click()
    other = jo.locator("tbody tr").filter(has_text="Aisha Khan")
    other.get_by_role("link", name="Aisha Khan").click()
    expect(jo.get_by_role("heading", level=1)).to_have_text("Aisha Khan")
    other_record = record_path(jo)
    jo.get_by_role("link", name="Record a review").click()
    expect(jo.get_by_role("heading", level=1)).to_have_text("Record a review")
    held = jo.get_by_role("group", name="When was the review held?")
    expect(held.get_by_label("Day")).to_have_value(str(today().day))
    jo.get_by_label("Who took part?").fill("Aisha, her daughter, Jo Brown (care coordinator)")
    jo.get_by_label("What was agreed?").fill(agreed)
    jo.get_by_role("button", name="Save review").click()
    expect(jo.locator(".app-flash")).to_contain_text("The review has been recorded")
    expect(jo).to_have_url(re.compile(rf"{other_record}/plan$"))
    jo.goto(f"{other_record}/reviews")
    held_card = jo.locator(".nhsuk-card").filter(has_text=agreed)
    expect(held_card.locator("h3")).to_have_text(nhs_date(today()))
    expect(held_card).to_contain_text("Recorded by Jo Brown")
    browser_log.assert_clean()


def test_the_carer_marks_the_action_they_own_and_not_the_persons_own(
    phone: Page, browser_log: BrowserLog
) -> None:
    sign_in(phone, DEMO_USERS["carer"])
    expect(phone).to_have_url(re.compile(r"/records/[a-z0-9]+/today$"))
    todays = phone.locator("ul.app-occurrences").first
    theirs = todays.locator("li.app-occurrence", has_text=CARER_ACTION)
    expect(theirs).to_have_count(1)
    occurrence = phone.locator(f"#{theirs.get_attribute('id')}")
    # Whatever the demo marked it as, change it (one tap, swapped in place by htmx).
    current = occurrence.locator(".nhsuk-tag")
    before = current.inner_text() if current.count() else None
    choice = "Done" if before != "Done" else "Missed"
    with phone.expect_response(re.compile(r"/actions/[^/]+/mark$")) as marked:
        occurrence.get_by_role("button", name=re.compile(rf"^{choice}")).click()
    assert marked.value.request.headers.get("hx-request") == "true", "not sent by htmx"
    expect(occurrence.locator(".nhsuk-tag")).to_have_text(choice)
    expect(phone.locator("#app-announcer")).to_contain_text(choice)
    phone.reload()
    expect(phone.locator(f"#{theirs.get_attribute('id')} .nhsuk-tag")).to_have_text(choice)

    # The person's own action is shown, but only the person marks it.
    own = todays.locator("li.app-occurrence", has_text=OWN_ACTION)
    expect(own).to_have_count(1)
    expect(own.get_by_role("button")).to_have_count(0)
    browser_log.assert_clean()


# --- screenshots of the main pages ------------------------------------------------


def test_phone_screenshots_of_the_main_pages(
    new_phone: Callable[..., Page], browser_log: BrowserLog
) -> None:
    """Sign-in, Today, the caseload and history/trends come from the other browser tests."""
    sam = new_phone()
    sign_in(sam, DEMO_USERS["person"])
    record = record_path(sam)
    shots = [
        ("person-plan", f"{record}/plan", "Care and support plan"),
        ("person-mood", f"{record}/mood", "Mood"),
        ("person-symptoms", f"{record}/symptoms", "Symptoms"),
        ("person-diary", f"{record}/diary", "Diary"),
        ("person-prepare-review", f"{record}/prepare", "Prepare for my review"),
        ("person-help-now", f"{record}/help-now", re.compile(r"Help now|help", re.I)),
        ("person-notifications", "/notifications", re.compile(r"Notification|Reminder", re.I)),
        ("person-budget", f"{record}/budget", "Budget"),
        ("person-your-data", f"{record}/your-data", "Your data"),
    ]
    for name, path, heading in shots:
        sam.goto(path)
        expect(sam.get_by_role("heading", level=1)).to_have_text(heading)
        save_screenshot(sam, name)
    sam.goto(f"{record}/plan")
    sam.locator("a[href*='/goals/']").first.click()
    expect(sam).to_have_url(re.compile(r"/goals/[a-z0-9]+$"))
    save_screenshot(sam, "person-goal")

    # What the coordinator sees once Sam has shared the summary.
    sam.goto(f"{record}/prepare")
    share = re.compile(r"^Share (my summary|again with my changes)$")
    sam.get_by_role("button", name=share).click()
    expect(sam.locator(".app-flash")).to_contain_text("has been shared")
    jo = new_phone()
    sign_in(jo, DEMO_USERS["coordinator"])
    jo.locator("tbody tr").filter(has_text="Sam Patel").get_by_role("link").first.click()
    expect(jo.get_by_role("heading", level=1)).to_have_text("Sam Patel")
    expect(jo.locator("#working")).to_be_visible()
    save_screenshot(jo, "coordinator-summary")
    browser_log.assert_clean()
