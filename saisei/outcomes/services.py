"""Writes for outcomes: <noun>_<verb>(*, actor, ...) inside a transaction, each with a ledger entry.

Scoring and range rules are the pure layer's (``instruments.validate_and_score``); these services
add who may enter what (rater credentials), which visit a score belongs to, and the audit trail.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from saisei.core.audit import audit_record
from saisei.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from saisei.core.models import Organisation, User
from saisei.outcomes import permissions as perms
from saisei.outcomes import reference as ref
from saisei.outcomes.biomarkers import DEFAULT_BIOMARKERS
from saisei.outcomes.instruments import (
    INSTRUMENTS,
    Instrument,
    validate_and_score,
)
from saisei.outcomes.instruments import (
    RaterCredential as PureCredential,
)
from saisei.outcomes.models import (
    DEFAULT_FOLLOW_UP_MONTHS,
    DEFAULT_INSTRUMENTS,
    Assessment,
    AssessmentSchedule,
    BiomarkerDefinition,
    BiomarkerResult,
    CohortFitResult,
    McidReference,
    MeasurementErrorReference,
    NaturalHistoryReference,
    RaterCredential,
    ScheduledAssessment,
)
from saisei.outcomes.selectors import credential_for, reference_set

if TYPE_CHECKING:
    from saisei.journey.models import Patient, TreatmentCourse

DAYS_PER_MONTH = 365.25 / 12


def _require(check: Callable[[Any], bool], actor: Any, obj: Any = None) -> None:
    """403 without the role; 404 for another organisation's object (they look unknown)."""
    if obj is not None and getattr(obj, "organisation_id", None) != getattr(
        actor, "organisation_id", object()
    ):
        raise NotFound()
    if not check(actor):
        raise Forbidden()


def _today() -> dt.date:
    return timezone.localdate()


# --- natural-history references --------------------------------------------------------------


def references_seed_defaults(*, actor: User | None, organisation: Organisation) -> int:
    """Copy the facts-sheet defaults into the clinic's editable tables; rows that exist are kept."""
    if actor is not None:
        _require(perms.can_manage_references, actor)
    created = 0
    with transaction.atomic():
        for r in ref.DEFAULT_REFERENCE_ROWS:
            _obj, new = NaturalHistoryReference.objects.get_or_create(
                organisation=organisation,
                measure=r.measure,
                stage=r.stage,
                defaults={
                    "annual_change": r.annual_change,
                    "sd": r.sd,
                    "source": r.source,
                    "note": r.note,
                    "uncertain": r.uncertain,
                },
            )
            created += new
        for m in ref.DEFAULT_MCID_ROWS:
            _mcid, new = McidReference.objects.get_or_create(
                organisation=organisation,
                measure=m.measure,
                stage=m.stage or "",
                defaults={
                    "value": m.value,
                    "low": m.low,
                    "high": m.high,
                    "source": m.source,
                    "note": m.note,
                    "uncertain": m.uncertain,
                },
            )
            created += new
        for s in ref.DEFAULT_SEM_ROWS:
            _sem, new = MeasurementErrorReference.objects.get_or_create(
                organisation=organisation,
                measure=s.measure,
                defaults={
                    "sem": s.sem,
                    "source": s.source,
                    "note": s.note,
                    "uncertain": s.uncertain,
                },
            )
            created += new
        for b in DEFAULT_BIOMARKERS:
            _bio, new = BiomarkerDefinition.objects.get_or_create(
                organisation=organisation, code=b["code"], defaults=dict(b)
            )
            created += new
        if created:
            audit_record(
                actor=actor,
                organisation=organisation,
                action="outcomes_reference.seed",
                subject=("outcomes.references", str(organisation.pk)),
                changes={"created": created},
            )
    return created


