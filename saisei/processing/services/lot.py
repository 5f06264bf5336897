"""Lots: creation from a cleared donation, specification, readiness, forecast and moves."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from saisei.core.audit import audit_record
from saisei.core.errors import Conflict, DomainError, ValidationFailed
from saisei.core.models import User
from saisei.core.services import signature_verify
from saisei.processing import permissions, specs
from saisei.processing.lifecycles import DOSE, DOSE_IN_STOCK, LOT
from saisei.processing.models import Donation, Dose, Lot, QCResult
from saisei.processing.rules import processing_config
from saisei.regulatory.services import standard_documents_in_force

from . import identity
from .common import require, require_same_org
from .donation import markers_status


def lot_specifications(*, lot: Lot) -> specs.SpecificationSet:
    """The release specification for this lot's route, patient weight and dosing."""
    return specs.default_specifications(
        route=lot.route,
        weight_kg=float(lot.patient_weight_kg),
        cells_per_dose=float(lot.cells_per_dose),
        doses=int(lot.planned_doses),
        dose_volume_ml=lot.dose_volume_ml,
    )


def lot_readiness(*, lot: Lot) -> specs.Readiness:
    """What stands between the lot and release, from its current QC results."""
    from saisei.processing.selectors import qc_results_current

    results: dict[str, Any] = {}
    for code, result in qc_results_current(lot=lot).items():
        results[code] = (
            specs.PENDING if result.outcome == QCResult.Outcome.PENDING else result.value
        )
    return specs.release_readiness(
        specs=lot_specifications(lot=lot),
        results=results,
        allow_conditional=lot.allow_conditional_release,
    )


def _counts(lot: Lot) -> list[dict[str, Any]]:
    steps = lot.steps.filter(
        voided_at__isnull=True, cell_count__isnull=False, kind__in=["passage", "harvest"]
    ).order_by("performed_at")
    return [
        {
            "date": timezone.localtime(s.performed_at).date(),
            "passage": s.passage_number,
            "cells": s.cell_count,
        }
        for s in steps
        if s.cell_count and s.cell_count > 0
    ]


def _forecast(lot: Lot, donation: Donation) -> dict[str, Any]:
    from saisei.processing.expansion import forecast

    try:
        result = forecast(
            tissue_g=float(donation.tissue_weight_g),
            target_cells=float(lot.cells_per_dose) * lot.planned_doses,
            start_date=lot.started_on,
            actual_counts=_counts(lot) if lot.pk else None,
        )
    except DomainError as exc:
        return {"error": exc.as_dict()["error"]}
    return result.as_dict()


def lot_create(
    *,
    actor: User,
    donation: Donation,
    planned_doses: int,
    cells_per_dose: float,
    route: str = Lot.Route.IV,
    dose_volume_ml: float | None = None,
    allow_conditional_release: bool = False,
    started_on: dt.date | None = None,
    patient_weight_kg: float | None = None,
) -> Lot:
    """Start a lot from a donation whose required infection markers are all negative."""
    require(permissions.can_record_culture(actor))
    require_same_org(actor, donation)
    _require_markers_negative(donation)
    weight = _check_lot_inputs(
        donation=donation,
        route=route,
        patient_weight_kg=patient_weight_kg,
        planned_doses=planned_doses,
        cells_per_dose=cells_per_dose,
    )
    config = processing_config()
    started = started_on or timezone.localdate()
    documents = _documents_for(donation, started)
    with transaction.atomic():
        donation = Donation.objects.select_for_update().get(pk=donation.pk)
        n = donation.lots.count() + 1
        lot = Lot(
            organisation=donation.organisation,
            donation=donation,
            number=f"{donation.din}-{n:02d}",
            route=route,
            planned_doses=planned_doses,
            cells_per_dose=float(cells_per_dose),
            dose_volume_ml=dose_volume_ml,
            patient_weight_kg=float(weight),
            allow_conditional_release=allow_conditional_release,
            started_on=started,
            pdc=config.pdc,
            collection_type=identity.donation_collection_type(donation=donation),
        )
        lot_specifications(lot=lot)  # refuses an impossible specification before saving
        lot.forecast = _forecast(lot, donation)
        lot.due_on = _due(lot.forecast)
        lot.save()
        lot.document_versions.set(documents)
        audit_record(
            actor=actor,
            organisation=lot.organisation,
            action="lot.create",
            subject=lot,
            changes={
                "number": lot.number,
                "donation": donation.din,
                "planned_doses": planned_doses,
                "cells_per_dose": float(cells_per_dose),
                "route": route,
                "documents": [f"{d.document_number} v{d.version}" for d in documents],
            },
        )
    return lot


