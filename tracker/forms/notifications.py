"""The notification preferences form."""

from __future__ import annotations

import re
from zoneinfo import available_timezones

from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, SelectMultipleField
from wtforms.validators import ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from ..notifications import CHOOSABLE
from .fields import ScoreField, text

_TIME = re.compile(r"^([01]?\d|2[0-3]):[0-5]\d$")
COMMON_ZONES = [
    "Europe/London",
    "Europe/Dublin",
    "Europe/Paris",
    "Europe/Madrid",
    "Europe/Berlin",
    "America/New_York",
    "Asia/Kolkata",
    "Australia/Sydney",
    "UTC",
]


def _time_check(field, *, required: bool = False) -> None:
    if not field.data:
        if required:
            raise ValidationError(f"Enter a time for {field.label.text.lower()}, like 09:00")
        return
    if not _TIME.match(field.data):
        raise ValidationError("Enter a time in hours and minutes, like 21:30")


class PreferencesForm(FlaskForm):
    kinds = SelectMultipleField(
        "Remind me about",
        choices=[(k.value, k.label) for k in CHOOSABLE],
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        validate_choice=False,
    )
    checkin_at = text(
        "Daily check-in time (optional)",
        max_length=5,
        description="For example, 19:00. Leave empty for no daily check-in.",
    )
    actions_at = text("Time for reminders about actions with no set time", max_length=5)
    lead_minutes = ScoreField(
        "Minutes before an action with a set time",
        what="the minutes",
        low=0,
        high=240,
        required=True,
    )
    quiet_start = text(
        "Quiet hours start (optional)", max_length=5, description="For example, 22:00."
    )
    quiet_end = text("Quiet hours end (optional)", max_length=5, description="For example, 07:00.")
    timezone = SelectField(
        "Time zone", choices=[(z, z) for z in COMMON_ZONES], validate_choice=False
    )
    details = BooleanField(
        "Show what a reminder is about on my lock screen, such as the action's wording"
    )

    def validate_kinds(self, field) -> None:
        allowed = {k.value for k in CHOOSABLE}
        if any(k not in allowed for k in field.data or []):
            raise ValidationError("Select kinds of reminder from the list")

    def validate_checkin_at(self, field) -> None:
        _time_check(field)

    def validate_actions_at(self, field) -> None:
        _time_check(field, required=True)

    def validate_quiet_start(self, field) -> None:
        _time_check(field)
        if bool(field.data) != bool(self.quiet_end.data):
            raise ValidationError("Enter both times for quiet hours, or neither")

    def validate_quiet_end(self, field) -> None:
        _time_check(field)

    def validate_timezone(self, field) -> None:
        if field.data not in available_timezones() and field.data != "UTC":
            raise ValidationError("Select a time zone from the list")
