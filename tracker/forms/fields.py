"""Fields shared by several forms: NHS-style date input, scores, and trimmed text."""

from __future__ import annotations

from datetime import date

from wtforms import Field, IntegerField, StringField, TextAreaField
from wtforms.validators import Length, StopValidation, ValidationError

PARTS = ("day", "month", "year")


class DateInputField(Field):
    """Day, month and year boxes (the NHS date input), read from ``name[day]`` and so on.

    ``what`` names the date in messages: "Enter the date the plan started".
    ``past``: True means it must not be in the future, False that it must not be
    in the past, None allows either.
    """

    def __init__(
        self,
        label: str = "",
        validators=None,
        *,
        what: str,
        required: bool = False,
        past: bool | None = None,
        **kwargs,
    ) -> None:
        super().__init__(label, validators, **kwargs)
        self.what = what
        self.required = required
        self.past = past
        self.raw: dict[str, str] = {p: "" for p in PARTS}

    def process(self, formdata, data=None, extra_filters=None) -> None:  # type: ignore[override]
        self.process_errors = []
        self.data = data if isinstance(data, date) else None
        if isinstance(self.data, date):
            self.raw = {
                "day": str(self.data.day),
                "month": str(self.data.month),
                "year": str(self.data.year),
            }
        if formdata is not None and any(f"{self.name}[{p}]" in formdata for p in PARTS):
            self.raw = {p: str(formdata.get(f"{self.name}[{p}]", "")).strip()[:10] for p in PARTS}
            self.data = None
            if all(self.raw.values()):
                try:
                    self.data = date(
                        int(self.raw["year"]), int(self.raw["month"]), int(self.raw["day"])
                    )
                except (ValueError, OverflowError):
                    self.data = None

    def pre_validate(self, form) -> None:
        what = self.what
        filled = [p for p in PARTS if self.raw.get(p)]
        if not filled:
            if self.required:
                raise StopValidation(f"Enter {what}")
            self.data = None
            return
        missing = [p for p in PARTS if not self.raw.get(p)]
        if missing:
            raise StopValidation(f"{what[0].upper()}{what[1:]} must include a {missing[0]}")
        if not all(self.raw[p].isdigit() for p in PARTS) or len(self.raw["year"]) != 4:
            if self.raw["year"].isdigit() and len(self.raw["year"]) != 4:
                raise StopValidation("Year must include 4 numbers")
            raise StopValidation(f"{what[0].upper()}{what[1:]} must be a real date")
        if self.data is None or not 1900 <= self.data.year <= 2100:
            raise StopValidation(f"{what[0].upper()}{what[1:]} must be a real date")
        # The past/future rule is part of validating the field, so it is reported
        # alongside every other problem on the form, not only once the rest is right.
        from ..clock import today

        message = self._timing_problem(today())
        if message:
            raise StopValidation(message)

    def check_timing(self, today: date) -> None:
        """Apply the past/future rule against ``today`` (UK date).

        Validation already does this with ``clock.today()``; calling it again after
        a successful validation adds nothing, so existing callers are safe.
        """
        message = self._timing_problem(today)
        if message and message not in self.errors:
            self.errors = [*self.errors, message]

    def _timing_problem(self, today: date) -> str | None:
        if self.data is None or self.past is None:
            return None
        if self.past and self.data > today:
            return f"{self.what[0].upper()}{self.what[1:]} must be today or in the past"
        if self.past is False and self.data < today:
            return f"{self.what[0].upper()}{self.what[1:]} must be today or in the future"
        return None


class ScoreField(IntegerField):
    """A whole number from 1 to 10, with a message in plain English for anything else."""

    def __init__(
        self,
        label: str = "",
        validators=None,
        *,
        what: str,
        required: bool = False,
        low: int = 1,
        high: int = 10,
        **kwargs,
    ) -> None:
        super().__init__(label, validators, **kwargs)
        self.what, self.required, self.low, self.high = what, required, low, high
        self.bad_input = False

    def process_formdata(self, valuelist) -> None:
        self.bad_input = False
        self.data = None
        raw = (valuelist[0] if valuelist else "").strip()
        if not raw:
            return
        if raw.isascii() and raw.isdigit() and len(raw) <= len(str(self.high)):
            self.data = int(raw)
        else:
            self.bad_input = True

    def pre_validate(self, form) -> None:
        message = f"{_cap(self.what)} must be a whole number from {self.low} to {self.high}"
        if self.bad_input:
            raise StopValidation(message)
        if self.data is None:
            if self.required:
                raise StopValidation(f"Enter {self.what}")
            return
        if not self.low <= self.data <= self.high:
            raise StopValidation(message)


