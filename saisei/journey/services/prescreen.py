"""Pre-screening: sort an application by the plan's criteria; the physician decides and signs."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from saisei.core.audit import audit_record
from saisei.core.models import User
from saisei.core.services import signature_verify

from .. import permissions as perms
from ..models import (
    Patient,
    Prescreen,
    TreatmentPackage,
)
from ..prescreen import Criteria, PrescreenAnswers, prescreen
from ._common import Conflict, ValidationFailed, require, stored_message


def _package_for(plan: Any) -> TreatmentPackage | None:
    return (
        TreatmentPackage.objects.filter(plan=plan, is_active=True, voided_at__isnull=True)
        .order_by("code")
        .first()
    )


def prescreen_record(
    *, actor: User, patient: Patient, plan: Any, answers: dict[str, Any]
) -> Prescreen:
    """Sort the application by the plan's criteria; the result is a suggestion with reasons."""
    require(perms.can_record_prescreen, actor, patient)
    if plan.organisation_id != patient.organisation_id:
        raise ValidationFailed("plan_not_found", _("Unknown plan."))
    package = _package_for(plan)
    criteria = Criteria.from_dict(package.prescreen_criteria if package else {})
    try:
        parsed = PrescreenAnswers.from_dict(answers)
    except TypeError as exc:
        raise ValidationFailed(
            "invalid_answers", _("Some pre-screening answers are not recognised.")
        ) from exc
    result = prescreen(criteria=criteria, answers=parsed)
    with transaction.atomic():
        ps = Prescreen.objects.create(
            organisation=patient.organisation,
            patient=patient,
            plan=plan,
            answers=answers,
            criteria_version=criteria.plan_code or (package.code if package else "default"),
            staging_scheme=result.stage.scheme_name if result.stage else "",
            stage=result.stage.stage if result.stage else "",
            outcome=result.outcome,
            reasons=[stored_message(r.message, severity=r.severity) for r in result.reasons],
        )
        audit_record(
            actor=actor,
            organisation=patient.organisation,
            action="prescreen.record",
            subject=ps,
            changes={"outcome": result.outcome, "stage": ps.stage, "scheme": ps.staging_scheme},
        )
    return ps


def prescreen_decide(
    *,
    actor: User,
    prescreen_obj: Prescreen,
    decision: str,
    note: str,
    password: str,
    otp: str | None = None,
) -> Prescreen:
    """The physician decides eligibility and signs electronically (re-authenticated)."""
    require(perms.can_decide_prescreen, actor, prescreen_obj)
    if prescreen_obj.decision:
        raise Conflict("prescreen_already_decided", _("This pre-screening is already decided."))
    if decision not in ("eligible", "not_eligible"):
        raise ValidationFailed(
            "invalid_decision", _("Choose eligible or not eligible."), {"decision": [decision]}
        )
    if decision == "eligible" and prescreen_obj.outcome == "not_eligible" and not note.strip():
        raise ValidationFailed(
            "override_reason_required",
            _("Explain why the patient is eligible although a criterion excludes them."),
            {"note": [_("A reason is required.")]},
        )
    meaning = "I have reviewed the pre-screening and decide the patient is " + (
        "eligible" if decision == "eligible" else "not eligible"
    )
    sig = signature_verify(actor=actor, password=password, meaning=meaning, otp=otp)
    with transaction.atomic():
        prescreen_obj.decision = decision
        prescreen_obj.decision_note = note
        prescreen_obj.decided_by = actor
        prescreen_obj.decided_at = sig.signed_at
        prescreen_obj.signature = sig.as_dict()
        prescreen_obj.save()
        audit_record(
            actor=actor,
            organisation=prescreen_obj.organisation,
            action="prescreen.decide",
            subject=prescreen_obj,
            changes={"decision": decision, "suggested": prescreen_obj.outcome, "note": note},
        )
    return prescreen_obj
