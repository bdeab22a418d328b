"""Invitations: single-use links that expire after 7 days and can be revoked.

A coordinator invites the person to their new record; the person invites a carer
or links their coordinator. Only a SHA-256 of the link's token is stored.
Accepting is done inside one locked transaction, so a link can be used once only.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from . import clock, records, sharing
from .accounts import Account
from .roles import Role
from .store import get_store

SCOPE = "system/invitations"
TABLE = "invitations"
LIFETIME = timedelta(days=7)


class Problem(StrEnum):
    """Why an invitation cannot be accepted, in words a person can act on."""

    NOT_FOUND = "This invitation link is not valid. Check you copied all of it."
    EXPIRED = "This invitation has expired. Ask for a new one."
    USED = "This invitation has already been used."
    REVOKED = "This invitation has been cancelled."
    NOT_COORDINATOR = "Only a care coordinator account can accept this invitation."
    OWN_RECORD = "You cannot join your own record as a carer or coordinator."
    ALREADY_MEMBER = "You already have access to this record."
    HAS_OWNER = "This record already has an owner."


class InvitationError(Exception):
    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.value)
        self.problem = problem


@dataclass(frozen=True)
class Invitation:
    id: str
    record_id: str
    role: Role
    label: str
    created_by: str
    created_at: str
    expires_at: str
    used_at: str | None
    revoked_at: str | None

    @classmethod
    def from_doc(cls, doc: dict) -> Invitation:
        return cls(
            id=doc["id"],
            record_id=doc["record_id"],
            role=Role(doc["role"]),
            label=doc.get("label", ""),
            created_by=doc["created_by"],
            created_at=doc["created_at"],
            expires_at=doc["expires_at"],
            used_at=doc.get("used_at"),
            revoked_at=doc.get("revoked_at"),
        )

    @property
    def pending(self) -> bool:
        return (
            not self.used_at and not self.revoked_at and clock.now().isoformat() < self.expires_at
        )


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def create_invitation(
    record_id: str, role: Role, *, created_by: str, label: str = ""
) -> tuple[str, Invitation]:
    """Make an invitation; returns the token for the link and the stored invitation."""
    token = secrets.token_urlsafe(24)
    now = clock.now()
    doc = {
        "token_hash": _digest(token),
        "record_id": record_id,
        "role": role.value,
        "label": label.strip(),
        "created_by": created_by,
        "created_at": now.isoformat(),
        "expires_at": (now + LIFETIME).isoformat(),
        "used_at": None,
        "revoked_at": None,
    }
    with get_store().transaction(SCOPE) as tx:
        doc["id"] = tx.insert(TABLE, doc)
    return token, Invitation.from_doc(doc)


def _check(doc: dict | None) -> Invitation:
    if doc is None:
        raise InvitationError(Problem.NOT_FOUND)
    inv = Invitation.from_doc(doc)
    if inv.revoked_at:
        raise InvitationError(Problem.REVOKED)
    if inv.used_at:
        raise InvitationError(Problem.USED)
    if clock.now().isoformat() >= inv.expires_at:
        raise InvitationError(Problem.EXPIRED)
    return inv


def find_invitation(token: str) -> Invitation:
    """The pending invitation for a link's token; raises :class:`InvitationError`."""
    docs = get_store().read(SCOPE).find(TABLE, token_hash=_digest(token))
    return _check(docs[0] if docs else None)


def accept_invitation(token: str, account: Account) -> sharing.Membership:
    """Use the invitation for ``account``; raises :class:`InvitationError`."""
    with get_store().transaction(SCOPE) as tx:
        docs = tx.find(TABLE, token_hash=_digest(token))
        inv = _check(docs[0] if docs else None)
        record = records.get_record(inv.record_id)
        if record is None:
            raise InvitationError(Problem.NOT_FOUND)
        if inv.role is Role.COORDINATOR and not account.is_coordinator:
            raise InvitationError(Problem.NOT_COORDINATOR)
        if inv.role is not Role.OWNER and record.owner_id == account.id:
            raise InvitationError(Problem.OWN_RECORD)
        if sharing.membership_for(account.id, record.id) is not None:
            raise InvitationError(Problem.ALREADY_MEMBER)
        if inv.role is Role.OWNER and not records.set_owner(record.id, account.id):
            raise InvitationError(Problem.HAS_OWNER)
        membership = sharing.add_member(record.id, account.id, inv.role)
        tx.update(TABLE, inv.id, {"used_at": clock.now().isoformat(), "used_by": account.id})
    return membership


def revoke_invitation(record_id: str, invitation_id: str) -> bool:
    with get_store().transaction(SCOPE) as tx:
        doc = tx.get(TABLE, invitation_id)
        if (
            doc is None
            or doc["record_id"] != record_id
            or doc.get("used_at")
            or doc.get("revoked_at")
        ):
            return False
        return tx.update(TABLE, invitation_id, {"revoked_at": clock.now().isoformat()})


def pending_invitations(record_id: str) -> list[Invitation]:
    docs = get_store().read(SCOPE).find(TABLE, record_id=record_id)
    return [i for i in (Invitation.from_doc(d) for d in docs) if i.pending]
