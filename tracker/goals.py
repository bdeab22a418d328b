"""Goals (outcomes) and their status timeline.

A goal answers an assessed need with an outcome in the person's own words. Its
status is one of five; each change is a dated event with who made it and an
optional note, appended to the goal's timeline and never overwritten.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from . import clock
from .records import record_scope
from .store import get_store

TABLE = "goals"


class GoalStatus(StrEnum):
    IN_PROGRESS = "in_progress"
    ACHIEVED = "achieved"
    ON_HOLD = "on_hold"
    NOT_ACHIEVED = "not_achieved"
    ABANDONED = "abandoned"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


@dataclass(frozen=True)
class StatusChange:
    status: GoalStatus
    at: str
    by: str
    note: str


@dataclass(frozen=True)
class Goal:
    id: str
    need: str
    outcome: str
    measure: str
    importance: int | None
    status: GoalStatus
    timeline: tuple[StatusChange, ...]
    created_at: str

    @classmethod
    def from_doc(cls, doc: dict) -> Goal:
        return cls(
            id=doc["id"],
            need=doc.get("need", ""),
            outcome=doc["outcome"],
            measure=doc.get("measure", ""),
            importance=doc.get("importance"),
            status=GoalStatus(doc.get("status", GoalStatus.IN_PROGRESS)),
            timeline=tuple(
                StatusChange(GoalStatus(e["status"]), e["at"], e["by"], e.get("note", ""))
                for e in doc.get("timeline", [])
            ),
            created_at=doc["created_at"],
        )


def add_goal(
    record_id: str,
    *,
    outcome: str,
    by: str,
    need: str = "",
    measure: str = "",
    importance: int | None = None,
) -> Goal:
    """Add a goal, in progress."""
    now = clock.now().isoformat()
    doc = {
        "need": need,
        "outcome": outcome,
        "measure": measure,
        "importance": importance,
        "status": GoalStatus.IN_PROGRESS.value,
        "timeline": [{"status": GoalStatus.IN_PROGRESS.value, "at": now, "by": by, "note": ""}],
        "created_at": now,
    }
    with get_store().transaction(record_scope(record_id)) as tx:
        doc["id"] = tx.insert(TABLE, doc)
    return Goal.from_doc(doc)


def list_goals(record_id: str) -> list[Goal]:
    docs = get_store().read(record_scope(record_id)).all(TABLE)
    return sorted((Goal.from_doc(d) for d in docs), key=lambda g: g.created_at)


def get_goal(record_id: str, goal_id: str) -> Goal | None:
    doc = get_store().read(record_scope(record_id)).get(TABLE, goal_id)
    return Goal.from_doc(doc) if doc else None


def set_goal_status(
    record_id: str, goal_id: str, status: GoalStatus, *, by: str, note: str = ""
) -> Goal | None:
    """Change a goal's status, appending the change to its timeline."""
    with get_store().transaction(record_scope(record_id)) as tx:
        doc = tx.get(TABLE, goal_id)
        if doc is None:
            return None
        event = {"status": status.value, "at": clock.now().isoformat(), "by": by, "note": note}
        timeline = [*doc.get("timeline", []), event]
        tx.update(TABLE, goal_id, {"status": status.value, "timeline": timeline})
        doc.update(status=status.value, timeline=timeline)
    return Goal.from_doc(doc)
