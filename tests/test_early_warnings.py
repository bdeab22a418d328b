"""Early warning rules from the contingency plan: each rule type, its edge days and its gaps.

Readings go in through the reading form with a time typed as a phone sends it
(UK time), so the tests also cover which UK day a late-night reading belongs to,
including across the clock changes. Hand-worked expectations are in the comments;
the rules themselves are written down in docs/trends-and-warnings.md.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from tracker import early_warnings, logs, plans, trackers
from tracker.early_warnings import daily_values, evaluate
from tracker.plans import ContactRole
from tracker.trackers import Rule, RuleKind, TrackerKind

from .conftest import send, text_of, url
from .factories import create_tracker
from .test_logs import (
    disk_entries,
    only,
)

WHAT_TO_DO = "Start my rescue pack. Sit upright and use my breathing techniques."
WHOM_TO_CALL = "Respiratory nurse team: 01632 960 001. Out of hours: NHS 111."


def make_tracker(people, kind: TrackerKind, rule: Rule, name: str = "Pain", unit: str = ""):
    return create_tracker(people.app, people.record_id, name=name, kind=kind, unit=unit, rule=rule)


@pytest.fixture
def plan(people):
    with people.app.app_context():
        plans.save_sections(
            people.record_id,
            {"what_to_do": WHAT_TO_DO, "whom_to_call": WHOM_TO_CALL},
            by=people.coordinator_id,
        )
        plans.add_contact(
            people.record_id,
            by=people.coordinator_id,
            name="Cody Coordinator",
            role=ContactRole.COORDINATOR,
            phone="01632 960 004",
        )


@pytest.fixture
def pain(people):
    """A 0–10 scale with the rule "8 or more on 3 consecutive days"."""
    return make_tracker(people, TrackerKind.SCALE, Rule(RuleKind.AT_LEAST_FOR_DAYS, 8, 3))


@pytest.fixture
def weight(people):
    """Weight in kg with the rule "up by more than 2 kg within 3 days"."""
    return make_tracker(
        people, TrackerKind.NUMBER, Rule(RuleKind.RISE_WITHIN_DAYS, 2, 3), "Weight", "kg"
    )


@pytest.fixture
def infection(people):
    """Yes/no with the rule "any yes"."""
    return make_tracker(people, TrackerKind.YES_NO, Rule(RuleKind.ANY_YES), "Green phlegm")


def reading(owner, people, tracker, when: str, value: str | None = None, answer: str | None = None):
    """Log one reading at a UK time typed as "YYYY-MM-DDTHH:MM"; the response."""
    response = send(
        owner,
        url(people, f"/symptoms/{tracker.id}"),
        {"value": value, "answer": answer, "when": when},
    )
    assert response.status_code in (200, 303), text_of(response)[:500]
    return response


def is_warning(response) -> bool:
    return response.status_code == 200 and "This may be an early warning sign" in text_of(response)


def hits(people) -> list[dict]:
    return sorted(
        (e["data"] for e in disk_entries(people.app, people.record_id, "rule_hit")),
        key=lambda d: d["day"],
    )


def hit_days(people) -> list[str]:
    return [h["day"] for h in hits(people)]


# --- "8 or more on 3 consecutive days" ------------------------------------------------------


def test_eight_or_more_on_three_days_is_a_hit_on_the_third_day_and_not_before(
    people, owner, pain, plan
):
    first = reading(owner, people, pain, "2026-11-10T09:00", "8")
    second = reading(owner, people, pain, "2026-11-11T09:00", "9")
    assert not is_warning(first)
    assert not is_warning(second)
    assert hits(people) == []

    third = reading(owner, people, pain, "2026-11-12T09:00", "8")

    assert is_warning(third)
    hit = only(hits(people))
    assert hit["day"] == "2026-11-12"
    assert hit["tracker_id"] == pain.id
    assert hit["rule"] == "8 or more on 3 days in a row"
    assert hit["evidence"] == [["2026-11-10", 8], ["2026-11-11", 9], ["2026-11-12", 8]]


def test_a_day_without_a_reading_breaks_the_run(people, owner, pain):
    for day in ("10", "11", "13", "14"):  # nothing on the 12th
        assert not is_warning(reading(owner, people, pain, f"2026-11-{day}T09:00", "9"))
    assert hits(people) == []
    # The 15th completes 13, 14, 15.
    assert is_warning(reading(owner, people, pain, "2026-11-15T09:00", "9"))
    assert hit_days(people) == ["2026-11-15"]


def test_a_lower_reading_breaks_the_run(people, owner, pain):
    for day, value in (("10", "9"), ("11", "7"), ("12", "9"), ("13", "10")):
        assert not is_warning(reading(owner, people, pain, f"2026-11-{day}T09:00", value))
    assert hits(people) == []


def test_the_days_highest_reading_counts_so_a_lower_one_later_that_day_does_not_break_it(
    people, owner, pain
):
    reading(owner, people, pain, "2026-11-10T09:00", "8")
    reading(owner, people, pain, "2026-11-11T09:00", "9")
    reading(owner, people, pain, "2026-11-11T20:00", "3")
    assert is_warning(reading(owner, people, pain, "2026-11-12T09:00", "8"))


def test_seven_is_not_eight_or_more(people, owner, pain):
    for day in ("10", "11", "12"):
        reading(owner, people, pain, f"2026-11-{day}T09:00", "7")
    assert hits(people) == []


def test_each_further_day_of_the_run_is_a_hit_of_its_own_recorded_once(people, owner, pain):
    for day in ("10", "11", "12", "13"):
        reading(owner, people, pain, f"2026-11-{day}T09:00", "9")
    reading(owner, people, pain, "2026-11-13T18:00", "10")  # a second reading on the 13th
    assert hit_days(people) == ["2026-11-12", "2026-11-13"]


def test_a_past_day_filled_in_later_completes_a_run_that_ends_after_it(people, owner, pain):
    reading(owner, people, pain, "2026-11-10T09:00", "9")
    reading(owner, people, pain, "2026-11-12T09:00", "9")
    assert hits(people) == []

    # The 11th, typed in afterwards, makes 10, 11, 12 a run ending on the 12th.
    response = reading(owner, people, pain, "2026-11-11T09:00", "9")

    assert is_warning(response)
    assert hit_days(people) == ["2026-11-12"]


def test_late_night_readings_count_on_their_uk_day_across_the_spring_clock_change(
    people, owner, pain
):
    # Clocks went forward at 01:00 GMT on Sunday 29 March 2026.
    reading(owner, people, pain, "2026-03-28T22:00", "9")  # 22:00 GMT, Saturday 28th
    reading(owner, people, pain, "2026-03-29T23:30", "9")  # 22:30 UTC, Sunday 29th
    # 00:30 BST on Tuesday 31st is still Monday 30th in UTC: by UK days the 30th is
    # missing, so there is no run (by UTC days there would wrongly be one).
    assert not is_warning(reading(owner, people, pain, "2026-03-31T00:30", "9"))
    assert hits(people) == []
    stored = sorted(e["occurred_at"] for e in disk_entries(people.app, people.record_id))
    assert stored[-1] == "2026-03-30T23:30:00+00:00"

    # 00:30 BST on Monday 30th (23:30 UTC on the 29th) fills the gap: runs end on the
    # 30th (28, 29, 30) and on the 31st (29, 30, 31).
    assert is_warning(reading(owner, people, pain, "2026-03-30T00:30", "9"))
    assert hit_days(people) == ["2026-03-30", "2026-03-31"]


def test_late_night_readings_count_on_their_uk_day_across_the_autumn_clock_change():
    # Clocks went back at 02:00 BST on Sunday 25 October 2026.
    t = trackers.Tracker("t", "Pain", TrackerKind.SCALE, "", "", "", None, None, False, None)
    readings = [
        (datetime(2026, 10, 24, 22, 30, tzinfo=UTC), 9),  # 23:30 BST Saturday 24th
        (datetime(2026, 10, 24, 23, 30, tzinfo=UTC), 7),  # 00:30 BST Sunday 25th
        (datetime(2026, 10, 25, 0, 30, tzinfo=UTC), 8),  # 01:30 BST Sunday 25th (first)
        (datetime(2026, 10, 25, 1, 30, tzinfo=UTC), 6),  # 01:30 GMT Sunday 25th (again)
        (datetime(2026, 10, 25, 23, 30, tzinfo=UTC), 10),  # 23:30 GMT Sunday 25th
        (datetime(2026, 10, 26, 0, 30, tzinfo=UTC), 5),  # 00:30 GMT Monday 26th
    ]
    assert daily_values(t, readings) == {
        date(2026, 10, 24): 9,
        date(2026, 10, 25): 10,
        date(2026, 10, 26): 5,
    }


# --- "up by more than 2 kg within 3 days" -----------------------------------------------------


def test_a_rise_of_exactly_two_kg_is_not_a_hit(people, owner, weight):
    # 64.4 − 62.4 is 2.000000000000007 in floating point: it must still count as 2.
    reading(owner, people, weight, "2026-11-10T08:00", "62.4")
    assert not is_warning(reading(owner, people, weight, "2026-11-12T08:00", "64.4"))
    assert hits(people) == []


def test_a_rise_of_two_point_one_kg_within_three_days_is_a_hit(people, owner, weight, plan):
    reading(owner, people, weight, "2026-11-10T08:00", "62.4")
    response = reading(owner, people, weight, "2026-11-13T08:00", "64.5")
    assert is_warning(response)
    hit = only(hits(people))
    assert hit["day"] == "2026-11-13"
    assert hit["rule"] == "Up by more than 2 kg within 3 days"
    assert hit["evidence"] == [["2026-11-10", 62.4], ["2026-11-13", 64.5]]


def test_a_rise_compared_with_a_reading_four_days_back_is_not_a_hit(people, owner, weight):
    reading(owner, people, weight, "2026-11-09T08:00", "62.4")
    assert not is_warning(reading(owner, people, weight, "2026-11-13T08:00", "70"))
    assert hits(people) == []


def test_a_rise_is_measured_from_any_of_the_three_days_before(people, owner, weight):
    # 70 on the 10th, 68 on the 11th, 70.1 on the 13th: up 2.1 from the 11th.
    reading(owner, people, weight, "2026-11-10T08:00", "70")
    reading(owner, people, weight, "2026-11-11T08:00", "68")
    assert is_warning(reading(owner, people, weight, "2026-11-13T08:00", "70.1"))
    assert only(hits(people))["evidence"] == [["2026-11-11", 68.0], ["2026-11-13", 70.1]]


def test_a_rise_within_one_day_is_not_compared_with_itself(people, owner, weight):
    reading(owner, people, weight, "2026-11-10T08:00", "60")
    assert not is_warning(reading(owner, people, weight, "2026-11-10T20:00", "65"))
    assert hits(people) == []


def test_a_lower_reading_filled_in_before_a_later_one_shows_the_rise(people, owner, weight):
    reading(owner, people, weight, "2026-11-12T08:00", "66")
    assert hits(people) == []
    assert is_warning(reading(owner, people, weight, "2026-11-10T08:00", "63.5"))
    assert hit_days(people) == ["2026-11-12"]


@pytest.mark.parametrize(
    ("before", "after", "hit"),
    [
        (62.4, 64.4, False),
        (70.1, 72.1, False),
        (126.3, 128.3, False),
        (62.4, 64.401, True),
        (0.1, 2.2, True),
        (-1.0, 1.0, False),
    ],
)
def test_rises_are_compared_to_the_gram_not_to_the_last_bit_of_a_float(before, after, hit):
    rule = Rule(RuleKind.RISE_WITHIN_DAYS, 2, 3)
    values = {date(2026, 11, 10): before, date(2026, 11, 12): after}
    assert bool(evaluate(rule, values, date(2026, 11, 12))) is hit


# --- "any yes" ------------------------------------------------------------------------------------


def test_any_yes_is_a_hit_and_no_is_not(people, owner, infection, plan):
    assert not is_warning(reading(owner, people, infection, "2026-11-10T09:00", answer="0"))
    assert hits(people) == []
    response = reading(owner, people, infection, "2026-11-11T09:00", answer="1")
    assert is_warning(response)
    assert only(hits(people))["rule"] == 'Any "yes"'


def test_a_hit_is_recorded_once_per_tracker_per_day(people, owner, infection):
    assert is_warning(reading(owner, people, infection, "2026-11-11T09:00", answer="1"))
    assert not is_warning(reading(owner, people, infection, "2026-11-11T15:00", answer="1"))
    assert not is_warning(reading(owner, people, infection, "2026-11-11T23:59", answer="1"))
    assert hit_days(people) == ["2026-11-11"]
    assert is_warning(reading(owner, people, infection, "2026-11-12T00:01", answer="1"))
    assert hit_days(people) == ["2026-11-11", "2026-11-12"]


def test_hits_of_two_trackers_on_one_day_are_both_recorded(people, owner):
    a = make_tracker(people, TrackerKind.YES_NO, Rule(RuleKind.ANY_YES), "Fever")
    b = make_tracker(people, TrackerKind.YES_NO, Rule(RuleKind.ANY_YES), "Rash")
    assert is_warning(reading(owner, people, a, "2026-11-11T09:00", answer="1"))
    assert is_warning(reading(owner, people, b, "2026-11-11T09:00", answer="1"))
    assert sorted(h["tracker_name"] for h in hits(people)) == ["Fever", "Rash"]


def test_checking_the_same_day_twice_records_one_hit(people, infection):
    with people.app.app_context():
        when = datetime(2026, 11, 11, 9, tzinfo=UTC)
        logs.record_reading(
            people.record_id,
            author_id=people.owner_id,
            tracker_id=infection.id,
            value=1,
            occurred_at=when,
        )
        first = early_warnings.check_after_reading(
            people.record_id, infection, when, author_id=people.owner_id
        )
        second = early_warnings.check_after_reading(
            people.record_id, infection, when, author_id=people.owner_id
        )
    assert first is not None
    assert second is None
    assert hit_days(people) == ["2026-11-11"]


def test_a_tracker_without_a_rule_never_warns(people, owner):
    t = create_tracker(people.app, people.record_id, name="Pain", kind=TrackerKind.SCALE)
    for day in ("10", "11", "12", "13"):
        assert not is_warning(reading(owner, people, t, f"2026-11-{day}T09:00", "10"))
    assert hits(people) == []


def test_a_count_rule_adds_up_each_days_readings(people, owner):
    falls = make_tracker(people, TrackerKind.COUNT, Rule(RuleKind.AT_LEAST_FOR_DAYS, 2, 2), "Falls")
    reading(owner, people, falls, "2026-11-10T09:00", "1")
    reading(owner, people, falls, "2026-11-10T18:00", "1")  # 2 on the 10th
    reading(owner, people, falls, "2026-11-11T09:00", "1")
    assert hits(people) == []
    assert is_warning(reading(owner, people, falls, "2026-11-11T19:00", "1"))  # 2 on the 11th
    assert only(hits(people))["evidence"] == [["2026-11-10", 2], ["2026-11-11", 2]]


def test_changing_a_reading_can_meet_the_rule(people, owner, pain, plan):
    reading(owner, people, pain, "2026-11-10T09:00", "9")
    reading(owner, people, pain, "2026-11-11T09:00", "9")
    reading(owner, people, pain, "2026-11-12T09:00", "5")
    assert hits(people) == []
    low = next(
        e for e in disk_entries(people.app, people.record_id, "reading") if e["data"]["value"] == 5
    )
    response = send(
        owner,
        url(people, f"/entries/{low['id']}/edit"),
        {"value": "9", "when": "2026-11-12T09:00"},
    )
    assert is_warning(response)
    assert hit_days(people) == ["2026-11-12"]


# --- what the person sees ---------------------------------------------------------------------


def test_a_hit_shows_the_plans_what_to_do_and_whom_to_call_and_offers_an_early_review(
    people, owner, infection, plan
):
    response = reading(owner, people, infection, "2026-11-11T09:00", answer="1")

    assert response.status_code == 200
    page = text_of(response)
    assert "Your green phlegm reading has been saved." in page
    assert 'Your plan says to watch for this: green phlegm, any "yes".' in page
    assert "What to do" in page
    assert WHAT_TO_DO in page
    assert "Whom to call" in page
    assert WHOM_TO_CALL in page
    assert "Do you need an early review of your plan?" in page
    assert "Ask for an early review" in page
    assert url(people, "/reviews/request?reason=not_working") in page
    assert "Call Cody Coordinator: 01632 960 004" in page
    assert 'href="tel:01632960004"' in page
    assert "call NHS 111, or 999 in an emergency" in page


def test_a_hit_without_a_contingency_plan_still_offers_help_and_a_review(people, owner, infection):
    response = reading(owner, people, infection, "2026-11-11T09:00", answer="1")
    page = text_of(response)
    assert response.status_code == 200
    assert "What to do" not in page
    assert "Ask for an early review" in page
    assert "call NHS 111, or 999 in an emergency" in page


def test_hits_are_kept_in_the_history_and_shown_on_the_symptoms_page(
    people, owner, coordinator, carer, infection
):
    reading(owner, people, infection, "2026-11-20T09:00", answer="1")
    for client in (owner, coordinator):
        assert "Early warning sign" in text_of(client.get(url(people, "/history")))
        assert "Early warning signs in the last 4 weeks" in text_of(
            client.get(url(people, "/symptoms"))
        )
    assert text_of(owner.get(url(people, "/history?kind=rule_hit"))).count('class="app-entry"') == 1
    # Symptoms are not shared with a carer by default, nor are warning signs.
    assert "Early warning sign" not in text_of(carer.get(url(people, "/history")))


def test_recent_hits_are_listed_for_reviews_and_reminders(people, owner, infection):
    reading(owner, people, infection, "2026-11-11T09:00", answer="1")
    with people.app.app_context():
        found = early_warnings.recent_hits(people.record_id, datetime(2026, 11, 1, tzinfo=UTC))
    assert [h.data["day"] for h in found] == ["2026-11-11"]
    assert found[0].kind is logs.Kind.RULE_HIT


# --- the rule functions on their own -------------------------------------------------------------

D = date(2026, 11, 12)


def days(*pairs: tuple[int, float]) -> dict[date, float]:
    return {date(2026, 11, d): v for d, v in pairs}


@pytest.mark.parametrize(
    ("values", "day", "met"),
    [
        (days((10, 8), (11, 8), (12, 8)), D, True),
        (days((11, 8), (12, 8)), D, False),  # only 2 days
        (days((10, 8), (11, 8), (12, 8)), date(2026, 11, 11), False),  # day 2 of 3
        (days((10, 8), (12, 8)), D, False),  # a gap
        (days((10, 8), (11, 7.999), (12, 8)), D, False),
        (days((10, 8), (11, 8)), D, False),  # nothing on the day itself
    ],
)
def test_at_least_for_days_on_hand_worked_days(values, day, met):
    rule = Rule(RuleKind.AT_LEAST_FOR_DAYS, 8, 3)
    assert bool(evaluate(rule, values, day)) is met


def test_daily_values_take_the_highest_reading_or_the_days_total_for_counts():
    scale = trackers.Tracker("s", "S", TrackerKind.SCALE, "", "", "", None, None, False, None)
    count = trackers.Tracker("c", "C", TrackerKind.COUNT, "", "", "", None, None, False, None)
    readings = [
        (datetime(2026, 11, 10, 8, tzinfo=UTC), 3),
        (datetime(2026, 11, 10, 20, tzinfo=UTC), 7),
        (datetime(2026, 11, 10, 23, tzinfo=UTC), 2),
    ]
    assert daily_values(scale, readings) == {date(2026, 11, 10): 7}
    assert daily_values(count, readings) == {date(2026, 11, 10): 12}
