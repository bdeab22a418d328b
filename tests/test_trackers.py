# ruff: noqa: F811 (the shared fixtures are imported from test_logs and used as arguments)
"""Symptom trackers the person defines: each kind, target ranges, rules, editing and archiving.

Trackers are defined through the form, and readings logged through the one- or
two-tap reading form, as the person would on a phone.
"""

from __future__ import annotations

import pytest

from tracker import trackers
from tracker.trackers import Rule, RuleKind, TrackerKind

from .conftest import send, text_of, url
from .test_logs import (  # noqa: F401 (fixtures)
    assert_refused,
    disk_entries,
    extras,
    in_app,
    only,
    stranger,
)


def tracker_list(people, include_archived: bool = True) -> list[trackers.Tracker]:
    return in_app(
        people.app, trackers.list_trackers, people.record_id, include_archived=include_archived
    )


def define(owner, people, **fields) -> trackers.Tracker:
    before = {t.id for t in tracker_list(people)}
    response = send(owner, url(people, "/trackers/new"), fields)
    assert response.status_code == 303, text_of(response)[:600]
    return only([t for t in tracker_list(people) if t.id not in before])


# --- defining each kind ----------------------------------------------------------------


def test_a_scale_tracker_is_defined_with_words_for_each_end(people, owner):
    t = define(
        owner,
        people,
        name="Breathlessness",
        kind="scale",
        low_label="Not breathless",
        high_label="Worst ever",
        unit="ignored for a scale",
    )
    assert (t.name, t.kind, t.low_label, t.high_label, t.unit) == (
        "Breathlessness",
        TrackerKind.SCALE,
        "Not breathless",
        "Worst ever",
        "",
    )
    assert t.bounds == (0, 10)
    form = text_of(owner.get(url(people, f"/symptoms/{t.id}/log")))
    assert "Tap a number from 0 (Not breathless) to 10 (Worst ever)" in form
    assert form.count('name="value" value=') == 11


def test_a_number_tracker_is_defined_with_a_unit(people, owner):
    t = define(owner, people, name="Weight", kind="number", unit="kg", low_label="ignored")
    assert (t.kind, t.unit, t.low_label) == (TrackerKind.NUMBER, "kg", "")
    assert "In kg" in text_of(owner.get(url(people, f"/symptoms/{t.id}/log")))


def test_a_yes_no_tracker_is_defined_and_logged_with_one_tap(people, owner):
    t = define(owner, people, name="Green phlegm", kind="yes_no")
    form = text_of(owner.get(url(people, f"/symptoms/{t.id}/log")))
    assert 'name="answer" value="1">Yes' in form
    assert 'name="answer" value="0">No' in form
    assert send(owner, url(people, f"/symptoms/{t.id}"), {"answer": "1"}).status_code == 303
    assert only(disk_entries(people.app, people.record_id, "reading"))["data"]["value"] == 1


def test_a_count_tracker_is_defined_and_logged_as_a_whole_number(people, owner):
    t = define(owner, people, name="Seizures", kind="count")
    assert "How many today?" in text_of(owner.get(url(people, f"/symptoms/{t.id}/log")))
    assert send(owner, url(people, f"/symptoms/{t.id}"), {"value": "3"}).status_code == 303
    value = only(disk_entries(people.app, people.record_id, "reading"))["data"]["value"]
    assert value == 3
    assert isinstance(value, int)


@pytest.mark.parametrize(
    ("kind", "value", "stored", "shown"),
    [
        ("scale", "7", 7, "7 out of 10"),
        ("number", "72.125", 72.125, "72.125 kg"),
        ("number", "-3", -3.0, "-3 kg"),
        ("number", "100000", 100000.0, "100000 kg"),
        ("yes_no", None, 0, "No"),
        ("count", "0", 0, "0"),
        ("count", "1000", 1000, "1000"),
    ],
)
def test_a_reading_of_each_kind_is_stored_exactly_and_shown_in_words(
    people, owner, kind, value, stored, shown
):
    t = define(owner, people, name="Thing", kind=kind, unit="kg")
    data = {"answer": "0"} if kind == "yes_no" else {"value": value}
    response = send(owner, url(people, f"/symptoms/{t.id}"), data)
    assert response.status_code == 303
    assert only(disk_entries(people.app, people.record_id, "reading"))["data"]["value"] == stored
    assert f"Thing: {shown}" in text_of(owner.get(url(people, "/symptoms")))


