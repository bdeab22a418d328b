"""Web Push from end to end, against the local push service in ``tests/pushservice.py``.

The service checks each request as a real one must (the VAPID JWT's signature,
``aud``, ``exp`` and ``sub``; TTL, Urgency and Topic; the 4,096-byte limit) and
decrypts the body with the browser's private key, so these tests see exactly what a
phone would show. They cover privacy (generic text, never diary, mood or symptom
content), every failure a push service can answer, the allow-list (when subscribing
and again when sending), the settings page, and the ``push-key`` and
``send-reminders`` commands.
"""

from __future__ import annotations

import http.client
import json
import re
import socket
import threading
import time as time_module
from datetime import UTC, date, datetime, time, timedelta

import http_ece
import pytest
import time_machine

from tests.conftest import csrf_token, post
from tests.factories import create_action, create_tracker
from tests.pushservice import (
    Household,
    Mode,
    PushService,
    add_browser,
    b64u,
    local_household,
    make_sender,
    plan_yearly_reviews,
    set_prefs,
    use_local_push,
)
from tracker import (
    actions,
    early_warnings,
    logs,
    notifications,
    push,
    reminders,
    reviews,
    settings,
    sharing,
    trackers,
)
from tracker.actions import Owner, Repeat, Schedule
from tracker.notifications import GENERIC_TEXT, Kind
from tracker.roles import Category

CREATED = datetime(2027, 1, 3, 12, 0, tzinfo=UTC)
MONDAY = date(2027, 1, 4)
NINE = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)  # 09:00 in London in January
TOPIC = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
OWNER_EMAIL = "owner@example.com"


@pytest.fixture
def service():
    with PushService() as s:
        yield s


@pytest.fixture
def home(app) -> Household:
    return local_household(app, CREATED)


@pytest.fixture
def sender(app, service):
    use_local_push(app)
    s = make_sender(app)
    yield s
    s.close()


def run(app, sender, when: datetime) -> reminders.RunStats:
    with time_machine.travel(when, tick=False), app.app_context():
        return reminders.run_once(sender)


def add_action(home: Household, what: str = "Take a short walk", **kwargs) -> actions.Action:
    kwargs.setdefault("owner", Owner.ME)
    schedule = Schedule(kwargs.pop("repeat", Repeat.DAILY), kwargs.pop("start", MONDAY))
    with time_machine.travel(CREATED, tick=False):
        return create_action(
            home.app, home.record, goal_id=home.goal, what=what, schedule=schedule, **kwargs
        )


def device_ids(app, account_id: str) -> list[str]:
    with app.app_context():
        return [d.id for d in notifications.devices(account_id)]


def retries(app, account_id: str) -> list[dict]:
    with app.app_context():
        return list(notifications.snapshot(account_id).retries)


# --- the round trip ------------------------------------------------------------------------


def test_a_reminder_reaches_the_push_service_with_a_valid_jwt_and_the_generic_text(
    app, home, service, sender
):
    phone = service.subscribe()
    add_browser(app, home.owner, phone)
    add_action(home)

    stats = run(app, sender, NINE)

    assert (stats.sent, stats.delivered) == (1, 1)
    assert service.problems == []
    [message] = service.for_(phone)
    assert message.claims["aud"] == service.origin
    assert NINE.timestamp() < message.claims["exp"] <= NINE.timestamp() + 24 * 3600
    assert message.claims["sub"] == app.config["TRACKER_VAPID_SUBJECT"]
    with app.app_context():
        key = push.public_key(push.load_or_create_key(app.config["TRACKER_DATA_DIR"]))
    assert message.vapid_key == key
    assert message.payload == {
        "title": "Care plan tracker",
        "body": GENERIC_TEXT,
        "url": f"/records/{home.record}/today",
        "tag": message.topic,
    }
    assert message.ttl == str(reminders.TTL_SECONDS[Kind.ACTION])
    assert message.urgency == "normal"
    assert TOPIC.match(message.topic)


