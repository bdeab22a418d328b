"""What reminds whom, and when; and the sender that runs each minute.

* an action occurrence: to the person for actions they own, and to a carer for
  actions the carer owns if actions are shared with them; at the recipient's
  chosen time of day, or a lead time before a timed action;
* the daily check-in: to the person, at the time they choose;
* an upcoming review: to the person, their carers and the coordinator (if they
  see the plan), 4 weeks, 1 week and 1 day before, at the recipient's action time;
* a new early review request: to the coordinator, when it is made;
* a change to that request: to the person, when it changes;
* an early warning sign: to the person, and carers if the person allows, at once.

Times are wall-clock times in each recipient's time zone (Europe/London by
default), turned into UTC for each date with ``zoneinfo``, so they are right
across the clock changes. A reminder due in the recipient's quiet hours waits
until the quiet hours end. Each occurrence has a key and is claimed in the
ledger before it is sent, so it is sent at most once; one that is found late is
sent marked as late, and one past its kind's staleness limit (a check-in from 3
days ago, say) is dropped. Every reminder also lands in the in-app inbox.

Lock screens show "You have a reminder from your care plan tracker" unless the
person has turned on details, and then only an action's wording: never diary,
mood or symptom content. Reminders about someone else's record are always
generic.
"""

from __future__ import annotations

import hashlib
import logging
import time as time_module
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from flask import current_app

from . import accounts, actions, clock, notifications, plans, push, reviews, settings, sharing
from .notifications import GENERIC_TEXT, Kind, Preferences, Reminder
from .roles import Category, Role

log = logging.getLogger("tracker.reminders")

LOOKBACK = timedelta(days=3)
LATE_AFTER = timedelta(minutes=10)
REVIEW_OFFSETS = (28, 7, 1)
STALE_MINUTES = {
    Kind.ACTION: 12 * 60,
    Kind.CHECKIN: 6 * 60,
    Kind.REVIEW: 2 * 24 * 60,
    Kind.REQUEST_NEW: 7 * 24 * 60,
    Kind.REQUEST_CHANGE: 7 * 24 * 60,
    Kind.WARNING: 24 * 60,
    Kind.TEST: 60,
}
TTL_SECONDS = {
    Kind.ACTION: 4 * 3600,
    Kind.CHECKIN: 2 * 3600,
    Kind.REVIEW: 24 * 3600,
    Kind.REQUEST_NEW: 24 * 3600,
    Kind.REQUEST_CHANGE: 24 * 3600,
    Kind.WARNING: 12 * 3600,
    Kind.TEST: 600,
}
URGENCY = {
    Kind.ACTION: "normal",
    Kind.CHECKIN: "low",
    Kind.REVIEW: "low",
    Kind.REQUEST_NEW: "normal",
    Kind.REQUEST_CHANGE: "normal",
    Kind.WARNING: "high",
    Kind.TEST: "normal",
}
MAX_ATTEMPTS = 4


# --- when things are due ---------------------------------------------------------------


def local_to_utc(day: date, at: time, prefs: Preferences) -> datetime:
    """A wall-clock time on a date in the recipient's zone, as UTC (DST-correct)."""
    return datetime.combine(day, at, tzinfo=prefs.zone).astimezone(clock.now().tzinfo)


def after_quiet_hours(due: datetime, prefs: Preferences) -> datetime:
    """Move a time that falls in the recipient's quiet hours to when they end."""
    if prefs.quiet_start is None or prefs.quiet_end is None or prefs.quiet_start == prefs.quiet_end:
        return due
    local = due.astimezone(prefs.zone)
    t = local.time()
    start, end = prefs.quiet_start, prefs.quiet_end
    in_quiet = (start <= t < end) if start < end else (t >= start or t < end)
    if not in_quiet:
        return due
    day = local.date() if (start < end or t < end) else local.date() + timedelta(days=1)
    return local_to_utc(day, end, prefs)


def _days(now: datetime, prefs: Preferences) -> list[date]:
    today = now.astimezone(prefs.zone).date()
    first = (now - LOOKBACK).astimezone(prefs.zone).date()
    return [first + timedelta(days=i) for i in range((today - first).days + 2)]


def _make(
    key: str,
    kind: Kind,
    due: datetime,
    url: str,
    prefs: Preferences,
    *,
    details: str = "",
    record_id: str = "",
) -> Reminder:
    due = after_quiet_hours(due, prefs)
    return Reminder(key, kind, due.isoformat(), url, details, STALE_MINUTES[kind], record_id)


