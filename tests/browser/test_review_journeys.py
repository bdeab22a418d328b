"""Review journeys in a real browser, on the demo data.

1. Sam (the person) opens "Prepare for my review", adds a question and shares it.
2. Jo (the coordinator) reads the shared summary with that question, prints it to
   PDF (Chromium's own print, and the Download PDF link), and the printed page
   has no navigation but keeps its charts.
3. Alex (the carer) asks for an early review; Jo acknowledges it and sets a date;
   Alex then sees it scheduled.

The live server is shared by the whole session, so each test makes its own
unique text and looks for that, whatever other tests did before.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import uuid
from datetime import date, timedelta

import pytest
from playwright.sync_api import Page, expect

from .pages import DEMO_USERS, BrowserLog, sign_in

pytestmark = pytest.mark.browser

DESKTOP = {
    "viewport": {"width": 1280, "height": 900},
    "is_mobile": False,
    "has_touch": False,
    "device_scale_factor": 1,
}


def unique(words: str) -> str:
    return f"{words} ({uuid.uuid4().hex[:8]})"


def pdf_text(data: bytes) -> str:
    """The PDF's words, as pdftotext reads them, whitespace collapsed."""
    assert data.startswith(b"%PDF-"), data[:20]
    pdftotext = shutil.which("pdftotext")
    assert pdftotext, "pdftotext is missing (apt-get install poppler-utils)"
    result = subprocess.run(
        [pdftotext, "-layout", "-", "-"], input=data, capture_output=True, check=True, timeout=60
    )
    return " ".join(result.stdout.decode().split())


def record_path(page: Page) -> str:
    """/records/<id> from the current page's address."""
    match = re.search(r"(/records/[^/]+)/", page.url)
    assert match, page.url
    return match.group(1)


def prepare_and_share(page: Page, question: str) -> str:
    """As Sam: add ``question`` on "Prepare for my review" and share; returns the record path."""
    sign_in(page, DEMO_USERS["person"])
    page.get_by_role("link", name="Prepare for my review").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Prepare for my review")
    expect(page.locator("#working")).to_contain_text("What's working")
    expect(page.locator("#not-working .app-statement").first).to_be_visible()

    page.get_by_label("A question I want to ask at the review").check()
    page.get_by_label("Your note or question").fill(question)
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.locator(".app-flash")).to_contain_text("Added.")
    expect(page.locator("#change")).to_contain_text(f"Question: {question}")

    page.get_by_role(
        "button", name=re.compile(r"^Share (my summary|again with my changes)$")
    ).click()
    expect(page.locator(".app-flash")).to_contain_text(
        "Your summary has been shared with your care coordinator."
    )
    expect(page.locator(".app-saved")).to_contain_text("You last shared this on")
    return record_path(page)


def test_the_person_adds_a_question_and_shares_their_summary(
    phone: Page, browser_log: BrowserLog
) -> None:
    question = unique("Can I have more help in the mornings?")
    prepare_and_share(phone, question)
    # Hiding a statement is one tap, done in place (htmx), and can be undone.
    first = phone.locator("#not-working .app-statement").first
    key = first.get_attribute("id")
    first.get_by_role("button", name=re.compile(r"^Do not share this")).click()
    statement = phone.locator(f"#{key}")
    expect(statement).to_contain_text("Hidden: will not be shared")
    statement.get_by_role("button", name=re.compile(r"^Share this again")).click()
    expect(phone.locator(f"#{key}")).not_to_contain_text("Hidden: will not be shared")
    browser_log.assert_clean()


