"""Someone deletes their own account, after entering their password again."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, session, url_for
from flask_login import current_user

from .. import account_deletion, accounts, records
from ..auth import sign_out as end_signed_in
from ..forms.account_deletion import DeleteAccountForm
from ..roles import Permission, requires
from .auth import password_checks
from .deletion import NOT_RIGHT

bp = Blueprint("account_deletion", __name__, url_prefix="/account")

# Set in the signed-out session, so only the person who deleted sees "deleted".
JUST_DELETED = "account_deleted"


def _blocked(blockers: account_deletion.Blockers, status: int):
    owned = records.records_by_id(set(blockers.owned_record_ids))
    return render_template(
        "account_deletion/blocked.jinja",
        owned=[owned[i] for i in blockers.owned_record_ids if i in owned],
        caseload_size=blockers.caseload_size,
    ), status


@bp.route("/delete", methods=["GET", "POST"], endpoint="confirm")
@requires(Permission.SIGNED_IN)
@password_checks
def confirm():
    blockers = account_deletion.find_blockers(current_user.id)
    if blockers.reasons:
        return _blocked(blockers, 409 if request.method == "POST" else 200)
    form = DeleteAccountForm()
    if form.validate_on_submit():
        if accounts.check_credentials(current_user.account.email, form.password.data) is None:
            form.password.errors = [*form.password.errors, NOT_RIGHT]
        else:
            try:
                account_deletion.delete_account(current_user.id)
            except account_deletion.AccountInUse as in_use:  # became an owner just now
                return _blocked(in_use.blockers, 409)
            end_signed_in(current_user._get_current_object())
            session[JUST_DELETED] = True
            return redirect(url_for("account_deletion.done"), code=303)
    status = 422 if request.method == "POST" else 200
    return render_template("account_deletion/confirm.jinja", form=form), status


@bp.route("/deleted", endpoint="done")
@requires(Permission.PUBLIC)
def done():
    if not session.pop(JUST_DELETED, False):
        return redirect(url_for("auth.sign_in"), code=303)
    return render_template("account_deletion/done.jinja")
