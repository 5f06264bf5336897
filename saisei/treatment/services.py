"""Writes for treatment: bedside verification, the administration record and vital signs.

A dose is given only after a passed scan check and a second person's confirmation, and exactly
once: the dose row is locked while the administration is written, and the one-to-one link from
administration to dose makes the database refuse a second one (DESIGN invariants 1–3).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from saisei.core.audit import audit_record
from saisei.core.errors import Conflict, Forbidden, ValidationFailed
from saisei.core.models import Organisation, Role, User
from saisei.core.services import signature_verify
from saisei.treatment import permissions
from saisei.treatment.lifecycles import ADMINISTRATION
from saisei.treatment.models import Administration, BedsideVerification, Route, VitalSign
from saisei.treatment.rules import (
    BedsideConfig,
    BedsideFacts,
    CheckResult,
    DoseFacts,
    StepFacts,
    check_dose_released,
    check_not_administered,
    check_within_use_by,
    evaluate_bedside,
)

if TYPE_CHECKING:
    from saisei.journey.models import CourseStep, Patient
    from saisei.processing.models import Dose
    from saisei.regulatory.models import MedicalInstitution, Physician
    from saisei.regulatory.rules import GateResult
    from saisei.regulatory.services import GateRefused

NEAR_MISS_STAGE = "bedside"
SECOND_PERSON_MEANING = "Second-person check: patient and product identity verified at the bedside"
_SPLIT = re.compile(r"[\s|,;]+")
# A patient code typed from the printed wristband: any case, the hyphen or a space optional.
_TYPED_PATIENT_CODE = re.compile(r"^\s*P\s*-?\s*(\d{4})\s*[-\s]?\s*(\d{4,})\s*$", re.IGNORECASE)


def typed_patient_code(text: str) -> str:
    """The patient code a person typed from the wristband (``p2026 0001``), as printed
    (``P2026-0001``); other text is returned unchanged."""
    match = _TYPED_PATIENT_CODE.match(text or "")
    return f"P{match.group(1)}-{match.group(2)}" if match else (text or "")


def _org(actor: User) -> Organisation:
    """The actor's organisation; permission checks have already refused users without one."""
    if actor.organisation is None:
        raise Forbidden()
    return actor.organisation


def bedside_config() -> BedsideConfig:
    """House parameters for the bedside (settings may override them later)."""
    from django.conf import settings

    overrides = getattr(settings, "SAISEI_BEDSIDE", {}) or {}
    return BedsideConfig(**overrides)


# --- gathering facts -----------------------------------------------------------------------


def _resolve_patient(*, actor: User, scan: str) -> tuple[Patient | None, str | None]:
    """The patient a wristband names (patient code, or the CoI of one of their courses)."""
    from saisei.journey.selectors import patients_of_organisation
    from saisei.processing.selectors import identity_for_coi, scanned_ids

    text = (scan or "").strip()
    if not text:
        return None, None
    ids = scanned_ids(scan_text=text)
    coi = ids.coi
    patients = patients_of_organisation(actor=actor).filter(voided_at__isnull=True)
    by_code = None
    for raw in [text, typed_patient_code(text), *_SPLIT.split(text)]:
        token = raw.strip()
        if token:
            by_code = patients.filter(patient_code__iexact=token).first()
            if by_code is not None:
                break
    by_coi = None
    if coi:
        found = identity_for_coi(organisation_id=actor.organisation_id, coi=coi)
        by_coi = found.patient if found is not None else None
    if by_code is not None and by_coi is not None and by_code.pk != by_coi.pk:
        return None, coi  # a wristband naming two people identifies no one
    return by_code or by_coi, coi


