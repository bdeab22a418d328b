"""The record's logs: mood, symptom readings, diary, carer support, care events and more.

All kinds share one month-by-month ``log`` stream per record, so the history is
one timeline and a write touches one month's file only. Each entry carries its
kind, when it happened (``occurred_at``), who logged it, and the kind's fields.
Which kinds a member may see follows the sharing categories (``KIND_CATEGORY``);
one diary entry can also be shared on its own (``shared_with``).

Entries are validated here as well as in the forms, so nothing invalid is ever
stored: numbers must be finite, times no more than 5 minutes in the future,
text within its length limit.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from operator import itemgetter
from typing import Any

from . import clock, digests
from .records import log_scope
from .roles import Category
from .sharing import Membership, entry_visible_to
from .store import get_store

STREAM = "log"
FUTURE_SLACK = timedelta(minutes=5)
MAX_DIARY = 5000
MAX_NOTE = 1000


class Kind(StrEnum):
    MOOD = "mood"
    WELLBEING = "wellbeing"
    READING = "reading"
    RULE_HIT = "rule_hit"
    DIARY = "diary"
    SUPPORT = "support"
    EVENT = "event"
    ACTION = "action"

    @property
    def label(self) -> str:
        return KIND_LABELS[self]


KIND_LABELS: dict[Kind, str] = {
    Kind.MOOD: "Mood",
    Kind.WELLBEING: "Wellbeing questions",
    Kind.READING: "Symptom reading",
    Kind.RULE_HIT: "Early warning sign",
    Kind.DIARY: "Diary",
    Kind.SUPPORT: "Carer support",
    Kind.EVENT: "Care event",
    Kind.ACTION: "Action",
}

KIND_CATEGORY: dict[Kind, Category] = {
    Kind.MOOD: Category.MOOD,
    Kind.WELLBEING: Category.MOOD,
    Kind.READING: Category.SYMPTOMS,
    Kind.RULE_HIT: Category.SYMPTOMS,
    Kind.DIARY: Category.DIARY,
    Kind.SUPPORT: Category.SUPPORT,
    Kind.EVENT: Category.PLAN,
    Kind.ACTION: Category.ACTIONS,
}

MOOD_WORDS = {1: "Very low", 2: "Low", 3: "Okay", 4: "Good", 5: "Very good"}


class DiaryMark(StrEnum):
    WORKING = "working"
    NOT_WORKING = "not_working"

    @property
    def label(self) -> str:
        return "Working" if self is DiaryMark.WORKING else "Not working"


class SupportKind(StrEnum):
    GIVEN = "given"
    MISSED = "missed"
    OBSERVATION = "observation"


class MissedReason(StrEnum):
    CARER_UNWELL = "carer_unwell"
    PA_ON_LEAVE = "pa_on_leave"
    OTHER = "other"

    @property
    def label(self) -> str:
        return {
            "carer_unwell": "Carer unwell",
            "pa_on_leave": "PA on leave",
            "other": "Another reason",
        }[self.value]


class EventType(StrEnum):
    A_AND_E = "a_and_e"
    ADMISSION = "admission"
    DISCHARGE = "discharge"
    OUT_OF_HOURS_GP = "out_of_hours_gp"
    CRISIS_TEAM = "crisis_team"
    AMBULANCE = "ambulance"
    NEW_DIAGNOSIS = "new_diagnosis"
    BEREAVEMENT = "bereavement"
    SUPPORT_CHANGE = "support_change"

    @property
    def label(self) -> str:
        return EVENT_LABELS[self]

    @property
    def unplanned_care(self) -> bool:
        return self in UNPLANNED_CARE

    @property
    def offers_early_review(self) -> bool:
        return self in (EventType.DISCHARGE, EventType.NEW_DIAGNOSIS)


EVENT_LABELS: dict[EventType, str] = {
    EventType.A_AND_E: "A&E visit",
    EventType.ADMISSION: "Admitted to hospital",
    EventType.DISCHARGE: "Discharged from hospital",
    EventType.OUT_OF_HOURS_GP: "Out-of-hours GP",
    EventType.CRISIS_TEAM: "Crisis team",
    EventType.AMBULANCE: "Ambulance called",
    EventType.NEW_DIAGNOSIS: "New diagnosis",
    EventType.BEREAVEMENT: "Bereavement",
    EventType.SUPPORT_CHANGE: "Change in support",
}
UNPLANNED_CARE = frozenset(
    {
        EventType.A_AND_E,
        EventType.ADMISSION,
        EventType.DISCHARGE,
        EventType.OUT_OF_HOURS_GP,
        EventType.CRISIS_TEAM,
        EventType.AMBULANCE,
    }
)

ONS4_QUESTIONS = (
    ("satisfied", "Overall, how satisfied are you with your life nowadays?"),
    (
        "worthwhile",
        "Overall, to what extent do you feel that the things you do in your life are worthwhile?",
    ),
    ("happy", "Overall, how happy did you feel yesterday?"),
    (
        "anxious",
        "On a scale where 0 is 'not at all anxious' and 10 is 'completely anxious', "
        "overall, how anxious did you feel yesterday?",
    ),
)
ONS4_CITATION = (
    "The ONS personal wellbeing questions, from the Office for National Statistics "
    "(ONS4), used under the Open Government Licence."
)


class InvalidEntry(ValueError):
    """An entry that must not be stored (the forms catch these first)."""


@dataclass(frozen=True)
class LogEntry:
    id: str
    kind: Kind
    occurred_at: datetime
    author_id: str
    data: dict[str, Any]
    shared_with: tuple[str, ...]
    recorded_at: str

    @classmethod
    def from_doc(cls, doc: dict) -> LogEntry:
        return cls(
            id=doc["id"],
            kind=Kind(doc["kind"]),
            occurred_at=clock.parse(doc["occurred_at"]),
            author_id=doc["author_id"],
            data=doc.get("data", {}),
            shared_with=tuple(doc.get("shared_with", ())),
            recorded_at=doc.get("recorded_at", ""),
        )


def utc_iso(when: datetime) -> str:
    """How times are stored: ISO 8601 in UTC, so that stored times sort and compare as text.

    A time typed in UK time carries ``+01:00`` in summer; stored as it was, it would
    sort an hour out against times stored from ``clock.now()`` (``+00:00``).
    """
    return when.astimezone(UTC).isoformat()


def _sort_key(stored: str) -> str:
    """A stored time as comparable text (older entries may carry a UK offset)."""
    return stored if stored.endswith("+00:00") else utc_iso(datetime.fromisoformat(stored))


def check_time(when: datetime) -> datetime:
    """A time is timezone-aware and no more than 5 minutes in the future."""
    if when.tzinfo is None:
        raise InvalidEntry("times must be timezone-aware")
    if when > clock.now() + FUTURE_SLACK:
        raise InvalidEntry("that time is in the future")
    return when


def check_number(value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidEntry("numbers must be finite")
    return value


def check_text(value: str, limit: int) -> str:
    value = (value or "").strip()
    if len(value) > limit:
        raise InvalidEntry(f"text is longer than {limit} characters")
    return value


def log(
    record_id: str,
    kind: Kind,
    *,
    author_id: str,
    data: dict[str, Any],
    occurred_at: datetime | None = None,
    recorded_at: datetime | None = None,
    client_key: str | None = None,
) -> str:
    """Append one entry; returns its id. ``client_key`` makes a replay harmless."""
    when = occurred_at or clock.now()
    if recorded_at is None:
        check_time(when)
    entry_id = get_store().append_entry(
        log_scope(record_id),
        STREAM,
        {
            "kind": kind.value,
            "occurred_at": utc_iso(when),
            "author_id": author_id,
            "data": data,
            "shared_with": [],
        },
        recorded_at=recorded_at,
        client_key=client_key,
    )
    digests.note_activity(
        record_id, at=(recorded_at or clock.now()).isoformat(), rule_hit=kind is Kind.RULE_HIT
    )
    return entry_id


def record_mood(
    record_id: str,
    *,
    author_id: str,
    score: int,
    note: str = "",
    occurred_at: datetime | None = None,
    recorded_at: datetime | None = None,
    client_key: str | None = None,
) -> str:
    if isinstance(score, bool) or not isinstance(score, int) or score not in MOOD_WORDS:
        raise InvalidEntry("mood score must be 1 to 5")
    return log(
        record_id,
        Kind.MOOD,
        author_id=author_id,
        data={"score": score, "note": check_text(note, MAX_NOTE)},
        occurred_at=occurred_at,
        recorded_at=recorded_at,
        client_key=client_key,
    )


def record_wellbeing(
    record_id: str, *, author_id: str, answers: dict[str, int], occurred_at: datetime | None = None
) -> str:
    """The four ONS personal wellbeing answers, each 0 to 10."""
    keys = {k for k, _ in ONS4_QUESTIONS}
    if set(answers) != keys or any(
        isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= 10 for v in answers.values()
    ):
        raise InvalidEntry("each wellbeing answer is a whole number from 0 to 10")
    return log(
        record_id, Kind.WELLBEING, author_id=author_id, data=dict(answers), occurred_at=occurred_at
    )


def record_reading(
    record_id: str,
    *,
    author_id: str,
    tracker_id: str,
    value: float,
    note: str = "",
    occurred_at: datetime | None = None,
    recorded_at: datetime | None = None,
    client_key: str | None = None,
) -> str:
    """A symptom reading; the caller has checked the value against the tracker's range."""
    return log(
        record_id,
        Kind.READING,
        author_id=author_id,
        data={
            "tracker_id": tracker_id,
            "value": check_number(value),
            "note": check_text(note, MAX_NOTE),
        },
        occurred_at=occurred_at,
        recorded_at=recorded_at,
        client_key=client_key,
    )


