"""FHIR R4 (4.0.1): a person's plan and progress as a ``Bundle``, and a record started from one.

Export builds a ``collection`` Bundle of a ``CarePlan`` (with its care team
contained), its ``Goal``\\ s, ``Observation``\\ s for mood, ONS4 wellbeing and
symptom readings, the ``Patient``, and a ``RelatedPerson`` or ``Practitioner`` for
each contact and member. It carries only what the plan holds, narrowed to what
the viewer may see (a coordinator gets no mood unless mood is shared with them).
Facts FHIR has no element for travel in documented extensions (``EXT``); the
mapping, with the PRSB headings it follows, is in ``docs/fhir-mapping.md``.

Import reads a CarePlan bundle, from this tracker or a clinical system, into an
:class:`ImportedPlan` without writing anything. Anything malformed makes a list of
problems and nothing is stored; anything well formed that the tracker cannot
hold is listed in ``not_mapped``, never silently dropped. Only then does
:func:`start_record` write the new record.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time
from typing import Any

from . import accounts, actions, clock, goals, invitations, logs, plans, records, sharing
from . import trackers as trk
from .actions import Owner, Repeat, Schedule
from .goals import GoalStatus
from .plans import ContactRole
from .roles import Category, Role
from .sharing import Membership
from .store import get_store, new_id

FHIR_VERSION = "4.0.1"
MEDIA_TYPE = "application/fhir+json"
MAX_IMPORT_BYTES = 512 * 1024
MAX_PROBLEMS = 20
MAX_GOALS = 100
MAX_ACTIONS = 500

# Our own definitions: extension and code system URLs, documented in docs/fhir-mapping.md.
BASE = "https://care-plan-tracker.example/fhir"
EXT = f"{BASE}/StructureDefinition/"
CODES = f"{BASE}/CodeSystem/"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
GOAL_ACHIEVEMENT = "http://terminology.hl7.org/CodeSystem/goal-achievement"
RELATIONSHIP = "http://terminology.hl7.org/CodeSystem/v2-0131"
UCUM = "http://unitsofmeasure.org"
_NAMESPACE = uuid.UUID("6f1c2b8e-8d3a-4c55-9a57-3f0c2d7e1b40")

# The table: lifecycleStatus, and achievementStatus ("" = no change, None = none).
GOAL_CODES: dict[GoalStatus, tuple[str, str | None]] = {
    GoalStatus.IN_PROGRESS: ("active", "in-progress"),
    GoalStatus.ACHIEVED: ("completed", "achieved"),
    GoalStatus.ON_HOLD: ("on-hold", ""),
    GoalStatus.NOT_ACHIEVED: ("completed", "not-achieved"),
    GoalStatus.ABANDONED: ("cancelled", None),
}
ACHIEVEMENT_DISPLAY = {
    "in-progress": "In Progress",
    "achieved": "Achieved",
    "not-achieved": "Not Achieved",
}
WEEKDAY_CODES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
PERIOD_UNITS = {Repeat.DAILY: "d", Repeat.WEEKLY: "wk", Repeat.MONTHLY: "mo"}
CONTACT_PRACTITIONERS = frozenset({ContactRole.COORDINATOR, ContactRole.PROFESSIONAL})


# --- export --------------------------------------------------------------------------------


def _uid(record_id: str, kind: str, local_id: str) -> str:
    """A stable id for one thing in one record, so the same plan exports the same ids."""
    return str(uuid.uuid5(_NAMESPACE, f"{record_id}/{kind}/{local_id}"))


def _ref(resource: dict, display: str = "") -> dict:
    out = {"reference": f"urn:uuid:{resource['id']}"}
    return out | {"display": display} if display else out


def _ext(name: str, value_type: str, value: Any) -> dict:
    return {"url": EXT + name, value_type: value}


def _coding(system: str, code: str, display: str) -> dict:
    return {"system": system, "code": code, "display": display}


def _telecom(phone: str, email: str) -> list[dict]:
    out = [{"system": "phone", "value": phone}] if phone else []
    return out + ([{"system": "email", "value": email}] if email else [])


def _achievement(goal: goals.Goal) -> str | None:
    """The achievementStatus code; on hold keeps the one before it (the issue's "no change")."""
    code = GOAL_CODES[goal.status][1]
    if code != "":
        return code
    before = [c.status for c in goal.timeline if c.status is not GoalStatus.ON_HOLD]
    earlier = GOAL_CODES[before[-1]][1] if before else "in-progress"
    return earlier or None


def _goal_resource(record_id: str, goal: goals.Goal, patient: dict) -> dict:
    lifecycle, _ = GOAL_CODES[goal.status]
    achievement = _achievement(goal)
    last = goal.timeline[-1] if goal.timeline else None
    out: dict[str, Any] = {
        "resourceType": "Goal",
        "id": _uid(record_id, "goal", goal.id),
        "lifecycleStatus": lifecycle,
        "description": {"text": goal.outcome},
        "subject": _ref(patient),
        "startDate": goal.created_at[:10],
    }
    extensions = [_ext("goal-need", "valueString", goal.need)] if goal.need else []
    if goal.importance is not None:
        extensions.append(_ext("goal-importance", "valueInteger", goal.importance))
    if extensions:
        out["extension"] = extensions
    if achievement:
        out["achievementStatus"] = {
            "coding": [_coding(GOAL_ACHIEVEMENT, achievement, ACHIEVEMENT_DISPLAY[achievement])],
            "text": goal.status.label,
        }
    if goal.measure:
        out["target"] = [{"measure": {"text": goal.measure}}]
    if last is not None:
        out["statusDate"] = last.at[:10]
        if last.note:
            out["statusReason"] = last.note
    if goal.notes:
        out["note"] = [{"time": n.at, "text": n.text} for n in goal.notes]
    return out


def _activity_status(action: actions.Action, done_once: bool, today: date) -> str:
    schedule = action.schedule
    if schedule.start > today:
        return "scheduled"
    if schedule.repeat is Repeat.ONCE:
        return "completed" if done_once else "not-started"
    if schedule.until is not None and schedule.until < today:
        return "completed"
    return "in-progress"


def _when(schedule: Schedule) -> dict:
    """``scheduledPeriod`` for a one-off action, ``scheduledTiming`` for a repeating one."""
    if schedule.repeat is Repeat.ONCE:
        start = (
            datetime.combine(schedule.start, schedule.at, tzinfo=clock.LONDON).isoformat()
            if schedule.at
            else schedule.start.isoformat()
        )
        return {"scheduledPeriod": {"start": start}}
    bounds = {"start": schedule.start.isoformat()}
    if schedule.until:
        bounds["end"] = schedule.until.isoformat()
    repeat: dict[str, Any] = {
        "boundsPeriod": bounds,
        "frequency": 1,
        "period": schedule.interval,
        "periodUnit": PERIOD_UNITS[schedule.repeat],
    }
    if schedule.repeat is Repeat.WEEKLY:
        days = schedule.weekdays or (schedule.start.weekday(),)
        repeat["dayOfWeek"] = [WEEKDAY_CODES[d] for d in sorted(days)]
    if schedule.at:
        repeat["timeOfDay"] = [schedule.at.isoformat(timespec="seconds")]
    return {"scheduledTiming": {"repeat": repeat}}


@dataclass
class _People:
    """The Patient, and the RelatedPerson or Practitioner of each contact and member."""

    patient: dict
    resources: list[dict] = field(default_factory=list)
    participants: list[dict] = field(default_factory=list)
    by_user: dict[str, dict] = field(default_factory=dict)
    first_coordinator: dict | None = None


def _person(record_id: str, key: str, name: str, practitioner: bool, relationship: dict) -> dict:
    resource: dict[str, Any] = {
        "resourceType": "Practitioner" if practitioner else "RelatedPerson",
        "id": _uid(record_id, "person", key),
        "name": [{"text": name}],
    }
    return resource if practitioner else resource | {"relationship": [relationship]}


def _role(code: str, label: str, detail: str = "") -> list[dict]:
    return [{"coding": [_coding(CODES + "contact-role", code, label)], "text": detail or label}]


def _people(record: records.Record, plan: plans.Plan, members: list[Membership]) -> _People:
    patient: dict[str, Any] = {
        "resourceType": "Patient",
        "id": _uid(record.id, "patient", record.id),
        "name": [{"text": record.name}],
    }
    if record.acting_for:
        patient["contact"] = [
            {
                "relationship": [
                    {"coding": [_coding(CODES + "contact-role", "acting-for", "Acts for them")]}
                ],
                "name": {"text": record.acting_for},
            }
        ]
    out = _People(patient)
    for contact in plan.contacts:
        relationship = {"text": contact.role.label}
        if contact.role is ContactRole.NEXT_OF_KIN:
            relationship["coding"] = [_coding(RELATIONSHIP, "N", "Next-of-Kin")]
        resource = _person(
            record.id,
            f"contact-{contact.id}",
            contact.name,
            contact.role in CONTACT_PRACTITIONERS,
            relationship,
        )
        telecom = _telecom(contact.phone, contact.email)
        if telecom:
            resource["telecom"] = telecom
        if resource["resourceType"] == "RelatedPerson":
            resource["patient"] = _ref(patient)
        out.resources.append(resource)
        out.participants.append(
            {
                "role": _role(contact.role.value, contact.role.label, contact.detail),
                "member": _ref(resource, contact.name),
            }
        )
        if contact.role is ContactRole.COORDINATOR and out.first_coordinator is None:
            out.first_coordinator = resource
    names = accounts.names_by_id({m.user_id for m in members})
    for m in members:
        if m.role is Role.OWNER:
            continue
        name = names.get(m.user_id) or "Name not known"
        is_coordinator = m.role is Role.COORDINATOR
        resource = _person(record.id, f"member-{m.id}", name, is_coordinator, {"text": "Carer"})
        if not is_coordinator:
            resource["patient"] = _ref(patient)
        out.resources.append(resource)
        out.by_user[m.user_id] = resource
        if is_coordinator and out.first_coordinator is None:
            out.first_coordinator = resource
        participant = {
            "extension": [_ext("care-team-member", "valueBoolean", True)],
            "role": _role(m.role.value, "Care coordinator" if is_coordinator else "Carer"),
            "member": _ref(resource, name),
        }
        out.participants.append(participant)
    return out


def _performer(action: actions.Action, people: _People) -> dict:
    if action.owner is Owner.ME:
        return _ref(people.patient, people.patient["name"][0]["text"])
    resource = None
    if action.owner is Owner.CARER and action.owner_user_id:
        resource = people.by_user.get(action.owner_user_id)
    if action.owner is Owner.COORDINATOR:
        resource = people.first_coordinator
    return _ref(resource, action.who) if resource is not None else {"display": action.who}


def _activity(
    record_id: str, action: actions.Action, people: _People, done_once: bool, today: date
) -> dict:
    detail: dict[str, Any] = {
        "status": _activity_status(action, done_once, today),
        "description": action.what,
        "goal": [{"reference": f"urn:uuid:{_uid(record_id, 'goal', action.goal_id)}"}],
        "performer": [_performer(action, people)],
        **_when(action.schedule),
    }
    extensions = [_ext("action-owner", "valueCode", action.owner.value)]
    if action.confidence is not None:
        extensions.append(_ext("action-confidence", "valueInteger", action.confidence))
    for name, text in (
        ("action-support-needed", action.support_needed),
        ("action-barriers", action.barriers),
        ("action-strategies", action.strategies),
    ):
        if text:
            extensions.append(_ext(name, "valueString", text))
    detail["extension"] = extensions
    return {"detail": detail}


def _care_plan(
    record_id: str,
    plan: plans.Plan,
    people: _People,
    goal_resources: list[dict],
    activities: list[dict],
) -> dict:
    out: dict[str, Any] = {
        "resourceType": "CarePlan",
        "id": _uid(record_id, "careplan", "current"),
        "status": "active" if plan.signed_off_on else "draft",
        "intent": "plan",
        "title": "Personalised care and support plan",
        "subject": _ref(people.patient),
    }
    extensions = [_ext("review-interval-months", "valueInteger", plan.review_interval_months)]
    if plan.next_review:
        extensions.append(_ext("next-review", "valueDate", plan.next_review.isoformat()))
    sign_off = []
    if plan.signed_off_on:
        sign_off.append({"url": "date", "valueDate": plan.signed_off_on.isoformat()})
    if plan.signed_off_by:
        sign_off.append({"url": "by", "valueString": plan.signed_off_by})
    if sign_off:
        extensions.append({"url": EXT + "sign-off", "extension": sign_off})
    out["extension"] = extensions
    if plan.start_date:
        out["period"] = {"start": plan.start_date.isoformat()}
    if people.participants:
        out["contained"] = [
            {
                "resourceType": "CareTeam",
                "id": "careteam",
                "status": "active",
                "subject": _ref(people.patient),
                "participant": people.participants,
            }
        ]
        out["careTeam"] = [{"reference": "#careteam"}]
    if goal_resources:
        out["goal"] = [_ref(g) for g in goal_resources]
    if activities:
        out["activity"] = activities
    notes = [
        {
            "extension": [_ext("plan-section", "valueCode", key)],
            "text": f"{title}: {plan.text(key)}",
        }
        for key, title in plans.SECTIONS.items()
        if plan.text(key)
    ]
    if notes:
        out["note"] = notes
    return out


def _survey() -> list[dict]:
    return [{"coding": [_coding(OBSERVATION_CATEGORY, "survey", "Survey")]}]


def _observation(record_id: str, entry: logs.LogEntry, patient: dict) -> dict:
    return {
        "resourceType": "Observation",
        "id": _uid(record_id, "entry", entry.id),
        "status": "final",
        "category": _survey(),
        "subject": _ref(patient),
        "effectiveDateTime": entry.occurred_at.isoformat(),
    }


def _mood(record_id: str, entry: logs.LogEntry, patient: dict) -> dict:
    score = int(entry.data["score"])
    out = _observation(record_id, entry, patient) | {
        "code": {
            "coding": [
                _coding(CODES + "observation", "mood", "Mood, 1 (very low) to 5 (very good)")
            ],
            "text": "Mood",
        },
        "valueInteger": score,
        "interpretation": [{"text": logs.MOOD_WORDS[score]}],
    }
    if entry.data.get("note"):
        out["note"] = [{"text": entry.data["note"]}]
    return out


def _wellbeing(record_id: str, entry: logs.LogEntry, patient: dict) -> dict:
    return _observation(record_id, entry, patient) | {
        "code": {
            "coding": [_coding(CODES + "observation", "ons4", "ONS personal wellbeing (ONS4)")],
            "text": "ONS personal wellbeing questions",
        },
        "component": [
            {
                "code": {
                    "coding": [_coding(CODES + "observation", f"ons4-{key}", question)],
                    "text": question,
                },
                "valueInteger": int(entry.data[key]),
            }
            for key, question in logs.ONS4_QUESTIONS
            if key in entry.data
        ],
    }


def _reading(record_id: str, entry: logs.LogEntry, tracker: trk.Tracker, patient: dict) -> dict:
    value = entry.data["value"]
    out = _observation(record_id, entry, patient) | {
        "code": {
            "coding": [_coding(CODES + "symptom-tracker", tracker.id, tracker.name)],
            "text": tracker.name,
        }
    }
    if tracker.kind is trk.TrackerKind.YES_NO:
        out["valueBoolean"] = bool(value)
    elif tracker.kind is trk.TrackerKind.NUMBER:
        out["valueQuantity"] = {"value": value} | ({"unit": tracker.unit} if tracker.unit else {})
    else:
        out["valueInteger"] = int(value)
    if entry.data.get("note"):
        out["note"] = [{"text": entry.data["note"]}]
    return out


def _observations(record_id: str, viewer: Membership, patient: dict) -> list[dict]:
    kinds = [
        kind
        for kind, category in (
            (logs.Kind.MOOD, Category.MOOD),
            (logs.Kind.WELLBEING, Category.MOOD),
            (logs.Kind.READING, Category.SYMPTOMS),
        )
        if viewer.sees(category)
    ]
    if not kinds:
        return []
    by_id = {t.id: t for t in trk.list_trackers(record_id, include_archived=True)}
    out = []
    for entry in reversed(logs.entries(record_id, kinds=kinds, viewer=viewer)):
        if entry.kind is logs.Kind.MOOD:
            out.append(_mood(record_id, entry, patient))
        elif entry.kind is logs.Kind.WELLBEING:
            out.append(_wellbeing(record_id, entry, patient))
        elif entry.data.get("tracker_id") in by_id:
            out.append(_reading(record_id, entry, by_id[entry.data["tracker_id"]], patient))
    return out


def _once_done(record_id: str, once: list[actions.Action], today: date) -> set[str]:
    """The one-off actions (due by today) whose day is marked done."""
    if not once:
        return set()
    first = min(a.schedule.start for a in once)
    return {
        o.action.id
        for o in actions.occurrences(record_id, first, today, once)
        if o.outcome is actions.Outcome.DONE
    }


def export_bundle(record: records.Record, viewer: Membership) -> dict:
    """The plan and its progress as a FHIR R4 ``collection`` Bundle, as ``viewer`` may see it."""
    plan = plans.get_plan(record.id)
    # Who else can see the record is the person's to know (they manage sharing): a
    # coordinator's download names only themselves.
    members = [
        m
        for m in sharing.members_of_record(record.id)
        if viewer.role is Role.OWNER or m.user_id == viewer.user_id
    ]
    people = _people(record, plan, members)
    all_goals = goals.list_goals(record.id)
    goal_resources = [_goal_resource(record.id, g, people.patient) for g in all_goals]
    activities = []
    if viewer.sees(Category.ACTIONS):
        today = clock.today()
        listed = actions.list_actions(record.id)
        once = [a for a in listed if a.schedule.repeat is Repeat.ONCE and a.schedule.start <= today]
        done = _once_done(record.id, once, today)
        goal_ids = {g.id for g in all_goals}
        activities = [
            _activity(record.id, a, people, a.id in done, today)
            for a in listed
            if a.goal_id in goal_ids
        ]
    care_plan = _care_plan(record.id, plan, people, goal_resources, activities)
    resources = [
        care_plan,
        people.patient,
        *people.resources,
        *goal_resources,
        *_observations(record.id, viewer, people.patient),
    ]
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "meta": {"lastUpdated": clock.now().isoformat(timespec="seconds")},
        "type": "collection",
        "timestamp": clock.now().isoformat(timespec="seconds"),
        "entry": [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in resources],
    }