def _resolve_doses(*, actor: User, scans: Sequence[str]) -> tuple[list[Dose], list[str]]:
    from saisei.processing.selectors import dose_for_scan

    doses: dict[int, Dose] = {}
    unresolved: list[str] = []
    for scan in scans:
        text = (scan or "").strip()
        if not text:
            continue
        dose = dose_for_scan(actor=actor, scan_text=text)
        if dose is None:
            unresolved.append(text[:60])
        else:
            doses.setdefault(dose.pk, dose)
    return list(doses.values()), unresolved


def _dose_facts(dose: Dose) -> DoseFacts:
    donation = dose.lot.donation
    return DoseFacts(
        id=dose.pk,
        label=f"{dose.din} {dose.product_code}",
        patient_id=dose.patient_id,
        donation_patient_id=donation.patient_id if donation else None,
        coi=dose.coi or "",
        donation_coi=(donation.coi if donation else "") or "",
        course_id=donation.course_id if donation else None,
        status=dose.status,
        lot_status=dose.lot.status,
        lot_number=dose.lot.number,
        lot_route=dose.lot.route or "",
        sequence=dose.sequence,
        cell_count=float(dose.cell_count),
        thawed_at=dose.thawed_at,
        use_by=dose.use_by,
        expires_at=dose.expires_at,
        administered=Administration.objects.filter(dose_id=dose.pk).exists(),
        status_reason=dose.status_reason or "",
    )


def _step_facts(step: CourseStep) -> StepFacts:
    from saisei.processing.selectors import course_identity_map

    return StepFacts(
        id=step.pk,
        kind=step.kind,
        number=step.number,
        status=step.status,
        route=step.route or "",
        planned_dose_cells=step.planned_dose_cells,
        patient_id=step.course.patient_id,
        course_id=step.course_id,
        course_coi=course_identity_map(course_ids=[step.course_id]).get(step.course_id, ""),
    )


def _physician_for(*, actor: User, step: CourseStep | None) -> Any:
    physician = getattr(getattr(step, "course", None), "physician", None) if step else None
    if physician is None:
        physician = getattr(actor, "physician", None)
    return physician


def _institution_of(physician: Physician | User | None) -> MedicalInstitution | None:
    """Where the act takes place: the performing physician's institution in the registry."""
    from saisei.regulatory.selectors import institution_of_physician

    return institution_of_physician(physician)


def _gate(
    *,
    actor: User,
    patient: Patient | None,
    step: CourseStep | None,
    dose: Dose | None,
    route: str,
    at: dt.datetime,
) -> tuple[bool | None, tuple[str, ...], dict[str, Any]]:
    """Ask the compliance gate whether this administration may happen now.

    The facts come from the records: the bag's cell count, lot route, donation cell source and
    processing facility; the patient's diagnosis. The nurse's stated route is checked against
    the lot's. The plan's own values are only what these facts are judged against.
    """
    if patient is None or step is None:
        return None, (), {}
    from saisei.regulatory.services import gate_check

    physician = _physician_for(actor=actor, step=step)
    result = gate_check(
        actor=actor,
        act="administration",
        institution=_institution_of(physician),
        physician=physician,
        patient=patient,
        plan=step.course.plan,
        route=route or None,
        dose_cells=None if dose is not None else step.planned_dose_cells,
        administration_number=step.number,
        at=at,
        dose=dose,
    )
    blocking = tuple(str(f.message) for f in result.findings if f.severity == "block")
    return bool(result.allowed), blocking, _json(result.as_dict())


def _json(value: Any) -> Any:
    import json

    return json.loads(json.dumps(value, default=str, ensure_ascii=False))


# --- bedside verification ------------------------------------------------------------------


def _lock_for_bedside(patient: Patient | None, doses: list[Dose]) -> list[Dose]:
    """Lock the patients and bags a bedside check judges; return the bags as locked."""
    from saisei.journey.selectors import lock_patients
    from saisei.processing.selectors import doses_locked

    # Locks in the order every act on a patient takes them (patients, then bags, then the
    # audit chain), so a serious event holding the lot cannot deadlock with this check:
    # the wristband's patient and every scanned bag's owner, in key order.
    owners = {d.lot.donation.patient_id for d in doses if d.lot.donation_id}
    owners |= {d.patient_id for d in doses if d.patient_id}
    if patient is not None:
        owners.add(patient.pk)
    lock_patients(pks=owners)
    # Judge the bags as they are under a row lock: a hold or recall that commits first is
    # seen here, and one that comes later waits until this check is stored.
    locked = doses_locked(pks=[d.pk for d in doses])
    return [locked[d.pk] for d in doses]


