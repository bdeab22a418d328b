"""Test factories: ``create_*(app, ..., **overrides)`` make one thing through the domain modules.

Each factory opens its own app context (nesting inside a test's own is fine), fills in
sensible defaults and lets a test override any field it cares about, so a test names
only what matters to it. Everything is made through ``tracker``'s own functions, never
by writing data files, so a factory can never build a state the app could not.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, time, timedelta

from flask import Flask

from tracker import accounts, actions, clock, goals, plans, records, sharing, trackers
from tracker.actions import Owner, Repeat, Schedule
from tracker.roles import Role
from tracker.trackers import TrackerKind

PASSWORD = "correct horse battery"


def create_account(
    app: Flask,
    email: str = "someone@example.com",
    name: str = "Sam Someone",
    *,
    coordinator: bool = False,
    password: str = PASSWORD,
) -> accounts.Account:
    """An account that can sign in with ``password`` (a coordinator if asked)."""
    with app.app_context():
        return accounts.create_account(email, name, password, is_coordinator=coordinator)


def create_record(
    app: Flask,
    *,
    created_by: str,
    name: str = "Olive Owner",
    owner_id: str | None = None,
    members: Mapping[str, Role] | None = None,
) -> records.Record:
    """A record, and a membership (default categories) for each ``user_id: role`` in ``members``."""
    with app.app_context():
        record = records.create_record(name, created_by=created_by, owner_id=owner_id)
        for user_id, role in (members or {}).items():
            sharing.add_member(record.id, user_id, role)
        return record


def create_person(
    app: Flask, email: str = "other@example.com", name: str = "Otto Other"
) -> tuple[accounts.Account, records.Record]:
    """An account that owns a record of its own (named after them), as after signing up."""
    account = create_account(app, email, name)
    record = create_record(
        app, created_by=account.id, name=name, owner_id=account.id, members={account.id: Role.OWNER}
    )
    return account, record


@dataclass
class People:
    """Accounts and a record to act on, made through the domain modules."""

    app: Flask
    owner_id: str
    record_id: str
    carer_id: str
    coordinator_id: str


def create_people(app: Flask, suffix: str = "") -> People:
    """An owner with a record, a carer and a coordinator on it (default categories).

    Their email addresses are ``owner{suffix}@example.com``, ``carer{suffix}@…`` and
    ``coord{suffix}@…``, so a test can make more than one such household.
    """
    owner = create_account(app, f"owner{suffix}@example.com", "Olive Owner")
    carer = create_account(app, f"carer{suffix}@example.com", "Cara Carer")
    coord = create_account(app, f"coord{suffix}@example.com", "Cody Coordinator", coordinator=True)
    record = create_record(
        app,
        created_by=owner.id,
        owner_id=owner.id,
        members={owner.id: Role.OWNER, carer.id: Role.CARER, coord.id: Role.COORDINATOR},
    )
    return People(app, owner.id, record.id, carer.id, coord.id)


def create_goal(
    app: Flask, record_id: str, *, by: str, outcome: str = "To walk further", **overrides
) -> goals.Goal:
    """A goal on the record, added by ``by``; ``overrides`` are ``goals.add_goal``'s fields."""
    with app.app_context():
        return goals.add_goal(record_id, outcome=outcome, by=by, **overrides)


def daily_from_ten_days_ago(at: time | None = time(21, 30)) -> Schedule:
    """A daily schedule that started 10 days ago (at 9:30pm unless told otherwise)."""
    return Schedule(Repeat.DAILY, clock.today() - timedelta(days=10), at=at)


def create_action(
    app: Flask,
    record_id: str,
    *,
    goal_id: str,
    what: str = "Breathing exercises",
    owner: Owner = Owner.ME,
    schedule: Schedule | None = None,
    **overrides,
) -> actions.Action:
    """An action on a goal: by default the person's own, daily since 10 days ago at 9:30pm."""
    with app.app_context():
        return actions.add_action(
            record_id,
            goal_id=goal_id,
            what=what,
            owner=owner,
            schedule=schedule or daily_from_ten_days_ago(),
            **overrides,
        )


def create_tracker(
    app: Flask,
    record_id: str,
    *,
    name: str = "Pain",
    kind: TrackerKind = TrackerKind.SCALE,
    **overrides,
) -> trackers.Tracker:
    """A tracker on the record (a 0 to 10 scale unless told otherwise)."""
    with app.app_context():
        return trackers.define_tracker(record_id, name=name, kind=kind, **overrides)


def create_plan(
    app: Flask,
    record_id: str,
    *,
    by: str,
    start_date: date | None = None,
    next_review: date | None = None,
    interval_months: int = 6,
) -> plans.Plan:
    """The record's plan with its review arrangements (every 6 months unless told otherwise)."""
    when = {
        "start_date": start_date,
        "next_review": next_review,
        "interval_months": interval_months,
    }
    with app.app_context():
        return plans.save_review_arrangements(record_id, by=by, **when)
