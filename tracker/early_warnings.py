"""Early warning rules: when symptom readings match the contingency plan's warning signs.

Readings are first reduced to one value per UK calendar day: the day's highest
reading for a scale or a number (rules ask "X or more" and "up by more than X"),
the day's total for a count, and "yes" if any reading that day was yes. A rule is
checked, for each new or changed reading, on every day that reading can affect:
its own day, and (because past days can be filled in) the later days, up to
today, whose rule looks back to it.

* ``at_least_for_days``: the value was X or more on each of the N days ending
  that day. A day with no reading breaks the run.
* ``rise_within_days``: that day's value is more than X above the value on any
  of the N days before it that has a reading. Differences are compared to a
  millionth, so 64.4 after 62.4 is a rise of exactly 2, not 2.000000000000007.
* ``any_yes``: the day's answer is yes.

A hit is recorded at most once per tracker per day, in the log (kind
``rule_hit``), because reviews and reminders use them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from . import clock, logs, reminders
from .clock import LONDON
from .trackers import Rule, RuleKind, Tracker, TrackerKind


@dataclass(frozen=True)
class Hit:
    tracker_id: str
    day: date
    rule: str
    evidence: tuple[tuple[date, float], ...]


def daily_values(tracker: Tracker, readings: list[tuple[datetime, float]]) -> dict[date, float]:
    """One value per UK day, as the module docstring says."""
    out: dict[date, float] = {}
    for when, value in readings:
        day = when.astimezone(LONDON).date()
        if tracker.kind is TrackerKind.COUNT:
            out[day] = out.get(day, 0) + value
        else:
            out[day] = max(out.get(day, value), value)
    return out


def evaluate(rule: Rule, values: dict[date, float], day: date) -> tuple[tuple[date, float], ...]:
    """The readings that make ``rule`` met on ``day``; empty if it is not met."""
    if day not in values:
        return ()
    if rule.kind is RuleKind.ANY_YES:
        return ((day, values[day]),) if values[day] >= 1 else ()
    if rule.kind is RuleKind.AT_LEAST_FOR_DAYS:
        run = [day - timedelta(days=i) for i in range(rule.days - 1, -1, -1)]
        if all(d in values and values[d] >= rule.value for d in run):
            return tuple((d, values[d]) for d in run)
        return ()
    latest = values[day]
    for i in range(rule.days, 0, -1):
        earlier = day - timedelta(days=i)
        # Readings have at most 3 decimal places; float subtraction does not.
        if earlier in values and round(latest - values[earlier], 6) > rule.value:
            return ((earlier, values[earlier]), (day, latest))
    return ()


def _tracker_readings(
    record_id: str, tracker_id: str, since: datetime
) -> list[tuple[datetime, float]]:
    docs = logs.visible_docs(record_id, kinds=[logs.Kind.READING], since=since)
    return [
        (clock.parse(d["occurred_at"]), d["data"]["value"])
        for d in docs
        if d["data"].get("tracker_id") == tracker_id
    ]


def _affected_days(rule: Rule, day: date, today: date) -> list[date]:
    """The days whose rule check can change when ``day`` gets a reading, oldest first."""
    ahead = {
        RuleKind.ANY_YES: 0,
        RuleKind.AT_LEAST_FOR_DAYS: rule.days - 1,  # runs ending on the next N-1 days
        RuleKind.RISE_WITHIN_DAYS: rule.days,  # rises looking back N days
    }[rule.kind]
    return [d for d in (day + timedelta(days=i) for i in range(ahead + 1)) if d <= today]


def _hit_key(tracker_id: str, day: date) -> str:
    """The same log id for one tracker's hit on one day, so a race cannot record two."""
    return hashlib.sha256(f"rule-hit {tracker_id} {day.isoformat()}".encode()).hexdigest()[:32]


def check_after_reading(
    record_id: str, tracker: Tracker, when: datetime, *, author_id: str
) -> Hit | None:
    """Check the tracker's rule on the days a new reading affects; record new hits.

    Returns the latest new hit (the one to show the person), or ``None``.
    """
    if tracker.rule is None:
        return None
    rule = tracker.rule
    day = when.astimezone(LONDON).date()
    days = _affected_days(rule, day, max(clock.today(), day))
    window_start = datetime.combine(
        day - timedelta(days=rule.days + 1), datetime.min.time(), tzinfo=LONDON
    )
    values = daily_values(tracker, _tracker_readings(record_id, tracker.id, window_start))
    met = [(d, evaluate(rule, values, d)) for d in days]
    met = [(d, evidence) for d, evidence in met if evidence]
    if not met:
        return None
    recorded = {
        d["data"]["day"]
        for d in logs.visible_docs(record_id, kinds=[logs.Kind.RULE_HIT], since=window_start)
        if d["data"]["tracker_id"] == tracker.id
    }
    latest = None
    for hit_day, evidence in met:
        if hit_day.isoformat() in recorded:
            continue
        latest = Hit(tracker.id, hit_day, rule.describe(tracker.unit), evidence)
        logs.log(
            record_id,
            logs.Kind.RULE_HIT,
            author_id=author_id,
            data={
                "tracker_id": tracker.id,
                "tracker_name": tracker.name,
                "day": hit_day.isoformat(),
                "rule": latest.rule,
                "evidence": [[d.isoformat(), v] for d, v in evidence],
            },
            client_key=_hit_key(tracker.id, hit_day),
        )
        reminders.on_warning(record_id, tracker.id, hit_day)
    return latest


def recent_hits(record_id: str, since: datetime) -> list[logs.LogEntry]:
    return logs.entries(record_id, kinds=[logs.Kind.RULE_HIT], since=since)
