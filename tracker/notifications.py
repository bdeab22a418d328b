"""Each account's notifications: push subscriptions, preferences, the inbox, and the ledger.

All of it lives in one small file per account (``people/<id>/notifications``),
changed under the store's lock:

* **subscriptions**: this account's devices (endpoint and keys), checked against
  the push-service allow-list when added;
* **preferences**: which kinds of reminder, quiet hours, time zone, the daily
  check-in time, and whether details may show on the lock screen (off by default);
* **inbox**: every reminder, whether or not push reached a device, with read state;
* **ledger**: one line per reminder occurrence, claimed before sending. Claiming
  is atomic, so a reminder is never sent twice: not after a restart, and not
  when two senders run at once;
* **queue**: reminders caused by events (a new early review request, a change to
  one, an early warning sign), waiting for the next send.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, time
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from . import clock
from .store import get_store, new_id

SUBS = "subscriptions"
PREFS = "preferences"
PREFS_ID = "prefs"
INBOX = "inbox"
LEDGER = "ledger"
QUEUE = "queue"
INBOX_KEEP = 200
LEDGER_KEEP_DAYS = 35
MAX_DEVICES = 10
GENERIC_TEXT = "You have a reminder from your care plan tracker"


class Kind(StrEnum):
    ACTION = "action"
    CHECKIN = "checkin"
    REVIEW = "review"
    REQUEST_NEW = "request_new"
    REQUEST_CHANGE = "request_change"
    WARNING = "warning"
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
    return _preferences(get_store().read(scope(account_id)).get(PREFS, PREFS_ID))


def _preferences(doc: dict | None) -> Preferences:
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


@dataclass(frozen=True)
class Snapshot:
    """One read of an account's file: everything the sender needs each minute.

    The sender runs every minute for every account, and each read of a file costs
    an ``open`` and ``fstat`` even when its parsed copy is cached, so it reads once.
    """

    prefs: Preferences
    devices: tuple[Device, ...]
    queued: tuple[Reminder, ...]
    taken: frozenset[str]  # ledger ids already claimed or dropped
    retries: tuple[dict, ...]  # every device retry waiting, with its ledger id

    def retries_due(self, now: datetime) -> list[dict]:
        at = now.isoformat()
        return [r for r in self.retries if r["next_at"] <= at]


def snapshot(account_id: str) -> Snapshot:
    view = get_store().read(scope(account_id))
    ledger_docs = view.all(LEDGER)
    return Snapshot(
        prefs=_preferences(view.get(PREFS, PREFS_ID)),
        devices=tuple(sorted((_device(d) for d in view.all(SUBS)), key=lambda d: d.created_at)),
        queued=tuple(Reminder.from_doc(d) for d in view.all(QUEUE)),
        taken=frozenset(d["id"] for d in ledger_docs),
        retries=tuple(
            {"ledger_id": d["id"], **item} for d in ledger_docs for item in d.get("retry") or []
        ),
    )


def taken(account_id: str) -> set[str]:
    """Ledger ids of reminders already claimed or dropped (a cached read, no lock).

    The sender skips these without taking the lock, so a run each minute costs a
    read, not a write, for reminders it has already dealt with; :func:`claim_many`
    checks again under the lock.
    """
    return {d["id"] for d in get_store().read(scope(account_id)).all(LEDGER)}


@dataclass(frozen=True)
class Claim:
    """A reminder to claim: ``late`` sends it marked as late, ``stale`` drops it."""

    reminder: Reminder
    late: bool
    stale: bool


def claim_many(
    account_id: str, claims: list[Claim], *, discard: tuple[str, ...] = ()
) -> tuple[list[Claim], int]:
    """Take reminders for sending (or dropping, if stale) in one transaction.

    Returns the claims this caller won that are to be sent, and how many it
    dropped as stale. A reminder another sender has claimed already is left out,
    so each is sent at most once: after a restart, and when two senders run at
    once. Every reminder won and not stale reaches the inbox in the same
    transaction. ``discard`` removes queued reminders the account does not want.
    """
    now = clock.now().isoformat()
    won: list[Claim] = []
    dropped = 0
    with get_store().transaction(scope(account_id)) as tx:
        have = {d["id"] for d in tx.all(LEDGER)}
        queue = {d["id"] for d in tx.all(QUEUE)}
        for item in claims:
            reminder = item.reminder
            lid = reminder.ledger_id
            if lid in queue:
                tx.remove(QUEUE, lid)
                queue.discard(lid)
            if lid in have:
                continue
            have.add(lid)
            tx.insert(
                LEDGER,
                {
                    "id": lid,
                    "key": reminder.key,
                    "status": "dropped" if item.stale else "sent",
                    "late": item.late,
                    "due_at": reminder.due_at,
                    "at": now,
                },
            )
            if item.stale:
                dropped += 1
                continue
            won.append(item)
            tx.insert(
                INBOX,
                {
                    "id": new_id(),
                    "kind": reminder.kind.value,
                    "url": reminder.url,
                    "details": reminder.details,
                    "late": item.late,
                    "at": now,
                    "due_at": reminder.due_at,
                    "read": False,
                },
            )
        for lid in discard:
            if lid in queue:
                tx.remove(QUEUE, lid)
        if tx.dirty:
            _trim_inbox(tx)
            cutoff = clock.now().timestamp() - LEDGER_KEEP_DAYS * 86400
            old = {d["id"] for d in tx.all(LEDGER) if clock.parse(d["at"]).timestamp() < cutoff}
            if old:
                tx.remove_where(LEDGER, lambda d: d["id"] in old)
    return won, dropped


def claim(account_id: str, reminder: Reminder, *, late: bool, stale: bool) -> bool:
    """Take one reminder (see :func:`claim_many`): ``True`` if this caller is to send it."""
    won, _ = claim_many(account_id, [Claim(reminder, late, stale)])
    return bool(won)


def _trim_inbox(tx) -> None:
    items = sorted(tx.all(INBOX), key=lambda d: d["at"])
    for old in items[:-INBOX_KEEP]:
        tx.remove(INBOX, old["id"])


def record_retries(account_id: str, retries: dict[str, list[dict]]) -> None:
    """Note the devices to try again for reminders just sent (ledger id → retries)."""
    if not retries:
        return
    with get_store().transaction(scope(account_id)) as tx:
        for ledger_id, retry in retries.items():
            tx.update(LEDGER, ledger_id, {"retry": retry})


def pending_retries(account_id: str, now: datetime | None = None) -> list[dict]:
    """Ledger lines with devices to try again, whose time has come."""
    return snapshot(account_id).retries_due(now or clock.now())


def take_retry(account_id: str, ledger_id: str, device_id: str, attempt: int) -> bool:
    """Take one device's pending retry (removing it), so two senders never both send it."""
    with get_store().transaction(scope(account_id)) as tx:
        doc = tx.get(LEDGER, ledger_id)
        retry = (doc or {}).get("retry") or []
        mine = [r for r in retry if r["device_id"] == device_id and r["attempt"] == attempt]
        if not mine:
            return False
        tx.update(LEDGER, ledger_id, {"retry": [r for r in retry if r not in mine]})
    return True


