"""The person deletes their own record, after entering their password again."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.exceptions import NotFound

from .. import accounts, deletion, sharing
from ..forms.deletion import DeleteRecordForm
from ..roles import Permission, Role, requires
from ..store import ScopeDeleted
from .auth import password_checks

bp = Blueprint("deletion", __name__, url_prefix="/records/<record_id>")

NOT_RIGHT = "Your password is not right. Try again."


@bp.app_errorhandler(ScopeDeleted)
def record_gone(_error: ScopeDeleted):
    """A request that was under way when its record was deleted: the record is gone."""
    return current_app.handle_http_exception(NotFound())


@bp.route("/delete", methods=["GET", "POST"], endpoint="confirm")
@requires(Permission.DELETE_RECORD)
@password_checks
def confirm(record_id: str):
    form = DeleteRecordForm()
    if form.validate_on_submit():
        if accounts.check_credentials(current_user.account.email, form.password.data) is None:
            form.password.errors = [*form.password.errors, NOT_RIGHT]
        else:
            deletion.delete_record(record_id, actor_id=current_user.id)
            flash(f"{g.record.name}'s record has been deleted.")
            return redirect(url_for("home.index"), code=303)
    others = [m for m in sharing.members_of_record(record_id) if m.role is not Role.OWNER]
    status = 422 if request.method == "POST" else 200
    return render_template(
        "deletion/confirm.jinja",
        form=form,
        others=len(others),
        export_url=url_for("data.page", record_id=record_id),
    ), status
