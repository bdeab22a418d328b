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
import zlib
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta

from flask import current_app

from . import accounts, actions, clock, notifications, plans, push, reviews, settings, sharing
from .notifications import GENERIC_TEXT, Kind, Preferences, Reminder
from .roles import Category, Role
from .sharing import Membership
from .store import get_store

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
DEFAULT_WORKERS = 8  # threads per run: see run_once and docs/benchmarks.md


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
    account_id: str,
    now: datetime,
    prefs: Preferences | None = None,
    memberships: list[Membership] | None = None,
) -> list[Reminder]:
    """The account's scheduled reminders due between ``now - 3 days`` and tomorrow.

    Nothing is due before the membership (or the action) existed: a new action or
    a new carer does not bring a burst of "Earlier reminder" messages.
    """
    prefs = prefs or notifications.get_preferences(account_id)
    if memberships is None:
        memberships = sharing.memberships_of_user(account_id)
    days = _days(now, prefs)
    out: list[Reminder] = []
    for m in memberships:
        rid = m.record_id
        today_url = f"/records/{rid}/today"
        joined = clock.parse(m.created_at)
        if Category.ACTIONS in m.categories or m.role is Role.OWNER:
            for a in actions.list_actions(rid):
                mine = (m.role is Role.OWNER and a.owner is actions.Owner.ME) or (
                    m.role is Role.CARER
                    and a.owner is actions.Owner.CARER
                    and a.owner_user_id in (None, account_id)
                )
                if not mine:
                    continue
                since = max(joined, clock.parse(a.created_at))
                for day in a.schedule.occurrences(days[0], days[-1]):
                    if a.schedule.at is not None:
                        due = local_to_utc(day, a.schedule.at, prefs) - timedelta(
                            minutes=prefs.lead_minutes
                        )
                    else:
                        due = local_to_utc(day, prefs.actions_at, prefs)
                    if due < since:
                        continue
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
                if local_to_utc(day, prefs.checkin_at, prefs) < joined:
                    continue
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
                    if (
                        days[0] <= day <= days[-1]
                        and local_to_utc(day, prefs.actions_at, prefs) >= joined
                    ):
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
    if kind not in prefs.kinds:
        return
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
    failed_accounts: int = 0

    def add(self, other: RunStats) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


def make_sender(connections: int = DEFAULT_WORKERS) -> push.Sender:
    cfg = current_app.config
    vapid = push.load_or_create_key(cfg["TRACKER_DATA_DIR"])
    return push.Sender(
        vapid,
        cfg["TRACKER_VAPID_SUBJECT"],
        tuple(cfg["TRACKER_PUSH_ALLOWED_HOSTS"]),
        tuple(cfg.get("TRACKER_PUSH_INSECURE_HOSTS", ())),
        connections=max(connections, 1),
    )


def _deliver(
    account_id: str,
    devices: list[notifications.Device],
    sender: push.Sender,
    reminder: Reminder,
    message: dict,
    stats: RunStats,
    *,
    late: bool,
) -> list[dict]:
    """Send to each device; returns the devices to retry. A gone device is forgotten
    (and taken out of ``devices``, so the rest of this run does not post to it)."""
    retry = []
    for device in list(devices):
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
            devices.remove(device)
            stats.gone += 1
        elif result.outcome is push.Outcome.RETRY:
            retry.append(
                {
                    "device_id": device.id,
                    "attempt": 1,
                    "next_at": _backoff(1, result.retry_after).isoformat(),
                    "retry_after": result.retry_after,
                    "reminder": reminder.to_doc(),
                    "late": late,
                }
            )
            stats.retries += 1
        else:
            log.warning(
                "push %s for a device: %s %s", result.outcome.value, result.status, result.detail
            )
    return retry


def _backoff(attempt: int, retry_after: int | None) -> datetime:
    """1, 4, 16 minutes after attempts 1, 2, 3, or the service's Retry-After if longer."""
    wait = max(retry_after or 0, 60 * 4 ** (attempt - 1))
    return clock.now() + timedelta(seconds=min(wait, 3600))


def _send_due(
    account_id: str,
    due: list[Reminder],
    sender: push.Sender,
    stats: RunStats,
    now: datetime,
    snap: notifications.Snapshot,
    records: frozenset[str] | None = None,
) -> None:
    """Claim the account's due reminders in one transaction, then send those won.

    A queued reminder about a record the account no longer belongs to (its access
    was revoked after the event) is dropped, not sent.
    """
    prefs, taken = snap.prefs, snap.taken
    from_queue = {r.ledger_id for r in snap.queued}
    claims: list[notifications.Claim] = []
    discard: list[str] = []
    seen: set[str] = set()
    for reminder in sorted(due, key=lambda r: r.due_at):
        lid = reminder.ledger_id
        if lid in taken or lid in seen:
            continue
        seen.add(lid)
        unwanted = reminder.kind not in prefs.kinds and reminder.kind is not Kind.TEST
        gone = records is not None and reminder.record_id not in records | {""}
        if unwanted or gone:
            if lid in from_queue:
                discard.append(lid)
            continue
        overdue = now - datetime.fromisoformat(reminder.due_at)
        claims.append(
            notifications.Claim(
                reminder,
                late=overdue > LATE_AFTER,
                stale=overdue > timedelta(minutes=reminder.stale_after_minutes),
            )
        )
    if not claims and not discard:
        return
    won, dropped = notifications.claim_many(account_id, claims, discard=tuple(discard))
    stats.considered += len(claims)
    stats.dropped += dropped
    if not won:
        return
    devices = list(snap.devices)
    retries: dict[str, list[dict]] = {}
    for item in won:
        message = payload(item.reminder, prefs, late=item.late)
        retry = _deliver(account_id, devices, sender, item.reminder, message, stats, late=item.late)
        if retry:
            retries[item.reminder.ledger_id] = retry
        stats.sent += 1
        stats.late += int(item.late)
    notifications.record_retries(account_id, retries)


