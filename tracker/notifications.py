"""Each account's notifications: push subscriptions, preferences, the inbox, and the ledger.

An account's own small file (``people/<id>/notifications``), changed under the
store's lock, holds:

* **subscriptions**: this account's devices (endpoint and keys), checked against
  the push-service allow-list when added;
* **preferences**: which kinds of reminder, quiet hours, time zone, the daily
  check-in time, and whether details may show on the lock screen (off by default);
* **queue**: reminders caused by events (a new early review request, a change to
  one, an early warning sign), waiting for the next send;
* **retries**: devices to try again, and when; and how far the inbox has been read.

The **claims journal** (``reminders/<day>/b<bucket>``) is shared by the accounts of
a bucket: one line per reminder occurrence, claimed before sending, and one
fsynced write for all of a bucket's claims in a run. Claiming is atomic, under
the bucket's lock, so a reminder is never sent twice: not after a restart, and
not when two senders run at once. The journal is also the **inbox**: every
reminder claimed for sending, whether or not push reached a device.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from . import clock
from .store import Transaction, get_store, new_id

SUBS = "subscriptions"
PREFS = "preferences"
PREFS_ID = "prefs"
INBOX = "inbox"
LEDGER = "ledger"  # claims made in the account's own file, before the journal
QUEUE = "queue"
RETRIES = "retries"
INBOX_READ = "inbox_read"
INBOX_READ_ID = "read"
INBOX_KEEP = 200
LEDGER_KEEP_DAYS = 35
JOURNAL = "reminders"  # the claims journal: reminders/<YYYY-MM-DD>/b<bucket>
CLAIMS = "claims"
BUCKETS = 32
# A reminder is looked for among the claims of this many days: it is due at most
# 3 days (reminders.LOOKBACK) and a day of time-zone and preference changes before
# it is claimed, so a week is ample.
TAKEN_DAYS = 8
MAX_DEVICES = 10
GENERIC_TEXT = "You have a reminder from your care plan tracker"


class Kind(StrEnum):
    ACTION = "action"
    CHECKIN = "checkin"
    REVIEW = "review"
    REQUEST_NEW = "request_new"
    REQUEST_CHANGE = "request_change"
    WARNING = "warning"
    SPENDING = "spending"
    TEST = "test"

    @property
    def label(self) -> str:
        return KIND_LABELS[self]


KIND_LABELS = {
    Kind.ACTION: "Actions in the plan",
    Kind.CHECKIN: "Daily check-in",
    Kind.REVIEW: "Upcoming reviews",
    Kind.REQUEST_NEW: "New early review requests",
    Kind.REQUEST_CHANGE: "Changes to an early review request",
    Kind.WARNING: "Early warning signs",
    Kind.SPENDING: "Record this month's spending",
    Kind.TEST: "Test notifications",
}
CHOOSABLE = (
    Kind.ACTION,
    Kind.CHECKIN,
    Kind.REVIEW,
    Kind.REQUEST_NEW,
    Kind.REQUEST_CHANGE,
    Kind.WARNING,
)


# Kinds the person asks for somewhere else, so the choice of kinds on the
# notifications page does not apply: a test is asked for with its button, and the
# monthly spending reminder is turned on (and off) on the budget page.
CHOSEN_ELSEWHERE = frozenset({Kind.SPENDING, Kind.TEST})


def scope(account_id: str) -> str:
    return f"people/{account_id}/notifications"


@dataclass(frozen=True)
class Preferences:
    kinds: frozenset[Kind] = frozenset(CHOOSABLE)
    quiet_start: time | None = time(22, 0)
    quiet_end: time | None = time(7, 0)
    timezone: str = "Europe/London"
    checkin_at: time | None = time(19, 0)
    actions_at: time = time(9, 0)  # reminders for actions without a time of their own
    lead_minutes: int = 30  # how long before a timed action
    details: bool = False  # show the action's wording on the lock screen

    @property
    def zone(self) -> ZoneInfo:
        try:
            return ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            return ZoneInfo("Europe/London")


def _t(value: str | None) -> time | None:
    return time.fromisoformat(value) if value else None


def get_preferences(account_id: str) -> Preferences:
    return preferences_from_doc(get_store().read(scope(account_id)).get(PREFS, PREFS_ID))


def preferences_from_doc(doc: dict | None) -> Preferences:
    """Preferences from their stored form (defaults where it says nothing)."""
    if doc is None:
        return Preferences()
    return Preferences(
        kinds=frozenset(Kind(k) for k in doc.get("kinds", [k.value for k in CHOOSABLE])),
        quiet_start=_t(doc.get("quiet_start")),
        quiet_end=_t(doc.get("quiet_end")),
        timezone=doc.get("timezone", "Europe/London"),
        checkin_at=_t(doc.get("checkin_at")),
        actions_at=_t(doc.get("actions_at")) or time(9, 0),
        lead_minutes=int(doc.get("lead_minutes", 30)),
        details=bool(doc.get("details")),
    )


def save_preferences(account_id: str, prefs: Preferences) -> None:
    ZoneInfo(prefs.timezone)  # refuse an unknown zone before saving
    doc = {
        "id": PREFS_ID,
        "kinds": sorted(k.value for k in prefs.kinds),
        "quiet_start": prefs.quiet_start.isoformat(timespec="minutes")
        if prefs.quiet_start
        else None,
        "quiet_end": prefs.quiet_end.isoformat(timespec="minutes") if prefs.quiet_end else None,
        "timezone": prefs.timezone,
        "checkin_at": prefs.checkin_at.isoformat(timespec="minutes") if prefs.checkin_at else None,
        "actions_at": prefs.actions_at.isoformat(timespec="minutes"),
        "lead_minutes": prefs.lead_minutes,
        "details": prefs.details,
    }
    with get_store().transaction(scope(account_id)) as tx:
        tx.replace(PREFS, doc)


# --- devices ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Device:
    id: str
    endpoint: str
    p256dh: str
    auth: str
    label: str
    created_at: str


def _device(doc: dict) -> Device:
    return Device(
        doc["id"],
        doc["endpoint"],
        doc["p256dh"],
        doc["auth"],
        doc.get("label", ""),
        doc["created_at"],
    )


class TooManyDevices(Exception):
    pass


def add_device(account_id: str, *, endpoint: str, p256dh: str, auth: str, label: str) -> Device:
    """Add (or refresh) a device's subscription; the same endpoint is stored once."""
    doc = {
        "endpoint": endpoint,
        "p256dh": p256dh,
        "auth": auth,
        "label": label[:80],
        "created_at": clock.now().isoformat(),
    }
    with get_store().transaction(scope(account_id)) as tx:
        tx.remove_where(SUBS, lambda d: d["endpoint"] == endpoint)
        if len(tx.all(SUBS)) >= MAX_DEVICES:
            raise TooManyDevices
        doc["id"] = tx.insert(SUBS, doc)
    return _device(doc)


