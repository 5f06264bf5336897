"""Identity per treatment course: its chain-of-identity identifier, and what its labels print.

A treatment course owns one chain-of-identity (CoI) identifier (ISBT 128 DS040, ST-028); every
donation of the course carries it and every comparison (labels, hand-overs, the bedside) asks the
course, never the patient, so a dose of one course can never pass for another course of the same
patient. The collection type a product code prints comes from the cell source of the plan version
the harvest was collected under. Each question here answers "refused" when it cannot prove the
answer (fail closed).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from saisei.core.audit import audit_record
from saisei.core.errors import Conflict, ValidationFailed
from saisei.core.models import Role, User
from saisei.processing.models import ChainOfIdentity, Donation, Dose
from saisei.processing.rules import processing_config

from .common import require, require_same_org

if TYPE_CHECKING:
    from saisei.journey.models import Patient, TreatmentCourse
    from saisei.regulatory.models import ProvisionPlan

CLOSED_COURSE_STATES = frozenset({"completed", "stopped"})


# --- binding a harvest to its course ---------------------------------------------------------


def harvest_course(
    *, patient: Patient, course: TreatmentCourse | None, plan: ProvisionPlan | None
) -> Any:
    """The course a harvest is recorded for: the patient's own, open, under the same plan."""
    if course is None:
        raise ValidationFailed(
            "course_required",
            _("Choose the treatment course this harvest is for."),
            {"course": [_("Required.")]},
        )
    if course.organisation_id != patient.organisation_id or course.voided_at is not None:
        raise ValidationFailed(
            "course_unknown", _("Unknown treatment course."), {"course": [_("Unknown course.")]}
        )
    if course.patient_id != patient.pk:
        raise ValidationFailed(
            "course_other_patient",
            _("This treatment course belongs to another patient."),
            {"course": [_("Choose a course of this patient.")]},
        )
    if plan is not None and plan.pk != course.plan_id:
        raise ValidationFailed(
            "course_other_plan",
            _("The treatment course runs under another provision plan."),
            {"plan": [_("Choose the plan of the course.")]},
        )
    if course.status in CLOSED_COURSE_STATES:
        raise Conflict(
            "course_closed",
            _("This treatment course is %(status)s; no harvest can be recorded for it.")
            % {"status": course.get_status_display()},
            {"course": [_("The course is closed.")]},
        )
    return course


def course_identity_issue(
    *, course: TreatmentCourse, patient: Patient, new_coi: str
) -> ChainOfIdentity:
    """The course's identity, issued with ``new_coi`` at its first harvest (ST-028: assign it
    before or at the first collection). Two first harvests racing for one course end with one
    identifier: the unique course constraint makes the loser read the winner's row."""
    existing = ChainOfIdentity.objects.filter(course=course).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return ChainOfIdentity.objects.create(
                organisation_id=patient.organisation_id, course=course, patient=patient, coi=new_coi
            )
    except IntegrityError:
        found = ChainOfIdentity.objects.filter(course=course).first()
        if found is None:  # the identifier itself is taken by another course
            raise Conflict(
                "coi_taken",
                _("That chain-of-identity identifier is already used; record the harvest again."),
            ) from None
        return found


# --- the identity every comparison uses -------------------------------------------------------


def donation_course_coi(*, donation: Donation) -> str:
    """The CoI of the donation's treatment course; refused when it cannot be proven."""
    if donation.course_id is None:
        raise Conflict(
            "course_identity_unbound",
            _(
                "This donation is not bound to a treatment course, so its chain of identity "
                "cannot be proven. QA must bind it to its course first."
            ),
        )
    identity = ChainOfIdentity.objects.filter(course_id=donation.course_id).first()
    if identity is None:
        raise Conflict(
            "course_identity_missing",
            _("No chain-of-identity identifier has been issued for this treatment course."),
        )
    if donation.coi != identity.coi or donation.patient_id != identity.patient_id:
        raise Conflict(
            "course_identity_mismatch",
            _(
                "The donation's chain-of-identity identifier is not its treatment course's. "
                "Stop and report it to QA."
            ),
        )
    return identity.coi