def _require_markers_negative(donation: Donation) -> None:
    """Every required infection marker is recorded and negative, or the tissue is not processed."""
    status = markers_status(donation=donation)
    if status["positive"]:
        raise Conflict(
            "donation_marker_positive",
            _("An infection marker is positive; this tissue must not be processed."),
            {"infection_markers": status["positive"]},
        )
    if status["missing"] or status["pending"]:
        raise Conflict(
            "donation_markers_incomplete",
            _("Infection-marker results are required before processing."),
            {"infection_markers": status["missing"] + status["pending"]},
        )


def _check_lot_inputs(
    *,
    donation: Donation,
    route: str,
    patient_weight_kg: float | None,
    planned_doses: int,
    cells_per_dose: float,
) -> Any:
    """Route, the patient's weight (for the endotoxin limit), doses and cells; returns the
    weight in kg."""
    if route not in Lot.Route.values:
        raise ValidationFailed(
            "route", _("Unknown route."), {"route": [_("Choose IV or intrathecal.")]}
        )
    weight = patient_weight_kg or donation.patient.weight_kg
    if weight is None or float(weight) <= 0:
        raise ValidationFailed(
            "patient_weight_required",
            _("The patient's weight is needed for the endotoxin limit."),
            {"patient_weight_kg": [_("Enter the weight in kg.")]},
        )
    if not isinstance(planned_doses, int) or not 1 <= planned_doses <= 26:
        raise ValidationFailed(
            "planned_doses", _("Plan between 1 and 26 doses."), {"planned_doses": [_("1 to 26.")]}
        )
    if not cells_per_dose or float(cells_per_dose) <= 0:
        raise ValidationFailed(
            "cells_per_dose", _("Enter the cells per dose."), {"cells_per_dose": [_("Required.")]}
        )
    return weight


def _documents_for(donation: Donation, started: dt.date) -> Any:
    """The 標準書 and SOP versions the lot is made under; none for the plan refuses (fail closed)."""
    facility, plan = donation.facility, donation.plan
    if facility is None or plan is None:
        raise ValidationFailed(
            "standard_document_missing",
            _("The donation names no processing facility and plan, so no 標準書 applies."),
            {"standard_document": [_("Record the donation's facility and plan.")]},
        )
    return standard_documents_in_force(facility=facility, plan=plan, on=started)


def _due(forecast: dict[str, Any]) -> dt.date | None:
    likely = forecast.get("likely")
    return dt.date.fromisoformat(likely) if likely else None


def lot_reforecast(*, actor: User, lot: Lot) -> Lot:
    """Re-forecast the harvest day from the counts recorded so far."""
    require(permissions.can_record_culture(actor))
    require_same_org(actor, lot)
    with transaction.atomic():
        lot.forecast = _forecast(lot, lot.donation)
        lot.due_on = _due(lot.forecast) or lot.due_on
        lot.save(update_fields=["forecast", "due_on", "updated_at"])
    return lot


def _move_lot(lot: Lot, name: str, ctx: dict[str, Any] | None = None, reason: str = "") -> None:
    transition = LOT.check(lot, name, ctx={"reason": reason, **(ctx or {})})
    lot.status = transition.target
    if reason:
        lot.status_reason = reason
    lot.save(update_fields=["status", "status_reason", "updated_at"])


