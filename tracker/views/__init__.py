"""Blueprints, one per area. Views stay thin: check the form, call the domain, respond."""

from .account_deletion import bp as account_deletion_bp
from .actions import bp as actions_bp
from .audit import bp as audit_bp
from .auth import bp as auth_bp
from .budget import bp as budget_bp
from .caseload import bp as caseload_bp
from .data import bp as data_bp
from .deletion import bp as deletion_bp
from .fhir import bp as fhir_bp
from .goals import bp as goals_bp
from .home import bp as home_bp
from .invitations import bp as invitations_bp
from .logs import bp as logs_bp
from .notifications import bp as notifications_bp
from .plan import bp as plan_bp
from .receipts import bp as receipts_bp
from .records import bp as records_bp
from .records import help_bp
from .reviews import bp as reviews_bp
from .sharing import bp as sharing_bp
from .system import bp as system_bp

BLUEPRINTS = [
    system_bp,
    auth_bp,
    home_bp,
    help_bp,
    invitations_bp,
    records_bp,
    plan_bp,
    goals_bp,
    actions_bp,
    logs_bp,
    reviews_bp,
    budget_bp,
    notifications_bp,
    sharing_bp,
    audit_bp,
    caseload_bp,
    deletion_bp,
    account_deletion_bp,
    fhir_bp,
    receipts_bp,
    data_bp,
]
