"""The person deletes their record: every file of it goes, and everyone loses access at once.

Order matters, so that nothing can bring the record back and a crash part way
leaves something the person can finish:

1. The record's folder (``records/<id>/``: plan, goals, actions, logs, reviews,
   the access trail, receipts, anything else kept there) is deleted *forever*
   (:meth:`Store.delete_scope_folder`): from then on every write under it is
   refused, so a request already under way cannot recreate any of it.
2. Every membership and invitation for the record is removed (not marked
   revoked: they would name the record), so carers and coordinators get 404 on
   their next request.
3. Each former member's reminders about the record (queued, sent, in the inbox)
   are dropped, and the push subscriptions of anyone left with no record to be
   reminded about (no other membership and not a coordinator).
4. Last, the record leaves the index. Until then the owner still sees an empty
   record and can delete it again, which finishes the job. Memberships are swept
   once more after that, for an invitation accepted while this ran.

The owner's account is kept: it is how they sign in, they may be a carer for
someone else, and they can start again (see ``docs/decisions.md``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from . import accounts, invitations, notifications, records, sharing
from .store import get_store

# A child of the request log, so the line goes where the request lines go (stderr).
log = logging.getLogger("tracker.request.deletion")


@dataclass(frozen=True)
class Deletion:
    """What deleting a record removed."""

    record_id: str
    members_removed: int
    invitations_removed: int
    devices_dropped_for: int


def _remove_where_record(scope: str, table: str, record_id: str) -> int:
    with get_store().transaction(scope) as tx:
        return tx.remove_where(table, lambda d: d.get("record_id") == record_id)


def delete_record(record_id: str, *, actor_id: str) -> Deletion:
    """Delete a person's record and everything that names it. Safe to run again."""
    store = get_store()
    former = {
        d["user_id"]
        for d in store.read(sharing.SCOPE).find(sharing.TABLE, record_id=record_id)
        if "user_id" in d
    }
    store.delete_scope_folder(records.log_scope(record_id), forever=True)
    members = _remove_where_record(sharing.SCOPE, sharing.TABLE, record_id)
    invites = _remove_where_record(invitations.SCOPE, invitations.TABLE, record_id)
    dropped = 0
    coordinators = {
        i for i in former if (account := accounts.get_account(i)) and account.is_coordinator
    }
    for user_id in sorted(former):
        notifications.forget_record(user_id, record_id)
        if user_id not in coordinators and not sharing.memberships_of_user(user_id):
            notifications.remove_all(user_id)
            dropped += 1
    with store.transaction(records.SCOPE) as tx:
        tx.remove(records.TABLE, record_id)
    # An invitation being accepted as all this ran may have added a member since.
    members += _remove_where_record(sharing.SCOPE, sharing.TABLE, record_id)
    # The record's own access trail is gone with it; the server log keeps ids only.
    log.info("record %s deleted by account %s", record_id, actor_id)
    return Deletion(record_id, members, invites, dropped)
