"""Who is reminded of what, and when: every kind of reminder, quiet hours, the clock
changes, other time zones, restarts, two senders at once, and downtime.

Time travels with time-machine. Every reminder goes through the real path
(``reminders.run_once`` with a Sender built as ``make_sender`` builds it) to the
local push service in ``tests/pushservice.py``, which checks and decrypts it: what
a test counts is what a phone would have received.
"""

from __future__ import annotations

import itertools
import subprocess
import sys
import threading
import time as time_module
import zlib
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine

from tests.conftest import make_account
from tests.factories import create_action
from tests.pushservice import (
    Household,
    PushService,
    add_browser,
    local_household,
    make_household,
    make_sender,
    plan_yearly_reviews,
    set_prefs,
    use_local_push,
)
from tracker import (
    accounts,
    actions,
    budget,
    early_warnings,
    logs,
    notifications,
    reminders,
    reviews,
    settings,
    sharing,
    trackers,
)
from tracker import store as store_module
from tracker.actions import Owner, Repeat, Schedule
from tracker.notifications import GENERIC_TEXT, Kind
from tracker.roles import Category, Role

LONDON = ZoneInfo("Europe/London")
CREATED = datetime(2027, 1, 3, 12, 0, tzinfo=UTC)  # a Sunday, in GMT
MONDAY = date(2027, 1, 4)
REPO = Path(__file__).resolve().parents[1]


def utc(y: int, m: int, d: int, hh: int, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=UTC)


def on(day: date, hh: int, mm: int = 0, zone: ZoneInfo = LONDON) -> datetime:
    """A wall-clock time on ``day`` in ``zone``, as UTC."""
    return datetime.combine(day, time(hh, mm), tzinfo=zone).astimezone(UTC)


# --- fixtures ----------------------------------------------------------------------------


@pytest.fixture
def service():
    with PushService() as s:
        yield s


@pytest.fixture
def home(app) -> Household:
    return local_household(app, CREATED)


@pytest.fixture
def phones(home: Household, service: PushService) -> dict:
    """One subscribed browser for each of the three accounts."""
    out = {}
    for role in ("owner", "carer", "coordinator"):
        out[role] = service.subscribe()
        add_browser(home.app, getattr(home, role), out[role], label=role)
    return out


@pytest.fixture
def sender(app, service):
    s = make_sender(app)
    yield s
    s.close()


def run(app, sender, when: datetime, **kwargs) -> reminders.RunStats:
    with time_machine.travel(when, tick=False), app.app_context():
        return reminders.run_once(sender, **kwargs)


def add_action(
    home: Household,
    what: str = "Take a short walk",
    *,
    owner: Owner = Owner.ME,
    at: time | None = None,
    start: date = MONDAY,
    repeat: Repeat = Repeat.DAILY,
    owner_user_id: str | None = None,
    created: datetime = CREATED,
) -> actions.Action:
    with time_machine.travel(created, tick=False):
        return create_action(
            home.app,
            home.record,
            goal_id=home.goal,
            what=what,
            owner=owner,
            owner_name="Neighbour" if owner is Owner.OTHER else "",
            owner_user_id=owner_user_id,
            schedule=Schedule(repeat, start, at=at),
        )


def kinds(service: PushService, browser) -> list[str]:
    """The kind of each message the browser received, from the topic's prefix."""
    return [r.topic.split("-")[0] for r in service.for_(browser)]


def counts(service: PushService, phones: dict) -> dict[str, int]:
    return {role: len(service.for_(b)) for role, b in phones.items()}


# --- actions -----------------------------------------------------------------------------


def test_person_is_reminded_of_their_own_action_at_their_chosen_time(
    app, home, phones, service, sender
):
    set_prefs(app, home.owner, actions_at=time(9, 30))
    add_action(home)

    run(app, sender, on(MONDAY, 9, 29))
    assert counts(service, phones) == {"owner": 0, "carer": 0, "coordinator": 0}

    stats = run(app, sender, on(MONDAY, 9, 30))
    assert stats.sent == 1 and stats.late == 0
    assert counts(service, phones) == {"owner": 1, "carer": 0, "coordinator": 0}
    message = service.for_(phones["owner"])[0]
    assert message.payload["body"] == GENERIC_TEXT
    assert message.payload["url"] == f"/records/{home.record}/today"
    assert kinds(service, phones["owner"]) == ["action"]


