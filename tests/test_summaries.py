"""The pre-review summary: every rule in docs/summary-rules.md, on hand-built records.

Each statement type is checked present when its evidence exists and absent when
it does not, at and either side of each threshold. Then: the period, evidence
links, what the coordinator may see of what the person shares, the draft's hide
and add operations, the PDFs and the print stylesheet.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import date, timedelta
from pathlib import Path

import pytest

from tracker import logs, sharing, summaries
from tracker import trackers as trk
from tracker.actions import Outcome, Owner, Repeat
from tracker.goals import GoalStatus
from tracker.logs import DiaryMark, EventType, MissedReason
from tracker.roles import Category, Role
from tracker.summaries import Section

from . import test_reviews as base
from .conftest import assert_problem, make_account, send, text_of, url
from .test_reviews import (
    START,
    TODAY,
    Rec,
    days_before,
    visible_text,
)

# The review tests' fixtures, used here too.
frozen = base.frozen
rec = base.rec
owner = base.owner
carer = base.carer
coordinator = base.coordinator

REPO = Path(__file__).resolve().parents[1]

# The two trend windows: the last 28 days (ending today) and the 28 days before.
RECENT = [days_before(27 - i) for i in range(28)]  # oldest first, ends with TODAY
BEFORE = [days_before(55 - i) for i in range(28)]


def fill(write, days: list[date], values: list[float]) -> list[str]:
    """Write one value on each of the first len(values) days; returns the entry ids."""
    return [write(day, value) for day, value in zip(days, values, strict=False)]


def only(items):
    items = list(items)
    assert len(items) == 1, items
    return items[0]


# --- goals ------------------------------------------------------------------------------


def test_an_achieved_goal_is_working(rec: Rec):
    goal = rec.goal("To walk to the shop and back")
    assert f"goal-{goal.id}" not in rec.statements()  # in progress: nothing to say
    rec.status(goal, GoalStatus.ACHIEVED, "Did it three times last week")
    s = rec.statements()[f"goal-{goal.id}"]
    assert s.section is Section.WORKING
    assert s.category is Category.PLAN
    assert s.text == "Goal achieved: To walk to the shop and back"
    assert s.goal_id == goal.id


@pytest.mark.parametrize(
    ("status", "words"),
    [
        (GoalStatus.ON_HOLD, "Goal on hold"),
        (GoalStatus.NOT_ACHIEVED, "Goal not achieved"),
        (GoalStatus.ABANDONED, "Goal abandoned"),
    ],
)
def test_a_goal_on_hold_not_achieved_or_abandoned_is_not_working_with_its_latest_note(
    rec: Rec, status, words
):
    goal = rec.goal("To sleep through the night")
    rec.status(goal, status, "An older note")
    rec.status(goal, status, "Waiting for the sleep clinic")
    s = rec.statements()[f"goal-{goal.id}"]
    assert s.section is Section.NOT_WORKING
    assert s.category is Category.PLAN
    assert s.text == f"{words}: To sleep through the night. Note: Waiting for the sleep clinic"
    assert "older" not in s.text


def test_a_goal_status_without_a_note_says_no_note(rec: Rec):
    goal = rec.goal("To sleep through the night")
    rec.status(goal, GoalStatus.ON_HOLD, "Paused")
    rec.status(goal, GoalStatus.NOT_ACHIEVED)
    assert rec.statements()[f"goal-{goal.id}"].text == (
        "Goal not achieved: To sleep through the night"
    )


def test_a_goal_back_in_progress_has_no_statement(rec: Rec):
    goal = rec.goal()
    rec.status(goal, GoalStatus.ABANDONED, "Too hard")
    rec.status(goal, GoalStatus.IN_PROGRESS, "Trying again")
    assert f"goal-{goal.id}" not in rec.statements()


# --- actions: done consistently, often missed, low confidence ---------------------------


def daily_action(rec: Rec, occurrences: int, **kwargs):
    """A daily action that has ``occurrences`` days due up to yesterday."""
    return rec.action(start=days_before(occurrences), **kwargs)


def mark_run(rec: Rec, action, outcomes: list[Outcome | None]) -> list[str]:
    """Mark the action's occurrences up to yesterday, oldest first (None: leave unmarked)."""
    days = [days_before(len(outcomes) - i) for i in range(len(outcomes))]
    return [rec.mark(action, day, o) for day, o in zip(days, outcomes, strict=True) if o]


D, M, S = Outcome.DONE, Outcome.MISSED, Outcome.SKIPPED


@pytest.mark.parametrize(
    ("due", "done", "expected"),
    [
        (3, 3, None),  # too few occurrences for a rate
        (4, 4, "Done 4 of 4 times (100%)"),  # the fewest that count
        (4, 3, None),  # 75%
        (5, 4, "Done 4 of 5 times (80%)"),  # 80%: the threshold
        (10, 8, "Done 8 of 10 times (80%)"),
        (10, 7, None),  # 70%
        (10, 9, "Done 9 of 10 times (90%)"),
    ],
)
def test_an_action_done_on_80_percent_of_at_least_4_occurrences_is_done_consistently(
    rec: Rec, due, done, expected
):
    action = daily_action(rec, due, what="Do my breathing exercises")
    # The rest are left unmarked: unmarked occurrences count as not done.
    ids = mark_run(rec, action, [D] * done + [None] * (due - done))
    found = rec.statements().get(f"action-done-{action.id}")
    if expected is None:
        assert found is None
        return
    assert found.section is Section.WORKING
    assert found.category is Category.ACTIONS
    assert found.text == f"Done consistently: Do my breathing exercises. {expected}."
    assert set(found.evidence) == set(ids)
    assert found.goal_id == action.goal_id


@pytest.mark.parametrize(
    ("outcomes", "expected"),
    [
        ([M, M, S] + [D] * 7, "Missed 2 and skipped 1 of 10 times (30%)"),  # the threshold
        ([M, M] + [D] * 8, None),  # 20%
        ([M, S, S, M] + [D] * 6, "Missed 2 and skipped 2 of 10 times (40%)"),
        ([M] * 5 + [D] * 12, None),  # 29%
        ([M] * 6 + [D] * 14, "Missed 6 and skipped 0 of 20 times (30%)"),
        ([M, M, M], None),  # too few occurrences
        ([M, S, D, D], "Missed 1 and skipped 1 of 4 times (50%)"),
        ([M, None, None, D, D, D, D, D, D, D], None),  # unmarked is not "missed"
    ],
)
def test_an_action_missed_or_skipped_on_30_percent_of_occurrences_is_often_missed(
    rec: Rec, outcomes, expected
):
    action = daily_action(rec, len(outcomes), what="Go to the coffee group")
    ids = mark_run(rec, action, outcomes)
    found = rec.statements().get(f"action-missed-{action.id}")
    if expected is None:
        assert found is None
        return
    assert found.section is Section.NOT_WORKING
    assert found.category is Category.ACTIONS
    assert found.text == f"Often missed or skipped: Go to the coffee group. {expected}."
    assert set(found.evidence) == set(ids)


