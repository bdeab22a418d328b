"""Health check for load balancers, and the design system's assets at /assets/."""

from __future__ import annotations

from pathlib import Path

from flask import (
    Blueprint,
    jsonify,
    make_response,
    render_template,
    request,
    send_from_directory,
)

from .. import pwa
from ..roles import Permission, requires
from ..store import get_store

bp = Blueprint("system", __name__)

NHSUK_ASSETS = Path(__file__).resolve().parent.parent / "static" / "vendor" / "nhsuk-frontend"


@bp.route("/healthz")
@requires(Permission.PUBLIC)
def healthz():
    ok = get_store().healthy()
    return jsonify(status="ok" if ok else "unavailable", storage=ok), (200 if ok else 503)


@bp.route("/assets/<path:filename>")
@requires(Permission.PUBLIC)
def assets(filename: str):
    # nhsuk-frontend's CSS refers to its icons at /assets/images/…
    return send_from_directory(NHSUK_ASSETS, filename, max_age=86400)


@bp.route("/service-worker.js")
@requires(Permission.PUBLIC)
def service_worker():
    body, version = pwa.service_worker()
    response = make_response(body)
    response.headers["Content-Type"] = "text/javascript; charset=utf-8"
    # Browsers must check for a new worker on every visit.
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Service-Worker-Allowed"] = "/"
    # The version is the content hash, so it is the ETag: an unchanged worker costs a 304.
    response.set_etag(version)
    return response.make_conditional(request)


@bp.route("/manifest.webmanifest")
@requires(Permission.PUBLIC)
def manifest():
    response = jsonify(pwa.manifest())
    response.headers["Content-Type"] = "application/manifest+json"
    return response


@bp.route("/offline")
@requires(Permission.PUBLIC)
def offline():
    return render_template("offline.jinja")
