"""Goals: adding and changing them, every status change and its timeline, progress notes.

Each form is tried both ways it can be sent: a plain POST (JavaScript off: 303, then
the change on the next page) and, where the page uses htmx, with ``HX-Request``
(only the affected fragment comes back, with ``Vary: HX-Request``).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from tracker import goals, sharing
from tracker.goals import MAX_OUTCOME, MAX_TEXT, GoalStatus

from .conftest import Clock, People, assert_problem, post, stored, text_of
from .factories import create_goal, create_person

HX = {"HX-Request": "true"}

# --- helpers -------------------------------------------------------------------------


def add_goal(people: People, outcome: str = "To walk to the shop", **fields) -> goals.Goal:
    return create_goal(people.app, people.record_id, by=people.owner_id, outcome=outcome, **fields)


def goal_now(people: People, goal_id: str) -> goals.Goal:
    with people.app.app_context():
        return goals.get_goal(people.record_id, goal_id)


def goal_url(people: People, goal_id: str, suffix: str = "") -> str:
    return f"/records/{people.record_id}/goals/{goal_id}{suffix}"


@pytest.fixture
def goal(people) -> goals.Goal:
    return add_goal(people, need="Breathless walking", measure="3 times a week", importance=8)


def timeline_items(body: str) -> list[str]:
    """The goal's status timeline entries, in the order shown."""
    section = body[body.index('class="nhsuk-list app-timeline"') :]
    section = section[: section.index("</ol>")]
    return [re.sub(r"\s+", " ", li) for li in re.findall(r"<li>(.*?)</li>", section, re.S)]


# --- adding and changing a goal -----------------------------------------------------------


def test_a_goal_is_added_through_the_form_and_starts_in_progress(owner, people):
    response = post(
        owner,
        f"/records/{people.record_id}/goals/new",
        {
            "outcome": "To walk to the shop and back without stopping",
            "need": "Getting breathless when walking",
            "measure": "I can do it 3 times a week",
            "importance": "9",
        },
    )
    assert response.status_code == 303
    (goal,) = _all_goals(people)
    assert response.headers["Location"].endswith(goal_url(people, goal.id))
    assert (goal.outcome, goal.need, goal.measure, goal.importance) == (
        "To walk to the shop and back without stopping",
        "Getting breathless when walking",
        "I can do it 3 times a week",
        9,
    )
    assert goal.status is GoalStatus.IN_PROGRESS
    assert [e.status for e in goal.timeline] == [GoalStatus.IN_PROGRESS]

    page = text_of(owner.get(response.headers["Location"]))
    assert "The goal has been added." in page
    assert "To walk to the shop and back without stopping" in page
    assert "Getting breathless when walking" in page
    assert "9 out of 10" in page
    assert "In progress" in page
    # And it is listed on the plan, with its status in words.
    plan = text_of(owner.get(f"/records/{people.record_id}/plan"))
    assert "To walk to the shop and back without stopping" in plan
    assert "In progress" in plan


def _all_goals(people: People) -> list[goals.Goal]:
    with people.app.app_context():
        return goals.list_goals(people.record_id)


def test_only_the_outcome_is_needed_for_a_goal(owner, people):
    response = post(owner, f"/records/{people.record_id}/goals/new", {"outcome": "To sleep better"})
    assert response.status_code == 303
    (goal,) = _all_goals(people)
    assert (goal.need, goal.measure, goal.importance) == ("", "", None)


def test_a_goal_is_changed_through_the_form(owner, people, goal):
    response = post(
        owner,
        goal_url(people, goal.id, "/edit"),
        {"outcome": "To walk to the park", "need": "", "measure": "Twice a week", "importance": ""},
    )
    assert response.status_code == 303
    changed = goal_now(people, goal.id)
    assert (changed.outcome, changed.need, changed.measure, changed.importance) == (
        "To walk to the park",
        "",
        "Twice a week",
        None,
    )
    page = text_of(owner.get(goal_url(people, goal.id)))
    assert "The goal has been changed." in page
    assert "To walk to the park" in page
    # Changing what the goal says is not a status change.
    assert changed.timeline == goal.timeline


def test_the_edit_form_shows_the_goal_as_it_is(owner, people, goal):
    page = text_of(owner.get(goal_url(people, goal.id, "/edit")))
    assert "To walk to the shop" in page
    assert "Breathless walking" in page
    assert 'value="8"' in page


