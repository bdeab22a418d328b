"""A person's record: Today, Help now, and the logs, each shown only as far as shared."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, g, redirect, render_template, url_for
from flask_login import current_user

from .. import actions, clock, logs, plans, sharing, trackers
from ..forms.logs import MoodForm
from ..roles import Category, Permission, Role, requires

bp = Blueprint("records", __name__, url_prefix="/records/<record_id>")


@bp.route("/today")
@requires(Permission.VIEW_RECORD)
def today(record_id: str):
    m = g.membership
    day = clock.today()
    due, overdue = ([], [])
    if m.sees(Category.ACTIONS):
        due, overdue = actions.today_and_overdue(record_id, day)
    plan = plans.get_plan(record_id) if m.sees(Category.PLAN) else None
    last_mood = None
    if m.sees(Category.MOOD):
        recent = logs.entries(
            record_id, kinds=[logs.Kind.MOOD], since=clock.now() - timedelta(days=1)
        )
        last_mood = recent[0] if recent else None
    return render_template(
        "records/today.jinja",
        due=due,
        overdue=overdue,
        plan=plan,
        last_mood=last_mood,
        day=day,
        today=day,
        mood_words=logs.MOOD_WORDS,
        mood_form=MoodForm(formdata=None),
        trackers=trackers.list_trackers(record_id) if m.role is Role.OWNER else [],
        can_mark=lambda action: actions.can_mark(m, action),
    )


@bp.route("/help-now")
@requires(Permission.VIEW_RECORD)
def help_now(record_id: str):
    plan = plans.get_plan(record_id) if g.membership.sees(Category.PLAN) else None
    return render_template("records/help_now.jinja", plan=plan)


help_bp = Blueprint("help", __name__)


@help_bp.route("/help-now")
@requires(Permission.PUBLIC)
def help_now_anywhere():
    """From pages outside a record: the person's own record's help, or the NHS routes."""
    if not current_user.is_authenticated:
        return render_template("records/help_now.jinja", plan=None)
    mine = sharing.memberships_of_user(current_user.id)
    if len(mine) == 1:
        return redirect(url_for("records.help_now", record_id=mine[0].record_id))
    return render_template("records/help_now.jinja", plan=None)
