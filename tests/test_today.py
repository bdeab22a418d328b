"""The Today screen: today's and overdue actions, each marked in one tap.

Marking is tried as the person, as a carer (with and without the actions shared,
for actions they own and ones they do not), and as the coordinator; with htmx
(only the occurrence comes back) and without JavaScript (303 back to Today).
"""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest

from tracker import actions, clock, goals, sharing
from tracker.actions import Outcome, Owner, Repeat, Schedule

from .conftest import Clock, People, assert_problem, make_account, post, stored, text_of
from .factories import create_action, create_goal, create_plan

HX = {"HX-Request": "true"}

# --- helpers -------------------------------------------------------------------------


def today_url(people: People) -> str:
    return f"/records/{people.record_id}/today"


def mark_url(people: People, action: actions.Action) -> str:
    return f"/records/{people.record_id}/actions/{action.id}/mark"


def occurrence_html(body: str, action: actions.Action, day: date) -> str:
    """The one occurrence's <li> on a page ('' if it is not there)."""
    match = re.search(
        rf'<li class="app-occurrence" id="occ-{action.id}-{day.isoformat()}">(.*?)</li>',
        body,
        re.S,
    )
    return match.group(1) if match else ""


def shown_outcome(body: str, action: actions.Action, day: date) -> str | None:
    """The outcome tag shown for one occurrence (None if it is unmarked or absent)."""
    found = re.search(
        r'<strong class="nhsuk-tag[^"]*">(\w+)</strong>', occurrence_html(body, action, day)
    )
    return found.group(1) if found else None


def marks_stored(people: People) -> list[dict]:
    root = Path(people.app.config["TRACKER_DATA_DIR"]) / "records" / people.record_id
    out = []
    for path in sorted(root.glob("log-*.json")):
        entries = json.loads(path.read_bytes()).get("entries", {}).values()
        out.extend(e for e in entries if e["kind"] == "action")
    return out


def add_action(people: People, goal_id: str, what: str, owner: Owner, schedule: Schedule, **kw):
    """An action on ``people``'s record (``factories.create_action`` with the fields in order)."""
    fields = {"goal_id": goal_id, "what": what, "owner": owner, "schedule": schedule, **kw}
    return create_action(people.app, people.record_id, **fields)


@pytest.fixture
def goal(people) -> goals.Goal:
    return create_goal(people.app, people.record_id, by=people.owner_id, outcome="To sleep better")


@pytest.fixture
def mine(people, goal) -> actions.Action:
    """The person's own daily action, started 10 days ago, at 9:30pm."""
    return create_action(people.app, people.record_id, goal_id=goal.id)


@pytest.fixture
def carers_action(people, goal) -> actions.Action:
    """A daily action for "a carer" (any carer on the record)."""
    start = clock.today() - timedelta(days=10)
    return add_action(
        people, goal.id, "Help with the evening routine", Owner.CARER, Schedule(Repeat.DAILY, start)
    )


def set_carer_categories(people: People, categories: frozenset) -> None:
    with people.app.app_context():
        (member,) = [
            m for m in sharing.members_of_record(people.record_id) if m.user_id == people.carer_id
        ]
        sharing.set_categories(people.record_id, member.id, categories)


# --- what Today shows ------------------------------------------------------------------------


def test_today_is_the_home_page_for_the_person_and_for_a_carer(owner, carer, people):
    for client in (owner, carer):
        response = client.get("/")
        assert response.status_code in (302, 303)
        assert response.headers["Location"].endswith(today_url(people))


def test_today_shows_todays_actions_with_their_time_and_who_does_them(owner, people, mine):
    body = text_of(owner.get(today_url(people)))
    today = clock.today()
    assert f"Today, {today.day} {today:%B %Y}" in body
    item = occurrence_html(body, mine, today)
    assert "Breathing exercises" in item
    assert "Me, 21:30" in item
    # One tap each: three buttons in one form, no other step.
    assert re.findall(r'name="outcome" value="(\w+)"', item) == ["done", "missed", "skipped"]


def test_today_says_when_there_is_nothing_to_do(owner, people, goal):
    assert "There are no actions for today." in text_of(owner.get(today_url(people)))


