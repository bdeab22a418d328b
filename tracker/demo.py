"""Deterministic demo data: a person with a plan and six months of logs, a carer, and a coordinator.

Everything is generated from a fixed seed relative to an anchor date ("today"),
so two runs with the same anchor produce the same record. The story: Sam Patel
lives with COPD and anxiety. Things go fairly well, then a chest infection in
month four brings a hospital stay, low mood and poor sleep, and a slow recovery.
"""

from __future__ import annotations

import io
import math
import random
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from . import (
    accounts,
    actions,
    budget,
    early_warnings,
    goals,
    logs,
    plans,
    receipts,
    records,
    sharing,
    trackers,
)
from .actions import Owner, Repeat, Schedule
from .logs import DiaryMark
from .plans import BudgetHeld, ContactRole, LineCategory, LinePeriod
from .roles import Role
from .trackers import TrackerKind

SEED = 2026
DEMO_PASSWORD = "care-plan-demo"  # noqa: S105 (published demo sign-in)
DEMO_USERS = {
    "person": "sam@example.com",
    "carer": "alex@example.com",
    "coordinator": "jo.coordinator@example.com",
}
CASELOAD_SIZE = 20
DAYS = 182

_OTHER_PEOPLE = [
    "Aisha Khan",
    "Brian O'Connor",
    "Chloe Evans",
    "David Okafor",
    "Elena Popescu",
    "Frank Hughes",
    "Grace Li",
    "Harry Williams",
    "Imran Hussain",
    "Julia Nowak",
    "Kofi Mensah",
    "Linda Murphy",
    "Mohammed Ali",
    "Niamh Byrne",
    "Oliver Smith",
    "Priya Sharma",
    "Rachel Green",
    "Stefan Kowalski",
    "Tom Jones",
]

_GOOD_DAYS = [
    "Managed the walk to the postbox and back without stopping. Felt proud.",
    "Walking group was good today. Talked to Maureen about her allotment.",
    "Slept well. Did my breathing exercises before bed and it helped.",
    "Alex helped with the evening routine and I felt calm going to bed.",
    "Went to the coffee group for half an hour. Nervous at first but glad I went.",
    "Good day. Breathing felt easier and I did some gardening.",
]
_HARD_DAYS = [
    "Too breathless to go to the walking group. Stayed in.",
    "Bad night. Woke up at 3am and could not get back to sleep.",
    "Felt anxious about going out so I cancelled the coffee group again.",
    "The PA did not come this morning and nobody told me why.",
    "Chest feels tight. Using the reliever inhaler more than usual.",
    "Low day. Did not want to talk to anyone.",
]


def already_loaded() -> bool:
    return accounts.find_account_by_email(DEMO_USERS["person"]) is not None


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=UTC)


def _wellbeing(day_index: int, rng: random.Random) -> float:
    """0 (awful) to 1 (very good): a gentle wave, a bad patch in month four, noise."""
    base = 0.6 + 0.12 * math.sin(day_index / 9.0)
    if 100 <= day_index < 112:  # the chest infection and hospital stay
        base -= 0.35
    elif 112 <= day_index < 135:  # slow recovery
        base -= 0.35 * (135 - day_index) / 23
    return min(1.0, max(0.0, base + rng.uniform(-0.12, 0.12)))


def load(today: date | None = None) -> None:
    """Create the demo accounts, the person's record and plan, logs and a caseload."""
    rng = random.Random(SEED)
    today = today or date.today()
    start = today - timedelta(days=DAYS)

    person = accounts.create_account(DEMO_USERS["person"], "Sam Patel", DEMO_PASSWORD)
    carer = accounts.create_account(DEMO_USERS["carer"], "Alex Patel", DEMO_PASSWORD)
    coordinator = accounts.create_account(
        DEMO_USERS["coordinator"], "Jo Brown", DEMO_PASSWORD, is_coordinator=True
    )

    record = records.create_record("Sam Patel", created_by=coordinator.id, owner_id=person.id)
    sharing.add_member(record.id, person.id, Role.OWNER)
    sharing.add_member(record.id, carer.id, Role.CARER)
    sharing.add_member(record.id, coordinator.id, Role.COORDINATOR)

    _plan(record.id, coordinator.id, start, today, carer.id)
    _contacts_and_budget(record.id, coordinator.id)
    _spending(record.id, person.id, start, today)
    _logs(record.id, person.id, carer.id, start, rng)
    _caseload(coordinator.id, today, rng)


