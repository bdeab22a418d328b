"""What reminds whom, and when; and the sender that runs each minute.

* an action occurrence: to the person for actions they own, and to a carer for
  actions the carer owns if actions are shared with them; at the recipient's
  chosen time of day, or a lead time before a timed action;
* the daily check-in: to the person, at the time they choose;
* "record this month's spending": to the person, on each month's last day at their
  action time, if they turned it on (``budget.monthly_reminder_on``); it goes with
  action reminders (its kind is ``ACTION``), so turning those off stops it too;
* an upcoming review: to the person, their carers and the coordinator (if they
  see the plan), 4 weeks, 1 week and 1 day before, at the recipient's action time;
* a new early review request: to the coordinator, when it is made;
* a change to that request: to the person, when it changes;
* an early warning sign: to the person, and carers if the person allows, at once.

Times are wall-clock times in each recipient's time zone (Europe/London by
default), turned into UTC for each date with ``zoneinfo``, so they are right
across the clock changes. A reminder due in the recipient's quiet hours waits
until the quiet hours end. Each occurrence has a key and is claimed in the
claims journal before it is sent (a bucket of accounts at a time, one fsynced
write: ``notifications.claim_batch``), so it is sent at most once; one that is
found late is sent marked as late, and one past its kind's staleness limit (a
check-in from 3 days ago, say) is dropped. Every reminder also lands in the
in-app inbox.

Lock screens show "You have a reminder from your care plan tracker" unless the
person has turned on details, and then only an action's wording: never diary,
mood or symptom content. Reminders about someone else's record are always
generic.
"""

from __future__ import annotations

import hashlib
import logging
import multiprocessing
import time as time_module
import zlib
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from flask import current_app