def bundle_filename() -> str:
    """A download name that says what and when, without the person's name."""
    return f"care-plan-{clock.today().isoformat()}.fhir.json"


def to_json(bundle: dict) -> str:
    return json.dumps(bundle, ensure_ascii=False, indent=2)


# --- import: reading ----------------------------------------------------------------------


@dataclass(frozen=True)
class ImportedContact:
    name: str
    role: ContactRole
    detail: str
    phone: str
    email: str


@dataclass(frozen=True)
class ImportedGoal:
    key: str
    outcome: str
    need: str
    measure: str
    importance: int | None
    status: GoalStatus
    status_note: str
    notes: tuple[str, ...]


@dataclass(frozen=True)
class ImportedAction:
    goal_key: str
    what: str
    owner: Owner
    owner_name: str
    schedule: Schedule
    confidence: int | None
    support_needed: str
    barriers: str
    strategies: str
    done: bool


@dataclass(frozen=True)
class ImportedPlan:
    """Everything the tracker will store from a bundle, checked and ready to write."""

    name: str
    acting_for: str
    sections: dict[str, str]
    contacts: tuple[ImportedContact, ...]
    start_date: date | None
    next_review: date | None
    review_interval_months: int
    signed_off_on: date | None
    signed_off_by: str
    goals: tuple[ImportedGoal, ...]
    actions: tuple[ImportedAction, ...]


