"""The form that confirms someone wants their account deleted."""

from __future__ import annotations

from wtforms import BooleanField
from wtforms.validators import DataRequired

from .deletion import DeleteRecordForm


class DeleteAccountForm(DeleteRecordForm):
    """The record deletion form's password check (a fresh sign-in), with its own "I understand"."""

    understood = BooleanField(
        "I understand that my account will be deleted and cannot be got back",
        validators=[DataRequired("Tick the box to confirm you understand this cannot be undone")],
    )
