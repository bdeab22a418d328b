"""Budget monitoring: the budget page, a line's figures, recording spending, statements.

Budget pages need the budget category (``Permission.VIEW_BUDGET``). A line's words
and the outcomes it serves are plan text, so a member who is shown the budget but
not the plan sees each line by its category only ("Travel"), and no outcomes.
"""

from __future__ import annotations

from datetime import date

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from .. import budget, clock, errors, goals, plans, receipts
from ..forms.budget import LineForm, SpendForm, StatementForm
from ..plans import LineCategory, LinePeriod
from ..roles import Category, Permission, Role, allowed, requires
from ..web import client_key, download, render

bp = Blueprint("budget", __name__, url_prefix="/records/<record_id>/budget")

# Receipts may be photos of up to 5 MB; the rest of the app keeps the smaller default.
RECEIPT_REQUEST_LIMIT = 6 * 1024 * 1024


@bp.url_value_preprocessor
def _allow_receipt_uploads(endpoint: str | None, values: dict | None) -> None:
    # URL preprocessors run before every before_request function, so the larger limit
    # is in place before CSRFProtect reads the form (the app's default stays 1 MB).
    if endpoint == "budget.new_spend" and request.method == "POST":
        request.max_content_length = RECEIPT_REQUEST_LIMIT


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(error: RequestEntityTooLarge):
    """A photo past the spending form's limit: the form again, saying so; nothing is kept.

    The request was refused before its form was read (CSRFProtect reads it first), so
    none of what was typed can be shown again, and nothing has been checked or stored.
    The page is the blank form, for a member who may record spending (404 otherwise).
    """
    if request.endpoint != "budget.new_spend":
        title, body = errors.MESSAGES[413]
        return render_template("errors/page.jinja", title=title, body=body, code=413), 413
    try:
        return _blank_spend_form_too_large(**(request.view_args or {}))
    except HTTPException as refused:  # not a member who may record spending: 404
        return current_app.handle_http_exception(refused)


@bp.context_processor
def _money_helpers() -> dict:
    return {"budget": budget}


def _plan_and_names() -> tuple[plans.Plan, dict[str, str]]:
    plan = plans.get_plan(g.record.id)
    return plan, budget.line_names(plan, show_plan_text=_sees_plan())


def _sees_plan() -> bool:
    return g.membership.sees(Category.PLAN)


def _line_or_404(plan: plans.Plan, line_id: str) -> plans.BudgetLine:
    try:
        return budget.find_line(plan, line_id)
    except budget.UnknownLine:
        abort(404)


def _can(permission: Permission) -> bool:
    return allowed(g.membership.role, g.membership.categories, permission)


def _goal_names(record_id: str) -> dict[str, str]:
    return {goal.id: goal.outcome for goal in goals.list_goals(record_id)}


@bp.route("")
@requires(Permission.VIEW_BUDGET)
def overview(record_id: str):
    plan, names = _plan_and_names()
    spends = budget.list_spending(record_id)
    position = budget.budget_position(record_id, plan=plan, spends=spends)
    recent = spends[-10:][::-1]
    return render(
        "budget/page.jinja",
        plan=plan,
        position=position,
        recent=recent,
        names=names,
        can_record=_can(Permission.RECORD_SPENDING),
        can_edit=_can(Permission.EDIT_PLAN),
        reminder_on=budget.monthly_reminder_on(record_id),
    )


@bp.route("/lines/<line_id>")
@requires(Permission.VIEW_BUDGET)
def line(record_id: str, line_id: str):
    plan, names = _plan_and_names()
    this = _line_or_404(plan, line_id)
    every_spend = budget.list_spending(record_id)
    position = budget.budget_position(record_id, plan=plan, spends=every_spend)
    line_position = (
        next(p for p in position.lines if p.line.id == line_id) if position is not None else None
    )
    spends = (
        [
            s
            for s in every_spend
            if s.line_id == line_id and position.year_first <= s.on <= position.through
        ]
        if position is not None
        else []
    )
    outcomes = _goal_names(record_id) if _sees_plan() else {}
    return render(
        "budget/line.jinja",
        line=this,
        names=names,
        position=position,
        line_position=line_position,
        spends=spends[::-1],
        outcomes=[outcomes[i] for i in this.goal_ids if i in outcomes],
        can_remove=_can_remove if _can(Permission.RECORD_SPENDING) else None,
        can_edit=_can(Permission.EDIT_PLAN),
    )


@bp.route("/lines/<line_id>/edit", methods=["GET", "POST"])
@requires(Permission.EDIT_PLAN)
def edit_line(record_id: str, line_id: str):
    plan = plans.get_plan(record_id)
    this = _line_or_404(plan, line_id)
    form = LineForm(
        goals=list(_goal_names(record_id).items()),
        data={
            "what": this.what,
            "category": this.category.value,
            "amount": this.amount,
            "period": this.period.value,
            "due_on": this.due_on,
            "goal_ids": list(this.goal_ids),
        },
    )
    if form.validate_on_submit():
        one_off = form.period.data == LinePeriod.ONE_OFF.value
        plans.update_budget_line(
            record_id,
            line_id,
            by=current_user.id,
            what=form.what.data,
            amount=form.amount.data,
            category=LineCategory(form.category.data),
            period=LinePeriod(form.period.data),
            goal_ids=tuple(dict.fromkeys(form.goal_ids.data or [])),
            due_on=form.due_on.data if one_off else None,
        )
        flash("The budget line has been saved.")
        return redirect(url_for("budget.line", record_id=record_id, line_id=line_id), code=303)
    status = 422 if request.method == "POST" else 200
    return render("budget/edit_line.jinja", form=form, line=this, status=status)


