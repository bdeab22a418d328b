"""Forms for goals: what the goal is, a change of status, a progress note."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import RadioField
from wtforms.validators import ValidationError

from ..goals import MAX_OUTCOME, MAX_TEXT, GoalStatus
from .fields import ScoreField, text


class GoalForm(FlaskForm):
    outcome = text(
        "What do you want to achieve?",
        max_length=MAX_OUTCOME,
        required_message="Enter what you want to achieve",
        name="What you want to achieve",
        description="In your own words. Say what, not how. "
        "For example, to be able to use the stairs without help.",
        area=True,
    )
    need = text(
        "What need does this answer? (optional)",
        max_length=MAX_TEXT,
        area=True,
        name="The need it answers",
    )
    measure = text(
        "How will you know it is working? (optional)",
        max_length=MAX_TEXT,
        description="For example, I can do it 3 times a week.",
        area=True,
        name="How you will know it is working",
    )
    importance = ScoreField(
        "How important is this goal to you, from 1 to 10? (optional)",
        what="importance",
        description="1 is not very important, 10 is very important.",
    )


class StatusForm(FlaskForm):
    status = RadioField(
        "How is this goal going?",
        choices=[(s.value, s.label) for s in GoalStatus],
        validate_choice=False,
    )
    note = text("Add a note (optional)", max_length=MAX_TEXT, area=True, name="Your note")

    def validate_status(self, field: RadioField) -> None:
        if field.data not in {s.value for s in GoalStatus}:
            raise ValidationError("Select how this goal is going")


class NoteForm(FlaskForm):
    text = text(
        "Progress note", max_length=MAX_TEXT, required_message="Enter a progress note", area=True
    )