def write_diary(
    record_id: str,
    *,
    author_id: str,
    text: str,
    mark: DiaryMark | None = None,
    goal_id: str | None = None,
    occurred_at: datetime | None = None,
    recorded_at: datetime | None = None,
    client_key: str | None = None,
) -> str:
    text = check_text(text, MAX_DIARY)
    if not text:
        raise InvalidEntry("a diary entry needs some text")
    return log(
        record_id,
        Kind.DIARY,
        author_id=author_id,
        data={"text": text, "mark": mark.value if mark else None, "goal_id": goal_id},
        occurred_at=occurred_at,
        recorded_at=recorded_at,
        client_key=client_key,
    )


def record_support(
    record_id: str,
    *,
    author_id: str,
    kind: SupportKind,
    what: str,
    minutes: int | None = None,
    action_id: str | None = None,
    reason: MissedReason | None = None,
    reason_text: str = "",
    occurred_at: datetime | None = None,
    recorded_at: datetime | None = None,
    client_key: str | None = None,
) -> str:
    """Support given (with how long), planned support missed (with why), or an observation."""
    if minutes is not None and (isinstance(minutes, bool) or not 0 <= minutes <= 24 * 60):
        raise InvalidEntry("minutes must be 0 to 1440")
    if kind is SupportKind.MISSED and reason is None:
        raise InvalidEntry("missed support needs a reason")
    return log(
        record_id,
        Kind.SUPPORT,
        author_id=author_id,
        data={
            "kind": kind.value,
            "what": check_text(what, MAX_NOTE),
            "minutes": minutes if kind is SupportKind.GIVEN else None,
            "action_id": action_id,
            "reason": reason.value if kind is SupportKind.MISSED and reason else None,
            "reason_text": check_text(reason_text, 200) if kind is SupportKind.MISSED else "",
        },
        occurred_at=occurred_at,
        recorded_at=recorded_at,
        client_key=client_key,
    )


