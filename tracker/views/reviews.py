"""Reviews: the schedule, "Prepare for my review", the shared summary, early review requests."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user

from .. import accounts, actions, charts, clock, digests, goals, logs, plans, reviews, summaries
from .. import trackers as trk
from ..forms.reviews import AnswerForm, NoteForm, RecordReviewForm, RequestForm, ScheduleForm
from ..roles import Permission, requires
from ..sharing import Membership, entry_visible_to
from ..web import download, is_fragment_request, render

bp = Blueprint("reviews", __name__, url_prefix="/records/<record_id>")


def _status() -> int:
    return 422 if request.method == "POST" else 200


def _charts(record_id: str, start, end, viewer) -> list[charts.Chart]:
    """Mood and tracker charts for the review period, as far as the viewer may see."""
    return charts.charts_for(
        record_id, start, end, viewer, id_prefix="review-chart", skip_empty=True
    )


def _shared_charts(record_id: str, shared: summaries.Shared, viewer: Membership) -> list:
    """The shared summary's charts, less any about a statement the person has hidden.

    The charts are drawn from the log as it is now, so they follow the person's
    choices as they are now too.
    """
    hidden = set(summaries.get_draft(record_id)["hidden"])
    drawn = _charts(record_id, shared.start, shared.end, viewer)
    return [c for c in drawn if hidden.isdisjoint(c.statement_keys)]


def _schedule_context(record_id: str) -> dict:
    plan = plans.get_plan(record_id)
    held = reviews.list_reviews(record_id)
    return {"due": reviews.due(plan, clock.today(), held), "held": held}


# --- the schedule and held reviews ----------------------------------------------------


@bp.route("/reviews")
@requires(Permission.VIEW_REVIEWS)
def overview(record_id: str):
    requests_ = reviews.list_requests(record_id)
    names = accounts.names_by_id(
        {r.requested_by for r in requests_}
        | {s.by for r in requests_ for s in r.steps}
        | {r.recorded_by for r in reviews.list_reviews(record_id)}
    )
    return render_template(
        "reviews/overview.jinja", requests=requests_, names=names, **_schedule_context(record_id)
    )


@bp.route("/reviews/new", methods=["GET", "POST"])
@requires(Permission.RECORD_REVIEW)
def record_review(record_id: str):
    form = RecordReviewForm(data={"held_on": clock.today()})
    if form.validate_on_submit():
        form.held_on.check_timing(clock.today())
        if not form.held_on.errors:
            reviews.record_review(
                record_id,
                held_on=form.held_on.data,
                participants=form.participants.data or "",
                agreed=form.agreed.data or "",
                next_review_on=form.next_review.data,
                by=current_user.id,
            )
            flash("The review has been recorded. You can now update goals and actions.")
            return redirect(url_for("plan.view", record_id=record_id), code=303)
    return render_template(
        "reviews/record.jinja", form=form, goals=goals.list_goals(record_id)
    ), _status()


# --- early review requests ------------------------------------------------------------


@bp.route("/reviews/request", methods=["GET", "POST"])
@requires(Permission.REQUEST_REVIEW)
def request_review(record_id: str):
    form = RequestForm(data={"reason": request.args.get("reason", ""), "urgency": "month"})
    if form.validate_on_submit():
        reviews.request_review(
            record_id,
            reason=reviews.Reason(form.reason.data),
            what_changed=form.what_changed.data or "",
            urgency=reviews.Urgency(form.urgency.data),
            by=current_user.id,
        )
        flash("Your request for an early review has been sent to the care coordinator.")
        return redirect(url_for("reviews.overview", record_id=record_id), code=303)
    return render_template("reviews/request.jinja", form=form), _status()


def _request_or_404(record_id: str, request_id: str) -> reviews.ReviewRequest:
    found = reviews.get_request(record_id, request_id)
    if found is None:
        abort(404)
    return found


@bp.route("/reviews/requests/<request_id>", methods=["GET", "POST"])
@requires(Permission.ANSWER_REQUEST)
def answer(record_id: str, request_id: str):
    req = _request_or_404(record_id, request_id)
    schedule_form = ScheduleForm(prefix="schedule")
    answer_form = AnswerForm(prefix="answer")
    try:
        if request.form.get("step") == "acknowledge":
            reviews.acknowledge_request(record_id, request_id, by=current_user.id)
            flash("You have acknowledged the request. Now set a review date or reply.")
            return redirect(request.path, code=303)
        if request.form.get("step") == "schedule" and schedule_form.validate_on_submit():
            schedule_form.review_on.check_timing(clock.today())
            if not schedule_form.review_on.errors:
                reviews.schedule_request(
                    record_id,
                    request_id,
                    review_on=schedule_form.review_on.data,
                    by=current_user.id,
                    note=schedule_form.note.data or "",
                )
                flash("The early review has been scheduled. It is now the plan's next review.")
                return redirect(url_for("caseload.caseload"), code=303)
        if request.form.get("step") == "answer" and answer_form.validate_on_submit():
            reviews.answer_request(
                record_id, request_id, by=current_user.id, reply=answer_form.reply.data
            )
            flash("Your reply has been sent.")
            return redirect(url_for("caseload.caseload"), code=303)
    except reviews.RequestStateError:
        flash("This request has already been dealt with.")
        return redirect(request.path, code=303)
    names = accounts.names_by_id({req.requested_by} | {s.by for s in req.steps})
    return render_template(
        "reviews/answer.jinja",
        req=req,
        names=names,
        schedule_form=schedule_form,
        answer_form=answer_form,
    ), _status()


# --- the person's "Prepare for my review" ------------------------------------------------


def _prepare_context(record_id: str, **extra) -> dict:
    summary = summaries.compile_summary(record_id)
    shared = summaries.latest_shared(record_id)
    return {
        "summary": summary,
        "sections": list(summaries.Section),
        "shared": shared,
        "note_form": extra.pop("note_form", None) or NoteForm(data={"kind": "question"}),
        "charts": _charts(record_id, summary.start, summary.end, g.membership),
        "draft_notes": summaries.get_draft(record_id)["notes"],
        **_schedule_context(record_id),
        **extra,
    }


@bp.route("/prepare")
@requires(Permission.PREPARE_REVIEW)
def prepare(record_id: str):
    return render_template("reviews/prepare.jinja", **_prepare_context(record_id))


@bp.route("/prepare/statements/<key>", methods=["POST"])
@requires(Permission.PREPARE_REVIEW)
def toggle_statement(record_id: str, key: str):
    summary = summaries.compile_summary(record_id)
    statement = next((s for s in summary.statements if s.key == key and s.category), None)
    if statement is None:
        abort(404)
    hide = request.form.get("hide") == "1"
    summaries.set_hidden(record_id, key, hide)
    if is_fragment_request():
        # Only the statement is swapped; anything else (a boosted or history
        # request) is a plain form post and gets the redirect below.
        hidden = summary.hidden | {key} if hide else summary.hidden - {key}
        return render(
            "reviews/prepare.jinja",
            "reviews/_statement.jinja",
            s=statement,
            hidden=hidden,
            editable=True,
            evidence_endpoint="reviews.prepare_evidence",
        )
    flash("Hidden from the summary you share." if hide else "Shown in the summary you share.")
    return redirect(url_for("reviews.prepare", record_id=record_id) + f"#{key}", code=303)


@bp.route("/prepare/notes", methods=["POST"])
@requires(Permission.PREPARE_REVIEW)
def add_note(record_id: str):
    form = NoteForm()
    if form.validate_on_submit():
        try:
            summaries.add_note(
                record_id,
                text=form.text.data,
                question=form.kind.data == "question",
                by=current_user.id,
            )
        except summaries.TooManyNotes:
            form.text.errors = [*form.text.errors, "You can add up to 30 notes and questions"]
        else:
            flash("Added. It will be in the summary when you share it.")
            return redirect(url_for("reviews.prepare", record_id=record_id) + "#change", code=303)
    return render_template(
        "reviews/prepare.jinja", **_prepare_context(record_id, note_form=form)
    ), 422


@bp.route("/prepare/notes/<note_id>/remove", methods=["POST"])
@requires(Permission.PREPARE_REVIEW)
def remove_note(record_id: str, note_id: str):
    if not summaries.remove_note(record_id, note_id):
        abort(404)
    flash("Removed.")
    return redirect(url_for("reviews.prepare", record_id=record_id) + "#change", code=303)


@bp.route("/prepare/share", methods=["POST"])
@requires(Permission.PREPARE_REVIEW)
def share(record_id: str):
    summaries.share(record_id, by=current_user.id)
    flash("Your summary has been shared with your care coordinator.")
    return redirect(url_for("reviews.prepare", record_id=record_id), code=303)


def _evidence_page(record_id: str, statement: summaries.Statement | None, back: str):
    if statement is None:
        abort(404)
    found = [logs.get_entry(record_id, eid) for eid in statement.evidence]
    visible = [
        e
        for e in found
        if e is not None
        and entry_visible_to(
            g.membership, {"shared_with": e.shared_with}, logs.KIND_CATEGORY[e.kind]
        )
    ]
    visible.sort(key=lambda e: e.occurred_at, reverse=True)
    return render_template(
        "reviews/evidence.jinja",
        statement=statement,
        entries=visible,
        back=back,
        names=accounts.names_by_id({e.author_id for e in visible}),
        trackers={t.id: t for t in trk.list_trackers(record_id, include_archived=True)},
        actions={a.id: a for a in actions.list_actions(record_id)},
    )


@bp.route("/prepare/evidence/<key>")
@requires(Permission.PREPARE_REVIEW)
def prepare_evidence(record_id: str, key: str):
    summary = summaries.compile_summary(record_id)
    statement = next((s for s in summary.statements if s.key == key), None)
    return _evidence_page(record_id, statement, url_for("reviews.prepare", record_id=record_id))


# --- the coordinator's pre-review summary ---------------------------------------------


def _shared_context(record_id: str) -> dict:
    shared = summaries.latest_shared(record_id)
    statements = shared.visible_to(g.membership.categories) if shared else []
    return {
        "shared": shared,
        "statements": statements,
        "sections": list(summaries.Section),
        "charts": _shared_charts(record_id, shared, g.membership) if shared else [],
        "open_requests": reviews.open_requests(record_id),
        **_schedule_context(record_id),
    }


@bp.route("/summary")
@requires(Permission.VIEW_SHARED_SUMMARY)
def summary(record_id: str):
    digests.mark_seen(record_id, current_user.id)
    return render_template("reviews/summary.jinja", **_shared_context(record_id))


@bp.route("/summary/evidence/<key>")
@requires(Permission.VIEW_SHARED_SUMMARY)
def summary_evidence(record_id: str, key: str):
    shared = summaries.latest_shared(record_id)
    visible = shared.visible_to(g.membership.categories) if shared else []
    statement = next((s for s in visible if s.key == key), None)
    return _evidence_page(record_id, statement, url_for("reviews.summary", record_id=record_id))


def _pdf(html: str, filename: str) -> Response:
    from ..pdf import html_to_pdf

    return download(html_to_pdf(html), "application/pdf", filename)


@bp.route("/summary.pdf")
@requires(Permission.VIEW_SHARED_SUMMARY)
def summary_pdf(record_id: str):
    html = render_template("reviews/summary_print.jinja", **_shared_context(record_id))
    return _pdf(html, "pre-review-summary.pdf")


@bp.route("/prepare.pdf")
@requires(Permission.PREPARE_REVIEW)
def prepare_pdf(record_id: str):
    html = render_template("reviews/prepare_print.jinja", **_prepare_context(record_id))
    return _pdf(html, "prepare-for-my-review.pdf")
