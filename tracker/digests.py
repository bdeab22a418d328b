"""A small digest per person's record, kept up to date as data is written.

The coordinator's caseload shows, for each person: the next review date and
whether it is overdue, open early review requests, early warning signs since the
coordinator last looked, and the last activity. Drawing that from every
person's full log would not scale to a caseload of hundreds, so each record has
a tiny ``digest`` file, written when those facts change and read (through the
per-process cache) by the caseload page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from . import clock
from .store import get_store

TABLE = "digest"
DOC_ID = "digest"
KEEP_HITS = 50


def digest_scope(record_id: str) -> str:
    return f"records/{record_id}/digest"


@dataclass(frozen=True)
class Digest:
    next_review: date | None
    open_requests: int
    last_activity: str
    hit_times: tuple[str, ...]
    seen: dict[str, str]

    def hits_since_seen(self, coordinator_id: str) -> int:
        seen = self.seen.get(coordinator_id, "")
        return sum(1 for t in self.hit_times if t > seen)


def get(record_id: str) -> Digest:
    doc = get_store().read(digest_scope(record_id)).get(TABLE, DOC_ID) or {}
    return Digest(
        next_review=date.fromisoformat(doc["next_review"]) if doc.get("next_review") else None,
        open_requests=int(doc.get("open_requests", 0)),
        last_activity=doc.get("last_activity", ""),
        hit_times=tuple(doc.get("hit_times", ())),
        seen=dict(doc.get("seen", {})),
    )


def _update(record_id: str, change) -> None:
    with get_store().transaction(digest_scope(record_id)) as tx:
        doc = tx.get(TABLE, DOC_ID) or {"id": DOC_ID}
        change(doc)
        tx.replace(TABLE, doc)


def refresh(record_id: str) -> None:
    """Recompute the review facts (next review, open requests) from the record."""
    from . import plans, reviews  # late: reviews writes digests

    plan = plans.get_plan(record_id)
    upcoming = reviews.next_review(plan, reviews.list_reviews(record_id))
    open_count = len(reviews.open_requests(record_id))

    def change(doc: dict) -> None:
        doc["next_review"] = upcoming.isoformat() if upcoming else None
        doc["open_requests"] = open_count

    _update(record_id, change)


def note_activity(record_id: str, *, at: str, rule_hit: bool = False) -> None:
    """Record that something was logged (and whether it was an early warning sign)."""
    # Times are compared as text (with each other and with "seen"), so all are UTC:
    # "10:00+01:00" would otherwise sort after "09:30+00:00", which is later.
    at = datetime.fromisoformat(at).astimezone(UTC).isoformat()

    def change(doc: dict) -> None:
        doc["last_activity"] = max(doc.get("last_activity", ""), at)
        if rule_hit:
            doc["hit_times"] = sorted([*doc.get("hit_times", []), at])[-KEEP_HITS:]

    _update(record_id, change)


def mark_seen(record_id: str, coordinator_id: str) -> None:
    """The coordinator has looked at this person's summary now."""
    now = clock.now().isoformat()

    def change(doc: dict) -> None:
        doc["seen"] = {**doc.get("seen", {}), coordinator_id: now}

    _update(record_id, change)
