"""A person's record: Today, the plan, and the logs, each shown only as far as shared."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, g, render_template

from .. import actions, clock, goals, logs, plans, trackers
from ..presenters import LONDON
from ..roles import Category, Permission, requires

bp = Blueprint("records", __name__, url_prefix="/records/<record_id>")


@bp.route("/today")
@requires(Permission.VIEW_RECORD)
def today(record_id: str):
    m = g.membership
    day = clock.now().astimezone(LONDON).date()
    due = actions.due_on(record_id, day) if m.sees(Category.ACTIONS) else []
    plan = plans.get_plan(record_id) if m.sees(Category.PLAN) else None
    last_mood = None
    if m.sees(Category.MOOD):
        recent = logs.entries(
            record_id, kinds=[logs.Kind.MOOD], since=clock.now() - timedelta(days=7)
        )
        last_mood = recent[0] if recent else None
    return render_template(
        "records/today.jinja",
        due=due,
        plan=plan,
        last_mood=last_mood,
        day=day,
        mood_words=logs.MOOD_WORDS,
    )


@bp.route("/plan")
@requires(Permission.VIEW_PLAN)
def plan(record_id: str):
    show_actions = g.membership.sees(Category.ACTIONS)
    return render_template(
        "records/plan.jinja",
        plan=plans.get_plan(record_id),
        sections=plans.SECTIONS,
        goals=goals.list_goals(record_id),
        actions=actions.list_actions(record_id) if show_actions else [],
        show_actions=show_actions,
    )


def _recent(record_id: str, kind: logs.Kind, days: int = 28) -> list[logs.LogEntry]:
    return logs.entries(
        record_id, kinds=[kind], since=clock.now() - timedelta(days=days), viewer=g.membership
    )


@bp.route("/mood")
@requires(Permission.VIEW_MOOD)
def mood(record_id: str):
    return render_template(
        "records/mood.jinja", entries=_recent(record_id, logs.Kind.MOOD), mood_words=logs.MOOD_WORDS
    )


@bp.route("/symptoms")
@requires(Permission.VIEW_SYMPTOMS)
def symptoms(record_id: str):
    by_id = {t.id: t for t in trackers.list_trackers(record_id, include_archived=True)}
    return render_template(
        "records/symptoms.jinja", entries=_recent(record_id, logs.Kind.READING), trackers=by_id
    )


@bp.route("/diary")
@requires(Permission.VIEW_DIARY)
def diary(record_id: str):
    return render_template("records/diary.jinja", entries=_recent(record_id, logs.Kind.DIARY, 90))