def test_the_coordinator_can_add_a_goal_and_a_carer_cannot(coordinator, carer, people):
    url = f"/records/{people.record_id}/goals/new"
    assert carer.get(url).status_code == 404
    before = stored(people.app, people.record_id)
    assert post(carer, url, {"outcome": "Carer's goal"}).status_code == 404
    assert stored(people.app, people.record_id) == before
    assert post(coordinator, url, {"outcome": "Coordinator's goal"}).status_code == 303
    assert [g.outcome for g in _all_goals(people)] == ["Coordinator's goal"]


def test_a_carer_cannot_change_a_goal(carer, people, goal):
    assert carer.get(goal_url(people, goal.id, "/edit")).status_code == 404
    response = post(carer, goal_url(people, goal.id, "/edit"), {"outcome": "Changed"})
    assert response.status_code == 404
    assert goal_now(people, goal.id).outcome == goal.outcome


# --- status changes and the timeline ---------------------------------------------------


@pytest.mark.parametrize("status", list(GoalStatus))
def test_every_status_change_is_saved_and_shown_in_words_without_javascript(
    owner, people, goal, status
):
    if status is GoalStatus.IN_PROGRESS:
        # Back to in progress from somewhere else.
        post(owner, goal_url(people, goal.id, "/status"), {"status": "on_hold"})
    response = post(
        owner,
        goal_url(people, goal.id, "/status"),
        {"status": status.value, "note": f"Moving to {status.value}"},
    )
    assert response.status_code == 303
    assert response.headers["Location"].endswith(goal_url(people, goal.id))
    assert "HX-Request" in response.headers.get("Vary", "")

    changed = goal_now(people, goal.id)
    assert changed.status is status
    assert changed.timeline[-1].status is status
    assert changed.timeline[-1].note == f"Moving to {status.value}"
    assert changed.timeline[-1].by == people.owner_id

    page = text_of(owner.get(goal_url(people, goal.id)))
    assert f"The goal is now: {status.label.lower()}." in page
    assert f'Status: <strong class="nhsuk-tag nhsuk-tag--{status.tag}">{status.label}' in page
    assert f"Moving to {status.value}" in timeline_items(page)[0]


@pytest.mark.parametrize("status", list(GoalStatus))
def test_every_status_change_by_htmx_swaps_only_the_status_fragment(owner, people, goal, status):
    if status is GoalStatus.IN_PROGRESS:
        post(owner, goal_url(people, goal.id, "/status"), {"status": "achieved"})
    response = post(
        owner,
        goal_url(people, goal.id, "/status"),
        {"status": status.value, "note": "Via htmx"},
        headers=HX,
    )
    assert response.status_code == 200
    assert "HX-Request" in response.headers["Vary"]
    body = text_of(response)
    assert body.lstrip().startswith('<section id="goal-status"')
    assert body.rstrip().endswith("</section>")
    assert "<html" not in body and "<header" not in body
    assert "Saved." in body
    assert f"The goal is now: {status.label.lower()}." in body
    assert status.label in timeline_items(body)[0]
    assert "Via htmx" in timeline_items(body)[0]
    assert goal_now(people, goal.id).status is status


def test_changing_a_goal_to_on_hold_adds_a_dated_event_to_its_timeline(
    monkeypatch, people, login_as
):
    # 1 July is in British Summer Time: 13:05 UTC is 2:05pm in the UK.
    now = Clock(monkeypatch, datetime(2026, 7, 1, 13, 5, tzinfo=UTC))
    goal = add_goal(people)
    owner = login_as("owner@example.com")
    now.advance(minutes=10)

    post(
        owner,
        goal_url(people, goal.id, "/status"),
        {"status": "on_hold", "note": "In hospital for a week"},
    )

    items = timeline_items(text_of(owner.get(goal_url(people, goal.id))))
    assert len(items) == 2
    assert items[0].startswith("<strong>On hold</strong>, 1 July 2026 at 2:15pm, by Olive Owner")
    assert "In hospital for a week" in items[0]
    assert items[1].startswith(
        "<strong>In progress</strong>, 1 July 2026 at 2:05pm, by Olive Owner"
    )


