"""Accessibility of every page, for every role, in a real browser on a phone.

Each role's pages are found by crawling the links a person can follow from where
they land after signing in, one page per route (the same template with another
id adds nothing), plus the few pages no link leads to (reached from an email, a
redirect or a form). On each page:

* axe-core (from npm, injected) finds no serious or critical violation of WCAG 2.2
  A/AA or of axe's best practices;
* at 320 CSS px wide (WCAG 1.4.10, reflow) nothing scrolls sideways;
* at 200% zoom of a 1280 px wide window (640 CSS px, WCAG 1.4.4) nothing scrolls
  sideways either;
* status is never shown by colour alone: every tag has words;
* the live region that reads out htmx updates is there.

A last test checks that together the crawls reached every page the app has.
Focus, reduced motion and announcements after htmx updates have their own tests.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
from flask import Flask
from playwright.sync_api import Page, expect
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect

from tracker import create_app

from .axe import Violation, blocking, require_axe, run_axe
from .liveserver import LiveServer
from .pages import DEMO_USERS, BrowserLog, sign_in

pytestmark = pytest.mark.browser

# Routes that are not pages: files, data and redirects.
NOT_PAGES = {
    "static",
    "system.assets",
    "system.healthz",
    "system.service_worker",
    "system.manifest",
    "reviews.prepare_pdf",
    "reviews.summary_pdf",
    "fhir.export_bundle",  # downloads, a calendar feed and a photo: not pages
    "data.export_json",
    "data.calendar_feed",
    "receipts.show",
    "budget.statement_csv",
    # Shown once, just after an account is deleted: checked with axe in
    # test_a_carer_deletes_their_account_on_a_phone_and_every_step_is_accessible.
    "account_deletion.done",
    "home.index",  # only redirects to where each person starts
}
NARROW = {"width": 320, "height": 720}
ZOOMED = {"width": 640, "height": 400}  # a 1280 × 800 window at 200%

# Pages reached by each role's crawl, filled in as the tests run (for the last test).
REACHED: dict[str, set[str]] = {}


@dataclass
class Findings:
    pages: dict[str, str] = field(default_factory=dict)  # endpoint -> path visited
    violations: list[Violation] = field(default_factory=list)
    too_wide: list[str] = field(default_factory=list)
    colour_only: list[str] = field(default_factory=list)
    no_announcer: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        return [
            *(str(v) for v in blocking(self.violations)),
            *self.too_wide,
            *self.colour_only,
            *(f"{p}: no #app-announcer live region" for p in self.no_announcer),
            *self.errors,
        ]


@pytest.fixture(scope="module")
def routes(live_server: LiveServer) -> Flask:
    """The app on the live server's data: its URL map, and domain modules for set-up."""
    return create_app({"ENV_NAME": "test", "TRACKER_DATA_DIR": str(live_server.data_dir)})


def endpoint_of(app: Flask, path: str) -> str | None:
    adapter = app.url_map.bind("localhost")
    try:
        endpoint, _ = adapter.match(path, method="GET")
    except RequestRedirect as redirect:
        return endpoint_of(app, urlsplit(redirect.new_url).path)
    except HTTPException:
        return None
    return endpoint


WIDTH = """async () => {
    await document.fonts.ready;
    await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    const w = window.innerWidth;
    const over = [...document.querySelectorAll("body *")]
        .filter((e) => e.getBoundingClientRect().right > w + 0.5)
        .filter((e) => !e.closest(".nhsuk-u-visually-hidden, [hidden]"))
        .slice(0, 4)
        .map((e) => [e.tagName.toLowerCase(), ...e.classList].join("."));
    return {scroll: document.documentElement.scrollWidth, inner: w, over};
}"""

COLOUR_ONLY = """() => [...document.querySelectorAll(".nhsuk-tag, [class*='app-status']")]
    .filter((e) => !e.textContent.trim())
    .map((e) => e.outerHTML.slice(0, 80))"""


