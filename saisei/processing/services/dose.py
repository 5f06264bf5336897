"""Doses: division into bags, cryopreservation and storage, thaw, administration; labels."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from saisei.core.audit import audit_record
from saisei.core.errors import Conflict, ValidationFailed
from saisei.core.models import User
from saisei.core.services import signature_verify
from saisei.processing import permissions, specs
from saisei.processing.lifecycles import DOSE, DOSE_RELEASED
from saisei.processing.models import (
    Deviation,
    Donation,
    Dose,
    LabelPrint,
    Lot,
    QCResult,
    Release,
)
from saisei.processing.rules import processing_config

from . import identity
from .common import aware, require, require_same_org

if TYPE_CHECKING:
    from saisei.treatment.models import Administration

DIVIDABLE = (Lot.Status.IN_CULTURE, Lot.Status.QC_PENDING)


def dose_divide(*, actor: User, lot: Lot, bags: list[dict[str, Any]]) -> list[Dose]:
    """Divide the harvested lot into bags, each with its own ISBT 128 division (ST-001 §2.4.3)."""
    from saisei.processing.isbt128 import build_product_code, division_code

    require(permissions.can_manage_dose(actor))
    require_same_org(actor, lot)
    if not bags or len(bags) > 26:
        raise ValidationFailed(
            "bags", _("Divide into 1 to 26 bags."), {"bags": [_("1 to 26 bags.")]}
        )
    errors: dict[str, list[str]] = {}
    cleaned = []
    for i, bag in enumerate(bags):
        try:
            cells = float(bag.get("cell_count"))  # type: ignore[arg-type]
            volume = float(bag.get("volume_ml"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            errors[f"bags[{i}]"] = [_("Enter the cell count and volume.")]
            continue
        if cells <= 0 or volume <= 0:
            errors[f"bags[{i}]"] = [_("Cell count and volume must be positive.")]
        cleaned.append((cells, volume))
    if errors:
        raise ValidationFailed("bags", _("Some bags are not complete."), errors)
    with transaction.atomic():
        lot = Lot.objects.select_for_update().select_related("donation").get(pk=lot.pk)
        if lot.status not in DIVIDABLE:
            raise Conflict("lot_not_dividable", _("This lot can no longer be divided."), {})
        if not lot.steps.filter(kind="harvest", voided_at__isnull=True).exists():
            raise Conflict("harvest_first", _("Record the harvest before dividing the lot."), {})
        start = lot.doses.count()
        if start + len(cleaned) > 26:
            raise Conflict("too_many_bags", _("A lot has at most 26 bags."), {})
        coi = identity.donation_course_coi(donation=lot.donation)
        _require_collection_type(found=lot.collection_type, donation=lot.donation)
        doses = []
        for offset, (cells, volume) in enumerate(cleaned, start=1):
            number = start + offset
            product = build_product_code(
                pdc=lot.pdc,
                collection_type=lot.collection_type,
                division=division_code(first=number),
            )
            doses.append(
                Dose.objects.create(
                    organisation=lot.organisation,
                    lot=lot,
                    patient=lot.donation.patient,
                    din=lot.donation.din,
                    coi=coi,
                    product_code=product.code,
                    division=product.division,
                    sequence=number,
                    cell_count=cells,
                    volume_ml=volume,
                )
            )
        audit_record(
            actor=actor,
            organisation=lot.organisation,
            action="lot.divide",
            subject=lot,
            changes={
                "doses": [{"product_code": d.product_code, "cells": d.cell_count} for d in doses]
            },
        )
    return doses


def dose_cryopreserve(
    *,
    actor: User,
    dose: Dose,
    freezer: str,
    rack: str,
    position: str,
    cryopreserved_at: dt.datetime | None = None,
) -> Dose:
    """Record freezing and the storage location; the expiry follows the configured shelf life."""
    require(permissions.can_manage_dose(actor))
    require_same_org(actor, dose)
    if not (freezer.strip() and rack.strip() and position.strip()):
        raise ValidationFailed(
            "storage_required",
            _("Give freezer, rack and position."),
            {"position": [_("Required.")]},
        )
    at = aware(cryopreserved_at, field="cryopreserved_at")
    try:
        with transaction.atomic():
            dose = Dose.objects.select_for_update().get(pk=dose.pk)
            if dose.status not in (Dose.Status.QUARANTINE, Dose.Status.RELEASED):
                raise Conflict("dose_not_storable", _("Only a dose at the CPC can be stored."), {})
            dose.cryopreserved_at = dose.cryopreserved_at or at
            dose.expires_at = dose.cryopreserved_at + dt.timedelta(
                days=processing_config().dose_shelf_life_days
            )
            dose.freezer, dose.rack, dose.position = freezer.strip(), rack.strip(), position.strip()
            dose.save()
            audit_record(
                actor=actor,
                organisation=dose.organisation,
                action="dose.store",
                subject=dose,
                changes={"location": dose.storage_location, "expires_at": dose.expires_at},
            )
    except IntegrityError:
        raise Conflict(
            "storage_position_taken",
            _("That storage position already holds another bag."),
            {"position": [_("Position taken.")]},
        ) from None
    return dose


def dose_thaw(
    *,
    actor: User,
    dose: Dose,
    viability_pct: float,
    thawed_at: dt.datetime | None = None,
    use_within_hours: float | None = None,
) -> Dose:
    """Record thaw, post-thaw viability (≥ 70 % by default, facts §3.2) and the use-by time."""
    require(permissions.can_thaw_dose(actor))
    require_same_org(actor, dose)
    at = aware(thawed_at, field="thawed_at")
    hours = use_within_hours or processing_config().post_thaw_use_hours
    lot = dose.lot
    spec = specs.default_specifications(
        route=lot.route,
        weight_kg=lot.patient_weight_kg,
        cells_per_dose=lot.cells_per_dose,
        doses=lot.planned_doses,
    ).get(specs.VIABILITY_POST_THAW)
    evaluation = specs.evaluate(spec=spec, value=viability_pct)
    with transaction.atomic():
        dose = Dose.objects.select_for_update().select_related("lot").get(pk=dose.pk)
        DOSE.check(
            dose,
            "thaw",
            ctx={"viability": viability_pct, "at": at},
        )
        dose.status = Dose.Status.THAWED
        dose.thawed_at = at
        dose.post_thaw_viability_pct = float(evaluation.value)
        dose.use_by = at + dt.timedelta(hours=hours)
        dose.save()
        result = QCResult.objects.create(
            organisation=dose.organisation,
            lot=dose.lot,
            dose=dose,
            test_code=specs.VIABILITY_POST_THAW,
            value=str(evaluation.value),
            outcome=QCResult.Outcome.PASSED if evaluation.passed else QCResult.Outcome.FAILED,
            limit_text=spec.limit_text(),
            tested_at=at,
            recorded_by=actor,
        )
        if not evaluation.passed:
            from .deviation import deviation_open

            result.deviation = deviation_open(
                actor=actor,
                organisation=dose.organisation,
                lot=dose.lot,
                source=Deviation.Source.OOS,
                title=_("Post-thaw viability out of specification: %(code)s")
                % {"code": dose.product_code},
                description=str(evaluation.message),
            )
            result.save(update_fields=["deviation"])
        audit_record(
            actor=actor,
            organisation=dose.organisation,
            action="dose.thaw",
            subject=dose,
            changes={"viability_pct": dose.post_thaw_viability_pct, "use_by": dose.use_by},
        )
    return dose


def dose_administer(*, actor: User, administration: Administration) -> Dose:
    """Mark the bag of a recorded administration as given, once (DESIGN invariants 1 and 3).

    There is no way to give a dose here: the act is treatment's ``administration_record``, which
    passes the bedside checks and the compliance gate and then calls this inside its
    transaction. This only moves the bag's state, and refuses unless ``administration`` is a
    stored administration of this very bag that the gate allowed. A conditional update plus
    the unique administration reference make a second, concurrent attempt fail.
    """
    require(permissions.can_thaw_dose(actor))
    dose_id = getattr(administration, "dose_id", None)
    stored = (
        administration is not None
        and administration.pk is not None
        and type(administration).objects.filter(pk=administration.pk, dose_id=dose_id).exists()
    )
    if not stored or dose_id is None:
        raise Conflict(
            "administration_required",
            _("A dose is marked given only by recording its administration at the bedside."),
            {},
        )
    if (administration.gate_result or {}).get("allowed") is not True:
        raise Conflict(
            "compliance_gate_refused",
            _("The compliance gate did not allow this administration."),
            {},
        )
    when = aware(administration.started_at, field="started_at")
    reference = str(administration.external_id)
    with transaction.atomic():
        current = Dose.objects.select_related("lot").get(pk=dose_id)
        require_same_org(actor, current)
        if current.status == Dose.Status.ADMINISTERED:
            raise Conflict("dose_already_administered", _("This dose has already been given."), {})
        DOSE.check(current, "administer", ctx={"at": when})
        try:
            with transaction.atomic():
                updated = Dose.objects.filter(pk=dose_id, status=Dose.Status.THAWED).update(
                    status=Dose.Status.ADMINISTERED,
                    administered_at=when,
                    administration_ref=reference[:64],
                    updated_at=timezone.now(),
                )
        except IntegrityError:
            updated = 0
        if updated != 1:
            raise Conflict("dose_already_administered", _("This dose has already been given."), {})
        current.refresh_from_db()
        audit_record(
            actor=actor,
            organisation=current.organisation,
            action="dose.administer",
            subject=current,
            changes={"administration_ref": current.administration_ref, "at": when},
        )
    return current


DISCARD_CONFIRM_MEANING = "Second-person check: I confirm this released dose is to be destroyed"


def _was_released(dose: Dose) -> bool:
    """A dose counts as released once QA released its lot, whatever happened since."""
    return dose.status in DOSE_RELEASED or Release.objects.filter(lot_id=dose.lot_id).exists()


def _discard_confirmation(
    *, actor: User, second_person: User | None, password: str, otp: str | None
) -> dict[str, Any]:
    """Another CPC technician or QA member of the organisation confirms with their own password."""
    if second_person is None:
        raise ValidationFailed(
            "second_person_required",
            _("A released dose is discarded only with a second person's confirmation."),
            {"second_person": [_("Required.")]},
        )
    if second_person.pk == actor.pk:
        raise ValidationFailed(
            "second_person_same",
            _("The second person must be someone other than you."),
            {"second_person": [_("Choose another staff member.")]},
        )
    if (
        second_person.organisation_id != actor.organisation_id
        or not second_person.is_active
        or not permissions.can_discard_dose(second_person)
    ):
        raise ValidationFailed(
            "second_person_not_allowed",
            _("The second person must be a CPC technician or QA member of this organisation."),
            {"second_person": [_("Not allowed to confirm a discard.")]},
        )
    try:
        signature = signature_verify(
            actor=second_person, password=password, meaning=DISCARD_CONFIRM_MEANING, otp=otp
        )
    except ValidationFailed as exc:
        # Name the second person's fields, so the form marks the right boxes.
        raise ValidationFailed(
            exc.code,
            exc.message,
            {f"second_person_{k}": v for k, v in exc.fields.items()},
        ) from None
    return signature.as_dict()


def dose_discard(
    *,
    actor: User,
    dose: Dose,
    reason: str,
    second_person: User | None = None,
    second_person_password: str = "",
    second_person_otp: str | None = None,
) -> Dose:
    """Destroy a bag: only the processing side (CPC or QA), always with a reason, and for a
    released dose with a second person's confirmation (DESIGN invariant 4).

    Clinicians who find a bag unusable report it (``dose_report_unusable``) instead.
    """
    from .hold import end_active_hold

    require(permissions.can_discard_dose(actor))
    require_same_org(actor, dose)
    text = str(reason or "").strip()
    if not text:
        raise ValidationFailed(
            "reason_required",
            _("Give the reason the dose is discarded."),
            {"reason": [_("A reason is required.")]},
        )
    released = _was_released(dose)
    confirmation = (
        _discard_confirmation(
            actor=actor,
            second_person=second_person,
            password=second_person_password,
            otp=second_person_otp,
        )
        if released
        else None
    )
    with transaction.atomic():
        dose = Dose.objects.select_for_update().get(pk=dose.pk)
        DOSE.check(dose, "discard", ctx={"reason": text})
        previous = dose.status
        if previous == Dose.Status.ON_HOLD:
            end_active_hold(actor=actor, dose=dose, reason=_("Discarded: %(r)s") % {"r": text})
        dose.status = Dose.Status.DISCARDED
        dose.status_reason = text
        dose.discard_record = {
            "by": actor.username,
            "at": timezone.now().isoformat(),
            "released": released,
            "second_person": confirmation,
        }
        dose.save(update_fields=["status", "status_reason", "discard_record", "updated_at"])
        audit_record(
            actor=actor,
            organisation=dose.organisation,
            action="dose.discard",
            subject=dose,
            changes={"from": previous, "released": released, "second_person": confirmation},
            reason=text,
        )
    return dose


# --- labels ------------------------------------------------------------------------------------


def _require_collection_type(*, found: str, donation: Donation) -> None:
    """The collection type on record must be the one the plan's cell source maps to."""
    expected = identity.donation_collection_type(donation=donation)
    if found != expected:
        raise Conflict(
            "collection_type_mismatch",
            _(
                "The product code carries collection type %(found)s, but the plan's cell source "
                "calls for %(expected)s. Nothing can be labelled until QA resolves it."
            )
            % {"found": found or "—", "expected": expected},
        )