def test_an_action_can_be_neither_consistent_nor_often_missed(rec: Rec):
    action = daily_action(rec, 10)
    mark_run(rec, action, [D] * 7 + [M] * 2 + [None])  # 70% done, 20% missed
    keys = rec.statements()
    assert f"action-done-{action.id}" not in keys
    assert f"action-missed-{action.id}" not in keys


def test_todays_occurrence_does_not_count_yet(rec: Rec):
    action = rec.action(start=days_before(3))
    mark_run(rec, action, [D, D, D])
    rec.mark(action, TODAY, D)  # today's: 4 marks, but only 3 occurrences up to yesterday
    assert f"action-done-{action.id}" not in rec.statements()
    s = rec.statements(today=TODAY + timedelta(days=1))[f"action-done-{action.id}"]
    assert "Done 4 of 4 times" in s.text


def test_occurrences_before_the_period_do_not_count(rec: Rec):
    action = rec.action(start=days_before(20))
    mark_run(rec, action, [M] * 16 + [D] * 4)
    assert f"action-missed-{action.id}" in rec.statements()
    rec.review(days_before(4))  # the period now starts 4 days ago: 4 occurrences, all done
    keys = rec.statements()
    assert f"action-missed-{action.id}" not in keys
    assert "Done 4 of 4 times (100%)" in keys[f"action-done-{action.id}"].text


def test_the_newest_mark_of_an_occurrence_wins(rec: Rec):
    action = daily_action(rec, 4)
    day = days_before(1)
    mark_run(rec, action, [D, D, D, None])
    first = rec.mark(action, day, M, hour=8)
    assert f"action-done-{action.id}" not in rec.statements()
    newest = rec.mark(action, day, D, hour=22)  # corrected later that day
    s = rec.statements()[f"action-done-{action.id}"]
    assert "Done 4 of 4 times" in s.text
    assert newest in s.evidence and first not in s.evidence


@pytest.mark.parametrize("owner_kind", [Owner.COORDINATOR, Owner.OTHER])
def test_actions_owned_by_professionals_get_no_rates(rec: Rec, owner_kind):
    action = daily_action(rec, 10, owner=owner_kind)
    mark_run(rec, action, [M] * 10)
    keys = rec.statements()
    assert f"action-missed-{action.id}" not in keys
    assert f"action-done-{action.id}" not in keys


def test_a_carers_action_gets_rates(rec: Rec):
    action = daily_action(rec, 5, owner=Owner.CARER, what="Help with the evening routine")
    mark_run(rec, action, [D] * 5)
    assert "Done 5 of 5 times (100%)" in rec.statements()[f"action-done-{action.id}"].text


def test_a_weekly_action_counts_its_own_occurrences(rec: Rec):
    action = rec.action(start=days_before(28), repeat=Repeat.WEEKLY)  # 4 weekly occurrences
    for n in (28, 21, 14, 7):
        rec.mark(action, days_before(n), D)
    s = rec.statements()[f"action-done-{action.id}"]
    assert "Done 4 of 4 times (100%)" in s.text


@pytest.mark.parametrize(
    ("confidence", "expected"), [(1, True), (5, True), (6, False), (10, False), (None, False)]
)
def test_an_action_the_person_owns_with_confidence_below_6_is_low_confidence(
    rec: Rec, confidence, expected
):
    action = rec.action("Go to the Thursday coffee group", start=TODAY, confidence=confidence)
    found = rec.statements().get(f"confidence-{action.id}")
    if not expected:
        assert found is None
        return
    assert found.section is Section.NOT_WORKING
    assert found.category is Category.ACTIONS
    assert found.text == (
        f"Low confidence: Go to the Thursday coffee group. Confidence {confidence} out of 10, "
        "which may mean the step is too big."
    )


def test_confidence_is_only_the_persons_own(rec: Rec):
    action = rec.action(start=TODAY, owner=Owner.CARER, confidence=2)
    assert f"confidence-{action.id}" not in rec.statements()


# --- trends ------------------------------------------------------------------------------


def mood_writer(rec: Rec):
    return lambda day, value: rec.mood(day, int(value))


@pytest.mark.parametrize(
    ("before", "recent", "section", "words"),
    [
        # 10 daily check-ins in each window; 0.4 (10% of 1 to 5) is the threshold.
        ([3] * 10, [3] * 6 + [4] * 4, Section.WORKING, "improving: average 3.4"),  # +0.4
        ([3] * 10, [3] * 7 + [4] * 3, None, None),  # +0.3
        ([3] * 10, [3] * 5 + [4] * 5, Section.WORKING, "improving: average 3.5"),  # +0.5
        ([3] * 6 + [4] * 4, [3] * 10, Section.NOT_WORKING, "worsening: average 3.0"),  # -0.4
        ([3] * 7 + [4] * 3, [3] * 10, None, None),  # -0.3
        ([2] * 10, [4] * 10, Section.WORKING, "improving: average 4.0"),
    ],
)
def test_mood_up_by_10_percent_of_the_scale_is_improving_and_down_is_worsening(
    rec: Rec, before, recent, section, words
):
    ids = fill(mood_writer(rec), BEFORE, before) + fill(mood_writer(rec), RECENT, recent)
    found = rec.statements().get("trend-mood")
    if section is None:
        assert found is None
        return
    assert found.section is section
    assert found.category is Category.MOOD
    assert found.text.startswith(f"Mood {words} in the last 4 weeks")
    assert "in the 4 weeks before" in found.text
    assert set(found.evidence) == set(ids)


def test_the_mood_statement_gives_both_averages(rec: Rec):
    fill(mood_writer(rec), BEFORE, [2] * 7)
    fill(mood_writer(rec), RECENT, [4] * 7)
    assert rec.statements()["trend-mood"].text == (
        "Mood improving: average 4.0 in the last 4 weeks, up from 2.0 in the 4 weeks before."
    )


@pytest.mark.parametrize(
    ("before_days", "recent_days", "judged"), [(7, 7, True), (6, 7, False), (7, 6, False)]
)
def test_a_trend_needs_readings_on_7_days_in_each_window(
    rec: Rec, before_days, recent_days, judged
):
    fill(mood_writer(rec), BEFORE, [2] * before_days)
    fill(mood_writer(rec), RECENT, [4] * recent_days)
    assert ("trend-mood" in rec.statements()) is judged


def test_several_readings_on_one_day_count_as_one_day(rec: Rec):
    fill(mood_writer(rec), BEFORE, [2] * 7)
    fill(mood_writer(rec), RECENT, [4] * 6)
    rec.mood(RECENT[0], 4, hour=19)  # a 7th check-in, but on a day already counted
    assert "trend-mood" not in rec.statements()
    rec.mood(RECENT[6], 4)
    assert "trend-mood" in rec.statements()


