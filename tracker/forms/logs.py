"""Forms for logging: mood, wellbeing, symptom readings, trackers, diary, support and events."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import RadioField, SelectField, SelectMultipleField
from wtforms.validators import ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from ..logs import (
    MAX_DIARY,
    MAX_NOTE,
    MOOD_WORDS,
    ONS4_QUESTIONS,
    DiaryMark,
    EventType,
    MissedReason,
    SupportKind,
)
from ..trackers import RuleKind, TrackerKind
from .fields import NumberField, ScoreField, WhenField, text


def _one_of(field, allowed: set[str], message: str, *, optional: bool = False) -> None:
    if optional and not field.data:
        return
    if field.data not in allowed:
        raise ValidationError(message)


class MoodForm(FlaskForm):
    score = RadioField(
        "How are you feeling?",
        choices=[(str(k), v) for k, v in MOOD_WORDS.items()],
        validate_choice=False,
    )
    note = text("Anything to add? (optional)", max_length=MAX_NOTE, area=True)

    def validate_score(self, field) -> None:
        _one_of(field, {str(k) for k in MOOD_WORDS}, "Select how you are feeling")


def wellbeing_form() -> type[FlaskForm]:
    fields = {
        key: ScoreField(
            question,
            what="an answer",
            low=0,
            high=10,
            required=True,
            description="0 is 'not at all', 10 is 'completely'.",
        )
        for key, question in ONS4_QUESTIONS
    }
    return type("WellbeingForm", (FlaskForm,), fields)


class ReadingForm(FlaskForm):
    value = NumberField("Reading", what="the reading")
    answer = RadioField("Answer", choices=[("1", "Yes"), ("0", "No")], validate_choice=False)
    when = WhenField("When (optional)", description="Leave empty for now.")
    note = text("Note (optional)", max_length=MAX_NOTE)


class TrackerForm(FlaskForm):
    name = text(
        "Name",
        max_length=60,
        required_message="Enter a name for the tracker",
        description="For example, pain, breathlessness, sleep or weight.",
    )
    kind = RadioField(
        "What kind of reading?",
        choices=[(k.value, k.label) for k in TrackerKind],
        validate_choice=False,
    )
    unit = text("Unit (optional)", max_length=20, description="For example, kg or hours.")
    low_label = text(
        "What does 0 mean? (optional)", max_length=40, description="For example, no pain."
    )
    high_label = text(
        "What does 10 mean? (optional)",
        max_length=40,
        description="For example, worst pain imaginable.",
    )
    target_min = NumberField("Lowest you would like (optional)", what="the lowest target")
    target_max = NumberField("Highest you would like (optional)", what="the highest target")
    rule_kind = RadioField(
        "Early warning sign from your plan (optional)",
        choices=[
            ("", "None"),
            (RuleKind.AT_LEAST_FOR_DAYS.value, "A value or more for some days in a row"),
            (RuleKind.RISE_WITHIN_DAYS.value, "Goes up by more than an amount within some days"),
            (RuleKind.ANY_YES.value, 'Any "yes"'),
        ],
        validate_choice=False,
    )
    rule_value = NumberField("Value or amount", what="the value")
    rule_days = ScoreField("Number of days", what="the number of days", low=1, high=14)

    def validate_kind(self, field) -> None:
        _one_of(field, {k.value for k in TrackerKind}, "Select what kind of reading it is")

    def validate_target_max(self, field) -> None:
        if (
            field.data is not None
            and self.target_min.data is not None
            and (self.target_min.data > field.data)
        ):
            raise ValidationError("The highest target must be the same as or more than the lowest")

    def validate_rule_kind(self, field) -> None:
        _one_of(field, {r.value for r in RuleKind}, "Select an early warning sign", optional=True)
        if field.data == RuleKind.ANY_YES.value and self.kind.data != TrackerKind.YES_NO.value:
            raise ValidationError('"Any yes" only works with a yes or no tracker')

    def validate_rule_value(self, field) -> None:
        if (
            self.rule_kind.data
            in {RuleKind.AT_LEAST_FOR_DAYS.value, RuleKind.RISE_WITHIN_DAYS.value}
            and field.data is None
        ):
            raise ValidationError("Enter the value for the early warning sign")

    def validate_rule_days(self, field) -> None:
        if (
            self.rule_kind.data
            in {RuleKind.AT_LEAST_FOR_DAYS.value, RuleKind.RISE_WITHIN_DAYS.value}
            and field.data is None
        ):
            raise ValidationError("Enter the number of days for the early warning sign")


class DiaryForm(FlaskForm):
    text = text(
        "What happened?",
        max_length=MAX_DIARY,
        required_message="Write something in your diary entry",
        area=True,
    )
    when = WhenField(
        "When (optional)", description="Leave empty for now. You can fill in past days."
    )
    mark = RadioField(
        "Is this something that is working, or not working? (optional)",
        choices=[
            ("", "Neither"),
            (DiaryMark.WORKING.value, "Working"),
            (DiaryMark.NOT_WORKING.value, "Not working"),
        ],
        validate_choice=False,
    )
    goal_id = SelectField(
        "Is it about one of your goals? (optional)", choices=[], validate_choice=False
    )

    def validate_mark(self, field) -> None:
        _one_of(
            field,
            {m.value for m in DiaryMark},
            "Select working, not working or neither",
            optional=True,
        )

    def validate_goal_id(self, field) -> None:
        _one_of(
            field, {v for v, _ in field.choices if v}, "Select a goal from the list", optional=True
        )


class SupportForm(FlaskForm):
    kind = RadioField(
        "What do you want to record?",
        choices=[
            (SupportKind.GIVEN.value, "Support I gave"),
            (SupportKind.MISSED.value, "Support that was planned but missed"),
            (SupportKind.OBSERVATION.value, "Something I noticed"),
        ],
        validate_choice=False,
    )
    what = text(
        "What was it?",
        max_length=MAX_NOTE,
        required_message="Enter what the support was",
        area=True,
    )
    when = WhenField("When (optional)", description="Leave empty for now.")
    minutes = ScoreField(
        "How long did it take, in minutes? (optional)", what="how long it took", low=1, high=1440
    )
    action_id = SelectField(
        "Which action in the plan did it serve? (optional)", choices=[], validate_choice=False
    )
    reason = RadioField(
        "Why was it missed?",
        choices=[(r.value, r.label) for r in MissedReason],
        validate_choice=False,
    )
    reason_text = text("What was the reason?", max_length=200)

    def validate_kind(self, field) -> None:
        _one_of(field, {k.value for k in SupportKind}, "Select what you want to record")

    def validate_action_id(self, field) -> None:
        _one_of(
            field,
            {v for v, _ in field.choices if v},
            "Select an action from the list",
            optional=True,
        )

    def validate_reason(self, field) -> None:
        if self.kind.data == SupportKind.MISSED.value:
            _one_of(field, {r.value for r in MissedReason}, "Select why the support was missed")

    def validate_reason_text(self, field) -> None:
        if (
            self.kind.data == SupportKind.MISSED.value
            and self.reason.data == MissedReason.OTHER.value
            and not field.data
        ):
            raise ValidationError("Enter the reason the support was missed")


class EventForm(FlaskForm):
    event = RadioField(
        "What happened?", choices=[(e.value, e.label) for e in EventType], validate_choice=False
    )
    when = WhenField("When (optional)", description="Leave empty for now.")
    note = text("Notes (optional)", max_length=MAX_NOTE, area=True)

    def validate_event(self, field) -> None:
        _one_of(field, {e.value for e in EventType}, "Select what happened")


class ShareEntryForm(FlaskForm):
    members = SelectMultipleField(
        "Who can see this entry?",
        choices=[],
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        validate_choice=False,
    )

    def validate_members(self, field) -> None:
        allowed = {v for v, _ in field.choices}
        if any(m not in allowed for m in field.data or []):
            raise ValidationError("Select people from the list")
