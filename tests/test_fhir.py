"""FHIR R4: exporting a plan as a Bundle, and starting a record from one.

The export is checked with the R4 (4.0.1) models of ``fhir.resources`` 5.1, plus
the R4 codes those models leave unchecked; every reference must resolve inside
the bundle. A bundle exported here and imported as a new record must give back
its goals, their statuses and its actions. A hand-written bundle "from a clinical
system" must come in with what does not fit listed, and malformed input must be
refused with its problems listed and nothing written.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from fhir.resources.bundle import Bundle
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracker import (
    actions,
    clock,
    fhir,
    goals,
    invitations,
    logs,
    plans,
    records,
    sharing,
    trackers,
)
from tracker.actions import Outcome, Owner, Repeat, Schedule
from tracker.goals import GoalStatus
from tracker.plans import ContactRole
from tracker.roles import Category, Role
from tracker.store import StoreError

from .conftest import People, csrf_token, make_account

IMPORT = "/caseload/import-fhir"


def export_url(people: People) -> str:
    return f"/records/{people.record_id}/export/fhir"


def send(client: FlaskClient, data: dict):
    body = {**data, "csrf_token": csrf_token(client, IMPORT)}
    return client.post(IMPORT, data=body, content_type="multipart/form-data")


def upload(client: FlaskClient, content: bytes):
    return send(client, {"bundle_file": (io.BytesIO(content), "bundle.json")})


def record_ids(app: Flask) -> set[str]:
    from tracker.store import get_store

    with app.app_context():
        return {d["id"] for d in get_store().read(records.SCOPE).all(records.TABLE)}


def data_files(app: Flask) -> list[Path]:
    return sorted(p for p in Path(app.config["TRACKER_DATA_DIR"]).rglob("*") if p.is_file())


def resources(bundle: dict, kind: str) -> list[dict]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


# --- a full record ------------------------------------------------------------------------

TODAY = clock.today()
PAST = TODAY - timedelta(days=40)


@pytest.fixture
def full(people: People) -> People:
    """A plan with every part the export carries, goals in all five statuses, and logs."""
    rid, by = people.record_id, people.owner_id
    with people.app.app_context():
        plans.save_plan(
            rid,
            by=people.coordinator_id,
            sections={
                "what_matters": "Getting out to see my grandchildren",
                "warning_signs": "Breathless walking to the kitchen",
            },
            start_date=PAST,
            next_review=TODAY + timedelta(days=50),
            review_interval_months=6,
            signed_off_on=PAST,
            signed_off_by="Dr Patel",
        )
        plans.add_contact(
            rid, by=by, name="Sam Nurse", role=ContactRole.COORDINATOR, phone="0113 496 0000"
        )
        plans.add_contact(
            rid, by=by, name="Ann Owner", role=ContactRole.NEXT_OF_KIN, email="ann@example.com"
        )
        plans.add_contact(
            rid, by=by, name="Priya Shah", role=ContactRole.PROFESSIONAL, detail="Physiotherapist"
        )
        made = {}
        for status in GoalStatus:
            goal = goals.add_goal(
                rid,
                outcome=f"Goal that is {status.label.lower()}",
                by=by,
                need="Getting about",
                measure="Walk to the shop",
                importance=7,
            )
            if status is not GoalStatus.IN_PROGRESS:
                goals.set_goal_status(rid, goal.id, status, by=by, note=f"Now {status.value}")
            made[status] = goal
        # On hold after being achieved: the achievement status does not change.
        held = goals.add_goal(rid, outcome="Achieved, then on hold", by=by)
        goals.set_goal_status(rid, held.id, GoalStatus.ACHIEVED, by=by)
        goals.set_goal_status(rid, held.id, GoalStatus.ON_HOLD, by=by)
        goals.add_note(rid, made[GoalStatus.IN_PROGRESS].id, text="Managed the corner", by=by)
        goal_id = made[GoalStatus.IN_PROGRESS].id
        once = actions.add_action(
            rid,
            goal_id=goal_id,
            what="Ask the GP about a physio referral",
            owner=Owner.ME,
            schedule=Schedule(Repeat.ONCE, PAST + timedelta(days=1), at=time(9, 30)),
            confidence=4,
            support_needed="A lift to the surgery",
            barriers="Forgetting",
            strategies="A note on the fridge",
        )
        actions.mark_occurrence(rid, once, once.schedule.start, Outcome.DONE, by=by, today=TODAY)
        actions.add_action(
            rid,
            goal_id=goal_id,
            what="Walk to the end of the road",
            owner=Owner.ME,
            schedule=Schedule(Repeat.DAILY, PAST, interval=2),
        )
        actions.add_action(
            rid,
            goal_id=made[GoalStatus.ON_HOLD].id,
            what="Help with the shopping",
            owner=Owner.CARER,
            owner_user_id=people.carer_id,
            schedule=Schedule(
                Repeat.WEEKLY, PAST, until=TODAY + timedelta(days=90), weekdays=(0, 3)
            ),
        )
        actions.add_action(
            rid,
            goal_id=made[GoalStatus.ACHIEVED].id,
            what="Review the exercises",
            owner=Owner.OTHER,
            owner_name="Community physiotherapy",
            schedule=Schedule(Repeat.MONTHLY, PAST, interval=2, at=time(14, 0)),
        )
        actions.add_action(
            rid,
            goal_id=goal_id,
            what="Phone about the review",
            owner=Owner.COORDINATOR,
            schedule=Schedule(Repeat.ONCE, TODAY + timedelta(days=10)),
        )
        when = datetime.now(UTC) - timedelta(days=2)
        logs.record_mood(rid, author_id=by, score=2, note="Tired", occurred_at=when)
        logs.record_wellbeing(
            rid,
            author_id=by,
            answers={"satisfied": 6, "worthwhile": 7, "happy": 5, "anxious": 3},
            occurred_at=when,
        )
        pain = trackers.define_tracker(rid, name="Pain", kind=trackers.TrackerKind.SCALE)
        weight = trackers.define_tracker(
            rid, name="Weight", kind=trackers.TrackerKind.NUMBER, unit="kg"
        )
        slept = trackers.define_tracker(rid, name="Slept well", kind=trackers.TrackerKind.YES_NO)
        logs.record_reading(rid, author_id=by, tracker_id=pain.id, value=6, occurred_at=when)
        logs.record_reading(rid, author_id=by, tracker_id=weight.id, value=71.5, occurred_at=when)
        logs.record_reading(rid, author_id=by, tracker_id=slept.id, value=1, occurred_at=when)
    return people


def export(client: FlaskClient, people: People) -> dict:
    response = client.get(export_url(people))
    assert response.status_code == 200
    return json.loads(response.get_data(as_text=True))


# --- export -------------------------------------------------------------------------------

R4_CODES = {
    "Goal.lifecycleStatus": fhir.GOAL_LIFECYCLE,
    "CarePlan.status": fhir.CAREPLAN_STATUS,
    "activity.detail.status": fhir.ACTIVITY_STATUS,
    "Observation.status": {"registered", "preliminary", "final", "amended"},
}


def test_the_owner_downloads_a_bundle_that_passes_fhir_r4_validation(full, login_as):
    response = login_as("owner@example.com").get(export_url(full))
    assert response.status_code == 200
    assert response.mimetype == "application/fhir+json"
    assert response.headers["Content-Disposition"].startswith("attachment; filename=")
    assert "Olive" not in response.headers["Content-Disposition"]
    bundle = json.loads(response.get_data(as_text=True))

    parsed = Bundle(bundle)  # raises on any R4 structural error
    assert parsed.type == "collection"
    kinds = {e.resource.resource_type for e in parsed.entry}
    assert kinds == {"CarePlan", "Goal", "Observation", "Patient", "RelatedPerson", "Practitioner"}
    # R4 codes the models do not check.
    for goal in resources(bundle, "Goal"):
        assert goal["lifecycleStatus"] in R4_CODES["Goal.lifecycleStatus"]
    care_plan = resources(bundle, "CarePlan")[0]
    assert care_plan["status"] in R4_CODES["CarePlan.status"]
    assert care_plan["intent"] == "plan"
    assert all(
        a["detail"]["status"] in R4_CODES["activity.detail.status"] for a in care_plan["activity"]
    )
    assert {o["status"] for o in resources(bundle, "Observation")} == {"final"}

    def strings(value):
        if isinstance(value, dict):
            for v in value.values():
                yield from strings(v)
        elif isinstance(value, list):
            for v in value:
                yield from strings(v)
        elif isinstance(value, str):
            yield value

    # FHIR strings are never empty or only spaces.
    assert all(s.strip() for s in strings(bundle))


def test_a_record_with_nothing_in_it_yet_exports_a_valid_draft_plan(people, login_as):
    bundle = export(login_as("owner@example.com"), people)
    Bundle(bundle)
    (care_plan,) = resources(bundle, "CarePlan")
    assert care_plan["status"] == "draft"
    assert {e["resource"]["resourceType"] for e in bundle["entry"]} == {
        "CarePlan",
        "Patient",
        "RelatedPerson",
        "Practitioner",
    }
    assert resources(bundle, "Patient")[0]["name"] == [{"text": "Olive Owner"}]


def test_every_reference_in_the_export_resolves_inside_the_bundle(full, login_as):
    bundle = export(login_as("owner@example.com"), full)
    urls = {e["fullUrl"] for e in bundle["entry"]}
    assert len(urls) == len(bundle["entry"])

    def refs(value):
        if isinstance(value, dict):
            if isinstance(value.get("reference"), str):
                yield value["reference"]
            for v in value.values():
                yield from refs(v)
        elif isinstance(value, list):
            for v in value:
                yield from refs(v)

    found = list(refs(bundle))
    assert found
    for ref in found:
        assert ref in urls or ref == "#careteam", ref


def test_goal_statuses_follow_the_table_in_the_issue(full, login_as):
    bundle = export(login_as("owner@example.com"), full)
    by_outcome = {g["description"]["text"]: g for g in resources(bundle, "Goal")}

    def codes(outcome):
        goal = by_outcome[outcome]
        achievement = goal.get("achievementStatus", {}).get("coding", [{}])[0].get("code")
        return goal["lifecycleStatus"], achievement

    assert codes("Goal that is in progress") == ("active", "in-progress")
    assert codes("Goal that is achieved") == ("completed", "achieved")
    assert codes("Goal that is on hold") == ("on-hold", "in-progress")
    assert codes("Achieved, then on hold") == ("on-hold", "achieved")
    assert codes("Goal that is not achieved") == ("completed", "not-achieved")
    assert codes("Goal that is abandoned") == ("cancelled", None)
    assert by_outcome["Goal that is abandoned"]["statusReason"] == "Now abandoned"


def test_actions_become_care_plan_activities_with_who_when_and_the_extensions(full, login_as):
    bundle = export(login_as("owner@example.com"), full)
    care_plan = resources(bundle, "CarePlan")[0]
    by_what = {a["detail"]["description"]: a["detail"] for a in care_plan["activity"]}
    once = by_what["Ask the GP about a physio referral"]
    assert once["status"] == "completed"
    assert once["scheduledPeriod"]["start"].startswith((PAST + timedelta(days=1)).isoformat())
    assert "T09:30:00" in once["scheduledPeriod"]["start"]
    extensions = {e["url"].rsplit("/", 1)[1]: e for e in once["extension"]}
    assert extensions["action-confidence"]["valueInteger"] == 4
    assert extensions["action-support-needed"]["valueString"] == "A lift to the surgery"
    assert extensions["action-barriers"]["valueString"] == "Forgetting"
    weekly = by_what["Help with the shopping"]["scheduledTiming"]["repeat"]
    assert weekly["periodUnit"] == "wk"
    assert weekly["dayOfWeek"] == ["mon", "thu"]
    # The carer the action names is referenced; the display keeps the plan's own words.
    assert by_what["Help with the shopping"]["performer"][0]["display"] == "A carer"
    assert by_what["Phone about the review"]["status"] == "scheduled"
    carer = next(
        r for r in resources(bundle, "RelatedPerson") if r["name"][0]["text"] == "Cara Carer"
    )
    assert (
        by_what["Help with the shopping"]["performer"][0]["reference"] == f"urn:uuid:{carer['id']}"
    )


def test_mood_wellbeing_and_readings_become_observations_with_a_category_and_time(full, login_as):
    bundle = export(login_as("owner@example.com"), full)
    observations = resources(bundle, "Observation")
    assert len(observations) == 5
    for o in observations:
        assert o["category"][0]["coding"][0]["code"] == "survey"
        assert datetime.fromisoformat(o["effectiveDateTime"]).tzinfo is not None
    by_code = {o["code"]["text"]: o for o in observations}
    assert by_code["Mood"]["valueInteger"] == 2
    assert len(by_code["ONS personal wellbeing questions"]["component"]) == 4
    assert by_code["Weight"]["valueQuantity"] == {"value": 71.5, "unit": "kg"}
    assert by_code["Slept well"]["valueBoolean"] is True
    assert by_code["Pain"]["valueInteger"] == 6


def test_a_coordinator_export_leaves_out_mood_and_symptoms_unless_shared(full, login_as):
    coordinator = login_as("coord@example.com")
    codes = {o["code"]["text"] for o in resources(export(coordinator, full), "Observation")}
    assert codes == {"Mood", "ONS personal wellbeing questions", "Pain", "Weight", "Slept well"}
    with full.app.app_context():
        member = sharing.membership_for(full.coordinator_id, full.record_id)
        sharing.set_categories(full.record_id, member.id, frozenset({Category.PLAN}))
    bundle = export(coordinator, full)
    assert resources(bundle, "Observation") == []
    assert "activity" not in resources(bundle, "CarePlan")[0]
    assert len(resources(bundle, "Goal")) == 6
    # Who else can see the record is the person's business: the coordinator is named alone.
    members = [r["name"][0]["text"] for r in resources(bundle, "RelatedPerson")]
    assert "Cara Carer" not in members
    assert "Cara Carer" not in json.dumps(bundle)


@pytest.mark.parametrize("who", ["carer@example.com", "other@example.com", "coord2@example.com"])
def test_only_the_owner_and_their_coordinator_can_export(full, login_as, who):
    make_account(full.app, "other@example.com", "Oscar Other")
    make_account(full.app, "coord2@example.com", "Cleo Coordinator", coordinator=True)
    with full.app.app_context():
        other = records.create_record("Oscar Other", created_by="x", owner_id=None)
    response = login_as(who).get(export_url(full))
    assert response.status_code == 404
    assert login_as(who).get(f"/records/{other.id}/export/fhir").status_code == 404


def test_a_coordinator_without_the_plan_shared_gets_404(full, login_as):
    with full.app.app_context():
        member = sharing.membership_for(full.coordinator_id, full.record_id)
        sharing.set_categories(full.record_id, member.id, frozenset({Category.MOOD}))
    assert login_as("coord@example.com").get(export_url(full)).status_code == 404


# --- import -------------------------------------------------------------------------------


def _goal_summary(record_id: str) -> list[tuple]:
    return [
        (g.outcome, g.need, g.measure, g.importance, g.status) for g in goals.list_goals(record_id)
    ]


def _action_summary(record_id: str) -> list[tuple]:
    outcomes = {g.id: g.outcome for g in goals.list_goals(record_id)}
    return sorted(
        (
            outcomes[a.goal_id],
            a.what,
            a.owner,
            a.owner_name,
            a.schedule,
            a.confidence,
            a.support_needed,
            a.barriers,
            a.strategies,
        )
        for a in actions.list_actions(record_id)
    )


def test_a_fhir_export_imported_as_a_new_record_reproduces_goals_statuses_and_actions(
    full, login_as
):
    coordinator = login_as("coord@example.com")
    content = coordinator.get(export_url(full)).get_data()
    before = record_ids(full.app)

    response = upload(coordinator, content)
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    page = response.get_data(as_text=True)
    assert "Record started for Olive Owner" in page
    assert "Observation(s) not imported" in page
    (new_id,) = record_ids(full.app) - before
    with full.app.app_context():
        assert _goal_summary(new_id) == _goal_summary(full.record_id)
        assert _action_summary(new_id) == _action_summary(full.record_id)
        old, new = plans.get_plan(full.record_id), plans.get_plan(new_id)
        assert new.sections == old.sections
        assert (new.start_date, new.next_review, new.review_interval_months) == (
            old.start_date,
            old.next_review,
            old.review_interval_months,
        )
        assert (new.signed_off_on, new.signed_off_by) == (old.signed_off_on, old.signed_off_by)
        strip = [(c.name, c.role, c.detail, c.phone, c.email) for c in old.contacts]
        assert [(c.name, c.role, c.detail, c.phone, c.email) for c in new.contacts] == strip
        once = next(a for a in actions.list_actions(new_id) if a.what.startswith("Ask the GP"))
        occurrence = actions.get_occurrence(new_id, once, once.schedule.start)
        assert occurrence.outcome is Outcome.DONE
        assert sharing.membership_for(full.coordinator_id, new_id).role is Role.COORDINATOR
        assert goals.list_goals(new_id)[0].notes[0].text == "Managed the corner"
    # And the new record exports the same goals and activities again.
    again = export(coordinator, People(full.app, "", new_id, "", ""))
    first = json.loads(content)
    assert [g["lifecycleStatus"] for g in resources(again, "Goal")] == [
        g["lifecycleStatus"] for g in resources(first, "Goal")
    ]


CLINICAL_SYSTEM_BUNDLE = {
    "resourceType": "Bundle",
    "type": "searchset",
    "entry": [
        {
            "fullUrl": "https://ehr.example.org/fhir/Patient/p1",
            "resource": {
                "resourceType": "Patient",
                "id": "p1",
                "identifier": [
                    {"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9000000009"}
                ],
                "name": [{"given": ["Rita"], "family": "Jones"}],
                "birthDate": "1948-02-11",
            },
        },
        {
            "fullUrl": "https://ehr.example.org/fhir/CarePlan/cp1",
            "resource": {
                "resourceType": "CarePlan",
                "id": "cp1",
                "status": "active",
                "intent": "plan",
                "category": [{"text": "Personalised care and support plan"}],
                "subject": {"reference": "Patient/p1"},
                "period": {"start": "2026-01-05", "end": "2027-01-05"},
                "careTeam": [{"reference": "CareTeam/t1"}],
                "goal": [{"reference": "Goal/g1"}, {"reference": "Goal/g2"}],
                "addresses": [{"reference": "Condition/c1"}],
                "note": [{"text": "Discussed at home with daughter present."}],
                "activity": [
                    {
                        "detail": {
                            "status": "in-progress",
                            "code": {"text": "Attend pulmonary rehab twice weekly"},
                            "goal": [{"reference": "Goal/g1"}],
                            "performer": [{"reference": "Patient/p1"}],
                            "scheduledTiming": {
                                "repeat": {
                                    "boundsPeriod": {"start": "2026-01-12"},
                                    "frequency": 1,
                                    "period": 1,
                                    "periodUnit": "wk",
                                    "dayOfWeek": ["tue", "fri"],
                                    "timeOfDay": ["10:00:00"],
                                }
                            },
                        }
                    },
                    {
                        "detail": {
                            "status": "scheduled",
                            "description": "Nebuliser three times a day",
                            "goal": [{"reference": "Goal/g1"}],
                            "scheduledTiming": {
                                "repeat": {"frequency": 3, "period": 1, "periodUnit": "d"}
                            },
                        }
                    },
                    {"reference": {"reference": "ServiceRequest/sr1", "display": "Refer to OT"}},
                    {
                        "detail": {
                            "status": "not-started",
                            "description": "Home visit by the district nurse",
                            "goal": [{"reference": "Goal/g2"}],
                            "performer": [{"reference": "Practitioner/pr1"}],
                            "scheduledPeriod": {"start": "2026-02-03T14:30:00Z"},
                        }
                    },
                ],
            },
        },
        {
            "fullUrl": "https://ehr.example.org/fhir/CareTeam/t1",
            "resource": {
                "resourceType": "CareTeam",
                "id": "t1",
                "participant": [
                    {
                        "role": [{"text": "District nurse"}],
                        "member": {"reference": "Practitioner/pr1"},
                    },
                    {"member": {"reference": "RelatedPerson/rp1"}},
                ],
            },
        },
        {
            "fullUrl": "https://ehr.example.org/fhir/Practitioner/pr1",
            "resource": {
                "resourceType": "Practitioner",
                "id": "pr1",
                "name": [{"prefix": ["Ms"], "given": ["Jo"], "family": "Bell"}],
                "telecom": [{"system": "phone", "value": "0113 496 0001"}],
                "qualification": [{"code": {"text": "RGN"}}],
            },
        },
        {
            "fullUrl": "https://ehr.example.org/fhir/RelatedPerson/rp1",
            "resource": {
                "resourceType": "RelatedPerson",
                "id": "rp1",
                "patient": {"reference": "Patient/p1"},
                "relationship": [
                    {
                        "coding": [
                            {"system": "http://terminology.hl7.org/CodeSystem/v2-0131", "code": "N"}
                        ]
                    }
                ],
                "name": [{"text": "Sue Jones"}],
            },
        },
        {
            "fullUrl": "https://ehr.example.org/fhir/Practitioner/pr2",
            "resource": {"resourceType": "Practitioner", "id": "pr2", "name": [{"text": "Dr Who"}]},
        },
        {
            "fullUrl": "https://ehr.example.org/fhir/Goal/g1",
            "resource": {
                "resourceType": "Goal",
                "id": "g1",
                "lifecycleStatus": "active",
                "achievementStatus": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/goal-achievement",
                            "code": "improving",
                        }
                    ]
                },
                "priority": {"text": "high"},
                "description": {"text": "Walk to the post office without stopping"},
                "subject": {"reference": "Patient/p1"},
            },
        },
        {
            "fullUrl": "https://ehr.example.org/fhir/Goal/g2",
            "resource": {
                "resourceType": "Goal",
                "id": "g2",
                "lifecycleStatus": "completed",
                "achievementStatus": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/goal-achievement",
                            "code": "achieved",
                        }
                    ]
                },
                "description": {"coding": [{"display": "Stay at home through winter"}]},
                "subject": {"reference": "Patient/p1"},
            },
        },
        {
            "fullUrl": "https://ehr.example.org/fhir/Condition/c1",
            "resource": {
                "resourceType": "Condition",
                "id": "c1",
                "subject": {"reference": "Patient/p1"},
            },
        },
        {
            "fullUrl": "https://ehr.example.org/fhir/Observation/o1",
            "resource": {
                "resourceType": "Observation",
                "id": "o1",
                "status": "final",
                "code": {"text": "FEV1"},
            },
        },
    ],
}


def test_a_clinical_system_bundle_is_imported_and_what_does_not_fit_is_reported(people, login_as):
    coordinator = login_as("coord@example.com")
    before = record_ids(people.app)
    response = upload(coordinator, json.dumps(CLINICAL_SYSTEM_BUNDLE).encode())
    assert response.status_code == 200, response.get_data(as_text=True)[:3000]
    page = response.get_data(as_text=True)
    (new_id,) = record_ids(people.app) - before
    with people.app.app_context():
        assert records.get_record(new_id).name == "Rita Jones"
        assert [(g.outcome, g.status) for g in goals.list_goals(new_id)] == [
            ("Walk to the post office without stopping", GoalStatus.IN_PROGRESS),
            ("Stay at home through winter", GoalStatus.ACHIEVED),
        ]
        found = {a.what: a for a in actions.list_actions(new_id)}
        assert set(found) == {
            "Attend pulmonary rehab twice weekly",
            "Home visit by the district nurse",
        }
        rehab = found["Attend pulmonary rehab twice weekly"]
        assert rehab.owner is Owner.ME
        assert rehab.schedule.weekdays == (1, 4)
        assert rehab.schedule.at == time(10, 0)
        visit = found["Home visit by the district nurse"]
        assert visit.owner is Owner.COORDINATOR
        assert visit.owner_name == "Jo Bell"
        assert visit.schedule.at == time(14, 30)  # 14:30 UTC in February is 14:30 in the UK
        plan = plans.get_plan(new_id)
        assert [(c.name, c.role, c.detail) for c in plan.contacts] == [
            ("Jo Bell", ContactRole.PROFESSIONAL, "District nurse"),
            ("Sue Jones", ContactRole.NEXT_OF_KIN, ""),
        ]
    for reported in [
        "Patient: birthDate, identifier not kept",
        "CarePlan: addresses, category not kept",
        "Discussed at home with daughter present.",
        "Nebuliser three times a day",
        "Refer to OT",
        "Goal 1 (&#34;Walk to the post office without stopping&#34;): priority not kept",
        "Practitioner Dr Who not imported",
        "Practitioner Jo Bell: qualification not kept",
        "1 Condition resource(s) not imported",
        "1 Observation(s) not imported",
        "the end of the plan&#39;s period not kept",
    ]:
        assert reported in page, reported


def _held_by_records(app: Flask) -> dict[str, set[str]]:
    """The record ids each system table and the records folder holds something for."""
    from tracker.store import get_store

    with app.app_context():
        store = get_store()
        held = {
            scope: {d["record_id"] for d in store.read(scope).all(table)}
            for scope, table in (
                (sharing.SCOPE, sharing.TABLE),
                (invitations.SCOPE, invitations.TABLE),
            )
        }
        held[records.SCOPE] = {d["id"] for d in store.read(records.SCOPE).all(records.TABLE)}
    folder = Path(app.config["TRACKER_DATA_DIR"]) / "records"
    held["folders"] = {p.name for p in folder.iterdir()} if folder.is_dir() else set()
    return held


@pytest.mark.parametrize(
    ("module", "step"),
    [
        (goals, "set_goal_status"),
        (actions, "add_action"),
        (invitations, "create_invitation"),
        (sharing, "add_member"),
    ],
)
def test_a_write_that_fails_part_way_leaves_no_record_membership_or_files_behind(
    people, login_as, monkeypatch, module, step
):
    coordinator = login_as("coord@example.com")
    caseload_before = coordinator.get("/caseload").get_data(as_text=True)
    before = _held_by_records(people.app)

    def fail(*args, **kwargs):
        raise StoreError("the disk is full")

    monkeypatch.setattr(module, step, fail)
    response = upload(coordinator, json.dumps(CLINICAL_SYSTEM_BUNDLE).encode())
    monkeypatch.undo()
    assert response.status_code == 503
    page = response.get_data(as_text=True)
    assert "There is a problem" in page
    assert "The record could not be saved, so nothing was kept" in page
    assert _held_by_records(people.app) == before
    caseload = coordinator.get("/caseload").get_data(as_text=True)
    assert "Rita Jones" not in caseload
    assert caseload.count("<tr") == caseload_before.count("<tr")


def test_the_record_is_in_the_index_only_after_its_plan_invitation_and_membership(
    people, login_as, monkeypatch
):
    coordinator = login_as("coord@example.com")
    seen: list[tuple[str, bool]] = []
    real = {"create_invitation": invitations.create_invitation, "add_member": sharing.add_member}

    def watch(name: str):
        def step(record_id, *args, **kwargs):
            seen.append((name, records.get_record(record_id) is not None))
            return real[name](record_id, *args, **kwargs)

        return step

    monkeypatch.setattr(invitations, "create_invitation", watch("create_invitation"))
    monkeypatch.setattr(sharing, "add_member", watch("add_member"))
    response = upload(coordinator, json.dumps(CLINICAL_SYSTEM_BUNDLE).encode())
    assert response.status_code == 200
    assert seen == [("create_invitation", False), ("add_member", False)]


BAD = {
    "not JSON": b"{not json",
    "not UTF-8": b"\xff\xfe\x00{",
    "JSON but not a bundle": b'{"resourceType": "Patient"}',
    "a list": b"[1, 2, 3]",
    "a bundle without a type": json.dumps({"resourceType": "Bundle", "entry": []}).encode(),
    "a bundle without a care plan": json.dumps(
        {"resourceType": "Bundle", "type": "collection", "entry": []}
    ).encode(),
    "an entry without a resource": json.dumps(
        {"resourceType": "Bundle", "type": "collection", "entry": [{"fullUrl": "x"}]}
    ).encode(),
}


def _broken_goal() -> bytes:
    bundle = json.loads(json.dumps(CLINICAL_SYSTEM_BUNDLE))
    goal = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Goal")
    del goal["lifecycleStatus"]
    goal["description"] = {"text": "x" * 400}
    return json.dumps(bundle).encode()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (BAD["not JSON"], "it is not valid JSON (line 1, column 2)"),
        (BAD["not UTF-8"], "it is not text in UTF-8"),
        (BAD["JSON but not a bundle"], "it is not a FHIR Bundle"),
        (BAD["a list"], "it is not a FHIR Bundle"),
        (BAD["a bundle without a type"], "type is missing"),
        (BAD["a bundle without a care plan"], "it has no CarePlan"),
        (BAD["an entry without a resource"], "Entry 1: it has no resource"),
        (_broken_goal(), "lifecycleStatus is missing"),
        (_broken_goal(), "description is longer than 300 characters"),
        (b" " * (fhir.MAX_IMPORT_BYTES + 1), "larger than 512 KB"),
    ],
)
def test_a_malformed_bundle_is_refused_with_its_problems_and_nothing_is_written(
    people, login_as, content, message
):
    coordinator = login_as("coord@example.com")
    coordinator.get(IMPORT)
    files_before = data_files(people.app)
    sizes = {p: p.stat().st_mtime_ns for p in files_before}
    response = upload(coordinator, content)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "There is a problem" in page
    assert message in page
    assert "This bundle cannot be used" in page
    after = data_files(people.app)
    assert after == files_before
    assert {p: p.stat().st_mtime_ns for p in after} == sizes


def test_pasted_json_is_read_like_an_upload(people, login_as):
    coordinator = login_as("coord@example.com")
    response = send(coordinator, {"bundle_text": json.dumps(CLINICAL_SYSTEM_BUNDLE)})
    assert response.status_code == 200
    assert "Record started for Rita Jones" in response.get_data(as_text=True)


def test_the_form_asks_for_a_file_or_pasted_json_but_not_both(people, login_as):
    coordinator = login_as("coord@example.com")
    before = record_ids(people.app)
    empty = send(coordinator, {})
    assert empty.status_code == 422
    assert "Upload a FHIR bundle file or paste its JSON" in empty.get_data(as_text=True)
    both = send(
        coordinator,
        {"bundle_text": "{}", "bundle_file": (io.BytesIO(b"{}"), "bundle.json")},
    )
    assert both.status_code == 422
    assert "Upload a file or paste the bundle, not both" in both.get_data(as_text=True)
    assert record_ids(people.app) == before


def test_an_upload_over_the_app_limit_is_refused_without_a_server_error(people, login_as):
    coordinator = login_as("coord@example.com")
    before = record_ids(people.app)
    response = upload(coordinator, b"x" * (2 * 1024 * 1024))
    assert response.status_code == 413
    assert record_ids(people.app) == before


@pytest.mark.parametrize("who", ["owner@example.com", "carer@example.com"])
def test_only_coordinators_can_import(people, login_as, who):
    assert login_as(who).get(IMPORT).status_code == 404


def test_the_caseload_links_to_the_fhir_import(people, login_as):
    page = login_as("coord@example.com").get("/caseload").get_data(as_text=True)
    assert 'href="/caseload/import-fhir"' in page
    assert "Start a record from a FHIR care plan" in page


# --- arbitrary input ----------------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=20,
)


def _mutated() -> st.SearchStrategy[bytes]:
    """The clinical system's bundle with one part, at any depth, replaced by something else."""

    def replace(value, path):
        bundle = json.loads(json.dumps(CLINICAL_SYSTEM_BUNDLE))
        node = bundle
        for depth, step in enumerate(path, start=1):
            keys = list(node) if isinstance(node, dict) else list(range(len(node)))
            key = keys[step % len(keys)]
            child = node[key]
            if not isinstance(child, dict | list) or not child or depth == len(path):
                node[key] = value
                break
            node = child
        return json.dumps(bundle).encode()

    return st.builds(replace, JSON_VALUES, st.lists(st.integers(0, 30), min_size=1, max_size=8))


