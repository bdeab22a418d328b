"""Logging: mood, wellbeing, symptoms and trackers, diary, carer support, care events,
the history timeline and trends."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user

from .. import (
    accounts,
    actions,
    charts,
    clock,
    early_warnings,
    goals,
    logs,
    plans,
    reviews,
    settings,
)
from .. import sharing as members
from .. import trackers as trk
from ..forms.logs import (
    DiaryForm,
    EventForm,
    MoodForm,
    ReadingForm,
    ShareEntryForm,
    SupportForm,
    TrackerForm,
    wellbeing_form,
)
from ..logs import DiaryMark, EventType, Kind, MissedReason, SupportKind
from ..roles import Category, Permission, Role, requires
from ..trends import Period
from ..web import client_key, render, safe_next

bp = Blueprint("logs", __name__, url_prefix="/records/<record_id>")

# Every kind a member writes (rule hits and action marks are made by the app).
EDITABLE = {Kind.MOOD, Kind.WELLBEING, Kind.READING, Kind.DIARY, Kind.SUPPORT, Kind.EVENT}


def _status() -> int:
    return 422 if request.method == "POST" else 200


def _back(default_endpoint: str, message: str):
    flash(message)
    target = safe_next(request.form.get("next"), url_for(default_endpoint, record_id=g.record.id))
    return redirect(target, code=303)


# --- mood and wellbeing ------------------------------------------------------------


def _recent(kind: Kind, days: int = 28) -> list[logs.LogEntry]:
    return logs.entries(
        g.record.id, kinds=[kind], since=clock.now() - timedelta(days=days), viewer=g.membership
    )


@bp.route("/mood", methods=["GET", "POST"])
@requires(Permission.VIEW_MOOD)
def mood(record_id: str):
    form = MoodForm()
    if request.method == "POST":
        if g.membership.role is not Role.OWNER:
            abort(404)
        if form.validate_on_submit():
            logs.record_mood(
                record_id,
                author_id=current_user.id,
                score=int(form.score.data),
                note=form.note.data or "",
                client_key=client_key(),
            )
            words = logs.MOOD_WORDS[int(form.score.data)]
            if request.headers.get("HX-Request") == "true":
                return render(
                    "logs/mood.jinja",
                    "logs/_mood_form.jinja",
                    **_mood_context(record_id, MoodForm(formdata=None), saved=words),
                )
            return _back("logs.mood", f"Saved: you are feeling {words.lower()}.")
    return render(
        "logs/mood.jinja",
        "logs/_mood_form.jinja",
        status=_status(),
        **_mood_context(record_id, form),
    )


def _mood_context(record_id: str, form: MoodForm, saved: str = "") -> dict:
    return {
        "mood_form": form,
        "saved": saved,
        "entries": _recent(Kind.MOOD),
        "mood_words": logs.MOOD_WORDS,
        "wellbeing_on": settings.get(record_id).ons4,
    }


@bp.route("/wellbeing", methods=["GET", "POST"])
@requires(Permission.LOG_SELF)
def wellbeing(record_id: str):
    form = wellbeing_form()()
    prefs = settings.get(record_id)
    last = _recent(Kind.WELLBEING, days=7)
    next_due = (last[0].occurred_at + timedelta(days=7)) if last else None
    if request.method == "POST" and prefs.ons4 and next_due is None and form.validate_on_submit():
        logs.record_wellbeing(
            record_id,
            author_id=current_user.id,
            answers={k: form[k].data for k, _ in logs.ONS4_QUESTIONS},
        )
        return _back("logs.mood", "Thank you. Your answers have been saved.")
    if request.method == "POST" and (not prefs.ons4 or next_due is not None):
        form.form_errors.append("You can answer the wellbeing questions once a week.")
    return render_template(
        "logs/wellbeing.jinja",
        form=form,
        enabled=prefs.ons4,
        next_due=next_due,
        questions=logs.ONS4_QUESTIONS,
        citation=logs.ONS4_CITATION,
    ), _status()


@bp.route("/wellbeing/settings", methods=["POST"])
@requires(Permission.LOG_SELF)
def wellbeing_settings(record_id: str):
    on = request.form.get("ons4") == "on"
    settings.set_ons4(record_id, on)
    message = (
        "You will be asked the wellbeing questions once a week."
        if on
        else "You will not be asked the wellbeing questions."
    )
    return _back("logs.wellbeing", message)


# --- symptoms and trackers -------------------------------------------------------------


@bp.route("/symptoms")
@requires(Permission.VIEW_SYMPTOMS)
def symptoms(record_id: str):
    all_trackers = trk.list_trackers(record_id, include_archived=True)
    return render_template(
        "logs/symptoms.jinja",
        trackers=[t for t in all_trackers if not t.archived],
        archived=[t for t in all_trackers if t.archived],
        by_id={t.id: t for t in all_trackers},
        entries=_recent(Kind.READING),
        hits=logs.entries(
            record_id,
            kinds=[Kind.RULE_HIT],
            since=clock.now() - timedelta(days=28),
            viewer=g.membership,
        ),
        form=ReadingForm(formdata=None),
    )


def _tracker_or_404(record_id: str, tracker_id: str) -> trk.Tracker:
    tracker = trk.get_tracker(record_id, tracker_id)
    if tracker is None:
        abort(404)
    return tracker


def _reading_value(form: ReadingForm, tracker: trk.Tracker) -> float | None:
    """The reading's value, or ``None`` after putting the problem on the form."""
    if tracker.kind is trk.TrackerKind.YES_NO:
        if form.answer.data not in ("0", "1"):
            form.answer.errors = [*form.answer.errors, "Select yes or no"]
            return None
        return float(form.answer.data)
    if form.value.data is None:
        if not form.value.errors:
            form.value.errors = [*form.value.errors, "Enter the reading"]
        return None
    problem = tracker.check(form.value.data)
    if problem:
        form.value.errors = [*form.value.errors, problem]
        return None
    value = form.value.data
    return int(value) if tracker.whole_numbers else value