def test_a_test_notification_from_the_settings_page_reaches_every_device(
    app, home, service, login_as
):
    phones = [service.subscribe(), service.subscribe()]
    for n, phone in enumerate(phones):
        add_browser(app, home.owner, phone, label=f"Phone {n}")
    client = login_as(OWNER_EMAIL)

    response = post(client, "/notifications/test", token_from="/notifications")

    assert response.status_code == 303
    assert "sent to 2 devices" in client.get("/notifications").get_data(as_text=True)
    for phone in phones:
        [message] = service.for_(phone)
        assert message.payload["body"] == GENERIC_TEXT
        assert message.payload["url"] == "/notifications"
        assert message.ttl == str(reminders.TTL_SECONDS[Kind.TEST])
    assert service.problems == []
    with app.app_context():
        assert [i.kind for i in notifications.inbox(home.owner)] == [Kind.TEST]


# --- privacy ---------------------------------------------------------------------------------

DIARY = "DIARYMARK-zq81 I argued with my sister"
MOOD = "MOODMARK-kx27 felt hopeless"
SYMPTOM = "SYMPTOMMARK-vw44"
REQUEST = "REQUESTMARK-pp09 back in hospital"


def test_no_payload_ever_carries_diary_mood_or_symptom_content(app, home, service, sender):
    phones = {}
    for role in ("owner", "carer", "coordinator"):
        phones[role] = service.subscribe()
        add_browser(app, getattr(home, role), phones[role])
        set_prefs(app, getattr(home, role), details=True, checkin_at=time(9, 0))
    with app.app_context():
        member = sharing.membership_for(home.carer, home.record)
        sharing.set_categories(
            home.record, member.id, frozenset({Category.PLAN, Category.ACTIONS, Category.SYMPTOMS})
        )
        settings.set_warnings_to_carers(home.record, True)
    add_action(home)
    with time_machine.travel(CREATED, tick=False):
        plan_yearly_reviews(home, MONDAY + timedelta(days=1))
        pain = create_tracker(
            app,
            home.record,
            name=f"{SYMPTOM} pain",
            rule=trackers.Rule(trackers.RuleKind.AT_LEAST_FOR_DAYS, 7, 1),
        )
    at = datetime(2027, 1, 4, 8, 30, tzinfo=UTC)
    with time_machine.travel(at, tick=False), app.app_context():
        logs.write_diary(home.record, author_id=home.owner, text=DIARY)
        logs.record_mood(home.record, author_id=home.owner, score=1, note=MOOD)
        logs.record_reading(
            home.record, author_id=home.owner, tracker_id=pain.id, value=9, note=SYMPTOM
        )
        assert early_warnings.check_after_reading(home.record, pain, at, author_id=home.owner)
        request = reviews.request_review(
            home.record,
            reason=reviews.Reason.OTHER,
            what_changed=REQUEST,
            urgency=reviews.Urgency.WEEK,
            by=home.owner,
        )
        reviews.acknowledge_request(home.record, request.id, by=home.coordinator)

    run(app, sender, NINE)
    with time_machine.travel(NINE, tick=False), app.app_context():
        reminders.send_test(home.owner, sender)

    sent_kinds = {r.topic.split("-")[0] for r in service.received}
    assert sent_kinds == {"action", "checki", "review", "reques", "warnin", "test"}
    for message in service.received:
        text = message.raw.decode()
        for marker in ("DIARYMARK", "MOODMARK", "SYMPTOMMARK", "REQUESTMARK", "sister"):
            assert marker not in text, message.payload
        assert message.payload["body"] in {
            GENERIC_TEXT,
            f"Earlier reminder. {GENERIC_TEXT}",
            "Reminder: Take a short walk",  # the owner's own action, details on
        }


def test_the_actions_wording_shows_only_when_the_person_turns_details_on(
    app, home, service, sender
):
    phone, carer_phone = service.subscribe(), service.subscribe()
    add_browser(app, home.owner, phone)
    add_browser(app, home.carer, carer_phone)
    set_prefs(app, home.carer, details=True)
    add_action(home, "Take a short walk")
    add_action(home, "Collect the prescription", owner=Owner.CARER, owner_user_id=home.carer)

    run(app, sender, NINE)
    set_prefs(app, home.owner, details=True)
    run(app, sender, NINE + timedelta(days=1))

    assert [m.payload["body"] for m in service.for_(phone)] == [
        GENERIC_TEXT,
        "Reminder: Take a short walk",
    ]
    # A reminder about someone else's record is always generic.
    assert [m.payload["body"] for m in service.for_(carer_phone)] == [GENERIC_TEXT] * 2