def test_actions_not_due_today_are_not_shown_as_todays(owner, people, goal):
    tomorrow = clock.today() + timedelta(days=1)
    later = add_action(people, goal.id, "See the nurse", Owner.ME, Schedule(Repeat.ONCE, tomorrow))
    body = text_of(owner.get(today_url(people)))
    assert "See the nurse" not in body
    assert occurrence_html(body, later, tomorrow) == ""


def test_today_shows_the_next_review_date(owner, people):
    review = clock.today() + timedelta(days=40)
    create_plan(people.app, people.record_id, by=people.owner_id, next_review=review)
    words = re.sub(r"<[^>]+>", "", text_of(owner.get(today_url(people))))
    assert f"The plan's next review is due on {review.day} {review:%B %Y}" in words


def test_today_prompts_for_mood_and_links_to_logging_for_the_person(owner, people):
    with people.app.app_context():
        from tracker import trackers

        pain = trackers.define_tracker(
            people.record_id, name="Pain", kind=trackers.TrackerKind.SCALE
        )
    body = text_of(owner.get(today_url(people)))
    base = f"/records/{people.record_id}"
    assert re.search(rf'<form[^>]+action="{base}/mood"', body), "no one-tap mood prompt"
    assert f'href="{base}/diary/new"' in body
    assert f'href="{base}/symptoms/{pain.id}/log"' in body
    assert f'href="{base}/support/new"' in body


def test_today_links_a_carer_to_recording_support_but_not_to_the_diary(carer, people):
    body = text_of(carer.get(today_url(people)))
    base = f"/records/{people.record_id}"
    assert f'href="{base}/support/new"' in body
    assert f'href="{base}/diary/new"' not in body
    assert f'action="{base}/mood"' not in body


def test_today_says_logs_are_not_watched_around_the_clock(owner, people):
    body = text_of(owner.get(today_url(people)))
    assert "not watched around the clock" in body
    assert f'href="/records/{people.record_id}/help-now"' in body


# --- overdue ------------------------------------------------------------------------------


def test_unmarked_occurrences_from_the_last_7_days_are_shown_as_overdue(owner, people, mine):
    today = clock.today()
    with people.app.app_context():
        record = people.record_id
        action = actions.get_action(record, mine.id)
        actions.mark_occurrence(
            record, action, today - timedelta(days=2), Outcome.DONE, by=people.owner_id, today=today
        )
    body = text_of(owner.get(today_url(people)))
    overdue = body[body.index('class="nhsuk-details app-overdue"') :]
    overdue = overdue[: overdue.index("</details>")]
    # 7 days back, less the one marked.
    assert "6 earlier actions this week not marked yet" in overdue
    for back in (1, 3, 4, 5, 6, 7):
        day = today - timedelta(days=back)
        assert occurrence_html(overdue, mine, day), f"{back} days ago is not shown"
        assert f"Due {day.day} {day:%B %Y}" in occurrence_html(overdue, mine, day)
    assert occurrence_html(overdue, mine, today - timedelta(days=2)) == ""
    assert occurrence_html(body, mine, today - timedelta(days=8)) == ""
    # Today's is in the main list, not among the overdue.
    assert occurrence_html(overdue, mine, today) == ""
    assert occurrence_html(body, mine, today)


def test_an_overdue_occurrence_can_be_marked_and_then_leaves_the_overdue_list(owner, people, mine):
    day = clock.today() - timedelta(days=3)
    response = post(owner, mark_url(people, mine), {"outcome": "missed", "day": day.isoformat()})
    assert response.status_code == 303
    body = text_of(owner.get(today_url(people)))
    assert occurrence_html(body, mine, day) == ""
    assert "6 earlier actions this week not marked yet" in body


def test_nothing_is_overdue_when_everything_was_marked(owner, people, goal):
    today = clock.today()
    action = add_action(
        people, goal.id, "Walk", Owner.ME, Schedule(Repeat.DAILY, today - timedelta(days=2))
    )
    for back in (1, 2):
        post(
            owner,
            mark_url(people, action),
            {"outcome": "done", "day": (today - timedelta(days=back)).isoformat()},
        )
    assert "app-overdue" not in text_of(owner.get(today_url(people)))