def devices(account_id: str) -> list[Device]:
    docs = get_store().read(scope(account_id)).all(SUBS)
    return sorted((_device(d) for d in docs), key=lambda d: d.created_at)


def remove_device(account_id: str, device_id: str) -> bool:
    with get_store().transaction(scope(account_id)) as tx:
        return tx.remove(SUBS, device_id)


def remove_endpoint(account_id: str, endpoint: str) -> int:
    """Forget a subscription the push service says is gone (matched on its endpoint)."""
    with get_store().transaction(scope(account_id)) as tx:
        return tx.remove_where(SUBS, lambda d: d["endpoint"] == endpoint)


def remove_all(account_id: str) -> None:
    with get_store().transaction(scope(account_id)) as tx:
        tx.remove_where(SUBS, lambda d: True)


def forget_record(account_id: str, record_id: str) -> None:
    """Drop this account's queued, sent and inbox reminders about a deleted record."""
    path, key = f"/records/{record_id}/", f":{record_id}:"

    def about(doc: dict) -> bool:
        return (
            doc.get("record_id") == record_id
            or path in doc.get("url", "")
            or key in doc.get("key", "")
        )

    with get_store().transaction(scope(account_id)) as tx:
        for table in (QUEUE, INBOX, LEDGER):
            tx.remove_where(table, about)
    _forget_claims(account_id, about)


def forget_account(account_id: str) -> None:
    """Drop everything kept for a deleted account: its own file (devices, preferences,
    queue, ledger, retries, inbox marks) and its lines in the claims journal (its inbox)."""
    get_store().delete_scope_folder(f"people/{account_id}")
    _forget_claims(account_id, lambda _doc: True)


# --- reminders: queue, ledger and inbox ----------------------------------------------------