def _contacts_and_budget(record_id: str, by: str) -> None:
    plans.add_contact(
        record_id,
        by=by,
        name="Jo Brown",
        role=ContactRole.COORDINATOR,
        detail="Care coordinator",
        phone="01632 960 004",
        email="jo.coordinator@example.com",
    )
    plans.add_contact(
        record_id,
        by=by,
        name="Alex Patel",
        role=ContactRole.NEXT_OF_KIN,
        detail="Husband and carer",
        phone="07700 900 982",
    )
    plans.add_contact(
        record_id,
        by=by,
        name="Respiratory nurse team",
        role=ContactRole.PROFESSIONAL,
        detail="Weekdays 9am to 5pm",
        phone="01632 960 001",
    )
    plans.save_budget(record_id, by=by, total=Decimal("18500.00"), held=BudgetHeld.DIRECT_PAYMENT)
    for what, amount, category, period in (
        ("Personal assistant wages", "240.00", LineCategory.PA_WAGES, LinePeriod.WEEKLY),
        (
            "Employer costs: tax, National Insurance, pension, insurance",
            "175.00",
            LineCategory.EMPLOYER_COSTS,
            LinePeriod.MONTHLY,
        ),
        ("Pulmonary rehabilitation classes", "1420.00", LineCategory.THERAPY, LinePeriod.YEARLY),
        ("Breathing and relaxation therapy", "125.00", LineCategory.THERAPY, LinePeriod.MONTHLY),
        ("Travel to groups", "1000.00", LineCategory.TRAVEL, LinePeriod.YEARLY),
    ):
        plans.add_budget_line(
            record_id,
            by=by,
            what=what,
            amount=Decimal(amount),
            category=category,
            period=period,
        )


def _spending(record_id: str, person_id: str, start: date, today: date) -> None:
    """Six months of direct-payment records: PA wages each Friday (none while the PA was on
    leave and Sam in hospital), rehab fees each term, employer costs and therapy monthly,
    taxis now and then."""
    rng = random.Random(SEED + 9)  # its own stream: the logs' story stays as it was
    ids = [line.id for line in plans.get_plan(record_id).budget_lines]
    pa, employer, rehab, therapy, travel = ids
    for i in range(1, DAYS):
        day = start + timedelta(days=i)
        if day >= today:
            break
        spends = []
        if day.weekday() == 4 and not 90 <= i < 130:
            spends.append((pa, "240.00", "Priya Shah (PA)", "Weekly wages"))
        if i in (20, 111):
            spends.append((rehab, "355.00", "Breathe Well Rehab", "Term fee: 10 classes"))
        if day.day == 28:
            spends.append((employer, "175.00", "Payroll service", "PAYE, NI, pension"))
            if not 96 <= i < 124:
                spends.append((therapy, "125.00", "Calm Breath Therapies", "Four sessions"))
        if day.weekday() == 1 and rng.random() < 0.6:
            fare = f"{rng.choice([12, 14, 16, 18])}.{rng.choice(['00', '50'])}"
            spends.append((travel, fare, "Town Taxis", "To the walking group"))
        for line_id, amount, payee, note in spends:
            budget.record_spending(
                record_id,
                on=day,
                amount=Decimal(amount),
                payee=payee,
                line_id=line_id,
                author_id=person_id,
                note=note,
                # The first rehab fee kept its receipt, so the demo shows one.
                receipt_id=_demo_receipt(record_id) if i == 20 and line_id == rehab else None,
            )


