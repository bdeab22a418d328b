"""Opening and accepting an invitation link."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from .. import invitations, records
from ..roles import Permission, requires

bp = Blueprint("invitations", __name__)


@bp.route("/invitations/<token>", methods=["GET", "POST"])
@requires(Permission.PUBLIC)
def accept(token: str):
    try:
        invitation = invitations.find_invitation(token)
    except invitations.InvitationError as error:
        return render_template("invitations/problem.jinja", problem=error.problem), 404
    record = records.get_record(invitation.record_id)
    if request.method == "POST" and current_user.is_authenticated:
        try:
            membership = invitations.accept_invitation(token, current_user.account)
        except invitations.InvitationError as error:
            return render_template("invitations/problem.jinja", problem=error.problem), 409
        flash(f"You now have access to {record.name}'s record.")
        return redirect(url_for("records.today", record_id=membership.record_id), code=303)
    return render_template(
        "invitations/accept.jinja", invitation=invitation, record=record, here=request.path
    )
