"""The installable web app: its manifest, and the service worker with a content-derived version.

The service worker's source lives in the top-level ``service-worker/`` folder (an
installed wheel carries it as the ``service_worker`` package). When served, its
``VERSION`` is a hash of itself and of every file it precaches, so any change to
the app shell gives a new cache name and the old cache is cleaned up.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from importlib import resources
from pathlib import Path

STATIC = Path(__file__).parent / "static"
NHSUK = STATIC / "vendor" / "nhsuk-frontend"

# URL path -> file on disk. The app shell: styles, scripts and icons.
PRECACHE: dict[str, Path] = {
    "/static/vendor/nhsuk-frontend/nhsuk-frontend-10.6.1.min.css": NHSUK
    / "nhsuk-frontend-10.6.1.min.css",
    "/static/vendor/nhsuk-frontend/nhsuk-frontend-10.6.1.min.js": NHSUK
    / "nhsuk-frontend-10.6.1.min.js",
    "/static/vendor/htmx/htmx-2.0.11.min.js": STATIC / "vendor" / "htmx" / "htmx-2.0.11.min.js",
    "/static/css/app.css": STATIC / "css" / "app.css",
    "/static/js/app.js": STATIC / "js" / "app.js",
    "/assets/images/favicon.svg": NHSUK / "images" / "favicon.svg",
    "/assets/images/nhsuk-icon-192.png": NHSUK / "images" / "nhsuk-icon-192.png",
}

MASKABLE_ICON = "/static/icons/maskable-512.png"


def _source() -> str:
    repo_copy = Path(__file__).resolve().parent.parent / "service-worker" / "service-worker.js"
    if repo_copy.exists():
        return repo_copy.read_text(encoding="utf-8")
    return resources.files("service_worker").joinpath("service-worker.js").read_text("utf-8")


@lru_cache(maxsize=1)
def service_worker() -> tuple[str, str]:
    """The service worker's JavaScript and its version."""
    source = _source()
    digest = hashlib.sha256(source.encode())
    for path in PRECACHE.values():
        digest.update(path.read_bytes())
    version = digest.hexdigest()[:16]
    body = source.replace("__VERSION__", version).replace(
        "__PRECACHE__", json.dumps(sorted(PRECACHE))
    )
    return body, version


def manifest() -> dict:
    icon = "/assets/images/nhsuk-icon-{size}.png"
    return {
        "id": "/",
        "name": "Care plan tracker",
        "short_name": "Care plan",
        "description": "Follow your NHS care and support plan day by day.",
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "background_color": "#f0f4f5",
        "theme_color": "#005eb8",
        "lang": "en-GB",
        "icons": [
            {
                "src": icon.format(size=192),
                "sizes": "192x192",
                "type": "image/png",
                "purpose": "any",
            },
            {
                "src": icon.format(size=512),
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "any",
            },
            {
                # The NHS logo on NHS blue, inside the safe zone, so a round or
                # squircle mask never cuts it (static/icons/maskable-512.png).
                "src": MASKABLE_ICON,
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "maskable",
            },
        ],
    }