def test_a_tracker_has_a_target_range_shown_on_the_symptoms_page_and_the_chart(people, owner):
    t = define(
        owner, people, name="Sleep", kind="number", unit="hours", target_min="6", target_max="9"
    )
    assert (t.target_min, t.target_max) == (6.0, 9.0)
    assert t.in_target(7) is True
    assert t.in_target(5.9) is False
    assert "Target: 6 hours to 9 hours" in text_of(owner.get(url(people, "/symptoms")))
    send(owner, url(people, f"/symptoms/{t.id}"), {"value": "7"})
    assert 'class="app-chart__target"' in owner.get(url(people, "/trends")).get_data(as_text=True)


def test_a_target_range_may_be_open_at_one_end(people, owner):
    t = define(owner, people, name="Pain", kind="scale", target_max="4")
    assert (t.target_min, t.target_max) == (None, 4.0)
    assert "Target: any to 4 out of 10" in text_of(owner.get(url(people, "/symptoms")))
    assert t.in_target(0) is True
    assert t.in_target(5) is False


def test_a_tracker_without_a_target_has_no_target(people, owner):
    t = define(owner, people, name="Pain", kind="scale")
    assert t.in_target(5) is None


@pytest.mark.parametrize(
    ("fields", "rule"),
    [
        (
            {
                "kind": "scale",
                "rule_kind": "at_least_for_days",
                "rule_value": "8",
                "rule_days": "3",
            },
            Rule(RuleKind.AT_LEAST_FOR_DAYS, 8.0, 3),
        ),
        (
            {
                "kind": "number",
                "unit": "kg",
                "rule_kind": "rise_within_days",
                "rule_value": "2",
                "rule_days": "3",
            },
            Rule(RuleKind.RISE_WITHIN_DAYS, 2.0, 3),
        ),
        ({"kind": "yes_no", "rule_kind": "any_yes"}, Rule(RuleKind.ANY_YES)),
        ({"kind": "scale", "rule_kind": ""}, None),
    ],
)
def test_a_tracker_carries_an_early_warning_rule_from_the_plan(people, owner, fields, rule):
    t = define(owner, people, name="Watch", **fields)
    assert t.rule == rule
    if rule is not None:
        assert rule.describe(t.unit).lower() in text_of(owner.get(url(people, "/symptoms"))).lower()


def test_rules_describe_themselves_in_plain_words():
    assert Rule(RuleKind.AT_LEAST_FOR_DAYS, 8, 3).describe() == "8 or more on 3 days in a row"
    assert Rule(RuleKind.AT_LEAST_FOR_DAYS, 7.5, 1).describe("kg") == "7.5 kg or more on day"
    assert Rule(RuleKind.RISE_WITHIN_DAYS, 2, 3).describe("kg") == (
        "Up by more than 2 kg within 3 days"
    )
    assert Rule(RuleKind.ANY_YES).describe() == 'Any "yes"'


# --- refusing a bad definition ------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": "", "kind": "scale"}, "Enter a name for the tracker"),
        ({"name": "   ", "kind": "scale"}, "Enter a name for the tracker"),
        ({"name": "x" * 61, "kind": "scale"}, "60 characters or fewer"),
        ({"name": "Pain", "kind": ""}, "Select what kind of reading it is"),
        ({"name": "Pain", "kind": "colour"}, "Select what kind of reading it is"),
        ({"name": "Pain", "kind": "number", "unit": "u" * 21}, "20 characters or fewer"),
        ({"name": "Pain", "kind": "scale", "target_min": "NaN"}, "must be a number"),
        ({"name": "Pain", "kind": "scale", "target_max": "inf"}, "must be a number"),
        ({"name": "Pain", "kind": "scale", "target_max": "1e309"}, "must be a number"),
        (
            {"name": "Pain", "kind": "scale", "target_min": "6", "target_max": "4"},
            "The highest target must be the same as or more than the lowest",
        ),
        (
            {"name": "Pain", "kind": "scale", "rule_kind": "any_yes"},
            '"Any yes" only works with a yes or no tracker',
        ),
        (
            {"name": "Pain", "kind": "scale", "rule_kind": "at_least_for_days", "rule_days": "3"},
            "Enter the value for the early warning sign",
        ),
        (
            {"name": "Pain", "kind": "scale", "rule_kind": "at_least_for_days", "rule_value": "8"},
            "Enter the number of days for the early warning sign",
        ),
        (
            {
                "name": "Pain",
                "kind": "scale",
                "rule_kind": "at_least_for_days",
                "rule_value": "8",
                "rule_days": "15",
            },
            "must be a whole number from 1 to 14",
        ),
        (
            {
                "name": "Pain",
                "kind": "scale",
                "rule_kind": "rise_within_days",
                "rule_value": "nan",
                "rule_days": "3",
            },
            "must be a number",
        ),
        ({"name": "Pain", "kind": "scale", "rule_kind": "sometimes"}, "Select an early warning"),
    ],
)
def test_a_bad_tracker_definition_is_refused_and_nothing_is_stored(people, owner, fields, message):
    response = send(owner, url(people, "/trackers/new"), fields)
    assert_refused(response, message)
    assert tracker_list(people) == []