def test_the_timeline_keeps_every_change_newest_first_and_never_overwrites(
    monkeypatch, people, login_as
):
    now = Clock(monkeypatch, datetime(2026, 1, 10, 9, 0, tzinfo=UTC))
    goal = add_goal(people)
    owner = login_as("owner@example.com")
    coordinator = login_as("coord@example.com")
    steps = [
        (owner, "on_hold", "Chest infection"),
        (coordinator, "in_progress", "Back on track after discussing it"),
        (owner, "in_progress", ""),
        (coordinator, "not_achieved", "Too much too soon"),
        (owner, "abandoned", "Changing to a smaller goal"),
        (owner, "achieved", "Did it after all!"),
    ]
    for minutes, (who, status, note) in enumerate(steps, start=1):
        now.at = datetime(2026, 1, 10, 9, minutes, tzinfo=UTC)
        assert post(who, goal_url(people, goal.id, "/status"), {"status": status, "note": note})

    stored_goal = goal_now(people, goal.id)
    assert [e.status.value for e in stored_goal.timeline] == [
        "in_progress",
        *[s for _, s, _ in steps],
    ]
    assert [e.note for e in stored_goal.timeline[1:]] == [n for _, _, n in steps]
    # Each event keeps its own time and author: nothing was rewritten.
    assert [e.at[11:16] for e in stored_goal.timeline] == [
        "09:00",
        "09:01",
        "09:02",
        "09:03",
        "09:04",
        "09:05",
        "09:06",
    ]
    assert [e.by for e in stored_goal.timeline[1:]] == [
        people.owner_id,
        people.coordinator_id,
        people.owner_id,
        people.coordinator_id,
        people.owner_id,
        people.owner_id,
    ]

    items = timeline_items(text_of(owner.get(goal_url(people, goal.id))))
    assert len(items) == 7
    assert items[0].startswith("<strong>Achieved</strong>, 10 January 2026 at 9:06am")
    assert "Did it after all!" in items[0]
    assert "by Cody Coordinator" in items[2] and "Too much too soon" in items[2]
    assert items[1].startswith("<strong>Abandoned</strong>")
    assert items[3].startswith("<strong>In progress</strong>") and "by Olive Owner" in items[3]
    assert items[-1].startswith("<strong>In progress</strong>, 10 January 2026 at 9:00am")
    assert "10 January 2026 at 9:01am, by Olive Owner" in items[-2]


def test_setting_the_same_status_again_is_still_recorded_as_an_event(owner, people, goal):
    post(owner, goal_url(people, goal.id, "/status"), {"status": "in_progress", "note": "Still"})
    assert len(goal_now(people, goal.id).timeline) == 2


def test_a_status_note_is_optional(owner, people, goal):
    response = post(owner, goal_url(people, goal.id, "/status"), {"status": "achieved"})
    assert response.status_code == 303
    assert goal_now(people, goal.id).timeline[-1].note == ""


def test_the_coordinator_can_change_a_goal_status(coordinator, people, goal):
    response = post(coordinator, goal_url(people, goal.id, "/status"), {"status": "achieved"})
    assert response.status_code == 303
    assert goal_now(people, goal.id).timeline[-1].by == people.coordinator_id


def test_a_carer_cannot_change_a_goal_status_and_is_not_offered_the_form(carer, people, goal):
    page = text_of(carer.get(goal_url(people, goal.id)))
    assert "Change the status" not in page
    assert "In progress" in page  # but they can see it
    before = stored(people.app, people.record_id)
    response = post(carer, goal_url(people, goal.id, "/status"), {"status": "abandoned"})
    assert response.status_code == 404
    response = post(
        carer, goal_url(people, goal.id, "/status"), {"status": "abandoned"}, headers=HX
    )
    assert response.status_code == 404
    assert stored(people.app, people.record_id) == before


@pytest.mark.parametrize("bad", ["", "finished", "IN_PROGRESS", "achieved ", "0"])
def test_an_unknown_status_is_refused_and_nothing_is_stored(owner, people, goal, bad):
    before = stored(people.app, people.record_id)
    response = post(owner, goal_url(people, goal.id, "/status"), {"status": bad, "note": "x"})
    assert_problem(response, "Select how this goal is going")
    assert stored(people.app, people.record_id) == before


def test_an_unknown_status_by_htmx_comes_back_as_the_fragment_with_the_problem(owner, people, goal):
    before = stored(people.app, people.record_id)
    response = post(owner, goal_url(people, goal.id, "/status"), {"status": "done"}, headers=HX)
    assert_problem(response, "Select how this goal is going")
    assert "HX-Request" in response.headers["Vary"]
    assert text_of(response).lstrip().startswith('<section id="goal-status"')
    assert stored(people.app, people.record_id) == before


def test_a_status_note_that_is_too_long_is_refused(owner, people, goal):
    before = stored(people.app, people.record_id)
    response = post(
        owner,
        goal_url(people, goal.id, "/status"),
        {"status": "on_hold", "note": "x" * (MAX_TEXT + 1)},
    )
    assert_problem(response, "Your note must be 1,000 characters or fewer")
    assert stored(people.app, people.record_id) == before