@dataclass(frozen=True)
class ReadResult:
    """A bundle read: the plan (``None`` if there were problems), what was wrong, what was left."""

    plan: ImportedPlan | None
    problems: tuple[str, ...]
    not_mapped: tuple[str, ...]


def _sensible(day: date) -> bool:
    """Dates the tracker's own forms accept."""
    return 1900 <= day.year <= 2100


class _Reader:
    """Reads one bundle, collecting problems (refuse) and things not mapped (report)."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.not_mapped: list[str] = []
        self.by_ref: dict[str, dict] = {}
        self.used: set[int] = set()

    def problem(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}")

    def text(self, where: str, obj: dict, key: str, limit: int, required: bool = False) -> str:
        value = obj.get(key)
        if value is None:
            if required:
                self.problem(where, f"{key} is missing")
            return ""
        if not isinstance(value, str):
            self.problem(where, f"{key} must be text")
            return ""
        value = value.strip()
        if required and not value:
            self.problem(where, f"{key} is empty")
        if len(value) > limit:
            self.problem(where, f"{key} is longer than {limit} characters")
        return value

    def day(self, where: str, obj: dict, key: str) -> date | None:
        value = obj.get(key)
        if value is None:
            return None
        if isinstance(value, str):
            try:
                day = date.fromisoformat(value[:10])
            except ValueError:
                day = None
            if day is not None and _sensible(day):
                return day
        self.problem(where, f"{key} must be a date like 2026-03-01, from 1900 to 2100")
        return None

    def whole(self, where: str, value: Any, what: str, low: int, high: int) -> int | None:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.problem(where, f"{what} must be a whole number from {low} to {high}")
            return None
        return value

    def items(self, where: str, obj: dict, key: str) -> list[dict]:
        value = obj.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            self.problem(where, f"{key} must be a list of objects")
            return []
        return value

    def resolve(self, ref: Any, contained: dict[str, dict] | None = None) -> dict | None:
        if not isinstance(ref, dict) or not isinstance(ref.get("reference"), str):
            return None
        target = ref["reference"]
        if target.startswith("#"):
            return (contained or {}).get(target[1:])
        if target in self.by_ref:
            return self.by_ref[target]
        return self.by_ref.get("/".join(target.rstrip("/").split("/")[-2:]))

    def leftover(self, where: str, obj: dict, handled: Iterable[str]) -> None:
        extra = sorted(set(obj) - set(handled) - {"resourceType", "id", "meta", "text"})
        if extra:
            self.not_mapped.append(f"{where}: {', '.join(extra)} not kept")


def _ours(extensions: Any, name: str) -> dict | None:
    if not isinstance(extensions, list):
        return None
    for e in extensions:
        if isinstance(e, dict) and e.get("url") == EXT + name:
            return e
    return None


def _other_extensions(reader: _Reader, where: str, obj: dict, names: set[str]) -> None:
    kept = {EXT + n for n in names}
    for e in _list(obj.get("extension")):
        url = e.get("url") if isinstance(e, dict) else None
        if url not in kept:
            reader.not_mapped.append(f"{where}: extension {url or '(no url)'} not kept")


def _concept_text(value: Any) -> str:
    """Words for a CodeableConcept: its text, or its first coding's display or code."""
    if not isinstance(value, dict):
        return ""
    if isinstance(value.get("text"), str):
        return value["text"].strip()
    for coding in _list(value.get("coding")):
        if isinstance(coding, dict):
            words = coding.get("display") or coding.get("code")
            if isinstance(words, str):
                return words.strip()
    return ""


