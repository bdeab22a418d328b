"""Forms for budget monitoring: a spending record, a budget line's details, a statement period."""

from __future__ import annotations

from datetime import date

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import RadioField, SelectField, SelectMultipleField
from wtforms.validators import StopValidation, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from .. import budget
from ..plans import LineCategory, LinePeriod, Plan
from .fields import DateInputField, MoneyField, text


class AmountField(MoneyField):
    """Pounds and pence, read by the budget's stricter rule (``budget.parse_money``)."""

    def __init__(self, label: str = "", validators=None, **kwargs) -> None:
        super().__init__(label, validators, what="the amount", required=True, **kwargs)

    def pre_validate(self, form) -> None:
        if not self.raw:
            raise StopValidation("Enter the amount")
        try:
            self.data = budget.parse_money(self.raw)
        except budget.InvalidSpend as exc:
            raise StopValidation(str(exc)) from None


class SpendForm(FlaskForm):
    """One spending record: ``plan`` gives the plan's period, ``names`` the lines to choose."""

    line = SelectField("Which part of the budget was it for?", validate_choice=False)
    on = DateInputField("When was it paid?", what="the date it was paid", required=True)
    amount = AmountField("How much was paid?", description="In pounds, for example 45.50")
    payee = text(
        "Who was it paid to?",
        max_length=budget.MAX_PAYEE,
        required_message="Enter who was paid",
        description="For example, the name of your personal assistant or a company.",
    )
    note = text("Note (optional)", max_length=budget.MAX_NOTE, area=True)
    receipt = FileField(
        "Photo of the receipt (optional)",
        description="A JPEG or PNG photo, up to 5 MB. Location details are removed.",
    )

    def __init__(self, *args, plan: Plan, names: dict[str, str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.plan = plan
        self.line.choices = [("", "Choose a budget line"), *names.items()]

    def validate_line(self, field: SelectField) -> None:
        if not field.data:
            raise ValidationError("Select which part of the budget it was for")
        # An id that is not one of the plan's lines is answered with 404 by the view.

    def validate_on(self, field: DateInputField) -> None:
        problem = budget.period_problem(self.plan, field.data) if field.data else None
        if problem:
            raise ValidationError(problem)


class _Checkboxes(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class LineForm(FlaskForm):
    """A budget line's wording, amount, how often, category and the outcomes it serves."""

    what = text(
        "What it pays for",
        max_length=200,
        required_message="Enter what this part of the budget pays for",
    )
    category = RadioField(
        "What kind of cost is it?",
        choices=[(c.value, c.label) for c in LineCategory],
        validate_choice=False,
    )
    amount = AmountField("Planned amount", description="In pounds, for example 250")
    period = RadioField(
        "How often?",
        choices=[(p.value, p.label) for p in LinePeriod],
        validate_choice=False,
    )
    due_on = DateInputField("When is the one-off cost due?", what="the date it is due")
    goal_ids = _Checkboxes("Which outcomes does it help with? (optional)", validate_choice=False)

    def __init__(self, *args, goals: list[tuple[str, str]], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.goal_ids.choices = goals

    def validate_category(self, field: RadioField) -> None:
        if field.data not in {c.value for c in LineCategory}:
            raise ValidationError("Select what kind of cost it is")

    def validate_period(self, field: RadioField) -> None:
        if field.data not in {p.value for p in LinePeriod}:
            raise ValidationError("Select how often the amount is planned")

    def validate_due_on(self, field: DateInputField) -> None:
        if self.period.data == LinePeriod.ONE_OFF.value and field.data is None:
            raise ValidationError("Enter the date the one-off cost is due")

    def validate_goal_ids(self, field: SelectMultipleField) -> None:
        known = {value for value, _ in field.choices}
        if any(goal_id not in known for goal_id in field.data or []):
            raise ValidationError("Select outcomes from the plan")


class StatementForm(FlaskForm):
    """The period a statement covers, sent as a GET query so the page can be bookmarked."""

    class Meta:
        csrf = False

    first = DateInputField("From", what="the first day", required=True)
    last = DateInputField("To", what="the last day", required=True)

    def validate_last(self, field: DateInputField) -> None:
        first: date | None = self.first.data
        if first and field.data and field.data < first:
            raise ValidationError("The last day must be the same as or after the first day")