@dataclass(frozen=True)
class Reminder:
    """One reminder for one account. ``key`` names the occurrence, so it is sent once."""

    key: str
    kind: Kind
    due_at: str  # ISO time in UTC
    url: str
    details: str = ""  # e.g. the action's wording: only shown if the person allows it
    stale_after_minutes: int = 12 * 60
    record_id: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def ledger_id(self) -> str:
        return hashlib.sha256(self.key.encode()).hexdigest()[:32]

    def to_doc(self) -> dict:
        return {
            "key": self.key,
            "kind": self.kind.value,
            "due_at": self.due_at,
            "url": self.url,
            "details": self.details,
            "stale_after_minutes": self.stale_after_minutes,
            "record_id": self.record_id,
        }

    @classmethod
    def from_doc(cls, doc: dict) -> Reminder:
        return cls(
            doc["key"],
            Kind(doc["kind"]),
            doc["due_at"],
            doc["url"],
            doc.get("details", ""),
            int(doc.get("stale_after_minutes", 720)),
            doc.get("record_id", ""),
        )


def enqueue(account_id: str, reminder: Reminder) -> None:
    """Queue an event-driven reminder for the next send (once per key)."""
    doc = {**reminder.to_doc(), "id": reminder.ledger_id}
    with get_store().transaction(scope(account_id)) as tx:
        if tx.get(QUEUE, doc["id"]) is None and tx.get(LEDGER, doc["id"]) is None:
            tx.insert(QUEUE, doc)


def queued(account_id: str) -> list[Reminder]:
    return [Reminder.from_doc(d) for d in get_store().read(scope(account_id)).all(QUEUE)]


def remove_queued(account_id: str, ledger_ids: list[str]) -> None:
    """Take reminders off the account's queue once claimed (or not wanted)."""
    with get_store().transaction(scope(account_id)) as tx:
        for lid in ledger_ids:
            tx.remove(QUEUE, lid)


@dataclass(frozen=True)
class Snapshot:
    """One read of an account's file: everything the sender needs each minute.

    The sender runs every minute for every account, and each read of a file costs
    an ``open`` and ``fstat`` even when its parsed copy is cached, so it reads once.
    """

    prefs: Preferences
    devices: tuple[Device, ...]
    queued: tuple[Reminder, ...]
    taken: frozenset[str]  # ledger ids claimed in the account's own file (before the journal)
    retries: tuple[dict, ...]  # every device retry waiting, with its ledger id

    def retries_due(self, now: datetime) -> list[dict]:
        at = now.isoformat()
        return [r for r in self.retries if r["next_at"] <= at]


def snapshot(account_id: str) -> Snapshot:
    view = get_store().read(scope(account_id))
    return Snapshot(
        prefs=preferences_from_doc(view.get(PREFS, PREFS_ID)),
        devices=tuple(sorted((_device(d) for d in view.all(SUBS)), key=lambda d: d.created_at)),
        queued=tuple(Reminder.from_doc(d) for d in view.all(QUEUE)),
        taken=frozenset(d["id"] for d in view.all(LEDGER)),
        retries=tuple(
            {"ledger_id": d["id"], **item} for d in view.all(RETRIES) for item in d["retry"]
        ),
    )


# --- the claims journal: one fsynced write claims a whole bucket of accounts -----------------
#
# Claiming in each account's own file cost one fsynced write (two fsyncs) per account
# per run: 10,000 people meant 20,000 fsyncs, which the disk does one after another
# (docs/benchmarks.md). Claims are instead made in a journal shared by the accounts
# of a bucket: one file per bucket per (UTC) day of claiming, to which each run adds
# one document for all the bucket's claims, under the bucket's lock. The journal is
# also what the inbox shows, so nothing is written to the accounts' own files.


@dataclass(frozen=True)
class Claim:
    """A reminder to claim: ``late`` sends it marked as late, ``stale`` drops it."""

    reminder: Reminder
    late: bool
    stale: bool


def bucket_of(account_id: str) -> int:
    """The account's journal bucket. Shard ``k`` of ``n`` (``n`` dividing ``BUCKETS``)
    takes whole buckets, so processes sending at once do not wait for each other."""
    return zlib.crc32(account_id.encode()) % BUCKETS


def _journal_scope(day: date, bucket: int) -> str:
    return f"{JOURNAL}/{day.isoformat()}/b{bucket:02d}"


def _bucket_lock(bucket: int) -> str:
    """A file never written, whose lock is the bucket's: claims are checked and made under it."""
    return f"{JOURNAL}/b{bucket:02d}"


def _journal(bucket: int, days: int) -> list[dict]:
    """The bucket's claims of the last ``days`` (UTC) days, as cached reads."""
    today = clock.now().astimezone(UTC).date()
    store = get_store()
    return [
        item
        for back in range(days)
        for doc in store.read(_journal_scope(today - timedelta(days=back), bucket)).all(CLAIMS)
        for item in doc["items"]
    ]