def reference_update(
    *,
    actor: User,
    row: NaturalHistoryReference,
    annual_change: float,
    sd: float,
    source: str,
    note: str = "",
    uncertain: bool = False,
    is_active: bool = True,
) -> NaturalHistoryReference:
    """The clinic edits an expected-change row; the source is required so every number stays traceable."""
    _require(perms.can_manage_references, actor, row)
    errors: dict[str, list[Any]] = {}
    if not math.isfinite(annual_change):
        errors["annual_change"] = [_("Enter a number.")]
    if not math.isfinite(sd) or sd < 0:
        errors["sd"] = [_("The spread must be zero or more.")]
    if not source.strip():
        errors["source"] = [_("Say where this number comes from.")]
    if errors:
        raise ValidationFailed(
            "outcomes.invalid_reference", _("Please correct the reference row."), errors
        )
    before = {"annual_change": row.annual_change, "sd": row.sd, "source": row.source}
    with transaction.atomic():
        row.annual_change, row.sd, row.source = annual_change, sd, source.strip()
        row.note, row.uncertain, row.is_active = note, uncertain, is_active
        row.save()
        audit_record(
            actor=actor,
            organisation=row.organisation,
            action="outcomes_reference.update",
            subject=row,
            changes={"before": before, "annual_change": annual_change, "sd": sd, "source": source},
        )
    return row


def expected_change_calculate(
    *,
    actor: User | None,
    measure: str,
    stage: str,
    baseline: float,
    months: float,
    level: float = 0.90,
) -> ref.ExpectedChange:
    """Expected score without treatment from the clinic's reference table (defaults fill gaps)."""
    if measure not in {m for inst in INSTRUMENTS.values() for m in inst.measures}:
        raise ValidationFailed(
            "outcomes.unknown_measure",
            _("Unknown measure."),
            {"measure": [_("Unknown measure.")]},
        )
    refs = reference_set(organisation=getattr(actor, "organisation_id", None))
    return ref.expected_change(
        measure=measure,
        stage=stage,
        baseline=baseline,
        months=months,
        level=level,
        **refs.as_kwargs(),
    )


# --- rater credentials -----------------------------------------------------------------------


def credential_record(
    *,
    actor: User,
    user: User,
    instrument: str,
    kind: str,
    reference: str,
    holder: str = "",
    valid_from: dt.date | None = None,
    expires_on: dt.date | None = None,
) -> RaterCredential:
    """Record a rater's certification or the clinic licence they work under (facts §1.2)."""
    _require(perms.can_manage_credentials, actor, user)
    errors: dict[str, list[Any]] = {}
    if instrument not in INSTRUMENTS:
        errors["instrument"] = [_("Unknown instrument.")]
    if kind not in RaterCredential.Kind.values:
        errors["kind"] = [_("Choose certification or licence.")]
    if not reference.strip():
        errors["reference"] = [_("Enter the licence or certificate reference.")]
    if valid_from and expires_on and expires_on < valid_from:
        errors["expires_on"] = [_("The expiry date is before the start date.")]
    if errors:
        raise ValidationFailed(
            "outcomes.invalid_credential", _("Please correct the credential."), errors
        )
    with transaction.atomic():
        cred = RaterCredential.objects.create(
            organisation_id=user.organisation_id,
            user=user,
            instrument=instrument,
            kind=kind,
            reference=reference.strip(),
            holder=holder,
            valid_from=valid_from,
            expires_on=expires_on,
        )
        audit_record(
            actor=actor,
            organisation=cred.organisation,
            action="rater_credential.record",
            subject=cred,
            changes={
                "user": user.username,
                "instrument": instrument,
                "kind": kind,
                "expires_on": expires_on,
            },
        )
    return cred


# --- schedules -------------------------------------------------------------------------------


def _steps(course: TreatmentCourse) -> tuple[Any | None, list[Any]]:
    steps = [s for s in course.steps.all() if s.voided_at is None and s.status != "cancelled"]
    harvest = next((s for s in steps if s.kind == "harvest"), None)
    infusions = sorted((s for s in steps if s.kind == "infusion"), key=lambda s: s.number)
    return harvest, infusions


def _planned_visits(
    schedule: AssessmentSchedule, course: TreatmentCourse
) -> dict[tuple[str, int], tuple[dt.date, int]]:
    """(kind, number) -> (due date, window days) from the course's current step dates."""
    harvest, infusions = _steps(course)
    out: dict[tuple[str, int], tuple[dt.date, int]] = {}
    if harvest is not None and harvest.planned_date:
        out[("baseline", 1)] = (
            harvest.planned_date - dt.timedelta(days=schedule.baseline_days_before_harvest),
            # the baseline must come before the harvest, so its window closes on the harvest day
            schedule.baseline_days_before_harvest,
        )
    for inf in infusions:
        if inf.planned_date:
            out[("pre_infusion", inf.number)] = (
                inf.planned_date - dt.timedelta(days=schedule.pre_infusion_days),
                schedule.pre_infusion_days,
            )
    dated = [i.planned_date for i in infusions if i.planned_date]
    if dated:
        last = max(dated)
        for months in schedule.follow_up_months:
            out[("follow_up", int(months))] = (
                last + dt.timedelta(days=round(DAYS_PER_MONTH * float(months))),
                schedule.window_days,
            )
    return out


