"""Logging on a phone: the person's mood, a symptom and a diary entry; the carer's support log.

Debian's Chromium, emulating a Pixel 7, against the real app under gunicorn on the
demo data. The person (Sam) checks in a mood and logs breathlessness from the
Today screen, writes a diary entry marked "Not working", and finds it in the
history and the reading in the trends chart. The carer (Alex) then records
support and cannot reach the private diary, by link or through the history.
"""

from __future__ import annotations

import re
import secrets

import pytest
from playwright.sync_api import Page, expect

from tracker.clock import today

from .pages import DEMO_USERS, BrowserLog, assert_fits_width, save_screenshot, sign_in

pytestmark = pytest.mark.browser


def nhs_date(day) -> str:
    return f"{day.day} {day:%B %Y}"


def test_the_person_logs_mood_symptom_and_diary_and_the_carer_cannot_see_the_diary(
    new_phone, browser_log: BrowserLog
) -> None:
    tag = secrets.token_hex(3)  # this run's words, whatever earlier runs left behind
    diary_text = f"The walking group went too fast for me again ({tag})."
    support_text = f"Helped with the shower and breakfast ({tag})."

    # --- the person: mood, from the Today screen, in one tap (htmx) -----------------------
    phone: Page = new_phone()
    sign_in(phone, DEMO_USERS["person"])
    expect(phone).to_have_url(re.compile(r"/records/[^/]+/today$"))
    record_url = phone.url.removesuffix("/today")
    checkin = phone.locator("#mood-checkin")
    expect(checkin.get_by_role("button", name="Low", exact=True)).to_be_visible()
    with phone.expect_response(re.compile(r"/mood$")) as saved:
        checkin.get_by_role("button", name="Low", exact=True).click()
    assert saved.value.status == 200
    assert saved.value.request.headers.get("hx-request") == "true", "not sent by htmx"
    expect(phone.locator("#mood-checkin")).to_contain_text("Saved. You said: low.")
    assert phone.url == f"{record_url}/today", "a check-in should not leave the page"

    # --- a symptom, from the Today screen: two taps ---------------------------------------
    phone.get_by_role("link", name="Log breathlessness").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Breathlessness")
    phone.get_by_role("button", name="7", exact=True).click()
    expect(phone.locator("main")).to_contain_text("Saved: Breathlessness, 7 out of 10.")
    expect(phone).to_have_url(f"{record_url}/symptoms")

    # --- a diary entry marked "Not working" -----------------------------------------------
    phone.goto(f"{record_url}/today")
    phone.get_by_role("link", name="Write in your diary").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Write in your diary")
    phone.get_by_label("What happened?").fill(diary_text)
    phone.get_by_label("Not working", exact=True).check()
    assert_fits_width(phone, 360)
    phone.get_by_role("button", name="Save entry").click()
    expect(phone).to_have_url(f"{record_url}/diary")
    expect(phone.locator("main")).to_contain_text("Your diary entry has been saved.")
    entry = phone.locator("li.app-entry", has_text=diary_text)
    expect(entry).to_have_count(1)
    expect(entry.locator(".nhsuk-tag")).to_have_text("Not working")

    # --- in the history, newest first, with the mood and the reading ----------------------
    phone.goto(f"{record_url}/history")
    expect(phone.get_by_role("heading", level=1)).to_have_text("History")
    newest = phone.locator("li.app-entry").first
    expect(newest).to_contain_text(diary_text)
    expect(newest.locator(".nhsuk-tag")).to_have_text("Not working")
    expect(
        phone.locator("li.app-entry").filter(has_text="Breathlessness: 7 out of 10")
    ).not_to_have_count(0)
    # The filter swaps the list in place (htmx) and keeps the diary entry.
    with phone.expect_response(re.compile(r"/history\?kind=diary")):
        phone.get_by_label("Show").select_option("diary")
    expect(phone.locator("li.app-entry").first).to_contain_text(diary_text)
    expect(phone.locator("li.app-entry").filter(has_text="Breathlessness")).to_have_count(0)
    save_screenshot(phone, "person-history")
    assert_fits_width(phone, 360)

    # --- in the trends chart --------------------------------------------------------------
    phone.goto(f"{record_url}/trends")
    section = phone.locator(
        "section.app-section", has=phone.get_by_role("heading", name="Breathlessness")
    )
    expect(section.locator("svg.app-chart")).to_have_count(1)
    expect(section.locator("svg.app-chart title")).to_have_text("Breathlessness chart")
    expect(section).to_contain_text("Average breathlessness")
    section.get_by_text("Show the figures as a table").click()
    today_row = section.locator("tbody tr").first
    expect(today_row.locator("td").first).to_have_text(nhs_date(today()))
    # The demo data stops yesterday, so today's average is this run's reading alone.
    expect(today_row.locator("td").nth(1)).to_have_text("7.0")
    # ... and it is drawn: a point at the right-hand end (today) of the 2-week chart.
    expect(section.locator('svg.app-chart circle[cx="628.0"]')).to_have_count(1)
    save_screenshot(phone, "person-trends")
    assert_fits_width(phone, 360)
    browser_log.assert_clean()

    # --- the carer: support given, then the diary is out of reach -------------------------
    carer: Page = new_phone()
    sign_in(carer, DEMO_USERS["carer"])
    expect(carer).to_have_url(f"{record_url}/today")
    carer.get_by_role("link", name="Record support").click()
    expect(carer.get_by_role("heading", level=1)).to_have_text("Record support")
    carer.get_by_label("Support I gave").check()
    carer.get_by_label("How long did it take, in minutes? (optional)").fill("45")
    carer.get_by_label("What was it?").fill(support_text)
    carer.get_by_role("button", name="Save").click()
    expect(carer).to_have_url(f"{record_url}/support")
    expect(carer.locator("main")).to_contain_text("Saved in the support log.")
    expect(carer.locator("li.app-entry", has_text=support_text)).to_contain_text("(45 minutes)")

    browser_log.allow(r"404")  # the diary answers 404 to the carer, and Chromium logs it
    response = carer.goto(f"{record_url}/diary")
    assert response is not None and response.status == 404
    expect(carer.get_by_role("heading", level=1)).to_have_text("Page not found")
    expect(carer.locator("body")).not_to_contain_text(diary_text)

    response = carer.goto(f"{record_url}/history")
    assert response is not None and response.status == 200
    expect(carer.locator("li.app-entry").first).to_contain_text(support_text)
    expect(carer.locator("main")).not_to_contain_text(diary_text)
    expect(carer.locator("main")).not_to_contain_text("Not working")
    expect(carer.locator('select#kind option[value="diary"]')).to_have_count(0)
    response = carer.goto(f"{record_url}/history?kind=diary")
    expect(carer.locator("main")).not_to_contain_text(diary_text)

    # The person sees who logged the support.
    phone.goto(f"{record_url}/history")
    expect(phone.locator("li.app-entry", has_text=support_text)).to_contain_text(
        "logged by Alex Patel"
    )
    save_screenshot(carer, "carer-history")