# --- the person marks --------------------------------------------------------------------


@pytest.mark.parametrize("outcome", list(Outcome))
def test_the_person_marks_todays_action_in_one_tap_without_javascript(owner, people, mine, outcome):
    today = clock.today()
    response = post(
        owner,
        mark_url(people, mine),
        {"outcome": outcome.value, "day": today.isoformat(), "next": today_url(people)},
    )
    assert response.status_code == 303
    assert response.headers["Location"].endswith(today_url(people))
    assert "HX-Request" in response.headers["Vary"]
    body = text_of(owner.get(today_url(people)))
    assert f"Marked as {outcome.value}: Breathing exercises" in body
    assert shown_outcome(body, mine, today) == outcome.label
    (mark,) = marks_stored(people)
    assert mark["data"] == {
        "action_id": mine.id,
        "day": today.isoformat(),
        "outcome": outcome.value,
        "note": "",
    }
    assert mark["author_id"] == people.owner_id


@pytest.mark.parametrize("outcome", list(Outcome))
def test_the_person_marks_todays_action_in_one_tap_with_htmx(owner, people, mine, outcome):
    today = clock.today()
    response = post(
        owner,
        mark_url(people, mine),
        {"outcome": outcome.value, "day": today.isoformat()},
        headers=HX,
    )
    assert response.status_code == 200
    assert "HX-Request" in response.headers["Vary"]
    body = text_of(response)
    assert body.lstrip().startswith(
        f'<li class="app-occurrence" id="occ-{mine.id}-{today.isoformat()}">'
    )
    assert "<html" not in body and "<header" not in body
    assert shown_outcome(body, mine, today) == outcome.label
    assert "role=status" in body  # announced to screen readers
    # The other two outcomes are still one tap away, to correct a mistake.
    others = [o.value for o in Outcome if o is not outcome]
    assert re.findall(r'name="outcome" value="(\w+)"', body) == others


def test_marking_again_replaces_the_outcome_shown_but_keeps_both_marks(owner, people, mine):
    today = clock.today().isoformat()
    post(owner, mark_url(people, mine), {"outcome": "done", "day": today})
    response = post(owner, mark_url(people, mine), {"outcome": "missed", "day": today}, headers=HX)
    assert shown_outcome(text_of(response), mine, clock.today()) == "Missed"
    body = text_of(owner.get(today_url(people)))
    assert shown_outcome(body, mine, clock.today()) == "Missed"
    assert body.count(f'id="occ-{mine.id}-{today}"') == 1
    assert [m["data"]["outcome"] for m in marks_stored(people)] == ["done", "missed"]
    post(owner, mark_url(people, mine), {"outcome": "skipped", "day": today})
    assert shown_outcome(text_of(owner.get(today_url(people))), mine, clock.today()) == "Skipped"


def test_the_person_can_mark_an_action_that_someone_else_owns(owner, people, carers_action):
    today = clock.today().isoformat()
    response = post(owner, mark_url(people, carers_action), {"outcome": "done", "day": today})
    assert response.status_code == 303
    assert marks_stored(people)[0]["author_id"] == people.owner_id


def test_a_mark_can_carry_a_note_from_the_mark_page(owner, people, mine):
    today = clock.today()
    body = text_of(owner.get(today_url(people)))
    link = re.search(r'href="([^"]*/mark\?day=[^"]*)"', occurrence_html(body, mine, today))
    assert link, "no link to mark with a note"
    page = owner.get(html.unescape(link.group(1)))
    assert page.status_code == 200
    assert "How did it go?" in text_of(page)
    assert "not watched around the clock" in text_of(page)

    response = post(
        owner,
        mark_url(people, mine),
        {"outcome": "missed", "day": today.isoformat(), "note": "Too breathless tonight"},
    )
    assert response.status_code == 303
    body = text_of(owner.get(today_url(people)))
    assert shown_outcome(body, mine, today) == "Missed"
    assert "Too breathless tonight" in occurrence_html(body, mine, today)