def scheduled_for(
    account_id: str, now: datetime, prefs: Preferences | None = None
) -> list[Reminder]:
    """The account's scheduled reminders due between ``now - 3 days`` and tomorrow."""
    prefs = prefs or notifications.get_preferences(account_id)
    days = _days(now, prefs)
    out: list[Reminder] = []
    for m in sharing.memberships_of_user(account_id):
        rid = m.record_id
        today_url = f"/records/{rid}/today"
        if Category.ACTIONS in m.categories or m.role is Role.OWNER:
            for a in actions.list_actions(rid):
                mine = (m.role is Role.OWNER and a.owner is actions.Owner.ME) or (
                    m.role is Role.CARER
                    and a.owner is actions.Owner.CARER
                    and a.owner_user_id in (None, account_id)
                )
                if not mine:
                    continue
                for day in a.schedule.occurrences(days[0], days[-1]):
                    if a.schedule.at is not None:
                        due = local_to_utc(day, a.schedule.at, prefs) - timedelta(
                            minutes=prefs.lead_minutes
                        )
                    else:
                        due = local_to_utc(day, prefs.actions_at, prefs)
                    out.append(
                        _make(
                            f"action:{rid}:{a.id}:{day}",
                            Kind.ACTION,
                            due,
                            today_url,
                            prefs,
                            details=a.what if m.role is Role.OWNER else "",
                            record_id=rid,
                        )
                    )
        if m.role is Role.OWNER and prefs.checkin_at is not None:
            for day in days:
                out.append(
                    _make(
                        f"checkin:{rid}:{day}",
                        Kind.CHECKIN,
                        local_to_utc(day, prefs.checkin_at, prefs),
                        f"/records/{rid}/mood",
                        prefs,
                        record_id=rid,
                    )
                )
        if m.sees(Category.PLAN):
            held = reviews.list_reviews(rid)
            on = reviews.next_review(plans.get_plan(rid), held)
            if on is not None:
                for offset in REVIEW_OFFSETS:
                    day = on - timedelta(days=offset)
                    if days[0] <= day <= days[-1]:
                        url = (
                            f"/records/{rid}/prepare"
                            if m.role is Role.OWNER
                            else f"/records/{rid}/reviews"
                        )
                        out.append(
                            _make(
                                f"review:{rid}:{on}:{offset}",
                                Kind.REVIEW,
                                local_to_utc(day, prefs.actions_at, prefs),
                                url,
                                prefs,
                                record_id=rid,
                            )
                        )
    return out


# --- reminders caused by events -----------------------------------------------------------


def _queue(account_id: str, key: str, kind: Kind, url: str, record_id: str) -> None:
    prefs = notifications.get_preferences(account_id)
    notifications.enqueue(
        account_id, _make(key, kind, clock.now(), url, prefs, record_id=record_id)
    )


def on_request_made(record_id: str, request_id: str) -> None:
    for m in sharing.members_of_record(record_id):
        if m.role is Role.COORDINATOR:
            _queue(
                m.user_id,
                f"request_new:{request_id}",
                Kind.REQUEST_NEW,
                f"/records/{record_id}/reviews/requests/{request_id}",
                record_id,
            )


def on_request_changed(record_id: str, request_id: str, state: str) -> None:
    for m in sharing.members_of_record(record_id):
        if m.role is Role.OWNER:
            _queue(
                m.user_id,
                f"request_change:{request_id}:{state}",
                Kind.REQUEST_CHANGE,
                f"/records/{record_id}/reviews",
                record_id,
            )


def on_warning(record_id: str, tracker_id: str, day: date) -> None:
    to_carers = settings.get(record_id).warnings_to_carers
    for m in sharing.members_of_record(record_id):
        if m.role is Role.OWNER or (
            m.role is Role.CARER and to_carers and Category.SYMPTOMS in m.categories
        ):
            _queue(
                m.user_id,
                f"warning:{record_id}:{tracker_id}:{day}",
                Kind.WARNING,
                f"/records/{record_id}/help-now",
                record_id,
            )


# --- sending ---------------------------------------------------------------------------------


def payload(reminder: Reminder, prefs: Preferences, *, late: bool) -> dict:
    """What the device shows: generic unless the person allows the action's wording."""
    body = GENERIC_TEXT
    if prefs.details and reminder.details and reminder.kind is Kind.ACTION:
        body = f"Reminder: {reminder.details[:200]}"
    if late:
        body = f"Earlier reminder. {body}"
    return {"title": "Care plan tracker", "body": body, "url": reminder.url, "tag": topic(reminder)}


def topic(reminder: Reminder) -> str:
    """At most 32 URL-safe characters; repeats of one reminder replace each other."""
    return f"{reminder.kind.value[:6]}-{hashlib.sha256(reminder.key.encode()).hexdigest()[:24]}"


@dataclass
class RunStats:
    considered: int = 0
    sent: int = 0
    late: int = 0
    dropped: int = 0
    delivered: int = 0
    retries: int = 0
    gone: int = 0


def make_sender() -> push.Sender:
    cfg = current_app.config
    vapid = push.load_or_create_key(cfg["TRACKER_DATA_DIR"])
    return push.Sender(
        vapid,
        cfg["TRACKER_VAPID_SUBJECT"],
        tuple(cfg["TRACKER_PUSH_ALLOWED_HOSTS"]),
        tuple(cfg.get("TRACKER_PUSH_INSECURE_HOSTS", ())),
    )