def update_retry(account_id: str, ledger_id: str, device_id: str, next_try: dict | None) -> None:
    """Replace one device's retry on a ledger line (``None``: no more tries)."""
    with get_store().transaction(scope(account_id)) as tx:
        doc = tx.get(LEDGER, ledger_id)
        if doc is None:
            return
        retry = [r for r in doc.get("retry") or [] if r["device_id"] != device_id]
        if next_try is not None:
            retry.append(next_try)
        tx.update(LEDGER, ledger_id, {"retry": retry})


def ledger(account_id: str) -> list[dict]:
    return get_store().read(scope(account_id)).all(LEDGER)


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
    docs = get_store().read(scope(account_id)).all(INBOX)
    items = [
        InboxItem(
            d["id"],
            Kind(d["kind"]),
            d["url"],
            d.get("details", ""),
            bool(d.get("late")),
            d["at"],
            bool(d.get("read")),
        )
        for d in docs
    ]
    return sorted(items, key=lambda i: i.at, reverse=True)


def unread_count(account_id: str) -> int:
    return sum(1 for d in get_store().read(scope(account_id)).all(INBOX) if not d.get("read"))


def mark_all_read(account_id: str) -> None:
    with get_store().transaction(scope(account_id)) as tx:
        for doc in tx.all(INBOX):
            if not doc.get("read"):
                tx.update(INBOX, doc["id"], {"read": True})