def test_a_timed_action_is_reminded_the_chosen_lead_time_before_it(
    app, home, phones, service, sender
):
    set_prefs(app, home.owner, lead_minutes=45)
    add_action(home, at=time(14, 0))

    run(app, sender, on(MONDAY, 9, 0))  # the untimed-action time does not apply
    run(app, sender, on(MONDAY, 13, 14))
    assert counts(service, phones)["owner"] == 0
    run(app, sender, on(MONDAY, 13, 15))
    assert counts(service, phones)["owner"] == 1


def test_carer_is_reminded_of_carer_owned_actions_only_while_actions_are_shared(
    app, home, phones, service, sender
):
    add_action(home, "Collect the prescription", owner=Owner.CARER, owner_user_id=home.carer)

    run(app, sender, on(MONDAY, 9, 0))
    assert counts(service, phones) == {"owner": 0, "carer": 1, "coordinator": 0}
    assert service.for_(phones["carer"])[0].payload["body"] == GENERIC_TEXT

    with app.app_context():
        member = sharing.membership_for(home.carer, home.record)
        sharing.set_categories(home.record, member.id, frozenset({Category.PLAN}))
    run(app, sender, on(MONDAY + timedelta(days=1), 9, 0))
    assert counts(service, phones) == {"owner": 0, "carer": 1, "coordinator": 0}


def test_nobody_is_reminded_of_actions_that_belong_to_other_people(
    app, home, phones, service, sender
):
    with time_machine.travel(CREATED, tick=False):
        other = make_account(app, "carer2@example.com", "Second Carer")
        with app.app_context():
            sharing.add_member(home.record, other.id, Role.CARER)
            notifications.save_preferences(
                other.id, notifications.Preferences(checkin_at=None, quiet_start=None)
            )
    other_phone = service.subscribe()
    add_browser(app, other.id, other_phone)
    add_action(home, "Neighbour waters the plants", owner=Owner.OTHER)
    add_action(home, "Coordinator phones the GP", owner=Owner.COORDINATOR)
    add_action(home, "Second carer drives to clinic", owner=Owner.CARER, owner_user_id=other.id)

    run(app, sender, on(MONDAY, 9, 0))
    assert counts(service, phones) == {"owner": 0, "carer": 0, "coordinator": 0}
    assert len(service.for_(other_phone)) == 1  # their own action only


# --- check-in and reviews ----------------------------------------------------------------


def test_daily_check_in_reaches_only_the_person_at_their_chosen_time(
    app, home, phones, service, sender
):
    for account in (home.owner, home.carer, home.coordinator):
        set_prefs(app, account, checkin_at=time(20, 30))

    run(app, sender, on(MONDAY, 20, 29))
    assert counts(service, phones)["owner"] == 0
    run(app, sender, on(MONDAY, 20, 30))
    assert counts(service, phones) == {"owner": 1, "carer": 0, "coordinator": 0}
    message = service.for_(phones["owner"])[0]
    assert message.payload["url"] == f"/records/{home.record}/mood"
    assert kinds(service, phones["owner"]) == ["checki"]


def test_upcoming_review_reminds_person_carer_and_coordinator_4_weeks_1_week_and_1_day_before(
    app, home, phones, service, sender
):
    review_on = date(2027, 3, 1)
    with time_machine.travel(CREATED, tick=False):
        plan_yearly_reviews(home, review_on)

    expected = {"owner": 0, "carer": 0, "coordinator": 0}
    for days_before in (28, 20, 7, 3, 1, 0):
        day = review_on - timedelta(days=days_before)
        run(app, sender, on(day, 8, 59))
        run(app, sender, on(day, 9, 0))
        if days_before in (28, 7, 1):
            expected = {role: n + 1 for role, n in expected.items()}
        assert counts(service, phones) == expected, f"{days_before} days before"
    assert expected == {"owner": 3, "carer": 3, "coordinator": 3}
    for role, phone in phones.items():
        messages = service.for_(phone)
        assert {m.payload["body"] for m in messages} == {GENERIC_TEXT}
        assert len({m.topic for m in messages}) == 3, role
    assert {m.payload["url"] for m in service.for_(phones["owner"])} == {
        f"/records/{home.record}/prepare"
    }
    assert {m.payload["url"] for m in service.for_(phones["coordinator"])} == {
        f"/records/{home.record}/reviews"
    }


# --- event reminders ---------------------------------------------------------------------


def request_review(app, home: Household, when: datetime, what_changed: str = "I moved home"):
    with time_machine.travel(when, tick=False), app.app_context():
        return reviews.request_review(
            home.record,
            reason=reviews.Reason.OTHER,
            what_changed=what_changed,
            urgency=reviews.Urgency.MONTH,
            by=home.owner,
        )