# --- carers and the coordinator -------------------------------------------------------------


def test_a_carer_marks_an_action_a_carer_owns_when_actions_are_shared(
    carer, people, carers_action, mine
):
    today = clock.today()
    body = text_of(carer.get(today_url(people)))
    assert 'name="outcome"' in occurrence_html(body, carers_action, today)
    # The person's own action is shown to the carer but not markable by them.
    assert occurrence_html(body, mine, today)
    assert 'name="outcome"' not in occurrence_html(body, mine, today)

    response = post(
        carer, mark_url(people, carers_action), {"outcome": "done", "day": today.isoformat()}
    )
    assert response.status_code == 303
    response = post(
        carer,
        mark_url(people, carers_action),
        {"outcome": "skipped", "day": today.isoformat()},
        headers=HX,
    )
    assert response.status_code == 200
    assert [m["author_id"] for m in marks_stored(people)] == [people.carer_id, people.carer_id]
    assert shown_outcome(text_of(carer.get(today_url(people))), carers_action, today) == "Skipped"


def test_a_carer_marks_an_action_owned_by_them_by_name(carer, people, goal):
    action = add_action(
        people,
        goal.id,
        "Collect prescription",
        Owner.CARER,
        Schedule(Repeat.ONCE, clock.today()),
        owner_user_id=people.carer_id,
        owner_name="Cara Carer",
    )
    response = post(
        carer, mark_url(people, action), {"outcome": "done", "day": clock.today().isoformat()}
    )
    assert response.status_code == 303


def test_a_carer_cannot_mark_the_persons_own_action(carer, people, mine):
    before = stored(people.app, people.record_id)
    today = clock.today().isoformat()
    assert post(carer, mark_url(people, mine), {"outcome": "done", "day": today}).status_code == 404
    response = post(carer, mark_url(people, mine), {"outcome": "done", "day": today}, headers=HX)
    assert response.status_code == 404
    assert carer.get(f"{mark_url(people, mine)}?day={today}").status_code == 404
    assert stored(people.app, people.record_id) == before


def test_a_carer_cannot_mark_an_action_owned_by_another_carer(app, people, goal, login_as):
    other = make_account(app, "carer2@example.com", "Colin Carer")
    with app.app_context():
        sharing.add_member(people.record_id, other.id, sharing.Role.CARER)
    action = add_action(
        people,
        goal.id,
        "Colin's job",
        Owner.CARER,
        Schedule(Repeat.DAILY, clock.today()),
        owner_user_id=other.id,
        owner_name="Colin Carer",
    )
    carer = login_as("carer@example.com")
    before = stored(people.app, people.record_id)
    today = clock.today().isoformat()
    assert (
        post(carer, mark_url(people, action), {"outcome": "done", "day": today}).status_code == 404
    )
    assert stored(people.app, people.record_id) == before
    colin = login_as("carer2@example.com")
    assert (
        post(colin, mark_url(people, action), {"outcome": "done", "day": today}).status_code == 303
    )


def test_a_carer_without_the_actions_category_cannot_mark_or_see_actions(
    people, carers_action, login_as
):
    set_carer_categories(people, frozenset({sharing.Category.PLAN, sharing.Category.SUPPORT}))
    carer = login_as("carer@example.com")
    body = text_of(carer.get(today_url(people)))
    assert "Help with the evening routine" not in body
    before = stored(people.app, people.record_id)
    today = clock.today().isoformat()
    assert (
        post(carer, mark_url(people, carers_action), {"outcome": "done", "day": today}).status_code
        == 404
    )
    response = post(
        carer, mark_url(people, carers_action), {"outcome": "done", "day": today}, headers=HX
    )
    assert response.status_code == 404
    assert stored(people.app, people.record_id) == before


def test_the_coordinator_marks_only_actions_the_coordinator_owns(coordinator, people, goal, mine):
    action = add_action(
        people, goal.id, "Refer to therapy", Owner.COORDINATOR, Schedule(Repeat.ONCE, clock.today())
    )
    today = clock.today().isoformat()
    assert (
        post(coordinator, mark_url(people, action), {"outcome": "done", "day": today}).status_code
        == 303
    )
    assert (
        post(coordinator, mark_url(people, mine), {"outcome": "done", "day": today}).status_code
        == 404
    )
    assert [m["data"]["action_id"] for m in marks_stored(people)] == [action.id]


