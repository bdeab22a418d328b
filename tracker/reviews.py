"""Reviews: when the next one is due, reviews that were held, and early review requests.

The schedule (seed 002 5.4.1, direct payments guidance): the first review is due
3 months after the plan starts, unless a date has been agreed; after that,
reviews follow the plan's interval, 12 months by default and never more than
12. Month arithmetic is calendar arithmetic (``relativedelta``): a plan that
starts on 30 November is first reviewed on 28 February, or 29 in a leap year.
A review is overdue from the day after its due date.

An early review can be asked for at any time by the person, or by a carer the
person allows. Its life: requested → acknowledged → scheduled (with a date) or
answered (with a reason). Every step is timestamped and kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from dateutil.relativedelta import relativedelta

from . import clock, digests, plans, reminders
from .records import record_scope
from .store import get_store

REVIEWS = "reviews"
REQUESTS = "review_requests"
FIRST_REVIEW_MONTHS = 3
MAX_INTERVAL_MONTHS = 12


def first_review_due(start: date) -> date:
    """Three calendar months after the plan starts (end-of-month safe)."""
    return start + relativedelta(months=FIRST_REVIEW_MONTHS)


def following_review_due(held_on: date, interval_months: int) -> date:
    """The next review after one held on ``held_on``, at most 12 months later."""
    months = min(max(interval_months, 1), MAX_INTERVAL_MONTHS)
    return held_on + relativedelta(months=months)


@dataclass(frozen=True)
class Due:
    on: date | None
    overdue: bool
    days_left: int | None  # negative when overdue

    @property
    def words(self) -> str:
        if self.on is None:
            return "No review date set"
        if self.overdue:
            days = -self.days_left if self.days_left is not None else 0
            return f"Overdue by {days} day{'s' if days != 1 else ''}"
        if self.days_left == 0:
            return "Due today"
        return f"Due in {self.days_left} day{'s' if self.days_left != 1 else ''}"


def next_review(plan: plans.Plan, held: list[Review] | None = None) -> date | None:
    """When the next review is due: the agreed date if set, else by the rules above."""
    if plan.next_review is not None:
        return plan.next_review
    if held:
        latest = max(held, key=lambda r: r.held_on)
        return following_review_due(latest.held_on, plan.review_interval_months)
    if plan.start_date is not None:
        return first_review_due(plan.start_date)
    return None


def due(plan: plans.Plan, today: date, held: list[Review] | None = None) -> Due:
    on = next_review(plan, held)
    if on is None:
        return Due(None, False, None)
    left = (on - today).days
    return Due(on, left < 0, left)


# --- reviews that were held ---------------------------------------------------------


@dataclass(frozen=True)
class Review:
    id: str
    held_on: date
    participants: str
    agreed: str
    next_review: date
    recorded_by: str
    recorded_at: str


def _review(doc: dict) -> Review:
    return Review(
        doc["id"],
        date.fromisoformat(doc["held_on"]),
        doc.get("participants", ""),
        doc.get("agreed", ""),
        date.fromisoformat(doc["next_review"]),
        doc["recorded_by"],
        doc["recorded_at"],
    )


def list_reviews(record_id: str) -> list[Review]:
    docs = get_store().read(record_scope(record_id)).all(REVIEWS)
    return sorted((_review(d) for d in docs), key=lambda r: r.held_on, reverse=True)


def last_review(record_id: str) -> Review | None:
    held = list_reviews(record_id)
    return held[0] if held else None


def record_review(
    record_id: str,
    *,
    held_on: date,
    participants: str,
    agreed: str,
    next_review_on: date | None,
    by: str,
) -> Review:
    """Record a review that was held, and set the plan's next review date.

    Without a date given, the next review follows the latest review held, so a
    review recorded late never pulls the next one earlier.
    """
    plan = plans.get_plan(record_id)
    latest = max([held_on, *(r.held_on for r in list_reviews(record_id))])
    upcoming = next_review_on or following_review_due(latest, plan.review_interval_months)
    doc = {
        "held_on": held_on.isoformat(),
        "participants": participants.strip(),
        "agreed": agreed.strip(),
        "next_review": upcoming.isoformat(),
        "recorded_by": by,
        "recorded_at": clock.now().isoformat(),
    }
    with get_store().transaction(record_scope(record_id)) as tx:
        doc["id"] = tx.insert(REVIEWS, doc)
    plans.save_review_arrangements(
        record_id,
        by=by,
        start_date=plan.start_date,
        next_review=upcoming,
        interval_months=plan.review_interval_months,
    )
    # A review answers any early review request still open.
    for request in open_requests(record_id):
        answer_request(
            record_id, request.id, by=by, reply=f"Reviewed on {held_on.day} {held_on:%B %Y}."
        )
    digests.refresh(record_id)
    return _review(doc)


def period_start(record_id: str, plan: plans.Plan | None = None) -> date | None:
    """Where the evidence for the next review starts: the last review, or the plan's start."""
    latest = last_review(record_id)
    if latest is not None:
        return latest.held_on
    plan = plan or plans.get_plan(record_id)
    return plan.start_date


# --- early review requests ------------------------------------------------------------


class Reason(StrEnum):
    HOSPITAL_DISCHARGE = "hospital_discharge"
    NEW_DIAGNOSIS = "new_diagnosis"
    BEREAVEMENT = "bereavement"
    SUPPORT_CHANGE = "support_change"
    NOT_WORKING = "not_working"
    OTHER = "other"

    @property
    def label(self) -> str:
        return {
            "hospital_discharge": "Coming out of hospital",
            "new_diagnosis": "A new diagnosis",
            "bereavement": "A bereavement",
            "support_change": "A change in support",
            "not_working": "Things in the plan are not working",
            "other": "Something else",
        }[self.value]


