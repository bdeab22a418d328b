"""The coordinator's caseload (drawn from per-person digests) and adding a person to it."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, render_template, request, url_for
from flask_login import current_user

from .. import clock, digests, invitations, records, sharing
from ..forms.sharing import NewRecordForm
from ..roles import Permission, Role, requires

bp = Blueprint("caseload", __name__)

SORTS = {
    "name": ("Name", lambda r: r["record"].name.lower(), False),
    "review": ("Next review", lambda r: (r["next_review"] is None, r["next_review"] or ""), False),
    "requests": ("Early review requests", lambda r: r["open_requests"], True),
    "warnings": ("Early warning signs", lambda r: r["new_hits"], True),
    "activity": ("Last activity", lambda r: r["last_activity"], True),
}
SOON = timedelta(days=28)


def _rows() -> list[dict]:
    held = [m for m in sharing.memberships_of_user(current_user.id) if m.role is Role.COORDINATOR]
    by_id = records.records_by_id({m.record_id for m in held})
    today = clock.today()
    rows = []
    for m in held:
        record = by_id.get(m.record_id)
        if record is None:
            continue
        d = digests.get(record.id)
        overdue = d.next_review is not None and d.next_review < today
        soon = d.next_review is not None and not overdue and d.next_review - today <= SOON
        new_hits = d.hits_since_seen(current_user.id)
        rows.append(
            {
                "record": record,
                "next_review": d.next_review,
                "overdue": overdue,
                "soon": soon,
                "open_requests": d.open_requests,
                "new_hits": new_hits,
                "last_activity": d.last_activity,
                "has_owner": bool(record.owner_id),
                "needs_attention": overdue or soon or d.open_requests > 0 or new_hits > 0,
            }
        )
    return rows


@bp.route("/caseload")
@requires(Permission.COORDINATE)
def caseload():
    rows = _rows()
    sort = request.args.get("sort", "review")
    sort = sort if sort in SORTS else "review"
    _, key, reverse = SORTS[sort]
    rows.sort(key=key, reverse=reverse)
    attention = request.args.get("show") == "attention"
    shown = [r for r in rows if r["needs_attention"]] if attention else rows
    return render_template(
        "caseload/page.jinja",
        # One url_for for all rows (it is the costliest call per row at 500 people);
        # record ids are plain hex, so the placeholder swap is safe.
        summary_url=url_for("reviews.summary", record_id="RECORD-ID"),
        rows=shown,
        total=len(rows),
        sort=sort,
        sorts=SORTS,
        attention=attention,
        attention_count=sum(1 for r in rows if r["needs_attention"]),
    )


@bp.route("/caseload/people", methods=["GET", "POST"])
@requires(Permission.COORDINATE)
def add_person():
    form = NewRecordForm()
    if form.validate_on_submit():
        record = records.create_record(
            form.name.data, created_by=current_user.id, acting_for=form.acting_for.data or ""
        )
        sharing.add_member(record.id, current_user.id, Role.COORDINATOR)
        token, _ = invitations.create_invitation(
            record.id, Role.OWNER, created_by=current_user.id, label=record.name
        )
        link = url_for("invitations.accept", token=token, _external=True)
        return render_template("caseload/invited.jinja", record=record, link=link)
    status = 422 if request.method == "POST" else 200
    return render_template("caseload/add_person.jinja", form=form), status
