"""A Flask-Limiter (``limits``) storage backed by the tracker's own store.

Why: the limit must hold across gunicorn worker processes, and the embedded
deployment has no Redis or memcached. Counters live in one small file
(``system/ratelimit``) changed under the store's inter-process lock. Keys are
hashed, so the file never holds email addresses. Registered as the URI scheme
``trackerfile://<absolute data folder>``.
"""

from __future__ import annotations

import hashlib
import time
from urllib.parse import urlparse

from flask import has_app_context
from limits.storage import Storage

from .store import Store, get_store

SCOPE = "system/ratelimit"
TABLE = "counters"


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


class TrackerFileStorage(Storage):
    """Fixed-window counters in the tracker's store."""

    STORAGE_SCHEME = ["trackerfile"]  # noqa: RUF012 (the limits registry reads a list)

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        path = urlparse(uri or "").path
        if not path:
            raise ValueError("trackerfile:// needs an absolute data folder path")
        self._fallback = Store(path)

    @property
    def store(self) -> Store:
        # Flask-Limiter keeps one storage object for its module-level limiter; reading
        # the store of the app handling the request keeps each app's counters its own
        # (one app per process in production; many apps in one test run).
        if has_app_context():
            return get_store()
        return self._fallback

    @property
    def base_exceptions(self):
        return OSError

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = time.time()
        hkey = _hash(key)
        with self.store.transaction(SCOPE) as tx:
            tx.remove_where(TABLE, lambda d: d["expires"] <= now)
            doc = tx.get(TABLE, hkey)
            if doc is None:
                doc = {"id": hkey, "count": 0, "expires": now + expiry}
                tx.insert(TABLE, doc)
            doc["count"] += amount
            tx.update(TABLE, hkey, {"count": doc["count"]})
            return doc["count"]

    def _live(self, key: str) -> dict | None:
        doc = self.store.read(SCOPE).get(TABLE, _hash(key))
        if doc is None or doc["expires"] <= time.time():
            return None
        return doc

    def get(self, key: str) -> int:
        doc = self._live(key)
        return doc["count"] if doc else 0

    def get_expiry(self, key: str) -> float:
        doc = self._live(key)
        return doc["expires"] if doc else time.time()

    def check(self) -> bool:
        return self.store.healthy()

    def reset(self) -> int | None:
        with self.store.transaction(SCOPE) as tx:
            return tx.remove_where(TABLE, lambda d: True)

    def clear(self, key: str) -> None:
        with self.store.transaction(SCOPE) as tx:
            tx.remove(TABLE, _hash(key))