def text(
    label: str,
    *,
    max_length: int,
    required_message: str | None = None,
    description: str = "",
    area: bool = False,
    name: str | None = None,
) -> Field:
    """A trimmed text field with a length limit (and optionally required).

    ``name`` is what messages call the field ("Your note must be …") when the
    label is a question; by default it is the label without "(optional)" or "?".
    """
    cls = TextAreaField if area else StringField
    validators = [
        Length(
            max=max_length,
            message=f"{name or _short(label)} must be {max_length:,} characters or fewer",
        )
    ]
    if required_message:
        validators.insert(0, _NotBlank(required_message))
    return cls(
        label,
        validators=validators,
        description=description,
        filters=[lambda v: v.strip() if isinstance(v, str) else v],
    )


class _NotBlank:
    def __init__(self, message: str) -> None:
        self.message = message
        self.field_flags = {"required": True}

    def __call__(self, form, field) -> None:
        if not (field.data or "").strip():
            raise StopValidation(self.message)


__all__ = ["DateInputField", "ScoreField", "ValidationError", "text"]


class MoneyField(StringField):
    """Pounds and pence as ``Decimal`` ("1,250.50", "£1250.5"): positive, 2 places at most."""

    MAX = 10_000_000

    def __init__(
        self, label: str = "", validators=None, *, what: str, required: bool = False, **kwargs
    ) -> None:
        super().__init__(label, validators, **kwargs)
        self.what, self.required = what, required
        self.raw = ""

    def process_formdata(self, valuelist) -> None:
        self.raw = (valuelist[0] if valuelist else "").strip()[:40]
        self.data = None

    def _value(self) -> str:
        if self.raw:
            return self.raw
        return f"{self.data:.2f}" if self.data is not None else ""

    def pre_validate(self, form) -> None:
        import re
        from decimal import Decimal

        cleaned = self.raw.replace("£", "").replace(",", "").strip()
        if not cleaned:
            if self.required:
                raise StopValidation(f"Enter {self.what}")
            self.data = None
            return
        if not re.fullmatch(r"\d{1,8}(\.\d{1,2})?", cleaned):
            raise StopValidation(
                f"{self.what[0].upper()}{self.what[1:]} must be an amount in pounds, like 125.50"
            )
        amount = Decimal(cleaned)
        if amount <= 0 or amount > self.MAX:
            raise StopValidation(
                f"{self.what[0].upper()}{self.what[1:]} must be more than £0 and no more than "
                f"£{self.MAX:,}"
            )
        self.data = amount


def _cap(what: str) -> str:
    return what[:1].upper() + what[1:]


def _short(label: str) -> str:
    """A label without its "(optional)" and question mark, for messages."""
    return label.replace(" (optional)", "").rstrip("?")


class NumberField(StringField):
    """A decimal number typed by a person: "72.5", "-3", "8". Never NaN, infinity or 1e309."""

    PATTERN = r"-?\d{1,7}(\.\d{1,3})?"

    def __init__(
        self, label: str = "", validators=None, *, what: str, required: bool = False, **kwargs
    ) -> None:
        super().__init__(label, validators, **kwargs)
        self.what, self.required = what, required
        self.raw = ""

    def process_formdata(self, valuelist) -> None:
        self.raw = (valuelist[0] if valuelist else "").strip()[:40]
        self.data = None

    def process_data(self, value) -> None:
        self.data = value
        self.raw = (
            "" if value is None else (str(int(value)) if float(value).is_integer() else str(value))
        )

    def _value(self) -> str:
        return self.raw

    def pre_validate(self, form) -> None:
        import re

        if not self.raw:
            if self.required:
                raise StopValidation(f"Enter {self.what}")
            self.data = None
            return
        if not re.fullmatch(self.PATTERN, self.raw):
            raise StopValidation(f"{_cap(self.what)} must be a number, like 72.5")
        self.data = float(self.raw)


class WhenField(StringField):
    """A date and time from ``<input type="datetime-local">``, read as UK time.

    Empty means now. It cannot be more than 5 minutes in the future, or before 2000.
    """

    def __init__(self, label: str = "When", validators=None, **kwargs) -> None:
        super().__init__(label, validators, **kwargs)
        self.raw = ""

    def process_formdata(self, valuelist) -> None:
        self.raw = (valuelist[0] if valuelist else "").strip()[:40]
        self.data = None

    def process_data(self, value) -> None:
        from ..clock import LONDON

        self.data = value
        self.raw = value.astimezone(LONDON).strftime("%Y-%m-%dT%H:%M") if value else ""

    def _value(self) -> str:
        return self.raw

    def pre_validate(self, form) -> None:
        from datetime import datetime, timedelta

        from .. import clock

        if not self.raw:
            self.data = clock.now()
            return
        try:
            local = datetime.strptime(self.raw[:16], "%Y-%m-%dT%H:%M")
        except ValueError:
            raise StopValidation("Enter a date and time, like 23/11/2026 14:30") from None
        when = local.replace(tzinfo=clock.LONDON)
        if when.year < 2000:
            raise StopValidation("The date must be in the year 2000 or later")
        if when > clock.now() + timedelta(minutes=5):
            raise StopValidation("The time cannot be in the future")
        self.data = when
