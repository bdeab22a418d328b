"""The calendar feed: iCalendar that phones read right across clock changes, behind a token."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

import pytest
from dateutil.rrule import rrulestr
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from icalendar import Calendar

from tracker import calendar_feed, clock
from tracker.actions import Repeat, Schedule

from .conftest import make_account, post
from .factories import create_action, create_goal, create_plan


def _add_action(people, schedule: Schedule, what: str = "Walk to the post box") -> None:
    goal = create_goal(people.app, people.record_id, by=people.owner_id, outcome="Get out more")
    create_action(people.app, people.record_id, goal_id=goal.id, what=what, schedule=schedule)


def _feed_path(people) -> str:
    with people.app.app_context():
        secret = calendar_feed.reset_token(people.record_id)
    return f"/calendar/{calendar_feed.token_for(people.record_id, secret)}.ics"


def _events(raw: bytes) -> list:
    return Calendar.from_ical(raw).walk("VEVENT")


def _expand(event, until: datetime) -> list[datetime]:
    """Every start of a parsed event up to ``until``, as aware datetimes (or dates)."""
    start = event.decoded("dtstart")
    if "RRULE" not in event:
        return [start]
    rule = event["RRULE"].to_ical().decode()
    if isinstance(start, datetime):
        return list(rrulestr(rule, dtstart=start).between(start, until, inc=True))
    naive = datetime.combine(start, time())
    rule = re.sub(r"UNTIL=(\d{8})(?!T)", r"UNTIL=\1T000000", rule)
    found = rrulestr(rule, dtstart=naive).between(naive, until.replace(tzinfo=None), inc=True)
    return [d.date() for d in found]


# --- the Done-when item: correct occurrences across both clock changes -------------------


@pytest.mark.parametrize(
    ("first", "change"),
    [(date(2026, 3, 26), date(2026, 3, 29)), (date(2026, 10, 22), date(2026, 10, 25))],
)
def test_a_daily_9am_action_stays_at_9am_uk_time_across_a_clock_change(people, first, change):
    _add_action(people, Schedule(Repeat.DAILY, first, until=first + timedelta(days=6), at=time(9)))
    response = people.app.test_client().get(_feed_path(people))
    (event,) = [e for e in _events(response.data) if str(e["uid"]).startswith("action-")]
    assert event["DTSTART"].params["TZID"] == "Europe/London"
    starts = _expand(event, datetime(2027, 1, 1, tzinfo=UTC))
    assert len(starts) == 7
    for start in starts:
        local = start.astimezone(clock.LONDON)
        assert (local.hour, local.minute) == (9, 0)
        summer = (start.date() >= change) == (change.month == 3)
        assert start.astimezone(UTC).hour == (8 if summer else 9)


def test_the_feed_carries_a_europe_london_timezone_with_both_offsets(people):
    _add_action(people, Schedule(Repeat.DAILY, date(2026, 1, 5), at=time(9)))
    raw = people.app.test_client().get(_feed_path(people)).data
    (vtimezone,) = Calendar.from_ical(raw).walk("VTIMEZONE")
    assert vtimezone["TZID"] == "Europe/London"
    tz = vtimezone.to_tz()
    assert datetime(2026, 1, 15, 9, tzinfo=tz).utcoffset() == timedelta(0)
    assert datetime(2026, 7, 15, 9, tzinfo=tz).utcoffset() == timedelta(hours=1)
    assert datetime(2031, 7, 15, 9, tzinfo=tz).utcoffset() == timedelta(hours=1)


schedules = st.builds(
    Schedule,
    repeat=st.sampled_from([Repeat.ONCE, Repeat.DAILY, Repeat.WEEKLY, Repeat.MONTHLY]),
    start=st.dates(date(2025, 1, 1), date(2027, 12, 31)),
    until=st.none() | st.dates(date(2025, 1, 1), date(2028, 6, 30)),
    interval=st.integers(1, 4),
    weekdays=st.lists(st.integers(0, 6), max_size=3, unique=True).map(lambda d: tuple(sorted(d))),
    at=st.none() | st.sampled_from([time(1, 0), time(9, 0), time(21, 30)]),
)


@settings(max_examples=120, deadline=None)
@given(schedule=schedules)
@example(Schedule(Repeat.MONTHLY, date(2026, 1, 31), at=time(9)))
@example(Schedule(Repeat.MONTHLY, date(2026, 1, 30), until=date(2026, 6, 30)))
@example(Schedule(Repeat.WEEKLY, date(2026, 3, 7), interval=2, weekdays=(0, 4), at=time(21, 30)))
@example(Schedule(Repeat.DAILY, date(2026, 3, 27), interval=3, until=date(2026, 4, 30), at=time(1)))
def test_each_rule_in_the_feed_gives_exactly_the_days_the_tracker_gives(schedule):
    """The RRULE, read back by a calendar, falls on the same days as ``Schedule.occurrences``."""
    from icalendar import Event

    event = calendar_feed._action_event("rec123", _FakeAction(schedule), False, clock.now())
    last = schedule.start + timedelta(days=500)
    expected = schedule.occurrences(schedule.start, last)
    if event is None:
        assert expected == []
        return
    parsed = Event.from_ical(event.to_ical())
    until = datetime.combine(last, time(23, 59), tzinfo=clock.LONDON)
    found = _expand(parsed, until)
    days = [d.astimezone(clock.LONDON).date() if isinstance(d, datetime) else d for d in found]
    assert days == [d for d in expected if d <= last]


class _FakeAction:
    """Only what the feed reads from an action."""

    def __init__(self, schedule: Schedule) -> None:
        self.id = "act123"
        self.what = "Walk"
        self.schedule = schedule


# --- what the feed says ----------------------------------------------------------------------


def test_events_say_only_care_plan_action_unless_the_person_chooses_wording(people):
    _add_action(people, Schedule(Repeat.WEEKLY, date(2026, 3, 2), weekdays=(0,)), "See the nurse")
    create_plan(
        people.app,
        people.record_id,
        by=people.coordinator_id,
        start_date=date(2026, 1, 1),
        next_review=date(2026, 7, 1),
    )
    client = people.app.test_client()
    path = _feed_path(people)
    raw = client.get(path).data
    summaries = sorted(str(e["SUMMARY"]) for e in _events(raw))
    assert summaries == ["Care plan action", "Care plan review"]
    assert b"See the nurse" not in raw and b"Get out more" not in raw
    assert b"DESCRIPTION" not in raw and b"LOCATION" not in raw
    review = next(e for e in _events(raw) if str(e["SUMMARY"]) == "Care plan review")
    assert review.decoded("dtstart") == date(2026, 7, 1)
    with people.app.app_context():
        calendar_feed.set_wording(people.record_id, True)
    raw = client.get(path).data
    assert "See the nurse" in [str(e["SUMMARY"]) for e in _events(raw)]
    assert b"Get out more" not in raw


def test_feed_answers_calendar_with_private_caching_and_no_referrer(people):
    response = people.app.test_client().get(_feed_path(people))
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    assert response.headers["Cache-Control"].startswith("private")
    assert response.headers["Referrer-Policy"] == "no-referrer"


# --- the token ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "token", ["nothing", "abcdef-" + "x" * 43, "ABCDEF-" + "x" * 43, "a" * 300]
)
def test_an_unknown_calendar_token_gets_404_without_a_referrer(people, token):
    response = people.app.test_client().get(f"/calendar/{token}.ics")
    assert response.status_code == 404
    assert response.headers["Referrer-Policy"] == "no-referrer"


def test_a_wrong_secret_for_a_real_record_gets_404(people):
    _feed_path(people)
    forged = calendar_feed.token_for(people.record_id, "A" * 43)
    assert people.app.test_client().get(f"/calendar/{forged}.ics").status_code == 404


def test_a_reset_token_gets_404_and_the_new_one_works(people, login_as):
    old = _feed_path(people)
    client = login_as("owner@example.com")
    page = f"/records/{people.record_id}/your-data"
    response = post(client, f"{page}/calendar-link", token_from=page)
    assert response.status_code == 303
    anonymous = people.app.test_client()
    assert anonymous.get(old).status_code == 404
    html = client.get(page).get_data(as_text=True)
    (new,) = re.findall(r'value="http://localhost(/calendar/[^"]+\.ics)"', html)
    assert new != old
    assert anonymous.get(new).status_code == 200
    assert f'href="webcal://localhost{new}"' in html


def test_turning_the_feed_off_makes_its_link_404(people, login_as):
    path = _feed_path(people)
    client = login_as("owner@example.com")
    page = f"/records/{people.record_id}/your-data"
    assert post(client, f"{page}/calendar-link/off", token_from=page).status_code == 303
    assert people.app.test_client().get(path).status_code == 404
    assert "Make a calendar link" in client.get(page).get_data(as_text=True)


def test_a_deleted_record_s_feed_gets_404(people):
    path = _feed_path(people)
    with people.app.app_context():
        from tracker.store import get_store

        get_store().delete_scope_folder(f"records/{people.record_id}")
    assert people.app.test_client().get(path).status_code == 404


def test_guessing_tokens_is_rate_limited(people):
    client = people.app.test_client()
    codes = [client.get(f"/calendar/{'abcdef'}-{i:043d}.ics").status_code for i in range(31)]
    assert codes[:30] == [404] * 30
    assert codes[30] == 429


# --- the page and its forms ------------------------------------------------------------------


@pytest.mark.parametrize("email", ["carer@example.com", "coord@example.com"])
@pytest.mark.parametrize("path", ["calendar-link", "calendar-link/off", "calendar-wording"])
def test_carer_and_coordinator_cannot_change_the_calendar(people, login_as, email, path):
    client = login_as(email)
    response = post(client, f"/records/{people.record_id}/your-data/{path}", {"wording": "yes"})
    assert response.status_code == 404
    with people.app.app_context():
        assert calendar_feed.get_settings(people.record_id) == calendar_feed.FeedSettings()


def test_another_person_cannot_start_a_feed_on_a_record_they_do_not_belong_to(people, login_as):
    make_account(people.app, "stranger@example.com", "Stan Stranger")
    client = login_as("stranger@example.com")
    response = post(client, f"/records/{people.record_id}/your-data/calendar-link")
    assert response.status_code == 404


def test_changing_the_calendar_without_a_csrf_token_is_refused(people, login_as):
    client = login_as("owner@example.com")
    response = client.post(f"/records/{people.record_id}/your-data/calendar-link")
    assert response.status_code == 400
    with people.app.app_context():
        assert not calendar_feed.get_settings(people.record_id).enabled


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(choice=st.one_of(st.sampled_from(["yes", "no", ""]), st.text(max_size=30)))
def test_the_wording_form_stores_only_yes_or_no_and_explains_anything_else(
    people, login_as, choice
):
    client = login_as("owner@example.com")
    page = f"/records/{people.record_id}/your-data"
    with people.app.app_context():
        calendar_feed.set_wording(people.record_id, False)
    response = post(client, f"{page}/calendar-wording", {"wording": choice}, token_from=page)
    with people.app.app_context():
        stored = calendar_feed.get_settings(people.record_id).include_wording
    if choice in ("yes", "no"):
        assert response.status_code == 303
        assert stored is (choice == "yes")
    else:
        assert response.status_code == 422
        html = response.get_data(as_text=True)
        assert "There is a problem" in html
        assert "Select whether your calendar should show what each action is" in html
        assert stored is False


def test_the_wording_choice_is_off_by_default_and_shown_on_the_page(people, login_as):
    _feed_path(people)
    html = login_as("owner@example.com").get(f"/records/{people.record_id}/your-data")
    text = html.get_data(as_text=True)
    assert re.search(r'value="no"\s+checked|value="no"[^>]*checked', text)
    assert "says only" in text
