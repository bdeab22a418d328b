"""CSRF, security headers, cookies, secrets, proxies, sign-in limits, logs and /healthz."""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask import request

from tracker import create_app, invitations, logs, sharing
from tracker.roles import Permission, Role, requires
from tracker.store import clear_cache

from .conftest import PASSWORD, csrf_token, make_account, post, sign_in
from .helpers_security import COOKIE, is_sign_in_redirect

REPO = Path(__file__).resolve().parent.parent
DIARY_TEXT = "Felt frightened after the night-time breathlessness"
FAST_HASHING = {
    "TRACKER_ARGON2_TIME_COST": 1,
    "TRACKER_ARGON2_MEMORY_KIB": 1024,
    "TRACKER_ARGON2_PARALLELISM": 1,
}


def new_app(tmp_path: Path, name: str = "data", **config):
    clear_cache()
    app = create_app({"ENV_NAME": "test", "TRACKER_DATA_DIR": str(tmp_path / name), **config})
    app.instance_path = str(tmp_path / "instance")
    return app


def member_id(app, user_id: str, record_id: str) -> str:
    with app.app_context():
        return sharing.membership_for(user_id, record_id).id


def categories(app, user_id: str, record_id: str) -> set[str]:
    with app.app_context():
        return {c.value for c in sharing.membership_for(user_id, record_id).categories}


# -- CSRF -----------------------------------------------------------------------------


@pytest.fixture
def owner(login_as, people):
    return login_as("owner@example.com")


@pytest.fixture
def carer_path(app, people) -> str:
    mid = member_id(app, people.carer_id, people.record_id)
    return f"/records/{people.record_id}/sharing/members/{mid}"


def test_a_form_post_without_a_csrf_token_is_refused_and_changes_nothing(
    app, people, owner, carer_path
):
    before = categories(app, people.carer_id, people.record_id)
    response = owner.post(carer_path, data={"categories": ["diary"]})
    assert response.status_code == 400
    assert "This page has expired" in response.get_data(as_text=True)
    assert categories(app, people.carer_id, people.record_id) == before