def _demo_receipt(record_id: str) -> str:
    """A plain photographed-receipt stand-in: a small white PNG with a few grey lines."""
    from PIL import Image, ImageDraw

    picture = Image.new("RGB", (240, 320), "white")
    draw = ImageDraw.Draw(picture)
    for y in range(40, 280, 24):
        draw.line((24, y, 216, y), fill=(150, 150, 150), width=3)
    out = io.BytesIO()
    picture.save(out, "PNG")
    return receipts.save_receipt(record_id, out.getvalue())


def _plan(record_id: str, by: str, start: date, today: date, carer_id: str) -> None:
    plans.save_plan(
        record_id,
        by=by,
        sections={
            "what_matters": "Being able to get out to see friends, and looking after my garden.",
            "appreciate": "My sense of humour, and that I always ask how other people are.",
            "how_to_support": "Give me time to catch my breath. Talk to me, not to Alex.",
            "health_summary": "COPD (diagnosed 2019). Anxiety. Reliever and preventer inhalers.",
            "warning_signs": "More breathless than usual for 2 days. Green or brown phlegm. "
            "Not sleeping because of breathing. Feeling panicky.",
            "what_to_do": "Start my rescue pack as the respiratory nurse showed me. "
            "Sit upright, use my breathing techniques. Tell Alex.",
            "whom_to_call": "Respiratory nurse team: 01632 960 001 (weekdays 9am to 5pm). "
            "GP surgery: 01632 960 002. Out of hours: NHS 111.",
            "if_support_unavailable": "If my PA cannot come, Alex covers mornings. "
            "If neither can, call the agency on 01632 960 003.",
            "information_sharing": "I am happy for my carer and my care coordinator to see "
            "my plan. My diary is private.",
        },
        start_date=start,
        next_review=start + timedelta(days=91)
        if start + timedelta(days=91) > today
        else today + timedelta(days=26),
        review_interval_months=6,
        signed_off_on=start,
        signed_off_by="Jo Brown, care coordinator, on behalf of the local NHS",
    )
    walk = goals.add_goal(
        record_id,
        by=by,
        need="Getting breathless when walking",
        outcome="To walk to the local shop and back without stopping",
        measure="I can do it 3 times a week",
        importance=9,
    )
    sleep = goals.add_goal(
        record_id,
        by=by,
        need="Poor sleep because of breathing and worry",
        outcome="To sleep through the night most nights",
        measure="6 hours or more on 5 nights a week",
        importance=7,
    )
    anxious = goals.add_goal(
        record_id,
        by=by,
        need="Anxiety about going out",
        outcome="To feel less anxious about going out and seeing people",
        measure="I go to the coffee group every week",
        importance=8,
    )
    actions.add_action(
        record_id,
        goal_id=walk.id,
        what="Join the weekly walking group on Tuesdays",
        owner=Owner.ME,
        confidence=7,
        schedule=Schedule(Repeat.WEEKLY, start, weekdays=(1,), at=time(10, 30)),
    )
    actions.add_action(
        record_id,
        goal_id=walk.id,
        what="Physiotherapist to review my exercise plan",
        owner=Owner.OTHER,
        owner_name="Community physiotherapy",
        schedule=Schedule(Repeat.ONCE, start + timedelta(days=30)),
    )
    actions.add_action(
        record_id,
        goal_id=sleep.id,
        what="Do my breathing exercises before bed",
        owner=Owner.ME,
        confidence=8,
        schedule=Schedule(Repeat.DAILY, start, at=time(21, 30)),
    )
    actions.add_action(
        record_id,
        goal_id=sleep.id,
        what="Help with the evening routine",
        owner=Owner.CARER,
        owner_name="Alex Patel",
        schedule=Schedule(Repeat.DAILY, start, at=time(20, 0)),
    )
    actions.add_action(
        record_id,
        goal_id=anxious.id,
        what="Go to the Thursday coffee group",
        owner=Owner.ME,
        confidence=5,
        barriers="Worry about getting breathless in front of people",
        support_needed="Alex to come with me the first few times",
        schedule=Schedule(Repeat.WEEKLY, start, weekdays=(3,), at=time(11, 0)),
    )
    actions.add_action(
        record_id,
        goal_id=anxious.id,
        what="Refer me to talking therapy",
        owner=Owner.COORDINATOR,
        owner_name="Jo Brown",
        schedule=Schedule(Repeat.ONCE, start + timedelta(days=14)),
    )