def _course_coi(content: str) -> Any:
    from saisei.processing.isbt128 import build_coi

    return build_coi(facility_id=content[2:7], year=int(content[7:9]), sequence=content[9:15])


def dose_label(*, dose: Dose) -> Any:
    """The ISBT 128 product label content for a dose bag: its course's CoI, and the collection
    type its plan's cell source calls for (refused when either cannot be proven)."""
    from saisei.processing.isbt128 import expiration_barcode_data, parse_din
    from saisei.processing.labels import PatientIdentifiers, ProductLabel

    donation = dose.lot.donation
    din = parse_din(text=f"={donation.din}{donation.din_flags}")
    coi = _course_coi(identity.dose_course_coi(dose=dose))
    _require_collection_type(found=dose.product_code[5:6], donation=donation)
    expires = dose.expires_at or (
        timezone.now() + dt.timedelta(days=processing_config().dose_shelf_life_days)
    )
    patient = dose.patient
    eye = din.eye_readable()
    return ProductLabel(
        din=din.din,
        check_character=din.check_character,
        din_data=din.barcode_data,
        product_code=dose.product_code,
        product_code_data=f"=<{dose.product_code}",
        division=dose.division,
        expiry=expires,
        expiry_data=expiration_barcode_data(expires=expires),
        flags_text=eye.flags,
        product_description="MSC(AT)",
        coi_text=coi.content,
        coi_check_character=coi.check_character(),
        coi_data=coi.barcode_data,
        patient=PatientIdentifiers(
            name=patient.display_name,
            date_of_birth=patient.date_of_birth,
            patient_id=patient.patient_code,
        ),
    )


