"""The person's logs: mood check-ins, symptom readings, diary entries and more.

All kinds share one month-by-month ``log`` stream per record, so the history is
one timeline and a write touches one month's file only. Each entry carries its
kind, when it happened (``occurred_at``), who logged it, and the kind's fields.
Which kinds a member may see follows the sharing categories (``KIND_CATEGORY``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from . import clock
from .records import log_scope
from .roles import Category
from .sharing import Membership, entry_visible_to
from .store import get_store

STREAM = "log"


class Kind(StrEnum):
    MOOD = "mood"
    READING = "reading"
    DIARY = "diary"
    SUPPORT = "support"
    EVENT = "event"
    ACTION = "action"


KIND_CATEGORY: dict[Kind, Category] = {
    Kind.MOOD: Category.MOOD,
    Kind.READING: Category.SYMPTOMS,
    Kind.DIARY: Category.DIARY,
    Kind.SUPPORT: Category.SUPPORT,
    Kind.EVENT: Category.PLAN,
    Kind.ACTION: Category.ACTIONS,
}

MOOD_WORDS = {1: "Very low", 2: "Low", 3: "Okay", 4: "Good", 5: "Very good"}


class DiaryMark(StrEnum):
    WORKING = "working"
    NOT_WORKING = "not_working"


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


def log(
    record_id: str,
    kind: Kind,
    *,
    author_id: str,
    data: dict[str, Any],
    occurred_at: datetime | None = None,
    recorded_at: datetime | None = None,
) -> str:
    """Append one entry; returns its id."""
    when = occurred_at or clock.now()
    return get_store().append_entry(
        log_scope(record_id),
        STREAM,
        {
            "kind": kind.value,
            "occurred_at": when.isoformat(),
            "author_id": author_id,
            "data": data,
            "shared_with": [],
        },
        recorded_at=recorded_at,
    )


def record_mood(
    record_id: str,
    *,
    author_id: str,
    score: int,
    note: str = "",
    occurred_at: datetime | None = None,
    recorded_at: datetime | None = None,
) -> str:
    if score not in MOOD_WORDS:
        raise ValueError("mood score must be 1 to 5")
    return log(
        record_id,
        Kind.MOOD,
        author_id=author_id,
        data={"score": score, "note": note},
        occurred_at=occurred_at,
        recorded_at=recorded_at,
    )


def record_reading(
    record_id: str,
    *,
    author_id: str,
    tracker_id: str,
    value: float,
    occurred_at: datetime | None = None,
    recorded_at: datetime | None = None,
) -> str:
    return log(
        record_id,
        Kind.READING,
        author_id=author_id,
        data={"tracker_id": tracker_id, "value": value},
        occurred_at=occurred_at,
        recorded_at=recorded_at,
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
) -> str:
    return log(
        record_id,
        Kind.DIARY,
        author_id=author_id,
        data={"text": text, "mark": mark.value if mark else None, "goal_id": goal_id},
        occurred_at=occurred_at,
        recorded_at=recorded_at,
    )


def raw_entries(
    record_id: str, *, kinds: Iterable[Kind] | None = None, recorded_since: datetime | None = None
) -> list[dict]:
    """Stored entries (shared, read-only dicts) of some kinds, from a recorded time's month on."""
    wanted = {k.value for k in kinds} if kinds is not None else None
    docs = get_store().list_entries(log_scope(record_id), STREAM, recorded_since=recorded_since)
    return docs if wanted is None else [d for d in docs if d["kind"] in wanted]


def entries(
    record_id: str,
    *,
    kinds: Iterable[Kind] | None = None,
    since: datetime | None = None,
    viewer: Membership | None = None,
) -> list[LogEntry]:
    """Entries newest first, optionally of some kinds, since a time, and visible to ``viewer``."""
    # An entry is recorded no earlier than 5 minutes before it happened (future
    # times are refused), so its month bucket is at least that of since - 5 min.
    recorded_since = since - timedelta(minutes=5) if since else None
    since_iso = since.isoformat() if since else None
    out = []
    for doc in raw_entries(record_id, kinds=kinds, recorded_since=recorded_since):
        if since_iso is not None and doc["occurred_at"] < since_iso:
            continue
        if viewer is not None and not entry_visible_to(
            viewer, doc, KIND_CATEGORY[Kind(doc["kind"])]
        ):
            continue
        out.append(doc)
    out.sort(key=lambda d: d["occurred_at"], reverse=True)
    return [LogEntry.from_doc(d) for d in out]