def test_an_htmx_post_without_a_csrf_token_is_refused_and_changes_nothing(
    app, people, owner, carer_path
):
    before = categories(app, people.carer_id, people.record_id)
    response = owner.post(
        carer_path, data={"categories": ["diary"]}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 400
    assert categories(app, people.carer_id, people.record_id) == before


def test_a_csrf_token_from_another_session_is_refused(app, people, owner, carer_path):
    someone_elses = csrf_token(app.test_client())
    response = owner.post(carer_path, data={"categories": ["diary"], "csrf_token": someone_elses})
    assert response.status_code == 400
    assert "diary" not in categories(app, people.carer_id, people.record_id)


def test_an_htmx_post_with_the_x_csrftoken_header_is_accepted(app, people, owner, carer_path):
    page = owner.get(f"/records/{people.record_id}/sharing").get_data(as_text=True)
    # The layout hands htmx the token in hx-headers, as the browser would send it.
    token = re.search(r'"X-CSRFToken": "([^"]+)"', page).group(1)
    response = owner.post(
        carer_path,
        data={"categories": ["diary"]},
        headers={"HX-Request": "true", "X-CSRFToken": token},
    )
    assert response.status_code == 200
    assert categories(app, people.carer_id, people.record_id) == {"diary"}


def test_signing_in_without_a_csrf_token_is_refused(app, people):
    c = app.test_client()
    response = c.post("/sign-in", data={"email": "owner@example.com", "password": PASSWORD})
    assert response.status_code == 400
    assert c.get_cookie(COOKIE) is None or is_sign_in_redirect(c.get("/account"))


def test_starting_a_record_without_a_csrf_token_makes_no_record(app, login_as):
    make_account(app, "new@example.com", "Nia New")
    c = login_as("new@example.com")
    assert c.post("/start", data={"name": "Nia New"}).status_code == 400
    assert urlsplit(c.get("/").headers["Location"]).path == "/start"


# -- Security headers -----------------------------------------------------------------


def assert_security_headers(response, *, page: bool = True) -> None:
    csp = response.headers.get("Content-Security-Policy", "")
    assert csp, "no Content-Security-Policy"
    assert "'unsafe-inline'" not in csp
    assert "'unsafe-eval'" not in csp
    assert "frame-ancestors 'none'" in csp
    assert "object-src 'none'" in csp
    assert response.headers.get("X-Content-Type-Options") == "nosniff"
    if page:
        assert response.headers.get("X-Frame-Options") == "DENY"
        assert response.headers.get("Referrer-Policy") in {
            "same-origin",
            "no-referrer",
            "strict-origin",
            "strict-origin-when-cross-origin",
        }
        assert "no-store" in response.headers.get("Cache-Control", "")


@pytest.fixture
def app_with_a_broken_page(tmp_path):
    """A fresh app with one extra page that fails, to see the 500 answer."""
    app = new_app(tmp_path)

    @requires(Permission.PUBLIC)
    def broken():
        raise RuntimeError("something went wrong")

    app.add_url_rule("/broken-page-for-tests", "broken", broken)
    return app


def test_security_headers_are_on_pages_errors_healthz_and_redirects(app_with_a_broken_page):
    c = app_with_a_broken_page.test_client()
    cases = {
        "/sign-in": 200,
        "/no-such-page": 404,
        "/records/nope/today": 303,
        "/account/devices/nope/sign-out": 405,
        "/healthz": 200,
        "/broken-page-for-tests": 500,
    }
    for path, status in cases.items():
        response = c.get(path)
        assert response.status_code == status, path
        assert_security_headers(response)
    csrf_refused = c.post("/sign-in", data={})
    assert csrf_refused.status_code == 400
    assert_security_headers(csrf_refused)


def test_the_server_error_page_says_sorry_and_shows_no_details(app_with_a_broken_page):
    response = app_with_a_broken_page.test_client().get("/broken-page-for-tests")
    body = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Sorry, there is a problem with the service" in body
    assert "something went wrong" not in body
    assert "Traceback" not in body


def test_static_files_may_be_cached_but_carry_csp_and_nosniff(client):
    for path in ("/static/css/app.css", "/assets/images/favicon.svg"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert_security_headers(response, page=False)
    missing = client.get("/static/no-such-file.css")
    assert missing.status_code == 404
    assert_security_headers(missing, page=False)


def test_pages_have_no_inline_script_style_or_event_handlers(app, people, owner):
    """The CSP forbids them, so any that crept in would silently break in browsers."""
    paths = ["/sign-in", "/account", "/account/devices", "/account/password"]
    for rule in app.url_map.iter_rules():
        if "GET" in rule.methods and rule.arguments == {"record_id"}:
            paths.append(rule.build({"record_id": people.record_id})[1])
    checked = 0
    for path in paths:
        response = owner.get(path)
        if response.status_code != 200 or response.mimetype != "text/html":
            continue
        checked += 1
        html = response.get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), path
        assert not re.search(r"<[^>]+\sstyle=", html), path
        assert not re.search(r"<[^>]+\son[a-z]+=", html), path
    assert checked >= 8


# -- Cookies and secrets --------------------------------------------------------------


def cookie_header(response) -> str:
    headers = [h for h in response.headers.getlist("Set-Cookie") if h.startswith(COOKIE + "=")]
    assert headers, "no session cookie set"
    return headers[-1]


def test_the_session_cookie_is_httponly_and_samesite_lax(app, people):
    c = app.test_client()
    anonymous = cookie_header(c.get("/sign-in"))
    signed_in = cookie_header(sign_in(c, "owner@example.com"))
    for header in (anonymous, signed_in):
        assert "HttpOnly" in header
        assert "SameSite=Lax" in header


def test_in_production_the_session_cookie_is_also_secure(tmp_path):
    app = new_app(
        tmp_path,
        ENV_NAME="production",
        SECRET_KEY="x" * 40,
        TRACKER_VAPID_SUBJECT="mailto:support@example.org",
        **FAST_HASHING,
    )
    assert app.config["SESSION_COOKIE_SECURE"] is True
    make_account(app, "prod@example.com", "Pat Prod")
    c = app.test_client()
    base = "https://localhost"
    page = c.get("/sign-in", base_url=base)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.get_data(as_text=True))
    response = c.post(
        "/sign-in",
        base_url=base,
        data={"email": "prod@example.com", "password": PASSWORD, "csrf_token": token.group(1)},
        headers={"Referer": f"{base}/sign-in"},
    )
    assert response.status_code == 303
    header = cookie_header(response)
    assert "Secure" in header
    assert "HttpOnly" in header
    assert "SameSite=Lax" in header
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


@pytest.mark.parametrize("secret", [None, ""])
def test_production_refuses_to_start_without_a_secret_key(tmp_path, secret):
    with pytest.raises(RuntimeError, match="TRACKER_SECRET_KEY"):
        create_app(
            {"ENV_NAME": "production", "SECRET_KEY": secret, "TRACKER_DATA_DIR": str(tmp_path)}
        )