def _validate_offsets(follow_up_months: list[Any], instruments: list[str]) -> None:
    errors: dict[str, list[Any]] = {}
    try:
        months = [float(m) for m in follow_up_months]
    except (TypeError, ValueError):
        months = []
        errors["follow_up_months"] = [_("Enter whole months, e.g. 3, 6, 12.")]
    if any(m <= 0 or m > 120 or not float(m).is_integer() for m in months) or len(
        set(months)
    ) != len(months):
        errors["follow_up_months"] = [_("Enter different whole months between 1 and 120.")]
    unknown = [c for c in instruments if c not in INSTRUMENTS]
    if unknown:
        errors["instruments"] = [
            _("Unknown instrument: %(codes)s.") % {"codes": ", ".join(unknown)}
        ]
    if errors:
        raise ValidationFailed(
            "outcomes.invalid_schedule", _("Please correct the schedule."), errors
        )


def schedule_create(
    *,
    actor: User,
    course: TreatmentCourse,
    stage: str | None = None,
    follow_up_months: list[int] | None = None,
    instruments: list[str] | None = None,
    baseline_days_before_harvest: int = 7,
    pre_infusion_days: int = 0,
    window_days: int = 14,
) -> AssessmentSchedule:
    """Plan the outcome visits of a treatment course: baseline before harvest, before each infusion,
    and 3/6/12 months (configurable) after the last infusion.

    ``stage`` is the physician's choice of natural history for this course; left empty, the
    patient's recorded stage is used, and with none recorded no comparison is made (never a
    default stage).
    """
    _require(perms.can_manage_schedule, actor, course)
    if AssessmentSchedule.objects.filter(course=course).exists():
        raise Conflict(
            "outcomes.schedule_exists", _("This course already has an assessment schedule.")
        )
    months = list(
        follow_up_months
        if follow_up_months is not None
        else (course.package or {}).get("follow_up_months") or DEFAULT_FOLLOW_UP_MONTHS
    )
    insts = list(instruments if instruments is not None else DEFAULT_INSTRUMENTS)
    _validate_offsets(months, insts)
    chosen_stage = stage or ""
    if chosen_stage and not perms.can_choose_stage(actor):
        raise Forbidden()
    if chosen_stage and chosen_stage not in ref.STAGES:
        raise ValidationFailed(
            "outcomes.unknown_stage",
            _("Unknown disease stage."),
            {"stage": [_("Unknown disease stage.")]},
        )
    with transaction.atomic():
        schedule = AssessmentSchedule.objects.create(
            organisation_id=course.organisation_id,
            course=course,
            patient_id=course.patient_id,
            stage=chosen_stage,
            follow_up_months=[int(m) for m in months],
            instruments=insts,
            baseline_days_before_harvest=baseline_days_before_harvest,
            pre_infusion_days=pre_infusion_days,
            window_days=window_days,
        )
        planned = _planned_visits(schedule, course)
        ScheduledAssessment.objects.bulk_create(
            [
                ScheduledAssessment(
                    organisation_id=course.organisation_id,
                    schedule=schedule,
                    patient_id=course.patient_id,
                    kind=kind,
                    number=number,
                    due_date=due,
                    window_days=window,
                    instruments=insts,
                )
                for (kind, number), (due, window) in sorted(
                    planned.items(), key=lambda kv: kv[1][0]
                )
            ]
        )
        audit_record(
            actor=actor,
            organisation=schedule.organisation,
            action="assessment_schedule.create",
            subject=schedule,
            changes={"visits": len(planned), "stage": chosen_stage, "follow_up_months": months},
        )
    return schedule


