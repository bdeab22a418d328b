"""The installable, offline-capable app in a real Chromium on a phone.

Installability comes from Chromium itself (CDP ``Page.getInstallabilityErrors``).
Offline logging is tested end to end: forms filled with the connection off are
kept in IndexedDB by the service worker, then sent when it comes back, and what
reached the server is read from the live server's data folder through the
tracker's own domain modules. Every test waits for the worker to be *activated*
(``navigator.serviceWorker.ready`` can resolve while it is still activating).
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Page, Playwright, Route, expect

from tracker import create_app

from .conftest import CHROMIUM_ARGS, DEVICE, TIMEOUT_MS
from .liveserver import LiveServer
from .pages import DEMO_USERS, BrowserLog, sign_in

pytestmark = pytest.mark.browser

SAVED_OFFLINE = "saved on this phone — will send when you're back online"
SAVED_OFFLINE_RE = re.compile(re.escape(SAVED_OFFLINE), re.I)
# The network is off in these tests on purpose; Chromium logs the failed fetches.
OFFLINE_NOISE = r"net::ERR_INTERNET_DISCONNECTED|Failed to load resource|Failed to fetch"

WAIT_FOR_WORKER = """async () => {
    const registration = await navigator.serviceWorker.ready;
    const worker = registration.active;
    if (worker.state !== "activated") {
        await new Promise((resolve) => worker.addEventListener("statechange", () => {
            if (worker.state === "activated") resolve();
        }));
    }
    return registration.scope;
}"""

CACHED = """async () => {
    const found = {};
    for (const name of await caches.keys()) {
        const cache = await caches.open(name);
        found[name] = [];
        for (const request of await cache.keys()) {
            const response = await cache.match(request);
            found[name].push({url: new URL(request.url).pathname, body: await response.text()});
        }
    }
    return found;
}"""

STORED = """async () => {
    const names = (await indexedDB.databases()).map((d) => d.name);
    const found = {};
    for (const name of names) {
        const db = await new Promise((ok, bad) => {
            const open = indexedDB.open(name);
            open.onsuccess = () => ok(open.result);
            open.onerror = () => bad(open.error);
        });
        for (const store of db.objectStoreNames) {
            found[name + "/" + store] = await new Promise((ok, bad) => {
                const get = db.transaction(store).objectStore(store).getAll();
                get.onsuccess = () => ok(get.result);
                get.onerror = () => bad(get.error);
            });
        }
        db.close();
    }
    return found;
}"""


def controlled_by_worker(page: Page) -> str:
    """Wait until the service worker is activated and controls ``page``; return its scope."""
    scope = page.evaluate(WAIT_FOR_WORKER)
    if not page.evaluate("() => navigator.serviceWorker.controller !== null"):
        page.reload(wait_until="load")  # clients.claim() normally makes this unnecessary
    assert page.evaluate("() => navigator.serviceWorker.controller !== null")
    return scope


def outbox(page: Page) -> dict[str, list]:
    stored = page.evaluate(STORED)
    return {
        "waiting": stored.get("tracker-outbox/outbox", []),
        "refused": stored.get("tracker-outbox/refused", []),
    }


def person_phone_with_worker(new_phone: Callable[..., Page]) -> tuple[Page, str]:
    """The demo person signed in on a new phone its service worker controls: (phone, record id)."""
    phone = new_phone()
    sign_in(phone, DEMO_USERS["person"])
    record_id = record_id_of(phone)
    controlled_by_worker(phone)
    return phone, record_id


def new_carer_of_sam(
    live_app: Flask, new_phone: Callable[..., Page], name: str
) -> tuple[Any, Any, Page]:
    """A new carer for the demo person, signed in on a new phone: (record, membership, phone)."""
    from tracker import accounts, records, sharing
    from tracker.roles import Role

    email = f"carer-{secrets.token_hex(4)}@example.com"
    password = "a long test password"
    with live_app.app_context():
        sam = accounts.find_account_by_email(DEMO_USERS["person"])
        (record,) = [
            r
            for m in sharing.memberships_of_user(sam.id)
            if m.role is Role.OWNER
            for r in [records.get_record(m.record_id)]
        ]
        carer = accounts.create_account(email, name, password)
        membership = sharing.add_member(record.id, carer.id, Role.CARER)
    phone = new_phone()
    sign_in(phone, email, password)
    return record, membership, phone


def wait_for(check: Callable[[], bool], what: str, timeout: float = 15) -> None:
    """Poll ``check`` (a server-side or storage check) until it holds."""
    __tracebackhide__ = True
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    pytest.fail(f"timed out after {timeout} s waiting for {what}", pytrace=False)


@pytest.fixture(scope="module")
def live_app(live_server: LiveServer) -> Iterator[Flask]:
    """The tracker's domain modules on the live server's data folder (for checks and setup)."""
    app = create_app({"ENV_NAME": "test", "TRACKER_DATA_DIR": str(live_server.data_dir)})
    yield app


def record_id_of(page: Page) -> str:
    match = re.search(r"/records/([a-z0-9]+)/", page.url)
    assert match, f"not on a record's page: {page.url}"
    return match.group(1)


# --- install ----------------------------------------------------------------------


def test_chromium_reports_the_app_installable_with_no_errors(
    playwright: Playwright,
    chromium_executable: str,
    live_server: LiveServer,
    browser_log: BrowserLog,
    tmp_path: Path,
) -> None:
    # Browser contexts are off the record, and Chromium never offers to install an app
    # from an incognito profile ("in-incognito"): use a fresh profile on disk.
    options = dict(playwright.devices[DEVICE])
    options.pop("default_browser_type", None)
    context = playwright.chromium.launch_persistent_context(
        tmp_path / "profile",
        executable_path=chromium_executable,
        headless=True,
        args=CHROMIUM_ARGS,
        base_url=live_server.url,
        **options,
    )
    try:
        context.set_default_timeout(TIMEOUT_MS)
        phone = context.pages[0] if context.pages else context.new_page()
        browser_log.watch(phone)
        phone.goto("/sign-in")
        scope = controlled_by_worker(phone)
        assert scope == live_server.url + "/"
        cdp = context.new_cdp_session(phone)
        manifest = cdp.send("Page.getAppManifest")
        assert manifest["url"] == live_server.url + "/manifest.webmanifest"
        assert manifest["errors"] == []
        errors = cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
        assert errors == [], f"Chromium says the app is not installable: {errors}"
        assert cdp.send("Page.getAppId")["appId"] == live_server.url + "/"
        browser_log.assert_clean()
    finally:
        context.close()


def test_service_worker_is_served_uncached_and_controls_the_whole_site(
    phone: Page, live_server: LiveServer
) -> None:
    response = phone.request.get("/service-worker.js")
    assert response.ok
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["content-type"].startswith("text/javascript")
    phone.goto("/sign-in")
    assert controlled_by_worker(phone) == live_server.url + "/"
    registration = phone.evaluate(
        """async () => {
            const r = await navigator.serviceWorker.getRegistration("/records/x/today");
            return {scope: r.scope, script: r.active.scriptURL, cache: r.updateViaCache};
        }"""
    )
    assert registration == {
        "scope": live_server.url + "/",
        "script": live_server.url + "/service-worker.js",
        "cache": "imports",
    }
    # The app shell is precached under a versioned name, with the offline page.
    cached = phone.evaluate(CACHED)
    (shell,) = [n for n in cached if n.startswith("shell-")]
    version = re.search(r'const VERSION = "([0-9a-f]+)"', response.text()).group(1)
    assert shell == f"shell-{version}"
    urls = {entry["url"] for entry in cached[shell]}
    assert {"/offline", "/static/js/app.js", "/static/css/app.css"} <= urls


# --- offline ----------------------------------------------------------------------


def test_three_entries_logged_offline_reach_the_server_exactly_once_each(
    new_phone: Callable[..., Page], live_app: Flask, browser_log: BrowserLog
) -> None:
    from tracker import logs

    browser_log.allow(OFFLINE_NOISE)
    today, record_id = person_phone_with_worker(new_phone)
    today.reload()  # now through the worker, which keeps a copy of Today
    expect(today.get_by_role("heading", level=1)).to_have_text(re.compile(r"^Today"))

    # Two more forms, opened while online, as a person would have them open.
    reading = today.context.new_page()
    reading.goto(f"/records/{record_id}/today")
    reading.get_by_role("link", name="Log breathlessness").click()
    expect(reading.get_by_role("heading", level=1)).to_have_text("Breathlessness")
    diary = today.context.new_page()
    diary.goto(f"/records/{record_id}/diary/new")
    expect(diary.get_by_role("heading", level=1)).to_have_text("Write in your diary")

    marker = f"offline-{secrets.token_hex(4)}"
    started = datetime.now(UTC)
    today.context.set_offline(True)
    assert today.evaluate("() => navigator.onLine") is False

    # 1. Mood, the one-tap check-in on Today (an htmx form).
    today.get_by_text("Add a note first (optional)").click()
    today.get_by_label("Anything to add? (optional)").fill(f"{marker} mood")
    today.get_by_role("button", name="Good", exact=True).click()
    expect(today.locator("#mood-checkin, .app-saved-offline").first).to_contain_text(
        SAVED_OFFLINE_RE
    )

    # 2. A symptom reading (a plain form post: the worker answers with a page).
    reading.get_by_text("Another time, or add a note").click()
    reading.get_by_label("Note (optional)").fill(f"{marker} reading")
    reading.get_by_role("button", name="3", exact=True).click()
    expect(reading.get_by_role("heading", level=1)).to_have_text("Saved on this phone")
    expect(reading.get_by_role("status")).to_contain_text(SAVED_OFFLINE_RE)

    # 3. A diary entry.
    diary.get_by_label("What happened?").fill(f"{marker} diary: wrote this on the bus")
    diary.get_by_role("button", name="Save entry").click()
    expect(diary.get_by_role("status")).to_contain_text(SAVED_OFFLINE_RE)

    waiting = outbox(today)["waiting"]
    assert len(waiting) == 3, waiting
    assert len({item["key"] for item in waiting}) == 3, "each entry has its own client key"
    assert all(re.fullmatch(r"[0-9a-f]{32}", item["key"]) for item in waiting)

    # Reload while still offline: the saved copy of Today, saying when it was saved,
    # and the count of entries waiting to be sent.
    today.reload()
    expect(today.get_by_role("heading", level=1)).to_have_text(re.compile(r"^Today"))
    notice = today.locator("[data-saved-notice]")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text(re.compile(r"copy saved on this phone, last updated \S"))
    expect(today.locator("#outbox-status")).to_contain_text(
        "3 entries saved on this phone — will send when you're back online"
    )

    def ours() -> list[dict]:
        with live_app.app_context():
            docs = logs.raw_entries(
                record_id,
                kinds=[logs.Kind.MOOD, logs.Kind.READING, logs.Kind.DIARY],
                recorded_since=started,
            )
        return [d for d in docs if marker in str(d["data"])]

    assert ours() == [], "nothing may reach the server while offline"

    today.context.set_offline(False)
    try:
        wait_for(lambda: len(ours()) >= 3, "the three entries to reach the server", timeout=45)
    except BaseException:
        # What the phone still holds, for the failure report.
        print("outbox:", outbox(today), "on the server:", ours())
        raise
    expect(today.locator("#outbox-status")).to_be_empty()
    wait_for(lambda: outbox(today)["waiting"] == [], "the outbox to empty")
    # Background Sync, the online event and page loads may all try to send: still three.
    today.reload()
    expect(today.locator("#outbox-status")).to_be_empty()
    saved = ours()
    assert len(saved) == 3, saved
    assert sorted(d["kind"] for d in saved) == ["diary", "mood", "reading"]
    mood = next(d for d in saved if d["kind"] == "mood")
    assert mood["data"]["score"] == 4
    reading_doc = next(d for d in saved if d["kind"] == "reading")
    assert reading_doc["data"]["value"] == 3
    assert outbox(today)["refused"] == []
    expect(today.locator("[data-saved-notice]")).to_be_hidden()
    browser_log.assert_clean()


def test_a_replay_the_server_refuses_is_reported_not_dropped(
    new_phone: Callable[..., Page], live_app: Flask, browser_log: BrowserLog
) -> None:
    """A carer logs support offline; the person stops sharing before the phone is back online."""
    from tracker import logs, sharing

    browser_log.allow(OFFLINE_NOISE)
    browser_log.allow(r"status of 40[34]")
    record, membership, phone = new_carer_of_sam(live_app, new_phone, "Casey Relief")
    assert record_id_of(phone) == record.id
    controlled_by_worker(phone)
    phone.goto(f"/records/{record.id}/support/new")
    marker = f"refused-{secrets.token_hex(4)}"
    phone.context.set_offline(True)
    phone.get_by_label("Something I noticed").check()
    phone.get_by_label("What was it?").fill(f"{marker}: Sam seemed brighter")
    phone.get_by_role("button", name="Save").click()
    expect(phone.get_by_role("status")).to_contain_text(SAVED_OFFLINE_RE)
    assert len(outbox(phone)["waiting"]) == 1

    with live_app.app_context():
        assert sharing.revoke_member(record.id, membership.id)

    phone.context.set_offline(False)
    phone.goto("/")  # a page load sends the outbox too
    refused = phone.locator("#outbox-status .nhsuk-warning-callout")
    expect(refused).to_contain_text("Some entries could not be sent")
    expect(refused).to_contain_text("1 entry saved on this phone was not accepted")
    assert len(outbox(phone)["refused"]) == 1
    assert outbox(phone)["waiting"] == []
    with live_app.app_context():
        docs = logs.raw_entries(record.id, kinds=[logs.Kind.SUPPORT])
        assert not [d for d in docs if marker in str(d["data"])], "a revoked carer wrote"
    # It stays until the person says they have read it, on every page.
    phone.reload()
    expect(refused).to_be_visible()
    refused.get_by_role("button", name="I understand").click()
    expect(refused).to_have_count(0)
    wait_for(lambda: outbox(phone)["refused"] == [], "the refused entry to be forgotten")
    browser_log.assert_clean()


def test_signing_out_leaves_nothing_of_the_record_in_cache_storage_or_indexeddb(
    new_phone: Callable[..., Page], browser_log: BrowserLog
) -> None:
    browser_log.allow(OFFLINE_NOISE)
    phone, record_id = person_phone_with_worker(new_phone)
    for page in ["today", "plan", "help-now"]:
        phone.goto(f"/records/{record_id}/{page}")
    # And one entry still waiting to be sent: the server cannot be reached for it (the
    # phone is online, so the worker keeps trying, and the entry stays waiting).
    phone.context.route(
        re.compile(r".*/diary/new$"),
        lambda route: route.abort() if route.request.method == "POST" else route.continue_(),
    )
    phone.goto(f"/records/{record_id}/diary/new")
    phone.get_by_label("What happened?").fill("Something private")
    phone.get_by_role("button", name="Save entry").click()
    expect(phone.get_by_role("status")).to_contain_text(SAVED_OFFLINE_RE)
    # Queued on the failed request alone: the phone itself says it is online.
    assert phone.evaluate("() => navigator.onLine") is True

    cached = phone.evaluate(CACHED)
    saved_urls = {e["url"] for entries in cached.values() for e in entries}
    assert f"/records/{record_id}/today" in saved_urls, "the worker kept no copy of Today"
    assert len(outbox(phone)["waiting"]) == 1, "the entry should be waiting"

    phone.goto("/sign-out")
    # The person is warned that signing out deletes what has not been sent.
    expect(phone.locator("#outbox-status")).to_contain_text(
        "If you sign out now, it will be deleted from this phone without being sent."
    )
    phone.get_by_role("button", name="Sign out").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Sign in")

    def nothing_left() -> bool:
        stored = phone.evaluate(STORED)
        cached = phone.evaluate(CACHED)
        texts = [e["url"] + e["body"] for entries in cached.values() for e in entries]
        return (
            not any(stored.values())
            and not any("/records/" in t or "Sam Patel" in t for t in texts)
            and "pages" not in cached
        )

    wait_for(nothing_left, "the saved pages and the outbox to be cleared")
    # Only the app shell is left: the same for everyone.
    cached = phone.evaluate(CACHED)
    assert [n for n in cached if not n.startswith("shell-")] == []
    # htmx keeps only the current path in sessionStorage; no page snapshots (history is off).
    web_storage = phone.evaluate(
        "() => JSON.stringify([Object.entries(localStorage), Object.entries(sessionStorage)])"
    )
    assert "/records/" not in web_storage
    assert "Sam Patel" not in web_storage
    browser_log.assert_clean()


def test_a_carer_whose_access_ends_keeps_no_saved_page_of_that_record(
    new_phone: Callable[..., Page], live_app: Flask, browser_log: BrowserLog
) -> None:
    """Sharing stopped: the next visit to the record (a 404) clears its saved pages."""
    from tracker import sharing

    browser_log.allow(OFFLINE_NOISE)
    browser_log.allow(r"status of 404")
    record, membership, phone = new_carer_of_sam(live_app, new_phone, "Robin Relief")
    controlled_by_worker(phone)
    for page in ["today", "plan"]:
        phone.goto(f"/records/{record.id}/{page}")

    def saved_of_record() -> list[str]:
        cached = phone.evaluate(CACHED)
        return [e["url"] for e in cached.get("pages", []) if record.id in e["url"]]

    wait_for(lambda: len(saved_of_record()) == 2, "Today and the plan to be saved")

    with live_app.app_context():
        assert sharing.revoke_member(record.id, membership.id)
    response = phone.goto(f"/records/{record.id}/today")
    assert response is not None and response.status == 404
    wait_for(lambda: saved_of_record() == [], "the record's saved pages to be cleared")
    phone.context.set_offline(True)
    phone.goto(f"/records/{record.id}/plan")
    expect(phone.get_by_role("heading", level=1)).not_to_have_text("Care and support plan")
    assert "Sam Patel" not in phone.content()
    phone.context.set_offline(False)
    browser_log.assert_clean()


def test_a_page_not_saved_on_the_phone_shows_the_offline_page(
    new_phone: Callable[..., Page], browser_log: BrowserLog
) -> None:
    browser_log.allow(OFFLINE_NOISE)
    phone, record_id = person_phone_with_worker(new_phone)
    phone.context.set_offline(True)
    response = phone.goto(f"/records/{record_id}/trends")
    assert response is not None and response.from_service_worker
    expect(phone.get_by_role("heading", level=1)).to_have_text("You are offline")
    expect(phone.get_by_role("link", name="NHS 111")).to_have_attribute("href", "tel:111")
    expect(phone.locator("body")).not_to_contain_text("Sam Patel")
    # Help now, opened before, is still there.
    phone.context.set_offline(False)
    phone.goto(f"/records/{record_id}/help-now")
    phone.context.set_offline(True)
    phone.goto(f"/records/{record_id}/help-now")
    expect(phone.get_by_role("heading", level=1)).not_to_have_text("You are offline")
    expect(phone.locator("[data-saved-notice]")).to_be_visible()
    browser_log.assert_clean()


# Installed before the page's own scripts, so it sees every shift from the first paint on.
WATCH_LAYOUT_SHIFT = """
    window.__layoutShift = 0;
    new PerformanceObserver((list) => {
        for (const entry of list.getEntries()) window.__layoutShift += entry.value;
    }).observe({type: "layout-shift", buffered: true});