def check_page(page: Page, path: str, found: Findings, width: int) -> None:
    found.violations += run_axe(page)
    measured = page.evaluate(WIDTH)
    if max(measured["scroll"], measured["inner"]) > width:
        found.too_wide.append(
            f"{path}: scrolls sideways at {width} px (scrollWidth {measured['scroll']}; "
            f"past the edge: {measured['over']})"
        )
    for tag in page.evaluate(COLOUR_ONLY):
        found.colour_only.append(f"{path}: a status shown by colour only: {tag}")
    in_layout = page.locator("body[data-signed-out]").count()  # not /offline, which stands alone
    if in_layout and not page.locator("#app-announcer[role=status][aria-live=polite]").count():
        found.no_announcer.append(path)


def links_on(page: Page, origin: str) -> list[str]:
    hrefs = page.eval_on_selector_all(
        "a[href]:not([download])", "(links) => links.map((a) => a.href)"
    )
    paths = []
    for href in hrefs:
        parts = urlsplit(href)
        if f"{parts.scheme}://{parts.netloc}" == origin:
            paths.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return paths


def crawl(page: Page, app: Flask, origin: str, start: list[str], zoom: bool = False) -> Findings:
    """Visit one page per route reachable from ``start``; check each one (see the docstring).

    A start page may answer 4xx on purpose (an invitation that does not exist); a
    page reached by following a link must not. With ``zoom``, each page is also laid
    out 640 CSS px wide: what a 1280 px wide window shows at 200% zoom.
    """
    found = Findings()
    queue = [(path, False) for path in start]
    while queue:
        path, linked = queue.pop(0)
        endpoint = endpoint_of(app, urlsplit(path).path)
        if endpoint is None or endpoint in NOT_PAGES or endpoint in found.pages:
            continue
        response = page.goto(path, wait_until="load")
        status = response.status if response else 0
        if status >= 500 or (linked and status >= 400) or not status:
            found.errors.append(f"{path}: status {status}")
            continue
        final = endpoint_of(app, urlsplit(page.url).path)
        found.pages[endpoint] = path
        if final != endpoint:  # a redirect: check (and count) the page it led to
            if final in found.pages or final is None:
                continue
            found.pages[final] = urlsplit(page.url).path
        check_page(page, path, found, NARROW["width"])
        queue += [(link, True) for link in links_on(page, origin)]
        if zoom:
            page.set_viewport_size(ZOOMED)
            measured = page.evaluate(WIDTH)
            page.set_viewport_size(NARROW)
            if max(measured["scroll"], measured["inner"]) > ZOOMED["width"]:
                found.too_wide.append(
                    f"{path}: scrolls sideways at 200% zoom (scrollWidth "
                    f"{measured['scroll']}; past the edge: {measured['over']})"
                )
    return found


@pytest.fixture
def narrow_phone(new_phone: Callable[..., Page]) -> Page:
    """A Pixel 7 that is only 320 CSS px wide (the smallest phones, and WCAG's reflow width)."""
    return new_phone(viewport=NARROW)


def person_record(app: Flask) -> str:
    from tracker import accounts, sharing
    from tracker.roles import Role

    with app.app_context():
        sam = accounts.find_account_by_email(DEMO_USERS["person"])
        (owned,) = [m for m in sharing.memberships_of_user(sam.id) if m.role is Role.OWNER]
        return owned.record_id


def low_confidence_action(app: Flask, record_id: str) -> str:
    """An action the person is not confident about: its "smaller step" page exists."""
    from tracker import actions

    with app.app_context():
        return next(
            a.id
            for a in actions.list_actions(record_id)
            if a.owner is actions.Owner.ME and a.confidence is not None and a.confidence < 6
        )


