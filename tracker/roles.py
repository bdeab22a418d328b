"""Roles, permissions and the one table that maps them; ``@requires`` on every route.

Three roles relate an account to a person's record: the **owner** (the person,
or someone acting for them), a **carer**, and the **coordinator**. What a carer
or coordinator may see is further narrowed by the categories the owner shares
with them (``sharing.py``). A request for a record the account has no right to
see answers 404, never 403, so that existence does not leak.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from functools import wraps
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


class Role(StrEnum):
    OWNER = "owner"
    CARER = "carer"
    COORDINATOR = "coordinator"


class Category(StrEnum):
    """What the person can choose to share, member by member."""

    PLAN = "plan"
    ACTIONS = "actions"
    MOOD = "mood"
    SYMPTOMS = "symptoms"
    SUPPORT = "support"
    DIARY = "diary"
    BUDGET = "budget"


CATEGORY_LABELS: dict[Category, str] = {
    Category.PLAN: "Plan and goals",
    Category.ACTIONS: "Actions",
    Category.MOOD: "Mood",
    Category.SYMPTOMS: "Symptoms",
    Category.SUPPORT: "Carer support log",
    Category.DIARY: "Diary",
    Category.BUDGET: "Budget and spending",
}

DEFAULT_CATEGORIES: dict[Role, frozenset[Category]] = {
    Role.OWNER: frozenset(Category),
    Role.CARER: frozenset({Category.PLAN, Category.ACTIONS, Category.SUPPORT}),
    Role.COORDINATOR: frozenset(
        {Category.PLAN, Category.ACTIONS, Category.MOOD, Category.SYMPTOMS, Category.SUPPORT}
    ),
}


class Scope(StrEnum):
    """Whether a permission is about the account or about one person's record."""

    ANYONE = "anyone"
    ACCOUNT = "account"
    RECORD = "record"


class Permission(StrEnum):
    PUBLIC = "public"
    SIGNED_IN = "signed_in"
    COORDINATE = "coordinate"  # caseload, creating a person's record
    VIEW_RECORD = "view_record"
    VIEW_PLAN = "view_plan"
    VIEW_ACTIONS = "view_actions"
    VIEW_MOOD = "view_mood"
    VIEW_SYMPTOMS = "view_symptoms"
    VIEW_SUPPORT = "view_support"
    VIEW_DIARY = "view_diary"
    EDIT_PLAN = "edit_plan"
    UPDATE_GOALS = "update_goals"
    ADD_GOAL_NOTE = "add_goal_note"
    MARK_ACTIONS = "mark_actions"
    LOG_SELF = "log_self"
    MANAGE_TRACKERS = "manage_trackers"
    LOG_SUPPORT = "log_support"
    LOG_EVENT = "log_event"
    VIEW_HISTORY = "view_history"
    EDIT_OWN_ENTRY = "edit_own_entry"
    SHARE_ENTRY = "share_entry"
    VIEW_REVIEWS = "view_reviews"
    PREPARE_REVIEW = "prepare_review"
    VIEW_SHARED_SUMMARY = "view_shared_summary"
    RECORD_REVIEW = "record_review"
    REQUEST_REVIEW = "request_review"
    ANSWER_REQUEST = "answer_request"
    MANAGE_SHARING = "manage_sharing"
    VIEW_AUDIT = "view_audit"
    LEAVE_RECORD = "leave_record"
    DELETE_RECORD = "delete_record"
    VIEW_BUDGET = "view_budget"
    RECORD_SPENDING = "record_spending"
    EXPORT_FHIR = "export_fhir"
    EXPORT_DATA = "export_data"
    MANAGE_CALENDAR = "manage_calendar"


@dataclass(frozen=True)
class Rule:
    """Who holds a permission: its scope, the roles, and a category the owner must share."""

    scope: Scope
    roles: frozenset[Role] = frozenset()
    category: Category | None = None
    # Plain words for the "who has looked at my record" page.
    label: str = ""


_ALL = frozenset(Role)
_OWNER = frozenset({Role.OWNER})
_OWNER_COORD = frozenset({Role.OWNER, Role.COORDINATOR})
_OWNER_CARER = frozenset({Role.OWNER, Role.CARER})
_COORD = frozenset({Role.COORDINATOR})

