"""The person decides who sees what: members, categories, invitations, revoking, leaving."""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user

from .. import accounts, invitations, sharing
from ..forms.sharing import CategoriesForm, InviteForm
from ..roles import Category, Permission, Role, requires
from ..web import render

bp = Blueprint("sharing", __name__, url_prefix="/records/<record_id>")

INVITABLE = {"carer": Role.CARER, "coordinator": Role.COORDINATOR}


def _members(record_id: str) -> list[tuple[sharing.Membership, str]]:
    members = [m for m in sharing.members_of_record(record_id) if m.role is not Role.OWNER]
    names = accounts.names_by_id({m.user_id for m in members})
    return [(m, names.get(m.user_id, "Unknown")) for m in members]


@bp.route("/sharing", endpoint="sharing")
@requires(Permission.MANAGE_SHARING, fresh=True)
def sharing_page(record_id: str):
    return render_template(
        "sharing/page.jinja",
        members=_members(record_id),
        pending=invitations.pending_invitations(record_id),
        form=CategoriesForm(),
    )


@bp.route("/sharing/members/<member_id>", methods=["POST"])
@requires(Permission.MANAGE_SHARING, fresh=True)
def update_member(record_id: str, member_id: str):
    member = sharing.get_member(record_id, member_id)
    if member is None or member.role is Role.OWNER:
        abort(404)
    form = CategoriesForm()
    if not form.validate_on_submit():
        return render(
            "sharing/page.jinja",
            "sharing/_member.jinja",
            status=422,
            member=member,
            name=accounts.names_by_id({member.user_id}).get(member.user_id, ""),
            form=form,
            members=_members(record_id),
            pending=invitations.pending_invitations(record_id),
        )
    chosen = frozenset(Category(c) for c in form.categories.data)
    sharing.set_categories(record_id, member_id, chosen)
    member = sharing.get_member(record_id, member_id)
    name = accounts.names_by_id({member.user_id}).get(member.user_id, "")
    if request.headers.get("HX-Request") == "true":
        return render(
            "sharing/page.jinja",
            "sharing/_member.jinja",
            member=member,
            name=name,
            saved=True,
            form=CategoriesForm(),
            members=_members(record_id),
            pending=invitations.pending_invitations(record_id),
        )
    flash(f"Saved what {name} can see.")
    return redirect(url_for("sharing.sharing", record_id=record_id), code=303)


@bp.route("/sharing/members/<member_id>/revoke", methods=["POST"])
@requires(Permission.MANAGE_SHARING, fresh=True)
def revoke_member(record_id: str, member_id: str):
    member = sharing.get_member(record_id, member_id)
    if member is None or not sharing.revoke_member(record_id, member_id):
        abort(404)
    name = accounts.names_by_id({member.user_id}).get(member.user_id, "They")
    flash(f"{name} can no longer see your record.")
    return redirect(url_for("sharing.sharing", record_id=record_id), code=303)


@bp.route("/sharing/invite/<role>", methods=["GET", "POST"])
@requires(Permission.MANAGE_SHARING, fresh=True)
def invite(record_id: str, role: str):
    if role not in INVITABLE:
        abort(404)
    form = InviteForm()
    if form.validate_on_submit():
        token, invitation = invitations.create_invitation(
            record_id, INVITABLE[role], created_by=current_user.id, label=form.label.data
        )
        link = url_for("invitations.accept", token=token, _external=True)
        return render_template("sharing/invitation_link.jinja", link=link, invitation=invitation)
    status = 422 if request.method == "POST" else 200
    return render_template("sharing/invite.jinja", form=form, role=role), status


@bp.route("/sharing/invitations/<invitation_id>/cancel", methods=["POST"])
@requires(Permission.MANAGE_SHARING, fresh=True)
def cancel_invitation(record_id: str, invitation_id: str):
    if not invitations.revoke_invitation(record_id, invitation_id):
        abort(404)
    flash("The invitation has been cancelled. The link no longer works.")
    return redirect(url_for("sharing.sharing", record_id=record_id), code=303)


@bp.route("/leave", methods=["GET", "POST"])
@requires(Permission.LEAVE_RECORD)
def leave(record_id: str):
    if request.method == "POST":
        sharing.revoke_member(record_id, g.membership.id)
        flash(f"You no longer have access to {g.record.name}'s record.")
        return redirect(url_for("home.index"), code=303)
    return render_template("sharing/leave.jinja")
