"""Small helpers shared by the views: page-or-fragment rendering and redirects.

One decision, one place: a URL that can answer with a whole page or an htmx
fragment always sends ``Vary: HX-Request``, and answers a history restore
(``HX-History-Restore-Request``) with the whole page.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from flask import make_response, redirect, render_template, request
from werkzeug.wrappers import Response


def is_fragment_request() -> bool:
    """True for an htmx request that wants a fragment (not a history restore)."""
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
        and request.headers.get("HX-Boosted") != "true"
    )


def render(
    page_template: str, fragment_template: str | None = None, status: int = 200, **context: Any
) -> Response:
    """Render the fragment for htmx and the page otherwise; always ``Vary: HX-Request``."""
    use_fragment = fragment_template and is_fragment_request()
    template = fragment_template if use_fragment else page_template
    response = make_response(render_template(template, **context), status)
    response.vary.add("HX-Request")
    return response


def hx_redirect(location: str) -> Response:
    """Redirect that also works for htmx requests (which would otherwise swap the target)."""
    if request.headers.get("HX-Request") == "true":
        response = make_response("", 204)
        response.headers["HX-Redirect"] = location
        return response
    return redirect(location, code=303)


def safe_next(target: str | None, default: str) -> str:
    """Only same-site relative paths are accepted as "next" destinations."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return default
    # Browsers drop tabs and newlines inside URLs and read a backslash as "/", so
    # "/\t/evil.example" is really "//evil.example", another site (and a newline
    # made the redirect itself fail with a 500). Refuse control characters,
    # spaces and backslashes outright.
    if any(ch <= " " or ch in "\x7f\\" for ch in target):
        return default
    if urlsplit(target).netloc:
        return default
    return target


_CLIENT_KEY = re.compile(r"^[a-z0-9]{16,40}$")


def client_key() -> str | None:
    """The id a form carries when it may be replayed from the phone's outbox (offline.js).

    The same key twice stores one entry, so a replay never makes a duplicate.
    """
    value = request.form.get("client_key", "")
    return value if _CLIENT_KEY.match(value) else None


def download(body: bytes | str, mimetype: str, filename: str) -> Response:
    """A file to save (an export, a PDF, a CSV): an attachment that is never cached.

    What is downloaded is someone's health record: a shared computer's browser cache
    must not keep a copy, so every download says ``Cache-Control: no-store``.
    """
    response = make_response(body)
    response.mimetype = mimetype
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response