@bp.route("/symptoms/<tracker_id>", methods=["POST"])
@requires(Permission.LOG_SELF)
def log_reading(record_id: str, tracker_id: str):
    tracker = _tracker_or_404(record_id, tracker_id)
    if tracker.archived:
        abort(404)
    form = ReadingForm()
    valid = form.validate_on_submit()
    value = _reading_value(form, tracker) if valid else None
    if value is None:
        return render_template("logs/reading_form.jinja", form=form, tracker=tracker), 422
    when = form.when.data
    logs.record_reading(
        record_id,
        author_id=current_user.id,
        tracker_id=tracker.id,
        value=value,
        note=form.note.data or "",
        occurred_at=when,
        client_key=client_key(),
    )
    hit = early_warnings.check_after_reading(record_id, tracker, when, author_id=current_user.id)
    if hit is not None:
        return render_template(
            "logs/warning.jinja", hit=hit, tracker=tracker, plan=plans.get_plan(record_id)
        )
    return _back("logs.symptoms", f"Saved: {tracker.name}, {tracker.format(value)}.")


@bp.route("/symptoms/<tracker_id>/log")
@requires(Permission.LOG_SELF)
def reading_form(record_id: str, tracker_id: str):
    tracker = _tracker_or_404(record_id, tracker_id)
    if tracker.archived:
        abort(404)
    return render_template(
        "logs/reading_form.jinja", form=ReadingForm(formdata=None), tracker=tracker
    )


def _rule(form: TrackerForm) -> trk.Rule | None:
    if not form.rule_kind.data:
        return None
    kind = trk.RuleKind(form.rule_kind.data)
    if kind is trk.RuleKind.ANY_YES:
        return trk.Rule(kind)
    return trk.Rule(kind, form.rule_value.data or 0, form.rule_days.data or 1)


