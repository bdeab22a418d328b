"""One place for "now", so tests can travel in time. Days are UK days."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")


def now() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


def today() -> date:
    """Today's date in the UK (Europe/London), where the plan's days are counted."""
    return now().astimezone(LONDON).date()


def parse(value: str) -> datetime:
    """Parse an ISO 8601 timestamp written by :func:`now`."""
    return datetime.fromisoformat(value)