# --- changing a tracker ----------------------------------------------------------------


def test_changing_a_tracker_keeps_its_kind_whatever_the_form_says(people, owner):
    t = define(owner, people, name="Weight", kind="number", unit="kg")
    send(owner, url(people, f"/symptoms/{t.id}"), {"value": "70.5"})
    page = text_of(owner.get(url(people, f"/trackers/{t.id}/edit")))
    assert "This cannot change" in page

    response = send(
        owner,
        url(people, f"/trackers/{t.id}/edit"),
        {"name": "Body weight", "kind": "yes_no", "unit": "stone", "target_max": "80"},
    )

    assert response.status_code == 303
    changed = in_app(people.app, trackers.get_tracker, people.record_id, t.id)
    assert (changed.name, changed.kind, changed.unit, changed.target_max) == (
        "Body weight",
        TrackerKind.NUMBER,
        "stone",
        80.0,
    )
    # The old reading keeps its meaning under the new name.
    assert "Body weight: 70.5 stone" in text_of(owner.get(url(people, "/symptoms")))


def test_changing_a_tracker_can_add_and_remove_its_rule(people, owner):
    t = define(owner, people, name="Pain", kind="scale")
    send(
        owner,
        url(people, f"/trackers/{t.id}/edit"),
        {"name": "Pain", "rule_kind": "at_least_for_days", "rule_value": "7", "rule_days": "2"},
    )
    assert in_app(people.app, trackers.get_tracker, people.record_id, t.id).rule == Rule(
        RuleKind.AT_LEAST_FOR_DAYS, 7.0, 2
    )
    send(owner, url(people, f"/trackers/{t.id}/edit"), {"name": "Pain", "rule_kind": ""})
    assert in_app(people.app, trackers.get_tracker, people.record_id, t.id).rule is None


def test_changing_a_tracker_checks_the_rule_against_its_real_kind(people, owner):
    t = define(owner, people, name="Pain", kind="scale")
    response = send(
        owner,
        url(people, f"/trackers/{t.id}/edit"),
        {"name": "Pain", "kind": "yes_no", "rule_kind": "any_yes"},
    )
    assert_refused(response, '"Any yes" only works with a yes or no tracker')
    assert in_app(people.app, trackers.get_tracker, people.record_id, t.id).rule is None


def test_the_edit_form_shows_the_current_values(people, owner):
    t = define(
        owner,
        people,
        name="Weight",
        kind="number",
        unit="kg",
        target_min="60.5",
        rule_kind="rise_within_days",
        rule_value="2",
        rule_days="3",
    )
    raw = owner.get(url(people, f"/trackers/{t.id}/edit")).get_data(as_text=True)
    assert 'value="Weight"' in raw
    assert 'value="kg"' in raw
    assert 'value="60.5"' in raw
    assert 'value="rise_within_days" checked' in raw


# --- archiving ----------------------------------------------------------------------------


def test_archiving_hides_a_tracker_from_logging_and_keeps_its_readings(people, owner):
    t = define(owner, people, name="Weight", kind="number", unit="kg")
    send(owner, url(people, f"/symptoms/{t.id}"), {"value": "70.5", "note": "Kept"})
    assert "Log weight" in text_of(owner.get(url(people, "/today")))

    response = send(owner, url(people, f"/trackers/{t.id}/archive"), {"archive": "1"})

    assert response.status_code == 303
    assert in_app(people.app, trackers.get_tracker, people.record_id, t.id).archived
    assert tracker_list(people, include_archived=False) == []
    assert "Log weight" not in text_of(owner.get(url(people, "/today")))
    assert owner.get(url(people, f"/symptoms/{t.id}/log")).status_code == 404
    assert send(owner, url(people, f"/symptoms/{t.id}"), {"value": "71"}).status_code == 404
    assert only(disk_entries(people.app, people.record_id, "reading"))["data"]["note"] == "Kept"
    symptoms = text_of(owner.get(url(people, "/symptoms")))
    assert "Archived trackers" in symptoms
    assert "Weight: 70.5 kg" in symptoms
    assert "Weight: 70.5 kg" in text_of(owner.get(url(people, "/history")))


def test_an_archived_tracker_can_be_used_again(people, owner):
    t = define(owner, people, name="Weight", kind="number", unit="kg")
    send(owner, url(people, f"/trackers/{t.id}/archive"), {"archive": "1"})
    send(owner, url(people, f"/trackers/{t.id}/archive"), {"archive": "0"})
    assert not in_app(people.app, trackers.get_tracker, people.record_id, t.id).archived
    assert send(owner, url(people, f"/symptoms/{t.id}"), {"value": "71"}).status_code == 303