def test_a_status_change_without_a_csrf_token_is_refused(owner, people, goal):
    response = owner.post(goal_url(people, goal.id, "/status"), data={"status": "abandoned"})
    assert response.status_code == 400
    assert goal_now(people, goal.id).status is GoalStatus.IN_PROGRESS


# --- progress notes ----------------------------------------------------------------------


def test_a_progress_note_is_added_without_javascript(owner, people, goal):
    response = post(owner, goal_url(people, goal.id, "/notes"), {"text": "Walked halfway today"})
    assert response.status_code == 303
    assert "HX-Request" in response.headers.get("Vary", "")
    (note,) = goal_now(people, goal.id).notes
    assert (note.text, note.by) == ("Walked halfway today", people.owner_id)
    page = text_of(owner.get(goal_url(people, goal.id)))
    assert "Your note has been added." in page
    assert "Walked halfway today" in page


def test_a_progress_note_by_htmx_swaps_only_the_notes_fragment(owner, people, goal):
    response = post(owner, goal_url(people, goal.id, "/notes"), {"text": "Good week"}, headers=HX)
    assert response.status_code == 200
    assert "HX-Request" in response.headers["Vary"]
    body = text_of(response)
    assert body.lstrip().startswith('<section id="goal-notes"')
    assert "<html" not in body
    assert "Good week" in body
    assert len(goal_now(people, goal.id).notes) == 1


def test_progress_notes_are_shown_newest_first_with_when_and_who(monkeypatch, people, login_as):
    now = Clock(monkeypatch, datetime(2026, 2, 3, 16, 30, tzinfo=UTC))
    goal = add_goal(people)
    owner = login_as("owner@example.com")
    carer = login_as("carer@example.com")
    post(owner, goal_url(people, goal.id, "/notes"), {"text": "First note"})
    now.advance(minutes=3)
    post(carer, goal_url(people, goal.id, "/notes"), {"text": "Carer's note"})
    page = text_of(owner.get(goal_url(people, goal.id)))
    notes = page[page.index('id="goal-notes"') :]
    assert notes.index("Carer's note") < notes.index("First note")
    assert "3 February 2026 at 4:33pm, Cara Carer" in notes
    assert "3 February 2026 at 4:30pm, Olive Owner" in notes


def test_a_carer_who_sees_the_plan_can_add_a_progress_note(carer, people, goal):
    response = post(carer, goal_url(people, goal.id, "/notes"), {"text": "Sam walked well"})
    assert response.status_code == 303
    assert goal_now(people, goal.id).notes[0].by == people.carer_id


def test_a_carer_without_the_plan_cannot_see_a_goal_or_add_a_note(app, people, goal, login_as):
    with app.app_context():
        (member,) = [
            m for m in sharing.members_of_record(people.record_id) if m.user_id == people.carer_id
        ]
        sharing.set_categories(people.record_id, member.id, frozenset())
    carer = login_as("carer@example.com")
    assert carer.get(goal_url(people, goal.id)).status_code == 404
    before = stored(people.app, people.record_id)
    assert post(carer, goal_url(people, goal.id, "/notes"), {"text": "x"}).status_code == 404
    assert stored(people.app, people.record_id) == before


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Enter a progress note"),
        ("   \n  ", "Enter a progress note"),
        ("x" * (MAX_TEXT + 1), "Progress note must be 1,000 characters or fewer"),
    ],
)
def test_a_bad_progress_note_is_refused_and_nothing_is_stored(owner, people, goal, text, message):
    before = stored(people.app, people.record_id)
    assert_problem(post(owner, goal_url(people, goal.id, "/notes"), {"text": text}), message)
    response = post(owner, goal_url(people, goal.id, "/notes"), {"text": text}, headers=HX)
    assert_problem(response, message)
    assert text_of(response).lstrip().startswith('<section id="goal-notes"')
    assert stored(people.app, people.record_id) == before


def test_the_goal_page_says_notes_are_not_watched_around_the_clock(owner, people, goal):
    page = text_of(owner.get(goal_url(people, goal.id)))
    assert "not watched around the clock" in page
    assert f'href="/records/{people.record_id}/help-now"' in page


# --- validation of the goal form ----------------------------------------------------------

IMPORTANCE = "Importance must be a whole number from 1 to 10"