def bedside_verify(
    *,
    actor: User,
    patient_scan: str,
    product_scans: Sequence[str],
    course_step: CourseStep | None,
    route: str,
    at: dt.datetime | None = None,
) -> BedsideVerification:
    """Check the wristband and bag against each other, the step and the gate; never raises on a
    failed check: the result is stored, and a failure is recorded as a near-miss."""
    if not permissions.can_verify_bedside(actor):
        raise Forbidden()
    if course_step is not None and course_step.organisation_id != actor.organisation_id:
        raise Forbidden()
    at = at or timezone.now()
    scans = [str(s)[:500] for s in (product_scans or []) if str(s or "").strip()]
    patient, wristband_coi = _resolve_patient(actor=actor, scan=patient_scan)
    doses, unresolved = _resolve_doses(actor=actor, scans=scans)
    dose = doses[0] if len(doses) == 1 else None
    route = (route or "").strip().lower()
    gate_allowed, gate_messages, gate_result = _gate(
        actor=actor, patient=patient, step=course_step, dose=dose, route=route, at=at
    )
    with transaction.atomic():
        doses = _lock_for_bedside(patient, doses)
        dose = doses[0] if len(doses) == 1 else None
        facts = BedsideFacts(
            at=at,
            route=route,
            patient_id=patient.pk if patient is not None else None,
            patient_label=str(patient) if patient is not None else "",
            wristband_coi=wristband_coi,
            doses=tuple(_dose_facts(d) for d in doses),
            unresolved_scans=tuple(unresolved),
            step=_step_facts(course_step) if course_step is not None else None,
            gate_allowed=gate_allowed,
            gate_messages=gate_messages,
            config=bedside_config(),
        )
        results = evaluate_bedside(facts)
        verification = _store_verification(
            actor=actor,
            patient=patient,
            dose=dose,
            course_step=course_step,
            patient_scan=patient_scan,
            scans=scans,
            route=route,
            results=results,
            gate_result=gate_result,
            at=at,
        )
    return verification


def _store_verification(
    *,
    actor: User,
    patient: Patient | None,
    dose: Dose | None,
    course_step: CourseStep | None,
    patient_scan: str,
    scans: list[str],
    route: str,
    results: list[CheckResult],
    gate_result: Any,
    at: dt.datetime,
) -> BedsideVerification:
    """Store a bedside check's results (a failure also as a near-miss) and record it."""
    passed = all(r.passed for r in results)
    near_miss = None
    if not passed:
        near_miss = _record_near_miss(
            actor=actor,
            patient=patient,
            dose=dose,
            step=course_step,
            patient_scan=patient_scan,
            scans=scans,
            failed=[r for r in results if not r.passed],
        )
    verification = BedsideVerification.objects.create(
        organisation_id=actor.organisation_id,
        patient_scan=(patient_scan or "")[:500],
        product_scans=scans,
        route=route[:20],
        course_step=course_step,
        patient=patient,
        dose=dose,
        checks=[r.as_dict() for r in results],
        passed=passed,
        gate_result=gate_result,
        performed_by=actor,
        performed_at=at,
        near_miss=near_miss,
    )
    audit_record(
        actor=actor,
        organisation=_org(actor),
        action="bedside_verification.record",
        subject=verification,
        changes={
            "passed": passed,
            "failed": [r.code for r in results if not r.passed],
            "dose": dose.din + " " + dose.product_code if dose is not None else None,
            "patient": patient.patient_code if patient is not None else None,
        },
    )
    return verification


