"""Actions: who will do what and when, for a goal, and marking their occurrences.

"When" is either one due date or a repeat rule (daily, weekly on chosen days,
every N weeks, monthly) expanded with ``dateutil.rrule`` on calendar dates in
UK time, so month ends and clock changes never shift an occurrence to another
day. Each occurrence can be marked done, missed or skipped; marks are entries
in the record's log (category "actions"), and the newest mark for an
occurrence wins, so a mistake is corrected by marking again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum

from dateutil import rrule

from . import clock, logs
from .records import record_scope
from .roles import Category, Role
from .sharing import Membership
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


class Outcome(StrEnum):
    DONE = "done"
    MISSED = "missed"
    SKIPPED = "skipped"

    @property
    def label(self) -> str:
        return self.value.capitalize()


OWNER_LABELS = {
    Owner.ME: "Me",
    Owner.CARER: "A carer",
    Owner.COORDINATOR: "My care coordinator",
    Owner.OTHER: "Someone else",
}
MAX_WHAT = 300
MAX_TEXT = 1000
OVERDUE_DAYS = 7


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
        # Expand from the last in-step point before the window, not from the start:
        # rrule walks every period from dtstart, so a daily action begun three years
        # ago would cost a thousand steps on every page that shows today.
        anchor = self._anchor(first)
        kwargs: dict = {"dtstart": datetime.combine(anchor, time()), "interval": self.interval}
        if self.repeat is Repeat.WEEKLY:
            kwargs["byweekday"] = self.weekdays or (self.start.weekday(),)
        if self.repeat is Repeat.MONTHLY:
            # The 29th, 30th or 31st falls on the last day of shorter months rather
            # than vanishing, and stays on its own date in months that have it: take
            # the latest of the days 28..start.day that the month has.
            day = self.start.day
            if day <= 28:
                kwargs["bymonthday"] = (day,)
            else:
                kwargs["bymonthday"] = tuple(range(28, day + 1))
                kwargs["bysetpos"] = -1
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

    def _anchor(self, first: date) -> date:
        """The latest day no later than ``first`` (and no earlier than the start) from which
        the rule, counted afresh, falls on the same days as it does counted from the start."""
        if first <= self.start:
            return self.start
        step = max(1, self.interval)
        if self.repeat is Repeat.DAILY:
            days = (first - self.start).days
            return self.start + timedelta(days=days - days % step)
        if self.repeat is Repeat.WEEKLY:
            # rrule counts weeks from the Monday of dtstart's week (wkst = Monday).
            monday = self.start - timedelta(days=self.start.weekday())
            weeks = (first - monday).days // 7
            return max(self.start, monday + timedelta(weeks=weeks - weeks % step))
        months = (first.year - self.start.year) * 12 + first.month - self.start.month
        months -= months % step
        year, month = divmod(self.start.month - 1 + months, 12)
        return max(self.start, date(self.start.year + year, month + 1, 1))

    def moments(self, first: date, last: date) -> list[datetime]:
        """When the occurrences from ``first`` to ``last`` happen, as UK-time aware datetimes.

        The time of day is wall-clock time, so 9:30pm stays 9:30pm when the clocks
        change. A time the clocks skip (1:30am on the last Sunday of March) is read
        with the offset before the change; one that happens twice in October is
        the first of the two. Empty for actions without a time.
        """
        if self.at is None:
            return []
        return [
            datetime.combine(d, self.at, tzinfo=clock.LONDON) for d in self.occurrences(first, last)
        ]


@dataclass(frozen=True)
class Action:
    id: str
    goal_id: str
    what: str
    owner: Owner
    owner_name: str
    owner_user_id: str | None
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
            owner_user_id=doc.get("owner_user_id"),
            schedule=Schedule.from_doc(doc["schedule"]),
            confidence=doc.get("confidence"),
            support_needed=doc.get("support_needed", ""),
            barriers=doc.get("barriers", ""),
            strategies=doc.get("strategies", ""),
            created_at=doc["created_at"],
        )

    @property
    def who(self) -> str:
        """Who does it, in words."""
        if self.owner is Owner.ME:
            return "Me"
        return self.owner_name or OWNER_LABELS[self.owner]


def _fields(
    goal_id: str,
    what: str,
    owner: Owner,
    schedule: Schedule,
    owner_name: str,
    owner_user_id: str | None,
    confidence: int | None,
    support_needed: str,
    barriers: str,
    strategies: str,
) -> dict:
    if confidence is not None and not 1 <= confidence <= 10:
        raise ValueError("confidence is 1 to 10")
    return {
        "goal_id": goal_id,
        "what": what.strip(),
        "owner": owner.value,
        "owner_name": owner_name.strip(),
        "owner_user_id": owner_user_id,
        "schedule": schedule.to_doc(),
        # Confidence is the person's own score for the actions they own.
        "confidence": confidence if owner is Owner.ME else None,
        "support_needed": support_needed.strip(),
        "barriers": barriers.strip(),
        "strategies": strategies.strip(),
    }


def add_action(
    record_id: str,
    *,
    goal_id: str,
    what: str,
    owner: Owner,
    schedule: Schedule,
    owner_name: str = "",
    owner_user_id: str | None = None,
    confidence: int | None = None,
    support_needed: str = "",
    barriers: str = "",
    strategies: str = "",
) -> Action:
    """Add an action to a goal."""
    doc = _fields(
        goal_id,
        what,
        owner,
        schedule,
        owner_name,
        owner_user_id,
        confidence,
        support_needed,
        barriers,
        strategies,
    )
    doc["created_at"] = clock.now().isoformat()
    with get_store().transaction(record_scope(record_id)) as tx:
        doc["id"] = tx.insert(TABLE, doc)
    return Action.from_doc(doc)


def edit_action(
    record_id: str,
    action_id: str,
    *,
    goal_id: str,
    what: str,
    owner: Owner,
    schedule: Schedule,
    owner_name: str = "",
    owner_user_id: str | None = None,
    confidence: int | None = None,
    support_needed: str = "",
    barriers: str = "",
    strategies: str = "",
) -> Action | None:
    """Change an action; ``None`` if there is no such action."""
    changes = _fields(
        goal_id,
        what,
        owner,
        schedule,
        owner_name,
        owner_user_id,
        confidence,
        support_needed,
        barriers,
        strategies,
    )
    with get_store().transaction(record_scope(record_id)) as tx:
        if not tx.update(TABLE, action_id, changes):
            return None
    return get_action(record_id, action_id)


def get_action(record_id: str, action_id: str) -> Action | None:
    doc = get_store().read(record_scope(record_id)).get(TABLE, action_id)
    return Action.from_doc(doc) if doc else None


def list_actions(record_id: str) -> list[Action]:
    docs = get_store().read(record_scope(record_id)).all(TABLE)
    return sorted((Action.from_doc(d) for d in docs), key=lambda a: a.created_at)


def due_on(record_id: str, day: date) -> list[Action]:
    """Actions with an occurrence on ``day``."""
    return [a for a in list_actions(record_id) if a.schedule.occurrences(day, day)]


@dataclass(frozen=True)
class Occurrence:
    """One day on which an action falls, and how it went (if marked)."""

    action: Action
    day: date
    outcome: Outcome | None
    note: str
    marked_by: str | None

    @property
    def key(self) -> str:
        return f"{self.action.id}-{self.day.isoformat()}"


def can_mark(membership: Membership, action: Action) -> bool:
    """The person marks any action; others mark the actions they own, if actions are shared."""
    if membership.role is Role.OWNER:
        return True
    if Category.ACTIONS not in membership.categories:
        return False
    if membership.role is Role.CARER:
        return action.owner is Owner.CARER and action.owner_user_id in (None, membership.user_id)
    return membership.role is Role.COORDINATOR and action.owner is Owner.COORDINATOR


def _marks(record_id: str, since: date) -> dict[tuple[str, str], dict]:
    """The newest mark for each (action id, day), for days from ``since`` on."""
    start = datetime.combine(since, time(), tzinfo=UTC) - timedelta(days=1)
    latest: dict[tuple[str, str], dict] = {}
    for entry in logs.raw_entries(record_id, kinds=[logs.Kind.ACTION], recorded_since=start):
        data = entry["data"]
        if data["day"] < since.isoformat():
            continue
        key = (data["action_id"], data["day"])
        if key not in latest or entry["recorded_at"] > latest[key]["recorded_at"]:
            latest[key] = {
                **data,
                "recorded_at": entry["recorded_at"],
                "author_id": entry["author_id"],
            }
    return latest


def occurrences(
    record_id: str, first: date, last: date, actions: list[Action] | None = None
) -> list[Occurrence]:
    """Every occurrence between two days, with its newest mark, in date order."""
    actions = list_actions(record_id) if actions is None else actions
    marks = _marks(record_id, first)
    out = []
    for action in actions:
        for day in action.schedule.occurrences(first, last):
            mark = marks.get((action.id, day.isoformat()))
            out.append(
                Occurrence(
                    action,
                    day,
                    Outcome(mark["outcome"]) if mark else None,
                    mark.get("note", "") if mark else "",
                    mark["author_id"] if mark else None,
                )
            )
    return sorted(out, key=lambda o: o.day)


def today_and_overdue(record_id: str, today: date) -> tuple[list[Occurrence], list[Occurrence]]:
    """Today's occurrences, and unmarked ones from the last week (oldest first)."""
    every = occurrences(record_id, today - timedelta(days=OVERDUE_DAYS), today)
    due_today = [o for o in every if o.day == today]
    overdue = [o for o in every if o.day < today and o.outcome is None]
    return due_today, overdue


