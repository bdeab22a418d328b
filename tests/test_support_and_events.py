# ruff: noqa: F811 (the shared fixtures are imported from test_logs and used as arguments)
"""The carer's support log (given, missed, observations) and care events.

The carer logs through the forms on a phone; the person sees everything in the
support log; the coordinator sees it while the person shares it with them.
"""

from __future__ import annotations

import pytest

from tracker import logs
from tracker.logs import EventType
from tracker.roles import Category

from .conftest import send, text_of, url
from .test_logs import (  # noqa: F401 (fixtures)
    _share,
    assert_refused,
    disk_entries,
    extras,
    only,
    stranger,
)

# --- support given, missed, and observations -------------------------------------------------


def test_the_carer_records_support_given_with_how_long_and_which_action(
    people, extras, owner, carer
):
    form = text_of(carer.get(url(people, "/support/new?kind=given")))
    assert "Walk with Cara" in form  # the plan's actions to choose from

    response = send(
        carer,
        url(people, "/support/new"),
        {
            "kind": "given",
            "what": "Walked to the shop and back",
            "minutes": "45",
            "action_id": extras.action,
            "when": "2026-11-20T10:30",
        },
    )

    assert response.status_code == 303
    assert response.headers["Location"].endswith(url(people, "/support"))
    entry = only(disk_entries(people.app, people.record_id, "support"))
    assert entry["author_id"] == people.carer_id
    assert entry["occurred_at"] == "2026-11-20T10:30:00+00:00"
    assert entry["data"] == {
        "kind": "given",
        "what": "Walked to the shop and back",
        "minutes": 45,
        "action_id": extras.action,
        "reason": None,
        "reason_text": "",
    }
    page = text_of(owner.get(url(people, "/support")))
    assert "Walked to the shop and back (45 minutes)" in page
    assert "logged by Cara Carer" in page


@pytest.mark.parametrize(
    ("reason", "reason_text", "shown"),
    [
        ("carer_unwell", "", "Reason: Carer unwell"),
        ("pa_on_leave", "", "Reason: PA on leave"),
        ("other", "The car broke down", "Reason: The car broke down"),
    ],
)
def test_the_carer_records_missed_support_with_the_reason(
    people, owner, carer, reason, reason_text, shown
):
    response = send(
        carer,
        url(people, "/support/new"),
        {
            "kind": "missed",
            "what": "Morning visit",
            "reason": reason,
            "reason_text": reason_text,
            "minutes": "30",
        },
    )
    assert response.status_code == 303
    data = only(disk_entries(people.app, people.record_id, "support"))["data"]
    assert (data["kind"], data["reason"], data["reason_text"], data["minutes"]) == (
        "missed",
        reason,
        reason_text,
        None,
    )
    page = text_of(owner.get(url(people, "/support")))
    assert "Missed" in page
    assert shown in page


def test_the_carer_adds_an_observation(people, owner, carer):
    response = send(
        carer,
        url(people, "/support/new"),
        {"kind": "observation", "what": "More breathless on the stairs today", "minutes": "5"},
    )
    assert response.status_code == 303
    data = only(disk_entries(people.app, people.record_id, "support"))["data"]
    assert (data["kind"], data["minutes"], data["reason"]) == ("observation", None, None)
    page = text_of(owner.get(url(people, "/support")))
    assert "Noticed" in page
    assert "More breathless on the stairs today" in page


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"kind": "", "what": "Visit"}, "Select what you want to record"),
        ({"kind": "bribe", "what": "Visit"}, "Select what you want to record"),
        ({"kind": "given", "what": ""}, "Enter what the support was"),
        ({"kind": "given", "what": "w" * 1001}, "1,000 characters or fewer"),
        ({"kind": "given", "what": "Visit", "minutes": "0"}, "from 1 to 1440"),
        ({"kind": "given", "what": "Visit", "minutes": "1441"}, "from 1 to 1440"),
        ({"kind": "given", "what": "Visit", "minutes": "-5"}, "from 1 to 1440"),
        ({"kind": "given", "what": "Visit", "minutes": "1.5"}, "from 1 to 1440"),
        ({"kind": "given", "what": "Visit", "minutes": "NaN"}, "from 1 to 1440"),
        ({"kind": "given", "what": "Visit", "minutes": "half an hour"}, "from 1 to 1440"),
        ({"kind": "given", "what": "Visit", "minutes": "9" * 400}, "from 1 to 1440"),
        ({"kind": "missed", "what": "Visit"}, "Select why the support was missed"),
        ({"kind": "missed", "what": "Visit", "reason": "bored"}, "Select why the support"),
        (
            {"kind": "missed", "what": "Visit", "reason": "other"},
            "Enter the reason the support was missed",
        ),
        (
            {"kind": "missed", "what": "Visit", "reason": "other", "reason_text": "r" * 201},
            "200 characters or fewer",
        ),
        ({"kind": "given", "what": "Visit", "action_id": "nope"}, "Select an action from the list"),
        ({"kind": "given", "what": "Visit", "when": "2099-01-01T10:00"}, "in the future"),
        ({"kind": "given", "what": "Visit", "when": "31/12/2025"}, "Enter a date and time"),
    ],
)
def test_bad_support_is_refused_with_a_clear_message_and_nothing_is_stored(
    people, carer, data, message
):
    assert_refused(send(carer, url(people, "/support/new"), data), message)
    assert disk_entries(people.app, people.record_id) == []


