"""Forms for actions ("who will do what and when") and for marking an occurrence."""

from __future__ import annotations

import re

from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, SelectField, SelectMultipleField
from wtforms.validators import ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from ..actions import MAX_TEXT, MAX_WHAT, OWNER_LABELS, Outcome, Owner, Repeat
from .fields import DateInputField, ScoreField, text

WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
REPEAT_LABELS = {
    Repeat.ONCE: "Once, on one day",
    Repeat.DAILY: "Every day",
    Repeat.WEEKLY: "Every week, or every few weeks, on chosen days",
    Repeat.MONTHLY: "Every month, on the same date",
}
_TIME = re.compile(r"^([01]?\d|2[0-3]):[0-5]\d$")


class ActionForm(FlaskForm):
    goal_id = SelectField("Which goal is this for?", choices=[], validate_choice=False)
    what = text(
        "What will be done?",
        max_length=MAX_WHAT,
        required_message="Enter what will be done",
        description="For example, join a weekly walking group.",
        area=True,
    )
    owner = RadioField(
        "Who will do it?",
        choices=[(o.value, OWNER_LABELS[o]) for o in Owner],
        validate_choice=False,
    )
    carer_id = SelectField("Which carer?", choices=[], validate_choice=False)
    owner_name = text(
        "Name of the person or service",
        max_length=100,
        description="For example, community physiotherapy.",
    )
    repeat = RadioField(
        "When?", choices=[(r.value, REPEAT_LABELS[r]) for r in Repeat], validate_choice=False
    )
    start = DateInputField("Date, or first date", what="the date", required=True)
    weekdays = SelectMultipleField(
        "On which days?",
        choices=[(str(i), d) for i, d in enumerate(WEEKDAYS)],
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        validate_choice=False,
    )
    interval = ScoreField(
        "Every how many weeks?",
        what="how many weeks",
        low=1,
        high=52,
        description="1 for every week, 2 for every other week.",
    )
    until = DateInputField("Last date (optional)", what="the last date")
    at = text("Time (optional)", max_length=5, description="For example, 14:30.", name="Time")
    confidence = ScoreField(
        "How confident are you that you can do this, from 1 to 10? (optional)",
        what="confidence",
        description="1 is not at all confident, 10 is completely confident.",
    )
    support_needed = text(
        "What support is needed? (optional)",
        max_length=MAX_TEXT,
        area=True,
        name="The support needed",
    )
    barriers = text(
        "What might get in the way? (optional)",
        max_length=MAX_TEXT,
        area=True,
        name="What might get in the way",
    )
    strategies = text(
        "What could help with that? (optional)",
        max_length=MAX_TEXT,
        area=True,
        name="What could help",
    )

    def validate_goal_id(self, field: SelectField) -> None:
        if field.data not in {value for value, _ in field.choices}:
            raise ValidationError("Select which goal this action is for")

    def validate_owner(self, field: RadioField) -> None:
        if field.data not in {o.value for o in Owner}:
            raise ValidationError("Select who will do it")

    def validate_carer_id(self, field: SelectField) -> None:
        if (
            self.owner.data == Owner.CARER.value
            and field.data
            and field.data not in {value for value, _ in field.choices}
        ):
            raise ValidationError("Select which carer")

    def validate_owner_name(self, field) -> None:
        if self.owner.data == Owner.OTHER.value and not field.data:
            raise ValidationError("Enter the name of the person or service")

    def validate_repeat(self, field: RadioField) -> None:
        if field.data not in {r.value for r in Repeat}:
            raise ValidationError("Select when the action happens")

    def validate_weekdays(self, field: SelectMultipleField) -> None:
        if any(d not in {str(i) for i in range(7)} for d in field.data or []):
            raise ValidationError("Select days of the week from the list")

    def validate_until(self, field: DateInputField) -> None:
        if field.data and self.start.data and field.data < self.start.data:
            raise ValidationError("The last date must be the same as or after the first date")

    def validate_at(self, field) -> None:
        if field.data and not _TIME.match(field.data):
            raise ValidationError("Enter a time in hours and minutes, like 14:30")


class MarkForm(FlaskForm):
    outcome = RadioField(
        "How did it go?", choices=[(o.value, o.label) for o in Outcome], validate_choice=False
    )
    day = HiddenField()
    note = text("Add a note (optional)", max_length=500, area=True, name="Your note")

    def validate_outcome(self, field: RadioField) -> None:
        if field.data not in {o.value for o in Outcome}:
            raise ValidationError("Select done, missed or skipped")