@pytest.mark.parametrize(
    "subject", ["", "support@example.org", "mailto:me@localhost", "https://tracker.local"]
)
def test_production_refuses_to_start_with_a_push_subject_push_services_reject(tmp_path, subject):
    with pytest.raises(RuntimeError, match="TRACKER_VAPID_SUBJECT"):
        create_app(
            {
                "ENV_NAME": "production",
                "SECRET_KEY": "x" * 40,
                "TRACKER_VAPID_SUBJECT": subject,
                "TRACKER_DATA_DIR": str(tmp_path),
            }
        )


# -- Open redirects -------------------------------------------------------------------


@pytest.mark.parametrize(
    "evil",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example/",
        "/\t/evil.example/",
        "/\n/evil.example/",
        "/\r\n/evil.example/",
        " //evil.example/",
        "/\x00/evil.example/",
    ],
)
def test_sign_in_never_sends_you_to_another_site(app, people, evil):
    c = app.test_client()
    token = csrf_token(c)
    response = c.post(
        "/sign-in",
        query_string={"next": evil},
        data={"email": "owner@example.com", "password": PASSWORD, "csrf_token": token},
    )
    assert response.status_code == 303
    location = response.headers["Location"]
    assert location == "/", repr(location)


def test_sign_in_does_send_you_back_to_the_page_you_asked_for(app, people):
    c = app.test_client()
    today = f"/records/{people.record_id}/today"
    asked = c.get(today)
    assert is_sign_in_redirect(asked)
    response = post(
        c,
        asked.headers["Location"],
        {"email": "owner@example.com", "password": PASSWORD},
    )
    assert response.headers["Location"] == today


# -- Client addresses and sign-in limits ----------------------------------------------


def whoami_app(tmp_path, **config):
    app = new_app(tmp_path, **config)

    @requires(Permission.PUBLIC)
    def whoami():
        return request.remote_addr or ""

    app.add_url_rule("/whoami", "whoami", whoami)
    return app


def test_x_forwarded_for_is_ignored_unless_behind_a_proxy(tmp_path):
    direct = whoami_app(tmp_path).test_client()
    response = direct.get(
        "/whoami", headers={"X-Forwarded-For": "6.6.6.6"}, environ_base={"REMOTE_ADDR": "10.0.0.7"}
    )
    assert response.get_data(as_text=True) == "10.0.0.7"

    proxied = whoami_app(tmp_path, TRACKER_BEHIND_PROXY=True).test_client()
    response = proxied.get(
        "/whoami",
        headers={"X-Forwarded-For": "6.6.6.6, 192.0.2.1"},
        environ_base={"REMOTE_ADDR": "10.0.0.7"},
    )
    # Only the one hop our own proxy added is believed.
    assert response.get_data(as_text=True) == "192.0.2.1"


def failed_sign_in(app, email: str, address: str, **headers):
    c = app.test_client()
    c.environ_base["REMOTE_ADDR"] = address
    token = csrf_token(c)
    return c.post(
        "/sign-in",
        data={"email": email, "password": "wrong password!", "csrf_token": token},
        headers=headers,
    )


def test_a_forged_x_forwarded_for_does_not_escape_the_per_address_limit(tmp_path):
    app = new_app(tmp_path, TRACKER_SIGNIN_LIMIT_ADDRESS="3 per 15 minutes")
    statuses = [
        failed_sign_in(
            app, f"user{i}@example.com", "10.0.0.9", **{"X-Forwarded-For": f"203.0.113.{i}"}
        ).status_code
        for i in range(4)
    ]
    assert statuses == [422, 422, 422, 429]


def test_sign_in_is_limited_per_account_from_any_address(app, people):
    statuses = [
        failed_sign_in(app, "owner@example.com", f"10.0.1.{i}").status_code for i in range(6)
    ]
    assert statuses == [422] * 5 + [429]
    page = failed_sign_in(app, "owner@example.com", "10.0.1.99")
    assert page.status_code == 429
    body = page.get_data(as_text=True)
    assert "Too many attempts" in body
    assert "Wait 15 minutes" in body
    assert_security_headers(page)
    # Even the right password waits; another account from the same addresses does not.
    right = app.test_client()
    right.environ_base["REMOTE_ADDR"] = "10.0.1.100"
    assert sign_in(right, "owner@example.com").status_code == 429
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "10.0.1.1"
    assert sign_in(other, "carer@example.com").status_code == 303


def test_sign_in_is_limited_per_address_across_many_emails(app, people):
    statuses = [
        failed_sign_in(app, f"guess{i}@example.com", "10.0.2.1").status_code for i in range(21)
    ]
    assert statuses == [422] * 20 + [429]
    blocked = app.test_client()
    blocked.environ_base["REMOTE_ADDR"] = "10.0.2.1"
    assert sign_in(blocked, "owner@example.com").status_code == 429
    elsewhere = app.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "10.0.2.2"
    assert sign_in(elsewhere, "owner@example.com").status_code == 303