def shared_summary(app: Flask, record_id: str) -> None:
    """The person has shared a pre-review summary (its evidence pages are for the coordinator)."""
    from tracker import accounts, summaries

    with app.app_context():
        if summaries.latest_shared(record_id) is None:
            sam = accounts.find_account_by_email(DEMO_USERS["person"])
            summaries.share(record_id, by=sam.id)


def open_review_request(app: Flask) -> str:
    """An early review request on someone else on the caseload; its path for the coordinator."""
    from tracker import accounts, records, reviews, sharing

    with app.app_context():
        jo = accounts.find_account_by_email(DEMO_USERS["coordinator"])
        by_id = records.records_by_id({m.record_id for m in sharing.memberships_of_user(jo.id)})
        other = next(r for r in by_id.values() if r.name != "Sam Patel")
        open_ = reviews.open_requests(other.id)
        request = open_[0] if open_ else None
        if request is None:
            request = reviews.request_review(
                other.id,
                reason=reviews.Reason.SUPPORT_CHANGE,
                what_changed="My personal assistant is leaving at the end of the month.",
                urgency=reviews.Urgency.MONTH,
                by=jo.id,
            )
        return f"/records/{other.id}/reviews/requests/{request.id}"


def report(role: str, found: Findings) -> None:
    __tracebackhide__ = True
    REACHED[role] = set(found.pages)
    problems = found.problems()
    if problems:
        pytest.fail(
            f"{len(problems)} accessibility problems on {len(found.pages)} pages for the "
            f"{role}:\n  " + "\n  ".join(problems),
            pytrace=False,
        )


# --- every page, each role --------------------------------------------------------


def test_every_page_signed_out_is_accessible(
    narrow_phone: Page, routes: Flask, live_server: LiveServer, browser_log: BrowserLog
) -> None:
    require_axe()
    browser_log.allow(r"status of 404")  # the invitation that does not exist
    start = ["/sign-in", "/sign-up", "/help-now", "/offline", "/invitations/no-such-invitation"]
    found = crawl(narrow_phone, routes, live_server.url, start)
    report("signed out", found)
    browser_log.assert_clean()


@pytest.mark.parametrize("role", ["person", "carer", "coordinator"])
def test_every_page_each_role_can_reach_is_accessible(
    role: str,
    narrow_phone: Page,
    routes: Flask,
    live_server: LiveServer,
    browser_log: BrowserLog,
) -> None:
    require_axe()
    # Pages that are not found answer 404 by design, and some pages refuse a role.
    browser_log.allow(r"status of 404")
    sign_in(narrow_phone, DEMO_USERS[role])
    record_id = person_record(routes)
    start = [urlsplit(narrow_phone.url).path]
    if role == "person":
        action_id = low_confidence_action(routes, record_id)
        start += [
            "/account/confirm-password",
            f"/records/{record_id}/actions/{action_id}/smaller-step",
        ]
    if role == "coordinator":
        # Sam's record first: the person in the demo with everything shared.
        shared_summary(routes, record_id)
        start += [f"/records/{record_id}/summary", open_review_request(routes), "/start"]
    found = crawl(narrow_phone, routes, live_server.url, start, zoom=True)
    assert len(found.pages) >= 10, f"the crawl found too few pages: {found.pages}"
    report(role, found)
    browser_log.assert_clean()


def test_together_the_crawls_reached_every_page(routes: Flask) -> None:
    roles = {"signed out", "person", "carer", "coordinator"}
    if set(REACHED) != roles:
        pytest.skip("needs every crawl above to have run in this session")
    pages = {
        rule.endpoint
        for rule in routes.url_map.iter_rules()
        if "GET" in (rule.methods or ()) and rule.endpoint not in NOT_PAGES
    }
    reached = set().union(*REACHED.values())
    assert pages - reached == set(), "pages no crawl reached: add a link or a start page"


# --- focus, motion, announcements, colour -----------------------------------------


FOCUS_STYLE = """(e) => {
    const s = getComputedStyle(e);
    return [s.outlineStyle, s.outlineWidth, s.outlineColor, s.boxShadow, s.backgroundColor,
            s.color, s.textDecorationLine, s.textDecorationThickness, s.borderColor].join("|");
}"""


