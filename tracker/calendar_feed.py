"""The calendar feed: a person's actions and review date as iCalendar, at a private URL.

Why it looks like this:

* **The URL is the credential.** Calendar apps cannot sign in, so the feed lives at
  ``/calendar/<token>.ics``. The token is ``<record id>-<secret>``, the secret being
  32 random bytes from :mod:`secrets`. The record id only says where to look (it is
  in every record URL anyway); the secret is compared with
  :func:`hmac.compare_digest`, so timing says nothing about it. The secret is kept
  (not only its hash) because the person's page shows the link again each visit,
  so they can add it to another phone. Resetting makes a new secret, and turning
  the feed off removes it: the old link answers 404 at once.
* **It lives in the record's folder** (``records/<id>/calendar.json``), so deleting
  the record deletes the feed with it, and the full export leaves the secret out
  (:data:`SECRET_FIELDS`).
* **No health details.** Each event says only "Care plan action" or "Care plan
  review", unless the person chooses to show their actions' wording (off by
  default). Never goals, notes, mood or anything else.
* **Right across clock changes.** Timed actions are written in UK local time with
  ``TZID=Europe/London`` and a ``VTIMEZONE`` whose rules repeat every year, so a
  9am action stays at 9am on the phone in summer and winter. Repeats are one
  ``RRULE`` each, matching :meth:`actions.Schedule.occurrences` exactly.
"""

from __future__ import annotations

import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from icalendar import Calendar, Event, Timezone, TimezoneDaylight, TimezoneStandard

from . import actions, clock, plans, reviews
from .actions import Action, Repeat
from .store import get_store

SCOPE_NAME = "calendar"
TABLE = "feed"
DOC_ID = "feed"
# Fields of the feed document that are credentials: never exported.
SECRET_FIELDS = frozenset({"token"})

ACTION_SUMMARY = "Care plan action"
REVIEW_SUMMARY = "Care plan review"
TZID = "Europe/London"
# Actions have no length of their own; phones need one to draw them.
TIMED_LENGTH = timedelta(minutes=30)
PRODID = "-//Care plan tracker//Calendar feed//EN"

_TOKEN_RE = re.compile(r"^([a-z0-9]{6,40})-([A-Za-z0-9_-]{40,64})$")
_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_FREQ = {Repeat.DAILY: "DAILY", Repeat.WEEKLY: "WEEKLY", Repeat.MONTHLY: "MONTHLY"}


@dataclass(frozen=True)
class FeedSettings:
    """Whether the feed is on (it has a secret), and whether events show action wording."""

    secret: str | None = None
    include_wording: bool = False

    @property
    def enabled(self) -> bool:
        return self.secret is not None


def feed_scope(record_id: str) -> str:
    return f"records/{record_id}/{SCOPE_NAME}"


def get_settings(record_id: str) -> FeedSettings:
    """The record's feed settings (off, without wording, if never set)."""
    doc = get_store().read(feed_scope(record_id)).get(TABLE, DOC_ID) or {}
    return FeedSettings(secret=doc.get("token"), include_wording=bool(doc.get("include_wording")))


def _change(record_id: str, **changes: object) -> None:
    with get_store().transaction(feed_scope(record_id)) as tx:
        doc = tx.get(TABLE, DOC_ID) or {"id": DOC_ID, "token": None, "include_wording": False}
        tx.replace(TABLE, {**doc, **changes, "changed_at": clock.now().isoformat()})


def reset_token(record_id: str) -> str:
    """Start the feed, or replace its link: the old link stops working at once."""
    secret = secrets.token_urlsafe(32)
    _change(record_id, token=secret)
    return secret


def turn_off(record_id: str) -> None:
    """Stop the feed: its link answers 404 from now on."""
    _change(record_id, token=None)


def set_wording(record_id: str, include_wording: bool) -> None:
    """Choose whether events show the action's wording (otherwise "Care plan action")."""
    _change(record_id, include_wording=include_wording)


def token_for(record_id: str, secret: str) -> str:
    """The token that goes in the feed's URL."""
    return f"{record_id}-{secret}"


def record_for_token(token: str) -> str | None:
    """The record a feed token opens, or ``None`` if it is unknown, reset or turned off."""
    match = _TOKEN_RE.fullmatch(token)
    if match is None:
        return None
    record_id, secret = match.groups()
    stored = get_settings(record_id).secret
    if stored is None or not hmac.compare_digest(stored.encode(), secret.encode()):
        return None
    return record_id


# --- the feed --------------------------------------------------------------------