# The one table. Owners hold every record permission; the category is only
# checked for carers and coordinators.
RULES: dict[Permission, Rule] = {
    Permission.PUBLIC: Rule(Scope.ANYONE),
    Permission.SIGNED_IN: Rule(Scope.ACCOUNT),
    Permission.COORDINATE: Rule(Scope.ACCOUNT),
    Permission.VIEW_RECORD: Rule(Scope.RECORD, _ALL, None, "opened the record"),
    Permission.VIEW_PLAN: Rule(Scope.RECORD, _ALL, Category.PLAN, "looked at the plan and goals"),
    Permission.VIEW_ACTIONS: Rule(Scope.RECORD, _ALL, Category.ACTIONS, "looked at actions"),
    Permission.VIEW_MOOD: Rule(Scope.RECORD, _ALL, Category.MOOD, "looked at mood"),
    Permission.VIEW_SYMPTOMS: Rule(Scope.RECORD, _ALL, Category.SYMPTOMS, "looked at symptoms"),
    Permission.VIEW_SUPPORT: Rule(
        Scope.RECORD, _ALL, Category.SUPPORT, "looked at the support log"
    ),
    Permission.VIEW_DIARY: Rule(Scope.RECORD, _ALL, Category.DIARY, "looked at the diary"),
    Permission.EDIT_PLAN: Rule(Scope.RECORD, _OWNER_COORD, Category.PLAN, "changed the plan"),
    Permission.UPDATE_GOALS: Rule(
        Scope.RECORD, _OWNER_COORD, Category.PLAN, "changed the status of a goal"
    ),
    Permission.ADD_GOAL_NOTE: Rule(Scope.RECORD, _ALL, Category.PLAN, "added a note to a goal"),
    # Which actions a carer or coordinator may mark is narrowed by actions.can_mark.
    Permission.MARK_ACTIONS: Rule(Scope.RECORD, _ALL, Category.ACTIONS, "marked an action"),
    # Mood, symptoms and the diary are the person's own to log.
    Permission.LOG_SELF: Rule(Scope.RECORD, _OWNER, None, "logged an entry"),
    Permission.MANAGE_TRACKERS: Rule(Scope.RECORD, _OWNER, None, "changed a tracker"),
    Permission.LOG_SUPPORT: Rule(Scope.RECORD, _OWNER_CARER, Category.SUPPORT, "recorded support"),
    Permission.LOG_EVENT: Rule(Scope.RECORD, _OWNER_CARER, Category.PLAN, "recorded a care event"),
    # Entries are filtered one by one by what the viewer may see.
    Permission.VIEW_HISTORY: Rule(Scope.RECORD, _ALL, None, "looked at the history"),
    # Only the entry's author: checked in the view.
    Permission.EDIT_OWN_ENTRY: Rule(Scope.RECORD, _ALL, None, "changed an entry they wrote"),
    Permission.SHARE_ENTRY: Rule(Scope.RECORD, _OWNER, None, "shared an entry"),
    Permission.VIEW_REVIEWS: Rule(Scope.RECORD, _ALL, Category.PLAN, "looked at reviews"),
    Permission.PREPARE_REVIEW: Rule(Scope.RECORD, _OWNER, None, "prepared for a review"),
    # Statements are filtered one by one by the coordinator's categories.
    Permission.VIEW_SHARED_SUMMARY: Rule(Scope.RECORD, _COORD, None, "read the pre-review summary"),
    Permission.RECORD_REVIEW: Rule(Scope.RECORD, _COORD, Category.PLAN, "recorded a review"),
    Permission.REQUEST_REVIEW: Rule(
        Scope.RECORD, _OWNER_CARER, Category.PLAN, "asked for an early review"
    ),
    Permission.ANSWER_REQUEST: Rule(Scope.RECORD, _COORD, None, "answered an early review request"),
    Permission.MANAGE_SHARING: Rule(Scope.RECORD, _OWNER, None, "changed sharing"),
    Permission.VIEW_AUDIT: Rule(Scope.RECORD, _OWNER, None, "looked at the access log"),
    Permission.LEAVE_RECORD: Rule(
        Scope.RECORD, frozenset({Role.CARER, Role.COORDINATOR}), None, "left the record"
    ),
    # Only the person deletes their record; a coordinator can only leave it.
    Permission.DELETE_RECORD: Rule(Scope.RECORD, _OWNER, None, "deleted the record"),
    # Without the plan too, budget pages name lines by category only (their words are plan text).
    Permission.VIEW_BUDGET: Rule(Scope.RECORD, _ALL, Category.BUDGET, "looked at the budget"),
    Permission.RECORD_SPENDING: Rule(
        Scope.RECORD, _OWNER_CARER, Category.BUDGET, "recorded spending"
    ),
    # Carers never export; a coordinator's bundle is narrowed to their categories.
    Permission.EXPORT_FHIR: Rule(
        Scope.RECORD, _OWNER_COORD, Category.PLAN, "downloaded the plan as FHIR"
    ),
    # The full export holds everything, the diary too: only the person downloads it.
    Permission.EXPORT_DATA: Rule(Scope.RECORD, _OWNER, None, "downloaded all their data"),
    Permission.MANAGE_CALENDAR: Rule(Scope.RECORD, _OWNER, None, "changed the calendar feed"),
}


def allowed(role: Role, categories: frozenset[Category], permission: Permission) -> bool:
    """True if a member with ``role`` and shared ``categories`` holds a record permission."""
    rule = RULES[permission]
    if rule.scope is not Scope.RECORD or role not in rule.roles:
        return False
    if role is Role.OWNER or rule.category is None:
        return True
    return rule.category in categories


def requires(permission: Permission, *, fresh: bool = False) -> Callable[[F], F]:
    """Declare and enforce what a route needs. Record routes take ``record_id``."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            from .access import authorize  # late: access imports the domain modules

            denied = authorize(permission, kwargs.get("record_id"), fresh=fresh)
            if denied is not None:
                return denied
            return view(*args, **kwargs)

        wrapped.required_permission = permission  # type: ignore[attr-defined]
        return wrapped  # type: ignore[return-value]

    return decorate