def test_a_new_early_review_request_goes_to_the_coordinator_and_a_change_to_the_person(
    app, home, phones, service, sender
):
    request = request_review(app, home, on(MONDAY, 10, 0))
    run(app, sender, on(MONDAY, 10, 0))
    assert counts(service, phones) == {"owner": 0, "carer": 0, "coordinator": 1}
    message = service.for_(phones["coordinator"])[0]
    assert message.payload["url"] == f"/records/{home.record}/reviews/requests/{request.id}"
    assert kinds(service, phones["coordinator"]) == ["reques"]

    with time_machine.travel(on(MONDAY, 11, 0), tick=False), app.app_context():
        reviews.acknowledge_request(home.record, request.id, by=home.coordinator)
    run(app, sender, on(MONDAY, 11, 0))
    assert counts(service, phones) == {"owner": 1, "carer": 0, "coordinator": 1}
    assert service.for_(phones["owner"])[0].payload["url"] == f"/records/{home.record}/reviews"

    with time_machine.travel(on(MONDAY, 12, 0), tick=False), app.app_context():
        reviews.answer_request(home.record, request.id, by=home.coordinator, reply="Booked")
    run(app, sender, on(MONDAY, 12, 0))
    assert counts(service, phones) == {"owner": 2, "carer": 0, "coordinator": 1}


def pain_tracker(app, home: Household) -> trackers.Tracker:
    with time_machine.travel(CREATED, tick=False), app.app_context():
        return trackers.define_tracker(
            home.record,
            name="Pain",
            kind=trackers.TrackerKind.SCALE,
            rule=trackers.Rule(trackers.RuleKind.AT_LEAST_FOR_DAYS, 7, 1),
        )


def bad_reading(app, home: Household, tracker: trackers.Tracker, when: datetime, note: str = ""):
    with time_machine.travel(when, tick=False), app.app_context():
        logs.record_reading(
            home.record, author_id=home.owner, tracker_id=tracker.id, value=8, note=note
        )
        hit = early_warnings.check_after_reading(home.record, tracker, when, author_id=home.owner)
    assert hit is not None


def test_an_early_warning_sign_goes_to_the_person_and_to_carers_only_when_the_person_allows(
    app, home, phones, service, sender
):
    with app.app_context():  # the carer can see symptoms: only the person's choice is left
        member = sharing.membership_for(home.carer, home.record)
        sharing.set_categories(
            home.record, member.id, frozenset({Category.PLAN, Category.SYMPTOMS})
        )
    pain = pain_tracker(app, home)

    bad_reading(app, home, pain, on(MONDAY, 15, 0))
    run(app, sender, on(MONDAY, 15, 0))
    assert counts(service, phones) == {"owner": 1, "carer": 0, "coordinator": 0}
    assert service.for_(phones["owner"])[0].payload["url"] == f"/records/{home.record}/help-now"
    assert service.for_(phones["owner"])[0].urgency == "high"

    with app.app_context():
        settings.set_warnings_to_carers(home.record, True)
    tuesday = MONDAY + timedelta(days=1)
    bad_reading(app, home, pain, on(tuesday, 15, 0))
    run(app, sender, on(tuesday, 15, 0))
    assert counts(service, phones) == {"owner": 2, "carer": 1, "coordinator": 0}


def test_a_warning_queued_for_a_carer_whose_access_is_then_revoked_is_not_sent(
    app, home, phones, service, sender
):
    with app.app_context():
        member = sharing.membership_for(home.carer, home.record)
        sharing.set_categories(home.record, member.id, frozenset({Category.SYMPTOMS}))
        settings.set_warnings_to_carers(home.record, True)
    bad_reading(app, home, pain_tracker(app, home), on(MONDAY, 15, 0))
    with app.app_context():
        assert len(notifications.queued(home.carer)) == 1
        sharing.revoke_member(home.record, member.id)

    run(app, sender, on(MONDAY, 15, 0))

    assert counts(service, phones) == {"owner": 1, "carer": 0, "coordinator": 0}
    with app.app_context():
        assert notifications.queued(home.carer) == []
        assert notifications.inbox(home.carer) == []


