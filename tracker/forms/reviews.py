"""Forms for reviews: recording one, asking for an early one, answering, and review notes."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import RadioField
from wtforms.validators import ValidationError

from ..reviews import Reason, Urgency
from .fields import DateInputField, text


class RecordReviewForm(FlaskForm):
    held_on = DateInputField(
        "When was the review held?", what="the date of the review", required=True, past=True
    )
    participants = text(
        "Who took part?",
        max_length=500,
        required_message="Enter who took part in the review",
        description="For example, Sam, Alex (carer), Jo Brown (care coordinator).",
    )
    agreed = text(
        "What was agreed?", max_length=4000, required_message="Enter what was agreed", area=True
    )
    next_review = DateInputField(
        "When is the next review? (optional)", what="the date of the next review", past=False
    )


class RequestForm(FlaskForm):
    reason = RadioField(
        "Why do you want an early review?",
        choices=[(r.value, r.label) for r in Reason],
        validate_choice=False,
    )
    what_changed = text(
        "What has changed?", max_length=2000, required_message="Say what has changed", area=True
    )
    urgency = RadioField(
        "How soon would you like it?",
        choices=[(u.value, u.label) for u in Urgency],
        validate_choice=False,
    )

    def validate_reason(self, field) -> None:
        if field.data not in {r.value for r in Reason}:
            raise ValidationError("Select why you want an early review")

    def validate_urgency(self, field) -> None:
        if field.data not in {u.value for u in Urgency}:
            raise ValidationError("Select how soon you would like the review")


class ScheduleForm(FlaskForm):
    review_on = DateInputField(
        "Date of the review", what="the date of the review", required=True, past=False
    )
    note = text("Message to the person (optional)", max_length=1000, area=True)


class AnswerForm(FlaskForm):
    reply = text(
        "Your reply",
        max_length=2000,
        required_message="Enter your reply, with the reason",
        area=True,
        description="For example, why an early review is not needed now, and what "
        "will happen instead.",
    )


class NoteForm(FlaskForm):
    kind = RadioField(
        "Is this a note or a question?",
        choices=[
            ("note", "A note about what needs to change"),
            ("question", "A question I want to ask at the review"),
        ],
        validate_choice=False,
    )
    text = text(
        "Your note or question",
        max_length=1000,
        required_message="Write your note or question",
        area=True,
    )

    def validate_kind(self, field) -> None:
        if field.data not in {"note", "question"}:
            raise ValidationError("Select note or question")