def _logs(record_id: str, person_id: str, carer_id: str, start: date, rng: random.Random) -> None:
    pain = trackers.define_tracker(
        record_id,
        name="Breathlessness",
        kind=TrackerKind.SCALE,
        low_label="No breathlessness",
        high_label="Worst possible",
        target_max=4,
        # From the contingency plan: "more breathless than usual for 2 days or more".
        rule=trackers.Rule(trackers.RuleKind.AT_LEAST_FOR_DAYS, 7, 3),
    )
    sleep = trackers.define_tracker(
        record_id, name="Sleep", kind=TrackerKind.NUMBER, unit="hours", target_min=6, target_max=9
    )
    weight = trackers.define_tracker(
        record_id,
        name="Weight",
        kind=TrackerKind.NUMBER,
        unit="kg",
        rule=trackers.Rule(trackers.RuleKind.RISE_WITHIN_DAYS, 2, 3),
    )
    plan_actions = actions.list_actions(record_id)
    for i in range(DAYS):
        day = start + timedelta(days=i)
        w = _wellbeing(i, rng)
        _mark_actions(record_id, plan_actions, day, w, person_id, carer_id, rng, last=i >= DAYS - 2)
        when = _at(day, 9, rng.randrange(0, 59))
        logs.record_mood(
            record_id,
            author_id=person_id,
            score=1 + round(w * 4),
            occurred_at=when,
            recorded_at=when,
        )
        if rng.random() < 0.35:
            evening = _at(day, 19, rng.randrange(0, 59))
            score = 1 + round(min(1.0, max(0.0, w + rng.uniform(-0.15, 0.1))) * 4)
            logs.record_mood(
                record_id,
                author_id=person_id,
                score=score,
                occurred_at=evening,
                recorded_at=evening,
            )
        breath = round(min(10, max(0, (1 - w) * 10 + rng.uniform(-1, 1))))
        logs.record_reading(
            record_id,
            author_id=person_id,
            tracker_id=pain.id,
            value=breath,
            occurred_at=when,
            recorded_at=when,
        )
        early_warnings.check_after_reading(record_id, pain, when, author_id=person_id)
        if i % 7 == 0 or 98 <= i <= 104:
            kg = round(78 + rng.uniform(-0.4, 0.4) + (2.6 if 101 <= i <= 104 else 0), 1)
            logs.record_reading(
                record_id,
                author_id=person_id,
                tracker_id=weight.id,
                value=kg,
                occurred_at=when,
                recorded_at=when,
            )
            early_warnings.check_after_reading(record_id, weight, when, author_id=person_id)
        _support(record_id, carer_id, day, i, rng)
        if i == 103:
            _event(
                record_id,
                carer_id,
                day,
                logs.EventType.AMBULANCE,
                "Very breathless in the night. Paramedics took Sam to hospital.",
            )
            _event(record_id, carer_id, day, logs.EventType.ADMISSION, "Chest infection.")
        if i == 109:
            _event(
                record_id,
                carer_id,
                day,
                logs.EventType.DISCHARGE,
                "Home with antibiotics and a new inhaler.",
            )
        hours = round(min(10.0, max(2.0, 3.5 + w * 5 + rng.uniform(-0.8, 0.8))), 1)
        logs.record_reading(
            record_id,
            author_id=person_id,
            tracker_id=sleep.id,
            value=hours,
            occurred_at=when,
            recorded_at=when,
        )
        if rng.random() < 0.4:
            good = w >= 0.55
            text = rng.choice(_GOOD_DAYS if good else _HARD_DAYS)
            mark = (
                None
                if rng.random() < 0.3
                else (DiaryMark.WORKING if good else DiaryMark.NOT_WORKING)
            )
            night = _at(day, 21, rng.randrange(0, 59))
            logs.write_diary(
                record_id,
                author_id=person_id,
                text=text,
                mark=mark,
                occurred_at=night,
                recorded_at=night,
            )