def test_payloads_stay_under_3_kb_and_every_send_sets_ttl_urgency_and_topic(
    app, home, service, sender
):
    phone = service.subscribe()
    add_browser(app, home.owner, phone)
    set_prefs(app, home.owner, details=True, checkin_at=time(9, 0))
    add_action(home, "Ü" * actions.MAX_WHAT)  # the longest wording, two bytes a letter
    with time_machine.travel(NINE, tick=False), app.app_context():
        reviews.request_review(
            home.record,
            reason=reviews.Reason.OTHER,
            what_changed="x",
            urgency=reviews.Urgency.WEEK,
            by=home.owner,
        )
    run(app, sender, NINE + timedelta(hours=3))  # late, so the longest body of all

    assert len(service.for_(phone)) == 2
    for message in service.received:
        assert len(message.raw) < 3 * 1024
        assert message.body_len <= 4096
        assert int(message.ttl) > 0
        assert message.urgency in {"very-low", "low", "normal", "high"}
        assert TOPIC.match(message.topic)


def test_a_payload_over_the_limit_is_refused_before_anything_is_posted(service, sender):
    phone = service.subscribe()
    result = sender.send(
        push.Subscription(phone.endpoint, phone.p256dh, phone.auth_b64),
        {"body": "x" * 5000},
        ttl=60,
        urgency="normal",
        topic="big",
    )
    assert result.outcome is push.Outcome.REJECTED
    assert service.attempts(phone) == 0


def test_each_signing_gets_fresh_claims_and_the_header_is_reused_per_origin_until_near_expiry(
    app, service, sender
):
    with PushService() as other:
        phones = [service.subscribe(), other.subscribe()]
        subs = [push.Subscription(p.endpoint, p.p256dh, p.auth_b64) for p in phones]
        given: list[dict] = []
        real_sign = sender.vapid.sign

        def sign(claims: dict) -> dict:
            given.append(claims)
            headers = real_sign(claims)
            claims.update(aud="https://wrong.example", exp=1)  # as pywebpush does
            return headers

        sender.vapid.sign = sign
        start = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)

        def send(sub: push.Subscription, when: datetime) -> push.Result:
            with time_machine.travel(when, tick=False):
                return sender.send(sub, {"body": "hi"}, ttl=60, urgency="low", topic="t")

        for sub in (subs[0], subs[1], subs[0], subs[1]):
            assert send(sub, start).outcome is push.Outcome.SENT
        assert [c["aud"] for c in given] == ["https://wrong.example"] * 2  # mutated copies
        assert len(given) == 2 and given[0] is not given[1]
        first_a, first_b = service.received[0], other.received[0]
        assert first_a.claims["aud"] == service.origin
        assert first_b.claims["aud"] == other.origin
        assert service.received[1].authorization == first_a.authorization  # cached

        assert send(subs[0], start + timedelta(hours=10, minutes=59)).outcome.value == "sent"
        assert len(given) == 2
        assert send(subs[0], start + timedelta(hours=11, minutes=1)).outcome.value == "sent"
        assert len(given) == 3  # signed again an hour before the 12-hour token expired
        latest = service.received[-1]
        assert latest.authorization != first_a.authorization
        assert latest.claims["aud"] == service.origin
        assert latest.claims["exp"] > first_a.claims["exp"]
        assert service.problems == [] and other.problems == []


# --- failures --------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [Mode.NOT_FOUND, Mode.GONE])
def test_404_and_410_delete_that_subscription_and_keep_the_others(
    app, home, service, sender, status
):
    gone, good = service.subscribe(status), service.subscribe()
    add_browser(app, home.owner, gone, label="Old phone")
    good_id = add_browser(app, home.owner, good, label="New phone")
    add_action(home)

    stats = run(app, sender, NINE)

    assert stats.gone == 1
    assert device_ids(app, home.owner) == [good_id]
    assert len(service.for_(good)) == 1
    assert retries(app, home.owner) == []
    run(app, sender, NINE + timedelta(days=1))
    assert service.attempts(gone) == 1  # never posted to again


def test_429_is_retried_after_retry_after_and_the_subscription_is_kept(app, home, service, sender):
    phone = service.subscribe(Mode.TOO_MANY, retry_after=600)
    device = add_browser(app, home.owner, phone)
    add_action(home)

    stats = run(app, sender, NINE)
    assert (stats.retries, stats.delivered) == (1, 0)
    service.set_mode(phone, Mode.OK)
    run(app, sender, NINE + timedelta(minutes=5))  # the default 1-minute backoff is too soon
    assert service.attempts(phone) == 1
    run(app, sender, NINE + timedelta(minutes=10))
    assert service.attempts(phone) == 2
    [message] = service.for_(phone)
    assert message.payload["body"] == GENERIC_TEXT
    assert device_ids(app, home.owner) == [device]
    assert retries(app, home.owner) == []
    run(app, sender, NINE + timedelta(hours=1))
    assert service.attempts(phone) == 2