def send_reminder(
    account_id: str,
    reminder: Reminder,
    sender: push.Sender,
    stats: RunStats,
    now: datetime,
    prefs: Preferences,
) -> None:
    """Claim, then send, one reminder that is due."""
    snap = notifications.snapshot(account_id)
    _send_due(account_id, [reminder], sender, stats, now, replace(snap, prefs=prefs))


def _retry_pending(
    account_id: str,
    sender: push.Sender,
    stats: RunStats,
    snap: notifications.Snapshot,
    now: datetime,
) -> None:
    pending = snap.retries_due(now)
    if not pending:
        return
    prefs = snap.prefs
    devices = {d.id: d for d in snap.devices}
    for item in pending:
        if not notifications.take_retry(
            account_id, item["ledger_id"], item["device_id"], item["attempt"]
        ):
            continue  # another sender has it
        reminder = Reminder.from_doc(item["reminder"])
        device = devices.get(item["device_id"])
        overdue = now - datetime.fromisoformat(reminder.due_at)
        if device is None or overdue > timedelta(minutes=reminder.stale_after_minutes):
            continue  # turned off, gone, or too late to be useful
        late = bool(item.get("late"))
        message = payload(reminder, prefs, late=late)
        again = _deliver(account_id, [device], sender, reminder, message, stats, late=late)
        if again and item["attempt"] < MAX_ATTEMPTS:
            attempt = item["attempt"] + 1
            next_try = {
                **again[0],
                "attempt": attempt,
                "next_at": _backoff(attempt, again[0]["retry_after"]).isoformat(),
            }
            notifications.update_retry(account_id, item["ledger_id"], item["device_id"], next_try)


def _memberships_by_user() -> dict[str, list[Membership]]:
    """Every live membership, read once per run (not one scan per account)."""
    by_user: dict[str, list[Membership]] = defaultdict(list)
    for doc in get_store().read(sharing.SCOPE).find(sharing.TABLE, status="active"):
        m = Membership.from_doc(doc)
        by_user[m.user_id].append(m)
    return by_user


def run_account(
    account_id: str,
    sender: push.Sender,
    now: datetime,
    memberships: list[Membership] | None = None,
) -> RunStats:
    """Send what is due for one account, and its retries whose time has come."""
    stats = RunStats()
    if memberships is None:
        memberships = sharing.memberships_of_user(account_id)
    snap = notifications.snapshot(account_id)
    candidates = scheduled_for(account_id, now, snap.prefs, memberships) + list(snap.queued)
    due = [r for r in candidates if datetime.fromisoformat(r.due_at) <= now]
    if due:
        records = frozenset(m.record_id for m in memberships)
        _send_due(account_id, due, sender, stats, now, snap, records)
    _retry_pending(account_id, sender, stats, snap, now)
    return stats


def run_once(
    sender: push.Sender,
    now: datetime | None = None,
    *,
    workers: int = DEFAULT_WORKERS,
    shard: tuple[int, int] = (0, 1),
) -> RunStats:
    """Send everything due now, for every account. Safe to run in several processes.

    Accounts are worked through by ``workers`` threads: much of the time goes on
    waiting for the disk (each claim is fsynced before anything is sent) and for
    the push service, and those waits overlap. A failure with one account is
    logged and the others go on.

    ``shard=(k, n)`` takes only the accounts whose id hashes to ``k`` of ``n``, so
    that ``n`` processes (one per core; threads share one) split the work without
    both preparing the same account. Any overlap is harmless: claims decide.
    """
    now = now or clock.now()
    members = _memberships_by_user()
    k, n = shard
    ids = [a.id for a in accounts.all_accounts() if zlib.crc32(a.id.encode()) % n == k]
    app = current_app._get_current_object()

    def one(account_id: str) -> RunStats:
        with app.app_context():
            try:
                return run_account(account_id, sender, now, members.get(account_id, []))
            except Exception:
                log.exception("reminders for one account failed; going on with the rest")
                return RunStats(failed_accounts=1)

    stats = RunStats()
    if workers <= 1 or len(ids) <= 1:
        for account_id in ids:
            stats.add(one(account_id))
    else:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="reminders") as pool:
            for result in pool.map(one, ids):
                stats.add(result)
    return stats


def send_test(account_id: str, sender: push.Sender) -> RunStats:
    """A test notification to each of the account's devices (and the inbox)."""
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
    _send_due(account_id, [reminder], sender, stats, now, notifications.snapshot(account_id))
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