def _code(value: Any) -> str:
    """A code as text; anything else (a list, a number) as "", which no value set holds."""
    return value if isinstance(value, str) else ""


def _codes(value: Any) -> set[tuple[str, str]]:
    if not isinstance(value, dict) or not isinstance(value.get("coding"), list):
        return set()
    return {
        (_code(c.get("system")), _code(c.get("code")))
        for c in value["coding"]
        if isinstance(c, dict)
    }


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _name(resource: dict) -> str:
    names = resource.get("name")
    if isinstance(names, dict):
        names = [names]
    if not isinstance(names, list):
        return ""
    for n in names:
        if not isinstance(n, dict):
            continue
        if isinstance(n.get("text"), str) and n["text"].strip():
            return n["text"].strip()
        given = _list(n.get("given"))
        parts = [*given, n.get("family", "")]
        words = " ".join(p.strip() for p in parts if isinstance(p, str) and p.strip())
        if words:
            return words
    return ""


BUNDLE_TYPES = frozenset(
    {
        "document",
        "message",
        "transaction",
        "transaction-response",
        "batch",
        "batch-response",
        "history",
        "searchset",
        "collection",
    }
)
GOAL_LIFECYCLE = frozenset(
    {
        "proposed",
        "planned",
        "accepted",
        "active",
        "on-hold",
        "completed",
        "cancelled",
        "entered-in-error",
        "rejected",
    }
)
CAREPLAN_STATUS = frozenset(
    {"draft", "active", "on-hold", "revoked", "completed", "entered-in-error", "unknown"}
)
CAREPLAN_INTENT = frozenset({"proposal", "plan", "order", "option"})
ACTIVITY_STATUS = frozenset(
    {
        "not-started",
        "scheduled",
        "in-progress",
        "on-hold",
        "completed",
        "cancelled",
        "stopped",
        "unknown",
        "entered-in-error",
    }
)


