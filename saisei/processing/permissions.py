"""Who may do what in processing, and the organisation scoping of its records.

The rows of the role matrix live here as data (``saisei.core.roles``); each ``can_…`` asks it,
and ``docs/roles.md`` is generated from the same rows.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from django.db.models import QuerySet

from saisei.core.models import Role, User
from saisei.core.permissions import is_staff_user, scope_to_org
from saisei.core.roles import action, allowed

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
CPC = Role.CPC_TECHNICIAN
QA = Role.QA_MANAGER
CPC_ROLES = (CPC, QA)
CLINICIANS = (Role.PHYSICIAN, Role.NURSE)
# Custody hand-overs happen at collection, in transport, at the CPC and at the bedside.
CUSTODY_ROLES = (CPC, QA, *CLINICIANS)

_action = partial(action, app="processing")

DONATION_RECORD = _action(
    "donation.record",
    label="Record a harvest (the donation names the physician who performs it)",
    roles=(Role.PHYSICIAN, Role.NURSE, CPC, QA),
    why="The collecting team at the clinic or the CPC receiving the tissue records it; the "
    "compliance gate checks the physician named on the donation (ASRM Art. 4, 13).",
)
DONATION_MARKERS = _action(
    "donation.markers",
    label="Enter infection-marker results of a donation",
    roles=(Role.PHYSICIAN, CPC, QA),
    why="Donor-screening results decide whether tissue may be processed at all; the ordering "
    "physician or the CPC enters the laboratory's report (ASRM Enforcement Regulation, cell "
    "collection records). Nurses do not transcribe laboratory results here.",
)
DONATION_MARKERS_CORRECT = _action(
    "donation.markers_correct",
    label="Correct a final infection-marker result",
    roles=(QA,),
    why="Changing a final result changes a release decision: QA only (ALCOA+ data integrity).",
    destructive=True,
)
DONATION_LABEL = _action(
    "label.donation_print",
    label="Print or reprint tissue container labels",
    roles=(Role.PHYSICIAN, Role.NURSE, CPC, QA),
    why="The container is labelled where the tissue is collected, before it leaves the room "
    "(FACT-JACIE labelling); reprints need a reason and are counted (CM7.2.2.1).",
)
DOSE_LABEL = _action(
    "label.dose_print",
    label="Print or reprint dose bag labels; reconcile them",
    roles=CPC_ROLES,
    why="Final product labels are issued by the processing facility and reconciled there "
    "(FACT-JACIE 8th ed. CM7.2.2.1 label reconciliation).",
)
CULTURE_RECORD = _action(
    "culture.record",
    label="Start a lot, record culture steps, divide and store doses, send to QC",
    roles=CPC_ROLES,
    why="Manufacturing records are kept by the processing facility (ASRM Enforcement "
    "Regulation Art. 99, manufacturing control).",
)
QC_RECORD = _action(
    "qc.record",
    label="Record QC results",
    roles=CPC_ROLES,
    why="Quality-control testing is done by the facility (ASRM Enforcement Regulation Art. 100).",
)
ENVIRONMENT_RECORD = _action(
    "environment.record",
    label="Record environmental-monitoring readings; prepare a monitoring programme version",
    roles=CPC_ROLES,
    why="Hygiene control of the cleanrooms (ASRM Enforcement Regulation Art. 97; PIC/S GMP "
    "Annex 1 (2022) ch. 9).",
)
ENVIRONMENT_APPROVE = _action(
    "environment.approve_programme",
    label="Approve a monitoring programme version (e-signature, not its preparer)",
    roles=(QA,),
    why="Limits are part of the quality system; QA approves them, four eyes (PIC/S GMP Part I "
    "ch. 4, document approval; Annex 11 e-signatures).",
)
DEVIATION_MANAGE = _action(
    "deviation.manage",
    label="Open a deviation; document investigation, impact and CAPA",
    roles=CPC_ROLES,
    why="Deviation control belongs to the processing facility (ASRM Enforcement Regulation "
    "Art. 99–100).",
)
DEVIATION_CLOSE = _action(
    "deviation.close",
    label="Close a deviation",
    roles=(QA,),
    why="Closing accepts the investigation and lets a lot be released: QA's decision.",
    destructive=True,
)
LOT_QUARANTINE = _action(
    "lot.quarantine",
    label="Quarantine a lot (its doses leave use)",
    roles=CPC_ROLES,
    why="Anyone on the processing side may stop a lot; only QA may let it go again.",
)
LOT_LIFT = _action(
    "lot.lift_quarantine",
    label="Lift a lot's quarantine",
    roles=(QA,),
    why="Returns a lot towards release once its deviations are closed (GMP deviation control).",
)
LOT_RELEASE = _action(
    "lot.release",
    label="Release a lot (full or conditional), by e-signature",
    roles=(QA,),
    why="Only QA releases, and only a clean lot under an in-force plan (DESIGN invariant 4; "
    "ASRM Enforcement Regulation Art. 100, release control).",
    destructive=True,
)
LOT_REJECT = _action(
    "lot.reject",
    label="Reject a lot and recall its doses",
    roles=(QA,),
    why="Rejection destroys a patient's only product; QA decides (GMP release control).",
    destructive=True,
)
DOSE_THAW = _action(
    "dose.thaw",
    label="Record the thaw of a dose",
    roles=CUSTODY_ROLES,
    why="Cryopreserved bags are thawed at the CPC or at the clinic before the infusion.",
)
DOSE_DISCARD = _action(
    "dose.discard",
    label="Discard a dose (a released one needs a second CPC/QA person's password)",
    roles=CPC_ROLES,
    why="Only the processing side destroys cells (DESIGN invariant 4): the reason and, for a "
    "released dose, a second person's confirmation are recorded. Clinicians report a bag "
    "unusable instead.",
    destructive=True,
)
DOSE_REPORT_UNUSABLE = _action(
    "dose.report_unusable",
    label="Report a dose unusable (puts it on hold for QA)",
    roles=CUSTODY_ROLES,
    why="Whoever holds the bag can take it out of use at once; QA decides what happens next.",
)
DOSE_LIFT_HOLD = _action(
    "dose.lift_hold",
    label="Lift a dose's hold, with a reason",
    roles=(QA,),
    why="A bag held after a serious adverse event or a report goes back into use only on QA's "
    "assessment (ASRM Art. 17–18; GMP quality-defect handling).",
)
CUSTODY_HANDOVER = _action(
    "custody.handover",
    label="Record a custody hand-over (scan)",
    roles=CUSTODY_ROLES,
    why="Every hand-over is scanned by the person who receives the container (FACT CM10; "
    "ISO 21973).",
)
CULTURE_ALERT_FOLLOW_UP = _action(
    "culture_alert.follow_up",
    label="Record the follow-up of a positive culture after release",
    roles=(QA, Role.PHYSICIAN),
    why="QA and the treating physician follow up the patients who already received doses.",
)


def can_view_processing(user: User) -> bool:
    return is_staff_user(user) and user.has_role(*READ_ROLES)


def can_record_donation(user: User) -> bool:
    return allowed(user, DONATION_RECORD)


def can_record_markers(user: User) -> bool:
    return allowed(user, DONATION_MARKERS)


def can_correct_markers(user: User) -> bool:
    return allowed(user, DONATION_MARKERS_CORRECT)


def can_print_donation_label(user: User) -> bool:
    return allowed(user, DONATION_LABEL)


def can_record_culture(user: User) -> bool:
    return allowed(user, CULTURE_RECORD)


def can_record_qc(user: User) -> bool:
    return allowed(user, QC_RECORD)


def can_record_environment(user: User) -> bool:
    return allowed(user, ENVIRONMENT_RECORD)


def can_approve_environment_programme(user: User) -> bool:
    return allowed(user, ENVIRONMENT_APPROVE)


def can_manage_deviation(user: User) -> bool:
    return allowed(user, DEVIATION_MANAGE)


def can_close_deviation(user: User) -> bool:
    return allowed(user, DEVIATION_CLOSE)


def can_quarantine_lot(user: User) -> bool:
    return allowed(user, LOT_QUARANTINE)


def can_lift_lot_quarantine(user: User) -> bool:
    return allowed(user, LOT_LIFT)


def can_release_lot(user: User) -> bool:
    """Only QA releases (DESIGN invariant 4)."""
    return allowed(user, LOT_RELEASE)


def can_reject_lot(user: User) -> bool:
    return allowed(user, LOT_REJECT)


def can_manage_dose(user: User) -> bool:
    return allowed(user, CULTURE_RECORD)


def can_thaw_dose(user: User) -> bool:
    return allowed(user, DOSE_THAW)


def can_discard_dose(user: User) -> bool:
    return allowed(user, DOSE_DISCARD)


def can_report_dose_unusable(user: User) -> bool:
    return allowed(user, DOSE_REPORT_UNUSABLE)


def can_lift_dose_hold(user: User) -> bool:
    return allowed(user, DOSE_LIFT_HOLD)


def can_print_label(user: User) -> bool:
    return allowed(user, DOSE_LABEL)


def can_record_custody(user: User) -> bool:
    return allowed(user, CUSTODY_HANDOVER)


def can_follow_up_culture_alert(user: User) -> bool:
    return allowed(user, CULTURE_ALERT_FOLLOW_UP)


def scope_processing(user: User, qs: QuerySet) -> QuerySet:
    """Limit a processing queryset to the actor's organisation and to roles that read it."""
    if not can_view_processing(user):
        return qs.none()
    return scope_to_org(user, qs)


