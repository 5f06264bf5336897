"""Who may read and change regulatory records; every read is scoped to the actor's organisation."""

from __future__ import annotations

from functools import partial
from typing import Any

from django.db.models import QuerySet

from saisei.core.models import Role, User
from saisei.core.permissions import is_staff_user, scope_to_org
from saisei.core.roles import action, allowed

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


# --- the CPC's licence register and the clinic's own duties (issue 16) ----------------------

_action = partial(action, app="regulatory")
OFFICE_ROLES = (Role.COMPLIANCE_OFFICER, Role.ORG_ADMIN)

FACILITY_REGISTER = _action(
    "facility.register",
    label="Record a processing facility's licence, notification, renewal or ending, and its changes",
    roles=OFFICE_ROLES,
    why="The compliance office keeps the register the compliance gate reads; a change to a "
    "facility starts its notice obligation (ASRM Art. 35–40).",
)
COMPLAINT_HANDLE = _action(
    "complaint.handle",
    label="Record, answer and close a complaint",
    roles=OFFICE_ROLES,
    why="The institution keeps a complaints desk (Enforcement Regulation Art. 26); complaints "
    "hold personal data, so only the office sees them.",
)
CHECK_SCHEDULE = _action(
    "periodic_check.schedule",
    label="Schedule a periodic check by the administrator or the responsible physician",
    roles=OFFICE_ROLES,
    why="The office keeps the calendar of the checks the administrator and the responsible "
    "physician owe (Enforcement Regulation Art. 20-2).",
)
CHECK_SIGN_OFF = _action(
    "periodic_check.sign_off",
    label="Sign off one's own periodic check with its findings",
    roles=(Role.ORG_ADMIN, Role.PHYSICIAN),
    why="Only the person the check is assigned to signs it off: the administrator (org_admin) "
    "or the responsible physician (Enforcement Regulation Art. 20-2).",
)
OPINION_RECORD = _action(
    "committee_opinion.record",
    label="Record a committee opinion, its required actions, and close an action with evidence",
    roles=OFFICE_ROLES,
    why="The institution acts on the committee's opinions (Enforcement Regulation Art. 26-2); "
    "each required action is tracked to closure with evidence.",
)

DUTY_READ_ROLES = (Role.COMPLIANCE_OFFICER, Role.ORG_ADMIN)


def can_manage_facility_register(user: Any) -> bool:
    return allowed(user, FACILITY_REGISTER)


def can_view_duties(user: Any) -> bool:
    """Complaints and committee opinions: the compliance office and the administrator."""
    return is_staff_user(user) and user.has_role(*DUTY_READ_ROLES)


def can_handle_complaints(user: Any) -> bool:
    return allowed(user, COMPLAINT_HANDLE)


def can_schedule_checks(user: Any) -> bool:
    return allowed(user, CHECK_SCHEDULE)


def can_sign_off_check(user: Any, check: Any) -> bool:
    return allowed(user, CHECK_SIGN_OFF) and check.assignee_id == user.pk


def can_record_opinions(user: Any) -> bool:
    return allowed(user, OPINION_RECORD)


def scope_duties(user: Any, qs: QuerySet) -> QuerySet:
    if not can_view_duties(user):
        return qs.none()
    return scope_to_org(user, qs)


def scope_checks(user: Any, qs: QuerySet) -> QuerySet:
    """The office sees every check; anyone else only the checks assigned to them."""
    if not is_staff_user(user):
        return qs.none()
    qs = scope_to_org(user, qs)
    return qs if can_view_duties(user) else qs.filter(assignee=user)
