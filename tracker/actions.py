"""Actions: who will do what and when, for a goal, and their occurrences.

"When" is either one due date or a repeat rule (daily, weekly on chosen days,
every N weeks, monthly) expanded with ``dateutil.rrule`` on calendar dates, so
month ends and clock changes never shift an occurrence to another day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from enum import StrEnum

from dateutil import rrule

from . import clock
from .records import record_scope
from .store import get_store

TABLE = "actions"


class Owner(StrEnum):
    ME = "me"
    CARER = "carer"
    COORDINATOR = "coordinator"
    OTHER = "other"


class Repeat(StrEnum):
    ONCE = "once"
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"


@dataclass(frozen=True)
class Schedule:
    repeat: Repeat
    start: date
    until: date | None = None
    interval: int = 1
    weekdays: tuple[int, ...] = ()  # 0 = Monday
    at: time | None = None

    def to_doc(self) -> dict:
        return {
            "repeat": self.repeat.value,
            "start": self.start.isoformat(),
            "until": self.until.isoformat() if self.until else None,
            "interval": self.interval,
            "weekdays": list(self.weekdays),
            "at": self.at.isoformat(timespec="minutes") if self.at else None,
        }

    @classmethod
    def from_doc(cls, doc: dict) -> Schedule:
        return cls(
            repeat=Repeat(doc["repeat"]),
            start=date.fromisoformat(doc["start"]),
            until=date.fromisoformat(doc["until"]) if doc.get("until") else None,
            interval=int(doc.get("interval", 1)),
            weekdays=tuple(doc.get("weekdays", ())),
            at=time.fromisoformat(doc["at"]) if doc.get("at") else None,
        )

    def occurrences(self, first: date, last: date) -> list[date]:
        """Calendar dates on which the action falls, from ``first`` to ``last`` inclusive."""
        if self.repeat is Repeat.ONCE:
            return [self.start] if first <= self.start <= last else []
        freq = {
            Repeat.DAILY: rrule.DAILY,
            Repeat.WEEKLY: rrule.WEEKLY,
            Repeat.MONTHLY: rrule.MONTHLY,
        }
        kwargs: dict = {"dtstart": datetime.combine(self.start, time()), "interval": self.interval}
        if self.repeat is Repeat.WEEKLY:
            kwargs["byweekday"] = self.weekdays or (self.start.weekday(),)
        if self.repeat is Repeat.MONTHLY:
            # The 31st falls on the last day of shorter months rather than vanishing.
            kwargs["bymonthday"] = (self.start.day,) if self.start.day <= 28 else (-1,)
        end = min(last, self.until) if self.until else last
        if end < first:
            return []
        rule = rrule.rrule(freq[self.repeat], until=datetime.combine(end, time()), **kwargs)
        return [
            d.date()
            for d in rule.between(
                datetime.combine(first, time()), datetime.combine(end, time()), inc=True
            )
        ]


@dataclass(frozen=True)
class Action:
    id: str
    goal_id: str
    what: str
    owner: Owner
    owner_name: str
    schedule: Schedule
    confidence: int | None
    support_needed: str
    barriers: str
    strategies: str
    created_at: str

    @classmethod
    def from_doc(cls, doc: dict) -> Action:
        return cls(
            id=doc["id"],
            goal_id=doc["goal_id"],
            what=doc["what"],
            owner=Owner(doc["owner"]),
            owner_name=doc.get("owner_name", ""),
            schedule=Schedule.from_doc(doc["schedule"]),
            confidence=doc.get("confidence"),
            support_needed=doc.get("support_needed", ""),
            barriers=doc.get("barriers", ""),
            strategies=doc.get("strategies", ""),
            created_at=doc["created_at"],
        )


def add_action(
    record_id: str,
    *,
    goal_id: str,
    what: str,
    owner: Owner,
    schedule: Schedule,
    owner_name: str = "",
    confidence: int | None = None,
    support_needed: str = "",
    barriers: str = "",
    strategies: str = "",
) -> Action:
    """Add an action to a goal."""
    doc = {
        "goal_id": goal_id,
        "what": what,
        "owner": owner.value,
        "owner_name": owner_name,
        "schedule": schedule.to_doc(),
        "confidence": confidence,
        "support_needed": support_needed,
        "barriers": barriers,
        "strategies": strategies,
        "created_at": clock.now().isoformat(),
    }
    with get_store().transaction(record_scope(record_id)) as tx:
        doc["id"] = tx.insert(TABLE, doc)
    return Action.from_doc(doc)


def list_actions(record_id: str) -> list[Action]:
    docs = get_store().read(record_scope(record_id)).all(TABLE)
    return sorted((Action.from_doc(d) for d in docs), key=lambda a: a.created_at)


def due_on(record_id: str, day: date) -> list[Action]:
    """Actions with an occurrence on ``day``."""
    return [a for a in list_actions(record_id) if a.schedule.occurrences(day, day)]
