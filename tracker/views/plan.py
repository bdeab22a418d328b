"""Viewing and changing the plan: sections, contacts, budget, review arrangements, sign-off."""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user

from .. import accounts, actions, goals, plans
from ..forms.plan import (
    BudgetForm,
    BudgetLineForm,
    ContactForm,
    ReviewForm,
    SignOffForm,
    sections_form,
)
from ..plans import BudgetHeld, ContactRole
from ..roles import Category, Permission, allowed, requires

bp = Blueprint("plan", __name__, url_prefix="/records/<record_id>/plan")


def _can_edit() -> bool:
    return allowed(g.membership.role, g.membership.categories, Permission.EDIT_PLAN)


def _saved(message: str = "Your changes have been saved."):
    flash(message)
    return redirect(url_for("plan.view", record_id=g.record.id), code=303)


def _form_page(template: str, form, **context):
    status = 422 if request.method == "POST" else 200
    return render_template(template, form=form, **context), status


@bp.route("")
@requires(Permission.VIEW_PLAN)
def view(record_id: str):
    show_actions = g.membership.sees(Category.ACTIONS)
    return render_template(
        "plan/page.jinja",
        plan=plans.get_plan(record_id),
        groups=plans.GROUPS,
        goals=goals.list_goals(record_id),
        actions=actions.list_actions(record_id) if show_actions else [],
        show_actions=show_actions,
        can_edit=_can_edit(),
    )


@bp.route("/history")
@requires(Permission.VIEW_PLAN)
def history(record_id: str):
    versions = plans.history(record_id)
    names = accounts.names_by_id({v.updated_by for v in versions})
    return render_template("plan/history.jinja", versions=versions, names=names)


@bp.route("/<group>", methods=["GET", "POST"])
@requires(Permission.EDIT_PLAN)
def edit_sections(record_id: str, group: str):
    if group not in plans.GROUPS:
        abort(404)
    title, sections = plans.GROUPS[group]
    current = plans.get_plan(record_id)
    form = sections_form(group)(data={s.key: current.text(s.key) for s in sections})
    if form.validate_on_submit():
        plans.save_sections(
            record_id, {s.key: form[s.key].data or "" for s in sections}, by=current_user.id
        )
        return _saved()
    return _form_page("plan/edit_sections.jinja", form, title=title, sections=sections)


@bp.route("/review-arrangements", methods=["GET", "POST"])
@requires(Permission.EDIT_PLAN)
def edit_review(record_id: str):
    current = plans.get_plan(record_id)
    form = ReviewForm(
        data={
            "start_date": current.start_date,
            "next_review": current.next_review,
            "interval": current.review_interval_months,
        }
    )
    # The date fields check past/future themselves (forms.fields.DateInputField).
    if form.validate_on_submit():
        plans.save_review_arrangements(
            record_id,
            by=current_user.id,
            start_date=form.start_date.data,
            next_review=form.next_review.data,
            interval_months=form.interval.data,
        )
        return _saved()
    return _form_page("plan/edit_review.jinja", form)


@bp.route("/sign-off", methods=["GET", "POST"])
@requires(Permission.EDIT_PLAN)
def edit_sign_off(record_id: str):
    current = plans.get_plan(record_id)
    form = SignOffForm(
        data={"signed_off_on": current.signed_off_on, "signed_off_by": current.signed_off_by}
    )
    if form.validate_on_submit():
        plans.save_sign_off(
            record_id,
            by=current_user.id,
            signed_off_on=form.signed_off_on.data,
            signed_off_by=form.signed_off_by.data or "",
        )
        return _saved()
    return _form_page("plan/edit_sign_off.jinja", form)


@bp.route("/contacts", methods=["GET", "POST"])
@requires(Permission.EDIT_PLAN)
def add_contact(record_id: str):
    form = ContactForm()
    if form.validate_on_submit():
        plans.add_contact(
            record_id,
            by=current_user.id,
            name=form.name.data,
            role=ContactRole(form.role.data),
            detail=form.detail.data or "",
            phone=form.phone.data or "",
            email=form.email.data or "",
        )
        return _saved(f"{form.name.data} has been added to your contacts.")
    return _form_page("plan/add_contact.jinja", form)


@bp.route("/contacts/<contact_id>/remove", methods=["POST"])
@requires(Permission.EDIT_PLAN)
def remove_contact(record_id: str, contact_id: str):
    if not plans.remove_contact(record_id, contact_id, by=current_user.id):
        abort(404)
    return _saved("The contact has been removed.")


@bp.route("/budget", methods=["GET", "POST"])
@requires(Permission.EDIT_PLAN)
def edit_budget(record_id: str):
    current = plans.get_plan(record_id)
    form = BudgetForm(
        data={
            "total": current.budget_total,
            "held": current.budget_held.value if current.budget_held else None,
        }
    )
    if form.validate_on_submit():
        plans.save_budget(
            record_id,
            by=current_user.id,
            total=form.total.data,
            held=BudgetHeld(form.held.data) if form.held.data else None,
        )
        return _saved()
    return _form_page("plan/edit_budget.jinja", form, plan=current)


@bp.route("/budget/lines", methods=["GET", "POST"])
@requires(Permission.EDIT_PLAN)
def add_budget_line(record_id: str):
    form = BudgetLineForm()
    if form.validate_on_submit():
        plans.add_budget_line(
            record_id, by=current_user.id, what=form.what.data, amount=form.amount.data
        )
        return _saved("The budget line has been added.")
    return _form_page("plan/add_budget_line.jinja", form)


@bp.route("/budget/lines/<line_id>/remove", methods=["POST"])
@requires(Permission.EDIT_PLAN)
def remove_budget_line(record_id: str, line_id: str):
    if not plans.remove_budget_line(record_id, line_id, by=current_user.id):
        abort(404)
    return _saved("The budget line has been removed.")
