"""The coordinator's caseload and adding a person to it."""

from __future__ import annotations

from flask import Blueprint, render_template, request, url_for
from flask_login import current_user

from .. import invitations, plans, records, sharing
from ..forms.sharing import NewRecordForm
from ..roles import Category, Permission, Role, requires

bp = Blueprint("caseload", __name__)


@bp.route("/caseload")
@requires(Permission.COORDINATE)
def caseload():
    held = [m for m in sharing.memberships_of_user(current_user.id) if m.role is Role.COORDINATOR]
    by_id = records.records_by_id({m.record_id for m in held})
    rows = []
    for m in held:
        record = by_id.get(m.record_id)
        if record is None:
            continue
        plan = plans.get_plan(record.id) if m.sees(Category.PLAN) else None
        rows.append(
            {
                "record": record,
                "next_review": plan.next_review if plan else None,
                "has_owner": bool(record.owner_id),
            }
        )
    rows.sort(key=lambda r: r["record"].name)
    return render_template("caseload/page.jinja", rows=rows)


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