def test_500_is_retried_with_backoff_then_given_up_and_the_subscription_is_kept(
    app, home, service, sender
):
    phone = service.subscribe(Mode.ERROR)
    device = add_browser(app, home.owner, phone)
    add_action(home)

    attempts = []
    for minutes in range(0, 150):
        run(app, sender, NINE + timedelta(minutes=minutes))
        attempts.append(service.attempts(phone))
    tried_at = [m for m in range(150) if attempts[m] > (attempts[m - 1] if m else 0)]
    # First try, then 1, 4, 16 and 60 (capped) minutes after each failure; then no more.
    assert tried_at == [0, 1, 5, 21, 81]
    assert device_ids(app, home.owner) == [device]
    assert retries(app, home.owner) == []


def test_a_timeout_and_a_refused_connection_are_handled_like_a_5xx(app, home, service):
    slow = service.subscribe(Mode.SLOW, sleep=2.0)
    refused = service.subscribe_refused()
    good = service.subscribe()
    for n, phone in enumerate((slow, refused, good)):
        add_browser(app, home.owner, phone, label=f"Phone {n}")
    add_action(home)
    sender = make_sender(app, timeout=0.5)

    started = time_module.monotonic()
    stats = run(app, sender, NINE)  # no exception escapes
    assert time_module.monotonic() - started < 10

    assert (stats.sent, stats.delivered, stats.retries, stats.gone) == (1, 1, 2, 0)
    assert len(device_ids(app, home.owner)) == 3
    assert len(retries(app, home.owner)) == 2
    assert len(service.for_(good)) == 1

    service.set_mode(slow, Mode.OK)
    run(app, sender, NINE + timedelta(minutes=1))
    assert len(service.for_(slow)) == 1
    assert [r["attempt"] for r in retries(app, home.owner)] == [2]  # the refused one
    sender.close()


def test_413_is_not_retried(app, home, service, sender):
    phone = service.subscribe(Mode.TOO_LARGE)
    device = add_browser(app, home.owner, phone)
    add_action(home)

    stats = run(app, sender, NINE)
    for minutes in (1, 5, 30, 120):
        run(app, sender, NINE + timedelta(minutes=minutes))

    assert (stats.sent, stats.delivered, stats.retries) == (1, 0, 0)
    assert service.attempts(phone) == 1
    assert retries(app, home.owner) == []
    assert device_ids(app, home.owner) == [device]


@pytest.mark.parametrize(
    "failure", ["404", "410", "413", "429", "500", "timeout", "refused", "bad keys", "redirect"]
)
def test_one_bad_subscription_never_stops_the_others(app, home, service, failure):
    modes = {
        "404": Mode.NOT_FOUND,
        "410": Mode.GONE,
        "413": Mode.TOO_LARGE,
        "429": Mode.TOO_MANY,
        "500": Mode.ERROR,
        "timeout": Mode.SLOW,
    }
    if failure == "refused":
        bad = service.subscribe_refused()
    elif failure == "redirect":
        bad = service.subscribe(307, location=service.subscribe().endpoint)
    else:
        bad = service.subscribe(modes.get(failure, Mode.OK), sleep=2.0, retry_after=1)
    good, carers = service.subscribe(), service.subscribe()
    with time_machine.travel(CREATED - timedelta(hours=1), tick=False), app.app_context():
        notifications.add_device(  # listed first; stored as it is, as if from before
            home.owner,
            endpoint=bad.endpoint,
            p256dh=_bad_point() if failure == "bad keys" else bad.p256dh,
            auth=bad.auth_b64,
            label="Bad",
        )
    add_browser(app, home.owner, good, label="Good")
    add_browser(app, home.carer, carers, label="Carer's")
    add_action(home)
    add_action(home, "Stretch")
    add_action(home, "Shopping", owner=Owner.CARER, owner_user_id=home.carer)
    sender = make_sender(app, timeout=0.5)

    stats = run(app, sender, NINE)

    assert stats.sent == 3
    assert len(service.for_(good)) == 2
    assert len(service.for_(carers)) == 1
    assert service.for_(bad) == []
    sender.close()