def _goal_status(reader: _Reader, where: str, lifecycle: str, achievement: str) -> GoalStatus:
    if lifecycle == "on-hold":
        return GoalStatus.ON_HOLD
    if lifecycle == "cancelled" or lifecycle == "rejected":
        if lifecycle == "rejected":
            reader.not_mapped.append(f"{where}: was rejected; kept as abandoned")
        return GoalStatus.ABANDONED
    if lifecycle == "completed":
        if achievement in ("not-achieved", "not-attainable"):
            return GoalStatus.NOT_ACHIEVED
        if achievement not in ("achieved", "sustaining"):
            reader.not_mapped.append(
                f"{where}: completed without saying whether it was achieved; kept as achieved"
            )
        return GoalStatus.ACHIEVED
    if lifecycle in ("proposed", "planned", "accepted"):
        reader.not_mapped.append(f"{where}: was {lifecycle}; kept as in progress")
    return GoalStatus.IN_PROGRESS


def _where(kind: str, n: int, words: str) -> str:
    """How messages name a goal or activity: its number, and its first words if it has any."""
    return f'{kind} {n} ("{words[:40]}")' if words else f"{kind} {n}"


def _check_item(
    reader: _Reader, where: str, words: str, limit: int, status: tuple[str, dict, frozenset[str]]
) -> str | None:
    """Check a goal's or activity's words and status; the status code, or ``None`` to skip it."""
    if not words:
        reader.problem(where, "description is missing")
    elif len(words) > limit:
        reader.problem(where, f"description is longer than {limit} characters")
    key, obj, allowed = status
    code = _code(obj.get(key))
    if code not in allowed:
        reader.problem(where, f"{key} is missing or not a FHIR R4 code")
        return None
    if code == "entered-in-error":
        reader.not_mapped.append(f"{where}: entered in error, so not imported")
        return None
    return code


def _read_goal(reader: _Reader, n: int, goal: dict, key: str) -> ImportedGoal | None:
    outcome = _concept_text(goal.get("description"))
    where = _where("Goal", n, outcome)
    lifecycle = _check_item(
        reader, where, outcome, goals.MAX_OUTCOME, ("lifecycleStatus", goal, GOAL_LIFECYCLE)
    )
    if lifecycle is None:
        return None
    achievement = next((c for s, c in _codes(goal.get("achievementStatus")) if s), "")
    status = _goal_status(reader, where, lifecycle, achievement)
    need_ext = _ours(goal.get("extension"), "goal-need")
    importance_ext = _ours(goal.get("extension"), "goal-importance")
    need = reader.text(where, need_ext or {}, "valueString", goals.MAX_TEXT)
    importance = (
        reader.whole(where, importance_ext.get("valueInteger"), "importance", 1, 10)
        if importance_ext
        else None
    )
    _other_extensions(reader, where, goal, {"goal-need", "goal-importance"})
    targets = reader.items(where, goal, "target")
    measure = _concept_text(targets[0].get("measure")) if targets else ""
    if len(measure) > goals.MAX_TEXT:
        reader.problem(where, f"target measure is longer than {goals.MAX_TEXT} characters")
    if len(targets) > 1 or (targets and set(targets[0]) - {"measure"}):
        reader.not_mapped.append(f"{where}: target values other than the first measure not kept")
    notes = tuple(
        reader.text(where, note, "text", goals.MAX_TEXT, required=True)
        for note in reader.items(where, goal, "note")
    )
    if notes:
        reader.not_mapped.append(f"{where}: {len(notes)} note(s) kept, dated today")
    reader.leftover(
        where,
        goal,
        {
            "lifecycleStatus",
            "achievementStatus",
            "description",
            "subject",
            "startDate",
            "statusDate",
            "statusReason",
            "target",
            "note",
            "extension",
        },
    )
    return ImportedGoal(
        key=key,
        outcome=outcome,
        need=need,
        measure=measure,
        importance=importance,
        status=status,
        status_note=reader.text(where, goal, "statusReason", goals.MAX_TEXT),
        notes=notes,
    )


def _moment(reader: _Reader, where: str, value: Any) -> tuple[date, time | None] | None:
    """A FHIR date or dateTime as a UK day and, if it has one, a UK time of day."""
    if not isinstance(value, str):
        reader.problem(where, "the start must be a date")
        return None
    try:
        if "T" not in value:
            day, at = date.fromisoformat(value), None
        else:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            if moment.tzinfo is not None:
                moment = moment.astimezone(clock.LONDON).replace(tzinfo=None)
            day, at = moment.date(), moment.time().replace(second=0, microsecond=0)
    except (ValueError, OverflowError):
        day, at = None, None
    if day is None or not _sensible(day):
        reader.problem(where, "the start must be a date like 2026-03-01, from 1900 to 2100")
        return None
    return day, at


def _timing(reader: _Reader, where: str, timing: Any) -> Schedule | None:
    repeat = timing.get("repeat") if isinstance(timing, dict) else None
    if not isinstance(repeat, dict):
        reader.not_mapped.append(f"{where}: its timing has no repeat rule, so it was not imported")
        return None
    bounds = repeat.get("boundsPeriod") if isinstance(repeat.get("boundsPeriod"), dict) else {}
    start = _moment(reader, where, bounds.get("start")) if bounds.get("start") else None
    unit = {"d": Repeat.DAILY, "wk": Repeat.WEEKLY, "mo": Repeat.MONTHLY}.get(
        _code(repeat.get("periodUnit"))
    )
    if start is None or unit is None or repeat.get("frequency", 1) != 1:
        reader.not_mapped.append(
            f"{where}: its timing (it needs a start date and once a day, week or month) "
            "could not be kept, so it was not imported"
        )
        return None
    interval = reader.whole(where, repeat.get("period", 1), "the repeat period", 1, 52) or 1
    days = repeat.get("dayOfWeek", [])
    weekdays = tuple(sorted(WEEKDAY_CODES.index(d) for d in days if d in WEEKDAY_CODES))
    if not isinstance(days, list) or len(weekdays) != len(days):
        reader.problem(where, "dayOfWeek must be a list of mon, tue, wed, thu, fri, sat or sun")
    times = repeat.get("timeOfDay", [])
    at = None
    if isinstance(times, list) and times:
        try:
            at = time.fromisoformat(str(times[0])).replace(second=0)
        except ValueError:
            reader.problem(where, "timeOfDay must be a time like 09:30:00")
        if len(times) > 1:
            reader.not_mapped.append(f"{where}: only the first time of day was kept")
    until = reader.day(where, bounds, "end") if bounds.get("end") else None
    if until is not None and until < start[0]:
        reader.problem(where, "its timing ends before it starts")
    extra = set(repeat) - {"boundsPeriod", "frequency", "period", "periodUnit"}
    extra -= {"dayOfWeek", "timeOfDay"}
    if extra:
        reader.not_mapped.append(f"{where}: timing {', '.join(sorted(extra))} not kept")
    if unit is Repeat.WEEKLY and not weekdays:
        weekdays = (start[0].weekday(),)
    return Schedule(
        unit, start[0], until, interval, weekdays if unit is Repeat.WEEKLY else (), at or start[1]
    )


