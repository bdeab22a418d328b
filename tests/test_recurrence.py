"""Recurrence rules: pure unit tests on ``actions.Schedule``.

Occurrences are calendar days in UK time, so month ends, leap years and the clocks
changing in Europe/London (last Sunday of March and of October) must never move an
occurrence to another day, and an action's time of day stays the same wall-clock time.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from time import perf_counter
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracker.actions import Repeat, Schedule

LONDON = ZoneInfo("Europe/London")
MON, TUE, WED, THU, FRI, SAT, SUN = range(7)

# 2026: the clocks go forward on Sunday 29 March and back on Sunday 25 October.
SPRING_FORWARD = date(2026, 3, 29)
FALL_BACK = date(2026, 10, 25)


def days(schedule: Schedule, first: date, last: date) -> list[str]:
    return [d.isoformat() for d in schedule.occurrences(first, last)]


# --- once ------------------------------------------------------------------------


def test_a_one_off_action_falls_only_on_its_date():
    s = Schedule(Repeat.ONCE, date(2026, 5, 4))
    assert days(s, date(2026, 5, 1), date(2026, 5, 31)) == ["2026-05-04"]
    assert days(s, date(2026, 5, 5), date(2026, 5, 31)) == []
    assert days(s, date(2026, 5, 4), date(2026, 5, 4)) == ["2026-05-04"]


# --- daily -----------------------------------------------------------------------


def test_a_daily_action_falls_on_every_day_from_its_start():
    s = Schedule(Repeat.DAILY, date(2026, 2, 26))
    assert days(s, date(2026, 2, 20), date(2026, 3, 3)) == [
        "2026-02-26",
        "2026-02-27",
        "2026-02-28",
        "2026-03-01",
        "2026-03-02",
        "2026-03-03",
    ]


def test_a_daily_action_does_not_fall_before_it_starts():
    s = Schedule(Repeat.DAILY, date(2026, 6, 10))
    assert days(s, date(2026, 6, 1), date(2026, 6, 9)) == []


def test_a_daily_action_crosses_a_leap_day():
    s = Schedule(Repeat.DAILY, date(2028, 2, 27))
    assert days(s, date(2028, 2, 27), date(2028, 3, 1)) == [
        "2028-02-27",
        "2028-02-28",
        "2028-02-29",
        "2028-03-01",
    ]


def test_a_daily_action_over_a_whole_year_falls_once_a_day():
    s = Schedule(Repeat.DAILY, date(2026, 1, 1))
    found = s.occurrences(date(2026, 1, 1), date(2026, 12, 31))
    assert len(found) == 365
    assert len(set(found)) == 365


# --- weekly ----------------------------------------------------------------------


def test_a_weekly_action_falls_on_the_chosen_days():
    # Thursday 1 January 2026.
    s = Schedule(Repeat.WEEKLY, date(2026, 1, 1), weekdays=(MON, WED, FRI))
    found = s.occurrences(date(2026, 1, 1), date(2026, 1, 18))
    assert [d.isoformat() for d in found] == [
        "2026-01-02",  # Friday
        "2026-01-05",
        "2026-01-07",
        "2026-01-09",
        "2026-01-12",
        "2026-01-14",
        "2026-01-16",
    ]
    assert {d.weekday() for d in found} == {MON, WED, FRI}


def test_a_weekly_action_with_no_days_chosen_falls_on_the_start_day_each_week():
    s = Schedule(Repeat.WEEKLY, date(2026, 1, 6))  # a Tuesday
    assert days(s, date(2026, 1, 1), date(2026, 1, 31)) == [
        "2026-01-06",
        "2026-01-13",
        "2026-01-20",
        "2026-01-27",
    ]


def test_an_action_every_two_weeks_skips_the_weeks_between():
    s = Schedule(Repeat.WEEKLY, date(2026, 1, 5), interval=2, weekdays=(MON, THU))
    assert days(s, date(2026, 1, 1), date(2026, 2, 1)) == [
        "2026-01-05",
        "2026-01-08",
        "2026-01-19",
        "2026-01-22",
    ]


def test_an_action_every_three_weeks_counts_weeks_from_its_start():
    s = Schedule(Repeat.WEEKLY, date(2026, 3, 3), interval=3)  # Tuesday
    found = s.occurrences(date(2026, 3, 1), date(2026, 6, 30))
    assert [d.isoformat() for d in found] == [
        "2026-03-03",
        "2026-03-24",
        "2026-04-14",
        "2026-05-05",
        "2026-05-26",
        "2026-06-16",
    ]
    # The gap is always exactly 21 days, even across the clocks going forward.
    assert {(b - a).days for a, b in pairwise(found)} == {21}


def test_a_window_that_starts_mid_way_through_an_every_n_weeks_rule_keeps_its_phase():
    s = Schedule(Repeat.WEEKLY, date(2026, 1, 5), interval=2)
    # Looking only at February must still give the weeks counted from 5 January.
    assert days(s, date(2026, 2, 1), date(2026, 2, 28)) == ["2026-02-02", "2026-02-16"]


# --- monthly ---------------------------------------------------------------------


def test_a_monthly_action_falls_on_the_same_date_each_month():
    s = Schedule(Repeat.MONTHLY, date(2026, 1, 15))
    assert days(s, date(2026, 1, 1), date(2026, 5, 31)) == [
        "2026-01-15",
        "2026-02-15",
        "2026-03-15",
        "2026-04-15",
        "2026-05-15",
    ]


def test_monthly_on_the_31st_falls_on_the_last_day_of_shorter_months_in_a_normal_year():
    s = Schedule(Repeat.MONTHLY, date(2026, 1, 31))
    assert days(s, date(2026, 1, 1), date(2026, 12, 31)) == [
        "2026-01-31",
        "2026-02-28",
        "2026-03-31",
        "2026-04-30",
        "2026-05-31",
        "2026-06-30",
        "2026-07-31",
        "2026-08-31",
        "2026-09-30",
        "2026-10-31",
        "2026-11-30",
        "2026-12-31",
    ]


def test_monthly_on_the_31st_falls_on_29_february_in_a_leap_year():
    s = Schedule(Repeat.MONTHLY, date(2027, 12, 31))
    assert days(s, date(2028, 1, 1), date(2028, 3, 31)) == [
        "2028-01-31",
        "2028-02-29",
        "2028-03-31",
    ]


def test_monthly_on_the_29th_falls_on_28_february_only_when_february_is_short():
    s = Schedule(Repeat.MONTHLY, date(2026, 1, 29))
    assert days(s, date(2026, 1, 1), date(2026, 4, 30)) == [
        "2026-01-29",
        "2026-02-28",
        "2026-03-29",  # not the 31st: March has a 29th
        "2026-04-29",
    ]
    leap = Schedule(Repeat.MONTHLY, date(2028, 1, 29))
    assert days(leap, date(2028, 2, 1), date(2028, 3, 31)) == ["2028-02-29", "2028-03-29"]


def test_monthly_on_the_30th_stays_on_the_30th_in_31_day_months():
    s = Schedule(Repeat.MONTHLY, date(2026, 1, 30))
    assert days(s, date(2026, 1, 1), date(2026, 5, 31)) == [
        "2026-01-30",
        "2026-02-28",
        "2026-03-30",
        "2026-04-30",
        "2026-05-30",
    ]


@pytest.mark.parametrize("start_day", range(1, 32))
def test_monthly_falls_once_in_every_month_whatever_the_start_date(start_day):
    s = Schedule(Repeat.MONTHLY, date(2026, 1, start_day))
    found = s.occurrences(date(2026, 1, 1), date(2029, 12, 31))
    months = [(d.year, d.month) for d in found]
    assert len(months) == 48
    assert len(set(months)) == 48
    for d in found:
        last_day = ((d.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)).day
        assert d.day == min(start_day, last_day)


def test_a_monthly_action_over_a_year_end_carries_on_into_january():
    s = Schedule(Repeat.MONTHLY, date(2026, 11, 30))
    assert days(s, date(2026, 11, 1), date(2027, 2, 28)) == [
        "2026-11-30",
        "2026-12-30",
        "2027-01-30",
        "2027-02-28",
    ]


# --- end dates -------------------------------------------------------------------


def test_a_daily_action_stops_after_its_last_date():
    s = Schedule(Repeat.DAILY, date(2026, 4, 28), until=date(2026, 5, 2))
    assert days(s, date(2026, 4, 1), date(2026, 5, 31)) == [
        "2026-04-28",
        "2026-04-29",
        "2026-04-30",
        "2026-05-01",
        "2026-05-02",
    ]


def test_a_weekly_action_includes_its_last_date_when_it_falls_on_it():
    s = Schedule(Repeat.WEEKLY, date(2026, 1, 5), until=date(2026, 1, 19))
    assert days(s, date(2026, 1, 1), date(2026, 3, 1)) == [
        "2026-01-05",
        "2026-01-12",
        "2026-01-19",
    ]


def test_a_monthly_action_on_the_31st_ending_in_february_ends_on_the_last_day():
    s = Schedule(Repeat.MONTHLY, date(2026, 1, 31), until=date(2026, 2, 28))
    assert days(s, date(2026, 1, 1), date(2026, 12, 31)) == ["2026-01-31", "2026-02-28"]


def test_a_window_entirely_after_the_last_date_is_empty():
    s = Schedule(Repeat.DAILY, date(2026, 1, 1), until=date(2026, 1, 10))
    assert days(s, date(2026, 1, 11), date(2026, 1, 31)) == []


def test_an_action_whose_last_date_is_its_first_falls_once():
    s = Schedule(Repeat.DAILY, date(2026, 7, 7), until=date(2026, 7, 7))
    assert days(s, date(2026, 7, 1), date(2026, 7, 31)) == ["2026-07-07"]


# --- the clocks changing in Europe/London ----------------------------------------


def test_the_2026_clock_change_dates_are_the_last_sundays_of_march_and_october():
    # Guard for the tests below: the offsets really do change on these days.
    def offset(d: date, hour: int) -> timedelta:
        return datetime.combine(d, time(hour), tzinfo=LONDON).utcoffset()

    assert SPRING_FORWARD.weekday() == SUN and FALL_BACK.weekday() == SUN
    assert offset(SPRING_FORWARD, 0) == timedelta(0)
    assert offset(SPRING_FORWARD, 3) == timedelta(hours=1)
    assert offset(FALL_BACK, 0) == timedelta(hours=1)
    assert offset(FALL_BACK, 3) == timedelta(0)


@pytest.mark.parametrize("change", [SPRING_FORWARD, FALL_BACK])
def test_a_daily_action_falls_on_each_day_around_the_clocks_changing(change):
    s = Schedule(Repeat.DAILY, change - timedelta(days=10), at=time(21, 30))
    found = s.occurrences(change - timedelta(days=3), change + timedelta(days=3))
    assert found == [change + timedelta(days=n) for n in range(-3, 4)]


@pytest.mark.parametrize("change", [SPRING_FORWARD, FALL_BACK])
def test_a_weekly_sunday_action_falls_on_the_sunday_the_clocks_change(change):
    s = Schedule(Repeat.WEEKLY, date(2026, 1, 4), weekdays=(SUN,), at=time(1, 30))
    found = s.occurrences(change - timedelta(days=7), change + timedelta(days=7))
    assert found == [change - timedelta(days=7), change, change + timedelta(days=7)]
    assert all(d.weekday() == SUN for d in found)


@pytest.mark.parametrize("change", [SPRING_FORWARD, FALL_BACK])
def test_a_monday_action_stays_on_monday_after_the_clocks_change(change):
    s = Schedule(Repeat.WEEKLY, date(2026, 1, 5), weekdays=(MON,), at=time(0, 30))
    found = s.occurrences(change - timedelta(days=6), change + timedelta(days=8))
    assert found == [change - timedelta(days=6), change + timedelta(days=1), change + timedelta(8)]


@pytest.mark.parametrize(
    ("change", "hours_before", "hours_after"),
    [(SPRING_FORWARD, 0, 1), (FALL_BACK, 1, 0)],
)
def test_an_action_keeps_its_wall_clock_time_when_the_clocks_change(
    change, hours_before, hours_after
):
    s = Schedule(Repeat.DAILY, date(2026, 1, 1), at=time(21, 30))
    moments = s.moments(change - timedelta(days=1), change + timedelta(days=1))
    assert [m.date() for m in moments] == [
        change - timedelta(days=1),
        change,
        change + timedelta(days=1),
    ]
    # 9:30pm in the UK every evening, whatever the offset from UTC.
    assert all((m.hour, m.minute) == (21, 30) for m in moments)
    assert all(m.tzinfo is not None for m in moments)
    offsets = [m.utcoffset() for m in moments]
    assert offsets[0] == timedelta(hours=hours_before)
    assert offsets[-1] == timedelta(hours=hours_after)
    # So in UTC, the same action moves by an hour across the change.
    utc_hours = [m.astimezone(UTC).hour for m in moments]
    assert utc_hours[0] == 21 - hours_before
    assert utc_hours[-1] == 21 - hours_after


def test_a_time_that_does_not_exist_when_the_clocks_go_forward_is_a_real_moment():
    # 1:30am on 29 March 2026 never happens in the UK: the clocks jump from 1am to 2am.
    s = Schedule(Repeat.DAILY, date(2026, 3, 1), at=time(1, 30))
    (moment,) = s.moments(SPRING_FORWARD, SPRING_FORWARD)
    assert moment.date() == SPRING_FORWARD
    # It is shown at the same local wall-clock time and maps to one real instant.
    assert moment.astimezone(UTC) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert moment.astimezone(UTC).astimezone(LONDON).date() == SPRING_FORWARD


def test_a_time_that_happens_twice_when_the_clocks_go_back_is_the_first_one():
    s = Schedule(Repeat.DAILY, date(2026, 10, 1), at=time(1, 30))
    (moment,) = s.moments(FALL_BACK, FALL_BACK)
    assert moment.date() == FALL_BACK
    assert moment.astimezone(UTC) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)


def test_an_action_without_a_time_has_no_moments_but_still_has_days():
    s = Schedule(Repeat.DAILY, date(2026, 3, 28))
    assert s.moments(SPRING_FORWARD, SPRING_FORWARD) == []
    assert s.occurrences(SPRING_FORWARD, SPRING_FORWARD) == [SPRING_FORWARD]


def test_a_schedule_survives_being_stored_and_read_back():
    s = Schedule(
        Repeat.WEEKLY,
        date(2026, 3, 2),
        until=date(2026, 12, 31),
        interval=2,
        weekdays=(MON, FRI),
        at=time(9, 5),
    )
    again = Schedule.from_doc(s.to_doc())
    assert again == s
    assert again.occurrences(date(2026, 3, 1), date(2026, 4, 30)) == s.occurrences(
        date(2026, 3, 1), date(2026, 4, 30)
    )


# --- against a plain-arithmetic oracle -------------------------------------------------


def _last_day(d: date) -> int:
    return ((d.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)).day


def _falls_on(s: Schedule, d: date) -> bool:
    """Whether the action falls on ``d``, worked out day by day without rrule."""
    if d < s.start or (s.until is not None and s.repeat is not Repeat.ONCE and d > s.until):
        return False
    if s.repeat is Repeat.ONCE:
        return d == s.start
    if s.repeat is Repeat.DAILY:
        return (d - s.start).days % s.interval == 0
    if s.repeat is Repeat.WEEKLY:
        weeks = ((d - timedelta(days=d.weekday())) - (s.start - timedelta(s.start.weekday()))).days
        return (
            d.weekday() in (s.weekdays or (s.start.weekday(),)) and (weeks // 7) % s.interval == 0
        )
    return d.day == min(s.start.day, _last_day(d))


schedules = st.builds(
    lambda repeat, start, interval, weekdays, length: Schedule(
        repeat,
        start,
        until=start + timedelta(days=length) if length is not None else None,
        interval=interval if repeat is Repeat.WEEKLY else 1,
        weekdays=tuple(sorted(weekdays)) if repeat is Repeat.WEEKLY else (),
    ),
    st.sampled_from(list(Repeat)),
    st.dates(date(2019, 1, 1), date(2030, 12, 31)),
    st.integers(1, 6),
    st.sets(st.integers(0, 6), max_size=7),
    st.one_of(st.none(), st.integers(0, 900)),
)


@settings(max_examples=300, deadline=None)
@given(
    schedule=schedules, first=st.dates(date(2018, 6, 1), date(2032, 1, 1)), span=st.integers(0, 120)
)
def test_occurrences_match_a_day_by_day_reckoning_for_any_rule_and_window(schedule, first, span):
    last = first + timedelta(days=span)
    expected = [
        first + timedelta(days=n)
        for n in range(span + 1)
        if _falls_on(schedule, first + timedelta(days=n))
    ]
    assert schedule.occurrences(first, last) == expected


def test_a_long_running_daily_action_costs_no_more_to_expand_than_a_new_one():
    # An action begun years ago must not be walked day by day from its start on every
    # page that shows today (rrule iterates from dtstart).
    today = date(2026, 11, 23)
    old = Schedule(Repeat.DAILY, date(2000, 1, 1))
    new = Schedule(Repeat.DAILY, today - timedelta(days=10))

    def cost(s: Schedule) -> float:
        started = perf_counter()
        for _ in range(200):
            s.occurrences(today - timedelta(days=7), today)
        return perf_counter() - started

    cost(new)  # warm up
    assert cost(old) < cost(new) * 5 + 0.05