def test_a_redirect_from_a_push_service_is_not_followed(app, home, service, sender):
    elsewhere = service.subscribe()
    phone = service.subscribe(308, location=elsewhere.endpoint)
    add_browser(app, home.owner, phone)
    add_action(home)

    stats = run(app, sender, NINE)

    assert (stats.delivered, stats.retries) == (0, 0)
    assert service.attempts(phone) == 1
    assert service.attempts(elsewhere) == 0


# --- the allow-list --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("endpoint", "allowed"),
    [
        ("https://fcm.googleapis.com/fcm/send/abc", True),
        ("https://fcm.googleapis.com:443/fcm/send/abc", True),
        ("https://updates.push.services.mozilla.com/wpush/v2/abc", True),
        ("https://web.push.apple.com/QGx", True),
        ("https://wns2-db5p.notify.windows.com/w/?token=x", True),
        ("http://127.0.0.1:8000/push/abc", False),
        ("https://127.0.0.1/push/abc", False),
        ("https://localhost/push/abc", False),
        ("http://fcm.googleapis.com/fcm/send/abc", False),
        ("https://fcm.googleapis.com:8443/fcm/send/abc", False),
        ("https://user:pw@fcm.googleapis.com/fcm/send/abc", False),
        ("https://fcm.googleapis.com.evil.example/fcm/send/abc", False),
        ("https://evil.example/fcm.googleapis.com/abc", False),
        ("https://push.apple.com/abc", False),
        ("https://evilpush.apple.com/abc", False),
        ("ftp://fcm.googleapis.com/abc", False),
        ("https://fcm.googleapis.com/" + "a" * 1000, False),
        ("https://fcm.googleapis.com:99999/abc", False),
        ("", False),
        (None, False),
    ],
)
def test_production_accepts_only_https_on_443_to_allow_listed_push_services(endpoint, allowed):
    assert push.endpoint_allowed(endpoint, push.DEFAULT_ALLOWED_HOSTS) is allowed


def test_the_configured_allow_list_is_the_production_default():
    from tracker.config import Config

    assert set(Config.TRACKER_PUSH_ALLOWED_HOSTS) == set(push.DEFAULT_ALLOWED_HOSTS)
    assert Config.TRACKER_PUSH_INSECURE_HOSTS == ()


def test_a_stored_subscription_is_not_posted_to_once_its_host_leaves_the_allow_list(
    app, home, service
):
    phone = service.subscribe()
    add_browser(app, home.owner, phone)
    with app.app_context():
        notifications.add_device(
            home.owner,
            endpoint="https://fcm.googleapis.com/fcm/send/abc",
            p256dh=phone.p256dh,
            auth=phone.auth_b64,
            label="Android",
        )
    add_action(home)
    app.config["TRACKER_PUSH_INSECURE_HOSTS"] = ()
    app.config["TRACKER_PUSH_ALLOWED_HOSTS"] = ("updates.push.services.mozilla.com",)
    sender = make_sender(app)

    def no_network(*args, **kwargs):
        raise AssertionError(f"posted to {args}")

    sender._post = no_network
    stats = run(app, sender, NINE)

    assert (stats.sent, stats.delivered, stats.retries) == (1, 0, 0)
    assert service.attempts(phone) == 0
    with time_machine.travel(NINE, tick=False), app.app_context():
        assert len(notifications.inbox(home.owner)) == 1  # still in the inbox


# --- the settings page -----------------------------------------------------------------------


def subscribe(client, body, *, token: bool = True):
    headers = {"X-CSRFToken": csrf_token(client, "/notifications")} if token else {}
    data = body if isinstance(body, str) else json.dumps(body)
    return client.post(
        "/notifications/devices", data=data, headers=headers, content_type="application/json"
    )


