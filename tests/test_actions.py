"""Actions ("who will do what and when"): adding and changing them through the form,
every way the form refuses bad input, and actions and goals of other records.

Marking occurrences is in ``test_today.py``; the repeat rules in ``test_recurrence.py``.
"""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest

from tracker import actions, clock, goals
from tracker.actions import MAX_TEXT, MAX_WHAT, Owner, Repeat, Schedule

from .conftest import People, assert_problem, date_parts, post, stored, text_of
from .factories import create_action, create_goal, create_person

# --- helpers -------------------------------------------------------------------------


def form(for_goal: str, /, **overrides) -> dict:
    """A complete, valid action form: a one-off action for today, owned by the person."""
    data = {
        "goal_id": for_goal,
        "what": "Walk to the postbox and back",
        "owner": "me",
        "carer_id": "",
        "owner_name": "",
        "repeat": "once",
        **date_parts("start", clock.today()),
        **date_parts("until"),
        "interval": "",
        "at": "",
        "confidence": "",
        "support_needed": "",
        "barriers": "",
        "strategies": "",
    }
    data.update(overrides)
    return data


def all_actions(people: People) -> list[actions.Action]:
    with people.app.app_context():
        return actions.list_actions(people.record_id)


def new_url(people: People) -> str:
    return f"/records/{people.record_id}/actions/new"


def edit_url(people: People, action_id: str) -> str:
    return f"/records/{people.record_id}/actions/{action_id}/edit"


@pytest.fixture
def goal(people) -> goals.Goal:
    return create_goal(people.app, people.record_id, by=people.owner_id)


@pytest.fixture
def action(people, goal) -> actions.Action:
    """The person's own daily breathing exercises, since 10 days ago at 9:30pm."""
    return create_action(people.app, people.record_id, goal_id=goal.id, confidence=8)


# --- adding and changing actions ----------------------------------------------------------


def test_an_action_is_added_without_javascript_and_shown_on_its_goal(owner, people, goal):
    response = post(
        owner,
        new_url(people),
        form(
            goal.id,
            what="Join the walking group",
            repeat="weekly",
            weekdays=["1", "3"],
            interval="2",
            at="10:30",
            confidence="7",
            support_needed="A lift there",
            barriers="Rain",
            strategies="Take a coat",
        ),
    )
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/records/{people.record_id}/goals/{goal.id}")
    (added,) = all_actions(people)
    assert added.goal_id == goal.id
    assert added.what == "Join the walking group"
    assert added.owner is Owner.ME
    assert added.schedule == Schedule(
        Repeat.WEEKLY, clock.today(), interval=2, weekdays=(1, 3), at=time(10, 30)
    )
    assert (added.confidence, added.support_needed, added.barriers, added.strategies) == (
        7,
        "A lift there",
        "Rain",
        "Take a coat",
    )
    page = text_of(owner.get(response.headers["Location"]))
    assert "The action has been added." in page
    assert "Join the walking group" in page
    assert "Confidence 7 out of 10" in page
    assert "Support needed: A lift there" in page


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"repeat": "once"}, lambda s: Schedule(Repeat.ONCE, s)),
        (
            {"repeat": "daily", **date_parts("until", date(2031, 1, 1)), "at": "9:05"},
            lambda s: Schedule(Repeat.DAILY, s, until=date(2031, 1, 1), at=time(9, 5)),
        ),
        ({"repeat": "weekly"}, lambda s: Schedule(Repeat.WEEKLY, s)),
        (
            {"repeat": "weekly", "weekdays": ["4", "0"], "interval": "3"},
            lambda s: Schedule(Repeat.WEEKLY, s, interval=3, weekdays=(0, 4)),
        ),
        ({"repeat": "monthly"}, lambda s: Schedule(Repeat.MONTHLY, s)),
        # Days and an interval only mean something for weekly actions; an end date
        # means nothing for a one-off.
        (
            {"repeat": "daily", "weekdays": ["2"], "interval": "4"},
            lambda s: Schedule(Repeat.DAILY, s),
        ),
        (
            {"repeat": "once", **date_parts("until", date(2031, 1, 1))},
            lambda s: Schedule(Repeat.ONCE, s),
        ),
    ],
    ids=["once", "daily-until-at", "weekly", "every-3-weeks", "monthly", "daily-ignores", "once"],
)
def test_each_kind_of_repeat_is_saved(owner, people, goal, fields, expected):
    assert post(owner, new_url(people), form(goal.id, **fields)).status_code == 303
    assert all_actions(people)[0].schedule == expected(clock.today())


