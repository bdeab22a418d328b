"""Forms for sharing, invitations and starting a record."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from ..roles import CATEGORY_LABELS


class CategoriesForm(FlaskForm):
    categories = SelectMultipleField(
        "What they can see",
        choices=[(c.value, label) for c, label in CATEGORY_LABELS.items()],
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        validate_choice=True,
    )


class InviteForm(FlaskForm):
    label = StringField(
        "Who is this invitation for?",
        description="For example, their name. Only you will see this.",
        validators=[
            DataRequired("Enter who the invitation is for"),
            Length(max=100, message="This must be 100 characters or fewer"),
        ],
    )

    def validate_label(self, field: StringField) -> None:
        if not field.data.strip():
            raise ValidationError("Enter who the invitation is for")


class NewRecordForm(FlaskForm):
    name = StringField(
        "Full name of the person the plan is for",
        validators=[
            DataRequired("Enter the person's full name"),
            Length(max=100, message="Name must be 100 characters or fewer"),
        ],
    )
    acting_for = StringField(
        "If someone acts for them, who? (optional)",
        description="For example, a parent acting for a child, or a deputy. The plan says who.",
        validators=[Optional(), Length(max=100, message="This must be 100 characters or fewer")],
    )

    def validate_name(self, field: StringField) -> None:
        if not field.data.strip():
            raise ValidationError("Enter the person's full name")
