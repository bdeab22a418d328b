"""The home page sends each person where they start: Today, a chooser, or the caseload."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import current_user

from .. import records, sharing
from ..forms.sharing import NewRecordForm
from ..roles import Permission, Role, requires

bp = Blueprint("home", __name__)


@bp.route("/")
@requires(Permission.PUBLIC)
def index():
    if not current_user.is_authenticated:
        return redirect(url_for("auth.sign_in"))
    if current_user.account.is_coordinator:
        return redirect(url_for("caseload.caseload"))
    memberships = sharing.memberships_of_user(current_user.id)
    if len(memberships) == 1:
        return redirect(url_for("records.today", record_id=memberships[0].record_id))
    if not memberships:
        return redirect(url_for("home.start"))
    by_id = records.records_by_id({m.record_id for m in memberships})
    people = sorted(
        ((by_id[m.record_id], m) for m in memberships if m.record_id in by_id),
        key=lambda pair: (pair[1].role is not Role.OWNER, pair[0].name),
    )
    return render_template("home/choose.jinja", people=people)


@bp.route("/start", methods=["GET", "POST"])
@requires(Permission.SIGNED_IN)
def start():
    """Someone without a record yet: start their own, or wait for an invitation."""
    form = NewRecordForm()
    if form.validate_on_submit():
        record = records.create_record(
            form.name.data,
            created_by=current_user.id,
            owner_id=current_user.id,
            acting_for=form.acting_for.data or "",
        )
        sharing.add_member(record.id, current_user.id, Role.OWNER)
        return redirect(url_for("records.today", record_id=record.id), code=303)
    status = 422 if request.method == "POST" else 200
    return render_template("home/start.jinja", form=form), status
