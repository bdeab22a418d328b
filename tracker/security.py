"""Security headers on every response, including a strict Content-Security-Policy.

No inline script, no ``eval``, no inline styles, nothing from other origins. htmx
is configured to match (see ``layouts/base.jinja``). Signed-in pages are never
stored by browsers or proxies, so health details do not linger in caches.

Static files are gzipped when the browser accepts it (the NHS.UK stylesheet is
277 KB, 29 KB gzipped, and blocks the first paint on a slow phone connection).
Pages are *not* compressed: a page holds the session's CSRF token beside text a
request can influence, which compression would expose to BREACH. Static files
with their version in the name are cached for a year; the rest are revalidated.
"""

from __future__ import annotations

import gzip
import re
from collections import OrderedDict

from flask import Flask, Response, request

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "manifest-src 'self'",
        "worker-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
}


def register(app: Flask) -> None:
    @app.after_request
    def _headers(response):
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        if app.config.get("SESSION_COOKIE_SECURE"):
            response.headers.setdefault(
                "Strict-Transport-Security", "max-age=31536000; includeSubDomains"
            )
        is_static = request.endpoint in {"static", "system.assets"}
        if not is_static:
            response.headers.setdefault("Cache-Control", "no-store")
            response.vary.add("Cookie")
        elif request.endpoint == "static" and VERSIONED.search(request.path):
            response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        if request.endpoint in COMPRESSED_ENDPOINTS:
            _gzip(response)
        return response


# Same for everyone, so safe to compress (see the module docstring): static files,
# NHS.UK's assets, the service worker and the manifest. Never a page.
COMPRESSED_ENDPOINTS = frozenset(
    {"static", "system.assets", "system.service_worker", "system.manifest"}
)
COMPRESSIBLE = frozenset(
    {
        "text/css",
        "text/javascript",
        "application/javascript",
        "application/json",
        "application/manifest+json",
        "image/svg+xml",
        "text/plain",
    }
)
MIN_SIZE = 1024  # below this, gzip's header and the extra work cost more than they save
# A version in the file name (nhsuk-frontend-10.6.1.min.css, htmx-2.0.11.min.js): a
# new version is a new URL, so the old one can be cached for good.
VERSIONED = re.compile(r"-\d+\.\d+\.\d+(?:\.min)?\.(?:css|js|map)$")

_compressed: OrderedDict[tuple[str, str], bytes] = OrderedDict()
_CACHE_ENTRIES = 64


def _gzip(response: Response) -> None:
    """Gzip a 200 text response in place, if the browser accepts it."""
    if (
        response.status_code != 200
        or request.method != "GET"
        or response.mimetype not in COMPRESSIBLE
        or "Content-Encoding" in response.headers
    ):
        return
    response.vary.add("Accept-Encoding")
    if request.accept_encodings["gzip"] <= 0:
        return
    response.direct_passthrough = False  # static files are sent as a file wrapper
    data = response.get_data()
    if len(data) < MIN_SIZE:
        return
    etag, _ = response.get_etag()
    key = (request.path, etag or "")
    body = _compressed.get(key) if etag else None
    if body is None:
        body = gzip.compress(data, compresslevel=6, mtime=0)
        if etag:
            _compressed[key] = body
            while len(_compressed) > _CACHE_ENTRIES:
                _compressed.popitem(last=False)
    response.set_data(body)
    response.headers["Content-Encoding"] = "gzip"
    # Byte ranges would be of the gzipped bytes; nothing here needs them.
    response.headers.pop("Accept-Ranges", None)
    if etag:
        # Weak: the same resource, a different encoding. If-None-Match compares weakly,
        # so a revalidation still gets its 304.
        response.set_etag(etag, weak=True)