def test_readings_of_an_archived_tracker_can_still_be_changed(people, owner):
    t = define(owner, people, name="Weight", kind="number", unit="kg")
    send(owner, url(people, f"/symptoms/{t.id}"), {"value": "70.5"})
    send(owner, url(people, f"/trackers/{t.id}/archive"), {"archive": "1"})
    entry = only(disk_entries(people.app, people.record_id, "reading"))
    response = send(owner, url(people, f"/entries/{entry['id']}/edit"), {"value": "70.1"})
    assert response.status_code == 303
    assert only(disk_entries(people.app, people.record_id, "reading"))["data"]["value"] == 70.1


# --- whose trackers ------------------------------------------------------------------------


def test_a_tracker_of_another_record_is_404_for_every_tracker_page(people, owner, stranger):
    theirs = stranger.extras.number
    for path in (
        f"/trackers/{theirs}/edit",
        f"/symptoms/{theirs}/log",
    ):
        assert owner.get(url(people, path)).status_code == 404, path
    for path, data in (
        (f"/trackers/{theirs}/edit", {"name": "Mine now", "kind": "number"}),
        (f"/trackers/{theirs}/archive", {"archive": "1"}),
        (f"/symptoms/{theirs}", {"value": "5"}),
    ):
        assert send(owner, url(people, path), data).status_code == 404, path
    t = in_app(people.app, trackers.get_tracker, stranger.record_id, theirs)
    assert (t.name, t.archived) == ("Weight", False)
    assert disk_entries(people.app, stranger.record_id) == []


@pytest.mark.parametrize("who", ["carer", "coordinator"])
def test_only_the_person_defines_changes_or_archives_trackers(
    people, extras, carer, coordinator, who
):
    client = carer if who == "carer" else coordinator
    assert client.get(url(people, "/trackers/new")).status_code == 404
    assert (
        send(client, url(people, "/trackers/new"), {"name": "X", "kind": "scale"}).status_code
        == 404
    )
    assert (
        send(client, url(people, f"/trackers/{extras.scale}/edit"), {"name": "X"}).status_code
        == 404
    )
    assert send(client, url(people, f"/trackers/{extras.scale}/archive")).status_code == 404
    assert len(tracker_list(people)) == 4
    assert all(not t.archived for t in tracker_list(people))


def test_the_coordinator_sees_trackers_and_readings_but_no_logging_buttons(
    people, extras, owner, coordinator
):
    send(owner, url(people, f"/symptoms/{extras.scale}"), {"value": "6", "note": "Sore"})
    page = text_of(coordinator.get(url(people, "/symptoms")))
    assert "Pain: 6 out of 10" in page
    assert "Log Pain" not in page
    assert "Add a tracker" not in page


def test_the_today_screen_offers_every_tracker_in_use(people, extras, owner):
    page = text_of(owner.get(url(people, "/today")))
    for name in ("Log pain", "Log weight", "Log chest infection", "Log falls"):
        assert name in page
    assert f"/symptoms/{extras.scale}/log" in page


def test_the_domain_refuses_a_target_range_upside_down(people):
    with people.app.app_context(), pytest.raises(ValueError):
        trackers.define_tracker(
            people.record_id, name="Pain", kind=TrackerKind.SCALE, target_min=5, target_max=2
        )


@pytest.mark.parametrize(
    ("kind", "value", "problem"),
    [
        (TrackerKind.SCALE, 10, None),
        (TrackerKind.SCALE, 0, None),
        (TrackerKind.SCALE, 10.5, "Enter a whole number"),
        (TrackerKind.SCALE, 11, "Enter a number from 0 to 10"),
        (TrackerKind.YES_NO, 2, "Enter a number from 0 to 1"),
        (TrackerKind.COUNT, 1001, "Enter a number from 0 to 1000"),
        (TrackerKind.NUMBER, -100_000, None),
        (TrackerKind.NUMBER, 100_000.5, "Enter a number from -100000 to 100000"),
        (TrackerKind.NUMBER, float("nan"), "Enter a number"),
        (TrackerKind.NUMBER, float("inf"), "Enter a number"),
        (TrackerKind.NUMBER, float("-inf"), "Enter a number"),
        (TrackerKind.NUMBER, True, "Enter a number"),
        (TrackerKind.NUMBER, "7", "Enter a number"),
    ],
)
def test_a_tracker_checks_each_value_against_its_bounds(kind, value, problem):
    t = trackers.Tracker("t", "T", kind, "", "", "", None, None, False, None)
    assert t.check(value) == problem
