"""Forms on the "Your data" page: what the calendar feed shows, and confirming a new link."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import RadioField
from wtforms.validators import ValidationError

WORDING_CHOICES = [
    ("no", 'No, just say "Care plan action"'),
    ("yes", "Yes, show what each action is"),
]


class CalendarWordingForm(FlaskForm):
    """Whether calendar events show the action's wording (off unless the person chooses)."""

    wording = RadioField(
        "Should your calendar show what each action is?",
        choices=WORDING_CHOICES,
        validate_choice=False,
        description=(
            "Anyone who can see your calendar, or your phone's lock screen, would see it. "
            "Nothing else from your plan is ever in the calendar."
        ),
    )

    def validate_wording(self, field) -> None:
        if field.data not in {value for value, _ in WORDING_CHOICES}:
            raise ValidationError("Select whether your calendar should show what each action is")

    @property
    def include_wording(self) -> bool:
        return self.wording.data == "yes"


class CalendarLinkForm(FlaskForm):
    """Start, reset or stop the calendar link: the form carries only its CSRF token."""
