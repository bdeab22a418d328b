"""Trends for mood and each symptom tracker: daily series and a plain-English summary.

Each series has one point per UK day that has readings: the day's average for
mood, scales and numbers, the day's total for counts, and 1 if any answer that
day was yes. The summary compares the period's average with the same length of
time just before it: "Average breathlessness 5.2, down from 6.8 in the previous
2 weeks". Figures are rounded to one decimal place only when shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache

from dateutil.relativedelta import relativedelta

from . import clock, logs
from .clock import LONDON
from .sharing import Membership
from .trackers import Tracker, TrackerKind


class Period(StrEnum):
    TWO_WEEKS = "2-weeks"
    THREE_MONTHS = "3-months"
    SINCE_REVIEW = "since-review"

    @property
    def label(self) -> str:
        return {
            "2-weeks": "2 weeks",
            "3-months": "3 months",
            "since-review": "Since the last review",
        }[self.value]


@dataclass(frozen=True)
class Series:
    name: str
    unit: str
    low: float
    high: float
    points: tuple[tuple[date, float], ...]
    first: date
    last: date
    target_min: float | None = None
    target_max: float | None = None
    yes_no: bool = False


def window(period: Period, today: date, review_start: date | None) -> tuple[date, date]:
    """First and last day of a period ending today."""
    if period is Period.TWO_WEEKS:
        return today - timedelta(days=13), today
    if period is Period.THREE_MONTHS:
        return today - relativedelta(months=3) + timedelta(days=1), today
    start = review_start if review_start and review_start <= today else today - timedelta(days=13)
    return start, today


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=LONDON)


@lru_cache(maxsize=1 << 16)
def uk_day(stored: str) -> date:
    """The UK calendar day of a stored time (cached: a chart page asks for thousands)."""
    return clock.parse(stored).astimezone(LONDON).date()


def fetch(record_id: str, first: date, viewer: Membership | None = None) -> list[dict]:
    """Mood check-ins and readings from ``first`` on, for several series in one read."""
    return logs.visible_docs(
        record_id,
        kinds=[logs.Kind.MOOD, logs.Kind.READING],
        since=_start_of(first),
        viewer=viewer,
        ordered=False,
    )


def _daily(docs: list[dict], value_of, first: date, last: date, combine: str) -> tuple:
    per_day: dict[date, list[float]] = {}
    for doc in docs:
        day = uk_day(doc["occurred_at"])
        if first <= day <= last:
            per_day.setdefault(day, []).append(value_of(doc))
    out = []
    for day in sorted(per_day):
        values = per_day[day]
        if combine == "sum":
            out.append((day, float(sum(values))))
        elif combine == "max":
            out.append((day, float(max(values))))
        else:
            out.append((day, sum(values) / len(values)))
    return tuple(out)


def mood_series(
    record_id: str,
    first: date,
    last: date,
    viewer: Membership | None = None,
    *,
    docs: list[dict] | None = None,
) -> Series:
    """Mood over ``first``–``last``; ``docs`` from :func:`fetch` saves reading them again."""
    if docs is None:
        docs = fetch(record_id, first, viewer)
    mood = logs.Kind.MOOD.value
    moods = [d for d in docs if d["kind"] == mood]
    points = _daily(moods, lambda d: d["data"]["score"], first, last, "mean")
    return Series("Mood", "", 1, 5, points, first, last)


def tracker_series(
    record_id: str,
    tracker: Tracker,
    first: date,
    last: date,
    viewer: Membership | None = None,
    *,
    docs: list[dict] | None = None,
) -> Series:
    """One tracker over ``first``–``last``; ``docs`` from :func:`fetch` saves reading them again."""
    if docs is None:
        docs = fetch(record_id, first, viewer)
    reading, tracker_id = logs.Kind.READING.value, tracker.id
    docs = [d for d in docs if d["kind"] == reading and d["data"].get("tracker_id") == tracker_id]
    combine = {TrackerKind.COUNT: "sum", TrackerKind.YES_NO: "max"}.get(tracker.kind, "mean")
    points = _daily(docs, lambda d: d["data"]["value"], first, last, combine)
    if tracker.kind is TrackerKind.SCALE:
        low, high = 0.0, 10.0
    elif tracker.kind is TrackerKind.YES_NO:
        low, high = 0.0, 1.0
    else:
        values = [v for _, v in points] + [
            v for v in (tracker.target_min, tracker.target_max) if v is not None
        ]
        low = min(values, default=0.0)
        high = max(values, default=1.0)
        if tracker.kind is TrackerKind.COUNT:
            low = 0.0
        if high == low:
            high = low + 1
        pad = (high - low) * 0.1
        low, high = (low if tracker.kind is TrackerKind.COUNT else low - pad), high + pad
    return Series(
        tracker.name,
        tracker.unit,
        low,
        high,
        points,
        first,
        last,
        tracker.target_min,
        tracker.target_max,
        tracker.kind is TrackerKind.YES_NO,
    )


def average(series: Series) -> float | None:
    if not series.points:
        return None
    return sum(v for _, v in series.points) / len(series.points)


def _span_words(first: date, last: date) -> str:
    """The length of a period in words: "2 weeks", "3 months", or "47 days"."""
    days = (last - first).days + 1
    for months in range(1, 13):
        if first == last - relativedelta(months=months) + timedelta(days=1):
            return "month" if months == 1 else f"{months} months"
    if days % 7 == 0:
        weeks = days // 7
        return "week" if weeks == 1 else f"{weeks} weeks"
    return f"{days} days"


def in_sentence(name: str) -> str:
    """A name inside a sentence: "Pain" becomes "pain", "FEV1" and "PEF" stay as they are."""
    if name[:1].isupper() and name[1:2].islower():
        return name[0].lower() + name[1:]
    return name


def summary(current: Series, previous: Series) -> str:
    """One sentence comparing a period with the one before it."""
    name = in_sentence(current.name)
    unit = f" {current.unit}" if current.unit else ""
    span = _span_words(current.first, current.last)
    if current.yes_no:
        days = len(current.points)
        if not days:
            return f"No answers for {name} in this period."
        yes = sum(1 for _, v in current.points if v >= 1)
        day_words = "day" if days == 1 else "days"
        return f'"Yes" on {yes} of the {days} {day_words} with an answer in this period.'
    now = average(current)
    if now is None:
        return f"No readings of {name} in this period."
    before = average(previous)
    text = f"Average {name} {now:.1f}{unit}"
    if before is None:
        return f"{text}. No readings in the previous {span} to compare with."
    if round(now, 1) == round(before, 1):
        return f"{text}, the same as in the previous {span}."
    direction = "up" if now > before else "down"
    return f"{text}, {direction} from {before:.1f}{unit} in the previous {span}."


def previous_window(first: date, last: date) -> tuple[date, date]:
    length = (last - first).days + 1
    return first - timedelta(days=length), first - timedelta(days=1)
