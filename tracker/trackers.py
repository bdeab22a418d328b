"""Symptom trackers the person defines, and the early warning rule each can carry.

A tracker is a 0–10 scale (with words for each end), a number with a unit, a
yes/no, or a count per day. It can have a target range, and it can be archived
without losing its history. A rule, taken from the contingency plan, says when
readings are an early warning sign (see ``warnings.py``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from . import clock
from .records import record_scope
from .store import get_store

TABLE = "trackers"
# Numbers outside this are refused for "number" trackers: no weight, sleep or peak
# flow reading is anywhere near it, and it keeps huge values out of charts.
NUMBER_LIMIT = 100_000
COUNT_LIMIT = 1000


class TrackerKind(StrEnum):
    SCALE = "scale"
    NUMBER = "number"
    YES_NO = "yes_no"
    COUNT = "count"

    @property
    def label(self) -> str:
        return {
            "scale": "A scale from 0 to 10",
            "number": "A number with a unit",
            "yes_no": "Yes or no",
            "count": "A count each day",
        }[self.value]


class RuleKind(StrEnum):
    AT_LEAST_FOR_DAYS = "at_least_for_days"  # a value of X or more on N consecutive days
    RISE_WITHIN_DAYS = "rise_within_days"  # up by more than X within N days
    ANY_YES = "any_yes"  # any "yes"


@dataclass(frozen=True)
class Rule:
    kind: RuleKind
    value: float = 0
    days: int = 1

    def describe(self, unit: str = "") -> str:
        u = f" {unit}" if unit else ""
        if self.kind is RuleKind.ANY_YES:
            return 'Any "yes"'
        if self.kind is RuleKind.AT_LEAST_FOR_DAYS:
            days = "day" if self.days == 1 else f"{self.days} days in a row"
            return f"{_num(self.value)}{u} or more on {days}"
        return f"Up by more than {_num(self.value)}{u} within {self.days} days"

    def to_doc(self) -> dict:
        return {"kind": self.kind.value, "value": self.value, "days": self.days}


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


@dataclass(frozen=True)
class Tracker:
    id: str
    name: str
    kind: TrackerKind
    unit: str
    low_label: str
    high_label: str
    target_min: float | None
    target_max: float | None
    archived: bool
    rule: Rule | None

    @classmethod
    def from_doc(cls, doc: dict) -> Tracker:
        rule = doc.get("rule")
        return cls(
            id=doc["id"],
            name=doc["name"],
            kind=TrackerKind(doc["kind"]),
            unit=doc.get("unit", ""),
            low_label=doc.get("low_label", ""),
            high_label=doc.get("high_label", ""),
            target_min=doc.get("target_min"),
            target_max=doc.get("target_max"),
            archived=bool(doc.get("archived")),
            rule=Rule(RuleKind(rule["kind"]), rule.get("value", 0), rule.get("days", 1))
            if rule
            else None,
        )

    @property
    def bounds(self) -> tuple[float, float]:
        """The values a reading may take."""
        return {
            TrackerKind.SCALE: (0, 10),
            TrackerKind.NUMBER: (-NUMBER_LIMIT, NUMBER_LIMIT),
            TrackerKind.YES_NO: (0, 1),
            TrackerKind.COUNT: (0, COUNT_LIMIT),
        }[self.kind]

    @property
    def whole_numbers(self) -> bool:
        return self.kind is not TrackerKind.NUMBER

    def check(self, value: float) -> str | None:
        """Why ``value`` cannot be a reading of this tracker, or ``None`` if it can."""
        low, high = self.bounds
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            return "Enter a number"
        if self.whole_numbers and not float(value).is_integer():
            return "Enter a whole number"
        if not low <= value <= high:
            return f"Enter a number from {_num(low)} to {_num(high)}"
        return None

    def in_target(self, value: float) -> bool | None:
        if self.target_min is None and self.target_max is None:
            return None
        return (self.target_min is None or value >= self.target_min) and (
            self.target_max is None or value <= self.target_max
        )

    def format(self, value: float) -> str:
        if self.kind is TrackerKind.YES_NO:
            return "Yes" if value else "No"
        text = _num(value)
        if self.kind is TrackerKind.SCALE:
            return f"{text} out of 10"
        return f"{text} {self.unit}".strip()


def _doc(
    name: str,
    kind: TrackerKind,
    unit: str,
    low_label: str,
    high_label: str,
    target_min: float | None,
    target_max: float | None,
    rule: Rule | None,
) -> dict:
    if target_min is not None and target_max is not None and target_min > target_max:
        raise ValueError("the target range's low end is above its high end")
    return {
        "name": name.strip(),
        "kind": kind.value,
        "unit": unit.strip() if kind is TrackerKind.NUMBER else "",
        "low_label": low_label.strip() if kind is TrackerKind.SCALE else "",
        "high_label": high_label.strip() if kind is TrackerKind.SCALE else "",
        "target_min": target_min,
        "target_max": target_max,
        "rule": rule.to_doc() if rule else None,
    }


def define_tracker(
    record_id: str,
    *,
    name: str,
    kind: TrackerKind,
    unit: str = "",
    low_label: str = "",
    high_label: str = "",
    target_min: float | None = None,
    target_max: float | None = None,
    rule: Rule | None = None,
) -> Tracker:
    """Add a tracker to the person's record."""
    doc = _doc(name, kind, unit, low_label, high_label, target_min, target_max, rule)
    doc.update(archived=False, created_at=clock.now().isoformat())
    with get_store().transaction(record_scope(record_id)) as tx:
        doc["id"] = tx.insert(TABLE, doc)
    return Tracker.from_doc(doc)


def edit_tracker(
    record_id: str,
    tracker_id: str,
    *,
    name: str,
    unit: str = "",
    low_label: str = "",
    high_label: str = "",
    target_min: float | None = None,
    target_max: float | None = None,
    rule: Rule | None = None,
) -> Tracker | None:
    """Change a tracker. Its kind never changes, so old readings keep their meaning."""
    current = get_tracker(record_id, tracker_id)
    if current is None:
        return None
    changes = _doc(name, current.kind, unit, low_label, high_label, target_min, target_max, rule)
    with get_store().transaction(record_scope(record_id)) as tx:
        tx.update(TABLE, tracker_id, changes)
    return get_tracker(record_id, tracker_id)


def set_archived(record_id: str, tracker_id: str, archived: bool) -> bool:
    with get_store().transaction(record_scope(record_id)) as tx:
        return tx.update(TABLE, tracker_id, {"archived": archived})


def get_tracker(record_id: str, tracker_id: str) -> Tracker | None:
    doc = get_store().read(record_scope(record_id)).get(TABLE, tracker_id)
    return Tracker.from_doc(doc) if doc else None


def list_trackers(record_id: str, *, include_archived: bool = False) -> list[Tracker]:
    docs = get_store().read(record_scope(record_id)).all(TABLE)
    out = [Tracker.from_doc(d) for d in docs]
    return [t for t in out if include_archived or not t.archived]