def _support(record_id: str, carer_id: str, day: date, i: int, rng: random.Random) -> None:
    """Alex helps with the evening routine most days; the PA's leave and a cold mean some misses."""
    when = _at(day, 20, rng.randrange(0, 30))
    if 60 <= i < 67:
        logs.record_support(
            record_id,
            author_id=carer_id,
            kind=logs.SupportKind.MISSED,
            what="Morning help with washing and dressing",
            reason=logs.MissedReason.PA_ON_LEAVE,
            occurred_at=when,
            recorded_at=when,
        )
    elif i in (140, 141):
        logs.record_support(
            record_id,
            author_id=carer_id,
            kind=logs.SupportKind.MISSED,
            what="Help with the evening routine",
            reason=logs.MissedReason.CARER_UNWELL,
            occurred_at=when,
            recorded_at=when,
        )
    elif rng.random() < 0.6:
        logs.record_support(
            record_id,
            author_id=carer_id,
            kind=logs.SupportKind.GIVEN,
            what="Help with the evening routine and inhalers",
            minutes=rng.choice([20, 30, 30, 45]),
            occurred_at=when,
            recorded_at=when,
        )
    if i % 30 == 12:
        logs.record_support(
            record_id,
            author_id=carer_id,
            kind=logs.SupportKind.OBSERVATION,
            what="Sam seemed more breathless climbing the stairs this week.",
            occurred_at=when,
            recorded_at=when,
        )


def _event(record_id: str, author_id: str, day: date, event: logs.EventType, note: str) -> None:
    when = _at(day, 14)
    logs.record_event(
        record_id, author_id=author_id, event=event, note=note, occurred_at=when, recorded_at=when
    )


def _mark_actions(
    record_id: str,
    plan_actions: list[actions.Action],
    day: date,
    w: float,
    person_id: str,
    carer_id: str,
    rng: random.Random,
    *,
    last: bool,
) -> None:
    """Mark most occurrences, mostly done on good days; the last two days partly unmarked."""
    for action in plan_actions:
        if action.owner not in (Owner.ME, Owner.CARER) or not action.schedule.occurrences(day, day):
            continue
        if last and rng.random() < 0.6:
            continue
        roll = rng.random()
        # The coffee group (confidence 5) is the hardest; breathing exercises the easiest.
        ease = 0.35 if action.confidence == 5 else 0.75 if action.confidence == 8 else 0.6
        if roll < ease + 0.3 * w:
            outcome = actions.Outcome.DONE
        elif roll < 0.95:
            outcome = actions.Outcome.MISSED
        else:
            outcome = actions.Outcome.SKIPPED
        by = carer_id if action.owner is Owner.CARER else person_id
        when = _at(day, 22, rng.randrange(0, 59))
        actions.mark_occurrence(record_id, action, day, outcome, by=by, today=day, at=when)


def _caseload(coordinator_id: str, today: date, rng: random.Random) -> None:
    for name in _OTHER_PEOPLE[: CASELOAD_SIZE - 1]:
        record = records.create_record(name, created_by=coordinator_id)
        sharing.add_member(record.id, coordinator_id, Role.COORDINATOR)
        start = today - timedelta(days=rng.randrange(20, 400))
        # Some reviews are overdue on purpose, as on any real caseload.
        next_review = today + timedelta(days=rng.randrange(-30, 200))
        plans.save_plan(
            record.id,
            by=coordinator_id,
            sections={},
            start_date=start,
            next_review=next_review,
            signed_off_on=start,
        )
        goals.add_goal(record.id, by=coordinator_id, outcome="To stay well at home")