from . import (
    accounts,
    actions,
    budget,
    clock,
    notifications,
    plans,
    push,
    reviews,
    settings,
    sharing,
)
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
    Kind.SPENDING: 3 * 24 * 60,
    Kind.TEST: 60,
}
TTL_SECONDS = {
    Kind.ACTION: 4 * 3600,
    Kind.CHECKIN: 2 * 3600,
    Kind.REVIEW: 24 * 3600,
    Kind.REQUEST_NEW: 24 * 3600,
    Kind.REQUEST_CHANGE: 24 * 3600,
    Kind.WARNING: 12 * 3600,
    Kind.SPENDING: 24 * 3600,
    Kind.TEST: 600,
}
URGENCY = {
    Kind.ACTION: "normal",
    Kind.CHECKIN: "low",
    Kind.REVIEW: "low",
    Kind.REQUEST_NEW: "normal",
    Kind.REQUEST_CHANGE: "normal",
    Kind.WARNING: "high",
    Kind.SPENDING: "low",
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
        if m.role is Role.OWNER and budget.monthly_reminder_on(rid):
            for day in filter(budget.is_month_end, days):
                due = local_to_utc(day, prefs.actions_at, prefs)
                if due >= joined:
                    out.append(
                        _make(
                            f"spending:{rid}:{day:%Y-%m}",
                            Kind.SPENDING,
                            due,
                            f"/records/{rid}/budget/spending/new",
                            prefs,
                            details=budget.REMINDER_TEXT,
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


@dataclass
class _Prepared:
    """One account's part of a bucket's run: what it claims and what it drops from its queue."""

    account_id: str
    snap: notifications.Snapshot
    claims: list[notifications.Claim]
    discard: list[str]


def _prepare(
    account_id: str,
    due: list[Reminder],
    now: datetime,
    snap: notifications.Snapshot,
    records: frozenset[str] | None = None,
) -> _Prepared:
    """The account's due reminders to claim, late or stale, in order.

    A queued reminder about a record the account no longer belongs to (its access
    was revoked after the event), or of a kind it has turned off, is dropped from
    the queue, not sent.
    """
    prefs = snap.prefs
    from_queue = {r.ledger_id for r in snap.queued}
    claims: list[notifications.Claim] = []
    discard: list[str] = []
    seen: set[str] = set()
    for reminder in sorted(due, key=lambda r: r.due_at):
        lid = reminder.ledger_id
        if lid in seen:
            continue
        seen.add(lid)
        unwanted = reminder.kind not in prefs.kinds | notifications.CHOSEN_ELSEWHERE
        gone = records is not None and reminder.record_id not in records | {""}
        if lid in snap.taken or unwanted or gone:
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
    return _Prepared(account_id, snap, claims, discard)


def _claim_and_send(
    bucket: int, batch: list[_Prepared], sender: push.Sender, stats: RunStats
) -> None:
    """Claim a bucket's due reminders in one write, then send those won, account by account.

    Claiming before sending makes sending at most once: a crash after the claim
    loses that push (the reminder is in the inbox all the same), never repeats it.
    """
    claims = {p.account_id: p.claims for p in batch if p.claims}
    results = notifications.claim_batch(bucket, claims) if claims else {}
    for p in batch:
        won, dropped = results.get(p.account_id, ([], 0))
        stats.considered += len(won) + dropped
        stats.dropped += dropped
        queued = {r.ledger_id for r in p.snap.queued}
        done = [c.reminder.ledger_id for c in p.claims if c.reminder.ledger_id in queued]
        if done or p.discard:
            notifications.remove_queued(p.account_id, [*done, *p.discard])
        if won:
            _send_won(p.account_id, p.snap, won, sender, stats)


def _send_won(
    account_id: str,
    snap: notifications.Snapshot,
    won: list[notifications.Claim],
    sender: push.Sender,
    stats: RunStats,
) -> None:
    devices = list(snap.devices)
    retries: dict[str, list[dict]] = {}
    for item in won:
        message = payload(item.reminder, snap.prefs, late=item.late)
        retry = _deliver(account_id, devices, sender, item.reminder, message, stats, late=item.late)
        if retry:
            retries[item.reminder.ledger_id] = retry
        stats.sent += 1
        stats.late += int(item.late)
    notifications.record_retries(account_id, retries)


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


def run_bucket(
    bucket: int,
    account_ids: list[str],
    sender: push.Sender,
    now: datetime,
    members: dict[str, list[Membership]],
) -> RunStats:
    """Send what is due for the accounts of one journal bucket, and their retries due.

    A failure with one account is logged and the others go on.
    """
    stats = RunStats()
    batch: list[_Prepared] = []
    for account_id in account_ids:
        try:
            memberships = members.get(account_id, [])
            snap = notifications.snapshot(account_id)
            candidates = scheduled_for(account_id, now, snap.prefs, memberships)
            due = [
                r for r in [*candidates, *snap.queued] if datetime.fromisoformat(r.due_at) <= now
            ]
            records = frozenset(m.record_id for m in memberships)
            batch.append(_prepare(account_id, due, now, snap, records))
        except Exception:
            log.exception("reminders for one account failed; going on with the rest")
            stats.failed_accounts += 1
    _claim_and_send(bucket, batch, sender, stats)
    for p in batch:
        try:
            _retry_pending(p.account_id, sender, stats, p.snap, now)
        except Exception:
            log.exception("retries for one account failed; going on with the rest")
            stats.failed_accounts += 1
    return stats


def run_once(
    sender: push.Sender,
    now: datetime | None = None,
    *,
    workers: int = DEFAULT_WORKERS,
    shard: tuple[int, int] = (0, 1),
) -> RunStats:
    """Send everything due now, for every account. Safe to run in several processes.

    Accounts are taken a journal bucket at a time (``notifications.BUCKETS``): a
    bucket's claims are one fsynced write, then its reminders are sent. Buckets
    are worked through by ``workers`` threads, so the waits for the disk and the
    push service overlap.

    ``shard=(k, n)`` takes only the accounts whose id hashes to ``k`` of ``n``, so
    that ``n`` processes (one per core; threads share one) split the work. With
    ``n`` dividing ``BUCKETS`` each process has buckets of its own. Any overlap
    is harmless: claims decide.
    """
    now = now or clock.now()
    notifications.forget_old_claims(now)
    members = _memberships_by_user()
    k, n = shard
    buckets: dict[int, list[str]] = defaultdict(list)
    for a in accounts.all_accounts():
        if zlib.crc32(a.id.encode()) % n == k:
            buckets[notifications.bucket_of(a.id)].append(a.id)
    app = current_app._get_current_object()

    def one(item: tuple[int, list[str]]) -> RunStats:
        with app.app_context():
            try:
                return run_bucket(item[0], item[1], sender, now, members)
            except Exception:
                log.exception("reminders for one bucket failed; going on with the rest")
                return RunStats(failed_accounts=len(item[1]))

    stats = RunStats()
    if workers <= 1:
        results = [one(item) for item in sorted(buckets.items())]
    else:
        with ThreadPoolExecutor(workers, thread_name_prefix="reminders") as pool:
            results = list(pool.map(one, sorted(buckets.items())))
    for result in results:
        stats.add(result)
    return stats


def run_in_processes(processes: int, workers: int = DEFAULT_WORKERS) -> RunStats:
    """``run_once`` in ``processes`` forked processes, shard ``k`` of ``processes`` each.

    One Python process uses one core however many threads it has, so on a machine
    with two cores two processes send twice as much (docs/benchmarks.md). Each
    child makes its own Sender: connections and threads are not shared across a
    fork. Raises ``RuntimeError`` if a child fails; what the others sent stays sent.
    """
    app = current_app._get_current_object()
    now = clock.now()
    ctx = multiprocessing.get_context("fork")  # the child has this app, as configured
    children = []
    for k in range(processes):
        reader, writer = ctx.Pipe(duplex=False)
        child = ctx.Process(
            target=_run_shard, args=(app, now, (k, processes), workers, writer), daemon=True
        )
        child.start()
        writer.close()
        children.append((child, reader))
    stats, failed = RunStats(), 0
    for child, reader in children:
        try:
            stats.add(reader.recv())
        except EOFError:  # the child died before reporting
            failed += 1
        child.join()
        failed += int(child.exitcode != 0)
    if failed:
        raise RuntimeError(f"{failed} of {processes} sender processes failed")
    return stats


def _run_shard(app, now: datetime, shard: tuple[int, int], workers: int, out) -> None:
    with app.app_context():
        sender = make_sender(workers)
        try:
            out.send(run_once(sender, now, workers=workers, shard=shard))
        finally:
            sender.close()
            out.close()


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
    prepared = _prepare(account_id, [reminder], now, notifications.snapshot(account_id))
    _claim_and_send(notifications.bucket_of(account_id), [prepared], sender, stats)
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
