"""Who may verify, give and read administrations; scoping to the actor's organisation."""

from __future__ import annotations

from functools import partial

from django.db.models import QuerySet

from saisei.core.models import Role, User
from saisei.core.permissions import is_staff_user, scope_to_org
from saisei.core.roles import action, allowed

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

_action = partial(action, app="treatment")

BEDSIDE_VERIFY = _action(
    "bedside.verify",
    label="Scan the wristband and the bag at the bedside",
    roles=CLINICAL_ROLES,
    why="The recipient's and the product's identity are checked by the clinicians giving it "
    "(FACT-JACIE clinical standards; ISBT 128 ST-028).",
)
ADMINISTRATION_RECORD = _action(
    "administration.record",
    label="Record an infusion (marks the dose given, once); close it; record vital signs",
    roles=CLINICAL_ROLES,
    why="The physician or nurse who gives the dose records it; a dose is given once (DESIGN "
    "invariant 3).",
    destructive=True,
)
SECOND_PERSON = _action(
    "administration.second_person",
    label="Confirm the bedside check as the second person (own password)",
    roles=CLINICAL_ROLES,
    why="The two-person check at the bedside is done by two clinicians.",
)


def can_view_treatment(user: User) -> bool:
    return is_staff_user(user) and user.has_role(*READ_ROLES)


def can_verify_bedside(user: User) -> bool:
    """Bedside scans are done by the nurse or physician at the bedside."""
    return allowed(user, BEDSIDE_VERIFY)


def can_record_administration(user: User) -> bool:
    return allowed(user, ADMINISTRATION_RECORD)


def can_confirm_second_person(user: User) -> bool:
    """The second person of the two-person check is also a clinician."""
    return allowed(user, SECOND_PERSON)


def scope_treatment(user: User, qs: QuerySet) -> QuerySet:
    if not can_view_treatment(user):
        return qs.none()
    return scope_to_org(user, qs)
