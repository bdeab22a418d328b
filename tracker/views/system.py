"""Health check for load balancers, and the design system's assets at /assets/."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, jsonify, send_from_directory

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