def test_a_days_mood_is_the_average_of_its_check_ins(rec: Rec):
    fill(mood_writer(rec), BEFORE, [3] * 7)
    for day in RECENT[:7]:
        rec.mood(day, 1, hour=8)
        rec.mood(day, 5, hour=20)  # each day averages 3: no change
    assert "trend-mood" not in rec.statements()


@pytest.mark.parametrize(("start_days_ago", "judged"), [(55, True), (54, False), (30, False)])
def test_both_trend_windows_must_lie_inside_the_period(rec: Rec, start_days_ago, judged):
    rec.plan(start=days_before(start_days_ago))
    fill(mood_writer(rec), RECENT[-7:], [4] * 7)
    fill(mood_writer(rec), BEFORE[-7:], [2] * 7)
    assert ("trend-mood" in rec.statements()) is judged


def reading_writer(rec: Rec, tracker):
    return lambda day, value: rec.reading(tracker, day, value)


@pytest.mark.parametrize(
    ("before", "recent", "section", "words"),
    [
        # A 0 to 10 scale with a target of 4 or less: the threshold is 1.0 of distance.
        ([6] * 10, [5] * 10, Section.WORKING, "improving"),  # 2 → 1 from the range
        ([6] * 10, [5] * 9 + [6], None, None),  # 2 → 1.1
        ([6] * 10, [4] * 10, Section.WORKING, "improving"),
        ([5] * 10, [6] * 10, Section.NOT_WORKING, "worsening"),  # 1 → 2
        ([5] * 10, [5] * 9 + [6], None, None),
        ([3] * 10, [6] * 10, Section.NOT_WORKING, "worsening"),  # 0 → 2
        ([2] * 10, [3] * 5 + [2] * 5, Section.WORKING, "steady inside the target range"),
        ([0] * 10, [4] * 10, None, None),  # inside both times, but moved by 4
        ([1] * 10, [2] * 10, None, None),  # inside both times, moved by exactly 1.0
        ([1] * 10, [2] * 9 + [1], Section.WORKING, "steady inside the target range"),  # 0.9
    ],
)
def test_a_tracker_with_a_target_improves_by_getting_closer_to_its_range(
    rec: Rec, before, recent, section, words
):
    t = rec.tracker("Breathlessness", kind=trk.TrackerKind.SCALE, target_max=4)
    ids = fill(reading_writer(rec, t), BEFORE, before) + fill(
        reading_writer(rec, t), RECENT, recent
    )
    found = rec.statements().get(f"trend-{t.id}")
    if section is None:
        assert found is None, found
        return
    assert found.section is section
    assert found.category is Category.SYMPTOMS
    assert found.text.startswith(f"Breathlessness {words}")
    assert set(found.evidence) == set(ids)


def test_steady_inside_the_target_range_says_the_average(rec: Rec):
    t = rec.tracker("Breathlessness", kind=trk.TrackerKind.SCALE, target_max=4)
    fill(reading_writer(rec, t), BEFORE, [2] * 7)
    fill(reading_writer(rec, t), RECENT, [3, 2, 2, 3, 2, 3, 2])
    assert rec.statements()[f"trend-{t.id}"].text == (
        "Breathlessness steady inside the target range: average 2.4 in the last 4 weeks."
    )


@pytest.mark.parametrize(
    ("recent", "section"),
    [
        ([5.3] * 10, Section.WORKING),  # 1.0 → 0.7 hours short of 6: the 0.3 threshold
        ([5.2] * 10, None),  # 1.0 → 0.8
        ([4.7] * 10, Section.NOT_WORKING),  # 1.0 → 1.3
        ([4.8] * 10, None),
    ],
)
def test_a_number_trackers_threshold_is_10_percent_of_its_target_range(rec: Rec, recent, section):
    t = rec.tracker("Sleep", kind=trk.TrackerKind.NUMBER, unit="hours", target_min=6, target_max=9)
    fill(reading_writer(rec, t), BEFORE, [5.0] * 10)
    fill(reading_writer(rec, t), RECENT, recent)
    found = rec.statements().get(f"trend-{t.id}")
    assert (found.section if found else None) is section
    if found:
        assert "hours in the last 4 weeks" in found.text


def test_a_target_range_narrower_than_1_counts_as_1(rec: Rec):
    t = rec.tracker("Inhaler puffs", kind=trk.TrackerKind.NUMBER, target_min=1, target_max=1.5)
    fill(reading_writer(rec, t), BEFORE, [2.5] * 7)  # 1.0 above the range
    fill(reading_writer(rec, t), RECENT, [2.45] * 7)  # 0.95: moved 0.05, under 0.1
    assert f"trend-{t.id}" not in rec.statements()
    fill(reading_writer(rec, t), RECENT[7:], [2.35] * 7)  # recent average 2.4: moved 0.1
    assert rec.statements()[f"trend-{t.id}"].section is Section.WORKING


@pytest.mark.parametrize(
    ("target", "recent", "section"),
    [
        # Only a lowest target of 60 kg: 10% of the target's value, 6 kg.
        ({"target_min": 60}, [56] * 7, Section.WORKING),  # 10 → 4 kg short of 60
        ({"target_min": 60}, [55] * 7, None),  # 10 → 5
        ({"target_min": 60}, [44] * 7, Section.NOT_WORKING),  # 10 → 16
        # Only a highest target of 80 kg: 8 kg.
        ({"target_max": 80}, [82] * 7, Section.WORKING),  # 10 → 2 kg over 80
        ({"target_max": 80}, [83] * 7, None),  # 10 → 3
    ],
)
def test_a_one_sided_target_uses_10_percent_of_its_value(rec: Rec, target, recent, section):
    before = [50] * 7 if "target_min" in target else [90] * 7
    t = rec.tracker("Weight", kind=trk.TrackerKind.NUMBER, unit="kg", **target)
    fill(reading_writer(rec, t), BEFORE, before)
    fill(reading_writer(rec, t), RECENT, recent)
    found = rec.statements().get(f"trend-{t.id}")
    assert (found.section if found else None) is section


def test_a_count_trackers_daily_value_is_the_days_total(rec: Rec):
    t = rec.tracker("Seizures", kind=trk.TrackerKind.COUNT, target_max=2)
    for day in BEFORE[:7]:  # 4 a day: 2 over the range
        rec.reading(t, day, 2, hour=8)
        rec.reading(t, day, 2, hour=20)
    for day in RECENT[:7]:  # 3 a day: 1 over. (As averages, 2 and 1.5: both in range.)
        rec.reading(t, day, 1, hour=8)
        rec.reading(t, day, 2, hour=20)
    s = rec.statements()[f"trend-{t.id}"]
    assert s.section is Section.WORKING
    assert s.text.startswith("Seizures improving: average 3.0 in the last 4 weeks")
    assert "from 4.0" in s.text


def yes_no_days(yes: int, days: int = 10) -> list[int]:
    return [1] * yes + [0] * (days - yes)


