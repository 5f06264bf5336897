"""Who may read and write outcome records; every read is scoped to the actor's organisation."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from saisei.core.models import Role, User
from saisei.core.permissions import is_staff_user, scope_to_org

OUTCOME_READERS = (
    Role.PHYSICIAN,
    Role.NURSE,
    Role.COORDINATOR,
    Role.ORG_ADMIN,
    Role.COMPLIANCE_OFFICER,
    Role.COMMITTEE_REVIEWER,
)
RATERS = (Role.PHYSICIAN, Role.NURSE, Role.ORG_ADMIN)
CLINICAL_ADMIN = (Role.PHYSICIAN, Role.ORG_ADMIN)


def _has(user: Any, roles: tuple[str, ...]) -> bool:
    return is_staff_user(user) and user.has_role(*roles)


def can_view_outcomes(user: Any) -> bool:
    return _has(user, OUTCOME_READERS)


def scope_outcomes(user: User, qs: QuerySet, field: str = "organisation") -> QuerySet:
    """Records of the actor's organisation, for roles that read outcomes; others see none."""
    if not can_view_outcomes(user):
        return qs.none()
    return scope_to_org(user, qs, field)


def can_record_assessment(user: Any) -> bool:
    return _has(user, RATERS)


def can_void_assessment(user: Any) -> bool:
    return _has(user, CLINICAL_ADMIN)


def can_manage_schedule(user: Any) -> bool:
    return _has(user, (*CLINICAL_ADMIN, Role.COORDINATOR))


def can_choose_stage(user: Any) -> bool:
    """Which natural history a patient is compared with is a clinical judgement: physicians."""
    return _has(user, (Role.PHYSICIAN,))


def can_manage_references(user: Any) -> bool:
    """Natural-history references, MCIDs and biomarker definitions are clinical configuration."""
    return _has(user, CLINICAL_ADMIN)


def can_manage_credentials(user: Any) -> bool:
    return _has(user, CLINICAL_ADMIN)


def can_record_biomarker(user: Any) -> bool:
    return _has(user, RATERS)


def can_view_cohort(user: Any) -> bool:
    return _has(
        user, (Role.PHYSICIAN, Role.ORG_ADMIN, Role.COMPLIANCE_OFFICER, Role.COMMITTEE_REVIEWER)
    )