def test_the_settings_page_subscribes_an_allow_listed_device_and_lists_it(
    app, home, service, login_as
):
    client = login_as(OWNER_EMAIL)
    phone = service.subscribe()

    response = subscribe(client, {**phone.json(), "label": "Pixel 7"})

    assert response.status_code == 201
    with app.app_context():
        [device] = notifications.devices(home.owner)
        key = push.public_key(push.load_or_create_key(app.config["TRACKER_DATA_DIR"]))
    assert response.get_json() == {"id": device.id}
    assert (device.endpoint, device.p256dh, device.auth) == (
        phone.endpoint,
        phone.p256dh,
        phone.auth_b64,
    )
    page = client.get("/notifications").get_data(as_text=True)
    assert "Pixel 7" in page
    assert f'data-public-key="{key}"' in page
    assert subscribe(client, {**phone.json(), "label": "Pixel 7"}).status_code == 201
    assert len(device_ids(app, home.owner)) == 1  # the same endpoint is stored once


def _bad_point() -> str:
    return b64u(b"\x04" + b"\x00" * 64)


@pytest.mark.parametrize(
    "change",
    [
        {"endpoint": "https://evil.example/push/abc"},
        {"endpoint": "http://fcm.googleapis.com/fcm/send/abc"},
        {"endpoint": "https://fcm.googleapis.com:8443/fcm/send/abc"},
        {"endpoint": None},
        {"endpoint": ["https://fcm.googleapis.com/x"]},
        {"keys": {"p256dh": b64u(b"\x04" + b"\x01" * 30), "auth": b64u(b"a" * 16)}},
        {"keys": {"p256dh": _bad_point(), "auth": b64u(b"a" * 16)}},
        {"keys": {"auth": b64u(b"a" * 16)}},
        {"keys": "nope"},
        {"keys": None},
        {"auth": "short"},
    ],
)
def test_the_subscribe_endpoint_refuses_bad_endpoints_or_keys_and_stores_nothing(
    app, home, service, login_as, change
):
    client = login_as(OWNER_EMAIL)
    body = service.subscribe().json()
    if "auth" in change:
        body["keys"]["auth"] = change["auth"]
    else:
        body.update(change)

    response = subscribe(client, body)

    assert response.status_code == 400
    assert device_ids(app, home.owner) == []


def test_the_subscribe_endpoint_refuses_loopback_without_the_test_setting(
    app, home, service, login_as
):
    app.config["TRACKER_PUSH_INSECURE_HOSTS"] = ()
    client = login_as(OWNER_EMAIL)
    assert subscribe(client, service.subscribe().json()).status_code == 400
    assert subscribe(client, "not json").status_code == 400
    assert device_ids(app, home.owner) == []


def test_the_subscribe_endpoint_needs_a_signed_in_user_and_a_csrf_token(
    app, home, service, login_as
):
    anonymous = app.test_client()
    response = anonymous.post(
        "/notifications/devices",
        data=json.dumps(service.subscribe().json()),
        content_type="application/json",
    )
    assert response.status_code in (302, 303, 400, 401)
    client = login_as(OWNER_EMAIL)
    assert subscribe(client, service.subscribe().json(), token=False).status_code == 400
    assert device_ids(app, home.owner) == []


def test_turning_one_device_off_leaves_the_others(app, home, service, login_as):
    keep = add_browser(app, home.owner, service.subscribe(), label="Tablet")
    drop = add_browser(app, home.owner, service.subscribe(), label="Old phone")
    carers = add_browser(app, home.carer, service.subscribe(), label="Carer's phone")
    client = login_as(OWNER_EMAIL)

    response = post(client, f"/notifications/devices/{drop}/remove", token_from="/notifications")

    assert response.status_code == 303
    assert device_ids(app, home.owner) == [keep]
    page = client.get("/notifications").get_data(as_text=True)
    assert "Tablet" in page and "Old phone" not in page
    other = post(client, f"/notifications/devices/{carers}/remove", token_from="/notifications")
    assert other.status_code == 404  # not theirs
    assert device_ids(app, home.carer) == [carers]