def label_print(
    *, actor: User, dose: Dose, count: int = 1, reason: str = "", kind: str = LabelPrint.Kind.DOSE
) -> tuple[LabelPrint, bytes]:
    """Print labels for a dose and count them; a reprint needs a reason (FACT-JACIE reconciliation)."""
    from saisei.processing.labels import render_label_pdf

    require(permissions.can_print_label(actor))
    require_same_org(actor, dose)
    if dose.status in (Dose.Status.DISCARDED, Dose.Status.RECALLED, Dose.Status.ADMINISTERED):
        raise Conflict("dose_closed", _("No labels for a dose that is no longer in use."), {})
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 50:
        raise ValidationFailed(
            "count", _("Print between 1 and 50 labels."), {"count": [_("1 to 50.")]}
        )
    label = dose_label(dose=dose)
    patient_fields = [
        f if f != "patient_code" else "patient_id" for f in processing_config().label_patient_fields
    ]
    pdf = render_label_pdf(label=label, copies=count, patient_fields=patient_fields)
    with transaction.atomic():
        reprint = LabelPrint.objects.filter(dose=dose, kind=kind, voided_at__isnull=True).exists()
        if reprint and not reason.strip():
            raise ValidationFailed(
                "reprint_reason_required",
                _("Labels for this bag were printed before; give the reason for the reprint."),
                {"reason": [_("Required for a reprint.")]},
            )
        record = LabelPrint.objects.create(
            organisation=dose.organisation,
            kind=kind,
            dose=dose,
            count=count,
            is_reprint=reprint,
            reason=reason.strip(),
            printed_at=timezone.now(),
            printed_by=actor,
            content={
                "datamatrix": label.datamatrix_data(),
                "din": label.din_data,
                "product_code": label.product_code_data,
                "expiry": label.expiry_data,
                "coi": label.coi_data,
            },
        )
        audit_record(
            actor=actor,
            organisation=dose.organisation,
            action="label.reprint" if reprint else "label.print",
            subject=record,
            changes={"dose": dose.product_code, "din": dose.din, "count": count},
            reason=reason.strip(),
        )
    return record, pdf