def test_kinds_turned_off_are_not_sent_nor_kept_waiting(app, home, phones, service, sender):
    add_action(home)
    pain = pain_tracker(app, home)
    bad_reading(app, home, pain, on(MONDAY, 8, 0))  # queued while warnings were on
    set_prefs(app, home.owner, kinds=frozenset({Kind.CHECKIN, Kind.REVIEW}))
    bad_reading(app, home, pain, on(MONDAY, 8, 30) + timedelta(days=1))

    run(app, sender, on(MONDAY, 9, 0))
    run(app, sender, on(MONDAY + timedelta(days=1), 9, 0))
    assert counts(service, phones)["owner"] == 0
    with app.app_context():
        assert notifications.inbox(home.owner) == []
        assert notifications.queued(home.owner) == []


def test_the_monthly_spending_reminder_comes_on_the_month_s_last_day_even_with_actions_off(
    app, home, phones, service, sender
):
    set_prefs(app, home.owner, kinds=frozenset({Kind.CHECKIN}))
    with app.app_context():
        budget.set_monthly_reminder(home.record, True)
    last_day = date(2027, 1, 31)

    run(app, sender, on(last_day - timedelta(days=1), 9, 0))
    assert counts(service, phones)["owner"] == 0
    run(app, sender, on(last_day, 9, 0))
    run(app, sender, on(last_day, 9, 1))
    assert kinds(service, phones["owner"]) == ["spendi"]  # topics are cut to 32 characters
    assert service.for_(phones["owner"])[0].payload["body"] == GENERIC_TEXT
    assert counts(service, phones) == {"owner": 1, "carer": 0, "coordinator": 0}

    with app.app_context():
        budget.set_monthly_reminder(home.record, False)
    run(app, sender, on(date(2027, 2, 28), 9, 0))
    assert counts(service, phones)["owner"] == 1


def test_every_reminder_lands_in_the_inbox_with_an_unread_count_even_without_a_device(
    app, home, service, sender, login_as
):
    set_prefs(app, home.owner, checkin_at=time(19, 0))
    add_action(home)  # the owner has no device at all

    first = run(app, sender, on(MONDAY, 9, 0))
    second = run(app, sender, on(MONDAY, 19, 0))
    assert (first.sent, first.delivered, second.sent, second.delivered) == (1, 0, 1, 0)
    assert service.received == []
    with time_machine.travel(on(MONDAY, 19, 5)):  # that evening, the clock ticking
        with app.app_context():
            items = notifications.inbox(home.owner)
            assert [i.kind for i in items] == [Kind.CHECKIN, Kind.ACTION]
            assert notifications.unread_count(home.owner) == 2

        client = login_as("owner@example.com")
        page = client.get("/notifications/inbox").get_data(as_text=True)
        assert "Inbox (2 new)" in page
        assert "Daily check-in" in page and "Actions in the plan" in page

        from tests.conftest import post

        response = post(client, "/notifications/inbox/read", token_from="/notifications/inbox")
        assert response.status_code == 303
        with app.app_context():
            assert notifications.unread_count(home.owner) == 0
    later = run(app, sender, on(MONDAY + timedelta(days=1), 9, 0))
    assert later.sent == 1
    with time_machine.travel(on(MONDAY + timedelta(days=1), 9, 1), tick=False), app.app_context():
        assert notifications.unread_count(home.owner) == 1  # what came after "mark as read"


# --- quiet hours, clock changes, time zones ---------------------------------------------


def test_a_reminder_due_in_quiet_hours_across_midnight_waits_until_they_end(
    app, home, phones, service, sender
):
    set_prefs(app, home.owner, quiet_start=time(22, 0), quiet_end=time(7, 0), lead_minutes=0)
    add_action(home, "Late tablet", at=time(23, 15))
    add_action(home, "Early tablet", at=time(1, 0))

    tuesday = MONDAY + timedelta(days=1)
    run(app, sender, on(MONDAY, 1, 0))
    run(app, sender, on(MONDAY, 6, 59))
    assert counts(service, phones)["owner"] == 0
    run(app, sender, on(MONDAY, 7, 0))  # Monday's 01:00 tablet
    assert counts(service, phones)["owner"] == 1
    run(app, sender, on(MONDAY, 23, 15))
    run(app, sender, on(tuesday, 6, 59))
    assert counts(service, phones)["owner"] == 1
    run(app, sender, on(tuesday, 7, 0))  # Monday's 23:15 and Tuesday's 01:00
    assert counts(service, phones)["owner"] == 3
    bodies = [m.payload["body"] for m in service.for_(phones["owner"])]
    assert bodies == [GENERIC_TEXT] * 3  # waited, not late