def test_someone_with_no_part_in_the_record_cannot_mark(app, people, mine, login_as):
    make_account(app, "stranger@example.com", "Stan Stranger")
    stranger = login_as("stranger@example.com")
    today = clock.today().isoformat()
    assert (
        post(stranger, mark_url(people, mine), {"outcome": "done", "day": today}).status_code == 404
    )
    assert marks_stored(people) == []


# --- days that cannot be marked ------------------------------------------------------------


@pytest.mark.parametrize(
    "day",
    [
        pytest.param(lambda t: (t + timedelta(days=1)).isoformat(), id="tomorrow"),
        pytest.param(lambda t: (t + timedelta(days=400)).isoformat(), id="next-year"),
        pytest.param(lambda t: (t - timedelta(days=11)).isoformat(), id="before-it-started"),
        pytest.param(lambda t: "", id="blank"),
        pytest.param(lambda t: "yesterday", id="words"),
        pytest.param(lambda t: "2026-02-30", id="impossible"),
        pytest.param(lambda t: None, id="missing"),
    ],
)
def test_a_day_the_action_cannot_be_marked_for_is_refused(owner, people, mine, day):
    value = day(clock.today())
    data = {"outcome": "done"} if value is None else {"outcome": "done", "day": value}
    before = stored(people.app, people.record_id)
    assert post(owner, mark_url(people, mine), data).status_code == 404
    assert post(owner, mark_url(people, mine), data, headers=HX).status_code == 404
    assert stored(people.app, people.record_id) == before


def test_a_day_a_weekly_action_does_not_fall_on_is_refused(owner, people, goal):
    today = clock.today()
    weekly = add_action(
        people,
        goal.id,
        "Walking group",
        Owner.ME,
        Schedule(Repeat.WEEKLY, today - timedelta(days=14)),
    )
    off_day = today - timedelta(days=1)
    assert (
        post(
            owner, mark_url(people, weekly), {"outcome": "done", "day": off_day.isoformat()}
        ).status_code
        == 404
    )
    assert owner.get(f"{mark_url(people, weekly)}?day={off_day.isoformat()}").status_code == 404
    on_day = today - timedelta(days=7)
    assert (
        post(
            owner, mark_url(people, weekly), {"outcome": "done", "day": on_day.isoformat()}
        ).status_code
        == 303
    )
    assert len(marks_stored(people)) == 1


def test_a_finished_action_cannot_be_marked_after_its_last_day(owner, people, goal):
    today = clock.today()
    ended = add_action(
        people,
        goal.id,
        "Course of tablets",
        Owner.ME,
        Schedule(Repeat.DAILY, today - timedelta(days=5), until=today - timedelta(days=2)),
    )
    data = {"outcome": "done", "day": (today - timedelta(days=1)).isoformat()}
    assert post(owner, mark_url(people, ended), data).status_code == 404


# --- bad marks ---------------------------------------------------------------------------


@pytest.mark.parametrize("outcome", ["", "finished", "DONE", "done ", None])
def test_an_unknown_outcome_is_refused_without_javascript(owner, people, mine, outcome):
    data = {"day": clock.today().isoformat()}
    if outcome is not None:
        data["outcome"] = outcome
    before = stored(people.app, people.record_id)
    response = post(owner, mark_url(people, mine), data)
    assert_problem(response, "Select done, missed or skipped")
    assert "<html" in text_of(response)
    assert stored(people.app, people.record_id) == before


def test_an_unknown_outcome_is_refused_with_htmx_in_the_occurrence(owner, people, mine):
    before = stored(people.app, people.record_id)
    response = post(
        owner,
        mark_url(people, mine),
        {"outcome": "great", "day": clock.today().isoformat()},
        headers=HX,
    )
    assert_problem(response, "Select done, missed or skipped")
    assert "HX-Request" in response.headers["Vary"]
    assert text_of(response).lstrip().startswith('<li class="app-occurrence"')
    assert stored(people.app, people.record_id) == before