def _record_near_miss(
    *,
    actor: User,
    patient: Patient | None,
    dose: Dose | None,
    step: CourseStep | None,
    patient_scan: str,
    scans: list[str],
    failed: list[Any],
) -> Any:
    from saisei.processing.services.custody import near_miss_record

    expected = []
    if patient is not None:
        expected.append(_("patient %(code)s") % {"code": patient.patient_code})
    if step is not None:
        expected.append(_("infusion %(number)d") % {"number": step.number})
    scanned = "wristband=" + (patient_scan or "").strip()[:100] + "; labels=" + " | ".join(scans)
    reason = "; ".join(f"{r.code}: {r.message}" for r in failed)
    return near_miss_record(
        actor=actor,
        organisation=_org(actor),
        stage=NEAR_MISS_STAGE,
        expected=", ".join(expected) or _("a verified patient and dose"),
        scanned=scanned,
        reason=reason,
        patient=patient,
        dose=dose,
    )


# --- administration ------------------------------------------------------------------------


def _refuse_already_given(dose: Dose) -> Conflict:
    return Conflict(
        "dose_already_administered",
        _("Dose %(dose)s has already been given; it cannot be given again.")
        % {"dose": f"{dose.din} {dose.product_code}"},
        {"dose": [_("already administered")]},
    )


def _second_person_check(
    *, actor: User, second_person: User | None, password: str, otp: str | None = None
) -> dict[str, Any]:
    """Two-person check: another clinician of the same clinic signs with their own factors."""
    if second_person is None:
        raise ValidationFailed(
            "second_person_required",
            _("A second staff member must confirm the check."),
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
        or not permissions.can_confirm_second_person(second_person)
    ):
        raise ValidationFailed(
            "second_person_not_allowed",
            _("The second person must be a physician or nurse of this clinic."),
            {"second_person": [_("Not a clinician of this clinic.")]},
        )
    try:
        signature = signature_verify(
            actor=second_person, password=password, meaning=SECOND_PERSON_MEANING, otp=otp
        )
    except ValidationFailed as exc:
        # Same refusal, shown on the second person's fields of the bedside form.
        raise ValidationFailed(
            exc.code, exc.message, {f"second_person_{k}": v for k, v in exc.fields.items()}
        ) from None
    return signature.as_dict()


def _decimal(value: Any) -> Decimal | None:
    return None if value in (None, "") else Decimal(str(value))


def _check_times(
    verification: BedsideVerification,
    *,
    started_at: dt.datetime,
    ended_at: dt.datetime | None,
    now: dt.datetime,
    cfg: BedsideConfig,
) -> None:
    """The infusion starts soon after its bedside check, not before it nor in the future, and
    ends after it starts."""
    if started_at.tzinfo is None or (ended_at is not None and ended_at.tzinfo is None):
        raise ValidationFailed("naive_datetime", _("Times must include a time zone."))
    # The infusion starts soon after the scan check it rests on (recording may come later).
    gap = started_at - verification.performed_at
    if gap > dt.timedelta(minutes=cfg.verification_valid_minutes):
        raise Conflict(
            "verification_expired",
            _("The bedside check is more than %(minutes)d minutes old; scan again.")
            % {"minutes": cfg.verification_valid_minutes},
        )
    if gap < -dt.timedelta(minutes=5):
        raise ValidationFailed(
            "started_before_check",
            _("The infusion cannot start before the bedside check."),
            {"started_at": [_("Before the bedside check.")]},
        )
    if started_at > now + dt.timedelta(minutes=5):
        raise ValidationFailed(
            "started_in_future",
            _("The start time cannot be in the future."),
            {"started_at": [_("In the future.")]},
        )
    if ended_at is not None and ended_at < started_at:
        raise ValidationFailed(
            "ended_before_start",
            _("The end time is before the start time."),
            {"ended_at": [_("Before the start time.")]},
        )