@pytest.mark.parametrize(
    ("before_yes", "recent_yes", "section"),
    [
        (5, 3, Section.WORKING),  # 50% → 30% of days: 20 points, the threshold
        (6, 4, Section.WORKING),  # 60% → 40%
        (5, 4, None),  # 10 points
        (5, 6, None),
        (4, 6, Section.NOT_WORKING),  # 40% → 60%
        (3, 5, Section.NOT_WORKING),
        (3, 3, None),
        (5, (4, 13), None),  # 50% → 31%: 19 points, just under
    ],
)
def test_a_yes_no_tracker_with_an_any_yes_rule_improves_with_fewer_yes_days(
    rec: Rec, before_yes, recent_yes, section
):
    t = rec.tracker(
        "Panic attack", kind=trk.TrackerKind.YES_NO, rule=trk.Rule(trk.RuleKind.ANY_YES)
    )
    fill(reading_writer(rec, t), BEFORE, yes_no_days(before_yes))
    recent = yes_no_days(*recent_yes) if isinstance(recent_yes, tuple) else yes_no_days(recent_yes)
    fill(reading_writer(rec, t), RECENT, recent)
    found = rec.statements().get(f"trend-{t.id}")
    assert (found.section if found else None) is section
    if found:
        assert found.category is Category.SYMPTOMS


def test_a_yes_no_day_is_yes_if_any_answer_that_day_was_yes(rec: Rec):
    t = rec.tracker(
        "Panic attack", kind=trk.TrackerKind.YES_NO, rule=trk.Rule(trk.RuleKind.ANY_YES)
    )
    fill(reading_writer(rec, t), BEFORE, yes_no_days(6))  # 60% of days
    # A "no" in the morning, then a "yes": every day is a yes day (100%, not 50%).
    for day in RECENT[:10]:
        rec.reading(t, day, 0, hour=8)
        rec.reading(t, day, 1, hour=20)
    assert rec.statements()[f"trend-{t.id}"].section is Section.NOT_WORKING


@pytest.mark.parametrize(
    "definition",
    [
        {"kind": trk.TrackerKind.SCALE},  # no target
        {"kind": trk.TrackerKind.NUMBER, "unit": "kg"},
        {"kind": trk.TrackerKind.COUNT},
        {
            "kind": trk.TrackerKind.SCALE,
            "rule": trk.Rule(trk.RuleKind.AT_LEAST_FOR_DAYS, 7, 2),
        },  # a rule is not a target
        {"kind": trk.TrackerKind.YES_NO},  # no "any yes" rule
        {"kind": trk.TrackerKind.YES_NO, "rule": trk.Rule(trk.RuleKind.AT_LEAST_FOR_DAYS, 1, 3)},
        {"kind": trk.TrackerKind.YES_NO, "target_min": 1},  # which way is better is not ours
    ],
)
def test_a_tracker_without_a_target_gets_no_trend_however_much_it_moves(rec: Rec, definition):
    t = rec.tracker("Something", **definition)
    fill(reading_writer(rec, t), BEFORE, [0] * 10)
    fill(reading_writer(rec, t), RECENT, [1] * 10)
    assert f"trend-{t.id}" not in rec.statements()


# --- the diary, support, warning signs, events -----------------------------------------


def test_diary_entries_marked_working_and_not_working_are_statements(rec: Rec):
    good = rec.diary(date(2026, 6, 3), "Walking group was good today.", DiaryMark.WORKING)
    bad = rec.diary(date(2026, 6, 4), "Too breathless to go out.", DiaryMark.NOT_WORKING)
    plain = rec.diary(date(2026, 6, 5), "Nothing much happened.")
    keys = rec.statements()
    assert keys[f"diary-{good}"].section is Section.WORKING
    assert keys[f"diary-{good}"].text == "Diary, 3 June 2026: Walking group was good today."
    assert keys[f"diary-{bad}"].section is Section.NOT_WORKING
    assert keys[f"diary-{bad}"].text == "Diary, 4 June 2026: Too breathless to go out."
    assert f"diary-{plain}" not in keys
    for entry in (good, bad):
        assert keys[f"diary-{entry}"].category is Category.DIARY
        assert keys[f"diary-{entry}"].evidence == (entry,)


def test_a_diary_statement_gives_the_first_200_characters(rec: Rec):
    text = "word " * 100
    entry = rec.diary(date(2026, 6, 3), text, DiaryMark.WORKING)
    statement = rec.statements()[f"diary-{entry}"].text
    quoted = statement.removeprefix("Diary, 3 June 2026: ")
    assert len(quoted) <= 200 and quoted.endswith("…")
    assert quoted.startswith("word word")


def test_support_given_says_how_often_and_the_hours(rec: Rec):
    assert "support-given" not in rec.statements()
    ids = [rec.given(date(2026, 6, d), m) for d, m in ((1, 30), (2, 45), (3, 15))]
    rec.observed(date(2026, 6, 4))  # an observation is neither given nor missed
    s = rec.statements()["support-given"]
    assert s.section is Section.WORKING
    assert s.category is Category.SUPPORT
    assert s.text == "Support given 3 times, 1.5 hours in all."
    assert set(s.evidence) == set(ids)


def test_support_given_without_minutes_gives_no_hours(rec: Rec):
    rec.given(date(2026, 6, 1), None)
    assert rec.statements()["support-given"].text == "Support given once."


def test_support_missed_says_how_often_and_why(rec: Rec):
    rec.observed(date(2026, 6, 4))
    assert "support-missed" not in rec.statements()
    ids = [
        rec.missed(date(2026, 6, 1), MissedReason.PA_ON_LEAVE),
        rec.missed(date(2026, 6, 2), MissedReason.PA_ON_LEAVE),
        rec.missed(date(2026, 6, 3), MissedReason.CARER_UNWELL),
        rec.missed(date(2026, 6, 5), MissedReason.OTHER, "Car broke down"),
    ]
    s = rec.statements()["support-missed"]
    assert s.section is Section.NOT_WORKING
    assert s.category is Category.SUPPORT
    # The most common reason first.
    assert s.text.startswith("Planned support missed 4 times: PA on leave (2), ")
    assert "carer unwell (1)" in s.text and "car broke down (1)" in s.text
    assert set(s.evidence) == set(ids)
    assert "support-given" not in rec.statements()