@pytest.mark.parametrize("where", ["today", "diary/new", "goal"])
def test_keyboard_focus_is_always_visible_and_starts_at_the_skip_link(
    where: str, phone: Page, routes: Flask, browser_log: BrowserLog
) -> None:
    sign_in(phone, DEMO_USERS["person"])
    record_id = person_record(routes)
    if where == "goal":
        phone.goto(f"/records/{record_id}/plan")
        phone.locator("a[href*='/goals/']").first.click()
    else:
        phone.goto(f"/records/{record_id}/{where}")
    phone.keyboard.press("Tab")
    first = phone.evaluate("() => document.activeElement.textContent.trim()")
    assert first == "Skip to main content"
    invisible = []
    seen = 0
    for _ in range(40):
        focused = phone.evaluate_handle("() => document.activeElement")
        element = focused.as_element()
        if element is None or phone.evaluate("(e) => e === document.body", element):
            break
        style = phone.evaluate(FOCUS_STYLE, element)
        box = element.bounding_box()
        phone.evaluate("(e) => e.blur()", element)
        unfocused = phone.evaluate(FOCUS_STYLE, element)
        phone.evaluate("(e) => e.focus({focusVisible: true})", element)
        label = phone.evaluate(
            "(e) => e.tagName + ' ' + (e.textContent || e.name || '').trim().slice(0, 40)",
            element,
        )
        if style == unfocused:
            invisible.append(label)
        if box is None or box["width"] == 0 or box["height"] == 0:
            invisible.append(f"{label} (has no size on screen)")
        seen += 1
        phone.keyboard.press("Tab")
    assert seen >= 8, f"only {seen} elements took focus"
    assert not invisible, f"focus is not visible on: {invisible}"
    browser_log.assert_clean()


MOTION = """() => {
    const moving = [];
    for (const e of document.querySelectorAll("*")) {
        const s = getComputedStyle(e);
        const transition = s.transitionDuration.split(",").some((d) => parseFloat(d) > 0);
        const animation = s.animationName !== "none" && parseFloat(s.animationDuration) > 0;
        if (transition || animation) moving.push(e.tagName + "." + [...e.classList].join("."));
    }
    const smooth = getComputedStyle(document.documentElement).scrollBehavior;
    return {moving: moving.slice(0, 5), smooth};
}"""


def test_reduced_motion_is_respected(
    new_phone: Callable[..., Page], routes: Flask, browser_log: BrowserLog
) -> None:
    phone = new_phone(reduced_motion="reduce")
    sign_in(phone, DEMO_USERS["person"])
    record_id = person_record(routes)
    for path in [f"/records/{record_id}/today", f"/records/{record_id}/plan", "/sign-out"]:
        phone.goto(path)
        assert phone.evaluate("() => matchMedia('(prefers-reduced-motion: reduce)').matches")
        found = phone.evaluate(MOTION)
        assert found["moving"] == [], f"{path}: still moves: {found['moving']}"
        assert found["smooth"] != "smooth"
    browser_log.assert_clean()


