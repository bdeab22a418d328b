"""A person's record: the container for one person's plan and logs.

The index of records lives in ``system/records``; each record's own data lives
under ``records/<id>/``. The owner account may be the person or someone acting
for them (``acting_for`` holds who, as the plan says). A coordinator can create
a record before the person has an account; the person joins by invitation.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import clock
from .store import get_store, new_id

SCOPE = "system/records"
TABLE = "records"


@dataclass(frozen=True)
class Record:
    id: str
    name: str
    owner_id: str | None
    acting_for: str
    created_by: str
    created_at: str

    @classmethod
    def from_doc(cls, doc: dict) -> Record:
        return cls(
            id=doc["id"],
            name=doc["name"],
            owner_id=doc.get("owner_id"),
            acting_for=doc.get("acting_for", ""),
            created_by=doc["created_by"],
            created_at=doc["created_at"],
        )

    @property
    def doc_scope(self) -> str:
        return record_scope(self.id)

    @property
    def log_scope(self) -> str:
        return log_scope(self.id)


def record_scope(record_id: str) -> str:
    """The scope of a record's documents (plan, goals, actions, trackers)."""
    return f"records/{record_id}/record"


def log_scope(record_id: str) -> str:
    """The scope under which a record's month-by-month logs live."""
    return f"records/{record_id}"


def create_record(
    name: str, *, created_by: str, owner_id: str | None = None, acting_for: str = ""
) -> Record:
    """Start an empty record for a person."""
    doc = {
        "id": new_id(),
        "name": name.strip(),
        "owner_id": owner_id,
        "acting_for": acting_for.strip(),
        "created_by": created_by,
        "created_at": clock.now().isoformat(),
    }
    with get_store().transaction(SCOPE) as tx:
        tx.insert(TABLE, doc)
    return Record.from_doc(doc)


def get_record(record_id: str) -> Record | None:
    doc = get_store().read(SCOPE).get(TABLE, record_id)
    return Record.from_doc(doc) if doc else None


def records_by_id(record_ids: set[str]) -> dict[str, Record]:
    view = get_store().read(SCOPE)
    return {d["id"]: Record.from_doc(d) for d in view.all(TABLE) if d["id"] in record_ids}


def set_owner(record_id: str, owner_id: str) -> bool:
    """Give an ownerless record its owner; ``False`` if it already has one."""
    with get_store().transaction(SCOPE) as tx:
        doc = tx.get(TABLE, record_id)
        if doc is None or doc.get("owner_id"):
            return False
        return tx.update(TABLE, record_id, {"owner_id": owner_id})