def test_a_reminder_due_in_daytime_quiet_hours_waits_until_they_end(
    app, home, phones, service, sender
):
    set_prefs(app, home.owner, quiet_start=time(12, 0), quiet_end=time(14, 0), lead_minutes=0)
    add_action(home, at=time(13, 0))

    run(app, sender, on(MONDAY, 13, 0))
    run(app, sender, on(MONDAY, 13, 59))
    assert counts(service, phones)["owner"] == 0
    run(app, sender, on(MONDAY, 14, 0))
    assert counts(service, phones)["owner"] == 1


@pytest.mark.parametrize(
    ("day", "utc_hour"),
    [
        (date(2027, 3, 27), 9),  # Saturday, GMT
        (date(2027, 3, 28), 8),  # the clocks go forward at 01:00 this Sunday
        (date(2027, 3, 29), 8),  # Monday, BST
        (date(2027, 10, 30), 8),  # Saturday, BST
        (date(2027, 10, 31), 9),  # the clocks go back at 02:00 this Sunday
        (date(2027, 11, 1), 9),  # Monday, GMT
    ],
)
def test_a_0900_london_reminder_is_sent_at_0900_local_across_the_clock_changes(
    app, service, day, utc_hour
):
    use_local_push(app)
    created = datetime.combine(day - timedelta(days=2), time(12, 0), tzinfo=UTC)
    with time_machine.travel(created, tick=False):
        home = make_household(app)
    phone = service.subscribe()
    add_browser(app, home.owner, phone)
    add_action(home, start=day - timedelta(days=1), created=created)
    sender = make_sender(app)

    run(app, sender, datetime.combine(day, time(utc_hour - 1, 59), tzinfo=UTC))
    assert [m for m in service.for_(phone) if m.at >= on(day, 0, 0).timestamp()] == []
    run(app, sender, datetime.combine(day, time(utc_hour, 0), tzinfo=UTC))
    today = [m for m in service.for_(phone) if m.at >= on(day, 0, 0).timestamp()]
    assert len(today) == 1
    assert datetime.fromtimestamp(today[0].at, LONDON).time() == time(9, 0)
    with time_machine.travel(on(day, 12, 0), tick=False), app.app_context():
        dues = sorted(d["due_at"] for d in notifications.ledger(home.owner))
    assert datetime.fromisoformat(dues[-1]).astimezone(LONDON).time() == time(9, 0)
    sender.close()


@pytest.mark.parametrize(
    ("zone", "day", "expected_utc"),
    [
        ("America/New_York", date(2027, 1, 4), time(14, 0)),  # EST
        ("America/New_York", date(2027, 3, 22), time(13, 0)),  # EDT, while London is GMT
        ("Asia/Kolkata", date(2027, 1, 4), time(3, 30)),
        ("Australia/Sydney", date(2027, 1, 4), time(22, 0)),  # the day before, in UTC
    ],
)
def test_a_reminder_follows_the_recipients_own_time_zone(app, service, zone, day, expected_utc):
    use_local_push(app)
    created = datetime.combine(day - timedelta(days=3), time(12, 0), tzinfo=UTC)
    with time_machine.travel(created, tick=False):
        home = make_household(app)
    set_prefs(app, home.owner, timezone=zone)
    phone = service.subscribe()
    add_browser(app, home.owner, phone)
    add_action(home, start=day, repeat=Repeat.ONCE, created=created)
    sender = make_sender(app)

    due = datetime.combine(day, time(9, 0), tzinfo=ZoneInfo(zone)).astimezone(UTC)
    assert due.time() == expected_utc
    run(app, sender, due - timedelta(minutes=1))
    assert service.for_(phone) == []
    run(app, sender, due)
    assert len(service.for_(phone)) == 1
    sender.close()


# --- once and only once ------------------------------------------------------------------


def busy_morning(app, home: Household, service: PushService) -> tuple[dict, datetime]:
    """Reminders of several kinds due at once for all three accounts, two devices each."""
    for account in (home.owner, home.carer, home.coordinator):
        set_prefs(app, account, checkin_at=time(9, 0))
    add_action(home, "Walk")
    add_action(home, "Stretch")
    add_action(home, "Shopping", owner=Owner.CARER, owner_user_id=home.carer)
    with time_machine.travel(CREATED, tick=False):
        plan_yearly_reviews(home, MONDAY + timedelta(days=7))
    request_review(app, home, on(MONDAY, 8, 0))
    phones = {}
    for role in ("owner", "carer", "coordinator"):
        for n in (1, 2):
            phones[f"{role}{n}"] = service.subscribe()
            add_browser(app, getattr(home, role), phones[f"{role}{n}"], label=f"{role} {n}")
    # owner: 2 actions, check-in, review = 4; carer: 1 action, review = 2;
    # coordinator: review, request = 2; on two devices each.
    return phones, on(MONDAY, 9, 0)


