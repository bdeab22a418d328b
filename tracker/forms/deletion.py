"""The form that confirms a person wants their record deleted."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField
from wtforms.validators import DataRequired, Length

from ..accounts import MAX_PASSWORD_LENGTH


class DeleteRecordForm(FlaskForm):
    """Asks for the password again (a fresh sign-in) and an explicit "I understand"."""

    understood = BooleanField(
        "I understand that my record will be deleted and cannot be got back",
        validators=[DataRequired("Tick the box to confirm you understand this cannot be undone")],
    )
    password = PasswordField(
        "Your password",
        validators=[
            DataRequired("Enter your password"),
            Length(max=MAX_PASSWORD_LENGTH, message="Enter your password"),
        ],
    )