def test_warning_sign_hits_are_counted_per_tracker_by_the_day_they_are_about(rec: Rec):
    rule = trk.Rule(trk.RuleKind.AT_LEAST_FOR_DAYS, 7, 2)
    breath = rec.tracker("Breathlessness", rule=rule)
    weight = rec.tracker(
        "Weight",
        kind=trk.TrackerKind.NUMBER,
        unit="kg",
        rule=trk.Rule(trk.RuleKind.RISE_WITHIN_DAYS, 2, 3),
    )
    rec.review(date(2026, 6, 1))
    rec.hit(breath, date(2026, 5, 28))  # before the period
    rec.hit(breath, date(2026, 5, 31), logged=date(2026, 6, 2))  # found later, about before
    inside = [
        rec.hit(breath, date(2026, 6, 1)),  # the period's first day
        rec.hit(breath, date(2026, 6, 20)),
        rec.hit(breath, date(2026, 6, 10)),
    ]
    w = rec.hit(weight, date(2026, 6, 12))
    keys = rec.statements()
    s = keys[f"hits-{breath.id}"]
    assert s.section is Section.NOT_WORKING
    assert s.category is Category.SYMPTOMS
    assert s.text == (
        "Early warning sign for Breathlessness 3 times: 7 or more on 2 days in a row "
        "(last on 20 June 2026)."
    )
    assert set(s.evidence) == set(inside)
    assert keys[f"hits-{weight.id}"].text == (
        "Early warning sign for Weight once: up by more than 2 kg within 3 days "
        "(last on 12 June 2026)."
    )
    assert keys[f"hits-{weight.id}"].evidence == (w,)


def test_a_rule_hit_found_from_readings_becomes_a_statement(rec: Rec):
    from tracker import early_warnings

    t = rec.tracker(
        "Panic attack", kind=trk.TrackerKind.YES_NO, rule=trk.Rule(trk.RuleKind.ANY_YES)
    )
    assert f"hits-{t.id}" not in rec.statements()
    day = days_before(3)
    rec.reading(t, day, 1)
    hit = rec.run(early_warnings.check_after_reading, rec.id, t, base.at(day, 9), author_id="x")
    assert hit is not None
    s = rec.statements()[f"hits-{t.id}"]
    assert (
        s.text
        == f'Early warning sign for Panic attack once: any "yes" (last on {day.day} June 2026).'
    )


@pytest.mark.parametrize("event", sorted(logs.UNPLANNED_CARE))
def test_unplanned_care_is_not_working(rec: Rec, event):
    entry = rec.event(date(2026, 6, 9), event, "Chest infection")
    s = rec.statements()[f"event-{entry}"]
    assert s.section is Section.NOT_WORKING
    assert s.category is Category.PLAN
    assert s.text == f"Unplanned care, 9 June 2026: {event.label}: Chest infection"
    assert s.evidence == (entry,)


@pytest.mark.parametrize(
    "event", [EventType.NEW_DIAGNOSIS, EventType.BEREAVEMENT, EventType.SUPPORT_CHANGE]
)
def test_changes_in_life_are_what_needs_to_change(rec: Rec, event):
    entry = rec.event(date(2026, 6, 9), event)
    s = rec.statements()[f"event-{entry}"]
    assert s.section is Section.CHANGE
    assert s.text == f"Change in life, 9 June 2026: {event.label}"


def test_an_empty_record_has_no_statements(rec: Rec):
    rec.tracker("Breathlessness", target_max=4)
    assert rec.statements() == {}


# --- the period ----------------------------------------------------------------------------


def test_the_period_starts_at_the_plan_start_without_a_review(rec: Rec):
    before = rec.diary(START - timedelta(days=1), "Before the plan", DiaryMark.WORKING)
    first = rec.diary(START, "The plan's first day", DiaryMark.WORKING)
    summary = rec.summary()
    assert (summary.start, summary.end) == (START, TODAY)
    keys = {s.key for s in summary.statements}
    assert f"diary-{first}" in keys and f"diary-{before}" not in keys


def test_the_period_starts_at_the_last_review(rec: Rec):
    held = date(2026, 5, 1)
    old = rec.event(held - timedelta(days=1), EventType.A_AND_E)
    rec.missed(held - timedelta(days=1), MissedReason.CARER_UNWELL)
    rec.review(held)
    new = rec.event(held, EventType.AMBULANCE)
    summary = rec.summary()
    assert summary.start == held
    keys = {s.key for s in summary.statements}
    assert f"event-{new}" in keys and f"event-{old}" not in keys
    assert "support-missed" not in keys


def test_without_a_start_date_the_period_is_the_last_90_days(rec: Rec):
    rec.plan(start=None)
    assert rec.summary().start == TODAY - timedelta(days=90)


# --- evidence -------------------------------------------------------------------------------


def build_everything(rec: Rec) -> dict[str, str]:
    """A record with at least one statement of every kind; returns some of their keys."""
    achieved = rec.goal("To walk to the shop")
    rec.status(achieved, GoalStatus.ACHIEVED, "Did it")
    held = rec.goal("To sleep through the night")
    rec.status(held, GoalStatus.ON_HOLD, "Waiting for the clinic")
    good = daily_action(rec, 5, what="Do my breathing exercises")
    mark_run(rec, good, [D] * 5)
    bad = daily_action(rec, 5, what="Go to the coffee group", confidence=4)
    mark_run(rec, bad, [M, M, S, D, None])
    fill(mood_writer(rec), BEFORE, [2] * 7)
    fill(mood_writer(rec), RECENT, [4] * 7)
    breath = rec.tracker(
        "Breathlessness", target_max=4, rule=trk.Rule(trk.RuleKind.AT_LEAST_FOR_DAYS, 7, 2)
    )
    fill(reading_writer(rec, breath), BEFORE, [4] * 7)
    fill(reading_writer(rec, breath), RECENT, [7] * 7)
    rec.hit(breath, days_before(20))
    working = rec.diary(date(2026, 6, 3), "Walking group was good.", DiaryMark.WORKING)
    not_working = rec.diary(date(2026, 6, 4), "The PA did not come.", DiaryMark.NOT_WORKING)
    rec.given(date(2026, 6, 1), 30)
    rec.missed(date(2026, 6, 2), MissedReason.PA_ON_LEAVE)
    ambulance = rec.event(date(2026, 6, 9), EventType.AMBULANCE, "Very breathless")
    diagnosis = rec.event(date(2026, 6, 10), EventType.NEW_DIAGNOSIS, "Heart failure")
    return {
        "achieved": f"goal-{achieved.id}",
        "on_hold": f"goal-{held.id}",
        "done": f"action-done-{good.id}",
        "missed": f"action-missed-{bad.id}",
        "confidence": f"confidence-{bad.id}",
        "mood": "trend-mood",
        "breath": f"trend-{breath.id}",
        "hits": f"hits-{breath.id}",
        "diary_working": f"diary-{working}",
        "diary_not_working": f"diary-{not_working}",
        "given": "support-given",
        "support_missed": "support-missed",
        "unplanned": f"event-{ambulance}",
        "life": f"event-{diagnosis}",
    }


