"""Template filters and globals: dates in NHS style, navigation for each role."""

from __future__ import annotations

from datetime import date, datetime

from flask import Flask, g, url_for
from flask_login import current_user

from . import clock, logs, notifications
from .actions import Outcome
from .clock import LONDON
from .roles import CATEGORY_LABELS, Category, Role


def nhs_date(value: date | datetime | str | None) -> str:
    """ "23 November 2026" (NHS style: no leading zero, month in full)."""
    if not value:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
    if isinstance(value, datetime):
        value = value.astimezone(LONDON).date()
    return f"{value.day} {value:%B %Y}"


def nhs_datetime(value: datetime | str | None) -> str:
    """ "23 November 2026 at 2:05pm" in UK time."""
    if not value:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    local = value.astimezone(LONDON)
    hour = local.hour % 12 or 12
    return f"{nhs_date(local.date())} at {hour}:{local:%M}{'am' if local.hour < 12 else 'pm'}"


def navigation() -> list[dict[str, str]]:
    """Header links for whoever is signed in, and the record they are looking at.

    Everyone but a coordinator gets "Help now" first, on every page: one tap to
    the contingency plan and the NHS urgent help routes.
    """
    if not current_user.is_authenticated:
        # NHS 111 and 999 need no account.
        return [
            {
                "href": url_for("help.help_now_anywhere"),
                "text": "Help now",
                "classes": "app-help-now",
            }
        ]
    items: list[dict[str, str]] = []
    record = g.get("record")
    membership = g.get("membership")
    if not current_user.account.is_coordinator:
        href = (
            url_for("records.help_now", record_id=record.id)
            if record is not None
            else url_for("help.help_now_anywhere")
        )
        items.append({"href": href, "text": "Help now", "classes": "app-help-now"})
    else:
        items.append({"href": url_for("caseload.caseload"), "text": "Caseload"})
    if record is not None and membership is not None:
        items.append({"href": url_for("records.today", record_id=record.id), "text": "Today"})
        if membership.sees(Category.PLAN):
            items.append({"href": url_for("plan.view", record_id=record.id), "text": "Plan"})
        if membership.role is Role.OWNER:
            items.append(
                {"href": url_for("sharing.sharing", record_id=record.id), "text": "Sharing"}
            )
    unread = notifications.unread_count(current_user.id)
    items.append(
        {
            "href": url_for("notifications.inbox"),
            "text": f"Inbox ({unread} new)" if unread else "Inbox",
        }
    )
    items.append({"href": url_for("auth.account"), "text": "Your account"})
    return items


def action_who(action) -> str:
    """Who does an action, from the viewer's side: "Me" is the person's own name to others."""
    membership = g.get("membership")
    record = g.get("record")
    if action.who == "Me" and membership is not None and membership.role is not Role.OWNER:
        return record.name if record is not None else "The person"
    return action.who


def now_text() -> str:
    """When the page was made, for the "last updated" line of a copy saved for offline use."""
    return nhs_datetime(clock.now())


def register(app: Flask) -> None:
    app.add_template_filter(nhs_date, "nhs_date")
    app.add_template_filter(nhs_datetime, "nhs_datetime")
    app.add_template_global(navigation, "navigation")
    app.add_template_global(now_text, "now_text")
    app.add_template_global(action_who, "action_who")
    app.add_template_global(CATEGORY_LABELS, "CATEGORY_LABELS")
    app.add_template_global(Role, "Role")
    # For logs/_entry.jinja, which any page can include.
    app.add_template_global(logs.MOOD_WORDS, "mood_words_all")
    app.add_template_global({r.value: r.label for r in logs.MissedReason}, "reason_labels")
    app.add_template_global({e.value: e.label for e in logs.EventType}, "event_labels")
    app.add_template_global(Outcome, "outcome_enum")
    app.add_template_global(
        {
            k.value
            for k in (
                logs.Kind.MOOD,
                logs.Kind.READING,
                logs.Kind.DIARY,
                logs.Kind.SUPPORT,
                logs.Kind.EVENT,
                logs.Kind.WELLBEING,
            )
        },
        "editable_kinds",
    )