def test_successful_sign_ins_do_not_count_towards_the_limit(app, people):
    for i in range(8):
        c = app.test_client()
        c.environ_base["REMOTE_ADDR"] = f"10.0.3.{i}"
        assert sign_in(c, "owner@example.com").status_code == 303


def test_a_wrong_password_and_an_unknown_email_get_the_same_answer(app, people):
    c = app.test_client()
    token = csrf_token(c)
    answers = []
    attempts = (("owner@example.com", "not the password"), ("nobody@example.com", PASSWORD))
    for email, password in attempts:
        response = c.post(
            "/sign-in", data={"email": email, "password": password, "csrf_token": token}
        )
        body = response.get_data(as_text=True).replace(email, "@")
        # CSRF tokens carry the second they were made; nothing else may differ.
        body = re.sub(r'(value="|"X-CSRFToken": ")[\w.-]{40,}"', r'\1"', body)
        answers.append((response.status_code, body))
    assert answers[0] == answers[1]
    assert answers[0][0] == 422
    assert "Your email address or password is not right" in answers[0][1]


def test_the_limit_holds_across_two_worker_processes_sharing_the_data_folder(tmp_path):
    """A second process (as a second gunicorn worker would be) sees the first's failures."""
    app = new_app(tmp_path)
    email = "target@example.com"
    for _ in range(3):
        assert failed_sign_in(app, email, "10.0.4.1").status_code == 422
    script = textwrap.dedent(
        f"""
        from tracker import create_app
        app = create_app({{"ENV_NAME": "test", "TRACKER_DATA_DIR": {str(tmp_path / "data")!r},
                          "WTF_CSRF_ENABLED": False}})
        app.instance_path = {str(tmp_path / "instance2")!r}
        statuses = []
        for i in range(3):
            c = app.test_client()
            c.environ_base["REMOTE_ADDR"] = f"10.0.5.{{i}}"
            r = c.post("/sign-in", data={{"email": {email!r}, "password": "wrong password!"}})
            statuses.append(r.status_code)
        print(statuses)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[422, 422, 429]"
    clear_cache()
    assert failed_sign_in(app, email, "10.0.4.2").status_code == 429


# -- Logs -----------------------------------------------------------------------------


def test_logs_hold_no_passwords_tokens_emails_or_health_text(app, people, caplog):
    request_log = logging.getLogger("tracker.request")
    request_log.addHandler(caplog.handler)  # it does not propagate to the root logger
    try:
        caplog.set_level(logging.DEBUG)
        with app.app_context():
            token, _ = invitations.create_invitation(
                people.record_id, Role.CARER, created_by=people.owner_id, label="Lee"
            )
            logs.write_diary(people.record_id, author_id=people.owner_id, text=DIARY_TEXT)
        make_account(app, "lee.friend@example.com", "Lee Friend")

        owner = app.test_client()
        assert sign_in(owner, "owner@example.com", "a wrong password!").status_code == 422
        assert sign_in(owner, "owner@example.com").status_code == 303
        diary = owner.get(f"/records/{people.record_id}/diary?from=email")
        assert DIARY_TEXT in diary.get_data(as_text=True)

        friend = app.test_client()
        assert sign_in(friend, "lee.friend@example.com").status_code == 303
        assert friend.get(f"/invitations/{token}").status_code == 200
        assert post(friend, f"/invitations/{token}").status_code == 303
    finally:
        request_log.removeHandler(caplog.handler)

    text = caplog.text
    assert "route=/sign-in" in text  # the request log really was captured
    assert "route=/invitations/<token>" in text
    for secret in (
        PASSWORD,
        "a wrong password!",
        token,
        "owner@example.com",
        "lee.friend@example.com",
        DIARY_TEXT,
        "Olive Owner",
        "from=email",
    ):
        assert secret not in text, secret


# -- Health check ---------------------------------------------------------------------


def test_healthz_answers_200_when_the_data_folder_works(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "storage": True}


def test_healthz_answers_503_when_the_data_folder_cannot_be_written(app, client):
    data = Path(app.config["TRACKER_DATA_DIR"])
    if os.geteuid() != 0:
        data.chmod(0o500)
        try:
            unwritable = client.get("/healthz")
        finally:
            data.chmod(0o700)
        assert unwritable.status_code == 503
    # Root writes through permissions, so also put a plain file where the folder was.
    shutil.rmtree(data)
    data.write_text("not a folder")
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["status"] == "unavailable"
    assert_security_headers(response)


def test_the_app_refuses_to_start_on_a_data_folder_it_cannot_create(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(OSError):
        create_app({"ENV_NAME": "test", "TRACKER_DATA_DIR": str(blocker / "data")})
