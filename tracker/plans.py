"""The approved care and support plan: its sections, and a kept history of versions.

Sections follow the plan template in seed 000 section 5 and the PRSB headings:
about me, contacts, decision making, health, contingency, budget, review
arrangements, sign-off and information sharing. Every section is optional
(people complete as much or as little as they want); only the outcomes (goals,
in ``goals.py``) are the point of the plan. Every save keeps the version it
replaces, with who saved it and when, so the history can show what changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

from . import clock, digests
from .records import record_scope
from .store import get_store, new_id

TABLE = "plan"
VERSIONS = "plan_versions"
PLAN_ID = "current"
MAX_TEXT = 2000


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    hint: str = ""


# Free-text sections, grouped as the plan's own headings. Each group is one
# small form on a phone.
GROUPS: dict[str, tuple[str, tuple[Section, ...]]] = {
    "about-me": (
        "About me",
        (
            Section("what_matters", "What matters to me"),
            Section("appreciate", "What people like and admire about me"),
            Section("how_to_support", "How best to support me"),
        ),
    ),
    "communication": (
        "Contact preferences and communication needs",
        (
            Section(
                "contact_preferences",
                "How I like to be contacted",
                "For example, text messages, or phone calls after 10am.",
            ),
            Section(
                "communication_needs",
                "My communication needs",
                "For example, large print, an interpreter, or extra time.",
            ),
        ),
    ),
    "decisions": (
        "Decision making",
        (
            Section("who_decides", "Who makes decisions about my care"),
            Section(
                "representative",
                "Who speaks for me if I cannot",
                "A representative, such as a family member or deputy, and how to reach them.",
            ),
        ),
    ),
    "health": (
        "My health",
        (
            Section(
                "health_summary",
                "My health conditions, medicines and allergies",
                "A short summary. Your GP record has the full details.",
            ),
        ),
    ),
    "contingency": (
        "If things go wrong",
        (
            Section("warning_signs", "Early warning signs and triggers"),
            Section("what_to_do", "What to do"),
            Section("whom_to_call", "Whom to call"),
            Section("if_support_unavailable", "If my usual support is not available"),
        ),
    ),
    "information-sharing": (
        "Information sharing",
        (Section("information_sharing", "What I agree can be shared, and with whom"),),
    ),
}

SECTIONS: dict[str, str] = {s.key: s.title for _, (_, group) in GROUPS.items() for s in group}


class ContactRole(StrEnum):
    COORDINATOR = "coordinator"
    NEXT_OF_KIN = "next_of_kin"
    CARER = "carer"
    PROFESSIONAL = "professional"
    OTHER = "other"

    @property
    def label(self) -> str:
        return {
            "coordinator": "Care coordinator",
            "next_of_kin": "Next of kin",
            "carer": "Carer",
            "professional": "Professional",
            "other": "Other",
        }[self.value]


class BudgetHeld(StrEnum):
    DIRECT_PAYMENT = "direct_payment"
    NOTIONAL = "notional"
    THIRD_PARTY = "third_party"
    MIXED = "mixed"

    @property
    def label(self) -> str:
        return {
            "direct_payment": "Direct payment",
            "notional": "Notional budget (held by the NHS)",
            "third_party": "Third-party budget",
            "mixed": "A mix of these",
        }[self.value]


class LineCategory(StrEnum):
    """What a budget line pays for (hidden costs such as employer's tax get their own)."""

    PA_WAGES = "pa_wages"
    EMPLOYER_COSTS = "employer_costs"
    AGENCY_CARE = "agency_care"
    THERAPY = "therapy"
    EQUIPMENT = "equipment"
    TRAVEL = "travel"
    TRAINING = "training"
    INSURANCE = "insurance"
    THIRD_PARTY_FEES = "third_party_fees"
    OTHER = "other"

    @property
    def label(self) -> str:
        return {
            "pa_wages": "Personal assistant (PA) wages",
            "employer_costs": "Employer costs (tax, National Insurance, pension)",
            "agency_care": "Agency care",
            "therapy": "Therapy",
            "equipment": "Equipment",
            "travel": "Travel",
            "training": "Training",
            "insurance": "Insurance",
            "third_party_fees": "Third-party fees",
            "other": "Other",
        }[self.value]


class LinePeriod(StrEnum):
    """How often a budget line's planned amount comes round."""

    WEEKLY = "weekly"
    MONTHLY = "monthly"
    YEARLY = "yearly"
    ONE_OFF = "one_off"

    @property
    def label(self) -> str:
        return {
            "weekly": "Each week",
            "monthly": "Each month",
            "yearly": "Each year",
            "one_off": "Once (a one-off cost)",
        }[self.value]


@dataclass(frozen=True)
class Contact:
    id: str
    name: str
    role: ContactRole
    detail: str  # what they do, e.g. "Respiratory nurse"
    phone: str
    email: str


@dataclass(frozen=True)
class BudgetLine:
    """A part of the budget: ``amount`` is planned per ``period`` (lines made before
    periods existed are yearly). ``due_on`` is when a one-off cost falls."""

    id: str
    what: str
    amount: Decimal
    category: LineCategory = LineCategory.OTHER
    period: LinePeriod = LinePeriod.YEARLY
    goal_ids: tuple[str, ...] = ()
    due_on: date | None = None


@dataclass(frozen=True)
class Plan:
    sections: dict[str, str] = field(default_factory=dict)
    contacts: tuple[Contact, ...] = ()
    budget_total: Decimal | None = None
    budget_held: BudgetHeld | None = None
    budget_lines: tuple[BudgetLine, ...] = ()
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

    def text(self, key: str) -> str:
        return self.sections.get(key, "")


@dataclass(frozen=True)
class PlanVersion:
    version: int
    updated_at: str
    updated_by: str
    changed: tuple[str, ...]  # plain-English names of what changed


def _d(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _from_doc(doc: dict | None) -> Plan:
    if doc is None:
        return Plan()
    budget = doc.get("budget") or {}
    return Plan(
        sections=dict(doc.get("sections", {})),
        contacts=tuple(
            Contact(
                c["id"],
                c["name"],
                ContactRole(c["role"]),
                c.get("detail", ""),
                c.get("phone", ""),
                c.get("email", ""),
            )
            for c in doc.get("contacts", [])
        ),
        budget_total=Decimal(budget["total"]) if budget.get("total") else None,
        budget_held=BudgetHeld(budget["held"]) if budget.get("held") else None,
        budget_lines=tuple(_line_from_doc(line) for line in budget.get("lines", [])),
        start_date=_d(doc.get("start_date")),
        next_review=_d(doc.get("next_review")),
        review_interval_months=int(doc.get("review_interval_months", 12)),
        signed_off_on=_d(doc.get("signed_off_on")),
        signed_off_by=doc.get("signed_off_by", ""),
        version=int(doc.get("version", 0)),
        updated_at=doc.get("updated_at", ""),
        updated_by=doc.get("updated_by", ""),
    )


def _line_from_doc(line: dict) -> BudgetLine:
    return BudgetLine(
        line["id"],
        line["what"],
        Decimal(line["amount"]),
        LineCategory(line.get("category") or LineCategory.OTHER),
        LinePeriod(line.get("period") or LinePeriod.YEARLY),
        tuple(line.get("goal_ids", ())),
        _d(line.get("due_on")),
    )


def get_plan(record_id: str) -> Plan:
    """The current plan; an empty one if nothing has been recorded."""
    return _from_doc(get_store().read(record_scope(record_id)).get(TABLE, PLAN_ID))


def _empty_doc() -> dict[str, Any]:
    return {
        "id": PLAN_ID,
        "sections": {},
        "contacts": [],
        "budget": {"total": None, "held": None, "lines": []},
        "start_date": None,
        "next_review": None,
        "review_interval_months": 12,
        "signed_off_on": None,
        "signed_off_by": "",
        "version": 0,
    }


def _change(record_id: str, by: str, apply: Any) -> Plan:
    """Apply ``apply(doc)`` to a copy of the plan and save it as a new version."""
    with get_store().transaction(record_scope(record_id)) as tx:
        old = tx.get(TABLE, PLAN_ID)
        doc = _empty_doc() if old is None else {**_empty_doc(), **old}
        doc = {
            k: (dict(v) if isinstance(v, dict) else list(v) if isinstance(v, list) else v)
            for k, v in doc.items()
        }
        apply(doc)
        if _comparable(old if old is not None else _empty_doc()) == _comparable(doc):
            # Nothing changed (or an empty form before anything was recorded): no new version.
            return _from_doc(old)
        if old is not None:
            kept = dict(old)
            kept["id"] = f"v{old['version']}"
            tx.insert(VERSIONS, kept)
        doc["version"] = (old or {}).get("version", 0) + 1
        doc["updated_at"] = clock.now().isoformat()
        doc["updated_by"] = by
        tx.replace(TABLE, doc)
    digests.refresh(record_id)
    return _from_doc(doc)


def _comparable(doc: dict) -> dict:
    return {k: v for k, v in doc.items() if k not in {"version", "updated_at", "updated_by", "id"}}


def save_sections(record_id: str, values: dict[str, str], *, by: str) -> Plan:
    """Set some free-text sections; empty text removes a section."""
    unknown = set(values) - set(SECTIONS)
    if unknown:
        raise ValueError(f"unknown plan sections: {sorted(unknown)}")

    def apply(doc: dict) -> None:
        for key, text in values.items():
            text = (text or "").strip()
            if len(text) > MAX_TEXT:
                raise ValueError(f"{key} is longer than {MAX_TEXT} characters")
            if text:
                doc["sections"][key] = text
            else:
                doc["sections"].pop(key, None)

    return _change(record_id, by, apply)


def save_review_arrangements(
    record_id: str,
    *,
    by: str,
    start_date: date | None,
    next_review: date | None,
    interval_months: int,
) -> Plan:
    """Set when the plan started, when it is next reviewed, and how often (1 to 12 months)."""
    if not 1 <= interval_months <= 12:
        raise ValueError("reviews are at least yearly")

    def apply(doc: dict) -> None:
        doc["start_date"] = start_date.isoformat() if start_date else None
        doc["next_review"] = next_review.isoformat() if next_review else None
        doc["review_interval_months"] = interval_months

    return _change(record_id, by, apply)


def save_sign_off(
    record_id: str, *, by: str, signed_off_on: date | None, signed_off_by: str
) -> Plan:
    def apply(doc: dict) -> None:
        doc["signed_off_on"] = signed_off_on.isoformat() if signed_off_on else None
        doc["signed_off_by"] = signed_off_by.strip()

    return _change(record_id, by, apply)


def add_contact(
    record_id: str,
    *,
    by: str,
    name: str,
    role: ContactRole,
    detail: str = "",
    phone: str = "",
    email: str = "",
) -> Plan:
    def apply(doc: dict) -> None:
        doc["contacts"].append(
            {
                "id": new_id(4),
                "name": name.strip(),
                "role": role.value,
                "detail": detail.strip(),
                "phone": phone.strip(),
                "email": email.strip(),
            }
        )

    return _change(record_id, by, apply)


def remove_contact(record_id: str, contact_id: str, *, by: str) -> bool:
    """Remove a contact; ``False`` if there is no such contact."""
    if not any(c.id == contact_id for c in get_plan(record_id).contacts):
        return False

    def apply(doc: dict) -> None:
        doc["contacts"] = [c for c in doc["contacts"] if c["id"] != contact_id]

    _change(record_id, by, apply)
    return True


def save_budget(record_id: str, *, by: str, total: Decimal | None, held: BudgetHeld | None) -> Plan:
    def apply(doc: dict) -> None:
        doc["budget"] = {
            **doc.get("budget", {}),
            "total": str(total) if total is not None else None,
            "held": held.value if held else None,
        }
        doc["budget"].setdefault("lines", [])

    return _change(record_id, by, apply)


def _line_doc(
    line_id: str,
    what: str,
    amount: Decimal,
    category: LineCategory,
    period: LinePeriod,
    goal_ids: tuple[str, ...],
    due_on: date | None,
) -> dict:
    if not isinstance(amount, Decimal):
        raise TypeError("budget amounts are Decimal, never float")
    doc: dict[str, Any] = {"id": line_id, "what": what.strip(), "amount": str(amount)}
    # Lines that say nothing more stay as they always were (yearly, other).
    if category is not LineCategory.OTHER or period is not LinePeriod.YEARLY or goal_ids:
        doc |= {"category": category.value, "period": period.value, "goal_ids": list(goal_ids)}
    if due_on is not None:
        doc["due_on"] = due_on.isoformat()
    return doc


def add_budget_line(
    record_id: str,
    *,
    by: str,
    what: str,
    amount: Decimal,
    category: LineCategory = LineCategory.OTHER,
    period: LinePeriod = LinePeriod.YEARLY,
    goal_ids: tuple[str, ...] = (),
    due_on: date | None = None,
) -> Plan:
    line = _line_doc(new_id(4), what, amount, category, period, goal_ids, due_on)

    def apply(doc: dict) -> None:
        budget = {"total": None, "held": None, "lines": [], **doc.get("budget", {})}
        budget["lines"] = [*budget["lines"], line]
        doc["budget"] = budget

    return _change(record_id, by, apply)


def update_budget_line(
    record_id: str,
    line_id: str,
    *,
    by: str,
    what: str,
    amount: Decimal,
    category: LineCategory,
    period: LinePeriod,
    goal_ids: tuple[str, ...] = (),
    due_on: date | None = None,
) -> bool:
    """Change a line's wording, amount, category, period and outcomes; ``False`` if unknown."""
    if not any(line.id == line_id for line in get_plan(record_id).budget_lines):
        return False
    line = _line_doc(line_id, what, amount, category, period, goal_ids, due_on)

    def apply(doc: dict) -> None:
        budget = dict(doc.get("budget", {}))
        budget["lines"] = [line if old["id"] == line_id else old for old in budget["lines"]]
        doc["budget"] = budget

    _change(record_id, by, apply)
    return True


def remove_budget_line(record_id: str, line_id: str, *, by: str) -> bool:
    if not any(line.id == line_id for line in get_plan(record_id).budget_lines):
        return False

    def apply(doc: dict) -> None:
        budget = dict(doc.get("budget", {}))
        budget["lines"] = [line for line in budget.get("lines", []) if line["id"] != line_id]
        doc["budget"] = budget

    _change(record_id, by, apply)
    return True


_FIELD_NAMES = {
    "contacts": "Contacts",
    "budget": "Budget",
    "start_date": "Plan start date",
    "next_review": "Next review date",
    "review_interval_months": "Review interval",
    "signed_off_on": "Sign-off date",
    "signed_off_by": "Signed off by",
}


def _what_changed(before: dict | None, after: dict) -> tuple[str, ...]:
    if before is None:
        return ("Plan recorded",)
    names = []
    b_sections, a_sections = before.get("sections", {}), after.get("sections", {})
    for key, title in SECTIONS.items():
        if b_sections.get(key) != a_sections.get(key):
            names.append(title)
    for key, title in _FIELD_NAMES.items():
        if before.get(key) != after.get(key):
            names.append(title)
    return tuple(names)


def history(record_id: str) -> list[PlanVersion]:
    """Every version of the plan, newest first, with what each one changed."""
    view = get_store().read(record_scope(record_id))
    docs = sorted(view.all(VERSIONS), key=lambda d: d["version"])
    current = view.get(TABLE, PLAN_ID)
    if current is not None:
        docs.append(current)
    out = []
    previous = None
    for doc in docs:
        out.append(
            PlanVersion(
                doc["version"],
                doc.get("updated_at", ""),
                doc.get("updated_by", ""),
                _what_changed(previous, doc),
            )
        )
        previous = doc
    return list(reversed(out))


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
    """Record a whole plan at once (demo data, imports) as one new version."""
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        raise ValueError(f"unknown plan sections: {sorted(unknown)}")

    def apply(doc: dict) -> None:
        doc["sections"] = {k: v.strip() for k, v in sections.items() if v and v.strip()}
        doc["start_date"] = start_date.isoformat() if start_date else None
        doc["next_review"] = next_review.isoformat() if next_review else None
        doc["review_interval_months"] = review_interval_months
        doc["signed_off_on"] = signed_off_on.isoformat() if signed_off_on else None
        doc["signed_off_by"] = signed_off_by

    return _change(record_id, by, apply)