def test_htmx_updates_are_read_out_and_keep_focus_in_place(
    phone: Page, routes: Flask, browser_log: BrowserLog
) -> None:
    sign_in(phone, DEMO_USERS["person"])
    record_id = person_record(routes)
    phone.goto(f"/records/{record_id}/mood")
    announcer = phone.locator("#app-announcer")
    expect(announcer).to_have_attribute("aria-live", "polite")
    expect(announcer).to_be_empty()
    # A keyboard user checks in: the live region says so, and focus stays in the check-in.
    okay = phone.get_by_role("button", name="Okay", exact=True)
    okay.focus()
    with phone.expect_response(re.compile(r"/mood$")):
        phone.keyboard.press("Enter")
    expect(announcer).to_have_text(re.compile(r"^Saved\. You said: okay\."))
    assert phone.evaluate(
        "() => document.getElementById('mood-checkin').contains(document.activeElement)"
    ), "focus went back to the top of the page"
    # The same on a goal: changing its status, then back (other tests read the demo goals).
    phone.goto(f"/records/{record_id}/plan")
    phone.locator("a[href*='/goals/']").first.click()
    items = phone.locator("#goal-status .nhsuk-radios__item")
    phone.get_by_text("Change the status").click()
    original = items.filter(has=phone.locator("input:checked")).locator("label").inner_text()
    items.filter(has=phone.locator("input:not(:checked)")).first.locator("label").click()
    phone.get_by_role("button", name="Save status").click()
    expect(announcer).to_have_text(re.compile(r"^Saved\. The goal is now: "))
    phone.get_by_text("Change the status").click()
    exactly = re.compile(rf"^\s*{re.escape(original.strip())}\s*$")
    phone.locator("#goal-status .nhsuk-radios__label", has_text=exactly).click()
    phone.get_by_role("button", name="Save status").click()
    expect(announcer).to_have_text(f"Saved. The goal is now: {original.strip().lower()}.")
    browser_log.assert_clean()


def test_statuses_are_never_shown_by_colour_alone(
    phone: Page, routes: Flask, browser_log: BrowserLog
) -> None:
    """Tags carry words; mood faces are decoration beside words; charts have text."""
    sign_in(phone, DEMO_USERS["person"])
    record_id = person_record(routes)
    phone.goto(f"/records/{record_id}/plan")
    tags = phone.locator(".nhsuk-tag")
    assert tags.count() > 0
    for text in tags.all_inner_texts():
        assert text.strip(), "a tag with no words"
    phone.goto(f"/records/{record_id}/mood")
    for face in phone.locator("svg.app-face").all():
        expect(face).to_have_attribute("aria-hidden", "true")
    buttons = phone.locator(".app-mood-choices button")
    for text in buttons.all_inner_texts():
        assert text.strip() in {"Very low", "Low", "Okay", "Good", "Very good"}
    phone.goto(f"/records/{record_id}/trends")
    charts = phone.locator("svg")
    for chart in charts.all():
        hidden = chart.get_attribute("aria-hidden") == "true"
        named = chart.get_attribute("aria-label") or chart.locator("title").count()
        assert hidden or named, "a chart without a text alternative"
    browser_log.assert_clean()


def test_a_carer_deletes_their_account_on_a_phone_and_every_step_is_accessible(
    routes: Flask, narrow_phone: Page, browser_log: BrowserLog
) -> None:
    """The one-time "deleted" page is reached only this way, so the crawls cannot find it."""
    import secrets

    from tracker import accounts, sharing
    from tracker.roles import Role

    require_axe()
    browser_log.allow(r"status of 422")  # the form sent empty, on purpose
    email = f"leaving-{secrets.token_hex(4)}@example.com"
    password = "a long test password"
    with routes.app_context():
        carer = accounts.create_account(email, "Lee Leaving", password)
        sharing.add_member(person_record(routes), carer.id, Role.CARER)
    phone = narrow_phone
    sign_in(phone, email, password)
    phone.goto("/account")
    phone.get_by_role("link", name=re.compile("Delete your account")).click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Delete your account")
    assert blocking(run_axe(phone)) == []
    phone.get_by_role("button", name="Delete my account").click()
    expect(phone.locator(".nhsuk-error-summary")).to_be_visible()
    assert blocking(run_axe(phone)) == []
    phone.get_by_label(re.compile("I understand that my account will be deleted")).check()
    phone.get_by_label("Your password", exact=True).fill(password)
    phone.get_by_role("button", name="Delete my account").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Your account has been deleted")
    assert blocking(run_axe(phone)) == []
    with routes.app_context():
        assert accounts.find_account_by_email(email) is None
    browser_log.assert_clean()