@pytest.mark.parametrize(
    ("fields", "owner_is", "who"),
    [
        ({"owner": "me"}, Owner.ME, "Me"),
        ({"owner": "carer"}, Owner.CARER, "A carer"),
        ({"owner": "coordinator"}, Owner.COORDINATOR, "My care coordinator"),
        ({"owner": "other", "owner_name": "Community physio"}, Owner.OTHER, "Community physio"),
    ],
)
def test_each_kind_of_owner_is_saved_and_shown(owner, people, goal, fields, owner_is, who):
    assert post(owner, new_url(people), form(goal.id, **fields)).status_code == 303
    (added,) = all_actions(people)
    assert added.owner is owner_is
    assert added.who == who
    assert who in text_of(owner.get(f"/records/{people.record_id}/goals/{goal.id}"))


def test_an_action_can_belong_to_a_named_carer_on_the_record(owner, people, goal):
    response = post(owner, new_url(people), form(goal.id, owner="carer", carer_id=people.carer_id))
    assert response.status_code == 303
    (added,) = all_actions(people)
    assert (added.owner_user_id, added.who) == (people.carer_id, "Cara Carer")


def test_confidence_is_kept_only_for_actions_the_person_does(owner, people, goal):
    post(owner, new_url(people), form(goal.id, owner="other", owner_name="GP", confidence="3"))
    assert all_actions(people)[0].confidence is None


def test_a_name_typed_for_someone_else_is_dropped_when_the_person_does_it(owner, people, goal):
    post(owner, new_url(people), form(goal.id, owner="me", owner_name="Ignored"))
    assert all_actions(people)[0].owner_name == ""


@pytest.mark.parametrize("confidence", ["1", "5"])
def test_low_confidence_gently_asks_whether_a_smaller_step_would_help(
    owner, people, goal, confidence
):
    response = post(owner, new_url(people), form(goal.id, confidence=confidence))
    # A redirect, so reloading the next page cannot add the action twice.
    assert response.status_code == 303
    assert "/smaller-step" in response.headers["Location"]
    page = text_of(owner.get(response.headers["Location"]))
    assert "Would a smaller step help?" in page
    assert f"You gave your confidence as {confidence} out of 10" in page
    assert "The action has been added." in page
    owner.get(response.headers["Location"])
    assert len(all_actions(people)) == 1


@pytest.mark.parametrize("confidence", ["6", "10", ""])
def test_confidence_of_6_or_more_goes_straight_back_to_the_goal(owner, people, goal, confidence):
    response = post(owner, new_url(people), form(goal.id, confidence=confidence))
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/goals/{goal.id}")


def test_an_action_is_changed_through_the_form(owner, people, goal, action):
    page = text_of(owner.get(edit_url(people, action.id)))
    assert "Breathing exercises" in page and 'value="21:30"' in page
    response = post(
        owner,
        edit_url(people, action.id),
        form(goal.id, what="Breathing exercises twice a day", repeat="daily", at="08:00"),
    )
    assert response.status_code == 303
    changed = all_actions(people)[0]
    assert (changed.id, changed.what, changed.schedule.at) == (
        action.id,
        "Breathing exercises twice a day",
        time(8, 0),
    )
    assert "The action has been changed." in text_of(owner.get(response.headers["Location"]))


def test_adding_an_action_before_any_goal_sends_you_to_add_a_goal(owner, people):
    response = owner.get(new_url(people))
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/records/{people.record_id}/goals/new")


def test_the_new_action_form_can_start_on_a_goal(owner, people, goal):
    page = text_of(owner.get(f"{new_url(people)}?goal={goal.id}"))
    assert f'value="{goal.id}" selected' in page


def test_the_coordinator_can_add_an_action(coordinator, people, goal):
    assert post(coordinator, new_url(people), form(goal.id)).status_code == 303


def test_a_carer_cannot_add_or_change_actions(carer, people, goal, action):
    before = stored(people.app, people.record_id)
    assert carer.get(new_url(people)).status_code == 404
    assert post(carer, new_url(people), form(goal.id)).status_code == 404
    assert carer.get(edit_url(people, action.id)).status_code == 404
    assert post(carer, edit_url(people, action.id), form(goal.id, what="x")).status_code == 404
    assert stored(people.app, people.record_id) == before


# --- validation: every field ----------------------------------------------------------------

CONFIDENCE = "Confidence must be a whole number from 1 to 10"
WEEKS = "How many weeks must be a whole number from 1 to 52"
TIME = "Enter a time in hours and minutes, like 14:30"