def _check_people(
    actor: User, *, physician: User | None, nurse: User | None
) -> tuple[User, User | None]:
    """The responsible physician (the actor if a physician and none is named) and the nurse
    (likewise), both of the actor's clinic."""
    physician = physician or (actor if actor.has_role(Role.PHYSICIAN) else None)
    if physician is None or not physician.has_role(Role.PHYSICIAN):
        raise ValidationFailed(
            "physician_required",
            _("Name the physician responsible for this infusion."),
            {"physician": [_("A physician is required.")]},
        )
    if physician.organisation_id != actor.organisation_id:
        raise Forbidden()
    nurse = nurse or (actor if actor.has_role(Role.NURSE) else None)
    if nurse is not None and (
        nurse.organisation_id != actor.organisation_id or not nurse.has_role(Role.NURSE)
    ):
        raise ValidationFailed(
            "nurse_invalid", _("The nurse must be a nurse of this clinic."), {"nurse": ["invalid"]}
        )
    return physician, nurse


def _gate_args(
    actor: User,
    verification: BedsideVerification,
    *,
    physician: User,
    cells_given: int | None,
    started_at: dt.datetime,
) -> tuple[int, dict[str, Any]]:
    """The cells given (the bag's count unless stated) and what the compliance gate judges."""
    from saisei.processing.selectors import dose_by_pk

    step = verification.course_step
    if step is None or verification.patient is None:
        raise Conflict("course_step_required", _("The check has no course step."))
    bag = dose_by_pk(pk=verification.dose_id)
    cells = int(cells_given) if cells_given else int(bag.cell_count)
    gate_args = {
        "actor": actor,
        "act": "administration",
        "institution": _institution_of(physician),
        "physician": physician,
        "patient": verification.patient,
        "plan": step.course.plan,
        "route": verification.route or None,
        "dose_cells": cells,
        "administration_number": step.number,
        "at": started_at,
        "dose": bag,
        "subject": _("Infusion %(number)d of %(dose)s")
        % {"number": step.number, "dose": f"{bag.din} {bag.product_code}"},
    }
    return cells, gate_args


def _keep_refusal(gate_args: dict[str, Any], exc: GateRefused) -> None:
    """Keep the gate's refusal of an administration as evidence."""
    from saisei.regulatory.services import gate_refusal_record

    args = {k: v for k, v in gate_args.items() if k in ("actor", "act", "plan", "patient")}
    gate_refusal_record(
        **args,
        physician=gate_args["physician"],
        at=gate_args["at"],
        result=exc.result,
        subject=str(gate_args["subject"]),
    )