def _schedule(reader: _Reader, where: str, detail: dict) -> Schedule | None:
    if isinstance(detail.get("scheduledPeriod"), dict):
        start = _moment(reader, where, detail["scheduledPeriod"].get("start"))
        if start is None:
            return None
        return Schedule(Repeat.ONCE, start[0], at=start[1])
    if "scheduledTiming" in detail:
        return _timing(reader, where, detail["scheduledTiming"])
    reader.not_mapped.append(f"{where}: it has no date, so it was not imported")
    return None


def _owner(reader: _Reader, detail: dict, patient: dict) -> tuple[Owner, str]:
    """Who does it: our extension if present, else the kind of the first performer."""
    performers = detail.get("performer")
    first = performers[0] if isinstance(performers, list) and performers else None
    target = reader.resolve(first)
    if target is not None:
        reader.used.add(id(target))
    display = first.get("display") if isinstance(first, dict) else None
    name = display if isinstance(display, str) else _name(target) if target else ""
    owner_ext = _ours(detail.get("extension"), "action-owner")
    if owner_ext and _code(owner_ext.get("valueCode")) in {o.value for o in Owner}:
        owner = Owner(owner_ext["valueCode"])
    elif target is patient or first is None:
        owner = Owner.ME
    elif target and target.get("resourceType") == "RelatedPerson":
        owner = Owner.CARER
    elif target and target.get("resourceType") == "Practitioner":
        owner = Owner.COORDINATOR
    else:
        owner = Owner.OTHER
    # "Me" has no name; the default words for the others are not a name either.
    if owner is Owner.ME or name in ("", actions.OWNER_LABELS[owner]):
        name = ""
    if len(name) > 100:
        reader.problem(f"The performer {name[:40]}", "the name is over 100 characters")
    return owner, name


def _read_activity(
    reader: _Reader, n: int, activity: dict, goal_keys: dict[int, str], patient: dict
) -> ImportedAction | None:
    detail = activity.get("detail")
    if not isinstance(detail, dict):
        ref = activity.get("reference") if isinstance(activity.get("reference"), dict) else {}
        label = ref.get("display") or ref.get("reference") or "no details"
        reader.not_mapped.append(
            f"Activity {n} ({label}): only activities with a detail can be kept"
        )
        return None
    what = reader.text(f"Activity {n}", detail, "description", actions.MAX_WHAT)
    what = what or _concept_text(detail.get("code"))
    where = _where("Activity", n, what)
    status = _check_item(reader, where, what, actions.MAX_WHAT, ("status", detail, ACTIVITY_STATUS))
    if status is None:
        return None
    if status in ("on-hold", "cancelled", "stopped", "unknown"):
        reader.not_mapped.append(f"{where}: its status ({status}) was not kept")
    goal_refs = _list(detail.get("goal"))
    linked = [goal_keys.get(id(reader.resolve(r))) for r in goal_refs]
    linked = [key for key in linked if key]
    if not linked:
        reader.not_mapped.append(
            f"{where}: it is not linked to a goal in the bundle, so it was not imported"
        )
        return None
    if len(linked) > 1:
        reader.not_mapped.append(f"{where}: kept under its first goal only")
    schedule = _schedule(reader, where, detail)
    if schedule is None:
        return None
    owner, owner_name = _owner(reader, detail, patient)
    ext = detail.get("extension")
    confidence_ext = _ours(ext, "action-confidence")
    confidence = (
        reader.whole(where, confidence_ext.get("valueInteger"), "confidence", 1, 10)
        if confidence_ext
        else None
    )
    if confidence is not None and owner is not Owner.ME:
        reader.not_mapped.append(f"{where}: confidence is kept only for the person's own actions")
        confidence = None
    texts = {
        name: reader.text(where, _ours(ext, name) or {}, "valueString", actions.MAX_TEXT)
        for name in ("action-support-needed", "action-barriers", "action-strategies")
    }
    _other_extensions(reader, where, detail, {"action-owner", "action-confidence", *texts.keys()})
    reader.leftover(
        where,
        detail,
        {
            "status",
            "description",
            "code",
            "goal",
            "performer",
            "scheduledPeriod",
            "scheduledTiming",
            "extension",
        },
    )
    reader.leftover(where, activity, {"detail"})
    return ImportedAction(
        goal_key=linked[0],
        what=what,
        owner=owner,
        owner_name=owner_name,
        schedule=schedule,
        confidence=confidence,
        support_needed=texts["action-support-needed"],
        barriers=texts["action-barriers"],
        strategies=texts["action-strategies"],
        done=status == "completed"
        and schedule.repeat is Repeat.ONCE
        and schedule.start <= clock.today(),
    )


def _contact(
    reader: _Reader, participant: dict, contained: dict[str, dict]
) -> ImportedContact | None:
    ref = participant.get("member") if isinstance(participant.get("member"), dict) else {}
    member = reader.resolve(ref, contained)
    if member is not None:
        reader.used.add(id(member))
    display = ref.get("display")
    name = _name(member) if member else display if isinstance(display, str) else ""
    roles = _list(participant.get("role"))
    role_concept = roles[0] if roles else {}
    ours = {c for s, c in _codes(role_concept) if s == CODES + "contact-role"}
    if _ours(participant.get("extension"), "care-team-member"):
        reader.not_mapped.append(
            f"{name or 'Someone'} could see the record in the other tracker; "
            "share this record with them if they should see it here"
        )
        return None
    if not name:
        reader.not_mapped.append("A care team member without a name was not imported")
        return None
    kind = member.get("resourceType") if member else ""
    if ours & {r.value for r in ContactRole}:
        role = ContactRole(next(iter(ours & {r.value for r in ContactRole})))
    elif kind == "Practitioner":
        role = ContactRole.PROFESSIONAL
    elif member and (RELATIONSHIP, "N") in {
        pair for r in _list(member.get("relationship")) for pair in _codes(r)
    }:
        role = ContactRole.NEXT_OF_KIN
    else:
        role = ContactRole.OTHER
    detail = _concept_text(role_concept)
    detail = "" if detail == role.label else detail
    telecom = [t for t in _list(member.get("telecom")) if isinstance(t, dict)] if member else []
    phone, email = (
        next((_code(t.get("value")) for t in telecom if t.get("system") == system), "")
        for system in ("phone", "email")
    )
    if member:
        reader.leftover(f"{kind} {name}", member, {"name", "telecom", "patient", "relationship"})
    for what, value, limit in (("name", name, 100), ("role", detail, 200)):
        if len(value) > limit:
            reader.problem(f"Care team member {name[:40]}", f"{what} is over {limit} characters")
    if len(phone) > 50 or len(email) > 200:
        reader.problem(f"Care team member {name[:40]}", "a phone number or email is too long")
    return ImportedContact(name, role, detail, phone, email)


