"""Who may do what in processing, and the organisation scoping of its records."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from saisei.core.models import Role, User
from saisei.core.permissions import is_read_only, is_staff_user, scope_to_org

# Roles that read the CPC's records: the CPC and QA, clinicians who give the doses, and the
# organisation's oversight roles (committee reviewers read only).
READ_ROLES = (
    Role.CPC_TECHNICIAN,
    Role.QA_MANAGER,
    Role.PHYSICIAN,
    Role.NURSE,
    Role.ORG_ADMIN,
    Role.COMPLIANCE_OFFICER,
    Role.COMMITTEE_REVIEWER,
)
CPC_ROLES = (Role.CPC_TECHNICIAN, Role.QA_MANAGER)
# Custody hand-overs happen at collection, in transport, at the CPC and at the bedside.
CUSTODY_ROLES = (Role.CPC_TECHNICIAN, Role.QA_MANAGER, Role.PHYSICIAN, Role.NURSE)


def _has(user: User, roles: tuple[str, ...]) -> bool:
    return is_staff_user(user) and user.has_role(*roles) and not is_read_only(user)


def can_view_processing(user: User) -> bool:
    return is_staff_user(user) and user.has_role(*READ_ROLES)


def can_record_donation(user: User) -> bool:
    """Harvests are recorded by the physician who collects or by CPC staff receiving the tissue."""
    return _has(user, (Role.PHYSICIAN, Role.NURSE, Role.CPC_TECHNICIAN, Role.QA_MANAGER))


def can_record_culture(user: User) -> bool:
    return _has(user, CPC_ROLES)


def can_record_qc(user: User) -> bool:
    return _has(user, CPC_ROLES)


def can_manage_deviation(user: User) -> bool:
    return _has(user, CPC_ROLES)


def can_release_lot(user: User) -> bool:
    """Only QA releases (DESIGN invariant 4)."""
    return _has(user, (Role.QA_MANAGER,))


def can_manage_dose(user: User) -> bool:
    return _has(user, CPC_ROLES)


def can_thaw_dose(user: User) -> bool:
    return _has(user, (*CPC_ROLES, Role.PHYSICIAN, Role.NURSE))


def can_print_label(user: User) -> bool:
    return _has(user, CPC_ROLES)


def can_record_custody(user: User) -> bool:
    return _has(user, CUSTODY_ROLES)


def scope_processing(user: User, qs: QuerySet) -> QuerySet:
    """Limit a processing queryset to the actor's organisation and to roles that read it."""
    if not can_view_processing(user):
        return qs.none()
    return scope_to_org(user, qs)


def same_org(user: Any, obj: Any) -> bool:
    return is_staff_user(user) and obj.organisation_id == user.organisation_id