def _block_doses(*, actor: User | None, lot: Lot, status: str, reason: str) -> list[Dose]:
    """Take every dose of the lot out of use; administered doses are left as they are.

    A recall reaches held bags too; a quarantine leaves a hold in place, so lifting the lot's
    quarantine and releasing it again never releases a bag QA has not cleared.
    """
    blocked = []
    target = "recalled" if status == "recalled" else "quarantine"
    for dose in Dose.objects.select_for_update().filter(lot=lot, status__in=DOSE_IN_STOCK):
        if target == "quarantine" and dose.status in ("quarantine", "on_hold"):
            continue
        previous = dose.status
        DOSE.check(
            dose,
            "recall" if target == "recalled" else "hold",
            ctx={"reason": reason},
        )
        if previous == Dose.Status.ON_HOLD:
            from .hold import end_active_hold

            end_active_hold(actor=actor, dose=dose, reason=reason)
        dose.status = target
        dose.status_reason = reason
        dose.save(update_fields=["status", "status_reason", "updated_at"])
        audit_record(
            actor=actor,
            organisation=lot.organisation,
            action=f"dose.{'recall' if target == 'recalled' else 'quarantine'}",
            subject=dose,
            changes={"from": previous, "to": target},
            reason=reason,
        )
        blocked.append(dose)
    return blocked


def lot_submit_qc(*, actor: User, lot: Lot) -> Lot:
    """Close the culture record and hand the lot to QC."""
    require(permissions.can_record_culture(actor))
    require_same_org(actor, lot)
    with transaction.atomic():
        lot = Lot.objects.select_for_update().get(pk=lot.pk)
        _move_lot(lot, "submit_qc")
        audit_record(
            actor=actor, organisation=lot.organisation, action="lot.submit_qc", subject=lot
        )
    return lot


def lot_quarantine(*, actor: User, lot: Lot, reason: str) -> Lot:
    require(permissions.can_quarantine_lot(actor))
    require_same_org(actor, lot)
    with transaction.atomic():
        lot = Lot.objects.select_for_update().get(pk=lot.pk)
        _move_lot(lot, "quarantine", reason=reason)
        _block_doses(actor=actor, lot=lot, status="quarantine_hold", reason=reason)
        audit_record(
            actor=actor,
            organisation=lot.organisation,
            action="lot.quarantine",
            subject=lot,
            reason=reason,
        )
    return lot


def lot_quarantine_lift(*, actor: User, lot: Lot, reason: str) -> Lot:
    """QA returns a quarantined lot to QC once its deviations are closed."""
    require(permissions.can_lift_lot_quarantine(actor))
    require_same_org(actor, lot)
    with transaction.atomic():
        lot = Lot.objects.select_for_update().get(pk=lot.pk)
        _move_lot(lot, "lift_quarantine", reason=reason)
        audit_record(
            actor=actor,
            organisation=lot.organisation,
            action="lot.lift_quarantine",
            subject=lot,
            reason=reason,
        )
    return lot


REJECT_MEANING = "I reject this lot: it must not be given to any patient."


def lot_reject(*, actor: User, lot: Lot, reason: str, password: str, otp: str | None = None) -> Lot:
    """QA rejects the lot by electronic signature: a final disposition that recalls its doses.

    Signed like a release (DESIGN invariant 4): the signer re-authenticates with every factor
    they are enrolled in, and the signature is kept in the ledger entry.
    """
    require(permissions.can_reject_lot(actor))
    require_same_org(actor, lot)
    signature = signature_verify(actor=actor, password=password, meaning=REJECT_MEANING, otp=otp)
    with transaction.atomic():
        lot = Lot.objects.select_for_update().get(pk=lot.pk)
        _move_lot(lot, "reject", reason=reason)
        _block_doses(actor=actor, lot=lot, status="recalled", reason=reason)
        audit_record(
            actor=actor,
            organisation=lot.organisation,
            action="lot.reject",
            subject=lot,
            reason=reason,
            changes={"lot": lot.number, "signature": signature.as_dict()},
        )
    return lot
