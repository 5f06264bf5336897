"""Who may verify, give and read administrations; scoping to the actor's organisation."""

from __future__ import annotations

from django.db.models import QuerySet

from saisei.core.models import Role, User
from saisei.core.permissions import is_read_only, is_staff_user, scope_to_org

# Clinicians give infusions; oversight roles read the record (committee reviewers read only).
CLINICAL_ROLES = (Role.PHYSICIAN, Role.NURSE)
READ_ROLES = (
    Role.PHYSICIAN,
    Role.NURSE,
    Role.ORG_ADMIN,
    Role.COMPLIANCE_OFFICER,
    Role.QA_MANAGER,
    Role.COMMITTEE_REVIEWER,
)


def can_view_treatment(user: User) -> bool:
    return is_staff_user(user) and user.has_role(*READ_ROLES)


def can_verify_bedside(user: User) -> bool:
    """Bedside scans are done by the nurse or physician at the bedside."""
    return is_staff_user(user) and user.has_role(*CLINICAL_ROLES) and not is_read_only(user)


def can_record_administration(user: User) -> bool:
    return can_verify_bedside(user)


def can_confirm_second_person(user: User) -> bool:
    """The second person of the two-person check is also a clinician."""
    return can_verify_bedside(user)


def scope_treatment(user: User, qs: QuerySet) -> QuerySet:
    if not can_view_treatment(user):
        return qs.none()
    return scope_to_org(user, qs)