def test_saving_preferences_keeps_the_choices_and_refuses_bad_times(app, home, login_as):
    client = login_as(OWNER_EMAIL)
    good = {
        "kinds": ["action", "warning"],
        "checkin_at": "20:15",
        "actions_at": "08:45",
        "lead_minutes": "15",
        "quiet_start": "23:00",
        "quiet_end": "06:30",
        "timezone": "Asia/Kolkata",
        "details": "y",
    }
    assert (
        post(client, "/notifications/preferences", good, token_from="/notifications").status_code
        == 303
    )
    with app.app_context():
        prefs = notifications.get_preferences(home.owner)
    assert prefs.kinds == frozenset({Kind.ACTION, Kind.WARNING})
    assert (prefs.checkin_at, prefs.actions_at, prefs.lead_minutes) == (
        time(20, 15),
        time(8, 45),
        15,
    )
    assert (prefs.quiet_start, prefs.quiet_end, prefs.timezone, prefs.details) == (
        time(23, 0),
        time(6, 30),
        "Asia/Kolkata",
        True,
    )
    for bad in (
        {"actions_at": "25:00"},
        {"quiet_end": ""},
        {"timezone": "Mars/Olympus"},
        {"kinds": ["action", "diary"]},
        {"lead_minutes": "999"},
    ):
        response = post(
            client, "/notifications/preferences", {**good, **bad}, token_from="/notifications"
        )
        assert response.status_code == 422, bad
    with app.app_context():
        assert notifications.get_preferences(home.owner) == prefs


# --- keys, subject and commands ------------------------------------------------------------


def test_push_key_show_prints_the_public_key_and_rotate_replaces_it(app, home, service):
    add_browser(app, home.owner, service.subscribe())
    runner = app.test_cli_runner()

    shown = runner.invoke(args=["push-key", "show"])
    assert shown.exit_code == 0
    key = shown.output.strip().splitlines()[-1]
    assert len(push._unb64url(key)) == 65
    assert runner.invoke(args=["push-key"]).output.strip() == key  # stable

    rotated = runner.invoke(args=["push-key", "rotate"])
    assert rotated.exit_code == 0
    new_key = rotated.output.strip().splitlines()[-1]
    assert new_key != key
    assert runner.invoke(args=["push-key", "show"]).output.strip() == new_key
    assert device_ids(app, home.owner) == []  # made with the old key: must subscribe again


def test_send_reminders_command_sends_what_is_due(app, home, service):
    phone = service.subscribe()
    add_browser(app, home.owner, phone)
    add_action(home)
    with time_machine.travel(NINE, tick=False):
        result = app.test_cli_runner().invoke(args=["send-reminders"])
    assert result.exit_code == 0, result.output
    assert "sent 1 (late 0)" in result.output
    assert len(service.for_(phone)) == 1


def test_send_reminders_with_two_processes_sends_each_reminder_once(app, home, service):
    phones = [service.subscribe() for _ in range(3)]
    for account, phone in zip((home.owner, home.carer, home.coordinator), phones, strict=True):
        add_browser(app, account, phone)
        set_prefs(app, account, checkin_at=time(9, 0))
    with time_machine.travel(NINE, tick=False):
        result = app.test_cli_runner().invoke(args=["send-reminders", "--processes", "2"])
    assert result.exit_code == 0, result.output
    assert "sent 1 (late 0)" in result.output  # only the owner has a check-in
    assert [len(service.for_(p)) for p in phones] == [1, 0, 0]
    with time_machine.travel(NINE + timedelta(minutes=1), tick=False):
        again = app.test_cli_runner().invoke(args=["send-reminders", "--processes", "2"])
    assert "sent 0 (late 0)" in again.output
    assert service.problems == []


def test_send_reminders_with_a_bad_vapid_subject_stops_with_a_clear_message(app):
    app.config["TRACKER_VAPID_SUBJECT"] = "mailto:admin@localhost"
    result = app.test_cli_runner().invoke(args=["send-reminders"])
    assert result.exit_code == 1
    assert "TRACKER_VAPID_SUBJECT host 'localhost' is rejected" in result.output
    assert "Traceback" not in result.output