def _claims_of(account_id: str, since: date | None = None) -> list[dict]:
    """The account's claims in the journal, of the last ``LEDGER_KEEP_DAYS`` (UTC)
    days, or only of the days from ``since`` on, when that is fewer."""
    days = LEDGER_KEEP_DAYS
    if since is not None:
        days = min(days, (clock.now().astimezone(UTC).date() - since).days + 1)
    claims = _journal(bucket_of(account_id), max(days, 0))
    return [i for i in claims if i["account"] == account_id]


def _claimed(bucket: int) -> set[str]:
    """``account:ledger id`` of every claim recent enough to matter to the sender."""
    return {f"{i['account']}:{i['id']}" for i in _journal(bucket, TAKEN_DAYS)}


def claim_batch(bucket: int, batch: dict[str, list[Claim]]) -> dict[str, tuple[list[Claim], int]]:
    """Take reminders of many accounts of one bucket for sending (or dropping, if stale),
    in one fsynced write.

    Returns, for each account, the claims this caller won that are to be sent and
    how many it dropped as stale. A reminder already claimed (by this sender or by
    another, now or in an earlier run) is left out, so each is sent at most once:
    after a restart, and when two senders run at once. The check and the write are
    made under the bucket's lock. Claims already in the journal are skipped before
    the lock is taken, so a run with nothing new writes and locks nothing.
    """
    out: dict[str, tuple[list[Claim], int]] = {a: ([], 0) for a in batch}

    def fresh(have: set[str]) -> list[tuple[str, Claim]]:
        return [
            (account_id, c)
            for account_id, claims in batch.items()
            for c in claims
            if f"{account_id}:{c.reminder.ledger_id}" not in have
        ]

    if not fresh(_claimed(bucket)):
        return out
    store = get_store()
    # Under the bucket's lock the journal's cached reads are current: the store checks
    # each file's identity, and only holders of this lock write the bucket's days.
    with store.transaction(_bucket_lock(bucket)):
        have = _claimed(bucket)
        now = clock.now()
        at = now.isoformat()
        items = []
        for account_id, item in fresh(have):
            reminder = item.reminder
            key = f"{account_id}:{reminder.ledger_id}"
            if key in have:  # the same reminder twice in one batch
                continue
            have.add(key)
            items.append(
                {
                    "account": account_id,
                    "id": reminder.ledger_id,
                    "key": reminder.key,
                    "status": "dropped" if item.stale else "sent",
                    "late": item.late,
                    "due_at": reminder.due_at,
                    "at": at,
                    "kind": reminder.kind.value,
                    "url": reminder.url,
                    "details": reminder.details,
                    "record_id": reminder.record_id,
                }
            )
            won, dropped = out[account_id]
            if item.stale:
                out[account_id] = (won, dropped + 1)
            else:
                won.append(item)
        if items:
            with store.transaction(_journal_scope(now.astimezone(UTC).date(), bucket)) as tx:
                tx.insert(CLAIMS, {"id": new_id(), "at": at, "items": items}, checked=True)
    return out


def _forget_claims(account_id: str, about: Callable[[dict], bool]) -> None:
    """Remove the account's claims (and so its inbox lines) that ``about`` matches."""
    bucket = bucket_of(account_id)
    today = clock.now().astimezone(UTC).date()
    store = get_store()
    with store.transaction(_bucket_lock(bucket)):
        for back in range(LEDGER_KEEP_DAYS):
            day_scope = _journal_scope(today - timedelta(days=back), bucket)
            if not store.read(day_scope).exists:
                continue
            with store.transaction(day_scope) as tx:
                for doc in tx.all(CLAIMS):
                    kept = [i for i in doc["items"] if i["account"] != account_id or not about(i)]
                    if len(kept) != len(doc["items"]):
                        tx.update(CLAIMS, doc["id"], {"items": kept})


def forget_old_claims(now: datetime | None = None) -> None:
    """Delete the journal's days older than ``LEDGER_KEEP_DAYS`` (a month of cron runs)."""
    today = (now or clock.now()).astimezone(UTC).date()
    store = get_store()
    for back in range(LEDGER_KEEP_DAYS + 1, LEDGER_KEEP_DAYS + 32):
        store.delete_scope_folder(f"{JOURNAL}/{(today - timedelta(days=back)).isoformat()}")


