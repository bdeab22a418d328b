"""Early review requests, through their whole life: asked, acknowledged, scheduled or answered.

The person, or a carer the person shares the plan with, asks; the coordinator
acknowledges, then sets a date (which becomes the plan's next review) or replies
with a reason. Every step is timestamped and shown to the person and the carer.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from tracker import reviews, sharing
from tracker.reviews import Reason, RequestStateError, State, Urgency
from tracker.roles import Category, Role

from . import test_reviews as base
from .conftest import assert_problem, make_account, send, text_of, url
from .factories import create_record
from .test_reviews import (
    NOW,
    TODAY,
    Rec,
    date_fields,
    visible_text,
)

frozen = base.frozen
rec = base.rec
owner = base.owner
carer = base.carer
coordinator = base.coordinator


def ask(client, people, **overrides):
    data = {
        "reason": "hospital_discharge",
        "what_changed": "Home from hospital with a new inhaler.",
        "urgency": "week",
    }
    data.update(overrides)
    return send(client, url(people, "/reviews/request"), data)


def requests_of(rec: Rec) -> list[reviews.ReviewRequest]:
    return rec.run(reviews.list_requests, rec.id)


def the_request(rec: Rec) -> reviews.ReviewRequest:
    [found] = requests_of(rec)
    return found


def answer_url(people, request_id: str) -> str:
    return url(people, f"/reviews/requests/{request_id}")


def acknowledge(client, people, request_id: str):
    return send(client, answer_url(people, request_id), {"step": "acknowledge"})


def schedule(client, people, request_id: str, on: date | None, note: str = ""):
    return send(
        client,
        answer_url(people, request_id),
        {"step": "schedule", **date_fields("schedule-review_on", on), "schedule-note": note},
    )


def answer(client, people, request_id: str, reply: str):
    return send(client, answer_url(people, request_id), {"step": "answer", "answer-reply": reply})


def asked(rec: Rec, by: str | None = None) -> reviews.ReviewRequest:
    return rec.run(
        reviews.request_review,
        rec.id,
        reason=Reason.NOT_WORKING,
        what_changed="The PA keeps not coming.",
        urgency=Urgency.MONTH,
        by=by or rec.people.owner_id,
    )


# --- asking ---------------------------------------------------------------------------------


def test_the_person_asks_for_an_early_review(rec: Rec, owner, people):
    form = owner.get(url(people, "/reviews/request"))
    assert form.status_code == 200
    assert "Ask for an early review" in text_of(form)
    response = ask(owner, people)
    assert response.status_code == 303
    assert response.headers["Location"].endswith(url(people, "/reviews"))
    found = the_request(rec)
    assert found.reason is Reason.HOSPITAL_DISCHARGE
    assert found.what_changed == "Home from hospital with a new inhaler."
    assert found.urgency is Urgency.WEEK
    assert found.state is State.REQUESTED
    assert found.requested_by == people.owner_id
    assert found.requested_at == NOW.isoformat()
    assert [(s.state, s.at, s.by) for s in found.steps] == [
        (State.REQUESTED, NOW.isoformat(), people.owner_id)
    ]
    page = visible_text(owner.get(url(people, "/reviews")))
    assert "has been sent to the care coordinator" in page
    assert "Coming out of hospital Requested" in page
    assert "Requested, 30 June 2026 at 12:00pm, by Olive Owner" in page
    assert rec.digest().open_requests == 1


def test_a_carer_the_plan_is_shared_with_can_ask(rec: Rec, carer, people):
    assert ask(carer, people, reason="support_change", urgency="when_suits").status_code == 303
    found = the_request(rec)
    assert (found.requested_by, found.reason, found.urgency) == (
        people.carer_id,
        Reason.SUPPORT_CHANGE,
        Urgency.WHEN_SUITS,
    )


def carer_membership(rec: Rec) -> sharing.Membership:
    [m] = [m for m in rec.run(sharing.members_of_record, rec.id) if m.role is Role.CARER]
    return m


def test_a_carer_without_the_plan_shared_cannot_ask(rec: Rec, carer, people):
    member = carer_membership(rec)
    rec.run(
        sharing.set_categories,
        rec.id,
        member.id,
        frozenset({Category.ACTIONS, Category.SUPPORT, Category.MOOD}),
    )
    assert carer.get(url(people, "/reviews/request")).status_code == 404
    assert ask(carer, people).status_code == 404
    assert requests_of(rec) == []


def test_the_coordinator_cannot_ask_for_an_early_review(rec: Rec, coordinator, people):
    assert coordinator.get(url(people, "/reviews/request")).status_code == 404
    assert ask(coordinator, people).status_code == 404
    assert requests_of(rec) == []


def test_someone_not_on_the_record_cannot_ask(rec: Rec, app, people, login_as):
    make_account(app, "stranger@example.com", "Stan Stranger")
    stranger = login_as("stranger@example.com")
    assert ask(stranger, people).status_code == 404
    assert requests_of(rec) == []


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"reason": ""}, "Select why you want an early review"),
        ({"reason": "boredom"}, "Select why you want an early review"),
        ({"what_changed": "  "}, "Say what has changed"),
        ({"what_changed": "x" * 2001}, "2,000 characters or fewer"),
        ({"urgency": ""}, "Select how soon you would like the review"),
        ({"urgency": "yesterday"}, "Select how soon you would like the review"),
    ],
)
def test_a_request_with_bad_input_is_refused_and_nothing_is_stored(
    rec: Rec, owner, people, overrides, message
):
    assert_problem(ask(owner, people, **overrides), message)
    assert requests_of(rec) == []
    assert rec.digest().open_requests == 0


def test_an_offer_from_a_warning_or_event_chooses_the_reason(rec: Rec, owner, people):
    body = owner.get(url(people, "/reviews/request?reason=new_diagnosis")).get_data(as_text=True)
    assert re.search(r'value="new_diagnosis"[^>]*checked', body)
    assert not re.search(r'value="hospital_discharge"[^>]*checked', body)


# --- the coordinator's steps ------------------------------------------------------------------


def test_the_whole_life_of_a_request_that_is_scheduled(
    rec: Rec, frozen, carer, coordinator, people, login_as
):
    assert ask(carer, people).status_code == 303
    request_id = the_request(rec).id

    # The coordinator is alerted on the caseload and on the summary.
    caseload = visible_text(coordinator.get("/caseload"))
    assert "1 waiting" in caseload
    summary = coordinator.get(url(people, "/summary")).get_data(as_text=True)
    assert answer_url(people, request_id) in summary
    page = coordinator.get(answer_url(people, request_id))
    assert page.status_code == 200
    assert "Acknowledge request" in text_of(page)
    assert "Home from hospital with a new inhaler." in text_of(page)

    # Sessions end after 30 minutes unused, so the clock moves in smaller steps.
    frozen.advance(minutes=20)
    response = acknowledge(coordinator, people, request_id)
    assert response.status_code == 303
    assert response.headers["Location"].endswith(answer_url(people, request_id))
    found = the_request(rec)
    assert found.state is State.ACKNOWLEDGED
    assert found.steps[-1].at == (NOW + timedelta(minutes=20)).isoformat()
    assert found.steps[-1].by == people.coordinator_id
    assert rec.digest().open_requests == 1  # acknowledged is still waiting for an answer
    page = text_of(coordinator.get(answer_url(people, request_id)))
    assert "Acknowledge request" not in page and "Set a review date" in page

    frozen.advance(minutes=20)
    response = schedule(coordinator, people, request_id, date(2026, 7, 10), "See you then.")
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/caseload")
    found = the_request(rec)
    assert found.state is State.SCHEDULED
    assert found.review_on == date(2026, 7, 10)
    assert [(s.state, s.at) for s in found.steps] == [
        (State.REQUESTED, NOW.isoformat()),
        (State.ACKNOWLEDGED, (NOW + timedelta(minutes=20)).isoformat()),
        (State.SCHEDULED, (NOW + timedelta(minutes=40)).isoformat()),
    ]
    # It is now the plan's next review, everywhere.
    assert rec.get_plan().next_review == date(2026, 7, 10)
    assert rec.digest().next_review == date(2026, 7, 10)
    assert rec.digest().open_requests == 0
    caseload = visible_text(coordinator.get("/caseload"))
    assert "10 July 2026" in caseload and "1 waiting" not in caseload

    # The person and the carer (signed in afresh: the clock moved on) see each step and its time.
    for client in (login_as("owner@example.com"), login_as("carer@example.com")):
        page = visible_text(client.get(url(people, "/reviews")))
        assert "Scheduled Review on 10 July 2026" in page
        assert "Requested, 30 June 2026 at 12:00pm, by Cara Carer" in page
        assert "Acknowledged, 30 June 2026 at 12:20pm, by Cody Coordinator" in page
        assert "Scheduled, 30 June 2026 at 12:40pm, by Cody Coordinator: See you then." in page
        assert "The next review is due on 10 July 2026" in page


def test_a_request_answered_with_a_reason(rec: Rec, frozen, coordinator, people, login_as):
    rec.plan(next_review=date(2026, 9, 1))
    asked(rec)
    request_id = the_request(rec).id
    frozen.advance(minutes=15)
    assert acknowledge(coordinator, people, request_id).status_code == 303
    frozen.advance(minutes=15)
    response = answer(coordinator, people, request_id, "Your review is in 2 months; call me.")
    assert response.status_code == 303
    found = the_request(rec)
    assert found.state is State.ANSWERED
    assert found.reply == "Your review is in 2 months; call me."
    assert found.review_on is None
    assert [s.at for s in found.steps] == [
        NOW.isoformat(),
        (NOW + timedelta(minutes=15)).isoformat(),
        (NOW + timedelta(minutes=30)).isoformat(),
    ]
    assert rec.get_plan().next_review == date(2026, 9, 1)  # unchanged
    assert rec.digest().open_requests == 0
    for client in (login_as("owner@example.com"), login_as("carer@example.com")):
        page = visible_text(client.get(url(people, "/reviews")))
        assert "Answered" in page
        assert "Reply: Your review is in 2 months; call me." in page
        assert "Acknowledged, 30 June 2026 at 12:15pm, by Cody Coordinator" in page
        assert "Answered, 30 June 2026 at 12:30pm, by Cody Coordinator" in page


def test_a_request_can_be_scheduled_or_answered_without_acknowledging_first(
    rec: Rec, coordinator, people
):
    first, second = asked(rec), asked(rec)
    assert schedule(coordinator, people, first.id, date(2026, 7, 1)).status_code == 303
    assert answer(coordinator, people, second.id, "Not needed now.").status_code == 303
    states = {r.id: r.state for r in requests_of(rec)}
    assert states == {first.id: State.SCHEDULED, second.id: State.ANSWERED}


@pytest.mark.parametrize(
    ("steps_before", "step"),
    [
        (["answer"], "acknowledge"),  # acknowledging an answered request
        (["answer"], "schedule"),
        (["answer"], "answer"),
        (["schedule"], "acknowledge"),
        (["schedule"], "answer"),
        (["schedule"], "schedule"),
        (["acknowledge"], "acknowledge"),
    ],
)
def test_invalid_steps_are_refused_and_change_nothing(rec: Rec, people, steps_before, step):
    request = asked(rec)
    by = people.coordinator_id
    do = {
        "acknowledge": lambda: reviews.acknowledge_request(rec.id, request.id, by=by),
        "schedule": lambda: reviews.schedule_request(
            rec.id, request.id, review_on=date(2026, 8, 1), by=by
        ),
        "answer": lambda: reviews.answer_request(rec.id, request.id, by=by, reply="No"),
    }
    for earlier in steps_before:
        rec.run(do[earlier])
    before = the_request(rec)
    plan_before = rec.get_plan()
    with pytest.raises(RequestStateError):
        rec.run(do[step])
    assert the_request(rec) == before
    assert rec.get_plan() == plan_before


def test_acknowledging_an_answered_request_through_the_page_is_refused(
    rec: Rec, coordinator, people
):
    request = asked(rec)
    assert answer(coordinator, people, request.id, "Not needed now.").status_code == 303
    before = the_request(rec)
    response = acknowledge(coordinator, people, request.id)
    assert response.status_code == 303
    assert response.headers["Location"].endswith(answer_url(people, request.id))
    assert the_request(rec) == before
    page = text_of(coordinator.get(answer_url(people, request.id)))
    assert "This request has already been dealt with." in page
    assert "Acknowledge request" not in page and "Set a review date" not in page
    response = schedule(coordinator, people, request.id, date(2026, 8, 1))
    assert response.status_code == 303
    assert the_request(rec) == before
    assert rec.get_plan().next_review is None


@pytest.mark.parametrize(
    ("on", "message"),
    [
        (None, "Enter the date of the review"),
        (TODAY - timedelta(days=1), "The date of the review must be today or in the future"),
    ],
)
def test_scheduling_needs_a_date_from_today_on(rec: Rec, coordinator, people, on, message):
    request = asked(rec)
    assert_problem(schedule(coordinator, people, request.id, on), message)
    assert the_request(rec).state is State.REQUESTED
    assert rec.get_plan().next_review is None


def test_scheduling_for_today_is_allowed(rec: Rec, coordinator, people):
    request = asked(rec)
    assert schedule(coordinator, people, request.id, TODAY).status_code == 303
    assert rec.get_plan().next_review == TODAY


@pytest.mark.parametrize(
    ("reply", "message"),
    [("", "Enter your reply, with the reason"), ("x" * 2001, "2,000 characters or fewer")],
)
def test_answering_needs_a_reply(rec: Rec, coordinator, people, reply, message):
    request = asked(rec)
    assert_problem(answer(coordinator, people, request.id, reply), message)
    assert the_request(rec).state is State.REQUESTED


@pytest.mark.parametrize("who", ["owner", "carer"])
def test_only_the_coordinator_answers(request, rec: Rec, people, who):
    client = request.getfixturevalue(who)
    asked_for = asked(rec)
    assert client.get(answer_url(people, asked_for.id)).status_code == 404
    assert acknowledge(client, people, asked_for.id).status_code == 404
    assert schedule(client, people, asked_for.id, date(2026, 8, 1)).status_code == 404
    assert the_request(rec).state is State.REQUESTED


def test_an_unknown_request_is_not_found(rec: Rec, coordinator, people):
    assert coordinator.get(answer_url(people, "nope")).status_code == 404
    assert acknowledge(coordinator, people, "nope").status_code == 404


def test_a_request_from_another_record_is_not_found_under_this_one(rec: Rec, coordinator, people):
    other = create_record(
        people.app,
        created_by=people.coordinator_id,
        name="Another Person",
        members={people.coordinator_id: Role.COORDINATOR},
    )
    theirs = rec.run(
        reviews.request_review,
        other.id,
        reason=Reason.OTHER,
        what_changed="Something",
        urgency=Urgency.WEEK,
        by=people.coordinator_id,
    )
    assert coordinator.get(answer_url(people, theirs.id)).status_code == 404
    assert acknowledge(coordinator, people, theirs.id).status_code == 404
    assert rec.run(reviews.get_request, other.id, theirs.id).state is State.REQUESTED


def test_recording_a_review_answers_the_open_requests(rec: Rec, coordinator, people):
    waiting, acknowledged, answered = asked(rec), asked(rec), asked(rec)
    rec.run(reviews.acknowledge_request, rec.id, acknowledged.id, by=people.coordinator_id)
    rec.run(reviews.answer_request, rec.id, answered.id, by=people.coordinator_id, reply="Earlier")
    response = send(coordinator, url(people, "/reviews/new"), base.review_form(date(2026, 6, 25)))
    assert response.status_code == 303
    found = {r.id: r for r in requests_of(rec)}
    for request_id in (waiting.id, acknowledged.id):
        assert found[request_id].state is State.ANSWERED
        assert found[request_id].reply == "Reviewed on 25 June 2026."
        assert found[request_id].steps[-1].by == people.coordinator_id
    assert found[answered.id].reply == "Earlier"
    assert len(found[answered.id].steps) == 2
    assert rec.digest().open_requests == 0


def test_the_caseload_counts_requests_until_they_are_dealt_with(rec: Rec, coordinator, people):
    first, second = asked(rec), asked(rec)
    assert "2 waiting" in visible_text(coordinator.get("/caseload"))
    acknowledge(coordinator, people, first.id)
    assert "2 waiting" in visible_text(coordinator.get("/caseload"))
    answer(coordinator, people, first.id, "No need.")
    assert "1 waiting" in visible_text(coordinator.get("/caseload"))
    schedule(coordinator, people, second.id, date(2026, 7, 2))
    page = visible_text(coordinator.get("/caseload"))
    assert "waiting" not in page