def donation_label(*, donation: Donation) -> Any:
    """The tissue container label: DIN, the tissue product code (undivided) with the collection
    type of the plan's cell source, process-by time, and the course's CoI."""
    from saisei.processing.isbt128 import build_product_code, expiration_barcode_data, parse_din
    from saisei.processing.labels import PatientIdentifiers, ProductLabel

    config = processing_config()
    din = parse_din(text=f"={donation.din}{donation.din_flags}")
    coi = _course_coi(identity.donation_course_coi(donation=donation))
    product = build_product_code(
        pdc=config.tissue_pdc,
        collection_type=identity.donation_collection_type(donation=donation),
    )
    expires = donation.collected_at + dt.timedelta(hours=config.tissue_use_within_hours)
    patient = donation.patient
    return ProductLabel(
        din=din.din,
        check_character=din.check_character,
        din_data=din.barcode_data,
        product_code=product.code,
        product_code_data=product.barcode_data,
        division=product.division,
        expiry=expires,
        expiry_data=expiration_barcode_data(expires=expires),
        flags_text=din.eye_readable().flags,
        product_description="Adipose tissue",
        coi_text=coi.content,
        coi_check_character=coi.check_character(),
        coi_data=coi.barcode_data,
        patient=PatientIdentifiers(
            name=patient.display_name,
            date_of_birth=patient.date_of_birth,
            patient_id=patient.patient_code,
        ),
    )


