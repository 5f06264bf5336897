"""Who may read and change regulatory records; every read is scoped to the actor's organisation."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from saisei.core.models import Role, User
from saisei.core.permissions import is_staff_user, scope_to_org

# Plans and obligations are run by the compliance office; the organisation administrator
# stands in for the institution's administrator (管理者), who alone may discontinue.
WRITE_ROLES = (Role.COMPLIANCE_OFFICER, Role.ORG_ADMIN)
OBLIGATION_READ_ROLES = (
    Role.COMPLIANCE_OFFICER,
    Role.ORG_ADMIN,
    Role.COMMITTEE_REVIEWER,
    Role.QA_MANAGER,
    Role.PHYSICIAN,
)


def can_view_regulatory(user: Any) -> bool:
    """Every staff member may read plans: physicians must know what they may do."""
    return is_staff_user(user)


def can_manage_registry(user: User) -> bool:
    return is_staff_user(user) and user.has_role(*WRITE_ROLES)


def can_change_plan(user: User) -> bool:
    return is_staff_user(user) and user.has_role(*WRITE_ROLES)


def can_view_obligations(user: User) -> bool:
    return is_staff_user(user) and user.has_role(*OBLIGATION_READ_ROLES)


def can_complete_obligation(user: User) -> bool:
    return is_staff_user(user) and user.has_role(*WRITE_ROLES)


def can_view_gate_refusals(user: User) -> bool:
    """Refused acts are read by the people who answer for the plan and the product."""
    return is_staff_user(user) and user.has_role(*OBLIGATION_READ_ROLES)


def can_file_forms(user: Any) -> bool:
    """Official forms are generated and filed by the compliance office (and the administrator)."""
    return is_staff_user(user) and user.has_role(*WRITE_ROLES)


def can_view_forms(user: Any) -> bool:
    return is_staff_user(user) and user.has_role(*OBLIGATION_READ_ROLES)


def can_manage_standard_documents(user: Any) -> bool:
    """A CPC's 標準書 and SOPs are controlled by its QA (GMP document control) or the office."""
    return is_staff_user(user) and user.has_role(
        Role.QA_MANAGER, Role.COMPLIANCE_OFFICER, Role.ORG_ADMIN
    )


def lifecycle_roles(user: User) -> set[str]:
    """The user's roles that record plan steps in the lifecycle table (``lifecycles.PLAN``)."""
    return set(user.roles) & {Role.COMPLIANCE_OFFICER, Role.ORG_ADMIN}


def scope_regulatory(user: User, qs: QuerySet) -> QuerySet:
    if not can_view_regulatory(user):
        return qs.none()
    return scope_to_org(user, qs)


def scope_obligations(user: User, qs: QuerySet) -> QuerySet:
    if not can_view_obligations(user):
        return qs.none()
    return scope_to_org(user, qs)


def scope_gate_refusals(user: User, qs: QuerySet) -> QuerySet:
    if not can_view_gate_refusals(user):
        return qs.none()
    return scope_to_org(user, qs)