def test_senders_starting_at_once_for_the_first_time_all_use_one_vapid_key(tmp_path):
    barrier = threading.Barrier(8)
    keys: list[str] = []

    def start() -> None:
        barrier.wait()
        keys.append(push.public_key(push.load_or_create_key(tmp_path)))

    threads = [threading.Thread(target=start) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(keys) == 8
    assert set(keys) == {push.public_key(push.load_or_create_key(tmp_path))}
    assert [p.name for p in (tmp_path / "system").iterdir()] == ["vapid-private.pem"]
    assert (tmp_path / "system" / "vapid-private.pem").stat().st_mode & 0o777 == 0o600


def test_messages_to_one_push_service_share_one_kept_alive_connection(app, service, sender):
    phones = [service.subscribe() for _ in range(5)]
    sockets = set()
    for phone in phones:
        subscription = push.Subscription(phone.endpoint, phone.p256dh, phone.auth_b64)
        result = sender.send(subscription, {"title": "x"}, ttl=60, urgency="low", topic="t")
        assert result.outcome is push.Outcome.SENT
        [connection] = sender._idle[service.origin]
        sockets.add(connection.sock)
    assert len(sockets) == 1
    assert all(len(service.for_(p)) == 1 for p in phones)


def test_a_kept_connection_the_push_service_has_closed_is_not_used_again():
    with socket.create_server(("127.0.0.1", 0)) as server:
        connection = http.client.HTTPConnection("127.0.0.1", server.getsockname()[1], timeout=5)
        connection.connect()
        peer, _ = server.accept()
        assert not push._closed_by_peer(connection)
        peer.close()
        time_module.sleep(0.05)
        assert push._closed_by_peer(connection)
        connection.close()


def test_a_proxy_in_the_environment_is_used_through_a_tunnel_unless_no_proxy_says_not(
    app, monkeypatch
):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example.org:3128")
    monkeypatch.setenv("NO_PROXY", "updates.push.services.mozilla.com")
    with app.app_context():
        sender = reminders.make_sender()
    assert sender._route("https://fcm.googleapis.com") == (
        "proxy.example.org",
        3128,
        "fcm.googleapis.com:443",
    )
    assert sender._route("https://updates.push.services.mozilla.com") == (
        "updates.push.services.mozilla.com",
        443,
        None,
    )
    sender.close()


def test_each_message_is_encrypted_with_a_fresh_key_and_salt_and_decrypts_with_http_ece(service):
    browser = service.subscribe()
    plain = b'{"title":"Care plan tracker"}'
    first = push.encrypt(plain, browser.p256dh, browser.auth_b64)
    second = push.encrypt(plain, browser.p256dh, browser.auth_b64)
    for body in (first, second):
        decrypted = http_ece.decrypt(
            body, private_key=browser.private_key, auth_secret=browser.auth, version="aes128gcm"
        )
        assert decrypted == plain
    # salt (16 bytes), record size, key id length, then the sender's ephemeral key
    assert first[:16] != second[:16]
    assert first[21:86] != second[21:86]
    assert int.from_bytes(first[16:20], "big") == push.RECORD_SIZE
    with pytest.raises(ValueError):
        push.encrypt(plain, browser.p256dh, "c2hvcnQ")  # a 5-byte secret
    with pytest.raises(ValueError):
        push.encrypt(plain, "BAAA", browser.auth_b64)  # not a point on the curve


@pytest.mark.parametrize(
    "subject",
    [
        "mailto:admin@localhost",
        "mailto:push@tracker.local",
        "mailto:push@example.invalid",
        "https://tracker.local/contact",
        "https://localhost/contact",
        "https://app.localhost/",
        "http://example.org/contact",
        "admin@example.org",
        "mailto:",
        "",
    ],
)
def test_the_vapid_subject_must_be_a_real_mailto_or_https_address(app, subject):
    with pytest.raises(push.PushConfigError):
        push.check_subject(subject)
    app.config["TRACKER_VAPID_SUBJECT"] = subject
    with pytest.raises(push.PushConfigError), app.app_context():
        reminders.make_sender()


@pytest.mark.parametrize(
    "subject", ["mailto:care-plan-tracker@example.org", "https://tracker.example.org/contact"]
)
def test_a_real_vapid_subject_is_accepted(subject):
    assert push.check_subject(subject) == subject


def test_a_test_notification_with_push_not_configured_says_so_and_does_not_fail(
    app, home, login_as
):
    app.config["TRACKER_VAPID_SUBJECT"] = ""  # production's default until it is set
    client = login_as(OWNER_EMAIL)

    response = post(client, "/notifications/test", token_from="/notifications")

    assert response.status_code == 303
    page = client.get("/notifications").get_data(as_text=True)
    assert "Notifications are not set up on this service yet" in page


def test_a_slow_push_service_holds_the_test_request_for_seconds_not_minutes(
    app, home, service, login_as
):
    for n in range(2):
        add_browser(app, home.owner, service.subscribe(Mode.SLOW, sleep=20), label=f"P{n}")
    client = login_as(OWNER_EMAIL)

    started = time_module.monotonic()
    response = post(client, "/notifications/test", token_from="/notifications")

    assert response.status_code == 303
    assert time_module.monotonic() - started < 2 * 3 + 3
    assert "No device received it" in client.get("/notifications").get_data(as_text=True)