def test_every_statement_kind_appears_with_real_evidence(rec: Rec, owner, people):
    keys = build_everything(rec)
    statements = rec.statements()
    assert set(keys.values()) <= set(statements)
    for s in statements.values():
        if s.key.startswith(("goal-", "confidence-")):
            assert s.evidence == () and s.goal_id  # these link to the goal instead
            continue
        assert s.evidence, s.key
        for entry_id in s.evidence:
            assert rec.run(logs.get_entry, rec.id, entry_id) is not None, (s.key, entry_id)
        page = owner.get(url(people, f"/prepare/evidence/{s.key}"))
        assert page.status_code == 200, s.key
        body = page.get_data(as_text=True)
        shown = set(re.findall(r'id="entry-([^"]+)"', body))
        assert shown == set(s.evidence), s.key
        assert text_of(page).count(s.text) >= 1


def test_the_prepare_page_links_each_statement_to_its_evidence_or_goal(rec: Rec, owner, people):
    keys = build_everything(rec)
    body = owner.get(url(people, "/prepare")).get_data(as_text=True)
    for key in keys.values():
        assert f'id="{key}"' in body
        if key.startswith("goal-"):
            assert f"/goals/{key.removeprefix('goal-')}" in body
        elif not key.startswith("confidence-"):
            assert url(people, f"/prepare/evidence/{key}") in body


def test_an_unknown_statements_evidence_is_not_found(rec: Rec, owner, people):
    assert owner.get(url(people, "/prepare/evidence/diary-nope")).status_code == 404


# --- sharing and who sees what --------------------------------------------------------------


def share(client, people):
    response = send(client, url(people, "/prepare/share"))
    assert response.status_code == 303
    return response


def add_note(client, people, text: str, kind: str = "question"):
    return send(client, url(people, "/prepare/notes"), {"kind": kind, "text": text})


def test_the_coordinator_sees_nothing_until_the_person_shares(rec: Rec, coordinator, people):
    keys = build_everything(rec)
    page = visible_text(coordinator.get(url(people, "/summary")))
    assert "Olive Owner has not shared a summary yet" in page
    assert "Goal achieved" not in page
    for key in keys.values():
        assert coordinator.get(url(people, f"/summary/evidence/{key}")).status_code == 404


def test_the_coordinator_sees_shared_statements_in_their_categories_only(
    rec: Rec, owner, coordinator, people
):
    keys = build_everything(rec)
    add_note(owner, people, "Can I have more PA hours?")
    add_note(owner, people, "I want to try a new group", kind="note")
    share(owner, people)
    statements = rec.statements()
    body = coordinator.get(url(people, "/summary")).get_data(as_text=True)
    page = text_of(coordinator.get(url(people, "/summary")))
    # The default coordinator sees plan, actions, mood, symptoms and support, not the diary.
    for name, key in keys.items():
        shown = f'id="{key}"' in body
        assert shown is (not name.startswith("diary")), name
        if shown:
            assert statements[key].text in page
    assert "Question: Can I have more PA hours?" in page
    assert "I want to try a new group" in page
    for name in ("diary_working", "diary_not_working"):
        assert statements[keys[name]].text not in page
        assert coordinator.get(url(people, f"/summary/evidence/{keys[name]}")).status_code == 404


def members(rec: Rec, role: Role):
    return only(m for m in rec.run(sharing.members_of_record, rec.id) if m.role is role)


def set_coordinator_categories(rec: Rec, categories: set[Category]):
    member = members(rec, Role.COORDINATOR)
    assert rec.run(sharing.set_categories, rec.id, member.id, frozenset(categories))


def test_sharing_the_diary_with_the_coordinator_shows_diary_statements(
    rec: Rec, owner, coordinator, people
):
    keys = build_everything(rec)
    share(owner, people)
    set_coordinator_categories(rec, {*Category})
    body = coordinator.get(url(people, "/summary")).get_data(as_text=True)
    assert f'id="{keys["diary_working"]}"' in body
    assert f'id="{keys["diary_not_working"]}"' in body
    evidence = coordinator.get(url(people, f"/summary/evidence/{keys['diary_working']}"))
    assert evidence.status_code == 200
    assert "Walking group was good." in text_of(evidence)


@pytest.mark.parametrize(
    ("taken_away", "gone"),
    [
        (Category.PLAN, ["achieved", "on_hold", "unplanned", "life"]),
        (Category.ACTIONS, ["done", "missed", "confidence"]),
        (Category.MOOD, ["mood"]),
        (Category.SYMPTOMS, ["breath", "hits"]),
        (Category.SUPPORT, ["given", "support_missed"]),
    ],
)
def test_statements_in_a_category_not_shared_with_the_coordinator_are_not_shown(
    rec: Rec, owner, coordinator, people, taken_away, gone
):
    keys = build_everything(rec)
    add_note(owner, people, "What happens if the PA leaves?")
    share(owner, people)
    set_coordinator_categories(rec, {c for c in Category if c is not taken_away})
    body = coordinator.get(url(people, "/summary")).get_data(as_text=True)
    for name, key in keys.items():
        assert (f'id="{key}"' in body) is (name not in gone), name
    for name in gone:
        assert coordinator.get(url(people, f"/summary/evidence/{keys[name]}")).status_code == 404
    assert "Question: What happens if the PA leaves?" in text_of(
        coordinator.get(url(people, "/summary"))
    )


def test_the_persons_notes_are_shown_whatever_the_categories(rec: Rec, owner, coordinator, people):
    build_everything(rec)
    add_note(owner, people, "Can we talk about respite?")
    share(owner, people)
    set_coordinator_categories(rec, set())
    page = text_of(coordinator.get(url(people, "/summary")))
    assert "Question: Can we talk about respite?" in page
    assert "Goal achieved" not in page and "Mood improving" not in page


def test_hidden_statements_never_reach_the_coordinator(rec: Rec, owner, coordinator, people):
    keys = build_everything(rec)
    statements = rec.statements()
    set_coordinator_categories(rec, {*Category})
    for name in ("given", "diary_not_working", "unplanned"):
        assert (
            send(owner, url(people, f"/prepare/statements/{keys[name]}"), {"hide": "1"}).status_code
            == 303
        )
    share(owner, people)
    body = coordinator.get(url(people, "/summary")).get_data(as_text=True)
    page = text_of(coordinator.get(url(people, "/summary")))
    for name in ("given", "diary_not_working", "unplanned"):
        assert f'id="{keys[name]}"' not in body
        assert statements[keys[name]].text not in page
        assert coordinator.get(url(people, f"/summary/evidence/{keys[name]}")).status_code == 404
    assert f'id="{keys["support_missed"]}"' in body  # the rest is shared
    pdf = pdf_text(coordinator.get(url(people, "/summary.pdf")))
    assert "Support given" not in pdf and "Unplanned care" not in pdf
    assert "Planned support missed" in pdf


def test_the_coordinator_sees_only_the_latest_shared_summary(rec: Rec, owner, coordinator, people):
    keys = build_everything(rec)
    add_note(owner, people, "First question")
    share(owner, people)
    add_note(owner, people, "Second question")
    send(owner, url(people, f"/prepare/statements/{keys['given']}"), {"hide": "1"})
    page = text_of(coordinator.get(url(people, "/summary")))
    assert "First question" in page and "Second question" not in page  # not shared yet
    assert "Support given" in page
    share(owner, people)
    page = text_of(coordinator.get(url(people, "/summary")))
    assert "First question" in page and "Second question" in page
    assert "Support given" not in page