def record_event(
    record_id: str,
    *,
    author_id: str,
    event: EventType,
    note: str = "",
    occurred_at: datetime | None = None,
    recorded_at: datetime | None = None,
) -> str:
    return log(
        record_id,
        Kind.EVENT,
        author_id=author_id,
        data={"event": event.value, "note": check_text(note, MAX_NOTE)},
        occurred_at=occurred_at,
        recorded_at=recorded_at,
    )


def get_entry(record_id: str, entry_id: str) -> LogEntry | None:
    doc = get_store().get_entry(log_scope(record_id), STREAM, entry_id)
    return LogEntry.from_doc(doc) if doc else None


def update_entry(
    record_id: str, entry_id: str, *, data: dict[str, Any], occurred_at: datetime
) -> bool:
    """Replace an entry's fields and time (the caller checked who may)."""
    check_time(occurred_at)
    return get_store().update_entry(
        log_scope(record_id),
        STREAM,
        entry_id,
        {
            "data": data,
            "occurred_at": utc_iso(occurred_at),
            "edited_at": clock.now().isoformat(),
        },
    )


def delete_entry(record_id: str, entry_id: str) -> bool:
    """Remove an entry from disk; its text does not survive anywhere in the record."""
    return get_store().delete_entry(log_scope(record_id), STREAM, entry_id)


