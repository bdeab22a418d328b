"""Forms for the plan's sections, contacts, budget, review arrangements and sign-off."""

from __future__ import annotations

import re

from flask_wtf import FlaskForm
from wtforms import EmailField, RadioField
from wtforms.validators import Email, Length, Optional, ValidationError

from ..plans import GROUPS, MAX_TEXT, BudgetHeld, ContactRole
from .fields import DateInputField, MoneyField, ScoreField, text


def sections_form(group: str) -> type[FlaskForm]:
    """A form with one text area for each section of a plan heading."""
    _, sections = GROUPS[group]
    fields = {
        s.key: text(s.title, max_length=MAX_TEXT, description=s.hint, area=True) for s in sections
    }
    return type(f"SectionsForm_{group}", (FlaskForm,), fields)


class ReviewForm(FlaskForm):
    start_date = DateInputField(
        "When did the plan start?", what="the date the plan started", past=True
    )
    next_review = DateInputField("When is the next review?", what="the date of the next review")
    interval = ScoreField(
        "How often is the plan reviewed, in months?",
        what="how often the plan is reviewed",
        low=1,
        high=12,
        required=True,
        description="At least once a year. More often if health changes quickly.",
    )


class SignOffForm(FlaskForm):
    signed_off_on = DateInputField(
        "When was the plan signed off?", what="the date the plan was signed off", past=True
    )
    signed_off_by = text(
        "Who signed it off?",
        max_length=200,
        description="For example, a name and role on behalf of the local NHS.",
    )


_PHONE = re.compile(r"^\+?[0-9 ()-]{6,20}$")


class ContactForm(FlaskForm):
    name = text("Name", max_length=100, required_message="Enter the contact's name")
    role = RadioField(
        "Who are they?",
        choices=[(r.value, r.label) for r in ContactRole],
        # Checked by validate_role, with a message in plain English.
        validate_choice=False,
    )
    detail = text(
        "What they do (optional)",
        max_length=100,
        description="For example, respiratory nurse or GP surgery.",
    )
    phone = text("Phone number (optional)", max_length=20)
    email = EmailField(
        "Email address (optional)",
        validators=[
            Optional(),
            Length(max=254, message="Email address must be 254 characters or fewer"),
            Email(
                "Enter an email address in the correct format, like name@example.com",
                check_deliverability=False,
            ),
        ],
    )

    def validate_role(self, field: RadioField) -> None:
        if field.data not in {r.value for r in ContactRole}:
            raise ValidationError("Select who they are")

    def validate_phone(self, field) -> None:
        if field.data and not _PHONE.match(field.data):
            raise ValidationError("Enter a phone number, like 01632 960 001 or 07700 900 982")


class BudgetForm(FlaskForm):
    total = MoneyField("Total budget for the year (optional)", what="the total budget")
    held = RadioField(
        "How is the budget held? (optional)",
        choices=[(h.value, h.label) for h in BudgetHeld],
        validate_choice=False,
    )

    def validate_held(self, field: RadioField) -> None:
        if field.data and field.data not in {h.value for h in BudgetHeld}:
            raise ValidationError("Select how the budget is held")


class BudgetLineForm(FlaskForm):
    what = text(
        "What it pays for",
        max_length=200,
        required_message="Enter what this part of the budget pays for",
    )
    amount = MoneyField("Amount for the year", what="the amount", required=True)