@bp.route("/trackers/new", methods=["GET", "POST"])
@requires(Permission.MANAGE_TRACKERS)
def new_tracker(record_id: str):
    form = TrackerForm(data={"kind": "scale"})
    if form.validate_on_submit():
        tracker = trk.define_tracker(
            record_id,
            name=form.name.data,
            kind=trk.TrackerKind(form.kind.data),
            unit=form.unit.data or "",
            low_label=form.low_label.data or "",
            high_label=form.high_label.data or "",
            target_min=form.target_min.data,
            target_max=form.target_max.data,
            rule=_rule(form),
        )
        return _back("logs.symptoms", f"The {tracker.name} tracker has been added.")
    return render_template("logs/tracker_form.jinja", form=form, tracker=None), _status()


@bp.route("/trackers/<tracker_id>/edit", methods=["GET", "POST"])
@requires(Permission.MANAGE_TRACKERS)
def edit_tracker(record_id: str, tracker_id: str):
    tracker = _tracker_or_404(record_id, tracker_id)
    rule = tracker.rule
    form = TrackerForm(
        data={
            "name": tracker.name,
            "kind": tracker.kind.value,
            "unit": tracker.unit,
            "low_label": tracker.low_label,
            "high_label": tracker.high_label,
            "target_min": tracker.target_min,
            "target_max": tracker.target_max,
            "rule_kind": rule.kind.value if rule else "",
            "rule_value": rule.value if rule and rule.kind is not trk.RuleKind.ANY_YES else None,
            "rule_days": rule.days if rule and rule.kind is not trk.RuleKind.ANY_YES else None,
        }
    )
    form.kind.data = tracker.kind.value  # the kind never changes
    if form.validate_on_submit():
        trk.edit_tracker(
            record_id,
            tracker_id,
            name=form.name.data,
            unit=form.unit.data or "",
            low_label=form.low_label.data or "",
            high_label=form.high_label.data or "",
            target_min=form.target_min.data,
            target_max=form.target_max.data,
            rule=_rule(form),
        )
        return _back("logs.symptoms", "Your changes have been saved.")
    return render_template("logs/tracker_form.jinja", form=form, tracker=tracker), _status()


@bp.route("/trackers/<tracker_id>/archive", methods=["POST"])
@requires(Permission.MANAGE_TRACKERS)
def archive_tracker(record_id: str, tracker_id: str):
    tracker = _tracker_or_404(record_id, tracker_id)
    archive = request.form.get("archive", "1") == "1"
    trk.set_archived(record_id, tracker_id, archive)
    message = (
        f"{tracker.name} is archived. Its readings are kept."
        if archive
        else f"{tracker.name} is back in use."
    )
    return _back("logs.symptoms", message)


# --- diary ---------------------------------------------------------------------------


def _goal_choices(record_id: str) -> list[tuple[str, str]]:
    return [("", "No, not about a goal")] + [(x.id, x.outcome) for x in goals.list_goals(record_id)]


@bp.route("/diary")
@requires(Permission.VIEW_DIARY)
def diary(record_id: str):
    return render_template(
        "logs/diary.jinja",
        entries=_recent(Kind.DIARY, days=90),
        goals={x.id: x for x in goals.list_goals(record_id)},
    )


@bp.route("/diary/new", methods=["GET", "POST"])
@requires(Permission.LOG_SELF)
def new_diary(record_id: str):
    form = DiaryForm()
    form.goal_id.choices = _goal_choices(record_id)
    if form.validate_on_submit():
        logs.write_diary(
            record_id,
            author_id=current_user.id,
            text=form.text.data,
            mark=DiaryMark(form.mark.data) if form.mark.data else None,
            goal_id=form.goal_id.data or None,
            occurred_at=form.when.data,
            client_key=client_key(),
        )
        readers = [
            m
            for m in members.members_of_record(record_id)
            if m.role is not Role.OWNER and Category.DIARY in m.categories
        ]
        who = "People you share your diary with can see it." if readers else "Only you can see it."
        return _back("logs.diary", f"Your diary entry has been saved. {who}")
    return render_template("logs/diary_form.jinja", form=form, entry=None), _status()