def share_entry(record_id: str, entry_id: str, user_ids: Iterable[str]) -> bool:
    """Share one entry with some members (replacing who it was shared with)."""
    return get_store().update_entry(
        log_scope(record_id), STREAM, entry_id, {"shared_with": sorted(set(user_ids))}
    )


def raw_entries(
    record_id: str, *, kinds: Iterable[Kind] | None = None, recorded_since: datetime | None = None
) -> list[dict]:
    """Stored entries (shared, read-only dicts) of some kinds, from a recorded time's month on."""
    wanted = {k.value for k in kinds} if kinds is not None else None
    docs = get_store().list_entries(log_scope(record_id), STREAM, recorded_since=recorded_since)
    return docs if wanted is None else [d for d in docs if d["kind"] in wanted]


def _all_utc(docs: list[dict]) -> bool:
    """True when every time is stored in UTC, so the stored text sorts as the times do.

    "+00:00" can only be the offset at the end of an ISO time, so counting it in the
    joined text is the same check as ``endswith`` on each, without a call per entry.
    """
    return "".join(map(_OCCURRED, docs)).count("+00:00") == len(docs)


_OCCURRED = itemgetter("occurred_at")


def visible_docs(
    record_id: str,
    *,
    kinds: Iterable[Kind] | None = None,
    since: datetime | None = None,
    viewer: Membership | None = None,
    ordered: bool = True,
) -> list[dict]:
    """Raw entries newest first, of some kinds, since a time, that ``viewer`` may see.

    With ``ordered=False`` the order is left as stored (cheaper, for sums and charts).
    The history pages through 20,000 entries with this on every request, so each
    step is one pass in C where it can be (no Python call per entry).
    """
    # An entry is recorded no earlier than 5 minutes before it happened (future
    # times are refused), so its month bucket is at least that of since - 5 min.
    recorded_since = since - FUTURE_SLACK if since else None
    docs = raw_entries(record_id, kinds=kinds, recorded_since=recorded_since)
    if viewer is not None:
        # Kinds this viewer sees whole; the others only where shared one by one.
        whole = {k.value for k in Kind if entry_visible_to(viewer, {}, KIND_CATEGORY[k])}
        if len(whole) < len(Kind):
            uid = viewer.user_id
            docs = [d for d in docs if d["kind"] in whole or uid in d.get("shared_with", ())]
    key = _OCCURRED if _all_utc(docs) else (lambda d: _sort_key(d["occurred_at"]))
    if since is not None:
        since_iso = utc_iso(since)
        docs = [d for d in docs if key(d) >= since_iso]
    if ordered:
        docs = sorted(docs, key=key, reverse=True)
    return docs


def entries(
    record_id: str,
    *,
    kinds: Iterable[Kind] | None = None,
    since: datetime | None = None,
    viewer: Membership | None = None,
) -> list[LogEntry]:
    """Entries newest first, optionally of some kinds, since a time, and visible to ``viewer``."""
    return [
        LogEntry.from_doc(d)
        for d in visible_docs(record_id, kinds=kinds, since=since, viewer=viewer)
    ]


def page(
    record_id: str,
    *,
    viewer: Membership,
    kinds: Iterable[Kind] | None = None,
    goal_id: str | None = None,
    goal_action_ids: frozenset[str] = frozenset(),
    number: int = 1,
    per_page: int = 25,
) -> tuple[list[LogEntry], int]:
    """One page of the history, newest first, and how many entries match in all.

    With ``goal_id``, only entries linked to that goal: diary entries that name
    it, and marks and support for its actions (``goal_action_ids``).
    """
    docs = visible_docs(record_id, kinds=kinds, viewer=viewer)
    if goal_id:
        docs = [
            d
            for d in docs
            if d["data"].get("goal_id") == goal_id or d["data"].get("action_id") in goal_action_ids
        ]
    start = (max(number, 1) - 1) * per_page
    return [LogEntry.from_doc(d) for d in docs[start : start + per_page]], len(docs)