def assert_each_once(service: PushService, expected_total: int) -> None:
    seen = Counter((r.token, r.topic) for r in service.received)
    assert {k: n for k, n in seen.items() if n > 1} == {}
    assert len(service.received) == expected_total
    assert service.problems == []


def test_running_again_or_with_a_new_sender_never_sends_a_reminder_twice(app, home, service):
    _, when = busy_morning(app, home, service)
    first = make_sender(app)
    assert run(app, first, when).sent == 8
    assert run(app, first, when).sent == 0
    first.close()
    second = make_sender(app)  # as after a restart: nothing cached
    for later in (when, when + timedelta(minutes=1), when + timedelta(minutes=30)):
        assert run(app, second, later).sent == 0
    second.close()
    assert_each_once(service, 16)


def test_two_senders_running_at_once_send_each_reminder_exactly_once(app, home, service):
    _, when = busy_morning(app, home, service)
    senders = [make_sender(app), make_sender(app)]
    barrier = threading.Barrier(2)
    results: list[reminders.RunStats] = []
    errors: list[BaseException] = []

    def go(sender) -> None:
        try:
            with app.app_context():
                barrier.wait()
                results.append(reminders.run_once(sender, workers=4))
        except BaseException as error:  # reported below
            errors.append(error)

    with time_machine.travel(when, tick=False):
        threads = [threading.Thread(target=go, args=(s,)) for s in senders]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
    assert errors == []
    assert sum(r.sent for r in results) == 8
    assert_each_once(service, 16)
    for s in senders:
        s.close()


def test_a_sender_working_from_an_old_read_of_the_ledger_still_sends_each_reminder_once(
    app, home, service, monkeypatch
):
    """The race two senders can run: both read the ledger before either has claimed."""
    _, when = busy_morning(app, home, service)
    first, second = make_sender(app), make_sender(app)
    assert run(app, first, when).sent == 8
    # The second sender's read before taking the lock sees nothing claimed; its read
    # under the lock is real. With one thread the two alternate.
    real, reads = notifications._claimed, itertools.count()
    monkeypatch.setattr(
        notifications, "_claimed", lambda b: set() if next(reads) % 2 == 0 else real(b)
    )
    again = run(app, second, when, workers=1)
    assert (again.sent, again.failed_accounts) == (0, 0)
    assert next(reads) > 2  # the lock was taken, and the claims checked under it
    assert_each_once(service, 16)
    first.close()
    second.close()


def test_shards_of_the_accounts_together_send_everything_once(app, home, service):
    _, when = busy_morning(app, home, service)
    sender = make_sender(app)
    per_account = {home.owner: 4, home.carer: 2, home.coordinator: 2}
    for k in range(3):
        mine = sum(n for a, n in per_account.items() if zlib.crc32(a.encode()) % 3 == k)
        assert run(app, sender, when, shard=(k, 3)).sent == mine
    assert run(app, sender, when).sent == 0
    assert_each_once(service, 16)
    sender.close()


def test_a_run_with_nothing_new_to_send_writes_nothing(app, home, service):
    """Run each minute, the sender must not rewrite (and fsync) every account's file."""
    _, when = busy_morning(app, home, service)
    sender = make_sender(app)
    run(app, sender, when)
    data = Path(app.config["TRACKER_DATA_DIR"])

    def files() -> dict[str, tuple[int, int]]:
        return {
            str(p): (p.stat().st_ino, p.stat().st_mtime_ns)
            for p in data.rglob("*")
            if p.is_file() and not p.name.endswith(".lock")
        }

    before = files()
    for minutes in (1, 2, 30):
        assert run(app, sender, when + timedelta(minutes=minutes)).sent == 0
    assert files() == before
    sender.close()


RUN_ONCE = """
import sys, time
from tracker import create_app, reminders
app = create_app({"ENV_NAME": "test", "TRACKER_DATA_DIR": sys.argv[1],
                  "TRACKER_PUSH_INSECURE_HOSTS": ("127.0.0.1",)})
with app.app_context():
    sender = reminders.make_sender()
    start = float(sys.argv[2])
    while time.time() < start:
        time.sleep(0.001)
    stats = reminders.run_once(sender)
    print(stats.sent, stats.delivered)
"""


def run_in_processes(app, count: int) -> list[tuple[int, int]]:
    """Run ``run_once`` in ``count`` new processes starting at the same moment (real time)."""
    start = time_module.time() + 3.0
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", RUN_ONCE, app.config["TRACKER_DATA_DIR"], str(start)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(count)
    ]
    out = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=120)
        assert p.returncode == 0, stderr
        sent, delivered = stdout.split()
        out.append((int(sent), int(delivered)))
    return out