def administration_record(
    *,
    actor: User,
    verification: BedsideVerification,
    second_person: User | None,
    second_person_password: str,
    second_person_otp: str | None = None,
    physician: User | None = None,
    nurse: User | None = None,
    cells_given: int | None = None,
    volume_ml: float | None = None,
    rate_ml_per_hour: float | None = None,
    started_at: dt.datetime | None = None,
    ended_at: dt.datetime | None = None,
    premedication: str = "",
    observations: str = "",
    vitals_before: dict[str, Any] | None = None,
) -> Administration:
    """Record that the verified dose is being given, and mark the dose administered exactly once.

    The compliance gate decides with the named performing physician (listed on the plan version
    in force), the cells actually given (within the plan's dose range), the route, and the
    processing facility that made the bag (listed and authorised); a refusal is
    ``GateRefused`` (422) and is kept as evidence. Concurrent attempts on the same bag (two
    tablets) serialise on the dose row; the loser gets ``Conflict(code="dose_already_administered")``
    (409). Administrations of one patient serialise on the patient row, so the plan's maximum
    number of administrations cannot be raced past.
    """
    if not permissions.can_record_administration(actor):
        raise Forbidden()
    if verification.organisation_id != actor.organisation_id:
        raise Forbidden()
    if not verification.passed or verification.dose_id is None:
        raise Conflict(
            "verification_not_passed",
            _("The bedside check did not pass; the dose may not be given."),
        )
    cfg = bedside_config()
    now = timezone.now()
    started_at = started_at or now
    _check_times(verification, started_at=started_at, ended_at=ended_at, now=now, cfg=cfg)
    physician, nurse = _check_people(actor, physician=physician, nurse=nurse)
    signature = _second_person_check(
        actor=actor,
        second_person=second_person,
        password=second_person_password,
        otp=second_person_otp,
    )
    cells, gate_args = _gate_args(
        actor, verification, physician=physician, cells_given=cells_given, started_at=started_at
    )
    from saisei.regulatory.services import GateRefused, gate_require

    # Checked once before anything is locked (a refusal is kept as evidence), and again under
    # the patient's lock below, where concurrent administrations are counted one at a time.
    gate_require(**gate_args)
    try:
        return _administration_write(
            actor=actor,
            verification=verification,
            physician=physician,
            nurse=nurse,
            second_person=second_person,
            cells=cells,
            volume_ml=volume_ml,
            rate_ml_per_hour=rate_ml_per_hour,
            started_at=started_at,
            ended_at=ended_at,
            premedication=premedication,
            observations=observations,
            vitals_before=vitals_before,
            signature=signature,
            gate_args=gate_args,
            now=now,
            cfg=cfg,
        )
    except GateRefused as exc:
        _keep_refusal(gate_args, exc)
        raise


def _refuse_unusable_bag(
    verification: BedsideVerification, dose: Dose, *, started_at: dt.datetime, cfg: BedsideConfig
) -> None:
    """Under the bag's lock: refuse a bag already given, a check already used, and a bag that is
    not released or is past its use-by time."""
    if dose.status == "administered" or Administration.objects.filter(dose=dose).exists():
        raise _refuse_already_given(dose)
    if hasattr(verification, "administration"):
        raise Conflict(
            "verification_used", _("This bedside check has already been used; scan again.")
        )
    facts = BedsideFacts(
        at=started_at,
        route=verification.route,
        patient_id=verification.patient_id,
        patient_label="",
        wristband_coi=None,
        doses=(_dose_facts(dose),),
        unresolved_scans=(),
        step=None,
        gate_allowed=True,
        config=cfg,
    )
    for check in (check_dose_released, check_within_use_by, check_not_administered):
        result = check(facts)
        if not result.passed:
            raise Conflict(f"bedside_{result.code}", result.message)


def _create_administration(
    *,
    actor: User,
    verification: BedsideVerification,
    dose: Dose,
    step: CourseStep,
    patient: Patient,
    physician: User,
    nurse: User | None,
    second_person: User | None,
    cells: int,
    volume_ml: float | None,
    rate_ml_per_hour: float | None,
    started_at: dt.datetime,
    ended_at: dt.datetime | None,
    premedication: str,
    observations: str,
    gate: GateResult,
    now: dt.datetime,
) -> Administration:
    """Create the administration row; the unique dose refuses a second one."""
    plan_id = step.course.plan_id
    volume = float(volume_ml) if volume_ml else float(dose.volume_ml)
    weight = patient.weight_kg
    try:
        with transaction.atomic():
            administration = Administration.objects.create(
                organisation_id=actor.organisation_id,
                dose=dose,
                verification=verification,
                patient=patient,
                plan_id=plan_id,
                course_step=step,
                number=step.number,
                route=verification.route or Route.IV,
                cells_given=cells,
                weight_kg=weight,
                cells_per_kg=(cells / float(weight)) if weight else None,
                volume_ml=volume,
                rate_ml_per_hour=rate_ml_per_hour,
                started_at=started_at,
                ended_at=ended_at,
                premedication=premedication,
                observations=observations,
                status=(
                    Administration.Status.COMPLETED
                    if ended_at
                    else Administration.Status.IN_PROGRESS
                ),
                physician=physician,
                nurse=nurse,
                recorded_by=actor,
                second_person=second_person,
                second_person_confirmed_at=now,
                gate_result=_json(gate.as_dict()),
            )
    except IntegrityError:
        raise _refuse_already_given(dose) from None
    return administration


