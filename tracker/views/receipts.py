"""A spending record's receipt photo, shown to those who may see the budget."""

from __future__ import annotations

import io

from flask import Blueprint, abort, send_file

from .. import receipts
from ..roles import Permission, requires

bp = Blueprint("receipts", __name__, url_prefix="/records/<record_id>")


@bp.route("/receipts/<receipt_id>")
@requires(Permission.VIEW_BUDGET)
def show(record_id: str, receipt_id: str):
    found = receipts.load_receipt(record_id, receipt_id)
    if found is None:
        abort(404)
    data, mime = found
    response = send_file(io.BytesIO(data), mimetype=mime, conditional=False, etag=False)
    # Shown in the page, never offered as a download, never kept by a browser or proxy.
    response.headers["Content-Disposition"] = "inline"
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