def test_support_for_another_persons_action_is_refused(people, extras, carer, stranger):
    response = send(
        carer,
        url(people, "/support/new"),
        {"kind": "given", "what": "Visit", "action_id": stranger.extras.action},
    )
    assert_refused(response, "Select an action from the list")
    assert disk_entries(people.app, people.record_id) == []


@pytest.mark.parametrize("minutes", ["1", "999", "1000", "1440"])
def test_support_lasting_from_a_minute_to_a_whole_day_is_accepted(people, carer, minutes):
    response = send(
        carer, url(people, "/support/new"), {"kind": "given", "what": "Stayed", "minutes": minutes}
    )
    assert response.status_code == 303, text_of(response)[:300]
    assert only(disk_entries(people.app, people.record_id))["data"]["minutes"] == int(minutes)


def test_the_support_form_starts_on_the_kind_asked_for(people, carer):
    for kind in ("given", "missed", "observation"):
        raw = carer.get(url(people, f"/support/new?kind={kind}")).get_data(as_text=True)
        assert f'value="{kind}" checked' in raw


# --- who sees the support log ----------------------------------------------------------------


def test_the_person_sees_all_support_and_the_coordinator_only_while_it_is_shared(
    people, owner, carer, coordinator
):
    send(
        carer,
        url(people, "/support/new"),
        {"kind": "missed", "what": "Visit", "reason": "pa_on_leave"},
    )
    assert "PA on leave" in text_of(owner.get(url(people, "/support")))
    assert "PA on leave" in text_of(coordinator.get(url(people, "/support")))
    assert "PA on leave" in text_of(coordinator.get(url(people, "/history")))

    _share(people, people.coordinator_id, set(), drop={Category.SUPPORT})

    assert coordinator.get(url(people, "/support")).status_code == 404
    assert "PA on leave" not in text_of(coordinator.get(url(people, "/history")))
    assert "PA on leave" in text_of(owner.get(url(people, "/support")))


def test_a_carer_whose_support_log_is_unshared_cannot_log_support(people, carer):
    _share(people, people.carer_id, set(), drop={Category.SUPPORT})
    assert carer.get(url(people, "/support/new")).status_code == 404
    response = send(carer, url(people, "/support/new"), {"kind": "given", "what": "Visit"})
    assert response.status_code == 404
    assert disk_entries(people.app, people.record_id) == []


def test_the_coordinator_cannot_record_support(people, coordinator):
    response = send(coordinator, url(people, "/support/new"), {"kind": "given", "what": "Visit"})
    assert response.status_code == 404
    assert "Record support given" not in text_of(coordinator.get(url(people, "/support")))
    assert disk_entries(people.app, people.record_id) == []


def test_two_carers_see_each_others_support_and_change_only_their_own(app, people, carer, login_as):
    from tracker import sharing
    from tracker.roles import Role

    from .conftest import make_account

    second = make_account(app, "pa@example.com", "Pat Assistant")
    with app.app_context():
        sharing.add_member(people.record_id, second.id, Role.CARER)
    pa = login_as("pa@example.com")
    send(carer, url(people, "/support/new"), {"kind": "given", "what": "Cara's visit"})
    send(pa, url(people, "/support/new"), {"kind": "given", "what": "Pat's visit"})
    page = text_of(pa.get(url(people, "/support")))
    assert "Cara's visit" in page
    assert "logged by Cara Carer" in page
    caras = next(
        e for e in disk_entries(app, people.record_id) if e["data"]["what"] == "Cara's visit"
    )
    assert pa.get(url(people, f"/entries/{caras['id']}/edit")).status_code == 404
    assert send(pa, url(people, f"/entries/{caras['id']}/delete")).status_code == 404


# --- care events -------------------------------------------------------------------------------