def dose_course_coi(*, dose: Dose) -> str:
    """The CoI of the course the dose was made for; the bag's own copy must agree with it."""
    coi = donation_course_coi(donation=dose.lot.donation)
    if dose.coi != coi or dose.patient_id != dose.lot.donation.patient_id:
        raise Conflict(
            "course_identity_mismatch",
            _(
                "The bag's chain-of-identity identifier is not its treatment course's. "
                "Stop and report it to QA."
            ),
        )
    return coi


# --- collection type from the plan's cell source ----------------------------------------------


def plan_cell_source(*, donation: Donation) -> str:
    """The cell source of the plan version in force on the collection day (fail closed)."""
    from saisei.regulatory.selectors import plan_version_covering

    plan = donation.plan
    version = (
        plan_version_covering(plan=plan, day=timezone.localdate(donation.collected_at))
        if plan is not None
        else None
    )
    source = (version.cell_origin if version is not None else "") or ""
    if not source:
        raise Conflict(
            "cell_source_unknown",
            _(
                "No provision plan in force on the collection day states the cell source, so the "
                "collection type cannot be printed."
            ),
        )
    # The harvest recorded the cell source the gate checked against this same plan version; if
    # the two ever disagree, neither can be trusted for the label.
    if donation.cell_source and donation.cell_source != source:
        raise Conflict(
            "cell_source_mismatch",
            _(
                "The harvest records the cell source “%(recorded)s” but the plan in force on the "
                "collection day states “%(plan)s”; no label can be printed until QA resolves it."
            )
            % {"recorded": donation.cell_source, "plan": source},
        )
    return source


def collection_type_for_cell_source(cell_source: str) -> str:
    """The ISBT 128 collection type configured for a cell source; an unmapped source, or a code
    of the other kind (an allogeneic source on an autologous code), is refused."""
    from saisei.processing.isbt128.config import DEFAULT_COLLECTION_TYPES

    code = processing_config().collection_types_by_cell_source.get(cell_source, "")
    known = DEFAULT_COLLECTION_TYPES.get(code)
    expected_autologous = {"autologous": True, "allogeneic": False}.get(cell_source)
    if known is None or expected_autologous is None or known.autologous != expected_autologous:
        raise Conflict(
            "collection_type_unknown",
            _(
                "No ISBT 128 collection type is set for the cell source “%(source)s”, so no "
                "label can be printed for it."
            )
            % {"source": cell_source},
        )
    return code


def donation_collection_type(*, donation: Donation) -> str:
    return collection_type_for_cell_source(plan_cell_source(donation=donation))


# --- repair: binding a harvest recorded before courses were required ---------------------------


def donation_course_bind(
    *, actor: User, donation: Donation, course: TreatmentCourse, reason: str
) -> Donation:
    """Bind a harvest that predates course binding to its course (QA, with a reason).

    The donation takes the course's identifier, issued from the donation's own DIN if the course
    has none yet; its bags take it too, so labels printed before must be reprinted.
    """
    from saisei.processing.isbt128 import build_coi

    require(actor.has_role(Role.QA_MANAGER))
    require_same_org(actor, donation)
    if not reason.strip():
        raise ValidationFailed(
            "reason_required", _("Give the reason."), {"reason": [_("Required.")]}
        )
    with transaction.atomic():
        donation = Donation.objects.select_for_update().get(pk=donation.pk)
        if donation.course_id is not None:
            raise Conflict(
                "course_already_bound",
                _("This donation is already bound to a treatment course."),
                {"course": [_("Already bound.")]},
            )
        harvest_course(patient=donation.patient, course=course, plan=donation.plan)
        own = build_coi(
            facility_id=donation.din[:5], year=int(donation.din[5:7]), sequence=donation.din[7:13]
        ).content
        identity = course_identity_issue(course=course, patient=donation.patient, new_coi=own)
        before = donation.coi
        donation.course = course
        donation.coi = identity.coi
        donation.save(update_fields=["course", "coi", "updated_at"])
        bags = list(Dose.objects.filter(lot__donation=donation).exclude(coi=identity.coi))
        for bag in bags:
            bag.coi = identity.coi
            bag.save(update_fields=["coi", "updated_at"])
        audit_record(
            actor=actor,
            organisation=donation.organisation,
            action="donation.bind_course",
            subject=donation,
            changes={
                "course": str(course.external_id),
                "coi_before": before,
                "coi": identity.coi,
                "doses": [f"{b.din} {b.product_code}" for b in bags],
            },
            reason=reason.strip(),
        )
    return donation