def _index(reader: _Reader, bundle: dict) -> list[dict]:
    entries = bundle.get("entry", [])
    if not isinstance(entries, list):
        reader.problem("Bundle", "entry must be a list")
        return []
    resources = []
    for n, entry in enumerate(entries, start=1):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
            reader.problem(f"Entry {n}", "it has no resource with a resourceType")
            continue
        resources.append(resource)
        full_url = entry.get("fullUrl")
        if isinstance(full_url, str):
            reader.by_ref[full_url] = resource
        if isinstance(resource.get("id"), str):
            reader.by_ref[f"{resource['resourceType']}/{resource['id']}"] = resource
    return resources


def _plan_sections(reader: _Reader, care_plan: dict) -> dict[str, str]:
    sections: dict[str, str] = {}
    for n, note in enumerate(reader.items("CarePlan", care_plan, "note"), start=1):
        section = _ours(note.get("extension"), "plan-section")
        key = _code(section.get("valueCode")) if section else None
        text = reader.text(f"CarePlan note {n}", note, "text", 10 * plans.MAX_TEXT, required=True)
        if key in plans.SECTIONS:
            prefix = f"{plans.SECTIONS[key]}: "
            text = text.removeprefix(prefix)
            if len(text) > plans.MAX_TEXT:
                reader.problem(f"CarePlan note {n}", f"is longer than {plans.MAX_TEXT} characters")
            sections[key] = text
        elif text:
            reader.not_mapped.append(f"CarePlan note {n} not kept: “{text[:80]}”")
    return sections


def _read_care_plan(reader: _Reader, resources: list[dict]) -> ImportedPlan | None:
    plans_found = [r for r in resources if r["resourceType"] == "CarePlan"]
    if len(plans_found) != 1:
        reader.problem(
            "Bundle",
            "it has no CarePlan" if not plans_found else "it must hold one CarePlan, not several",
        )
        return None
    care_plan = plans_found[0]
    if _code(care_plan.get("status")) not in CAREPLAN_STATUS:
        reader.problem("CarePlan", "status is missing or not a FHIR R4 care plan status")
    if _code(care_plan.get("intent")) not in CAREPLAN_INTENT:
        reader.problem("CarePlan", "intent is missing or not a FHIR R4 care plan intent")
    patient = reader.resolve(care_plan.get("subject"))
    patients = [r for r in resources if r["resourceType"] == "Patient"]
    if patient is None and len(patients) == 1:
        patient = patients[0]
    if patient is None or patient.get("resourceType") != "Patient":
        reader.problem("CarePlan", "subject must point to a Patient in the bundle")
        return None
    name = _name(patient)
    if not name:
        reader.problem("Patient", "it has no name")
    elif len(name) > 100:
        reader.problem("Patient", "the name is longer than 100 characters")
    contacts = _list(patient.get("contact"))
    acting_for = next(
        (
            _name({"name": c.get("name")})
            for c in contacts
            if isinstance(c, dict)
            and any(
                (CODES + "contact-role", "acting-for") in _codes(r)
                for r in _list(c.get("relationship"))
            )
        ),
        "",
    )
    if len(acting_for) > 100:
        reader.problem("Patient", "the name of who acts for them is over 100 characters")
    if len(contacts) > (1 if acting_for else 0):
        reader.not_mapped.append("Patient: contacts other than who acts for them not kept")
    reader.leftover("Patient", patient, {"name", "contact"})

    goal_resources = [r for r in resources if r["resourceType"] == "Goal"]
    activities = _list(care_plan.get("activity"))
    if len(goal_resources) > MAX_GOALS or len(activities) > MAX_ACTIONS:
        reader.problem(
            "CarePlan", f"a plan may have up to {MAX_GOALS} goals and {MAX_ACTIONS} activities"
        )
        return None
    imported_goals = []
    goal_keys: dict[int, str] = {}
    for n, goal in enumerate(goal_resources, start=1):
        read = _read_goal(reader, n, goal, str(n))
        if read is not None:
            imported_goals.append(read)
            goal_keys[id(goal)] = read.key
    imported_actions = [
        read
        for n, activity in enumerate(reader.items("CarePlan", care_plan, "activity"), start=1)
        if (read := _read_activity(reader, n, activity, goal_keys, patient)) is not None
    ]
    contained = {
        c["id"]: c
        for c in reader.items("CarePlan", care_plan, "contained")
        if isinstance(c.get("id"), str)
    }
    contacts_out = []
    for team_ref in _list(care_plan.get("careTeam")):
        team = reader.resolve(team_ref, contained)
        if team is None or team.get("resourceType") != "CareTeam":
            reader.not_mapped.append("A care team that is not in the bundle was not imported")
            continue
        reader.used.add(id(team))
        for participant in reader.items("CareTeam", team, "participant"):
            contact = _contact(reader, participant, contained)
            if contact is not None:
                contacts_out.append(contact)
    ext = care_plan.get("extension")
    interval_ext = _ours(ext, "review-interval-months")
    interval = (
        reader.whole("CarePlan", interval_ext.get("valueInteger"), "the review interval", 1, 12)
        if interval_ext
        else None
    )
    sign_off = _ours(ext, "sign-off") or {}
    sign_parts = {
        _code(e.get("url")): e for e in _list(sign_off.get("extension")) if isinstance(e, dict)
    }
    _other_extensions(
        reader, "CarePlan", care_plan, {"review-interval-months", "next-review", "sign-off"}
    )
    reader.leftover(
        "CarePlan",
        care_plan,
        {
            "status",
            "intent",
            "title",
            "subject",
            "period",
            "contained",
            "careTeam",
            "goal",
            "activity",
            "note",
            "extension",
        },
    )
    period = care_plan.get("period") if isinstance(care_plan.get("period"), dict) else {}
    if period.get("end"):
        reader.not_mapped.append("CarePlan: the end of the plan's period not kept")
    return ImportedPlan(
        name=name,
        acting_for=acting_for,
        sections=_plan_sections(reader, care_plan),
        contacts=tuple(contacts_out),
        start_date=reader.day("CarePlan period", period, "start"),
        next_review=reader.day("CarePlan", _ours(ext, "next-review") or {}, "valueDate"),
        review_interval_months=interval or 12,
        signed_off_on=reader.day("CarePlan sign-off", sign_parts.get("date", {}), "valueDate"),
        signed_off_by=reader.text(
            "CarePlan sign-off", sign_parts.get("by", {}), "valueString", 100
        ),
        goals=tuple(imported_goals),
        actions=tuple(imported_actions),
    )