@pytest.mark.parametrize("event", list(EventType), ids=[e.value for e in EventType])
def test_each_care_event_is_recorded_with_a_date_and_a_note(people, owner, carer, event):
    response = send(
        carer,
        url(people, "/events/new"),
        {"event": event.value, "when": "2026-11-18T14:00", "note": f"About the {event.label}"},
    )
    entry = only(disk_entries(people.app, people.record_id, "event"))
    assert entry["data"] == {"event": event.value, "note": f"About the {event.label}"}
    assert entry["occurred_at"] == "2026-11-18T14:00:00+00:00"
    if event.offers_early_review:
        assert response.status_code == 200
        page = text_of(response)
        assert "Do you need an early review of your plan?" in page
        reason = "hospital_discharge" if event is EventType.DISCHARGE else "new_diagnosis"
        assert url(people, f"/reviews/request?reason={reason}") in page
    else:
        assert response.status_code == 303
        assert response.headers["Location"].endswith(url(people, "/history"))
    history = text_of(owner.get(url(people, "/history")))
    assert event.label in history
    assert "18 November 2026 at 2:00pm" in history


def test_only_a_discharge_and_a_new_diagnosis_offer_an_early_review():
    assert {e for e in EventType if e.offers_early_review} == {
        EventType.DISCHARGE,
        EventType.NEW_DIAGNOSIS,
    }
    assert {e for e in EventType if e.unplanned_care} == {
        EventType.A_AND_E,
        EventType.ADMISSION,
        EventType.DISCHARGE,
        EventType.OUT_OF_HOURS_GP,
        EventType.CRISIS_TEAM,
        EventType.AMBULANCE,
    }


def test_the_person_records_events_too(people, owner):
    response = send(owner, url(people, "/events/new"), {"event": "new_diagnosis"})
    assert response.status_code == 200
    assert "Ask for an early review" in text_of(response)
    assert only(disk_entries(people.app, people.record_id, "event"))["author_id"] == people.owner_id


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"event": ""}, "Select what happened"),
        ({"event": "holiday"}, "Select what happened"),
        ({"event": "a_and_e", "note": "n" * 1001}, "1,000 characters or fewer"),
        ({"event": "a_and_e", "when": "2099-12-31T23:59"}, "in the future"),
        ({"event": "a_and_e", "when": "1999-12-31T23:59"}, "2000 or later"),
        ({"event": "a_and_e", "when": "2026-02-30T10:00"}, "Enter a date and time"),
    ],
)
def test_a_bad_event_is_refused_with_a_clear_message_and_nothing_is_stored(
    people, carer, data, message
):
    assert_refused(send(carer, url(people, "/events/new"), data), message)
    assert disk_entries(people.app, people.record_id) == []


def test_the_coordinator_cannot_record_events_but_sees_them_with_the_plan(
    people, carer, coordinator
):
    assert coordinator.get(url(people, "/events/new")).status_code == 404
    assert send(coordinator, url(people, "/events/new"), {"event": "a_and_e"}).status_code == 404
    send(carer, url(people, "/events/new"), {"event": "crisis_team", "note": "Came at night"})
    assert "Came at night" in text_of(coordinator.get(url(people, "/history")))


def test_a_carer_who_does_not_see_the_plan_cannot_record_events(people, carer):
    _share(people, people.carer_id, set(), drop={Category.PLAN})
    assert send(carer, url(people, "/events/new"), {"event": "a_and_e"}).status_code == 404
    assert disk_entries(people.app, people.record_id) == []


def test_an_event_is_changed_by_its_author(people, carer):
    send(carer, url(people, "/events/new"), {"event": "a_and_e", "note": "Fall"})
    entry = only(disk_entries(people.app, people.record_id, "event"))
    response = send(
        carer,
        url(people, f"/entries/{entry['id']}/edit"),
        {"event": "admission", "note": "Fall, then admitted", "when": "2026-11-19T08:00"},
    )
    assert response.status_code == 303
    changed = only(disk_entries(people.app, people.record_id, "event"))
    assert changed["data"] == {"event": "admission", "note": "Fall, then admitted"}
    assert changed["occurred_at"] == "2026-11-19T08:00:00+00:00"
    assert "edited_at" in changed


def test_changing_an_event_to_a_made_up_type_is_refused(people, carer):
    send(carer, url(people, "/events/new"), {"event": "a_and_e"})
    entry = only(disk_entries(people.app, people.record_id, "event"))
    response = send(carer, url(people, f"/entries/{entry['id']}/edit"), {"event": "party"})
    assert_refused(response, "Select what happened")
    assert only(disk_entries(people.app, people.record_id, "event"))["data"]["event"] == "a_and_e"


def test_the_domain_refuses_support_and_events_that_the_forms_refuse(people):
    with people.app.app_context():
        with pytest.raises(logs.InvalidEntry):
            logs.record_support(
                people.record_id,
                author_id=people.carer_id,
                kind=logs.SupportKind.GIVEN,
                what="x",
                minutes=24 * 60 + 1,
            )
        with pytest.raises(logs.InvalidEntry):
            logs.record_event(
                people.record_id,
                author_id=people.carer_id,
                event=EventType.A_AND_E,
                note="n" * (logs.MAX_NOTE + 1),
            )
    assert disk_entries(people.app, people.record_id) == []