def same_org(user: Any, obj: Any) -> bool:
    return is_staff_user(user) and obj.organisation_id == user.organisation_id


# --- donors (allogeneic plans): kept apart from the recipient's records ------------------------

DONOR_READ_ROLES = (Role.PHYSICIAN, CPC, QA)
DONOR_SCREEN = _action(
    "donor.screen",
    label="Register a donor and record eligibility screening (tests and history)",
    roles=(Role.PHYSICIAN, CPC),
    why="Donor eligibility is judged by the physician and the CPC from the laboratory's report "
    "and the donor interview (ASRM Enforcement Regulation Art. 34: the eligibility result is "
    "part of the record of provision; Directive 2006/17/EC Annexes I and II).",
)
DONOR_CONSENT = _action(
    "donor.consent",
    label="Record or withdraw a donor's written consent",
    roles=(Role.PHYSICIAN,),
    why="Donor consent is given to the physician who explains the use of the cells and the "
    "risks to the donor (ASRM provision standards, donor consent).",
)


def can_view_donors(user: User) -> bool:
    """Donor identity: the physician, the CPC and QA only (not the recipient's care team)."""
    return is_staff_user(user) and user.has_role(*DONOR_READ_ROLES)


def can_screen_donor(user: User) -> bool:
    return allowed(user, DONOR_SCREEN)


def can_consent_donor(user: User) -> bool:
    return allowed(user, DONOR_CONSENT)


def scope_donors(user: User, qs: QuerySet) -> QuerySet:
    if not can_view_donors(user):
        return qs.none()
    return scope_to_org(user, qs)
