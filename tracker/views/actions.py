"""Actions: add and change them, and mark an occurrence done, missed or skipped."""

from __future__ import annotations

from datetime import date, time

from flask import (
    Blueprint,
    abort,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user

from .. import accounts, actions, clock, goals, sharing
from ..actions import Outcome, Owner, Repeat, Schedule
from ..forms.actions import ActionForm, MarkForm
from ..roles import Permission, Role, requires
from ..web import client_key, is_fragment_request, render, safe_next

bp = Blueprint("actions", __name__, url_prefix="/records/<record_id>/actions")


def _action_or_404(record_id: str, action_id: str) -> actions.Action:
    action = actions.get_action(record_id, action_id)
    if action is None:
        abort(404)
    return action


def _refuse_other_goals(form: ActionForm) -> None:
    """404 for a posted goal that is not one of this record's goals.

    The form only offers this record's goals, so any other id is made up or
    another person's: both get the same 404, so nothing says which. A blank
    choice is an ordinary mistake and gets the form's message instead.
    """
    chosen = form.goal_id.data
    if request.method == "POST" and chosen and chosen not in {v for v, _ in form.goal_id.choices}:
        abort(404)


def _carers(record_id: str) -> list[tuple[str, str]]:
    carers = [m for m in sharing.members_of_record(record_id) if m.role is Role.CARER]
    names = accounts.names_by_id({m.user_id for m in carers})
    return [(m.user_id, names.get(m.user_id, "Carer")) for m in carers]


def _prepare(form: ActionForm, record_id: str) -> None:
    form.goal_id.choices = [(goal.id, goal.outcome) for goal in goals.list_goals(record_id)]
    form.carer_id.choices = [("", "Any carer"), *_carers(record_id)]


def _schedule(form: ActionForm) -> Schedule:
    repeat = Repeat(form.repeat.data)
    return Schedule(
        repeat=repeat,
        start=form.start.data,
        until=form.until.data if repeat is not Repeat.ONCE else None,
        interval=(form.interval.data or 1) if repeat is Repeat.WEEKLY else 1,
        weekdays=tuple(sorted(int(d) for d in form.weekdays.data or []))
        if repeat is Repeat.WEEKLY
        else (),
        at=time.fromisoformat(form.at.data.zfill(5)) if form.at.data else None,
    )


def _save(form: ActionForm, record_id: str, action_id: str | None) -> actions.Action | None:
    owner = Owner(form.owner.data)
    carers = dict(_carers(record_id))
    owner_user_id = form.carer_id.data or None if owner is Owner.CARER else None
    if owner is Owner.CARER:
        owner_name = carers.get(owner_user_id or "", "")
    elif owner is Owner.OTHER:
        owner_name = form.owner_name.data or ""
    else:
        owner_name = ""
    fields = {
        "goal_id": form.goal_id.data,
        "what": form.what.data,
        "owner": owner,
        "schedule": _schedule(form),
        "owner_name": owner_name,
        "owner_user_id": owner_user_id,
        "confidence": form.confidence.data,
        "support_needed": form.support_needed.data or "",
        "barriers": form.barriers.data or "",
        "strategies": form.strategies.data or "",
    }
    if action_id is None:
        return actions.add_action(record_id, **fields)
    return actions.edit_action(record_id, action_id, **fields)


def _edit_page(form: ActionForm, action: actions.Action | None):
    status = 422 if request.method == "POST" else 200
    return render_template("actions/edit.jinja", form=form, action=action), status


@bp.route("/new", methods=["GET", "POST"])
@requires(Permission.EDIT_PLAN)
def new(record_id: str):
    goal_id = request.args.get("goal", "")
    form = ActionForm(data={"goal_id": goal_id, "owner": "me", "repeat": "once"})
    _prepare(form, record_id)
    if not form.goal_id.choices:
        flash("Add a goal first. Every action belongs to a goal.")
        return redirect(url_for("goals.new", record_id=record_id), code=303)
    _refuse_other_goals(form)
    if form.validate_on_submit():
        action = _save(form, record_id, None)
        flash("The action has been added.")
        return _after_save(record_id, action, form)
    return _edit_page(form, None)


@bp.route("/<action_id>/edit", methods=["GET", "POST"])
@requires(Permission.EDIT_PLAN)
def edit(record_id: str, action_id: str):
    action = _action_or_404(record_id, action_id)
    s = action.schedule
    form = ActionForm(
        data={
            "goal_id": action.goal_id,
            "what": action.what,
            "owner": action.owner.value,
            "carer_id": action.owner_user_id or "",
            "owner_name": action.owner_name if action.owner is Owner.OTHER else "",
            "repeat": s.repeat.value,
            "start": s.start,
            "until": s.until,
            "weekdays": [str(d) for d in s.weekdays],
            "interval": s.interval if s.repeat is Repeat.WEEKLY else None,
            "at": s.at.strftime("%H:%M") if s.at else "",
            "confidence": action.confidence,
            "support_needed": action.support_needed,
            "barriers": action.barriers,
            "strategies": action.strategies,
        }
    )
    _prepare(form, record_id)
    _refuse_other_goals(form)
    if form.validate_on_submit():
        action = _save(form, record_id, action_id)
        flash("The action has been changed.")
        return _after_save(record_id, action, form)
    return _edit_page(form, action)


def _low_confidence(action: actions.Action) -> bool:
    return action.owner is Owner.ME and action.confidence is not None and action.confidence < 6


def _after_save(record_id: str, action: actions.Action, form: ActionForm):
    # Below 6, gently ask whether a smaller step would help (seed 002, 5.2.5). A
    # redirect either way, so reloading the next page never saves the action twice.
    if _low_confidence(action):
        target = url_for("actions.smaller_step", record_id=record_id, action_id=action.id)
    else:
        target = url_for("goals.view", record_id=record_id, goal_id=action.goal_id)
    return redirect(target, code=303)


@bp.route("/<action_id>/smaller-step")
@requires(Permission.EDIT_PLAN)
def smaller_step(record_id: str, action_id: str):
    action = _action_or_404(record_id, action_id)
    if not _low_confidence(action):
        return redirect(url_for("goals.view", record_id=record_id, goal_id=action.goal_id))
    return render_template("actions/low_confidence.jinja", action=action)


def _markable_day(action: actions.Action, raw: str | None, today: date) -> date:
    """The occurrence's day from the form or link; 404 unless the action falls on it by today."""
    try:
        day = date.fromisoformat(raw or "")
    except ValueError:
        abort(404)
    if day > today or not action.schedule.occurrences(day, day):
        abort(404)
    return day


def _markable_action(record_id: str, action_id: str) -> actions.Action:
    action = _action_or_404(record_id, action_id)
    if not actions.can_mark(g.membership, action):
        abort(404)
    return action


def _mark_page(action: actions.Action, day: date, form: MarkForm, today: date, status: int):
    """The one-question page for marking with a note (and the no-JavaScript error page)."""
    form.day.data = day.isoformat()
    response = make_response(
        render_template(
            "actions/mark.jinja",
            form=form,
            o=actions.get_occurrence(g.record.id, action, day),
            today=today,
            next_url=safe_next(
                request.values.get("next"), url_for("records.today", record_id=g.record.id)
            ),
        ),
        status,
    )
    response.vary.add("HX-Request")
    return response


@bp.route("/<action_id>/mark", methods=["GET"])
@requires(Permission.VIEW_ACTIONS)
def mark_form(record_id: str, action_id: str):
    """Mark an occurrence with a note: ``?day=YYYY-MM-DD``."""
    action = _markable_action(record_id, action_id)
    today = clock.today()
    day = _markable_day(action, request.args.get("day"), today)
    occurrence = actions.get_occurrence(record_id, action, day)
    form = MarkForm(
        data={
            "outcome": occurrence.outcome.value if occurrence and occurrence.outcome else None,
            "note": occurrence.note if occurrence else "",
        }
    )
    return _mark_page(action, day, form, today, 200)


@bp.route("/<action_id>/mark", methods=["POST"])
@requires(Permission.MARK_ACTIONS)
def mark(record_id: str, action_id: str):
    action = _markable_action(record_id, action_id)
    form = MarkForm()
    today = clock.today()
    day = _markable_day(action, form.day.data, today)
    valid = form.validate_on_submit()
    if valid:
        actions.mark_occurrence(
            record_id,
            action,
            day,
            Outcome(form.outcome.data),
            by=current_user.id,
            note=form.note.data or "",
            today=today,
            client_key=client_key(),
        )
    if is_fragment_request():
        return render(
            "records/today.jinja",
            "actions/_occurrence.jinja",
            status=200 if valid else 422,
            o=actions.get_occurrence(record_id, action, day),
            today=today,
            can_mark=lambda a: actions.can_mark(g.membership, a),
            just_marked=valid,
            mark_form=form,
        )
    if not valid:
        # Without JavaScript, a refused mark comes back as a page with the NHS error summary.
        return _mark_page(action, day, form, today, 422)
    flash(f"Marked as {form.outcome.data}: {action.what}")
    back = safe_next(request.form.get("next"), url_for("records.today", record_id=record_id))
    response = redirect(back, code=303)
    response.vary.add("HX-Request")
    return response