def schedule_stage_set(
    *, actor: User, schedule: AssessmentSchedule, stage: str, reason: str
) -> AssessmentSchedule:
    """Choose the natural history a course is compared with, or ``""`` to follow the patient's
    recorded stage; the reason is kept in the ledger because it changes every reading."""
    _require(perms.can_choose_stage, actor, schedule)
    if stage and stage not in ref.STAGES:
        raise ValidationFailed(
            "outcomes.unknown_stage",
            _("Unknown disease stage."),
            {"stage": [_("Unknown disease stage.")]},
        )
    if not reason.strip():
        raise ValidationFailed(
            "reason_required",
            _("Say why the stage changes."),
            {"reason": [_("Required.")]},
        )
    with transaction.atomic():
        schedule = AssessmentSchedule.objects.select_for_update().get(pk=schedule.pk)
        before = schedule.stage
        schedule.stage = stage
        schedule.save(update_fields=["stage", "updated_at"])
        audit_record(
            actor=actor,
            organisation=schedule.organisation,
            action="assessment_schedule.stage_set",
            subject=schedule,
            changes={"before": before, "stage": stage},
            reason=reason.strip(),
        )
    return schedule


def schedule_replan(*, actor: User | None, schedule: AssessmentSchedule) -> AssessmentSchedule:
    """Move planned visits when course steps move; visits already done or missed are left as they are.

    ``actor=None`` is the system following a moved course step (see ``signals.py``).
    """
    if actor is not None:
        _require(perms.can_manage_schedule, actor, schedule)
    planned = _planned_visits(schedule, schedule.course)
    moved: list[str] = []
    with transaction.atomic():
        existing = {(v.kind, v.number): v for v in schedule.visits.filter(voided_at__isnull=True)}
        for key, (due, window) in planned.items():
            visit = existing.get(key)
            if visit is None:
                ScheduledAssessment.objects.create(
                    organisation_id=schedule.organisation_id,
                    schedule=schedule,
                    patient_id=schedule.patient_id,
                    kind=key[0],
                    number=key[1],
                    due_date=due,
                    window_days=window,
                    instruments=schedule.instruments,
                )
                moved.append(f"{key[0]} {key[1]}: new {due}")
            elif visit.status == ScheduledAssessment.Status.PLANNED and visit.due_date != due:
                moved.append(f"{key[0]} {key[1]}: {visit.due_date} -> {due}")
                visit.due_date, visit.window_days, visit.reminded_at = due, window, None
                visit.save(update_fields=["due_date", "window_days", "reminded_at", "updated_at"])
        for key, visit in existing.items():
            if key not in planned and visit.status == ScheduledAssessment.Status.PLANNED:
                visit.status = ScheduledAssessment.Status.CANCELLED
                visit.status_reason = str(_("The course step it belonged to was cancelled."))
                visit.save(update_fields=["status", "status_reason", "updated_at"])
                moved.append(f"{key[0]} {key[1]}: cancelled")
        if moved:
            audit_record(
                actor=actor,
                organisation=schedule.organisation,
                action="assessment_schedule.replan",
                subject=schedule,
                changes={"changes": moved},
            )
    return schedule


def schedule_end_follow_up(
    *, actor: User, schedule: AssessmentSchedule, ended_on: dt.date, reason: str
) -> AssessmentSchedule:
    """Record that the patient left outcome follow-up; later visits close as dropouts, still counted."""
    _require(perms.can_manage_schedule, actor, schedule)
    if not reason.strip():
        raise ValidationFailed(
            "outcomes.reason_required",
            _("Say why follow-up ended."),
            {"reason": [_("Say why follow-up ended.")]},
        )
    if schedule.follow_up_ended_on is not None:
        raise Conflict("outcomes.follow_up_already_ended", _("Follow-up has already ended."))
    on = _check_date(ended_on, "ended_on")
    with transaction.atomic():
        schedule.follow_up_ended_on, schedule.follow_up_end_reason = on, reason.strip()
        schedule.save(update_fields=["follow_up_ended_on", "follow_up_end_reason", "updated_at"])
        closed = schedule.visits.filter(
            status=ScheduledAssessment.Status.PLANNED, voided_at__isnull=True
        ).update(
            status=ScheduledAssessment.Status.CANCELLED,
            status_reason=str(_("Follow-up ended: %(reason)s") % {"reason": reason.strip()}),
            updated_at=timezone.now(),
        )
        audit_record(
            actor=actor,
            organisation=schedule.organisation,
            action="assessment_schedule.end_follow_up",
            subject=schedule,
            changes={"ended_on": on, "visits_closed": closed},
            reason=reason.strip(),
        )
    return schedule