def mark_occurrence(
    record_id: str,
    action: Action,
    day: date,
    outcome: Outcome,
    *,
    by: str,
    note: str = "",
    today: date,
    at: datetime | None = None,
    client_key: str | None = None,
) -> str:
    """Record how an occurrence went; refuses days the action does not fall on, or the future.

    ``at`` back-dates the mark (demo data and imports); by default it is now.
    """
    if day > today or not action.schedule.occurrences(day, day):
        raise ValueError("that action is not due on that day")
    # The newest mark wins, so a mark dated in the future would outrank every mark
    # made after it (demo data marks "today" at 10pm, whatever the time). Dated by
    # tracker.clock, like the days it is compared with.
    now = clock.now()
    when = now if at is None else min(at, now)
    return logs.log(
        record_id,
        logs.Kind.ACTION,
        author_id=by,
        data={
            "action_id": action.id,
            "day": day.isoformat(),
            "outcome": outcome.value,
            "note": note.strip(),
        },
        occurred_at=when,
        recorded_at=when,
        # A mark replayed from the phone's offline outbox is stored once.
        client_key=client_key,
    )


def get_occurrence(record_id: str, action: Action, day: date) -> Occurrence | None:
    found = occurrences(record_id, day, day, [action])
    return found[0] if found else None
