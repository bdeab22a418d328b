"""Goals: add and change them, change their status, and add progress notes."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user

from .. import accounts, actions, clock, goals
from ..forms.goals import GoalForm, NoteForm, StatusForm
from ..goals import GoalStatus
from ..roles import Category, Permission, allowed, requires
from ..web import render

bp = Blueprint("goals", __name__, url_prefix="/records/<record_id>/goals")


def _back_to_goal(record_id: str, goal_id: str):
    """The no-JavaScript answer to a form that htmx would swap: its URL varies on HX-Request."""
    response = redirect(url_for("goals.view", record_id=record_id, goal_id=goal_id), code=303)
    response.vary.add("HX-Request")
    return response


def _goal_or_404(record_id: str, goal_id: str) -> goals.Goal:
    goal = goals.get_goal(record_id, goal_id)
    if goal is None:
        abort(404)
    return goal


def _context(record_id: str, goal: goals.Goal, **extra) -> dict:
    m = g.membership
    people = {e.by for e in goal.timeline} | {n.by for n in goal.notes}
    show_actions = m.sees(Category.ACTIONS)
    goal_actions = [a for a in actions.list_actions(record_id) if a.goal_id == goal.id]
    today = clock.today()
    week = (
        actions.occurrences(record_id, today - timedelta(days=6), today, goal_actions)
        if show_actions
        else []
    )
    return {
        "goal": goal,
        "names": accounts.names_by_id(people),
        "status_form": extra.pop("status_form", None) or StatusForm(data={"status": goal.status}),
        "note_form": extra.pop("note_form", None) or NoteForm(),
        "can_update": allowed(m.role, m.categories, Permission.UPDATE_GOALS),
        "can_edit": allowed(m.role, m.categories, Permission.EDIT_PLAN),
        "goal_actions": goal_actions if show_actions else [],
        "week": week,
        "can_mark": lambda action: actions.can_mark(m, action),
        **extra,
    }


@bp.route("/new", methods=["GET", "POST"])
@requires(Permission.EDIT_PLAN)
def new(record_id: str):
    form = GoalForm()
    if form.validate_on_submit():
        goal = goals.add_goal(
            record_id,
            outcome=form.outcome.data,
            need=form.need.data or "",
            measure=form.measure.data or "",
            importance=form.importance.data,
            by=current_user.id,
        )
        flash("The goal has been added.")
        return redirect(url_for("goals.view", record_id=record_id, goal_id=goal.id), code=303)
    status = 422 if request.method == "POST" else 200
    return render_template("goals/edit.jinja", form=form, goal=None), status


@bp.route("/<goal_id>")
@requires(Permission.VIEW_PLAN)
def view(record_id: str, goal_id: str):
    goal = _goal_or_404(record_id, goal_id)
    return render_template("goals/page.jinja", **_context(record_id, goal))


@bp.route("/<goal_id>/edit", methods=["GET", "POST"])
@requires(Permission.EDIT_PLAN)
def edit(record_id: str, goal_id: str):
    goal = _goal_or_404(record_id, goal_id)
    form = GoalForm(
        data={
            "outcome": goal.outcome,
            "need": goal.need,
            "measure": goal.measure,
            "importance": goal.importance,
        }
    )
    if form.validate_on_submit():
        goals.edit_goal(
            record_id,
            goal_id,
            outcome=form.outcome.data,
            need=form.need.data or "",
            measure=form.measure.data or "",
            importance=form.importance.data,
        )
        flash("The goal has been changed.")
        return redirect(url_for("goals.view", record_id=record_id, goal_id=goal_id), code=303)
    status = 422 if request.method == "POST" else 200
    return render_template("goals/edit.jinja", form=form, goal=goal), status


@bp.route("/<goal_id>/status", methods=["POST"])
@requires(Permission.UPDATE_GOALS)
def set_status(record_id: str, goal_id: str):
    goal = _goal_or_404(record_id, goal_id)
    form = StatusForm()
    if not form.validate_on_submit():
        return render(
            "goals/page.jinja",
            "goals/_status.jinja",
            status=422,
            **_context(record_id, goal, status_form=form),
        )
    goal = goals.set_goal_status(
        record_id,
        goal_id,
        GoalStatus(form.status.data),
        by=current_user.id,
        note=form.note.data or "",
    )
    if request.headers.get("HX-Request") == "true":
        return render(
            "goals/page.jinja", "goals/_status.jinja", **_context(record_id, goal, saved=True)
        )
    flash(f"The goal is now: {goal.status.label.lower()}.")
    return _back_to_goal(record_id, goal_id)


@bp.route("/<goal_id>/notes", methods=["POST"])
@requires(Permission.ADD_GOAL_NOTE)
def add_note(record_id: str, goal_id: str):
    goal = _goal_or_404(record_id, goal_id)
    form = NoteForm()
    if not form.validate_on_submit():
        return render(
            "goals/page.jinja",
            "goals/_notes.jinja",
            status=422,
            **_context(record_id, goal, note_form=form),
        )
    goal = goals.add_note(record_id, goal_id, text=form.text.data, by=current_user.id)
    if request.headers.get("HX-Request") == "true":
        return render("goals/page.jinja", "goals/_notes.jinja", **_context(record_id, goal))
    flash("Your note has been added.")
    return _back_to_goal(record_id, goal_id)