"""


@pytest.mark.parametrize("path", ["today", "plan"])
def test_pages_do_not_jump_while_they_load(
    new_phone: Callable[..., Page], path: str, browser_log: BrowserLog
) -> None:
    """NHS.UK's header script folds links into "More" after the page is parsed: the page
    must not move when it does (Lighthouse counts it as layout shift).

    On a slow connection the page is painted before the scripts arrive; the scripts
    are held back here for as long, so that is what is measured.
    """
    phone = new_phone(service_workers="block")  # so every script comes over the network
    sign_in(phone, DEMO_USERS["person"])
    record_id = record_id_of(phone)

    def slow_script(route: Route) -> None:
        time.sleep(0.5)
        route.continue_()

    phone.route(re.compile(r".*/static/js/app\.js$"), slow_script)
    phone.add_init_script(WATCH_LAYOUT_SHIFT)
    phone.goto(f"/records/{record_id}/{path}", wait_until="load")
    expect(phone.locator("header[data-nhsuk-header-init]")).to_have_count(1)
    phone.wait_for_timeout(200)  # a few frames for the last entries to be reported
    shift = phone.evaluate("() => window.__layoutShift")
    assert shift < 0.01, f"the page moved while loading: cumulative layout shift {shift:.3f}"
    browser_log.assert_clean()