def _after_administration(
    actor: User,
    administration: Administration,
    dose: Dose,
    *,
    step: CourseStep,
    vitals_before: dict[str, Any] | None,
) -> None:
    """Mark the bag given, move the course step on and record the vital signs taken before the
    infusion."""
    started_at = administration.started_at
    _mark_dose_administered(actor=actor, dose=dose, administration=administration)
    from saisei.journey.services import course_step_record_administration

    course_step_record_administration(
        actor=actor,
        step=step,
        administration_ref=str(administration.external_id),
        at=started_at,
    )
    if vitals_before:
        vitals = dict(vitals_before)
        vital_sign_record(
            actor=actor,
            administration=administration,
            phase=VitalSign.Phase.BEFORE,
            measured_at=vitals.pop("measured_at", None) or started_at,
            **vitals,
        )


def _refuse_step_given(step: CourseStep) -> None:
    """A course step is given once: refuse it when it already has a live administration."""
    if Administration.objects.filter(course_step=step, voided_at__isnull=True).exists():
        raise Conflict(
            "step_already_administered",
            _("Infusion %(number)d has already been given; it cannot be given again.")
            % {"number": step.number},
            {"course_step": [_("already given")]},
        )


def _administration_write(
    *,
    actor: User,
    verification: BedsideVerification,
    physician: User,
    nurse: User | None,
    second_person: User | None,
    cells: int,
    volume_ml: float | None,
    rate_ml_per_hour: float | None,
    started_at: dt.datetime,
    ended_at: dt.datetime | None,
    premedication: str,
    observations: str,
    vitals_before: dict[str, Any] | None,
    signature: dict[str, Any],
    gate_args: dict[str, Any],
    now: dt.datetime,
    cfg: BedsideConfig,
) -> Administration:
    """Write the administration under locks: the patient (counts), then the bag (single use)."""
    from saisei.journey.selectors import lock_patients
    from saisei.processing.selectors import dose_locked
    from saisei.regulatory.services import GateRefused, gate_check

    with transaction.atomic():
        # One administration at a time per patient: the plan's limit on the number of
        # administrations is counted under this lock, so two bags cannot race past it.
        lock_patients(pks=[verification.patient_id])
        # Lock the bag: concurrent attempts wait here and then see it given.
        dose = dose_locked(pk=verification.dose_id)
        _refuse_unusable_bag(verification, dose, started_at=started_at, cfg=cfg)
        patient = verification.patient
        step = verification.course_step
        assert patient is not None and step is not None  # administration_record checked both
        _refuse_step_given(step)
        gate = gate_check(**{k: v for k, v in gate_args.items() if k != "subject"})
        if not gate.allowed:
            raise GateRefused(gate)
        administration = _create_administration(
            actor=actor,
            verification=verification,
            dose=dose,
            step=step,
            patient=patient,
            physician=physician,
            nurse=nurse,
            second_person=second_person,
            cells=cells,
            volume_ml=volume_ml,
            rate_ml_per_hour=rate_ml_per_hour,
            started_at=started_at,
            ended_at=ended_at,
            premedication=premedication,
            observations=observations,
            gate=gate,
            now=now,
        )
        _after_administration(actor, administration, dose, step=step, vitals_before=vitals_before)
        audit_record(
            actor=actor,
            organisation=_org(actor),
            action="administration.record",
            subject=administration,
            changes={
                "dose": f"{dose.din} {dose.product_code}",
                "patient": patient.patient_code,
                "number": administration.number,
                "route": administration.route,
                "cells_given": cells,
                "physician": physician.username,
                "nurse": nurse.username if nurse else None,
                "second_person": signature,
            },
        )
    return administration


