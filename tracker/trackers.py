"""Symptom trackers the person defines.

Each is a 0–10 scale, a number with a unit, yes/no, or a count per day.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from . import clock
from .records import record_scope
from .store import get_store

TABLE = "trackers"


class TrackerKind(StrEnum):
    SCALE = "scale"
    NUMBER = "number"
    YES_NO = "yes_no"
    COUNT = "count"


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

    @classmethod
    def from_doc(cls, doc: dict) -> Tracker:
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
        )


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
) -> Tracker:
    """Add a tracker to the person's record."""
    doc = {
        "name": name,
        "kind": kind.value,
        "unit": unit,
        "low_label": low_label,
        "high_label": high_label,
        "target_min": target_min,
        "target_max": target_max,
        "archived": False,
        "created_at": clock.now().isoformat(),
    }
    with get_store().transaction(record_scope(record_id)) as tx:
        doc["id"] = tx.insert(TABLE, doc)
    return Tracker.from_doc(doc)


def list_trackers(record_id: str, *, include_archived: bool = False) -> list[Tracker]:
    docs = get_store().read(record_scope(record_id)).all(TABLE)
    out = [Tracker.from_doc(d) for d in docs]
    return [t for t in out if include_archived or not t.archived]