def test_the_coordinator_reads_the_shared_summary_and_prints_it(
    new_phone, browser_log: BrowserLog, tmp_path
) -> None:
    question = unique("What happens if my PA leaves?")
    person = new_phone()
    record = prepare_and_share(person, question)

    desk = new_phone(**DESKTOP)
    sign_in(desk, DEMO_USERS["coordinator"])
    expect(desk.get_by_role("heading", level=1)).to_have_text("Your caseload")
    desk.get_by_role("link", name="Sam Patel").click()
    expect(desk).to_have_url(re.compile(rf"{record}/summary$"))
    expect(desk.get_by_role("heading", level=1)).to_have_text("Sam Patel")
    expect(desk.locator("#change")).to_contain_text(f"Question: {question}")
    expect(desk.locator("#working .app-statement").first).to_be_visible()
    expect(desk.locator("#not-working .app-statement").first).to_be_visible()
    # The diary is private in the demo: no diary statements reach the coordinator.
    expect(desk.locator("main")).not_to_contain_text("Diary, ")
    statement = desk.locator("#not-working .app-statement p").first.inner_text()

    # In print: no header, navigation or buttons; the charts stay.
    desk.emulate_media(media="print")
    expect(desk.locator("header.nhsuk-header")).to_be_hidden()
    expect(desk.locator(".nhsuk-footer")).to_be_hidden()
    expect(desk.get_by_role("link", name="Download PDF")).to_be_hidden()
    expect(desk.locator("svg.app-chart").first).to_be_visible()
    expect(desk.locator("#change")).to_be_visible()
    printed = pdf_text(desk.pdf(prefer_css_page_size=True, print_background=False))
    desk.emulate_media(media="screen")
    expect(desk.locator("header.nhsuk-header")).to_be_visible()
    assert f"Question: {question}" in printed
    assert " ".join(statement.split())[:40] in printed
    assert "What's not working" in printed
    assert "Sign out" not in printed and "Caseload" not in printed

    # The Download PDF link gives the same document, made on the server.
    with desk.expect_download() as download:
        desk.get_by_role("link", name="Download PDF").click()
    path = tmp_path / "summary.pdf"
    download.value.save_as(path)
    assert download.value.suggested_filename == "pre-review-summary.pdf"
    downloaded = pdf_text(path.read_bytes())
    assert f"Question: {question}" in downloaded
    assert " ".join(statement.split())[:40] in downloaded
    assert "Pre-review summary" in downloaded and "Sam Patel" in downloaded
    browser_log.assert_clean()


def test_the_carer_asks_for_an_early_review_and_the_coordinator_schedules_it(
    new_phone, browser_log: BrowserLog
) -> None:
    what = unique("Sam came home from hospital on Friday")
    carer = new_phone()
    sign_in(carer, DEMO_USERS["carer"])
    carer.get_by_role("link", name="Reviews", exact=True).click()
    expect(carer.get_by_role("heading", level=1)).to_have_text("Reviews")
    carer.get_by_role("link", name="Ask for an early review").click()
    carer.get_by_label("Coming out of hospital").check()
    carer.get_by_label("What has changed?").fill(what)
    carer.get_by_label("Within a week").check()
    carer.get_by_role("button", name="Send request").click()
    expect(carer.locator(".app-flash")).to_contain_text("has been sent to the care coordinator")
    card = carer.locator(".nhsuk-card").filter(has_text=what)
    expect(card.locator(".nhsuk-tag")).to_have_text("Requested")
    record = record_path(carer)

    desk = new_phone(**DESKTOP)
    sign_in(desk, DEMO_USERS["coordinator"])
    row = desk.locator("tbody tr").filter(has_text="Sam Patel")
    expect(row).to_contain_text("waiting")
    desk.goto(f"{record}/reviews")
    desk.locator(".nhsuk-card").filter(has_text=what).get_by_role(
        "link", name="Respond to this request"
    ).click()
    expect(desk.get_by_role("heading", level=1)).to_have_text("Early review request")
    expect(desk.locator("main")).to_contain_text(what)
    desk.get_by_role("button", name="Acknowledge request").click()
    expect(desk.locator(".app-flash")).to_contain_text("You have acknowledged the request")
    expect(desk.get_by_role("button", name="Acknowledge request")).to_have_count(0)

    on = date.today() + timedelta(days=14)
    dates = desk.get_by_role("group", name="Date of the review")
    dates.get_by_label("Day").fill(str(on.day))
    dates.get_by_label("Month").fill(str(on.month))
    dates.get_by_label("Year").fill(str(on.year))
    desk.get_by_label("Message to the person (optional)").fill("I will ring to arrange the time.")
    desk.get_by_role("button", name="Schedule review").click()
    expect(desk.get_by_role("heading", level=1)).to_have_text("Your caseload")
    expect(desk.locator(".app-flash")).to_contain_text("The early review has been scheduled")
    on_words = f"{on.day} {on:%B %Y}"
    expect(desk.locator("tbody tr").filter(has_text="Sam Patel")).to_contain_text(on_words)

    carer.reload()
    card = carer.locator(".nhsuk-card").filter(has_text=what)
    expect(card.locator(".nhsuk-tag")).to_have_text("Scheduled")
    expect(card).to_contain_text(f"Review on {on_words}")
    expect(card.locator(".app-timeline li")).to_have_count(3)
    expect(card).to_contain_text("Acknowledged")
    expect(card).to_contain_text("I will ring to arrange the time.")
    expect(carer.locator("main")).to_contain_text(f"The next review is due on {on_words}")
    browser_log.assert_clean()