def _deliver(
    account_id: str,
    sender: push.Sender,
    reminder: Reminder,
    message: dict,
    stats: RunStats,
    only: set[str] | None = None,
) -> list[dict]:
    """Send to each of the account's devices; returns the devices to retry."""
    retry = []
    for device in notifications.devices(account_id):
        if only is not None and device.id not in only:
            continue
        result = sender.send(
            push.Subscription(device.endpoint, device.p256dh, device.auth),
            message,
            ttl=TTL_SECONDS[reminder.kind],
            urgency=URGENCY[reminder.kind],
            topic=topic(reminder),
        )
        if result.outcome is push.Outcome.SENT:
            stats.delivered += 1
        elif result.outcome is push.Outcome.GONE:
            notifications.remove_endpoint(account_id, device.endpoint)
            stats.gone += 1
        elif result.outcome is push.Outcome.RETRY:
            retry.append(
                {
                    "device_id": device.id,
                    "attempt": 1,
                    "next_at": _backoff(1, result.retry_after).isoformat(),
                    "reminder": reminder.to_doc(),
                    "late": message["body"].startswith("Earlier"),
                }
            )
            stats.retries += 1
        else:
            log.warning(
                "push %s for a device: %s %s", result.outcome.value, result.status, result.detail
            )
    return retry


def _backoff(attempt: int, retry_after: int | None) -> datetime:
    wait = max(retry_after or 0, 60 * 4 ** (attempt - 1))  # 1, 4, 16 minutes
    return clock.now() + timedelta(seconds=min(wait, 3600))


def send_reminder(
    account_id: str,
    reminder: Reminder,
    sender: push.Sender,
    stats: RunStats,
    now: datetime,
    prefs: Preferences,
) -> None:
    """Claim, then send, one reminder that is due."""
    due = datetime.fromisoformat(reminder.due_at)
    if reminder.kind not in prefs.kinds and reminder.kind is not Kind.TEST:
        return
    stats.considered += 1
    late = now - due > LATE_AFTER
    stale = now - due > timedelta(minutes=reminder.stale_after_minutes)
    if not notifications.claim(account_id, reminder, late=late, stale=stale):
        if stale:
            stats.dropped += 1
        return
    message = payload(reminder, prefs, late=late)
    before = stats.delivered
    retry = _deliver(account_id, sender, reminder, message, stats)
    notifications.mark_sent(account_id, reminder, delivered=stats.delivered - before, retry=retry)
    stats.sent += 1
    stats.late += int(late)


def _retry_pending(
    account_id: str, sender: push.Sender, stats: RunStats, prefs: Preferences
) -> None:
    for item in notifications.pending_retries(account_id):
        reminder = Reminder.from_doc(item["reminder"])
        message = payload(reminder, prefs, late=bool(item.get("late")))
        again = _deliver(account_id, sender, reminder, message, stats, only={item["device_id"]})
        next_try = None
        if again and item["attempt"] < MAX_ATTEMPTS:
            next_try = {
                **again[0],
                "attempt": item["attempt"] + 1,
                "next_at": _backoff(item["attempt"] + 1, None).isoformat(),
            }
        notifications.update_retry(account_id, item["ledger_id"], item["device_id"], next_try)


def run_once(sender: push.Sender, now: datetime | None = None) -> RunStats:
    """Send everything due now, for every account. Safe to run in several processes."""
    now = now or clock.now()
    stats = RunStats()
    for account in accounts.all_accounts():
        prefs = notifications.get_preferences(account.id)
        candidates = scheduled_for(account.id, now, prefs) + notifications.queued(account.id)
        for reminder in sorted(candidates, key=lambda r: r.due_at):
            if datetime.fromisoformat(reminder.due_at) <= now:
                send_reminder(account.id, reminder, sender, stats, now, prefs)
        _retry_pending(account.id, sender, stats, prefs)
    return stats


def send_test(account_id: str, sender: push.Sender) -> RunStats:
    """A test notification to each of the account's devices (and the inbox)."""
    prefs = notifications.get_preferences(account_id)
    now = clock.now()
    reminder = Reminder(
        f"test:{account_id}:{now.isoformat()}",
        Kind.TEST,
        now.isoformat(),
        "/notifications",
        "",
        STALE_MINUTES[Kind.TEST],
    )
    stats = RunStats()
    send_reminder(account_id, reminder, sender, stats, now, prefs)
    return stats


def loop(sender: push.Sender, interval: float = 60, rounds: int | None = None) -> None:
    """Run every ``interval`` seconds (development and the demo); cron runs ``run_once``."""
    done = 0
    while rounds is None or done < rounds:
        started = time_module.monotonic()
        try:
            stats = run_once(sender)
            if stats.sent or stats.dropped:
                log.info(
                    "reminders sent=%d late=%d dropped=%d delivered=%d",
                    stats.sent,
                    stats.late,
                    stats.dropped,
                    stats.delivered,
                )
        except Exception:
            log.exception("sending reminders failed; trying again next round")
        done += 1
        time_module.sleep(max(0.0, interval - (time_module.monotonic() - started)))