def check_ins_due_now(app, service: PushService, people: int) -> list:
    """``people`` accounts, made two days ago, whose check-in was due five minutes ago."""
    use_local_push(app)
    due = (datetime.now(LONDON) - timedelta(minutes=5)).replace(second=0, microsecond=0)
    browsers = []
    with time_machine.travel(datetime.now(UTC) - timedelta(days=2), tick=False):
        for n in range(people):
            account = make_account(app, f"person{n}@example.com", f"Person {n}")
            with app.app_context():
                from tracker import records

                record = records.create_record(
                    f"Person {n}", created_by=account.id, owner_id=account.id
                )
                sharing.add_member(record.id, account.id, Role.OWNER)
                notifications.save_preferences(
                    account.id,
                    notifications.Preferences(
                        checkin_at=due.time(), quiet_start=None, quiet_end=None
                    ),
                )
            browser = service.subscribe()
            add_browser(app, account.id, browser)
            browsers.append(browser)
    return browsers


def test_a_run_claims_each_bucket_in_one_write_and_leaves_the_accounts_files_alone(
    app, service, monkeypatch
):
    """Group commit: one fsynced journal write per bucket, not one per account."""
    # More accounts than buckets, so some must share one (with fewer it is up to chance).
    people = notifications.BUCKETS + 1
    check_ins_due_now(app, service, people)
    written: list[Path] = []
    real = store_module._write_atomic

    def counting(path: Path, data: dict) -> None:
        written.append(path)
        real(path, data)

    monkeypatch.setattr(store_module, "_write_atomic", counting)
    sender = make_sender(app)
    with app.app_context():
        ids = [a.id for a in accounts.all_accounts()]
        assert reminders.run_once(sender).sent == people
    sender.close()
    journal = Path(app.config["TRACKER_DATA_DIR"]) / notifications.JOURNAL
    assert all(p.is_relative_to(journal) for p in written), written
    assert len(written) == len({notifications.bucket_of(a) for a in ids}) < people
    assert_each_once(service, people)


def test_a_crash_after_claiming_loses_that_push_but_never_sends_it_twice(
    app, home, phones, service, monkeypatch
):
    """Claimed, then the sender dies before sending: at most once, so not sent again;
    the reminder is in the inbox all the same."""
    add_action(home)
    crashing = make_sender(app)

    def crash(*args, **kwargs):
        raise RuntimeError("the sender died here")

    monkeypatch.setattr(reminders, "_send_won", crash)
    assert run(app, crashing, on(MONDAY, 9, 0)).failed_accounts > 0
    monkeypatch.undo()
    restarted = make_sender(app)
    assert run(app, restarted, on(MONDAY, 9, 1)).sent == 0
    assert service.received == []
    with time_machine.travel(on(MONDAY, 9, 2), tick=False), app.app_context():
        assert [i.kind for i in notifications.inbox(home.owner)] == [Kind.ACTION]
    crashing.close()
    restarted.close()


def test_deleting_a_record_forgets_its_reminders_in_the_journal_for_that_account_only(
    app, home, service
):
    _, when = busy_morning(app, home, service)
    sender = make_sender(app)
    assert run(app, sender, when).sent == 8
    with time_machine.travel(when + timedelta(minutes=1), tick=False), app.app_context():
        notifications.forget_record(home.owner, home.record)
        assert notifications.inbox(home.owner) == []
        assert notifications.ledger(home.owner) == []
        assert len(notifications.inbox(home.carer)) == 2
    sender.close()


def test_claims_and_inbox_lines_kept_in_an_accounts_own_file_before_the_journal_still_count(
    app, home, phones, service, sender
):
    """Data written by the sender before the journal: the claim still stops a repeat, and
    the inbox line still shows, until "mark all as read"."""
    action = add_action(home)
    key = f"action:{home.record}:{action.id}:{MONDAY}"
    due = on(MONDAY, 9, 0).isoformat()
    with (
        app.app_context(),
        store_module.get_store().transaction(notifications.scope(home.owner)) as tx,
    ):
        claimed = {"key": key, "status": "sent", "late": False, "due_at": due, "at": due}
        tx.insert(
            notifications.LEDGER,
            {**claimed, "id": notifications.Reminder(key, Kind.ACTION, due, "").ledger_id},
        )
        tx.insert(
            notifications.INBOX,
            {"kind": "action", "url": f"/records/{home.record}/today", "details": "", "late": False}
            | {"at": due, "due_at": due, "read": False},
        )
    assert run(app, sender, on(MONDAY, 9, 1)).sent == 0
    assert service.received == []
    with time_machine.travel(on(MONDAY, 9, 2), tick=False), app.app_context():
        assert [i.kind for i in notifications.inbox(home.owner)] == [Kind.ACTION]
        assert notifications.unread_count(home.owner) == 1
        notifications.mark_all_read(home.owner)
        assert notifications.unread_count(home.owner) == 0