def donation_label_print(
    *, actor: User, donation: Donation, count: int = 1, reason: str = ""
) -> tuple[LabelPrint, bytes]:
    """Print tissue container labels at collection and count them; reprints need a reason."""
    from saisei.processing.labels import render_label_pdf

    require(permissions.can_print_donation_label(actor))
    require_same_org(actor, donation)
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 50:
        raise ValidationFailed(
            "count", _("Print between 1 and 50 labels."), {"count": [_("1 to 50.")]}
        )
    label = donation_label(donation=donation)
    patient_fields = [
        f if f != "patient_code" else "patient_id" for f in processing_config().label_patient_fields
    ]
    pdf = render_label_pdf(label=label, copies=count, patient_fields=patient_fields)
    with transaction.atomic():
        reprint = LabelPrint.objects.filter(
            donation=donation, kind=LabelPrint.Kind.DONATION, voided_at__isnull=True
        ).exists()
        if reprint and not reason.strip():
            raise ValidationFailed(
                "reprint_reason_required",
                _(
                    "Labels for this container were printed before; give the reason for the reprint."
                ),
                {"reason": [_("Required for a reprint.")]},
            )
        record = LabelPrint.objects.create(
            organisation=donation.organisation,
            kind=LabelPrint.Kind.DONATION,
            donation=donation,
            count=count,
            is_reprint=reprint,
            reason=reason.strip(),
            printed_at=timezone.now(),
            printed_by=actor,
            content={
                "datamatrix": label.datamatrix_data(),
                "din": label.din_data,
                "product_code": label.product_code_data,
                "expiry": label.expiry_data,
                "coi": label.coi_data,
            },
        )
        audit_record(
            actor=actor,
            organisation=donation.organisation,
            action="label.reprint" if reprint else "label.print",
            subject=record,
            changes={"donation": donation.din, "count": count},
            reason=reason.strip(),
        )
    return record, pdf


def label_reconcile(*, actor: User, label: LabelPrint, applied: int, destroyed: int) -> LabelPrint:
    """Account for every printed label: applied to the bag or destroyed."""
    require(
        permissions.can_print_donation_label(actor)
        if label.donation_id is not None
        else permissions.can_print_label(actor)
    )
    require_same_org(actor, label)
    if applied < 0 or destroyed < 0 or applied + destroyed > label.count:
        raise ValidationFailed(
            "reconciliation",
            _("Applied plus destroyed cannot exceed the labels printed (%(count)s).")
            % {"count": label.count},
            {"applied": [_("Check the numbers.")]},
        )
    with transaction.atomic():
        before = {"applied": label.applied, "destroyed": label.destroyed}
        label.applied, label.destroyed = applied, destroyed
        label.save(update_fields=["applied", "destroyed", "updated_at"])
        audit_record(
            actor=actor,
            organisation=label.organisation,
            action="label.reconcile",
            subject=label,
            changes={"before": before, "applied": applied, "destroyed": destroyed},
        )
    return label
