"""The approved care and support plan: its sections, and a kept history of versions.

The plan's free-text sections (about me, contacts, contingency and so on) live
in one document; every save keeps the previous version with who changed it and
when, so the plan history can show what changed. Goals and actions have their
own modules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from . import clock
from .records import record_scope
from .store import get_store

TABLE = "plan"
VERSIONS = "plan_versions"
PLAN_ID = "current"

SECTIONS: dict[str, str] = {
    "what_matters": "What matters to me",
    "appreciate": "What people like and admire about me",
    "how_to_support": "How best to support me",
    "health_summary": "My health conditions",
    "warning_signs": "Early warning signs and triggers",
    "what_to_do": "What to do",
    "whom_to_call": "Whom to call",
    "if_support_unavailable": "If my usual support is not available",
    "information_sharing": "Information sharing",
}


@dataclass(frozen=True)
class Plan:
    sections: dict[str, str] = field(default_factory=dict)
    start_date: date | None = None
    next_review: date | None = None
    review_interval_months: int = 12
    signed_off_on: date | None = None
    signed_off_by: str = ""
    version: int = 0
    updated_at: str = ""
    updated_by: str = ""

    @property
    def exists(self) -> bool:
        return self.version > 0


def _d(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def get_plan(record_id: str) -> Plan:
    """The current plan; an empty one if nothing has been recorded."""
    doc = get_store().read(record_scope(record_id)).get(TABLE, PLAN_ID)
    if doc is None:
        return Plan()
    return Plan(
        sections=dict(doc.get("sections", {})),
        start_date=_d(doc.get("start_date")),
        next_review=_d(doc.get("next_review")),
        review_interval_months=int(doc.get("review_interval_months", 12)),
        signed_off_on=_d(doc.get("signed_off_on")),
        signed_off_by=doc.get("signed_off_by", ""),
        version=int(doc.get("version", 0)),
        updated_at=doc.get("updated_at", ""),
        updated_by=doc.get("updated_by", ""),
    )


def save_plan(
    record_id: str,
    *,
    by: str,
    sections: dict[str, str],
    start_date: date | None = None,
    next_review: date | None = None,
    review_interval_months: int = 12,
    signed_off_on: date | None = None,
    signed_off_by: str = "",
) -> Plan:
    """Save a new version of the plan, keeping the one it replaces."""
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        raise ValueError(f"unknown plan sections: {sorted(unknown)}")
    with get_store().transaction(record_scope(record_id)) as tx:
        old = tx.get(TABLE, PLAN_ID)
        version = (old or {}).get("version", 0) + 1
        if old is not None:
            kept = dict(old)
            kept["id"] = f"v{old['version']}"
            tx.insert(VERSIONS, kept)
        doc = {
            "id": PLAN_ID,
            "sections": {k: v for k, v in sections.items() if v},
            "start_date": start_date.isoformat() if start_date else None,
            "next_review": next_review.isoformat() if next_review else None,
            "review_interval_months": review_interval_months,
            "signed_off_on": signed_off_on.isoformat() if signed_off_on else None,
            "signed_off_by": signed_off_by,
            "version": version,
            "updated_at": clock.now().isoformat(),
            "updated_by": by,
        }
        tx.replace(TABLE, doc)
    return get_plan(record_id)