ACTION_CASES = [
    pytest.param({"goal_id": ""}, "Select which goal this action is for", id="goal-blank"),
    pytest.param({"what": ""}, "Enter what will be done", id="what-blank"),
    pytest.param({"what": " \n "}, "Enter what will be done", id="what-spaces"),
    pytest.param(
        {"what": "x" * (MAX_WHAT + 1)},
        "What will be done must be 300 characters or fewer",
        id="what-too-long",
    ),
    pytest.param({"owner": ""}, "Select who will do it", id="owner-missing"),
    pytest.param({"owner": "neighbour"}, "Select who will do it", id="owner-unknown"),
    pytest.param(
        {"owner": "other", "owner_name": ""},
        "Enter the name of the person or service",
        id="other-owner-name-blank",
    ),
    pytest.param(
        {"owner": "other", "owner_name": "x" * 101},
        "Name of the person or service must be 100 characters or fewer",
        id="other-owner-name-too-long",
    ),
    pytest.param(
        {"owner": "carer", "carer_id": "notacarer"}, "Select which carer", id="carer-unknown"
    ),
    pytest.param({"repeat": ""}, "Select when the action happens", id="repeat-missing"),
    pytest.param({"repeat": "yearly"}, "Select when the action happens", id="repeat-unknown"),
    pytest.param(
        {"repeat": "weekly", "weekdays": ["7"]},
        "Select days of the week from the list",
        id="weekday-7",
    ),
    pytest.param(
        {"repeat": "weekly", "weekdays": ["monday"]},
        "Select days of the week from the list",
        id="weekday-word",
    ),
    pytest.param({"repeat": "weekly", "interval": "0"}, WEEKS, id="interval-0"),
    pytest.param({"repeat": "weekly", "interval": "53"}, WEEKS, id="interval-53"),
    pytest.param({"repeat": "weekly", "interval": "two"}, WEEKS, id="interval-words"),
    pytest.param({"repeat": "weekly", "interval": "1.5"}, WEEKS, id="interval-decimal"),
    pytest.param(date_parts("start"), "Enter the date", id="start-blank"),
    pytest.param(
        date_parts("start", day="", month="5", year="2026"),
        "The date must include a day",
        id="start-no-day",
    ),
    pytest.param(
        date_parts("start", day="31", month="2", year="2026"),
        "The date must be a real date",
        id="start-31-february",
    ),
    pytest.param(
        date_parts("start", day="x", month="y", year="zzzz"),
        "The date must be a real date",
        id="start-not-numbers",
    ),
    pytest.param(
        date_parts("start", day="1", month="5", year="26"),
        "Year must include 4 numbers",
        id="start-2-digit-year",
    ),
    pytest.param(
        {
            "repeat": "daily",
            **date_parts("start", date(2026, 5, 10)),
            **date_parts("until", date(2026, 5, 9)),
        },
        "The last date must be the same as or after the first date",
        id="until-before-start",
    ),
    pytest.param(
        {"repeat": "daily", **date_parts("until", day="31", month="6", year="2030")},
        "The last date must be a real date",
        id="until-31-june",
    ),
    pytest.param(
        {"repeat": "daily", **date_parts("until", day="1", month="", year="2030")},
        "The last date must include a month",
        id="until-no-month",
    ),
    pytest.param({"at": "25:00"}, TIME, id="time-25"),
    pytest.param({"at": "12:60"}, TIME, id="time-60-minutes"),
    pytest.param({"at": "2pm"}, TIME, id="time-2pm"),
    pytest.param({"at": "14.30"}, TIME, id="time-dot"),
    pytest.param({"at": "1430"}, TIME, id="time-no-colon"),
    pytest.param({"at": "14:30:00"}, "Time must be 5 characters or fewer", id="time-seconds"),
    pytest.param({"confidence": "0"}, CONFIDENCE, id="confidence-0"),
    pytest.param({"confidence": "11"}, CONFIDENCE, id="confidence-11"),
    pytest.param({"confidence": "5.5"}, CONFIDENCE, id="confidence-5.5"),
    pytest.param({"confidence": "ten"}, CONFIDENCE, id="confidence-ten"),
    pytest.param({"confidence": "-1"}, CONFIDENCE, id="confidence-negative"),
    pytest.param({"confidence": "NaN"}, CONFIDENCE, id="confidence-nan"),
    pytest.param(
        {"support_needed": "x" * (MAX_TEXT + 1)},
        "The support needed must be 1,000 characters or fewer",
        id="support-too-long",
    ),
    pytest.param(
        {"barriers": "x" * (MAX_TEXT + 1)},
        "What might get in the way must be 1,000 characters or fewer",
        id="barriers-too-long",
    ),
    pytest.param(
        {"strategies": "x" * (MAX_TEXT + 1)},
        "What could help must be 1,000 characters or fewer",
        id="strategies-too-long",
    ),
]