GOAL_CASES = [
    pytest.param({"outcome": ""}, "Enter what you want to achieve", id="outcome-blank"),
    pytest.param({"outcome": "  \t "}, "Enter what you want to achieve", id="outcome-spaces"),
    pytest.param(
        {"outcome": "x" * (MAX_OUTCOME + 1)},
        "What you want to achieve must be 300 characters or fewer",
        id="outcome-too-long",
    ),
    pytest.param(
        {"need": "x" * (MAX_TEXT + 1)},
        "The need it answers must be 1,000 characters or fewer",
        id="need-too-long",
    ),
    pytest.param(
        {"measure": "x" * (MAX_TEXT + 1)},
        "How you will know it is working must be 1,000 characters or fewer",
        id="measure-too-long",
    ),
    pytest.param({"importance": "0"}, IMPORTANCE, id="importance-0"),
    pytest.param({"importance": "11"}, IMPORTANCE, id="importance-11"),
    pytest.param({"importance": "5.5"}, IMPORTANCE, id="importance-5.5"),
    pytest.param({"importance": "ten"}, IMPORTANCE, id="importance-ten"),
    pytest.param({"importance": "-1"}, IMPORTANCE, id="importance-negative"),
    pytest.param({"importance": "1e1"}, IMPORTANCE, id="importance-exponent"),
    pytest.param({"importance": "١٠"}, IMPORTANCE, id="importance-arabic-digits"),
    pytest.param({"importance": "9999999999"}, IMPORTANCE, id="importance-huge"),
]


@pytest.mark.parametrize(("fields", "message"), GOAL_CASES)
def test_a_bad_new_goal_is_refused_and_nothing_is_stored(owner, people, fields, message):
    add_goal(people, "An existing goal")
    before = stored(people.app, people.record_id)
    data = {"outcome": "To walk further", "need": "", "measure": "", "importance": "", **fields}
    response = post(owner, f"/records/{people.record_id}/goals/new", data)
    assert_problem(response, message)
    assert stored(people.app, people.record_id) == before


@pytest.mark.parametrize(("fields", "message"), GOAL_CASES)
def test_a_bad_change_to_a_goal_is_refused_and_nothing_is_stored(
    owner, people, goal, fields, message
):
    before = stored(people.app, people.record_id)
    data = {"outcome": "To walk further", "need": "", "measure": "", "importance": "", **fields}
    response = post(owner, goal_url(people, goal.id, "/edit"), data)
    assert_problem(response, message)
    assert stored(people.app, people.record_id) == before


@pytest.mark.parametrize("importance", ["1", "10", " 7 "])
def test_importance_from_1_to_10_is_accepted(owner, people, importance):
    data = {"outcome": "To walk", "importance": importance}
    assert post(owner, f"/records/{people.record_id}/goals/new", data).status_code == 303
    assert _all_goals(people)[0].importance == int(importance)


def test_a_goal_outcome_of_exactly_the_limit_is_accepted(owner, people):
    data = {"outcome": "x" * MAX_OUTCOME}
    assert post(owner, f"/records/{people.record_id}/goals/new", data).status_code == 303


# --- another person's goals ---------------------------------------------------------------


@pytest.fixture
def other_goal(app, people) -> tuple[str, goals.Goal]:
    """A goal in someone else's record, which nobody in ``people`` belongs to."""
    other, record = create_person(app)
    return record.id, create_goal(app, record.id, by=other.id, outcome="Otto's private goal")


@pytest.mark.parametrize(
    ("method", "suffix"),
    [("get", ""), ("get", "/edit"), ("post", "/edit"), ("post", "/status"), ("post", "/notes")],
)
def test_another_records_goal_id_under_my_record_is_not_found(
    owner, people, other_goal, method, suffix
):
    other_record, goal = other_goal
    url = goal_url(people, goal.id, suffix)
    data = {"outcome": "Hijacked", "status": "abandoned", "text": "Hijacked", "note": "x"}
    response = owner.get(url) if method == "get" else post(owner, url, data)
    assert response.status_code == 404
    assert "Otto" not in text_of(response)
    with people.app.app_context():
        untouched = goals.get_goal(other_record, goal.id)
    assert untouched == goal


def test_another_persons_record_and_goal_are_not_found_even_with_the_right_ids(
    owner, people, other_goal
):
    other_record, goal = other_goal
    url = f"/records/{other_record}/goals/{goal.id}"
    assert owner.get(url).status_code == 404
    assert post(owner, f"{url}/status", {"status": "abandoned"}).status_code == 404
    assert post(owner, f"{url}/notes", {"text": "x"}).status_code == 404
    with people.app.app_context():
        assert goals.get_goal(other_record, goal.id) == goal


def test_an_unknown_goal_is_not_found(owner, people):
    assert owner.get(goal_url(people, "0123456789ab")).status_code == 404
    assert (
        post(owner, goal_url(people, "0123456789ab", "/status"), {"status": "achieved"}).status_code
        == 404
    )
