"""Who may do what in the patient journey; every read is scoped to the actor's organisation."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from saisei.core.models import Role, User
from saisei.core.permissions import is_staff_user, scope_to_org

JOURNEY_READERS = (
    Role.COORDINATOR,
    Role.PHYSICIAN,
    Role.NURSE,
    Role.ORG_ADMIN,
    Role.COMPLIANCE_OFFICER,
    Role.COMMITTEE_REVIEWER,
)
COORDINATION = (Role.COORDINATOR, Role.ORG_ADMIN)
CLINICAL = (Role.PHYSICIAN, Role.ORG_ADMIN)


def _has(user: Any, roles: tuple[str, ...]) -> bool:
    return is_staff_user(user) and user.has_role(*roles)


def can_view_journey(user: Any) -> bool:
    return _has(user, JOURNEY_READERS)


def scope_journey(user: User, qs: QuerySet) -> QuerySet:
    """Records of the actor's organisation, for roles that read the journey; others see none."""
    if not can_view_journey(user):
        return qs.none()
    return scope_to_org(user, qs)


def can_manage_inquiry(user: Any) -> bool:
    return _has(user, (*COORDINATION, Role.PHYSICIAN))


def can_open_inquiry_records(user: Any) -> bool:
    """The medical records a family uploaded: the staff who judge and work the inquiry."""
    return _has(user, (*COORDINATION, Role.PHYSICIAN))


def can_enrol_patient(user: Any) -> bool:
    return _has(user, (*COORDINATION, Role.PHYSICIAN))


def can_record_prescreen(user: Any) -> bool:
    return _has(user, (*COORDINATION, Role.PHYSICIAN))


def can_decide_prescreen(user: Any) -> bool:
    """The eligibility decision is medical: only a physician signs it (ASRM Art. 14 context)."""
    return _has(user, (Role.PHYSICIAN,))


def can_set_diagnosis(user: Any) -> bool:
    """The coded diagnosis is a medical statement the compliance gate relies on: physicians only."""
    return _has(user, (Role.PHYSICIAN,))


def can_manage_quote(user: Any) -> bool:
    return _has(user, COORDINATION)


def can_manage_prices(user: Any) -> bool:
    return _has(user, COORDINATION)


def can_take_consent(user: Any) -> bool:
    """The explanation and consent are given by a physician (ASRM Art. 14)."""
    return _has(user, (Role.PHYSICIAN,))


def can_record_withdrawal(user: Any) -> bool:
    return _has(user, (*COORDINATION, Role.PHYSICIAN, Role.NURSE))


def can_manage_course(user: Any) -> bool:
    return _has(user, (*COORDINATION, Role.PHYSICIAN))


def can_plan_itinerary(user: Any) -> bool:
    return _has(user, (*COORDINATION, Role.PHYSICIAN))


def can_manage_travel(user: Any) -> bool:
    return _has(user, COORDINATION)


def can_issue_portal_link(user: Any) -> bool:
    return _has(user, (*COORDINATION, Role.PHYSICIAN))
