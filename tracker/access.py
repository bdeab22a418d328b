"""Enforcing ``@requires``: who is asking, which record, and what they may do.

Kept apart from ``roles.py`` (which only declares) because it needs the domain
modules. Outcomes: anonymous → sign-in page; no membership, wrong role or an
unshared category → 404; a stale sign-in for a sensitive step → confirm password.
Every request by a carer or coordinator that reaches a record is audited.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import abort, current_app, g, request, url_for
from flask_login import current_user

from . import audit, records, sharing
from .roles import RULES, Permission, Role, Scope, allowed
from .web import hx_redirect, safe_next

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _here() -> str:
    # request.full_path always ends in "?", even without a query string.
    return request.full_path.removesuffix("?")


def _to_sign_in():
    target = url_for("auth.sign_in", next=_here() if request.method == "GET" else None)
    return hx_redirect(target)


def _is_fresh() -> bool:
    return current_user.session.is_fresh(current_app.config["TRACKER_FRESH_LOGIN"])


def _confirm_password():
    # After confirming, come back to this page, or for a form post to the page it was on.
    back = (
        _here()
        if request.method == "GET"
        else safe_next(urlsplit(request.referrer or "").path, url_for("home.index"))
    )
    return hx_redirect(url_for("auth.confirm_password", next=back))


def authorize(permission: Permission, record_id: str | None, *, fresh: bool = False):
    """``None`` if the request may go on, otherwise the response to send instead."""
    rule = RULES[permission]
    if rule.scope is Scope.ANYONE:
        return None
    if not current_user.is_authenticated:
        return _to_sign_in()
    if permission is Permission.COORDINATE and not current_user.account.is_coordinator:
        abort(404)
    if rule.scope is Scope.ACCOUNT:
        return _confirm_password() if fresh and not _is_fresh() else None
    if not record_id:
        abort(404)
    membership = sharing.membership_for(current_user.id, record_id)
    record = records.get_record(record_id) if membership else None
    if (
        membership is None
        or record is None
        or not allowed(membership.role, membership.categories, permission)
    ):
        abort(404)
    g.record = record
    g.membership = membership
    if fresh and not _is_fresh():
        return _confirm_password()
    if membership.role is not Role.OWNER:
        audit.record_access(
            record_id,
            actor_id=current_user.id,
            actor_name=current_user.account.name,
            role=membership.role,
            permission=permission,
            changed=request.method not in SAFE_METHODS,
        )
    return None