def visit_mark_missed(
    *, actor: User, visit: ScheduledAssessment, reason: str
) -> ScheduledAssessment:
    """A missed visit keeps its reason, because dropouts are rarely random (facts §4, missing data)."""
    _require(perms.can_manage_schedule, actor, visit)
    if not reason.strip():
        raise ValidationFailed(
            "outcomes.reason_required",
            _("Say why the assessment was missed."),
            {"reason": [_("Say why the assessment was missed.")]},
        )
    if visit.status != ScheduledAssessment.Status.PLANNED:
        raise Conflict(
            "outcomes.visit_not_planned", _("Only a planned visit can be marked missed.")
        )
    with transaction.atomic():
        visit.status = ScheduledAssessment.Status.MISSED
        visit.status_reason = reason.strip()
        visit.save(update_fields=["status", "status_reason", "updated_at"])
        audit_record(
            actor=actor,
            organisation=visit.organisation,
            action="scheduled_assessment.miss",
            subject=visit,
            changes={"due_date": visit.due_date},
            reason=reason.strip(),
        )
    return visit


# --- assessments ----------------------------------------------------------------------------


def _instrument(code: str) -> Instrument:
    inst = INSTRUMENTS.get(code)
    if inst is None:
        raise ValidationFailed(
            "outcomes.unknown_instrument",
            _("Unknown instrument."),
            {"instrument": [_("Unknown instrument.")]},
        )
    return inst


def _check_date(assessed_on: Any, field: str = "assessed_on") -> dt.date:
    if not isinstance(assessed_on, dt.date):
        raise ValidationFailed(
            "outcomes.invalid_date", _("Enter a date."), {field: [_("Enter a date.")]}
        )
    if assessed_on > _today():
        raise ValidationFailed(
            "outcomes.date_in_future",
            _("The date cannot be in the future."),
            {field: [_("The date cannot be in the future.")]},
        )
    return assessed_on


def _link_visit(
    visit: ScheduledAssessment | None, patient: Patient, instrument: str, on: dt.date
) -> None:
    if visit is None:
        return
    if visit.patient_id != patient.pk:
        raise ValidationFailed(
            "outcomes.visit_other_patient",
            _("This visit belongs to another patient."),
            {"visit": [_("This visit belongs to another patient.")]},
        )
    if visit.status in (ScheduledAssessment.Status.CANCELLED, ScheduledAssessment.Status.MISSED):
        raise Conflict("outcomes.visit_closed", _("This visit was cancelled or marked missed."))
    if visit.status == ScheduledAssessment.Status.PLANNED:
        visit.status = ScheduledAssessment.Status.DONE
        visit.completed_on = on
        visit.save(update_fields=["status", "completed_on", "updated_at"])


def _rater_credential(
    actor: User, inst: Instrument, on: dt.date
) -> tuple[RaterCredential | None, PureCredential | None]:
    """The rater's credential row for a licensed instrument and what the scorer judges (None
    when the instrument needs none, or the credential is not yet valid on ``on``)."""
    cred_row = (
        credential_for(user=actor, instrument=inst.code, on=on)
        if inst.requires_rater_credential
        else None
    )
    pure = (
        PureCredential(
            rater_id=str(actor.pk),
            kind=cred_row.kind,
            reference=cred_row.reference,
            expires_on=cred_row.expires_on,
        )
        if cred_row
        else None
    )
    if cred_row is not None and cred_row.valid_from and on < cred_row.valid_from:
        pure = None
    return cred_row, pure


def assessment_record(
    *,
    actor: User,
    patient: Patient,
    instrument: str,
    values: Mapping[str, Any],
    assessed_on: dt.date,
    visit: ScheduledAssessment | None = None,
    course: TreatmentCourse | None = None,
    mode: str = Assessment.Mode.IN_PERSON,
    respondent_name: str = "",
    note: str = "",
) -> Assessment:
    """Validate and score an entry; a licensed instrument needs the rater's credential valid that day.

    Every problem comes back at once as a 422 with one message per field (ranges, impossible
    combinations, totals that do not add up, a missing or expired credential).
    """
    _require(perms.can_record_assessment, actor, patient)
    if visit is not None and visit.organisation_id != actor.organisation_id:
        raise NotFound()
    inst = _instrument(instrument)
    on = _check_date(assessed_on)
    if mode not in Assessment.Mode.values:
        raise ValidationFailed(
            "outcomes.invalid_mode", _("Unknown mode."), {"mode": [_("Unknown mode.")]}
        )
    cred_row, pure = _rater_credential(actor, inst, on)
    score = validate_and_score(instrument=inst, values=values, rater=pure, assessed_on=on)
    score.raise_for_errors()
    with transaction.atomic():
        _link_visit(visit, patient, inst.code, on)
        if course is None and visit is not None:
            course = visit.schedule.course
        a = Assessment.objects.create(
            organisation_id=patient.organisation_id,
            patient=patient,
            course=course,
            visit=visit,
            instrument=inst.code,
            instrument_version=inst.version,
            assessed_on=on,
            values=_json_values(values),
            total=score.total,
            subscores=score.subscores,
            measures=score.measures,
            source=Assessment.Source.STAFF,
            mode=mode,
            rater=actor,
            rater_credential=cred_row if pure is not None else None,
            respondent_name=respondent_name,
            note=note,
        )
        audit_record(
            actor=actor,
            organisation=a.organisation,
            action="assessment.record",
            subject=a,
            changes={
                "patient": patient.patient_code,
                "instrument": inst.code,
                "assessed_on": on,
                "total": score.total,
                "credential": cred_row.reference if cred_row and pure else None,
            },
        )
    return a


