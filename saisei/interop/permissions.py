"""Who may export: a bulk export holds the whole programme's records, so only the
organisation's administrator starts, watches, downloads or cancels one (docs/roles.md)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from saisei.core.models import Role, User
from saisei.core.permissions import is_staff_user, scope_to_org


def can_bulk_export(user: Any) -> bool:
    return is_staff_user(user) and user.has_role(Role.ORG_ADMIN)


def scope_exports(user: User, qs: QuerySet) -> QuerySet:
    if not can_bulk_export(user):
        return qs.none()
    return scope_to_org(user, qs)


def can_research_export(user: Any) -> bool:
    """The pseudonymised research dataset (REDCap) leaves the clinic like a bulk export, so the
    organisation's administrator hands it out; it needs every app's read it draws on (fail
    closed: never a dataset silently missing the rows a role cannot see)."""
    from saisei.journey.permissions import can_view_journey
    from saisei.outcomes.permissions import can_view_outcomes
    from saisei.safety.permissions import can_view_safety
    from saisei.treatment.permissions import can_view_treatment

    return (
        can_bulk_export(user)
        and can_view_journey(user)
        and can_view_outcomes(user)
        and can_view_safety(user)
        and can_view_treatment(user)
    )
