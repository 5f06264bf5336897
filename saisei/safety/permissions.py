"""Who may record, assess, triage and report adverse events; organisation scoping."""

from __future__ import annotations

from functools import partial

from django.db.models import QuerySet

from saisei.core.models import Role, User
from saisei.core.permissions import is_staff_user, scope_to_org
from saisei.core.roles import action, allowed

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

_action = partial(action, app="safety")

AE_RECORD = _action(
    "adverse_event.record",
    label="Record an adverse event, add follow-ups, make it more serious",
    roles=RECORD_ROLES,
    why="The clinicians who see the patient record what happened at once; a serious event starts "
    "its reporting clocks and holds the rest of its lot (ASRM Art. 17–18).",
)
AE_ASSESS = _action(
    "adverse_event.assess",
    label="Assess an event: lower its grade, remove a seriousness criterion, judge causality",
    roles=(Role.PHYSICIAN,),
    why="Grade, seriousness and causality are a physician's judgement (ICH E2A; Enforcement "
    "Regulation Art. 35); loosening them can shorten what must be reported.",
)
TRIAGE = _action(
    "patient_report.triage",
    label="Triage a problem a patient or family reported",
    roles=RECORD_ROLES,
    why="A clinician decides whether the report is an adverse event.",
)
SUBMISSION = _action(
    "report_submission.record",
    label="Record a report sent to the committee, the Ministry or the CPC",
    roles=REPORT_ROLES,
    why="The responsible physician or the compliance office files the legal reports; closing "
    "the obligation with the evidence cannot be undone.",
    destructive=True,
)


def can_view_safety(user: User) -> bool:
    return is_staff_user(user) and user.has_role(*READ_ROLES)


def can_record_adverse_event(user: User) -> bool:
    return allowed(user, AE_RECORD)


def can_assess_adverse_event(user: User) -> bool:
    """Grade, seriousness and causality are a physician's judgement."""
    return allowed(user, AE_ASSESS)


def can_triage_patient_report(user: User) -> bool:
    return allowed(user, TRIAGE)


def can_record_submission(user: User) -> bool:
    return allowed(user, SUBMISSION)


def scope_safety(user: User, qs: QuerySet) -> QuerySet:
    if not can_view_safety(user):
        return qs.none()
    return scope_to_org(user, qs)
