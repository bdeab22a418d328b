"""Someone deletes their own account (their sign-in) and everything kept about them.

Who may: anyone, except

* the owner of a person's record, who deletes the record first (``deletion.py``):
  a record is never deleted as a side effect; and
* a coordinator with people in their caseload, who leaves those records (or asks
  their organisation) first, so that nobody's record silently loses its coordinator.

Order matters, so that access ends first and a crash part way leaves something
the person can finish by signing in and deleting again (every step is safe to
run twice):

1. The account's name is taken out of the access trail ("who has looked at my
   record") of every record it belonged to; the entries stay, without a name.
   This comes first because the memberships are how those records are found.
2. Every membership naming the account (live or revoked) is removed, so carer
   access ends at the next request, and any invitations the account sent that
   are still waiting to be used.
3. The account's notifications go: its own file (devices, preferences, queued
   reminders, ledger) and its lines in the reminders journal (its inbox).
4. Every sign-in session of the account ends, on every device.
5. Last, the account itself. Until then the person can sign in and finish the
   job. Memberships, sessions and notifications are then swept once more, for an
   invitation accepted, a sign-in or a reminder sent while this ran.

What the account wrote in a person's record (support logs, goal notes, plan
changes) belongs to that record and stays; pages show "a former member" (or the
like) instead of a name once the account is gone (see ``docs/decisions.md``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum

from . import accounts, audit, invitations, notifications, records, sessions, sharing
from .roles import Role
from .store import get_store

# A child of the request log, so the line goes where the request lines go (stderr).
log = logging.getLogger("tracker.request.account_deletion")


class Blocker(StrEnum):
    """Why an account cannot be deleted yet."""

    OWNS_RECORD = "owns_record"
    HAS_CASELOAD = "has_caseload"


@dataclass(frozen=True)
class Blockers:
    """What stands in the way: the records the account owns, and its caseload."""

    owned_record_ids: tuple[str, ...]
    caseload_size: int

    @property
    def reasons(self) -> frozenset[Blocker]:
        found = set()
        if self.owned_record_ids:
            found.add(Blocker.OWNS_RECORD)
        if self.caseload_size:
            found.add(Blocker.HAS_CASELOAD)
        return frozenset(found)


@dataclass(frozen=True)
class AccountDeletion:
    """What deleting an account removed."""

    account_id: str
    trail_entries_unnamed: int
    memberships_removed: int
    invitations_removed: int
    sessions_ended: int


class AccountInUse(Exception):
    """The account owns a record or holds a caseload; see :class:`Blockers`."""

    def __init__(self, blockers: Blockers) -> None:
        super().__init__(", ".join(sorted(blockers.reasons)))
        self.blockers = blockers


def find_blockers(account_id: str) -> Blockers:
    """The records this account owns and how many people are in its caseload."""
    held = sharing.memberships_of_user(account_id)
    return Blockers(
        owned_record_ids=tuple(sorted(m.record_id for m in held if m.role is Role.OWNER)),
        caseload_size=sum(1 for m in held if m.role is Role.COORDINATOR),
    )


def _unname_in_trails(account_id: str) -> int:
    """Blank the account's name in the access trail of each record it belonged to."""
    store = get_store()
    with_trail = {
        d["record_id"]
        for d in store.read(sharing.SCOPE).find(sharing.TABLE, user_id=account_id)
        if records.get_record(d["record_id"]) is not None
    }
    unnamed = 0
    for record_id in sorted(with_trail):
        scope = records.log_scope(record_id)
        for doc in store.list_entries(scope, audit.STREAM):
            if doc.get("actor_id") == account_id and doc.get("actor_name"):
                unnamed += store.update_entry(scope, audit.STREAM, doc["id"], {"actor_name": ""})
    return unnamed


def _remove_memberships(account_id: str) -> int:
    with get_store().transaction(sharing.SCOPE) as tx:
        return tx.remove_where(sharing.TABLE, lambda d: d.get("user_id") == account_id)


def _remove_pending_invitations(account_id: str) -> int:
    def sent_and_waiting(doc: dict) -> bool:
        return doc.get("created_by") == account_id and invitations.Invitation.from_doc(doc).pending

    with get_store().transaction(invitations.SCOPE) as tx:
        return tx.remove_where(invitations.TABLE, sent_and_waiting)


def delete_account(account_id: str) -> AccountDeletion:
    """Delete an account and everything kept about it. Safe to run again.

    Raises :class:`AccountInUse` (and changes nothing) if the account owns a
    record or holds a caseload.
    """
    blockers = find_blockers(account_id)
    if blockers.reasons:
        raise AccountInUse(blockers)
    unnamed = _unname_in_trails(account_id)
    members = _remove_memberships(account_id)
    invites = _remove_pending_invitations(account_id)
    notifications.forget_account(account_id)
    ended = sessions.end_all_sessions(account_id)
    accounts.delete_account(account_id)
    # Anything added while this ran: an invitation accepted, a sign-in, a reminder.
    members += _remove_memberships(account_id)
    ended += sessions.end_all_sessions(account_id)
    notifications.forget_account(account_id)
    log.info("account %s deleted", account_id)
    return AccountDeletion(account_id, unnamed, members, invites, ended)