def london_timezone() -> Timezone:
    """Europe/London as a VTIMEZONE with yearly rules (the UK's rules since 1996)."""
    tz = Timezone()
    tz.add("tzid", TZID)
    summer = TimezoneDaylight()
    summer.add("tzname", "BST")
    summer.add("dtstart", datetime(1996, 3, 31, 1, 0))
    summer.add("tzoffsetfrom", timedelta(0))
    summer.add("tzoffsetto", timedelta(hours=1))
    summer.add("rrule", {"freq": "yearly", "bymonth": 3, "byday": "-1SU"})
    winter = TimezoneStandard()
    winter.add("tzname", "GMT")
    winter.add("dtstart", datetime(1996, 10, 27, 2, 0))
    winter.add("tzoffsetfrom", timedelta(hours=1))
    winter.add("tzoffsetto", timedelta(0))
    winter.add("rrule", {"freq": "yearly", "bymonth": 10, "byday": "-1SU"})
    tz.add_component(summer)
    tz.add_component(winter)
    return tz


def _first_occurrence(schedule: actions.Schedule) -> date | None:
    # Every rule falls at least once within its interval (plus a month) of the start.
    window = timedelta(days=31 * max(1, schedule.interval) + 62)
    found = schedule.occurrences(schedule.start, schedule.start + window)
    return found[0] if found else None


def _recurrence(schedule: actions.Schedule) -> dict | None:
    """The RRULE that gives the same days as ``schedule.occurrences``."""
    if schedule.repeat is Repeat.ONCE:
        return None
    rule: dict = {"freq": _FREQ[schedule.repeat], "interval": max(1, schedule.interval)}
    if schedule.repeat is Repeat.WEEKLY:
        rule["byday"] = [_WEEKDAYS[d] for d in schedule.weekdays or (schedule.start.weekday(),)]
        rule["wkst"] = "MO"
    if schedule.repeat is Repeat.MONTHLY:
        day = schedule.start.day
        # The 29th to 31st fall on the last day of shorter months (as the tracker does).
        rule["bymonthday"] = [day] if day <= 28 else list(range(28, day + 1))
        if day > 28:
            rule["bysetpos"] = -1
    if schedule.until is not None:
        if schedule.at is None:
            rule["until"] = schedule.until
        else:
            # With a TZID start, UNTIL must be in UTC (RFC 5545 3.3.10).
            last = datetime.combine(schedule.until, schedule.at, tzinfo=clock.LONDON)
            rule["until"] = last.astimezone(UTC)
    return rule


def _action_event(record_id: str, action: Action, wording: bool, stamp: datetime) -> Event | None:
    schedule = action.schedule
    first = _first_occurrence(schedule)
    if first is None:
        return None
    event = Event()
    event.add("uid", f"action-{action.id}-{record_id}@care-plan-tracker")
    event.add("dtstamp", stamp)
    event.add("summary", action.what if wording else ACTION_SUMMARY)
    if schedule.at is None:
        event.add("dtstart", first)
        event.add("dtend", first + timedelta(days=1))
        event.add("transp", "TRANSPARENT")
    else:
        event.add("dtstart", datetime.combine(first, schedule.at, tzinfo=clock.LONDON))
        event.add("duration", TIMED_LENGTH)
    rule = _recurrence(schedule)
    if rule is not None:
        event.add("rrule", rule)
    return event


def _review_event(record_id: str, on: date, stamp: datetime) -> Event:
    event = Event()
    event.add("uid", f"review-{record_id}@care-plan-tracker")
    event.add("dtstamp", stamp)
    event.add("summary", REVIEW_SUMMARY)
    event.add("dtstart", on)
    event.add("dtend", on + timedelta(days=1))
    event.add("transp", "TRANSPARENT")
    return event


def build_calendar(record_id: str) -> bytes:
    """The feed's iCalendar text: every action's repeats and the next review date."""
    settings = get_settings(record_id)
    stamp = clock.now().replace(microsecond=0)
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", "Care plan")
    cal.add("x-wr-timezone", TZID)
    cal.add_component(london_timezone())
    for action in actions.list_actions(record_id):
        event = _action_event(record_id, action, settings.include_wording, stamp)
        if event is not None:
            cal.add_component(event)
    next_on = reviews.next_review(plans.get_plan(record_id), reviews.list_reviews(record_id))
    if next_on is not None:
        cal.add_component(_review_event(record_id, next_on, stamp))
    return cal.to_ical()


__all__ = [
    "ACTION_SUMMARY",
    "REVIEW_SUMMARY",
    "SECRET_FIELDS",
    "FeedSettings",
    "build_calendar",
    "get_settings",
    "record_for_token",
    "reset_token",
    "set_wording",
    "token_for",
    "turn_off",
]