# --- carer support and care events -------------------------------------------------


def _action_choices(record_id: str) -> list[tuple[str, str]]:
    # The plan's actions are offered only to someone the person shares actions with.
    if not g.membership.sees(Category.ACTIONS):
        return [("", "None of them")]
    return [("", "None of them")] + [(a.id, a.what) for a in actions.list_actions(record_id)]


@bp.route("/support")
@requires(Permission.VIEW_SUPPORT)
def support(record_id: str):
    names = _names(_recent(Kind.SUPPORT, days=90))
    return render_template(
        "logs/support.jinja",
        entries=_recent(Kind.SUPPORT, days=90),
        names=names,
        reasons=MissedReason,
        actions={a.id: a for a in actions.list_actions(record_id)},
    )


def _support_fields(form: SupportForm) -> dict:
    kind = SupportKind(form.kind.data)
    return {
        "kind": kind,
        "what": form.what.data or "",
        "minutes": form.minutes.data if kind is SupportKind.GIVEN else None,
        "action_id": form.action_id.data or None,
        "reason": MissedReason(form.reason.data) if kind is SupportKind.MISSED else None,
        "reason_text": form.reason_text.data or "",
    }


@bp.route("/support/new", methods=["GET", "POST"])
@requires(Permission.LOG_SUPPORT)
def new_support(record_id: str):
    form = SupportForm(data={"kind": request.args.get("kind", "given")})
    form.action_id.choices = _action_choices(record_id)
    if form.validate_on_submit():
        logs.record_support(
            record_id,
            author_id=current_user.id,
            occurred_at=form.when.data,
            client_key=client_key(),
            **_support_fields(form),
        )
        return _back("logs.support", "Saved in the support log.")
    return render_template("logs/support_form.jinja", form=form, entry=None), _status()


@bp.route("/events/new", methods=["GET", "POST"])
@requires(Permission.LOG_EVENT)
def new_event(record_id: str):
    form = EventForm()
    if form.validate_on_submit():
        event = EventType(form.event.data)
        logs.record_event(
            record_id,
            author_id=current_user.id,
            event=event,
            note=form.note.data or "",
            occurred_at=form.when.data,
        )
        if event.offers_early_review:
            return render_template(
                "logs/early_review_offer.jinja", event=event, plan=plans.get_plan(record_id)
            )
        return _back("logs.history", f"Saved: {event.label}.")
    return render_template("logs/event_form.jinja", form=form, entry=None), _status()


# --- one entry: edit, delete, share --------------------------------------------------


def _own_entry_or_404(record_id: str, entry_id: str) -> logs.LogEntry:
    entry = logs.get_entry(record_id, entry_id)
    if (
        entry is None
        or entry.kind not in EDITABLE
        or entry.author_id != current_user.id
        or not members.entry_visible_to(
            g.membership, {"shared_with": entry.shared_with}, logs.KIND_CATEGORY[entry.kind]
        )
    ):
        abort(404)
    return entry


def _entry_form(entry: logs.LogEntry, record_id: str):
    d = entry.data
    when = {"when": entry.occurred_at}
    if entry.kind is Kind.MOOD:
        return MoodForm(data={"score": str(d["score"]), "note": d.get("note", "")})
    if entry.kind is Kind.WELLBEING:
        return wellbeing_form()(data={k: d.get(k) for k, _ in logs.ONS4_QUESTIONS})
    if entry.kind is Kind.READING:
        return ReadingForm(
            data={
                "value": d["value"],
                "answer": str(int(d["value"])),
                "note": d.get("note", ""),
                **when,
            }
        )
    if entry.kind is Kind.DIARY:
        form = DiaryForm(
            data={
                "text": d["text"],
                "mark": d.get("mark") or "",
                "goal_id": d.get("goal_id") or "",
                **when,
            }
        )
        form.goal_id.choices = _goal_choices(record_id)
        return form
    if entry.kind is Kind.SUPPORT:
        form = SupportForm(
            data={
                "kind": d["kind"],
                "what": d.get("what", ""),
                "minutes": d.get("minutes"),
                "action_id": d.get("action_id") or "",
                "reason": d.get("reason") or "",
                "reason_text": d.get("reason_text", ""),
                **when,
            }
        )
        form.action_id.choices = _action_choices(record_id)
        return form
    return EventForm(data={"event": d["event"], "note": d.get("note", ""), **when})