def test_evidence_pages_show_only_entries_that_still_exist(rec: Rec, owner, coordinator, people):
    build_everything(rec)
    extra = rec.given(date(2026, 6, 5), 60)
    share(owner, people)
    assert rec.run(logs.delete_entry, rec.id, extra)
    body = coordinator.get(url(people, "/summary/evidence/support-given")).get_data(as_text=True)
    assert f'id="entry-{extra}"' not in body
    assert len(re.findall(r'id="entry-', body)) == 1


def test_evidence_shows_entries_only_to_those_who_may_see_their_category(
    rec: Rec, owner, coordinator, people
):
    keys = build_everything(rec)
    share(owner, people)
    # Mood is shared now: the evidence shows the check-ins...
    page = coordinator.get(url(people, "/summary/evidence/trend-mood"))
    assert page.status_code == 200 and page.get_data(as_text=True).count('id="entry-') == 14
    # ...and once mood is no longer shared, neither the statement nor its entries are.
    set_coordinator_categories(rec, {c for c in Category if c is not Category.MOOD})
    assert coordinator.get(url(people, "/summary/evidence/trend-mood")).status_code == 404
    assert coordinator.get(url(people, f"/summary/evidence/{keys['hits']}")).status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/prepare",
        "/prepare.pdf",
        "/prepare/evidence/support-given",
        "/summary",
        "/summary.pdf",
        "/summary/evidence/support-given",
    ],
)
def test_a_carer_cannot_see_the_persons_draft_or_the_coordinators_summary(
    rec: Rec, owner, carer, people, path
):
    build_everything(rec)
    share(owner, people)
    assert carer.get(url(people, path)).status_code == 404


@pytest.mark.parametrize(
    "path", ["/summary", "/summary.pdf", "/summary/evidence/support-given", "/prepare"]
)
def test_another_coordinator_cannot_see_the_summary(rec: Rec, owner, app, people, login_as, path):
    build_everything(rec)
    share(owner, people)
    make_account(app, "other.coord@example.com", "Other Coordinator", coordinator=True)
    other = login_as("other.coord@example.com")
    assert other.get(url(people, path)).status_code == 404


def test_the_coordinator_cannot_change_the_persons_draft(rec: Rec, coordinator, people):
    build_everything(rec)
    assert send(coordinator, url(people, "/prepare/share")).status_code == 404
    assert add_note(coordinator, people, "Not theirs to add").status_code == 404
    assert (
        send(
            coordinator, url(people, "/prepare/statements/support-given"), {"hide": "1"}
        ).status_code
        == 404
    )
    assert rec.run(summaries.latest_shared, rec.id) is None
    assert rec.run(summaries.get_draft, rec.id) == {"hidden": [], "notes": []}


# --- the draft: hide, show, add and remove ------------------------------------------------


def test_hiding_and_showing_a_statement_with_a_plain_post(rec: Rec, owner, people):
    rec.given(date(2026, 6, 1), 30)
    response = send(owner, url(people, "/prepare/statements/support-given"), {"hide": "1"})
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/prepare#support-given")
    assert rec.run(summaries.get_draft, rec.id)["hidden"] == ["support-given"]
    page = text_of(owner.get(url(people, "/prepare")))
    assert "Hidden from the summary you share." in page
    assert "Hidden: will not be shared" in page and "Share this again" in page
    response = send(owner, url(people, "/prepare/statements/support-given"), {"hide": "0"})
    assert response.status_code == 303
    assert rec.run(summaries.get_draft, rec.id)["hidden"] == []
    page = text_of(owner.get(url(people, "/prepare")))
    assert "Hidden: will not be shared" not in page and "Do not share this" in page


def test_hiding_a_statement_with_htmx_returns_the_statement_fragment(rec: Rec, owner, people):
    rec.given(date(2026, 6, 1), 30)
    path = url(people, "/prepare/statements/support-given")
    response = send(owner, path, {"hide": "1"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "HX-Request" in response.headers.get("Vary", "")
    body = response.get_data(as_text=True)
    assert body.lstrip().startswith('<li id="support-given"')
    assert "<html" not in body and "nhsuk-header" not in body
    assert "app-statement--hidden" in body and "Share this again" in body
    assert 'name="hide" value="0"' in body
    assert rec.run(summaries.get_draft, rec.id)["hidden"] == ["support-given"]
    response = send(owner, path, {"hide": "0"}, headers={"HX-Request": "true"})
    assert response.status_code == 200 and "HX-Request" in response.headers.get("Vary", "")
    body = response.get_data(as_text=True)
    assert "app-statement--hidden" not in body and "Do not share this" in body
    assert rec.run(summaries.get_draft, rec.id)["hidden"] == []


def test_a_boosted_htmx_post_gets_the_whole_page_not_an_error(rec: Rec, owner, people):
    rec.given(date(2026, 6, 1), 30)
    response = send(
        owner,
        url(people, "/prepare/statements/support-given"),
        {"hide": "1"},
        headers={"HX-Request": "true", "HX-Boosted": "true"},
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert "Prepare for my review" in text_of(response)
    assert rec.run(summaries.get_draft, rec.id)["hidden"] == ["support-given"]


def test_only_statements_that_exist_can_be_hidden(rec: Rec, owner, people):
    rec.given(date(2026, 6, 1), 30)
    assert send(owner, url(people, "/prepare/statements/nope"), {"hide": "1"}).status_code == 404
    add_note(owner, people, "A question")
    note = only(rec.run(summaries.get_draft, rec.id)["notes"])
    # The person's own notes are removed, not hidden.
    hide_note = send(owner, url(people, f"/prepare/statements/note-{note['id']}"), {"hide": "1"})
    assert hide_note.status_code == 404
    assert rec.run(summaries.get_draft, rec.id)["hidden"] == []


def test_adding_a_note_and_a_question_to_what_needs_to_change(rec: Rec, owner, people):
    response = add_note(owner, people, "  Can I have more PA hours?  ")
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/prepare#change")
    assert add_note(owner, people, "I would like to try swimming", kind="note").status_code == 303
    notes = rec.run(summaries.get_draft, rec.id)["notes"]
    assert [(n["kind"], n["text"]) for n in notes] == [
        ("question", "Can I have more PA hours?"),
        ("note", "I would like to try swimming"),
    ]
    assert all(n["by"] == people.owner_id and n["at"] for n in notes)
    change = rec.summary().section(Section.CHANGE)
    assert [s.text for s in change] == [
        "Question: Can I have more PA hours?",
        "I would like to try swimming",
    ]
    assert all(s.category is None for s in change)
    page = text_of(owner.get(url(people, "/prepare")))
    section = page[page.index("What needs to change") :]
    assert "Question: Can I have more PA hours?" in section


def test_removing_a_note(rec: Rec, owner, people):
    add_note(owner, people, "Keep this")
    add_note(owner, people, "Remove this")
    gone = rec.run(summaries.get_draft, rec.id)["notes"][1]
    response = send(owner, url(people, f"/prepare/notes/{gone['id']}/remove"))
    assert response.status_code == 303
    assert [n["text"] for n in rec.run(summaries.get_draft, rec.id)["notes"]] == ["Keep this"]
    assert send(owner, url(people, f"/prepare/notes/{gone['id']}/remove")).status_code == 404
    assert "Remove this" not in text_of(owner.get(url(people, "/prepare")))


def test_the_draft_holds_at_most_30_notes_and_questions(rec: Rec, owner, people):
    for i in range(summaries.MAX_NOTES - 1):
        rec.run(summaries.add_note, rec.id, text=f"Note {i}", question=False, by=people.owner_id)
    assert add_note(owner, people, "The 30th").status_code == 303
    response = add_note(owner, people, "The 31st")
    assert_problem(response, "You can add up to 30 notes and questions")
    notes = rec.run(summaries.get_draft, rec.id)["notes"]
    assert len(notes) == 30 and "The 31st" not in [n["text"] for n in notes]
    with pytest.raises(summaries.TooManyNotes):
        rec.run(summaries.add_note, rec.id, text="More", question=True, by=people.owner_id)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"kind": "question", "text": ""}, "Write your note or question"),
        ({"kind": "question", "text": "   "}, "Write your note or question"),
        ({"kind": "note", "text": "x" * 1001}, "1,000 characters or fewer"),
        ({"kind": "shout", "text": "Hello"}, "Select note or question"),
        ({"text": "Hello"}, "Select note or question"),
    ],
)
def test_a_bad_note_is_refused_and_nothing_is_stored(rec: Rec, owner, people, data, message):
    response = send(owner, url(people, "/prepare/notes"), data)
    assert_problem(response, message)
    assert text_of(response).count("Prepare for my review") >= 1
    assert rec.run(summaries.get_draft, rec.id)["notes"] == []