def test_claims_are_kept_35_days_and_then_deleted(app, home, phones, service, sender):
    add_action(home)
    run(app, sender, on(MONDAY, 9, 0))
    with time_machine.travel(on(MONDAY, 9, 1), tick=False), app.app_context():
        assert len(notifications.ledger(home.owner)) == 1
    run(app, sender, on(MONDAY + timedelta(days=35), 9, 0))
    day = Path(app.config["TRACKER_DATA_DIR"]) / notifications.JOURNAL / MONDAY.isoformat()
    assert day.is_dir()
    run(app, sender, on(MONDAY + timedelta(days=37), 9, 0))
    assert not day.exists()


def test_a_new_process_never_sends_again_what_another_process_sent(app, service):
    check_ins_due_now(app, service, 1)
    assert run_in_processes(app, 1) == [(1, 1)]
    sender = make_sender(app)
    with app.app_context():
        assert reminders.run_once(sender).sent == 0
    sender.close()
    assert run_in_processes(app, 1) == [(0, 0)]
    assert_each_once(service, 1)


def test_two_sender_processes_at_once_send_each_reminder_exactly_once(app, service):
    check_ins_due_now(app, service, 12)
    results = run_in_processes(app, 2)
    assert sum(sent for sent, _ in results) == 12
    assert_each_once(service, 12)


# --- downtime ------------------------------------------------------------------------------


def test_after_downtime_a_missed_reminder_is_sent_once_late_and_marked_late(
    app, home, phones, service, sender
):
    add_action(home)
    run(app, sender, on(MONDAY, 8, 0))  # then the sender is down until 11:30
    stats = run(app, sender, on(MONDAY, 11, 30))
    assert (stats.sent, stats.late) == (1, 1)
    run(app, sender, on(MONDAY, 11, 31))
    messages = service.for_(phones["owner"])
    assert len(messages) == 1
    assert messages[0].payload["body"] == f"Earlier reminder. {GENERIC_TEXT}"
    with time_machine.travel(on(MONDAY, 11, 31), tick=False), app.app_context():
        [item] = notifications.inbox(home.owner)
    assert item.late


def test_after_downtime_a_stale_check_in_is_dropped(app, service):
    use_local_push(app)
    with time_machine.travel(utc(2027, 1, 1, 12), tick=False):
        home = make_household(app)
    set_prefs(app, home.owner, checkin_at=time(19, 0))
    phone = service.subscribe()
    add_browser(app, home.owner, phone)
    sender = make_sender(app)

    # Down from Friday noon until Monday 20:00: the check-ins of Friday, Saturday and
    # Sunday are stale (the one from 3 days ago among them); Monday's is sent late.
    stats = run(app, sender, utc(2027, 1, 4, 20, 0))
    assert (stats.sent, stats.late, stats.dropped) == (1, 1, 3)
    again = run(app, sender, utc(2027, 1, 4, 20, 5))
    assert (again.sent, again.dropped) == (0, 0)
    [message] = service.for_(phone)
    assert message.payload["body"].startswith("Earlier reminder.")
    with time_machine.travel(utc(2027, 1, 4, 20, 5), tick=False), app.app_context():
        ledger = {d["due_at"][:10]: d["status"] for d in notifications.ledger(home.owner)}
        assert len(notifications.inbox(home.owner)) == 1
    assert ledger == {
        "2027-01-01": "dropped",
        "2027-01-02": "dropped",
        "2027-01-03": "dropped",
        "2027-01-04": "sent",
    }
    sender.close()


def test_nothing_is_sent_for_times_before_an_action_existed(app, home, phones, service, sender):
    add_action(home, created=on(MONDAY, 12, 0))  # daily from Monday, made at noon
    run(app, sender, on(MONDAY, 12, 1))
    assert counts(service, phones)["owner"] == 0  # not "Earlier reminder" for 09:00
    run(app, sender, on(MONDAY + timedelta(days=1), 9, 0))
    assert counts(service, phones)["owner"] == 1
