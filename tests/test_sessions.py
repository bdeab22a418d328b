"""Server-side sessions: signing out really ends them, and they expire as promised."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import parse_qs, urlsplit

import pytest

from tracker import clock, plans, sessions

from .conftest import PASSWORD, post, sign_in
from .helpers_security import COOKIE, is_sign_in_redirect

NEW_PASSWORD = "a brand new passphrase"
SECRET_PLAN_TEXT = "Walks the dog at dawn"
IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Version/17.0 Safari/604.1"
LAPTOP = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/126.0 Safari/537.36"


@pytest.fixture
def today_path(app, people) -> str:
    with app.app_context():
        plans.save_plan(
            people.record_id, by=people.owner_id, sections={"what_matters": SECRET_PLAN_TEXT}
        )
    return f"/records/{people.record_id}/today"


class Travel:
    """Move the app's clock: ``travel(minutes=31)`` is 31 minutes after the test began."""

    def __init__(self, monkeypatch) -> None:
        self.monkeypatch = monkeypatch
        self.start = clock.now()

    def __call__(self, **delta) -> None:
        self.at(self.start + timedelta(**delta))

    def at(self, when: datetime) -> None:
        self.monkeypatch.setattr(clock, "now", lambda: when)


@pytest.fixture
def travel(monkeypatch) -> Travel:
    return Travel(monkeypatch)


def signed_in_client(app, email: str, *, user_agent: str = LAPTOP, remember: bool = False):
    c = app.test_client()
    c.environ_base["HTTP_USER_AGENT"] = user_agent
    response = sign_in(c, email, remember=remember)
    assert response.status_code == 303
    return c, response


def session_cookie_header(response) -> str:
    (header,) = [h for h in response.headers.getlist("Set-Cookie") if h.startswith(COOKIE + "=")]
    return header


def test_a_cookie_copied_before_sign_out_is_refused_after_sign_out(app, people, today_path):
    c, _ = signed_in_client(app, "owner@example.com")
    assert c.get(today_path).status_code == 200
    copied = c.get_cookie(COOKIE).value

    assert post(c, "/sign-out").status_code == 303

    replay = app.test_client(use_cookies=False)
    response = replay.get(today_path, headers={"Cookie": f"{COOKIE}={copied}"})
    assert is_sign_in_redirect(response)
    assert "Olive Owner" not in response.get_data(as_text=True)
    plan = replay.get(f"/records/{people.record_id}/plan", headers={"Cookie": f"{COOKIE}={copied}"})
    assert is_sign_in_redirect(plan)
    assert SECRET_PLAN_TEXT not in plan.get_data(as_text=True)


def test_opening_the_sign_out_page_does_not_sign_out(app, people, today_path):
    """Signing out is a POST with a CSRF token, so another site cannot sign you out."""
    c, _ = signed_in_client(app, "owner@example.com")
    assert c.get("/sign-out").status_code == 200
    assert c.get(today_path).status_code == 200