def read_bundle(raw: bytes) -> ReadResult:
    """Check a FHIR R4 Bundle and read its CarePlan; writes nothing."""
    reader = _Reader()
    if len(raw) > MAX_IMPORT_BYTES:
        reader.problem("The file", f"it is larger than {MAX_IMPORT_BYTES // 1024} KB")
        return ReadResult(None, tuple(reader.problems), ())
    try:
        bundle = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        return ReadResult(None, ("The file: it is not text in UTF-8",), ())
    except json.JSONDecodeError as error:
        return ReadResult(
            None,
            (f"The file: it is not valid JSON (line {error.lineno}, column {error.colno})",),
            (),
        )
    except RecursionError:
        return ReadResult(None, ("The file: it is nested too deeply to read",), ())
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        return ReadResult(None, ("The file: it is not a FHIR Bundle (resourceType Bundle)",), ())
    if _code(bundle.get("type")) not in BUNDLE_TYPES:
        reader.problem("Bundle", "type is missing or not a FHIR R4 bundle type")
    resources = _index(reader, bundle)
    plan = _read_care_plan(reader, resources) if not reader.problems else None
    people = {"RelatedPerson", "Practitioner", "CareTeam"}
    for r in resources:
        if r["resourceType"] in people and id(r) not in reader.used:
            who = _name(r) or "without a name"
            reader.not_mapped.append(
                f"{r['resourceType']} {who} not imported: not in the plan's care team"
            )
    kept = {"CarePlan", "Patient", "Goal", *people}
    for kind, count in sorted(Counter(r["resourceType"] for r in resources).items()):
        if kind == "Observation":
            reader.not_mapped.append(
                f"{count} Observation(s) not imported: a new record starts without past readings"
            )
        elif kind not in kept:
            reader.not_mapped.append(f"{count} {kind} resource(s) not imported")
    if reader.problems:
        problems = reader.problems[:MAX_PROBLEMS]
        if len(reader.problems) > MAX_PROBLEMS:
            problems.append(f"And {len(reader.problems) - MAX_PROBLEMS} more problems")
        return ReadResult(None, tuple(problems), ())
    return ReadResult(plan, (), tuple(reader.not_mapped))


# --- import: writing ----------------------------------------------------------------------


@dataclass(frozen=True)
class ImportResult:
    record: records.Record
    invitation_token: str
    goals: int
    actions: int


class ImportFailed(Exception):
    """The new record could not be written; everything written for it was removed."""


def _write_plan(record_id: str, plan: ImportedPlan, by: str) -> None:
    """Write the plan, contacts, goals and actions into the new record's own folder."""
    plans.save_plan(
        record_id,
        by=by,
        sections=plan.sections,
        start_date=plan.start_date,
        next_review=plan.next_review,
        review_interval_months=plan.review_interval_months,
        signed_off_on=plan.signed_off_on,
        signed_off_by=plan.signed_off_by,
    )
    for contact in plan.contacts:
        plans.add_contact(record_id, by=by, **asdict(contact))
    goal_ids = {}
    for g in plan.goals:
        made = goals.add_goal(
            record_id,
            outcome=g.outcome,
            by=by,
            need=g.need,
            measure=g.measure,
            importance=g.importance,
        )
        goal_ids[g.key] = made.id
        if g.status is not GoalStatus.IN_PROGRESS or g.status_note:
            goals.set_goal_status(record_id, made.id, g.status, by=by, note=g.status_note)
        for text in g.notes:
            goals.add_note(record_id, made.id, text=text, by=by)
    for a in plan.actions:
        made_action = actions.add_action(
            record_id,
            goal_id=goal_ids[a.goal_key],
            what=a.what,
            owner=a.owner,
            schedule=a.schedule,
            owner_name=a.owner_name,
            confidence=a.confidence,
            support_needed=a.support_needed,
            barriers=a.barriers,
            strategies=a.strategies,
        )
        if a.done:
            actions.mark_occurrence(
                record_id,
                made_action,
                a.schedule.start,
                actions.Outcome.DONE,
                by=by,
                today=clock.today(),
            )


def _discard(record_id: str) -> None:
    """Remove everything a failed import wrote: the folder, invitation, membership, entry."""
    store = get_store()
    store.delete_scope_folder(records.log_scope(record_id))
    for scope, table in (
        (invitations.SCOPE, invitations.TABLE),
        (sharing.SCOPE, sharing.TABLE),
    ):
        with store.transaction(scope) as tx:
            tx.remove_where(table, lambda doc: doc.get("record_id") == record_id)
    with store.transaction(records.SCOPE) as tx:
        tx.remove(records.TABLE, record_id)


def start_record(plan: ImportedPlan, *, by: str) -> ImportResult:
    """Create a new person's record from a read bundle, with ``by`` as its coordinator.

    Like the full export's import, the record appears in the index (and so in the
    coordinator's caseload) only once its plan, goals, actions, invitation and the
    coordinator's membership are all in place. If any step fails, everything
    written for it is removed and :class:`ImportFailed` is raised.
    """
    record = records.Record(
        id=new_id(),
        name=plan.name.strip(),
        owner_id=None,
        acting_for=plan.acting_for.strip(),
        created_by=by,
        created_at=clock.now().isoformat(),
    )
    try:
        _write_plan(record.id, plan, by)
        token, _ = invitations.create_invitation(
            record.id, Role.OWNER, created_by=by, label=record.name
        )
        sharing.add_member(record.id, by, Role.COORDINATOR)
        # Last: the record appears only once everything it holds is in place.
        with get_store().transaction(records.SCOPE) as tx:
            tx.insert(records.TABLE, asdict(record))
    except Exception as exc:
        _discard(record.id)
        raise ImportFailed(record.id) from exc
    return ImportResult(record, token, len(plan.goals), len(plan.actions))
