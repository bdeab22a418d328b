"""Early warning rules: when symptom readings match the contingency plan's warning signs.

Readings are first reduced to one value per UK calendar day: the day's highest
reading for a scale or a number (rules ask "X or more" and "up by more than X"),
the day's total for a count, and "yes" if any reading that day was yes. A rule is
checked on the day of each new reading:

* ``at_least_for_days``: the value was X or more on each of the N days ending
  that day. A day with no reading breaks the run.
* ``rise_within_days``: that day's value is more than X above the value on any
  of the N days before it that has a reading.
* ``any_yes``: the day's answer is yes.

A hit is recorded at most once per tracker per day, in the log (kind
``rule_hit``), because reviews and reminders use them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from . import clock, logs
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
        if earlier in values and latest - values[earlier] > rule.value:
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


def check_after_reading(
    record_id: str, tracker: Tracker, when: datetime, *, author_id: str
) -> Hit | None:
    """Check the tracker's rule for the day of a new reading; record and return a new hit."""
    if tracker.rule is None:
        return None
    day = when.astimezone(LONDON).date()
    window_start = datetime.combine(
        day - timedelta(days=tracker.rule.days + 1), datetime.min.time(), tzinfo=LONDON
    )
    values = daily_values(tracker, _tracker_readings(record_id, tracker.id, window_start))
    evidence = evaluate(tracker.rule, values, day)
    if not evidence:
        return None
    already = [
        d
        for d in logs.visible_docs(record_id, kinds=[logs.Kind.RULE_HIT], since=window_start)
        if d["data"]["tracker_id"] == tracker.id and d["data"]["day"] == day.isoformat()
    ]
    if already:
        return None
    hit = Hit(tracker.id, day, tracker.rule.describe(tracker.unit), evidence)
    logs.log(
        record_id,
        logs.Kind.RULE_HIT,
        author_id=author_id,
        data={
            "tracker_id": tracker.id,
            "tracker_name": tracker.name,
            "day": day.isoformat(),
            "rule": hit.rule,
            "evidence": [[d.isoformat(), v] for d, v in evidence],
        },
    )
    return hit


def recent_hits(record_id: str, since: datetime) -> list[logs.LogEntry]:
    return logs.entries(record_id, kinds=[logs.Kind.RULE_HIT], since=since)
