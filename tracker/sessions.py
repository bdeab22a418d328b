"""Server-side sign-in sessions, so that signing out really ends a session.

The browser's cookie carries a random token; the server keeps only its SHA-256.
A request is signed in only while that record exists and has not expired, so a
copied cookie stops working after sign-out, a password change, or "sign out this
device". Plain sessions end after 30 minutes unused or 12 hours in all; "keep me
signed in on this phone" sessions last 30 days.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app

from . import clock
from .store import get_store

SCOPE = "system/sessions"
TABLE = "sessions"
# Writing "last seen" on every request would make every page a write.
TOUCH_EVERY = timedelta(minutes=2)


@dataclass(frozen=True)
class Session:
    id: str
    user_id: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    auth_at: datetime
    remember: bool
    device: str

    @classmethod
    def from_doc(cls, doc: dict) -> Session:
        return cls(
            id=doc["id"],
            user_id=doc["user_id"],
            created_at=clock.parse(doc["created_at"]),
            last_seen_at=clock.parse(doc["last_seen_at"]),
            expires_at=clock.parse(doc["expires_at"]),
            auth_at=clock.parse(doc["auth_at"]),
            remember=bool(doc["remember"]),
            device=doc.get("device", ""),
        )

    def is_fresh(self, within: timedelta) -> bool:
        return clock.now() - self.auth_at <= within


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()[:40]


def describe_device(user_agent: str) -> str:
    """A short, plain description of a browser, for the "your devices" page."""
    ua = user_agent or ""
    browser = next(
        (
            n
            for key, n in (
                ("Edg/", "Edge"),
                ("Firefox/", "Firefox"),
                ("Chrome/", "Chrome"),
                ("Safari/", "Safari"),
            )
            if key in ua
        ),
        "A browser",
    )
    system = next(
        (
            n
            for key, n in (
                ("iPhone", "iPhone"),
                ("iPad", "iPad"),
                ("Android", "Android"),
                ("Windows", "Windows"),
                ("Mac OS X", "Mac"),
                ("Linux", "Linux"),
            )
            if key in ua
        ),
        "",
    )
    return f"{browser} on {system}" if system else browser


def _expiry(remember: bool, start: datetime) -> datetime:
    cfg = current_app.config
    return start + (cfg["PERMANENT_SESSION_LIFETIME"] if remember else cfg["TRACKER_SESSION_MAX"])


def start_session(user_id: str, *, remember: bool, user_agent: str) -> tuple[str, Session]:
    """Create a session; returns the token for the cookie and the stored record."""
    token = secrets.token_urlsafe(32)
    now = clock.now()
    doc = {
        "id": _digest(token),
        "user_id": user_id,
        "created_at": now.isoformat(),
        "last_seen_at": now.isoformat(),
        "auth_at": now.isoformat(),
        "expires_at": _expiry(remember, now).isoformat(),
        "remember": remember,
        "device": describe_device(user_agent)[:80],
    }
    with get_store().transaction(SCOPE) as tx:
        cutoff = now.isoformat()
        tx.remove_where(TABLE, lambda d: d["expires_at"] <= cutoff)
        tx.insert(TABLE, doc)
    return token, Session.from_doc(doc)


def _alive(s: Session) -> bool:
    now = clock.now()
    if now >= s.expires_at:
        return False
    return s.remember or now - s.last_seen_at < current_app.config["TRACKER_SESSION_IDLE"]


def load_session(user_id: str, token: str) -> Session | None:
    """The live session for this cookie, or ``None``. Notes the time it was used."""
    sid = _digest(token)
    doc = get_store().read(SCOPE).get(TABLE, sid)
    if doc is None or doc["user_id"] != user_id:
        return None
    s = Session.from_doc(doc)
    if not _alive(s):
        end_session_by_id(user_id, sid)
        return None
    if clock.now() - s.last_seen_at >= TOUCH_EVERY:
        with get_store().transaction(SCOPE) as tx:
            tx.update(TABLE, sid, {"last_seen_at": clock.now().isoformat()})
    return s


def session_id_for(token: str) -> str:
    return _digest(token)


def mark_fresh(session_id: str) -> None:
    """Record a new password check (for "sign in again to continue")."""
    with get_store().transaction(SCOPE) as tx:
        tx.update(TABLE, session_id, {"auth_at": clock.now().isoformat()})


def end_session_by_id(user_id: str, session_id: str) -> bool:
    """End one of the user's sessions; ``False`` if it was not theirs or not there."""
    with get_store().transaction(SCOPE) as tx:
        doc = tx.get(TABLE, session_id)
        if doc is None or doc["user_id"] != user_id:
            return False
        return tx.remove(TABLE, session_id)


def end_all_sessions(user_id: str, *, keep: str | None = None) -> int:
    """End every session of the user except ``keep``; returns how many ended."""
    with get_store().transaction(SCOPE) as tx:
        return tx.remove_where(TABLE, lambda d: d["user_id"] == user_id and d["id"] != keep)


def list_sessions(user_id: str) -> list[Session]:
    """The user's live sessions, most recently used first."""
    docs = get_store().read(SCOPE).find(TABLE, user_id=user_id)
    live = [s for s in (Session.from_doc(d) for d in docs) if _alive(s)]
    return sorted(live, key=lambda s: s.last_seen_at, reverse=True)
