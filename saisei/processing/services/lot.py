"""Donations, lots and the batch record: culture, environment, deviations, QC, release."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from saisei.core.audit import audit_record
from saisei.core.errors import Conflict, DomainError, Forbidden, ValidationFailed
from saisei.core.models import Organisation, Role, Site, User
from saisei.core.services import notify, signature_verify
from saisei.processing import permissions, specs
from saisei.processing.lifecycles import DEVIATION, DEVIATION_MOVE_TO, DOSE, DOSE_IN_STOCK, LOT
from saisei.processing.models import (
    CultureAlert,
    CultureStep,
    Deviation,
    Donation,
    Dose,
    Lot,
    QCResult,
    Release,
)
from saisei.processing.rules import MARKER_RESULTS, processing_config

from . import identity
from .common import aware, next_number, require, require_same_org, staff

# --- donation ------------------------------------------------------------------------------------


def _gate(
    *,
    actor: User,
    patient: Any,
    plan: Any,
    physician: Any,
    facility: Any,
    cell_source: str,
    site: Site,
    at: dt.datetime,
) -> None:
    """The compliance gate must allow this harvest (DESIGN invariant 1), or nothing is recorded.

    The place of the act is the collection site, the physician the one who performs the harvest
    (not whoever records it), and the indication the patient's coded diagnosis. A refusal is kept
    by the gate as a ``GateRefusal`` and reaches the caller as ``GateRefused`` (422).
    """
    from saisei.regulatory.services import gate_require

    gate_require(
        actor=actor,
        act="harvest",
        institution=site,
        physician=physician,
        patient=patient,
        plan=plan,
        route=None,
        dose_cells=None,
        administration_number=None,
        at=at,
        cell_source=cell_source,
        facility=facility,
        subject=_("Harvest for %(patient)s at %(site)s")
        % {"patient": getattr(patient, "patient_code", ""), "site": site.name},
    )


def _markers(raw: dict[str, str] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    errors: dict[str, list[str]] = {}
    for code, result in (raw or {}).items():
        value = str(result).strip().lower()
        if value not in MARKER_RESULTS:
            errors[str(code)] = [_("Enter negative, positive or pending.")]
        out[str(code)] = value
    if errors:
        raise ValidationFailed("marker_result", _("Some marker results cannot be read."), errors)
    return out


def markers_status(*, donation: Donation) -> dict[str, list[str]]:
    """Which required infection markers are missing, pending or positive."""
    required = processing_config().required_markers
    results = donation.infection_markers or {}
    return {
        "missing": [m for m in required if m not in results],
        "pending": [m for m in required if results.get(m) == "pending"],
        "positive": [m for m, v in results.items() if v == "positive"],
    }


def donation_record(
    *,
    actor: User,
    patient: Any,
    site: Site,
    harvest_site: str,
    tissue_weight_g: Decimal | float | str,
    container: str,
    collected_at: dt.datetime | None = None,
    transport_conditions: str = "",
    course: Any = None,
    plan: Any = None,
    physician: Any,
    facility: Any,
    cell_source: str,
    infection_markers: dict[str, str] | None = None,
    collector: User | None = None,
    notes: str = "",
) -> Donation:
    """Record a harvest for one treatment course and assign its DIN and chain-of-identity id.

    The course names the plan: an omitted ``plan`` is the course's, a stated one must be it. The
    compliance gate must then pass for the plan version in force that day, the performing
    physician (a separate argument, not whoever records it), the processing facility, the cell
    source and the patient's diagnosis (ASRM Art. 4, 13, 14); there is no path that records a
    harvest outside a plan. The CoI belongs to the course (ISBT 128 ST-028, one identifier per
    therapy event): the course's first harvest issues it, a repeat harvest for the same course
    shares it, and a new course gets a new one. The harvest closes that course's harvest step.
    """
    from saisei.processing.isbt128 import build_coi, build_din

    require(permissions.can_record_donation(actor))
    require_same_org(actor, patient)
    if site.organisation_id != actor.organisation_id:
        raise ValidationFailed("site_unknown", _("Unknown site."), {"site": [_("Unknown site.")]})
    try:
        weight = Decimal(str(tissue_weight_g))
    except InvalidOperation:
        weight = Decimal(-1)
    if not (Decimal(0) < weight <= Decimal(5000)):
        raise ValidationFailed(
            "tissue_weight",
            _("Enter the tissue weight in grams (more than 0, at most 5,000)."),
            {"tissue_weight_g": [_("Enter a weight in grams.")]},
        )
    if not harvest_site.strip() or not container.strip():
        raise ValidationFailed(
            "donation_incomplete",
            _("Record the body site and the container."),
            {"harvest_site" if not harvest_site.strip() else "container": [_("Required.")]},
        )
    course = identity.harvest_course(patient=patient, course=course, plan=plan)
    plan = course.plan
    at = aware(collected_at, field="collected_at")
    markers = _markers(infection_markers)
    for obj in (plan, physician, facility):
        if obj is not None:
            require_same_org(actor, obj)
    _gate(
        actor=actor,
        patient=patient,
        plan=plan,
        physician=physician,
        facility=facility,
        cell_source=(cell_source or "").strip().lower(),
        site=site,
        at=at,
    )
    config = processing_config()
    year = timezone.localtime(at).year
    with transaction.atomic():
        sequence = next_number(key=f"DIN:{config.facility_id}", year=year % 100)
        din = build_din(
            facility_id=config.facility_id, year=year, sequence=sequence, check_flags=True
        )
        coi = identity.course_identity_issue(
            course=course,
            patient=patient,
            new_coi=build_coi(facility_id=config.facility_id, year=year, sequence=sequence).content,
        ).coi
        donation = Donation.objects.create(
            organisation=patient.organisation,
            patient=patient,
            course=course,
            plan=plan,
            facility=facility,
            physician=physician,
            cell_source=(cell_source or "").strip().lower(),
            din=din.din,
            din_flags=din.flags,
            coi=coi,
            site=site,
            harvest_site=harvest_site.strip(),
            tissue_weight_g=weight,
            collected_at=at,
            collector=collector or actor,
            container=container.strip(),
            transport_conditions=transport_conditions.strip(),
            infection_markers=markers,
            notes=notes,
        )
        audit_record(
            actor=actor,
            organisation=donation.organisation,
            action="donation.record",
            subject=donation,
            changes={
                "din": donation.din,
                "coi": coi,
                "course": str(course.external_id),
                "patient": str(patient.external_id),
                "tissue_weight_g": str(weight),
                "plan": plan.plan_number or plan.title,
                "physician": str(physician),
                "facility": str(facility),
                "cell_source": donation.cell_source,
                "gate": "passed",
            },
        )
        from saisei.journey.services import course_step_record_harvest

        course_step_record_harvest(actor=actor, course=course, donation_ref=donation.din, at=at)
    return donation


def donation_markers_record(
    *, actor: User, donation: Donation, results: dict[str, str]
) -> Donation:
    """Add or correct infection-marker results; a correction of a final result needs QA."""
    require(permissions.can_record_markers(actor))
    require_same_org(actor, donation)
    new = _markers(results)
    with transaction.atomic():
        donation = Donation.objects.select_for_update().get(pk=donation.pk)
        before = dict(donation.infection_markers)
        changed_final = [
            m for m, v in new.items() if before.get(m) not in (None, "pending") and before[m] != v
        ]
        if changed_final and not permissions.can_correct_markers(actor):
            raise Forbidden(
                _("A final marker result can only be corrected by QA: %(markers)s")
                % {"markers": ", ".join(changed_final)},
                code="marker_final",
            )
        donation.infection_markers = {**before, **new}
        donation.save(update_fields=["infection_markers", "updated_at"])
        audit_record(
            actor=actor,
            organisation=donation.organisation,
            action="donation.markers",
            subject=donation,
            changes={"before": before, "after": donation.infection_markers},
        )
    return donation


# --- lot ---------------------------------------------------------------------------------------


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
    config = processing_config()
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
            started_on=started_on or timezone.localdate(),
            pdc=config.pdc,
            collection_type=identity.donation_collection_type(donation=donation),
        )
        lot_specifications(lot=lot)  # refuses an impossible specification before saving
        lot.forecast = _forecast(lot, donation)
        lot.due_on = _due(lot.forecast)
        lot.save()
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
            },
        )
    return lot


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


def _number_or_none(
    value: Any, *, field: str, low: float = 0, high: float | None = None
) -> float | None:
    if value in (None, ""):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValidationFailed(
            "invalid_number", _("Enter a number."), {field: [_("Enter a number.")]}
        ) from None
    if number < low or (high is not None and number > high):
        raise ValidationFailed(
            "out_of_range", _("A value is out of range."), {field: [_("Out of range.")]}
        )
    return number


def culture_step_record(
    *,
    actor: User,
    lot: Lot,
    kind: str,
    performed_at: dt.datetime | None = None,
    passage_number: int = 0,
    cell_count: float | None = None,
    viability_pct: float | None = None,
    population_doublings: float | None = None,
    vessel_type: str = "",
    vessel_count: int = 0,
    area_cm2: float | None = None,
    media_lot: str = "",
    reagent_lots: str = "",
    notes: str = "",
) -> CultureStep:
    """Add a step to the culture record and re-forecast the harvest day from actual counts."""
    require(permissions.can_record_culture(actor))
    require_same_org(actor, lot)
    if kind not in CultureStep.Kind.values:
        raise ValidationFailed(
            "step_kind", _("Unknown culture step."), {"kind": [_("Unknown step.")]}
        )
    at = aware(performed_at, field="performed_at")
    count = _number_or_none(cell_count, field="cell_count")
    viability = _number_or_none(viability_pct, field="viability_pct", high=100)
    doublings = _number_or_none(population_doublings, field="population_doublings", high=100)
    area = _number_or_none(area_cm2, field="area_cm2")
    if kind in (CultureStep.Kind.PASSAGE, CultureStep.Kind.HARVEST) and count is None:
        raise ValidationFailed(
            "count_required",
            _("A passage or harvest needs the viable cell count."),
            {"cell_count": [_("Required.")]},
        )
    with transaction.atomic():
        lot = Lot.objects.select_for_update().get(pk=lot.pk)
        if lot.status != Lot.Status.IN_CULTURE:
            raise Conflict(
                "lot_not_in_culture", _("The culture record is closed for this lot."), {}
            )
        step = CultureStep.objects.create(
            organisation=lot.organisation,
            lot=lot,
            kind=kind,
            performed_at=at,
            performed_by=actor,
            passage_number=int(passage_number or 0),
            cell_count=count,
            viability_pct=viability,
            population_doublings=doublings,
            vessel_type=vessel_type.strip(),
            vessel_count=int(vessel_count or 0),
            area_cm2=area,
            media_lot=media_lot.strip(),
            reagent_lots=reagent_lots.strip(),
            notes=notes,
        )
        if count is not None:
            lot.forecast = _forecast(lot, lot.donation)
            lot.due_on = _due(lot.forecast) or lot.due_on
            lot.save(update_fields=["forecast", "due_on", "updated_at"])
        audit_record(
            actor=actor,
            organisation=lot.organisation,
            action="culture_step.record",
            subject=step,
            changes={
                "lot": lot.number,
                "kind": kind,
                "passage": step.passage_number,
                "cell_count": count,
                "viability_pct": viability,
            },
        )
    return step


# --- deviations ---------------------------------------------------------------------------------


def deviation_open(
    *,
    actor: User | None,
    title: str,
    source: str,
    organisation: Organisation | None = None,
    lot: Lot | None = None,
    donation: Donation | None = None,
    description: str = "",
    severity: str = Deviation.Severity.MAJOR,
) -> Deviation:
    """Open a deviation (by hand, or automatically from an OOS result or an action-limit breach)."""
    if actor is not None and organisation is None:
        require(permissions.can_manage_deviation(actor))
    org = organisation or (lot.organisation if lot else getattr(actor, "organisation", None))
    if org is None:
        raise ValidationFailed(
            "organisation_required", _("The deviation needs an organisation."), {}
        )
    if not str(title).strip():
        raise ValidationFailed(
            "title_required", _("Give the deviation a title."), {"title": [_("Required.")]}
        )
    if source not in Deviation.Source.values or severity not in Deviation.Severity.values:
        raise ValidationFailed("deviation_kind", _("Unknown source or severity."), {})
    now = timezone.now()
    with transaction.atomic():
        number = next_number(key=f"DEV:{org.pk}", year=timezone.localtime(now).year)
        deviation = Deviation.objects.create(
            organisation=org,
            number=f"DEV-{timezone.localtime(now).year}-{number:04d}",
            lot=lot,
            donation=donation or (lot.donation if lot is not None else None),
            source=source,
            severity=severity,
            title=str(title)[:300],
            description=str(description),
            opened_at=now,
            opened_by=actor,
        )
        audit_record(
            actor=actor,
            organisation=org,
            action="deviation.open",
            subject=deviation,
            changes={
                "number": deviation.number,
                "source": source,
                "lot": lot.number if lot else None,
                "donation": deviation.donation.din if deviation.donation else None,
            },
        )
        notify(
            users=staff(organisation=org, roles=(Role.QA_MANAGER,)),
            subject=_("Deviation %(number)s opened: %(title)s")
            % {"number": deviation.number, "title": deviation.title},
            level="warn",
            link=f"/processing/deviations/{deviation.external_id}/",
            dedupe_key=f"deviation:{deviation.external_id}",
        )
    return deviation


def deviation_update(
    *,
    actor: User,
    deviation: Deviation,
    investigation: str | None = None,
    impact: str | None = None,
    capa: str | None = None,
    status: str | None = None,
) -> Deviation:
    """Document investigation, impact and CAPA; only QA closes, and only when all three exist."""
    require(permissions.can_manage_deviation(actor))
    require_same_org(actor, deviation)
    with transaction.atomic():
        deviation = Deviation.objects.select_for_update().get(pk=deviation.pk)
        if deviation.status == Deviation.Status.CLOSED:
            raise Conflict("deviation_closed", _("The deviation is closed."), {})
        before = {"status": deviation.status}
        for name, value in (("investigation", investigation), ("impact", impact), ("capa", capa)):
            if value is not None:
                setattr(deviation, name, value.strip())
        if status and status != deviation.status:
            DEVIATION.check(deviation, DEVIATION_MOVE_TO.get(status, status), actor=actor)
            if status == Deviation.Status.CLOSED:
                deviation.closed_at = timezone.now()
                deviation.closed_by = actor
            deviation.status = status
        deviation.save()
        audit_record(
            actor=actor,
            organisation=deviation.organisation,
            action="deviation.update",
            subject=deviation,
            changes={"before": before, "status": deviation.status},
        )
    return deviation


# --- QC, quarantine, release ---------------------------------------------------------------------


def _move_lot(lot: Lot, name: str, ctx: dict[str, Any] | None = None, reason: str = "") -> None:
    transition = LOT.check(lot, name, ctx={"reason": reason, **(ctx or {})})
    lot.status = transition.target
    if reason:
        lot.status_reason = reason
    lot.save(update_fields=["status", "status_reason", "updated_at"])


def qc_result_record(
    *,
    actor: User,
    lot: Lot,
    test_code: str,
    value: Any = None,
    pending: bool = False,
    tested_at: dt.datetime | None = None,
    method: str = "",
    organism: str = "",
) -> QCResult:
    """Record a QC result against the lot's specification.

    Out of specification quarantines the lot and opens a deviation; a positive sterility culture
    after release starts the positive-culture workflow instead.
    """
    require(permissions.can_record_qc(actor))
    require_same_org(actor, lot)
    spec_set = lot_specifications(lot=lot)
    try:
        spec = spec_set.get(test_code)
    except KeyError:
        raise ValidationFailed(
            "unknown_test",
            _("This test is not in the lot's specification."),
            {"test_code": [test_code]},
        ) from None
    at = aware(tested_at, field="tested_at")
    evaluation = None if pending else specs.evaluate(spec=spec, value=value)
    outcome = (
        QCResult.Outcome.PENDING
        if evaluation is None
        else QCResult.Outcome.PASSED
        if evaluation.passed
        else QCResult.Outcome.FAILED
    )
    with transaction.atomic():
        lot = Lot.objects.select_for_update().get(pk=lot.pk)
        if lot.status == Lot.Status.REJECTED:
            raise Conflict("lot_rejected", _("The lot is rejected; no further results."), {})
        result = QCResult.objects.create(
            organisation=lot.organisation,
            lot=lot,
            test_code=test_code,
            value="" if evaluation is None else str(evaluation.value),
            outcome=outcome,
            limit_text=spec.limit_text(),
            method=method,
            tested_at=at,
            recorded_by=actor,
        )
        audit_record(
            actor=actor,
            organisation=lot.organisation,
            action="qc_result.record",
            subject=result,
            changes={
                "lot": lot.number,
                "test": test_code,
                "value": result.value,
                "outcome": outcome,
            },
        )
        released = lot.status in (Lot.Status.RELEASED, Lot.Status.CONDITIONALLY_RELEASED)
        if outcome == QCResult.Outcome.FAILED and test_code == specs.STERILITY and released:
            alert = _culture_positive(actor=actor, lot=lot, organism=organism or str(value))
            result.deviation = alert.deviation
            result.save(update_fields=["deviation"])
        elif outcome == QCResult.Outcome.FAILED:
            result.deviation = deviation_open(
                actor=actor,
                organisation=lot.organisation,
                lot=lot,
                source=Deviation.Source.OOS,
                title=_("Out of specification: %(test)s on lot %(lot)s")
                % {"test": spec.name, "lot": lot.number},
                description=str(evaluation.message) if evaluation else "",
            )
            result.save(update_fields=["deviation"])
            if lot.status not in (Lot.Status.QUARANTINED,):
                _move_lot(
                    lot, "quarantine", reason=str(evaluation.message) if evaluation else "OOS"
                )
                _block_doses(
                    actor=actor, lot=lot, status="quarantine_hold", reason=_("Lot quarantined")
                )
        elif (
            outcome == QCResult.Outcome.PASSED
            and test_code == specs.STERILITY
            and lot.status == Lot.Status.CONDITIONALLY_RELEASED
        ):
            readiness = lot_readiness(lot=lot)
            if readiness.status == "full":
                _move_lot(lot, "confirm_sterility", {"readiness": readiness})
                Release.objects.filter(lot=lot).update(sterility_confirmed_at=at)
    return result


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


def _culture_positive(*, actor: User, lot: Lot, organism: str) -> CultureAlert:
    """Positive culture after release: alert physicians, block every dose, list doses given."""
    deviation = deviation_open(
        actor=actor,
        organisation=lot.organisation,
        lot=lot,
        source=Deviation.Source.POSITIVE_CULTURE,
        severity=Deviation.Severity.CRITICAL,
        title=_("Sterility culture positive after release: lot %(lot)s") % {"lot": lot.number},
        description=organism,
    )
    reason = _("Sterility culture positive after release")
    _move_lot(lot, "reject", reason=str(reason))
    blocked = _block_doses(actor=actor, lot=lot, status="recalled", reason=str(reason))
    given = [
        {
            "dose": str(d.external_id),
            "product_code": d.product_code,
            "administered_at": d.administered_at.isoformat() if d.administered_at else None,
            "administration_ref": d.administration_ref,
        }
        for d in lot.doses.filter(status=Dose.Status.ADMINISTERED)
    ]
    physicians = staff(organisation=lot.organisation, roles=(Role.PHYSICIAN, Role.QA_MANAGER))
    alert = CultureAlert.objects.create(
        organisation=lot.organisation,
        lot=lot,
        reported_at=timezone.now(),
        reported_by=actor,
        organism=organism[:200],
        deviation=deviation,
        physicians_notified=[u.username for u in physicians],
        doses_blocked=[str(d.external_id) for d in blocked],
        doses_given=given,
    )
    notify(
        users=physicians,
        subject=_(
            "URGENT: sterility culture of lot %(lot)s turned positive after release. "
            "Do not use any dose; %(given)s dose(s) already given need follow-up."
        )
        % {"lot": lot.number, "given": len(given)},
        body=organism,
        level="danger",
        link=f"/processing/lots/{lot.external_id}/",
        dedupe_key=f"culture_alert:{alert.external_id}",
    )
    audit_record(
        actor=actor,
        organisation=lot.organisation,
        action="lot.culture_positive",
        subject=alert,
        changes={"lot": lot.number, "blocked": len(blocked), "given": given},
    )
    return alert


def culture_alert_follow_up(*, actor: User, alert: CultureAlert, follow_up: str) -> CultureAlert:
    """Record what happened to the doses already given (patients contacted, treatment, outcome)."""
    require(permissions.can_follow_up_culture_alert(actor))
    require_same_org(actor, alert)
    if not follow_up.strip():
        raise ValidationFailed(
            "follow_up_required", _("Describe the follow-up."), {"follow_up": [_("Required.")]}
        )
    with transaction.atomic():
        alert.follow_up = follow_up.strip()
        alert.save(update_fields=["follow_up", "updated_at"])
        audit_record(
            actor=actor,
            organisation=alert.organisation,
            action="culture_alert.follow_up",
            subject=alert,
            changes={"follow_up": alert.follow_up},
        )
    return alert


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