def test_a_note_of_exactly_1000_characters_is_accepted(rec: Rec, owner, people):
    assert add_note(owner, people, "x" * 1000, kind="note").status_code == 303
    with pytest.raises(ValueError):
        rec.run(summaries.add_note, rec.id, text="x" * 1001, question=False, by="x")


def test_sharing_keeps_a_snapshot_of_what_is_not_hidden(rec: Rec, owner, people):
    keys = build_everything(rec)
    send(owner, url(people, f"/prepare/statements/{keys['life']}"), {"hide": "1"})
    add_note(owner, people, "My question")
    share(owner, people)
    shared = rec.run(summaries.latest_shared, rec.id)
    shared_keys = {s.key for s in shared.statements}
    assert keys["life"] not in shared_keys
    assert set(keys.values()) - {keys["life"]} <= shared_keys
    assert any(s.text == "Question: My question" for s in shared.statements)
    assert (shared.start, shared.end) == (START, TODAY)
    page = text_of(owner.get(url(people, "/prepare")))
    assert "You last shared this on 30 June 2026" in page
    assert "Share again with my changes" in page


# --- PDF and print --------------------------------------------------------------------------


def pdf_text(response) -> str:
    assert response.status_code == 200, response.status_code
    assert response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF-")
    pdftotext = shutil.which("pdftotext")
    assert pdftotext, "pdftotext is missing (apt-get install poppler-utils)"
    result = subprocess.run(
        [pdftotext, "-layout", "-", "-"], input=response.data, capture_output=True, check=True
    )
    return " ".join(result.stdout.decode().split())


def test_the_coordinators_summary_pdf_has_the_statements_and_the_question(
    rec: Rec, owner, coordinator, people
):
    keys = build_everything(rec)
    add_note(owner, people, "Can I have more PA hours on Fridays?")
    share(owner, people)
    response = coordinator.get(url(people, "/summary.pdf"))
    assert "attachment" in response.headers["Content-Disposition"]
    text = pdf_text(response)
    statements = rec.statements()
    for name in ("achieved", "done", "mood", "hits", "given", "unplanned"):
        assert " ".join(statements[keys[name]].text.split())[:40] in text, name
    assert "Question: Can I have more PA hours on Fridays?" in text
    assert "What's working" in text and "What's not working" in text
    assert "What needs to change" in text
    assert "Walking group was good." not in text  # the diary is not shared with them
    assert "Sign out" not in text and "Do not share this" not in text


def test_the_persons_prepare_pdf_has_their_statements_and_question(rec: Rec, owner, people):
    keys = build_everything(rec)
    add_note(owner, people, "What about a personal assistant at weekends?")
    send(owner, url(people, f"/prepare/statements/{keys['life']}"), {"hide": "1"})
    response = owner.get(url(people, "/prepare.pdf"))
    text = pdf_text(response)
    assert "Prepare for my review" in text
    assert "Diary, 3 June 2026: Walking group was good." in text  # the person's own diary
    assert "Question: What about a personal assistant at weekends?" in text
    assert "Change in life" not in text  # hidden from what they share
    assert "Charts for this period" in text


def test_the_summary_pages_hide_navigation_when_printed():
    css = (REPO / "tracker/static/css/app.css").read_text()
    block = css[css.index("@media print") :]
    hidden = re.search(r"([^{}]+)\{\s*display:\s*none\s*!important;?\s*\}", block)
    assert hidden, "no display:none rule in the print block"
    selectors = {s.strip() for s in hidden.group(1).split(",")}
    for needed in (".nhsuk-header", ".nhsuk-footer", ".app-no-print", "form", ".nhsuk-back-link"):
        assert needed in selectors, needed
    assert not any("svg" in s or "chart" in s for s in selectors)
    assert re.search(r"@page\s*\{[^}]*size:\s*A4", block)
    assert re.search(r"\.app-statement[^{]*\{[^}]*break-inside:\s*avoid", block)
    document = (REPO / "tracker/static/css/print-document.css").read_text()
    assert re.search(r"@page\s*\{[^}]*size:\s*A4", document)
    assert re.search(r"\.app-no-print[^{]*\{\s*display:\s*none", document)
    assert ".app-chart" in document


def test_the_summary_pages_mark_what_not_to_print(rec: Rec, owner, coordinator, people):
    build_everything(rec)
    share(owner, people)
    for client, path in ((coordinator, "/summary"), (owner, "/prepare")):
        body = client.get(url(people, path)).get_data(as_text=True)
        assert 'class="nhsuk-header' in body  # hidden by the print rule above
        assert '<svg class="app-chart"' in body  # kept
        links = re.findall(r'<p class="([^"]*)">\s*<a href="[^"]*">See the', body)
        assert links, path
        assert all("app-no-print" in classes for classes in links), path