def _entry_data(entry: logs.LogEntry, form, record_id: str) -> tuple[dict, datetime] | None:
    """The entry's new fields and time from a valid form, or ``None`` if they are not valid."""
    when = getattr(getattr(form, "when", None), "data", None) or entry.occurred_at
    if entry.kind is Kind.MOOD:
        return {"score": int(form.score.data), "note": form.note.data or ""}, entry.occurred_at
    if entry.kind is Kind.WELLBEING:
        return {k: form[k].data for k, _ in logs.ONS4_QUESTIONS}, entry.occurred_at
    if entry.kind is Kind.READING:
        tracker = trk.get_tracker(record_id, entry.data["tracker_id"])
        value = _reading_value(form, tracker) if tracker else None
        if value is None:
            return None
        return {"tracker_id": tracker.id, "value": value, "note": form.note.data or ""}, when
    if entry.kind is Kind.DIARY:
        return (
            {
                "text": form.text.data,
                "mark": form.mark.data or None,
                "goal_id": form.goal_id.data or None,
            },
            when,
        )
    if entry.kind is Kind.SUPPORT:
        fields = _support_fields(form)
        return (
            {
                "kind": fields["kind"].value,
                "what": fields["what"],
                "minutes": fields["minutes"],
                "action_id": fields["action_id"],
                "reason": fields["reason"].value if fields["reason"] else None,
                "reason_text": fields["reason_text"] if fields["reason"] else "",
            },
            when,
        )
    return {"event": form.event.data, "note": form.note.data or ""}, when


def _check_changed_reading(record_id: str, entry: logs.LogEntry, when: datetime):
    """A changed reading can meet an early warning rule too: the warning page, or ``None``."""
    if entry.kind is not Kind.READING:
        return None
    tracker = trk.get_tracker(record_id, entry.data["tracker_id"])
    if tracker is None:
        return None
    hit = early_warnings.check_after_reading(record_id, tracker, when, author_id=current_user.id)
    if hit is None:
        return None
    return render_template(
        "logs/warning.jinja", hit=hit, tracker=tracker, plan=plans.get_plan(record_id)
    )


@bp.route("/entries/<entry_id>/edit", methods=["GET", "POST"])
@requires(Permission.EDIT_OWN_ENTRY)
def edit_entry(record_id: str, entry_id: str):
    entry = _own_entry_or_404(record_id, entry_id)
    form = _entry_form(entry, record_id)
    if request.method == "POST":
        form.process(request.form)
        if form.validate_on_submit():
            new = _entry_data(entry, form, record_id)
            if new is not None:
                logs.update_entry(record_id, entry_id, data=new[0], occurred_at=new[1])
                hit = _check_changed_reading(record_id, entry, new[1])
                if hit is not None:
                    return hit
                return _back("logs.history", "Your changes have been saved.")
    tracker = (
        trk.get_tracker(record_id, entry.data.get("tracker_id", ""))
        if (entry.kind is Kind.READING)
        else None
    )
    return render_template(
        "logs/edit_entry.jinja", form=form, entry=entry, tracker=tracker
    ), _status()


@bp.route("/entries/<entry_id>/delete", methods=["GET", "POST"])
@requires(Permission.EDIT_OWN_ENTRY)
def delete_entry(record_id: str, entry_id: str):
    entry = _own_entry_or_404(record_id, entry_id)
    if request.method == "POST":
        logs.delete_entry(record_id, entry_id)
        return _back("logs.history", "The entry has been deleted.")
    return render_template("logs/delete_entry.jinja", entry=entry)


