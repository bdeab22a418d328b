"""Sign-in, sign-up and password forms."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length, ValidationError

from ..accounts import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH

EMAIL_FORMAT = "Enter an email address in the correct format, like name@example.com"


def _email_field(label: str = "Email address") -> EmailField:
    return EmailField(
        label,
        validators=[
            DataRequired("Enter your email address"),
            Length(max=254, message="Email address must be 254 characters or fewer"),
            Email(EMAIL_FORMAT, check_deliverability=False),
        ],
    )


def _new_password_field(label: str = "Create a password") -> PasswordField:
    return PasswordField(
        label,
        validators=[
            DataRequired("Enter a password"),
            Length(
                min=MIN_PASSWORD_LENGTH,
                message=f"Password must be {MIN_PASSWORD_LENGTH} characters or more",
            ),
            Length(
                max=MAX_PASSWORD_LENGTH,
                message=f"Password must be {MAX_PASSWORD_LENGTH} characters or fewer",
            ),
        ],
    )


class SignInForm(FlaskForm):
    email = _email_field()
    password = PasswordField(
        "Password",
        validators=[
            DataRequired("Enter your password"),
            Length(max=MAX_PASSWORD_LENGTH, message="Enter your password"),
        ],
    )
    remember = BooleanField("Keep me signed in on this phone for 30 days")


class SignUpForm(FlaskForm):
    name = StringField(
        "Your name",
        validators=[
            DataRequired("Enter your name"),
            Length(max=100, message="Name must be 100 characters or fewer"),
        ],
    )
    email = _email_field()
    password = _new_password_field()
    confirm = PasswordField(
        "Type your password again",
        validators=[
            DataRequired("Type your password again"),
            EqualTo("password", "Passwords must match"),
        ],
    )

    def validate_name(self, field: StringField) -> None:
        if not field.data.strip():
            raise ValidationError("Enter your name")


class ConfirmPasswordForm(FlaskForm):
    password = PasswordField(
        "Password",
        validators=[
            DataRequired("Enter your password"),
            Length(max=MAX_PASSWORD_LENGTH, message="Enter your password"),
        ],
    )


class ChangePasswordForm(FlaskForm):
    current = PasswordField(
        "Current password",
        validators=[
            DataRequired("Enter your current password"),
            Length(max=MAX_PASSWORD_LENGTH, message="Enter your current password"),
        ],
    )
    password = _new_password_field("New password")
    confirm = PasswordField(
        "Type your new password again",
        validators=[
            DataRequired("Type your new password again"),
            EqualTo("password", "Passwords must match"),
        ],
    )
