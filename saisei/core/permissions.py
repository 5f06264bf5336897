"""Who may do what in core, and the organisation scoping every selector builds on."""

from __future__ import annotations

from typing import Any, cast

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet

from saisei.core.models import Role, User

READ_ALL_ROLES = (Role.ORG_ADMIN, Role.COMPLIANCE_OFFICER, Role.COMMITTEE_REVIEWER)


def is_staff_user(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False) and getattr(user, "organisation_id", None))


def scope_to_org(user: User, qs: QuerySet, field: str = "organisation") -> QuerySet:
    """Limit a queryset to the actor's organisation; an actor without one sees nothing."""
    if not is_staff_user(user):
        return qs.none()
    return qs.filter(**{f"{field}_id": user.organisation_id})


def scope_organisations(user: User, qs: QuerySet) -> QuerySet:
    if not is_staff_user(user):
        return qs.none()
    return qs.filter(pk=user.organisation_id)


def scope_sites(user: User, qs: QuerySet) -> QuerySet:
    return scope_to_org(user, qs)


def can_view_audit(user: User) -> bool:
    return is_staff_user(user) and user.has_role(
        Role.ORG_ADMIN, Role.COMPLIANCE_OFFICER, Role.QA_MANAGER, Role.COMMITTEE_REVIEWER
    )


def scope_audit_entries(user: User, qs: QuerySet) -> QuerySet:
    if not can_view_audit(user):
        return qs.none()
    return scope_to_org(user, qs)


def can_view_access_log(user: User) -> bool:
    """Who read which patient's record: compliance officers and organisation administrators."""
    return is_staff_user(user) and user.has_role(Role.ORG_ADMIN, Role.COMPLIANCE_OFFICER)


def scope_access_log(user: User, qs: QuerySet) -> QuerySet:
    if not can_view_access_log(user):
        return qs.none()
    return scope_to_org(user, qs)


def can_manage_users(user: User) -> bool:
    return is_staff_user(user) and user.has_role(Role.ORG_ADMIN)


def can_use_calculators(user: User) -> bool:
    """Preview and calculation endpoints: open to every staff member (they change nothing)."""
    return is_staff_user(user)


def is_read_only(user: User) -> bool:
    """A committee reviewer reads packages and never writes."""
    return set(user.roles) <= {Role.COMMITTEE_REVIEWER}


def staff_user(request: Any) -> User:
    """The signed-in staff user of a request (views and endpoints are already behind login)."""
    return cast(User, request.user)


def org_id_of(user: User) -> int:
    """The actor's organisation id; services call it after their permission check passed."""
    if user.organisation_id is None:
        raise PermissionDenied("This account belongs to no organisation.")
    return user.organisation_id