def test_changing_the_password_ends_other_sessions_but_keeps_this_one(app, people, today_path):
    here, _ = signed_in_client(app, "owner@example.com")
    elsewhere, _ = signed_in_client(app, "owner@example.com", user_agent=IPHONE)
    assert elsewhere.get(today_path).status_code == 200

    response = post(
        here,
        "/account/password",
        {"current": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert response.status_code == 303
    assert "signed out on 1 other device" in here.get("/account").get_data(as_text=True)

    assert here.get(today_path).status_code == 200
    assert is_sign_in_redirect(elsewhere.get(today_path))
    assert sign_in(app.test_client(), "owner@example.com", PASSWORD).status_code == 422
    assert sign_in(app.test_client(), "owner@example.com", NEW_PASSWORD).status_code == 303


def test_a_wrong_current_password_changes_nothing(app, people, today_path):
    here, _ = signed_in_client(app, "owner@example.com")
    elsewhere, _ = signed_in_client(app, "owner@example.com")
    response = post(
        here,
        "/account/password",
        {"current": "not my password", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert response.status_code == 422
    assert elsewhere.get(today_path).status_code == 200
    assert sign_in(app.test_client(), "owner@example.com", PASSWORD).status_code == 303


def _other_device_id(devices_html: str) -> str:
    cards = devices_html.split('<li class="nhsuk-card">')[1:]
    others = [c for c in cards if "This device" not in c]
    assert len(others) == 1
    (session_id,) = re.findall(r"/account/devices/([^/]+)/sign-out", others[0])
    return session_id


def test_sign_out_this_device_on_the_devices_page_ends_that_session(app, people, today_path):
    laptop, _ = signed_in_client(app, "owner@example.com")
    phone, _ = signed_in_client(app, "owner@example.com", user_agent=IPHONE)

    page = laptop.get("/account/devices").get_data(as_text=True)
    assert "Safari on iPhone" in page
    assert "Chrome on Windows" in page
    phone_id = _other_device_id(page)

    response = post(laptop, f"/account/devices/{phone_id}/sign-out")
    assert response.status_code == 303
    assert urlsplit(response.headers["Location"]).path == "/account/devices"

    assert is_sign_in_redirect(phone.get(today_path))
    assert laptop.get(today_path).status_code == 200
    assert "iPhone" not in laptop.get("/account/devices").get_data(as_text=True)


def test_signing_out_this_very_device_from_the_devices_page_signs_it_out(app, people, today_path):
    c, _ = signed_in_client(app, "owner@example.com")
    (own_id,) = re.findall(
        r"/account/devices/([^/]+)/sign-out", c.get("/account/devices").get_data(as_text=True)
    )
    response = post(c, f"/account/devices/{own_id}/sign-out")
    assert is_sign_in_redirect(response)
    assert is_sign_in_redirect(c.get(today_path))


def test_someone_elses_device_cannot_be_signed_out_and_answers_404(app, people, today_path):
    owner, _ = signed_in_client(app, "owner@example.com")
    carer, _ = signed_in_client(app, "carer@example.com")
    (owner_session,) = re.findall(
        r"/account/devices/([^/]+)/sign-out", owner.get("/account/devices").get_data(as_text=True)
    )
    assert post(carer, f"/account/devices/{owner_session}/sign-out").status_code == 404
    assert owner.get(today_path).status_code == 200


def test_keep_me_signed_in_sets_a_cookie_and_a_server_session_lasting_30_days(
    app, people, today_path, travel
):
    c, response = signed_in_client(app, "owner@example.com", remember=True)
    header = session_cookie_header(response)
    expires = parsedate_to_datetime(re.search(r"Expires=([^;]+)", header).group(1))
    assert abs(expires - (datetime.now(UTC) + timedelta(days=30))) < timedelta(minutes=5)
    with app.app_context():
        (live,) = sessions.list_sessions(people.owner_id)
    assert live.remember
    assert live.expires_at - live.created_at == timedelta(days=30)

    travel(days=29, hours=23)  # unused for weeks: a kept session has no idle limit
    assert c.get(today_path).status_code == 200
    travel(days=30, minutes=1)
    assert is_sign_in_redirect(c.get(today_path))


def test_a_plain_sign_in_uses_a_browser_session_cookie(app, people):
    _, response = signed_in_client(app, "owner@example.com")
    header = session_cookie_header(response)
    assert "Expires=" not in header
    assert "Max-Age" not in header


def test_a_plain_session_ends_after_30_minutes_unused(app, people, today_path, travel):
    c, _ = signed_in_client(app, "owner@example.com")
    travel(minutes=29)
    assert c.get(today_path).status_code == 200
    travel(minutes=29 + 29)  # used 29 minutes ago: still fine
    assert c.get(today_path).status_code == 200
    travel(minutes=29 + 29 + 31)
    assert is_sign_in_redirect(c.get(today_path))
    with app.app_context():
        assert sessions.list_sessions(people.owner_id) == []


def test_a_plain_session_ends_after_12_hours_however_busy(app, people, today_path, travel):
    c, _ = signed_in_client(app, "owner@example.com")
    with app.app_context():
        (live,) = sessions.list_sessions(people.owner_id)
    for minutes in range(20, 12 * 60, 20):
        travel.at(live.created_at + timedelta(minutes=minutes))
        assert c.get(today_path).status_code == 200, minutes
    travel.at(live.created_at + timedelta(hours=12))
    assert is_sign_in_redirect(c.get(today_path))


def test_the_sharing_page_asks_for_the_password_again_after_10_minutes(
    app, people, today_path, travel
):
    c, _ = signed_in_client(app, "owner@example.com")
    sharing = f"/records/{people.record_id}/sharing"
    travel(minutes=9)
    assert c.get(sharing).status_code == 200

    travel(minutes=11)
    response = c.get(sharing)
    assert response.status_code == 303
    target = urlsplit(response.headers["Location"])
    assert target.path == "/account/confirm-password"
    assert parse_qs(target.query)["next"] == [sharing]

    htmx = c.get(sharing, headers={"HX-Request": "true"})
    assert htmx.status_code == 204
    assert urlsplit(htmx.headers["HX-Redirect"]).path == "/account/confirm-password"

    wrong = post(c, "/account/confirm-password?next=" + sharing, {"password": "nope nope nope"})
    assert wrong.status_code == 422
    assert c.get(sharing).status_code == 303

    confirmed = post(c, "/account/confirm-password?next=" + sharing, {"password": PASSWORD})
    assert confirmed.status_code == 303
    assert confirmed.headers["Location"] == sharing
    assert c.get(sharing).status_code == 200


def test_a_stale_sign_in_cannot_change_sharing_until_the_password_is_confirmed(app, people, travel):
    from tracker import sharing

    owner, _ = signed_in_client(app, "owner@example.com")
    with app.app_context():
        carer = sharing.membership_for(people.carer_id, people.record_id)
    travel(minutes=11)
    response = post(
        owner,
        f"/records/{people.record_id}/sharing/members/{carer.id}",
        {"categories": ["diary"]},
    )
    assert response.status_code == 303
    assert urlsplit(response.headers["Location"]).path == "/account/confirm-password"
    with app.app_context():
        assert sharing.membership_for(people.carer_id, people.record_id).categories == (
            carer.categories
        )


def test_guessing_the_current_password_is_limited_like_signing_in(app, people):
    """A session left open must not allow endless guesses at the password."""
    c, _ = signed_in_client(app, "owner@example.com")
    guesses = [
        post(
            c,
            "/account/password",
            {"current": f"guess number {i}", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
        ).status_code
        for i in range(5)
    ]
    assert guesses == [422] * 5
    right = post(
        c,
        "/account/password",
        {"current": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert right.status_code == 429
    # The confirm-password page shares the limit.
    assert post(c, "/account/confirm-password", {"password": PASSWORD}).status_code == 429
    assert sign_in(app.test_client(), "owner@example.com", PASSWORD).status_code == 303