def record_retries(account_id: str, retries: dict[str, list[dict]]) -> None:
    """Note the devices to try again for reminders just sent (ledger id → retries)."""
    if not retries:
        return
    with get_store().transaction(scope(account_id)) as tx:
        for ledger_id, retry in retries.items():
            tx.replace(RETRIES, {"id": ledger_id, "retry": retry})


def pending_retries(account_id: str, now: datetime | None = None) -> list[dict]:
    """Device retries whose time has come, each with its reminder's ledger id."""
    return snapshot(account_id).retries_due(now or clock.now())


def take_retry(account_id: str, ledger_id: str, device_id: str, attempt: int) -> bool:
    """Take one device's pending retry (removing it), so two senders never both send it."""
    with get_store().transaction(scope(account_id)) as tx:
        retry = (tx.get(RETRIES, ledger_id) or {}).get("retry") or []
        mine = [r for r in retry if r["device_id"] == device_id and r["attempt"] == attempt]
        if not mine:
            return False
        _set_retries(tx, ledger_id, [r for r in retry if r not in mine])
    return True


def update_retry(account_id: str, ledger_id: str, device_id: str, next_try: dict | None) -> None:
    """Replace one device's retry of a reminder (``None``: no more tries)."""
    with get_store().transaction(scope(account_id)) as tx:
        retry = (tx.get(RETRIES, ledger_id) or {}).get("retry") or []
        retry = [r for r in retry if r["device_id"] != device_id]
        if next_try is not None:
            retry.append(next_try)
        _set_retries(tx, ledger_id, retry)


def _set_retries(tx: Transaction, ledger_id: str, retry: list[dict]) -> None:
    if retry:
        tx.replace(RETRIES, {"id": ledger_id, "retry": retry})
    else:
        tx.remove(RETRIES, ledger_id)


def ledger(account_id: str) -> list[dict]:
    """The account's claims of the last ``LEDGER_KEEP_DAYS``: id, key, status, late, due_at, at."""
    fields = ("id", "key", "status", "late", "due_at", "at")
    own = get_store().read(scope(account_id)).all(LEDGER)  # claims made before the journal
    return [{k: d.get(k) for k in fields} for d in [*own, *_claims_of(account_id)]]


@dataclass(frozen=True)
class InboxItem:
    id: str
    kind: Kind
    url: str
    details: str
    late: bool
    at: str
    read: bool


def inbox(account_id: str) -> list[InboxItem]:
    """The account's reminders of the last ``LEDGER_KEEP_DAYS``, newest first (at most
    ``INBOX_KEEP``): those in the claims journal, and any kept in its own file before."""
    view = get_store().read(scope(account_id))
    read_through = (view.get(INBOX_READ, INBOX_READ_ID) or {}).get("through", "")
    recent = [i for i in _claims_of(account_id) if i["status"] == "sent"]
    items = [
        InboxItem(
            d["id"],
            Kind(d["kind"]),
            d["url"],
            d.get("details", ""),
            bool(d.get("late")),
            d["at"],
            bool(d.get("read")) or d["at"] <= read_through,
        )
        for d in [*view.all(INBOX), *recent]
    ]
    return sorted(items, key=lambda i: i.at, reverse=True)[:INBOX_KEEP]


def unread_count(account_id: str) -> int:
    """How many of :func:`inbox` are unread, for the badge on every page.

    Only the journal's days since the inbox was last read are looked at: a claim
    newer than that mark is in the journal of its own UTC day or a later one.
    Unread reminders are the newest, so at most ``INBOX_KEEP`` of them are shown.
    """
    view = get_store().read(scope(account_id))
    read_through = (view.get(INBOX_READ, INBOX_READ_ID) or {}).get("through", "")
    since = clock.parse(read_through).astimezone(UTC).date() if read_through else None
    own = [d for d in view.all(INBOX) if not d.get("read") and d["at"] > read_through]
    recent = [
        i for i in _claims_of(account_id, since) if i["status"] == "sent" and i["at"] > read_through
    ]
    return min(len(own) + len(recent), INBOX_KEEP)


def mark_all_read(account_id: str) -> None:
    """Everything in the inbox up to now is read (what arrives later is not)."""
    with get_store().transaction(scope(account_id)) as tx:
        for doc in tx.all(INBOX):
            if not doc.get("read"):
                tx.update(INBOX, doc["id"], {"read": True})
        tx.replace(INBOX_READ, {"id": INBOX_READ_ID, "through": clock.now().isoformat()})