@pytest.mark.parametrize(("fields", "message"), ACTION_CASES)
def test_a_bad_new_action_is_refused_and_nothing_is_stored(owner, people, goal, fields, message):
    before = stored(people.app, people.record_id)
    response = post(owner, new_url(people), form(goal.id, **fields))
    assert_problem(response, message)
    assert stored(people.app, people.record_id) == before


@pytest.mark.parametrize(("fields", "message"), ACTION_CASES)
def test_a_bad_change_to_an_action_is_refused_and_nothing_is_stored(
    owner, people, goal, action, fields, message
):
    before = stored(people.app, people.record_id)
    response = post(owner, edit_url(people, action.id), form(goal.id, **fields))
    assert_problem(response, message)
    assert stored(people.app, people.record_id) == before


def test_a_refused_action_form_keeps_what_was_typed(owner, people, goal):
    response = post(
        owner, new_url(people), form(goal.id, what="Swim on Fridays", confidence="eleven")
    )
    body = text_of(response)
    assert response.status_code == 422
    assert "Swim on Fridays" in body
    assert 'value="eleven"' in body


# --- goals and actions of other records -------------------------------------------------------


@pytest.fixture
def other(app, people):
    """Someone else's record, with a goal and an action, that nobody in ``people`` belongs to."""
    otto, record = create_person(app)
    goal = create_goal(app, record.id, by=otto.id, outcome="Otto's goal")
    action = create_action(
        app,
        record.id,
        goal_id=goal.id,
        what="Otto's action",
        schedule=Schedule(Repeat.DAILY, clock.today() - timedelta(days=3)),
    )
    return record.id, goal, action


def test_an_action_for_another_persons_goal_is_not_found_and_not_stored(owner, people, goal, other):
    _, other_goal, _ = other
    before = stored(people.app, people.record_id)
    response = post(owner, new_url(people), form(other_goal.id))
    assert response.status_code == 404
    assert "Otto" not in text_of(response)
    assert stored(people.app, people.record_id) == before


def test_moving_an_action_to_another_persons_goal_is_not_found(owner, people, goal, action, other):
    _, other_goal, _ = other
    before = stored(people.app, people.record_id)
    response = post(owner, edit_url(people, action.id), form(other_goal.id))
    assert response.status_code == 404
    assert stored(people.app, people.record_id) == before
    assert all_actions(people)[0].goal_id == goal.id


def test_a_made_up_goal_id_gets_the_same_answer_as_another_persons(owner, people, goal):
    before = stored(people.app, people.record_id)
    assert post(owner, new_url(people), form("0123456789ab")).status_code == 404
    assert stored(people.app, people.record_id) == before


def test_another_persons_goal_in_the_link_is_not_offered(owner, people, goal, other):
    _, other_goal, _ = other
    page = text_of(owner.get(f"{new_url(people)}?goal={other_goal.id}"))
    assert other_goal.id not in page
    assert "Otto" not in page


@pytest.mark.parametrize(
    ("method", "suffix"),
    [
        ("get", "/edit"),
        ("post", "/edit"),
        ("get", "/smaller-step"),
        ("post", "/mark"),
        ("get", "/mark"),
    ],
)
def test_another_persons_action_id_under_my_record_is_not_found(
    owner, people, goal, other, method, suffix
):
    other_record, _, other_action = other
    url = f"/records/{people.record_id}/actions/{other_action.id}{suffix}"
    day = clock.today().isoformat()
    if method == "get":
        response = owner.get(f"{url}?day={day}")
    else:
        response = post(owner, url, {**form(goal.id), "outcome": "done", "day": day})
    assert response.status_code == 404
    assert "Otto" not in text_of(response)
    with people.app.app_context():
        assert actions.occurrences(other_record, clock.today(), clock.today())[0].outcome is None


def test_another_persons_record_is_not_found_even_with_the_right_action_id(owner, people, other):
    other_record, other_goal, other_action = other
    base = f"/records/{other_record}/actions"
    assert owner.get(f"{base}/{other_action.id}/edit").status_code == 404
    assert owner.get(f"{base}/new").status_code == 404
    day = clock.today().isoformat()
    response = post(owner, f"{base}/{other_action.id}/mark", {"outcome": "done", "day": day})
    assert response.status_code == 404
    assert post(owner, f"{base}/new", form(other_goal.id)).status_code == 404
    with people.app.app_context():
        assert len(actions.list_actions(other_record)) == 1
        assert actions.occurrences(other_record, clock.today(), clock.today())[0].outcome is None