ANY_BUNDLE = st.one_of(
    st.binary(max_size=200),
    st.text(max_size=200).map(lambda s: s.encode("utf-8", "surrogatepass")),
    st.builds(lambda v: json.dumps(v).encode(), JSON_VALUES),
    _mutated(),
)


@given(content=ANY_BUNDLE)
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
def test_any_upload_is_refused_cleanly_or_starts_exactly_one_record(people, login_as, content):
    coordinator = getattr(people, "_fhir_client", None) or login_as("coord@example.com")
    people._fhir_client = coordinator  # type: ignore[attr-defined]
    before = record_ids(people.app)
    response = upload(coordinator, content)
    assert response.status_code in (200, 422)
    started = record_ids(people.app) - before
    if response.status_code == 422:
        assert started == set()
        assert "There is a problem" in response.get_data(as_text=True)
    else:
        assert len(started) == 1


@given(content=ANY_BUNDLE)
@settings(max_examples=200, deadline=None)
def test_reading_any_bytes_gives_either_a_plan_or_problems_never_an_exception(content):
    read = fhir.read_bundle(content)
    assert (read.plan is None) == bool(read.problems)


def test_the_coordinator_finds_the_fhir_download_on_the_plan_and_the_person_on_their_data_page(
    full, login_as
):
    plan_page = login_as("coord@example.com").get(f"/records/{full.record_id}/plan")
    assert export_url(full) in plan_page.get_data(as_text=True)
    data_page = login_as("owner@example.com").get(f"/records/{full.record_id}/your-data")
    assert export_url(full) in data_page.get_data(as_text=True)
    carer_plan = login_as("carer@example.com").get(f"/records/{full.record_id}/plan")
    assert carer_plan.status_code == 200
    assert export_url(full) not in carer_plan.get_data(as_text=True)
