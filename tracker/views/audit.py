"""The person's "Who has looked at my record" page."""

from __future__ import annotations

from dataclasses import replace

from flask import Blueprint, request

from .. import accounts, audit
from ..roles import Permission, requires
from ..web import render

bp = Blueprint("audit", __name__, url_prefix="/records/<record_id>")

# Shown instead of the name of someone whose account has been deleted.
DELETED_ACTOR = "Someone who has deleted their account"


@bp.route("/who-has-looked")
@requires(Permission.VIEW_AUDIT)
def trail(record_id: str):
    page = request.args.get("page", "1")
    page_no = int(page) if page.isdigit() and 0 < int(page) < 100000 else 1
    events, more = audit.list_access(record_id, page=page_no)
    present = accounts.names_by_id({e.actor_id for e in events})
    events = [e if e.actor_id in present else replace(e, actor_name=DELETED_ACTOR) for e in events]
    return render("audit/page.jinja", "audit/_events.jinja", events=events, more=more, page=page_no)
