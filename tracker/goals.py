"""Goals (outcomes), their status timeline and progress notes.

A goal answers an assessed need with an outcome in the person's own words (the
*what*, not the *how*), says how we will know it is working, and carries an
importance score from 1 to 10 (PRSB). Its status is one of five; each change is a
dated event with who made it and an optional note, appended to the goal's
timeline and never overwritten. Progress notes can be added at any time.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from . import clock
from .records import record_scope
from .store import get_store, new_id

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

    @property
    def tag(self) -> str:
        """The NHS tag colour; the label always says the status in words too."""
        return {
            "in_progress": "blue",
            "achieved": "green",
            "on_hold": "yellow",
            "not_achieved": "orange",
            "abandoned": "grey",
        }[self.value]


MAX_OUTCOME = 300
MAX_TEXT = 1000


@dataclass(frozen=True)
class StatusChange:
    status: GoalStatus
    at: str
    by: str
    note: str


@dataclass(frozen=True)
class ProgressNote:
    id: str
    at: str
    by: str
    text: str


@dataclass(frozen=True)
class Goal:
    id: str
    need: str
    outcome: str
    measure: str
    importance: int | None
    status: GoalStatus
    timeline: tuple[StatusChange, ...]
    notes: tuple[ProgressNote, ...]
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
            notes=tuple(
                ProgressNote(n["id"], n["at"], n["by"], n["text"]) for n in doc.get("notes", [])
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
    if importance is not None and not 1 <= importance <= 10:
        raise ValueError("importance is 1 to 10")
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
        event = {
            "status": status.value,
            "at": clock.now().isoformat(),
            "by": by,
            "note": (note or "").strip(),
        }
        timeline = [*doc.get("timeline", []), event]
        tx.update(TABLE, goal_id, {"status": status.value, "timeline": timeline})
        doc.update(status=status.value, timeline=timeline)
    return Goal.from_doc(doc)


def edit_goal(
    record_id: str,
    goal_id: str,
    *,
    outcome: str,
    need: str = "",
    measure: str = "",
    importance: int | None = None,
) -> Goal | None:
    """Change what a goal says (its status has its own timeline)."""
    if importance is not None and not 1 <= importance <= 10:
        raise ValueError("importance is 1 to 10")
    changes = {
        "outcome": outcome.strip(),
        "need": need.strip(),
        "measure": measure.strip(),
        "importance": importance,
    }
    with get_store().transaction(record_scope(record_id)) as tx:
        if not tx.update(TABLE, goal_id, changes):
            return None
    return get_goal(record_id, goal_id)


def add_note(record_id: str, goal_id: str, *, text: str, by: str) -> Goal | None:
    """Add a dated progress note to a goal."""
    note = {"id": new_id(4), "at": clock.now().isoformat(), "by": by, "text": text.strip()}
    with get_store().transaction(record_scope(record_id)) as tx:
        doc = tx.get(TABLE, goal_id)
        if doc is None:
            return None
        tx.update(TABLE, goal_id, {"notes": [*doc.get("notes", []), note]})
    return get_goal(record_id, goal_id)