def _json_values(values: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in values.items():
        if v is None:
            continue
        out[str(k)] = float(v) if not isinstance(v, bool | str | int) else v
    return out


def assessment_void(*, actor: User, assessment: Assessment, reason: str) -> Assessment:
    """Withdraw an entry made in error; it stays in the record with who, when and why (DESIGN invariant 5)."""
    _require(perms.can_void_assessment, actor, assessment)
    if not reason.strip():
        raise ValidationFailed(
            "outcomes.reason_required",
            _("Say why this assessment is being voided."),
            {"reason": [_("Say why this assessment is being voided.")]},
        )
    if assessment.is_voided:
        raise Conflict("outcomes.already_voided", _("This assessment is already voided."))
    with transaction.atomic():
        assessment.voided_at = timezone.now()
        assessment.voided_by = actor
        assessment.void_reason = reason.strip()
        assessment.save(update_fields=["voided_at", "voided_by", "void_reason", "updated_at"])
        visit = assessment.visit
        if (
            visit is not None
            and visit.status == ScheduledAssessment.Status.DONE
            and not visit.assessments.filter(voided_at__isnull=True).exists()
        ):
            visit.status = ScheduledAssessment.Status.PLANNED
            visit.completed_on = None
            visit.save(update_fields=["status", "completed_on", "updated_at"])
        audit_record(
            actor=actor,
            organisation=assessment.organisation,
            action="assessment.void",
            subject=assessment,
            changes={"instrument": assessment.instrument, "total": assessment.total},
            reason=reason.strip(),
        )
    return assessment


def diary_submit(
    *,
    patient: Patient,
    values: Mapping[str, Any],
    answered_by: str,
    language: str,
    assessed_on: dt.date | None = None,
) -> Assessment:
    """A family member answers the clinic's caregiver diary in the portal (not a validated instrument)."""
    on = _check_date(assessed_on or _today())
    if not answered_by.strip():
        raise ValidationFailed(
            "outcomes.answered_by_required",
            _("Please tell us who is answering."),
            {"answered_by": [_("Please tell us who is answering.")]},
        )
    score = validate_and_score(instrument="DIARY", values=values, check_rater=False)
    score.raise_for_errors()
    # The diary does not close a clinic visit (those need the rater's instruments); it is filed
    # under the patient's latest course so the cohort view can find it.
    schedule = (
        AssessmentSchedule.objects.filter(patient=patient, voided_at__isnull=True)
        .order_by("-created_at")
        .first()
    )
    with transaction.atomic():
        a = Assessment.objects.create(
            organisation_id=patient.organisation_id,
            patient=patient,
            course_id=schedule.course_id if schedule else None,
            instrument="DIARY",
            assessed_on=on,
            values=_json_values(values),
            total=score.total,
            subscores=score.subscores,
            measures=score.measures,
            source=Assessment.Source.PORTAL,
            mode=Assessment.Mode.PORTAL,
            respondent_name=answered_by.strip()[:200],
            language=language[:10],
        )
        audit_record(
            actor=None,
            organisation=patient.organisation,
            action="assessment.portal_submit",
            subject=a,
            changes={"patient": patient.patient_code, "instrument": "DIARY", "total": score.total},
        )
    return a


# --- biomarkers -----------------------------------------------------------------------------


def biomarker_record(
    *,
    actor: User,
    patient: Patient,
    definition: BiomarkerDefinition,
    value: float,
    collected_on: dt.date,
    unit: str | None = None,
    lab: str = "",
    assay: str = "",
    note: str = "",
) -> BiomarkerResult:
    """Record a lab result in the definition's unit; a different unit is refused rather than guessed."""
    _require(perms.can_record_biomarker, actor, patient)
    if definition.organisation_id != actor.organisation_id:
        raise NotFound()
    errors: dict[str, list[Any]] = {}
    if (
        not isinstance(value, int | float)
        or isinstance(value, bool)
        or not math.isfinite(value)
        or value < 0
    ):
        errors["value"] = [_("Enter a number of zero or more.")]
    if unit and unit.strip() != definition.unit:
        errors["unit"] = [
            _("Enter the value in %(unit)s, the unit set for this marker.")
            % {"unit": definition.unit}
        ]
    if errors:
        raise ValidationFailed(
            "outcomes.invalid_biomarker", _("Please correct the result."), errors
        )
    on = _check_date(collected_on, "collected_on")
    with transaction.atomic():
        result = BiomarkerResult.objects.create(
            organisation_id=patient.organisation_id,
            patient=patient,
            definition=definition,
            value=float(value),
            unit=definition.unit,
            collected_on=on,
            lab=lab,
            assay=assay,
            note=note,
            entered_by=actor,
        )
        audit_record(
            actor=actor,
            organisation=result.organisation,
            action="biomarker_result.record",
            subject=result,
            changes={"patient": patient.patient_code, "code": definition.code, "value": value},
        )
    return result


def biomarker_result_void(*, actor: User, result: BiomarkerResult, reason: str) -> BiomarkerResult:
    _require(perms.can_void_assessment, actor, result)
    if not reason.strip():
        raise ValidationFailed(
            "outcomes.reason_required",
            _("Say why this result is being voided."),
            {"reason": [_("Say why this result is being voided.")]},
        )
    with transaction.atomic():
        result.voided_at, result.voided_by, result.void_reason = (
            timezone.now(),
            actor,
            reason.strip(),
        )
        result.save(update_fields=["voided_at", "voided_by", "void_reason", "updated_at"])
        audit_record(
            actor=actor,
            organisation=result.organisation,
            action="biomarker_result.void",
            subject=result,
            reason=reason.strip(),
        )
    return result


# --- reminders ------------------------------------------------------------------------------


def reminders_send(*, today: dt.date | None = None, horizon_days: int = 7) -> int:
    """Remind the clinic's physicians and nurses of outcome visits due soon or overdue (once per visit and day)."""
    from saisei.core.models import Role
    from saisei.core.selectors import staff_with_role
    from saisei.core.services import notify

    day = today or _today()
    visits = (
        ScheduledAssessment.objects.filter(
            status=ScheduledAssessment.Status.PLANNED,
            voided_at__isnull=True,
            due_date__lte=day + dt.timedelta(days=horizon_days),
        )
        .select_related("patient", "organisation")
        .order_by("organisation_id", "due_date")
    )
    sent = 0
    staff_cache: dict[int, list[User]] = {}
    for v in visits:
        if v.organisation_id not in staff_cache:
            staff_cache[v.organisation_id] = list(
                staff_with_role(organisation=v.organisation, role=Role.PHYSICIAN)
            ) + list(staff_with_role(organisation=v.organisation, role=Role.NURSE))
        overdue = day > v.due_date + dt.timedelta(days=v.window_days)
        subject = (
            _("Overdue outcome assessment: %(patient)s, %(visit)s (due %(due)s)")
            if overdue
            else _("Outcome assessment due: %(patient)s, %(visit)s on %(due)s")
        ) % {"patient": v.patient.patient_code, "visit": v.get_kind_display(), "due": v.due_date}
        created = notify(
            users=staff_cache[v.organisation_id],
            subject=str(subject),
            link=f"/outcomes/visits/{v.external_id}/",
            level="warn" if overdue else "info",
            dedupe_key=f"outcomes-visit-{v.pk}-{'overdue' if overdue else 'due'}",
        )
        if created:
            v.reminded_at = timezone.now()
            v.save(update_fields=["reminded_at", "updated_at"])
            sent += len(created)
    return sent


# --- the cohort summary (computed by the worker, or on the request for a small cohort) ------

# A queued refresh is not queued again within this time; after it (a worker that was down, a
# task that failed) the next reader queues it once more.
COHORT_REQUEUE_AFTER = dt.timedelta(minutes=10)


def cohort_summary_request(*, plan_id: int, measure: str) -> bool:
    """Queue the worker to compute the plan's cohort summary on ``measure``, once.

    A derived summary, not a record: no ledger entry (the inputs are audited where they are
    written). Returns whether a task was queued; a refresh already waiting is not queued again.
    """
    from saisei.outcomes.tasks import refresh_cohort_fit

    now = timezone.now()
    with transaction.atomic():
        row, _created = CohortFitResult.objects.select_for_update().get_or_create(
            plan_id=plan_id, measure=measure
        )
        if row.queued_at is not None and now - row.queued_at < COHORT_REQUEUE_AFTER:
            return False
        row.queued_at = now
        row.save(update_fields=["queued_at"])
        transaction.on_commit(lambda: refresh_cohort_fit.enqueue(plan_id=plan_id, measure=measure))
    return True


def cohort_summary_read(*, plan: Any, measure: str) -> Any:
    """The plan's cohort summary on ``measure`` for a page or the API, without waiting.

    Current (computed today, after the organisation's last write): shown as it is. Otherwise a
    small cohort (at most ``SAISEI_COHORT_INLINE_PATIENTS`` enrolled) is computed now, cheaper
    than a trip through the worker; a larger one is queued for the worker and the stored summary
    is shown with its time as outdated, or nothing but "being computed" when none is stored.
    """
    from django.conf import settings

    from saisei.core.selectors import ledger_position
    from saisei.journey.selectors import course_rows_on_plan
    from saisei.outcomes import summary as cs

    found = CohortFitResult.objects.filter(plan_id=plan.pk, measure=measure).first()
    row = found if found and found.computed_at and found.ledger_seq is not None else None
    state = cs.CURRENT
    if (
        row is None
        or row.ledger_seq != ledger_position(organisation_id=plan.organisation_id)
        or row.as_of != timezone.localdate()
    ):
        size = row.n_enrolled if row else course_rows_on_plan(plan_id=plan.pk).count()
        if size <= settings.SAISEI_COHORT_INLINE_PATIENTS:
            row = cohort_summary_refresh(plan_id=plan.pk, measure=measure)
        else:
            cohort_summary_request(plan_id=plan.pk, measure=measure)
            state = cs.OUTDATED
    if row is None:
        return cs.CohortSummary(plan=plan, measure=measure, state=cs.PENDING)
    return cs.summary_from_json(
        plan=plan,
        measure=measure,
        state=state,
        data=row.summary,
        fit=row.fit,
        computed_at=row.computed_at,
        as_of=row.as_of,
    )


def cohort_summary_refresh(*, plan_id: int, measure: str) -> CohortFitResult:
    """Compute the plan's cohort on ``measure`` from the data as they are now and store what the
    page and API show (``saisei worker`` runs it through ``tasks.refresh_cohort_fit``).

    The ledger position is read before the data: a write that lands while this runs moves the
    ledger past it, so the next reader sees the summary as outdated and queues another, never
    a summary called current that misses a write. The model is fitted again only when its inputs
    changed (same fingerprint: the stored estimate is kept).
    """
    import time

    from saisei.core.selectors import ledger_position
    from saisei.outcomes.analysis import cohort
    from saisei.outcomes.cohort import fit_to_json
    from saisei.outcomes.summary import summary_to_json
    from saisei.regulatory.selectors import plan_for_task

    # Taken off the queue first: a write from now on gets its own refresh.
    CohortFitResult.objects.filter(plan_id=plan_id, measure=measure).update(queued_at=None)
    plan = plan_for_task(plan_id)
    seq = ledger_position(organisation_id=plan.organisation_id)
    today = timezone.localdate()
    prior = (
        CohortFitResult.objects.filter(plan_id=plan_id, measure=measure, computed_at__isnull=False)
        .values_list("fingerprint", "fit")
        .first()
    )
    started = time.perf_counter()
    c = cohort(plan=plan, measure=measure, today=today, prior_fit=prior)
    summary = summary_to_json(c)
    took = time.perf_counter() - started
    row, _created = CohortFitResult.objects.update_or_create(
        plan_id=plan_id,
        measure=measure,
        defaults={
            "fingerprint": c.fit_fingerprint,
            "fit": fit_to_json(c.fit),
            "summary": summary,
            "n_enrolled": c.n_enrolled,
            "ledger_seq": seq,
            "as_of": today,
            "computed_at": timezone.now(),
            "seconds": took,
        },
    )
    return row