@bp.route("/spending/new", methods=["GET", "POST"])
@requires(Permission.RECORD_SPENDING)
def new_spend(record_id: str):
    plan, names = _plan_and_names()
    chosen = request.args.get("line", "")
    form = SpendForm(plan=plan, names=names, data={"line": chosen if chosen in _ids(plan) else ""})
    if form.validate_on_submit():
        line = _line_or_404(plan, form.line.data)
        receipt_id = _save_receipt(record_id, form)
        if receipt_id is not False:
            try:
                budget.record_spending(
                    record_id,
                    on=form.on.data,
                    amount=form.amount.data,
                    payee=form.payee.data,
                    line_id=line.id,
                    author_id=current_user.id,
                    note=form.note.data or "",
                    receipt_id=receipt_id,
                    client_key=client_key(),
                )
            except BaseException as exc:
                # Whatever stopped the spend being kept, its photo must not be left behind.
                if receipt_id:
                    receipts.delete_receipt(record_id, receipt_id)
                if not isinstance(exc, budget.InvalidSpend):
                    raise
                # The plan changed under the form (its start date, say): keep nothing.
                form.on.errors = [str(exc)]
            else:
                paid = budget.pounds(form.amount.data)
                flash(f"{paid} paid to {form.payee.data} has been recorded.")
                return redirect(
                    url_for("budget.line", record_id=record_id, line_id=line.id), code=303
                )
    elif request.method == "POST" and form.line.data and form.line.data not in _ids(plan):
        abort(404)
    status = 422 if request.method == "POST" else 200
    return render("budget/spend_form.jinja", form=form, plan=plan, status=status)


@requires(Permission.RECORD_SPENDING)
def _blank_spend_form_too_large(record_id: str):
    """The spending form, empty (its fields were never read), with the photo's size error."""
    plan, names = _plan_and_names()
    form = SpendForm(formdata=None, plan=plan, names=names)
    form.receipt.errors = [receipts.TOO_LARGE]
    return render("budget/spend_form.jinja", form=form, plan=plan, nothing_saved=True, status=413)


def _ids(plan: plans.Plan) -> set[str]:
    return {line.id for line in plan.budget_lines}


def _save_receipt(record_id: str, form: SpendForm) -> str | bool | None:
    """The new receipt's id, ``None`` without one, or ``False`` (with a form error) if refused.

    Called only once the rest of the form is valid, so a refused spend stores no receipt.
    """
    upload = form.receipt.data
    if not upload:
        return None
    try:
        return receipts.save_receipt(record_id, upload.read())
    except receipts.InvalidReceipt as exc:
        form.receipt.errors = [str(exc)]
        return False


@bp.route("/spending/<spend_id>/remove", methods=["POST"])
@requires(Permission.RECORD_SPENDING)
def remove_spend(record_id: str, spend_id: str):
    spend = budget.get_spend(record_id, spend_id)
    if spend is None or not _can_remove(spend):
        abort(404)
    budget.remove_spending(record_id, spend_id)
    flash("The spending record has been removed.")
    in_plan = spend.line_id in _ids(plans.get_plan(record_id))
    back = (
        url_for("budget.line", record_id=record_id, line_id=spend.line_id)
        if in_plan
        else url_for("budget.overview", record_id=record_id)
    )
    return redirect(back, code=303)


@bp.route("/reminder", methods=["POST"])
@requires(Permission.RECORD_SPENDING)
def reminder(record_id: str):
    """The person turns the monthly "record this month's spending" reminder on or off."""
    if g.membership.role is not Role.OWNER:
        abort(404)
    on = request.form.get("on") == "1"
    budget.set_monthly_reminder(record_id, on)
    flash(
        "We will remind you on the last day of each month to record that month's spending."
        if on
        else "The monthly spending reminder is off."
    )
    return redirect(url_for("budget.overview", record_id=record_id), code=303)


def _can_remove(spend: budget.Spend) -> bool:
    """The person removes any spending record; a carer only the ones they made."""
    return g.membership.role is Role.OWNER or spend.author_id == current_user.id


def _statement_period(plan: plans.Plan) -> tuple[StatementForm, date, date, int]:
    form = StatementForm(formdata=request.args if request.args else None)
    today = clock.today()
    first, last = (
        budget.plan_year(plan.start_date, max(today, plan.start_date))
        if plan.start_date
        else (today.replace(month=1, day=1), today)
    )
    if request.args:
        if form.validate():
            return form, form.first.data, form.last.data, 200
        return form, first, last, 400
    form.first.process(None, first)
    form.last.process(None, last)
    return form, first, last, 200


@bp.route("/statement")
@requires(Permission.VIEW_BUDGET)
def statement(record_id: str):
    plan, names = _plan_and_names()
    form, first, last, status = _statement_period(plan)
    return render(
        "budget/statement.jinja",
        form=form,
        plan=plan,
        names=names,
        statement=(
            budget.spending_statement(
                record_id, first, last, show_plan_text=_sees_plan(), plan=plan
            )
            if status == 200
            else None
        ),
        status=status,
    )


@bp.route("/statement/download")
@requires(Permission.VIEW_BUDGET)
def statement_csv(record_id: str):
    plan = plans.get_plan(record_id)
    _, first, last, status = _statement_period(plan)
    if status != 200:
        abort(400)
    statement = budget.spending_statement(
        record_id, first, last, show_plan_text=_sees_plan(), plan=plan
    )
    filename = f"spending-{first.isoformat()}-to-{last.isoformat()}.csv"
    return download(budget.statement_csv(statement), "text/csv", filename)
