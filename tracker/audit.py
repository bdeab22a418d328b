"""The access trail: every read or change of a record by a carer or coordinator.

Entries go into the record's own month-by-month ``audit`` stream, so writing one
costs the same however long the record has existed. The person reads the trail
on the "Who has looked at my record" page. Entries say who, what and when, and
never hold health details: "what" is a fixed phrase from the permission table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from . import clock
from .records import log_scope
from .roles import RULES, Permission, Role
from .store import get_store

STREAM = "audit"


@dataclass(frozen=True)
class AccessEvent:
    id: str
    at: datetime
    actor_id: str
    actor_name: str
    role: Role
    what: str
    changed: bool


def record_access(
    record_id: str,
    *,
    actor_id: str,
    actor_name: str,
    role: Role,
    permission: Permission,
    changed: bool,
) -> None:
    """Append one access event to the record's trail."""
    get_store().append_entry(
        log_scope(record_id),
        STREAM,
        {
            "at": clock.now().isoformat(),
            "actor_id": actor_id,
            "actor_name": actor_name,
            "role": role.value,
            "what": RULES[permission].label,
            "changed": changed,
        },
    )


def list_access(
    record_id: str, *, page: int = 1, per_page: int = 25
) -> tuple[list[AccessEvent], bool]:
    """One page of the trail, newest first, and whether there is another page."""
    docs = get_store().list_entries(log_scope(record_id), STREAM)
    docs = sorted(docs, key=lambda d: d["at"], reverse=True)
    start = (max(page, 1) - 1) * per_page
    chunk = docs[start : start + per_page]
    events = [
        AccessEvent(
            id=d["id"],
            at=clock.parse(d["at"]),
            actor_id=d["actor_id"],
            actor_name=d["actor_name"],
            role=Role(d["role"]),
            what=d["what"],
            changed=bool(d["changed"]),
        )
        for d in chunk
    ]
    return events, start + per_page < len(docs)
