"""Who may record, assess, triage and report adverse events; organisation scoping."""

from __future__ import annotations

from django.db.models import QuerySet

from saisei.core.models import Role, User
from saisei.core.permissions import is_read_only, is_staff_user, scope_to_org

READ_ROLES = (
    Role.PHYSICIAN,
    Role.NURSE,
    Role.QA_MANAGER,
    Role.COMPLIANCE_OFFICER,
    Role.ORG_ADMIN,
    Role.COMMITTEE_REVIEWER,
    Role.COORDINATOR,
)
# Clinicians record and triage; the compliance officer files reports.
RECORD_ROLES = (Role.PHYSICIAN, Role.NURSE)
REPORT_ROLES = (Role.PHYSICIAN, Role.COMPLIANCE_OFFICER, Role.ORG_ADMIN)


def _can(user: User, roles: tuple[str, ...]) -> bool:
    return is_staff_user(user) and user.has_role(*roles) and not is_read_only(user)


def can_view_safety(user: User) -> bool:
    return is_staff_user(user) and user.has_role(*READ_ROLES)


def can_record_adverse_event(user: User) -> bool:
    return _can(user, RECORD_ROLES)


def can_assess_adverse_event(user: User) -> bool:
    """Grade, seriousness and causality are a physician's judgement."""
    return _can(user, (Role.PHYSICIAN,))


def can_triage_patient_report(user: User) -> bool:
    return _can(user, RECORD_ROLES)


def can_record_submission(user: User) -> bool:
    return _can(user, REPORT_ROLES)


def scope_safety(user: User, qs: QuerySet) -> QuerySet:
    if not can_view_safety(user):
        return qs.none()
    return scope_to_org(user, qs)
