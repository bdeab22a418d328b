"""Accounts: email, name, an argon2id password hash, and whether the account is a coordinator.

Accounts live in their own file (``system/accounts``). Email addresses are kept
lowercased and trimmed, so "Sam@Example.com " and "sam@example.com" are one account.
Coordinator accounts are made by an administrator with the CLI, never by sign-up:
being a coordinator opens other people's records.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app

from . import clock
from .store import get_store

SCOPE = "system/accounts"
TABLE = "accounts"

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256


class EmailTaken(Exception):
    """An account with that email address already exists."""


@dataclass(frozen=True)
class Account:
    id: str
    email: str
    name: str
    password_hash: str
    is_coordinator: bool
    created_at: str

    @classmethod
    def from_doc(cls, doc: dict) -> Account:
        return cls(
            id=doc["id"],
            email=doc["email"],
            name=doc["name"],
            password_hash=doc["password_hash"],
            is_coordinator=bool(doc.get("is_coordinator")),
            created_at=doc["created_at"],
        )


def normalise_email(email: str) -> str:
    return email.strip().lower()


def _hasher() -> PasswordHasher:
    cfg = current_app.config
    return PasswordHasher(
        time_cost=cfg["TRACKER_ARGON2_TIME_COST"],
        memory_cost=cfg["TRACKER_ARGON2_MEMORY_KIB"],
        parallelism=cfg["TRACKER_ARGON2_PARALLELISM"],
        type=Type.ID,
    )


def hash_password(password: str) -> str:
    """An argon2id hash of ``password``."""
    return _hasher().hash(password)


def create_account(
    email: str, name: str, password: str, *, is_coordinator: bool = False
) -> Account:
    """Make an account; raises :class:`EmailTaken` if the address is in use."""
    email = normalise_email(email)
    password_hash = hash_password(password)  # slow: do it before taking the lock
    with get_store().transaction(SCOPE) as tx:
        if tx.find(TABLE, email=email):
            raise EmailTaken(email)
        doc = {
            "email": email,
            "name": name.strip(),
            "password_hash": password_hash,
            "is_coordinator": is_coordinator,
            "created_at": clock.now().isoformat(),
        }
        doc["id"] = tx.insert(TABLE, doc)
    return Account.from_doc(doc)


def get_account(account_id: str) -> Account | None:
    doc = get_store().read(SCOPE).get(TABLE, account_id)
    return Account.from_doc(doc) if doc else None


def find_account_by_email(email: str) -> Account | None:
    docs = get_store().read(SCOPE).find(TABLE, email=normalise_email(email))
    return Account.from_doc(docs[0]) if docs else None


_DUMMY_HASH: str | None = None


def check_credentials(email: str, password: str) -> Account | None:
    """The account if the password matches; ``None`` otherwise.

    An unknown address costs one hash too, so timing does not reveal which
    addresses have accounts.
    """
    global _DUMMY_HASH
    account = find_account_by_email(email)
    hasher = _hasher()
    if account is None:
        if _DUMMY_HASH is None:
            _DUMMY_HASH = hasher.hash("not-a-real-password")
        with contextlib.suppress(VerificationError):
            hasher.verify(_DUMMY_HASH, password)
        return None
    try:
        hasher.verify(account.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    if hasher.check_needs_rehash(account.password_hash):
        _set_password_hash(account.id, hasher.hash(password))
    return account


def _set_password_hash(account_id: str, password_hash: str) -> None:
    with get_store().transaction(SCOPE) as tx:
        tx.update(TABLE, account_id, {"password_hash": password_hash})


def change_password(account_id: str, new_password: str) -> None:
    """Store a new hash. The caller ends the account's other sessions."""
    _set_password_hash(account_id, hash_password(new_password))


def set_name(account_id: str, name: str) -> None:
    with get_store().transaction(SCOPE) as tx:
        tx.update(TABLE, account_id, {"name": name.strip()})


def delete_account(account_id: str) -> bool:
    """Remove the account for good; ``False`` if it was already gone.

    Its email address is free again, and signing in with it fails as for any
    unknown address. The caller removes what else names the account first
    (``account_deletion.py``).
    """
    with get_store().transaction(SCOPE) as tx:
        return tx.remove(TABLE, account_id)


def names_by_id(account_ids: set[str]) -> dict[str, str]:
    """Display names for several accounts at once."""
    view = get_store().read(SCOPE)
    return {d["id"]: d["name"] for d in view.all(TABLE) if d["id"] in account_ids}


def all_accounts() -> list[Account]:
    """Every account (the reminder sender walks them)."""
    return [Account.from_doc(d) for d in get_store().read(SCOPE).all(TABLE)]