def test_a_note_that_is_too_long_is_refused(owner, people, mine):
    before = stored(people.app, people.record_id)
    data = {"outcome": "done", "day": clock.today().isoformat(), "note": "x" * 501}
    assert_problem(
        post(owner, mark_url(people, mine), data), "Your note must be 500 characters or fewer"
    )
    assert_problem(
        post(owner, mark_url(people, mine), data, headers=HX),
        "Your note must be 500 characters or fewer",
    )
    assert stored(people.app, people.record_id) == before


def test_a_mark_without_a_csrf_token_is_refused(owner, people, mine):
    response = owner.post(
        mark_url(people, mine), data={"outcome": "done", "day": clock.today().isoformat()}
    )
    assert response.status_code == 400
    assert marks_stored(people) == []


def test_a_mark_replayed_from_the_offline_outbox_is_stored_once(owner, people, mine):
    data = {"outcome": "done", "day": clock.today().isoformat(), "client_key": "k" * 20}
    assert post(owner, mark_url(people, mine), data).status_code == 303
    assert post(owner, mark_url(people, mine), data, headers=HX).status_code == 200
    assert len(marks_stored(people)) == 1


def test_a_next_address_on_another_site_is_ignored(owner, people, mine):
    data = {"outcome": "done", "day": clock.today().isoformat(), "next": "https://evil.example/"}
    response = post(owner, mark_url(people, mine), data)
    assert response.status_code == 303
    assert response.headers["Location"].endswith(today_url(people))


# --- the clocks changing --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("utc", "uk_day", "weekday_action_due"),
    [
        # 23:30 GMT on Saturday 28 March: still Saturday.
        (datetime(2026, 3, 28, 23, 30, tzinfo=UTC), date(2026, 3, 28), 5),
        # 23:30 UTC on Sunday 29 March is 00:30 BST on Monday 30 March.
        (datetime(2026, 3, 29, 23, 30, tzinfo=UTC), date(2026, 3, 30), 0),
        # 00:30 UTC on Sunday 25 October is 01:30 BST, before the clocks go back.
        (datetime(2026, 10, 25, 0, 30, tzinfo=UTC), date(2026, 10, 25), 6),
        # 23:30 UTC on 25 October is 23:30 GMT: still Sunday.
        (datetime(2026, 10, 25, 23, 30, tzinfo=UTC), date(2026, 10, 25), 6),
        # 23:30 UTC on Saturday 24 October is 00:30 BST on Sunday.
        (datetime(2026, 10, 24, 23, 30, tzinfo=UTC), date(2026, 10, 25), 6),
    ],
)
def test_today_follows_the_uk_calendar_day_when_the_clocks_change(
    monkeypatch, people, goal, login_as, utc, uk_day, weekday_action_due
):
    Clock(monkeypatch, utc)
    start = date(2026, 1, 1)
    by_weekday = {
        wd: add_action(
            people,
            goal.id,
            f"Weekly on day {wd}",
            Owner.ME,
            Schedule(Repeat.WEEKLY, start, weekdays=(wd,), at=time(21, 30)),
        )
        for wd in range(7)
    }
    owner = login_as("owner@example.com")
    body = text_of(owner.get(today_url(people)))
    assert f"Today, {uk_day.day} {uk_day:%B %Y}" in body
    due = by_weekday[weekday_action_due]
    assert "21:30" in occurrence_html(body, due, uk_day)
    for wd, action in by_weekday.items():
        if wd != weekday_action_due:
            assert occurrence_html(body, action, uk_day) == ""

    response = post(owner, mark_url(people, due), {"outcome": "done", "day": uk_day.isoformat()})
    assert response.status_code == 303
    assert shown_outcome(text_of(owner.get(today_url(people))), due, uk_day) == "Done"
    tomorrow = uk_day + timedelta(days=1)
    assert (
        post(
            owner, mark_url(people, due), {"outcome": "done", "day": tomorrow.isoformat()}
        ).status_code
        == 404
    )