def _mark_dose_administered(*, actor: User, dose: Dose, administration: Administration) -> None:
    """Move the bag to 'administered' through processing's dose lifecycle (conditional update)."""
    from saisei.processing.services import dose_administer

    dose_administer(actor=actor, administration=administration)


def administration_complete(
    *,
    actor: User,
    administration: Administration,
    ended_at: dt.datetime | None = None,
    observations: str = "",
    stopped: bool = False,
    stop_reason: str = "",
) -> Administration:
    """Close the infusion record: end time, observations, and whether it was stopped early."""
    if not permissions.can_record_administration(actor):
        raise Forbidden()
    if administration.organisation_id != actor.organisation_id:
        raise Forbidden()
    move = "stop" if stopped else "complete"
    ADMINISTRATION.check(administration, move, actor=actor)
    ended_at = ended_at or timezone.now()
    if ended_at < administration.started_at:
        raise ValidationFailed(
            "ended_before_start",
            _("The end time is before the start time."),
            {"ended_at": [_("Before the start time.")]},
        )
    if stopped and not stop_reason.strip():
        raise ValidationFailed(
            "stop_reason_required",
            _("Say why the infusion was stopped."),
            {"stop_reason": [_("Required.")]},
        )
    return ADMINISTRATION.apply(
        administration,
        move,
        actor=actor,
        updates={
            "ended_at": ended_at,
            "observations": "\n".join(p for p in (administration.observations, observations) if p),
            "stop_reason": stop_reason,
        },
        changes={"ended_at": ended_at.isoformat(), "status": "stopped" if stopped else "completed"},
        audit_action="administration.complete",
    )


VITAL_FIELDS = (
    "systolic_mmhg",
    "diastolic_mmhg",
    "heart_rate_bpm",
    "respiratory_rate",
    "temperature_c",
    "spo2_pct",
    "notes",
)


def vital_sign_record(
    *,
    actor: User,
    administration: Administration,
    phase: str,
    measured_at: dt.datetime | None = None,
    **values: Any,
) -> VitalSign:
    """Record one set of vital signs before, during or after the infusion."""
    if not permissions.can_record_administration(actor):
        raise Forbidden()
    if administration.organisation_id != actor.organisation_id:
        raise Forbidden()
    if phase not in VitalSign.Phase.values:
        raise ValidationFailed(
            "invalid_phase", _("Choose before, during or after."), {"phase": [str(phase)]}
        )
    unknown = set(values) - set(VITAL_FIELDS)
    if unknown:
        raise ValidationFailed(
            "invalid_input", _("Unknown vital sign fields."), {k: ["unknown"] for k in unknown}
        )
    clean = {k: v for k, v in values.items() if v not in (None, "")}
    if "temperature_c" in clean:
        clean["temperature_c"] = _decimal(clean["temperature_c"])
        if not (Decimal(25) <= clean["temperature_c"] <= Decimal(45)):
            raise ValidationFailed(
                "temperature_out_of_range",
                _("The temperature must be between 25 and 45 °C."),
                {"temperature_c": [_("Out of range.")]},
            )
    if "spo2_pct" in clean and not (0 <= int(clean["spo2_pct"]) <= 100):
        raise ValidationFailed(
            "spo2_out_of_range",
            _("SpO₂ must be between 0 and 100 %."),
            {"spo2_pct": [_("Out of range.")]},
        )
    with transaction.atomic():
        vital = VitalSign.objects.create(
            organisation_id=administration.organisation_id,
            administration=administration,
            phase=phase,
            measured_at=measured_at or timezone.now(),
            recorded_by=actor,
            **clean,
        )
        audit_record(
            actor=actor,
            organisation=_org(actor),
            action="vital_sign.record",
            subject=vital,
            changes={"phase": phase, **{k: str(v) for k, v in clean.items()}},
        )
    return vital
