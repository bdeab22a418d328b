"""Who may see a person's record, and which parts: memberships and categories.

Each membership links an account to a record with a role (owner, carer or
coordinator) and the categories the owner shares with that member. Defaults come
from ``roles.DEFAULT_CATEGORIES``; the diary is private unless shared, and one
diary entry can be shared on its own (``entry_visible_to``). Revoking a membership
ends access at the next request, because every request checks it here.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import clock
from .roles import DEFAULT_CATEGORIES, Category, Role
from .store import get_store

SCOPE = "system/memberships"
TABLE = "members"


@dataclass(frozen=True)
class Membership:
    id: str
    record_id: str
    user_id: str
    role: Role
    categories: frozenset[Category]
    created_at: str

    @classmethod
    def from_doc(cls, doc: dict) -> Membership:
        return cls(
            id=doc["id"],
            record_id=doc["record_id"],
            user_id=doc["user_id"],
            role=Role(doc["role"]),
            categories=frozenset(Category(c) for c in doc.get("categories", [])),
            created_at=doc["created_at"],
        )

    def sees(self, category: Category) -> bool:
        return self.role is Role.OWNER or category in self.categories


class AlreadyMember(Exception):
    """The account already belongs to this record."""


def add_member(
    record_id: str, user_id: str, role: Role, categories: frozenset[Category] | None = None
) -> Membership:
    """Link an account to a record; raises :class:`AlreadyMember` if it already is."""
    cats = DEFAULT_CATEGORIES[role] if categories is None else categories
    doc = {
        "record_id": record_id,
        "user_id": user_id,
        "role": role.value,
        "categories": sorted(c.value for c in cats),
        "status": "active",
        "created_at": clock.now().isoformat(),
    }
    with get_store().transaction(SCOPE) as tx:
        if tx.find(TABLE, record_id=record_id, user_id=user_id, status="active"):
            raise AlreadyMember(user_id)
        doc["id"] = tx.insert(TABLE, doc)
    return Membership.from_doc(doc)


def membership_for(user_id: str, record_id: str) -> Membership | None:
    """The account's live membership of the record, if any."""
    docs = (
        get_store().read(SCOPE).find(TABLE, record_id=record_id, user_id=user_id, status="active")
    )
    return Membership.from_doc(docs[0]) if docs else None


def memberships_of_user(user_id: str) -> list[Membership]:
    docs = get_store().read(SCOPE).find(TABLE, user_id=user_id, status="active")
    return [Membership.from_doc(d) for d in docs]


def members_of_record(record_id: str) -> list[Membership]:
    docs = get_store().read(SCOPE).find(TABLE, record_id=record_id, status="active")
    return [Membership.from_doc(d) for d in docs]


def get_member(record_id: str, member_id: str) -> Membership | None:
    doc = get_store().read(SCOPE).get(TABLE, member_id)
    if doc is None or doc["record_id"] != record_id or doc["status"] != "active":
        return None
    return Membership.from_doc(doc)


def set_categories(record_id: str, member_id: str, categories: frozenset[Category]) -> bool:
    """Change what a carer or coordinator sees. The owner's own categories never change."""
    with get_store().transaction(SCOPE) as tx:
        doc = tx.get(TABLE, member_id)
        if doc is None or doc["record_id"] != record_id or doc["status"] != "active":
            return False
        if doc["role"] == Role.OWNER.value:
            return False
        return tx.update(TABLE, member_id, {"categories": sorted(c.value for c in categories)})


def revoke_member(record_id: str, member_id: str) -> bool:
    """End a carer's or coordinator's access at once (kept, marked revoked, for the audit)."""
    with get_store().transaction(SCOPE) as tx:
        doc = tx.get(TABLE, member_id)
        if doc is None or doc["record_id"] != record_id or doc["status"] != "active":
            return False
        if doc["role"] == Role.OWNER.value:
            return False
        return tx.update(
            TABLE, member_id, {"status": "revoked", "revoked_at": clock.now().isoformat()}
        )


def entry_visible_to(membership: Membership, entry: dict, category: Category) -> bool:
    """Whether one logged entry may be shown to this member.

    The owner sees everything. Others see an entry when its category is shared
    with them, or when the owner shared that single entry with them.
    """
    if membership.role is Role.OWNER or category in membership.categories:
        return True
    return membership.user_id in entry.get("shared_with", ())
