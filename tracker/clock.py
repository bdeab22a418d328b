"""One place for "now", so tests can travel in time."""

from datetime import UTC, datetime


def now() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


def parse(value: str) -> datetime:
    """Parse an ISO 8601 timestamp written by :func:`now`."""
    return datetime.fromisoformat(value)