@bp.route("/entries/<entry_id>/share", methods=["GET", "POST"])
@requires(Permission.SHARE_ENTRY)
def share_entry(record_id: str, entry_id: str):
    entry = logs.get_entry(record_id, entry_id)
    if entry is None or entry.kind is not Kind.DIARY:
        abort(404)
    others = [m for m in members.members_of_record(record_id) if m.role is not Role.OWNER]
    names = accounts.names_by_id({m.user_id for m in others})
    form = ShareEntryForm(data={"members": list(entry.shared_with)})
    form.members.choices = [(m.user_id, names.get(m.user_id, "Unknown")) for m in others]
    if form.validate_on_submit():
        logs.share_entry(record_id, entry_id, form.members.data or [])
        return _back("logs.diary", "Saved who can see this diary entry.")
    return render_template(
        "logs/share_entry.jinja",
        form=form,
        entry=entry,
        everyone_sees={m.user_id for m in others if Category.DIARY in m.categories},
    ), _status()


# --- history and trends --------------------------------------------------------------


def _names(entries: list[logs.LogEntry]) -> dict[str, str]:
    return accounts.names_by_id({e.author_id for e in entries})


@bp.route("/history")
@requires(Permission.VIEW_HISTORY)
def history(record_id: str):
    kind_arg = request.args.get("kind", "")
    kinds = [Kind(kind_arg)] if kind_arg in {k.value for k in Kind} else None
    all_goals = goals.list_goals(record_id) if g.membership.sees(Category.PLAN) else []
    goal_id = request.args.get("goal", "")
    goal_id = goal_id if goal_id in {x.id for x in all_goals} else ""
    page_arg = request.args.get("page", "1")
    # isdigit() alone lets "²" through, which int() refuses: ASCII digits only.
    ok = page_arg.isascii() and page_arg.isdigit() and len(page_arg) <= 5
    number = int(page_arg) if ok and int(page_arg) > 0 else 1
    goal_actions = frozenset(a.id for a in actions.list_actions(record_id) if a.goal_id == goal_id)
    entries, total = logs.page(
        record_id,
        viewer=g.membership,
        kinds=kinds,
        goal_id=goal_id or None,
        goal_action_ids=goal_actions,
        number=number,
    )
    per_page = 25
    return render(
        "logs/history.jinja",
        "logs/_history_entries.jinja",
        entries=entries,
        total=total,
        number=number,
        pages=max(1, -(-total // per_page)),
        kind=kind_arg if kinds else "",
        goal_id=goal_id,
        goals=all_goals,
        names=_names(entries),
        trackers={t.id: t for t in trk.list_trackers(record_id, include_archived=True)},
        actions={a.id: a for a in actions.list_actions(record_id)},
        kinds=[k for k in Kind if g.membership.sees(logs.KIND_CATEGORY[k])],
    )


@bp.route("/trends")
@requires(Permission.VIEW_RECORD)
def trends(record_id: str):
    from .. import trends as tr

    m = g.membership
    if not (m.sees(Category.MOOD) or m.sees(Category.SYMPTOMS)):
        abort(404)
    period_arg = request.args.get("period", Period.TWO_WEEKS.value)
    period = Period(period_arg) if period_arg in {p.value for p in Period} else Period.TWO_WEEKS
    plan = plans.get_plan(record_id) if m.sees(Category.PLAN) else None
    # "Since the last review": the last review held, or the plan's start before any.
    since = reviews.period_start(record_id, plan) if plan else None
    first, last = tr.window(period, clock.today(), since)
    charts_out = charts.charts_for(record_id, first, last, m)
    return render_template(
        "logs/trends.jinja",
        charts=charts_out,
        period=period,
        periods=Period,
        first=first,
        last=last,
    )