class Urgency(StrEnum):
    WEEK = "week"
    MONTH = "month"
    WHEN_SUITS = "when_suits"

    @property
    def label(self) -> str:
        return {"week": "Within a week", "month": "Within a month", "when_suits": "When it suits"}[
            self.value
        ]


class State(StrEnum):
    REQUESTED = "requested"
    ACKNOWLEDGED = "acknowledged"
    SCHEDULED = "scheduled"
    ANSWERED = "answered"

    @property
    def label(self) -> str:
        return self.value.capitalize()

    @property
    def is_open(self) -> bool:
        return self in (State.REQUESTED, State.ACKNOWLEDGED)


@dataclass(frozen=True)
class Step:
    state: State
    at: str
    by: str
    note: str


@dataclass(frozen=True)
class ReviewRequest:
    id: str
    reason: Reason
    what_changed: str
    urgency: Urgency
    state: State
    review_on: date | None
    reply: str
    steps: tuple[Step, ...]
    requested_by: str
    requested_at: str


def _request(doc: dict) -> ReviewRequest:
    return ReviewRequest(
        id=doc["id"],
        reason=Reason(doc["reason"]),
        what_changed=doc.get("what_changed", ""),
        urgency=Urgency(doc["urgency"]),
        state=State(doc["state"]),
        review_on=date.fromisoformat(doc["review_on"]) if doc.get("review_on") else None,
        reply=doc.get("reply", ""),
        steps=tuple(
            Step(State(s["state"]), s["at"], s["by"], s.get("note", ""))
            for s in doc.get("steps", [])
        ),
        requested_by=doc["requested_by"],
        requested_at=doc["requested_at"],
    )


class RequestStateError(Exception):
    """The request is not in a state that allows that step."""


def request_review(
    record_id: str, *, reason: Reason, what_changed: str, urgency: Urgency, by: str
) -> ReviewRequest:
    now = clock.now().isoformat()
    doc = {
        "reason": reason.value,
        "what_changed": what_changed.strip(),
        "urgency": urgency.value,
        "state": State.REQUESTED.value,
        "review_on": None,
        "reply": "",
        "steps": [{"state": State.REQUESTED.value, "at": now, "by": by, "note": ""}],
        "requested_by": by,
        "requested_at": now,
    }
    with get_store().transaction(record_scope(record_id)) as tx:
        doc["id"] = tx.insert(REQUESTS, doc)
    digests.refresh(record_id)
    reminders.on_request_made(record_id, doc["id"])
    return _request(doc)


def _step(
    record_id: str,
    request_id: str,
    to: State,
    *,
    allowed_from: set[State],
    by: str,
    note: str = "",
    review_on: date | None = None,
) -> ReviewRequest | None:
    with get_store().transaction(record_scope(record_id)) as tx:
        doc = tx.get(REQUESTS, request_id)
        if doc is None:
            return None
        if State(doc["state"]) not in allowed_from:
            raise RequestStateError(doc["state"])
        steps = [
            *doc["steps"],
            {"state": to.value, "at": clock.now().isoformat(), "by": by, "note": note.strip()},
        ]
        changes: dict = {"state": to.value, "steps": steps}
        if review_on is not None:
            changes["review_on"] = review_on.isoformat()
        if to is State.ANSWERED:
            changes["reply"] = note.strip()
        tx.update(REQUESTS, request_id, changes)
        doc.update(changes)
    digests.refresh(record_id)
    reminders.on_request_changed(record_id, request_id, to.value)
    return _request(doc)


def acknowledge_request(record_id: str, request_id: str, *, by: str) -> ReviewRequest | None:
    return _step(record_id, request_id, State.ACKNOWLEDGED, allowed_from={State.REQUESTED}, by=by)


def schedule_request(
    record_id: str, request_id: str, *, review_on: date, by: str, note: str = ""
) -> ReviewRequest | None:
    """Set a date for the early review; it becomes the plan's next review date."""
    result = _step(
        record_id,
        request_id,
        State.SCHEDULED,
        allowed_from={State.REQUESTED, State.ACKNOWLEDGED},
        by=by,
        note=note,
        review_on=review_on,
    )
    if result is not None:
        plan = plans.get_plan(record_id)
        plans.save_review_arrangements(
            record_id,
            by=by,
            start_date=plan.start_date,
            next_review=review_on,
            interval_months=plan.review_interval_months,
        )
        digests.refresh(record_id)
    return result


def answer_request(record_id: str, request_id: str, *, by: str, reply: str) -> ReviewRequest | None:
    return _step(
        record_id,
        request_id,
        State.ANSWERED,
        allowed_from={State.REQUESTED, State.ACKNOWLEDGED},
        by=by,
        note=reply,
    )


def list_requests(record_id: str) -> list[ReviewRequest]:
    docs = get_store().read(record_scope(record_id)).all(REQUESTS)
    return sorted((_request(d) for d in docs), key=lambda r: r.requested_at, reverse=True)


def get_request(record_id: str, request_id: str) -> ReviewRequest | None:
    doc = get_store().read(record_scope(record_id)).get(REQUESTS, request_id)
    return _request(doc) if doc else None


def open_requests(record_id: str) -> list[ReviewRequest]:
    return [r for r in list_requests(record_id) if r.state.is_open]
