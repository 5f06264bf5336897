"""Glue between the outcome tables and the pure analysis: one patient's readings, one plan's cohort.

The pure layer decides what a change means (``trajectory.read_trajectory``) and fits the cohort
(``cohort.fit_cohort``); this module only gathers the rows, with every enrolled patient of a plan
counted, dropouts and missed visits included (dropouts are rarely random).
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db.models.fields.json import KT
from django.utils.translation import gettext_lazy as _

from saisei.journey.selectors import courses_on_plan, patient_ids_on_plan
from saisei.outcomes.cohort import CohortFit, fit_cohort, fit_fingerprint, fit_from_json
from saisei.outcomes.instruments import INSTRUMENTS, measure_info
from saisei.outcomes.models import (
    Assessment,
    AssessmentSchedule,
    ScheduledAssessment,
)
from saisei.outcomes.reference import (
    STAGES,
    ReferenceRow,
    StageBasis,
    find_reference,
    stage_basis,
)
from saisei.outcomes.selectors import ReferenceSet, reference_set
from saisei.outcomes.trajectory import Reading, months_between, read_trajectory
from saisei.safety.selectors import adverse_event_summary
from saisei.treatment.selectors import administrations_given_by_patient

if TYPE_CHECKING:
    from saisei.journey.models import Patient, TreatmentCourse
    from saisei.regulatory.models import ProvisionPlan

REPORT_CAVEATS = (
    _("Single-arm, unblinded follow-up: changes cannot be attributed to the treatment."),
    _(
        "Expected courses come from external cohorts and trial placebo arms; this clinic's "
        "patients may differ (selection bias)."
    ),
    _("Patients who stop attending are counted; their missing visits are shown, not imputed."),
    _("Practice effects and measurement noise can make early scores look better."),
)

# Measures shown first on pages and reports; others follow in catalogue order.
PRIMARY_MEASURES = ("CDR-SB", "MMSE", "MOCA", "ADAS-COG11", "NPI-Q-SEVERITY", "DIARY")
COHORT_MEASURES = ("CDR-SB", "MMSE", "MOCA", "ADAS-COG11", "NPI-Q-SEVERITY")


def _measure_order(measures: set[str]) -> list[str]:
    catalogue = [m for inst in INSTRUMENTS.values() for m in inst.measures]
    ordered = [m for m in PRIMARY_MEASURES if m in measures]
    ordered += [m for m in catalogue if m in measures and m not in ordered]
    return ordered


@dataclass
class MeasureTrajectory:
    measure: str
    name: Any
    reading: Reading
    observations: list[tuple[dt.date, float]]
    validated: bool


@dataclass
class PatientOutcomes:
    patient: Patient
    basis: StageBasis
    baseline_until: dt.date | None
    trajectories: list[MeasureTrajectory] = field(default_factory=list)

    @property
    def stage(self) -> str | None:
        """The natural-history stage the scores are compared with; None: no comparison."""
        return self.basis.stage


# A plan's cohort can outgrow what one statement may carry as parameters (SQLite 32,766,
# PostgreSQL 65,535): its lists of patients and courses go to the database in chunks.
IN_CHUNK = 10_000


def _chunks(ids: list[int]) -> list[list[int]]:
    """``ids`` in pieces of at most ``IN_CHUNK``; one empty piece for an empty list."""
    return [ids[i : i + IN_CHUNK] for i in range(0, len(ids), IN_CHUNK)] or [[]]


def recorded_stages(patient_ids: list[int]) -> dict[int, Any]:
    """The stage journey recorded for each patient (its selector; no model import across apps)."""
    from saisei.journey.selectors import patient_recorded_stages

    found: dict[int, Any] = {}
    for chunk in _chunks(patient_ids):
        found.update(patient_recorded_stages(patient_ids=chunk))
    return found


def patient_stage_basis(
    *, patient: Patient, schedule: AssessmentSchedule | None = None
) -> StageBasis:
    """The stage a patient is compared with: the course's chosen stage, else the recorded one."""
    return stage_basis(
        chosen=schedule.stage if schedule is not None else "",
        recorded=recorded_stages([patient.pk]).get(patient.pk),
    )


def _first_infusion(course: TreatmentCourse) -> dt.date | None:
    dates = [
        s.planned_date
        for s in course.steps.all()
        if s.kind == "infusion"
        and s.planned_date
        and s.voided_at is None
        and s.status != "cancelled"
    ]
    return min(dates) if dates else None


def patient_observations(*, patient: Patient) -> dict[str, list[tuple[dt.date, float]]]:
    """Every valid (not voided) score per measure, oldest first."""
    out: dict[str, list[tuple[dt.date, float]]] = defaultdict(list)
    for a in Assessment.objects.filter(patient=patient, voided_at__isnull=True).order_by(
        "assessed_on", "id"
    ):
        for measure, value in (a.measures or {}).items():
            out[measure].append((a.assessed_on, float(value)))
    return dict(out)


def patient_outcomes(
    *, patient: Patient, refs: ReferenceSet | None = None, horizon_months: float = 12.0
) -> PatientOutcomes:
    """Readings for each measure: baseline is every score up to the first infusion (averaged),
    compared with the natural history of the patient's own stage, or with none when unknown."""
    schedule = (
        AssessmentSchedule.objects.filter(patient=patient, voided_at__isnull=True)
        .select_related("course")
        .prefetch_related("course__steps")
        .order_by("-created_at")
        .first()
    )
    basis = patient_stage_basis(patient=patient, schedule=schedule)
    stage = basis.stage
    baseline_until = _first_infusion(schedule.course) if schedule else None
    refs = refs or reference_set(organisation=patient.organisation_id)
    result = PatientOutcomes(patient=patient, basis=basis, baseline_until=baseline_until)
    observations = patient_observations(patient=patient)
    for measure in _measure_order(set(observations)):
        obs = observations[measure]
        info = measure_info(measure)
        until = baseline_until if baseline_until and obs[0][0] <= baseline_until else None
        reading = read_trajectory(
            measure=measure,
            stage=stage,
            observations=obs,
            baseline_until=until,
            horizon_months=horizon_months,
            **refs.as_kwargs(),
        )
        result.trajectories.append(
            MeasureTrajectory(
                measure=measure,
                name=info.instrument.name,
                reading=reading,
                observations=obs,
                validated=info.instrument.validated,
            )
        )
    return result


# --- cohort ---------------------------------------------------------------------------------


@dataclass
class VisitSlot:
    kind: str
    number: int
    label: str
    due: int = 0
    done: int = 0
    missed: int = 0
    dropped_out: int = 0
    not_yet_due: int = 0

    @property
    def fraction(self) -> float | None:
        return self.done / self.due if self.due else None


@dataclass
class CohortPatient:
    patient: Patient
    course: TreatmentCourse
    stopped: bool
    stop_reason: str
    n_scores: int = 0
    administrations: int | None = None  # from the treatment app; None when it is not installed


@dataclass
class Cohort:
    plan: ProvisionPlan
    measure: str
    stage: str | None  # the one stage every patient with scores shares; None when mixed/unknown
    patients: list[CohortPatient]
    rows: list[dict[str, Any]]
    fit: CohortFit
    visits: list[VisitSlot]
    dropout_reasons: dict[str, int]
    ae_summary: dict[str, Any]
    today: dt.date
    # Patients with scores per compared stage ("" = unknown): what the reference was built from.
    stage_counts: dict[str, int] = field(default_factory=dict)
    # The hash of exactly the model's inputs (``cohort.fit_fingerprint``).
    fit_fingerprint: str = ""

    @property
    def n_enrolled(self) -> int:
        return len(self.patients)

    @property
    def n_dropped_out(self) -> int:
        return sum(1 for p in self.patients if p.stopped)

    @property
    def completeness(self) -> float | None:
        return visits_completeness(self.visits)


def visits_completeness(visits: list[VisitSlot]) -> float | None:
    """Visits done of visits due, dropouts' included (None when none was due)."""
    due = sum(v.due for v in visits)
    return sum(v.done for v in visits) / due if due else None


SLOT_LABELS: dict[str, Any] = {
    "baseline": _("Baseline"),
    "pre_infusion": _("Before infusion %(n)s"),
    "follow_up": _("%(n)s months after the last infusion"),
}


def slot_label(kind: str, number: int, *, language: str | None = None) -> str:
    """The visit's name in the page's language, or in ``language`` for documents."""
    from saisei.outcomes.plots import tr

    msg = SLOT_LABELS[kind]
    text = tr(msg, language) if language else str(msg)
    return text % {"n": number} if "%(n)s" in text else text


def _slot_order(key: tuple[str, int]) -> tuple[int, int]:
    return ({"baseline": 0, "pre_infusion": 1, "follow_up": 2}[key[0]], key[1])


def _courses(plan: Any) -> list[Any]:
    return courses_on_plan(plan_id=plan.pk)


def ae_summary(*, patient_ids: Iterable[int]) -> dict[str, Any]:
    """Adverse events of the cohort's patients by seriousness and grade (safety's selector)."""
    return adverse_event_summary(patient_ids=patient_ids)


def _scores(
    patient_ids: Iterable[int], *, measure: str, cutoff: dt.date
) -> tuple[dict[int, list[tuple[dt.date, float]]], dict[int, list[dt.date]]]:
    """Each patient's scores on ``measure`` up to ``cutoff``, oldest first, and the days of all
    their assessments (any measure; the visit count). One read of the assessments: the measure's
    value is taken out of the JSON by the database, not by decoding every row's ``measures``."""
    scores: dict[int, list[tuple[dt.date, float]]] = defaultdict(list)
    assessed_days: dict[int, list[dt.date]] = defaultdict(list)
    for pid, on, value in (
        Assessment.objects.filter(
            patient_id__in=patient_ids, voided_at__isnull=True, assessed_on__lte=cutoff
        )
        .order_by("assessed_on", "id")
        .values_list("patient_id", "assessed_on", KT(f"measures__{measure}"))
    ):
        assessed_days[pid].append(on)
        if value is not None:
            scores[pid].append((on, float(value)))
    return scores, assessed_days


def _visit_slots(
    courses: list[Any],
    schedules: dict[int, AssessmentSchedule],
    *,
    plan_id: int,
    assessed_days: dict[int, list[dt.date]],
    cutoff: dt.date,
) -> list[VisitSlot]:
    """Each scheduled visit of the cohort counted as done, missed, dropped out or not yet due."""

    def assessed_near(patient_id: int, due: dt.date, window_days: int) -> bool:
        """An unlinked assessment still counts for the visit when it falls inside its window."""
        slack = dt.timedelta(days=max(window_days, 14))
        return any(abs(on - due) <= slack for on in assessed_days.get(patient_id, []))

    slots: dict[tuple[str, int], VisitSlot] = {}
    stopped_at = {
        c.pk: (c.stopped_at.date() if c.stopped_at else cutoff)
        for c in courses
        if c.status == "stopped"
    }
    for course_id, sched in schedules.items():
        if sched.follow_up_ended_on is not None:
            stopped_at[course_id] = min(stopped_at.get(course_id, cutoff), sched.follow_up_ended_on)
    # Plain rows, not model instances: a national plan has hundreds of thousands of visits.
    for (
        kind,
        number,
        status,
        due_date,
        window_days,
        patient_id,
        course_id,
    ) in ScheduledAssessment.objects.filter(
        schedule__course__plan_id=plan_id,
        schedule__course__voided_at__isnull=True,
        voided_at__isnull=True,
    ).values_list(
        "kind",
        "number",
        "status",
        "due_date",
        "window_days",
        "patient_id",
        "schedule__course_id",
    ):
        key = (kind, number)
        slot = slots.get(key)
        if slot is None:
            slot = slots[key] = VisitSlot(kind, number, slot_label(kind, number))
        if status == "cancelled" and course_id not in stopped_at:
            continue
        if status == "done" or (
            status == "planned" and assessed_near(patient_id, due_date, window_days)
        ):
            slot.due += 1
            slot.done += 1
            continue
        stop = stopped_at.get(course_id)
        window_end = due_date + dt.timedelta(days=window_days)
        if stop is not None and stop <= window_end:
            slot.due += 1
            slot.dropped_out += 1
        elif status == "missed" or cutoff > window_end:
            slot.due += 1
            slot.missed += 1
        else:
            slot.not_yet_due += 1
    return [slots[k] for k in sorted(slots, key=_slot_order)]


def cohort(
    *,
    plan: ProvisionPlan,
    measure: str,
    today: dt.date,
    until: dt.date | None = None,
    prior_fit: tuple[str, dict[str, Any]] | None = None,
) -> Cohort:
    """Every patient with a course on the plan counts; scores are placed in months from each patient's first score.

    ``prior_fit``: a stored estimate and the fingerprint of its inputs; when the inputs now have
    the same fingerprint it is taken instead of fitting again (the worker's refresh).
    """
    courses = _courses(plan)
    patient_ids = [c.patient_id for c in courses]
    schedules: dict[int, AssessmentSchedule] = {
        s.course_id: s
        for s in AssessmentSchedule.objects.filter(
            course__plan_id=plan.pk, course__voided_at__isnull=True, voided_at__isnull=True
        ).only("id", "course_id", "stage", "follow_up_ended_on", "follow_up_end_reason")
    }
    recorded = recorded_stages(patient_ids)
    basis = {
        c.pk: stage_basis(
            chosen=schedules[c.pk].stage if c.pk in schedules else "",
            recorded=recorded.get(c.patient_id),
        )
        for c in courses
    }
    cutoff = until or today
    on_plan = patient_ids_on_plan(plan_id=plan.pk)
    scores, assessed_days = _scores(on_plan, measure=measure, cutoff=cutoff)
    given = administrations_given_by_patient(patient_ids=on_plan, plan_id=plan.pk)
    patients, rows = _cohort_patients(courses, schedules, scores, given)
    refs = reference_set(organisation=plan.organisation_id)
    stage_counts = Counter(basis[c.pk].stage or "" for c in courses if scores.get(c.patient_id))
    stage, reference, stage_warnings = cohort_reference(
        measure=measure, stage_counts=stage_counts, rows=refs.reference_rows
    )
    enrolled = [c.patient.patient_code for c in courses]
    fingerprint = fit_fingerprint(
        rows=rows, enrolled=enrolled, reference=reference, notes=stage_warnings
    )
    if prior_fit is not None and prior_fit[0] == fingerprint:
        fit = fit_from_json(prior_fit[1])
    else:
        fit = fit_cohort(rows=rows, enrolled=enrolled, reference=reference)
        fit.warnings.extend(stage_warnings)
    visits = _visit_slots(
        courses, schedules, plan_id=plan.pk, assessed_days=assessed_days, cutoff=cutoff
    )
    reasons = Counter(p.stop_reason or "—" for p in patients if p.stopped)
    return Cohort(
        plan=plan,
        measure=measure,
        stage=stage,
        patients=patients,
        rows=rows,
        fit=fit,
        visits=visits,
        dropout_reasons=dict(reasons),
        ae_summary=ae_summary(patient_ids=on_plan),
        today=today,
        stage_counts=dict(stage_counts),
        fit_fingerprint=fingerprint,
    )


def cohort_patients(
    courses: list[Any], *, plan_id: int, measure: str, cutoff: dt.date
) -> list[CohortPatient]:
    """The cohort's rows for some of its courses (a page of the cohort page's table), read now."""
    ids = [c.patient_id for c in courses]
    schedules = {
        s.course_id: s
        for s in AssessmentSchedule.objects.filter(
            course_id__in=[c.pk for c in courses], voided_at__isnull=True
        ).only("id", "course_id", "follow_up_ended_on", "follow_up_end_reason")
    }
    scores, _days = _scores(ids, measure=measure, cutoff=cutoff)
    given = administrations_given_by_patient(patient_ids=ids, plan_id=plan_id)
    return _cohort_patients(courses, schedules, scores, given)[0]


def _cohort_patients(
    courses: list[Any],
    schedules: dict[int, AssessmentSchedule],
    scores: dict[int, list[tuple[dt.date, float]]],
    given: dict[int, int],
) -> tuple[list[CohortPatient], list[dict[str, Any]]]:
    """Each course's patient with why they stopped, and their scores in months from their first."""
    patients: list[CohortPatient] = []
    rows: list[dict[str, Any]] = []
    for c in courses:
        obs = scores.get(c.patient_id, [])
        sched = schedules.get(c.pk)
        ended = sched is not None and sched.follow_up_ended_on is not None
        stopped = c.status == "stopped" or c.patient.status == "withdrawn" or ended
        reason = c.stop_reason or (sched.follow_up_end_reason if sched and ended else "")
        patients.append(
            CohortPatient(
                patient=c.patient,
                course=c,
                stopped=stopped,
                stop_reason=reason if stopped else "",
                n_scores=len(obs),
                administrations=given.get(c.patient_id, 0),
            )
        )
        if obs:
            start = obs[0][0]
            rows.extend(
                {
                    "patient": c.patient.patient_code,
                    "months": months_between(start, on),
                    "score": value,
                    "date": on,
                }
                for on, value in obs
            )
    return patients, rows


COHORT_STAGE_NOTES: dict[str, Any] = {
    "stage_unknown": _(
        "The stage of illness is not recorded for some patients with scores, so the cohort is "
        "not compared with an expected course without treatment."
    ),
    "no_reference_for_stage": _(
        "No expected course without treatment is set for the stage of some patients, so the "
        "cohort is not compared with one."
    ),
    "mixed_stages": _(
        "The patients are at different stages: the expected change is the average of each "
        "stage's expected change, weighted by the number of patients at that stage."
    ),
}


def cohort_reference(
    *, measure: str, stage_counts: Counter[str], rows: Any
) -> tuple[str | None, ReferenceRow | None, list[str]]:
    """The natural history a cohort's slope is compared with, built from its patients' stages.

    One stage: that stage's row. Several known stages: the mean of their rows weighted by the
    number of patients with scores at each (the expected mean slope of exactly this mix), flagged
    "mixed_stages". Any patient of unknown stage, or a stage without a row: no reference at all
    ("stage_unknown" / "no_reference_for_stage"), never a default stage.
    """
    if not stage_counts:
        return None, None, []
    if stage_counts.get(""):
        return None, None, ["stage_unknown"]
    found: dict[str, ReferenceRow] = {}
    for st in stage_counts:
        row = find_reference(measure=measure, stage=st, rows=rows)
        if row is None:
            return None, None, ["no_reference_for_stage"]
        found[st] = row
    if len(found) == 1:
        (stage, only), *_ = found.items()
        return stage, only, []
    n = sum(stage_counts.values())
    mean = sum(found[st].annual_change * k for st, k in stage_counts.items()) / n
    # Spread of a mixture: within-stage variance plus the spread of the stage means.
    var = sum(
        k * (found[st].sd ** 2 + (found[st].annual_change - mean) ** 2)
        for st, k in stage_counts.items()
    )
    parts = "; ".join(
        f"{k} × {STAGES[st]}: {found[st].source}" for st, k in sorted(stage_counts.items())
    )
    mixed = ReferenceRow(
        measure=measure,
        stage="mixed",
        annual_change=mean,
        sd=math.sqrt(var / n),
        source=f"Patient-weighted mean of the stage references ({parts})",
        uncertain=any(row.uncertain for row in found.values()),
    )
    return None, mixed, ["mixed_stages"]


def periodic_report_outcome_section(
    *, plan: ProvisionPlan, period_start: dt.date, period_end: dt.date
) -> dict[str, Any]:
    """The outcome section of the plan's periodic report: per measure, who was followed, the cohort
    slope with its interval next to the reference, completeness and dropouts, with the caveats."""
    measures = []
    for measure in COHORT_MEASURES:
        c = cohort(plan=plan, measure=measure, today=period_end, until=period_end)
        if not c.rows:
            continue
        f = c.fit
        measures.append(
            {
                "measure": measure,
                "stage": c.stage,
                "n_enrolled": c.n_enrolled,
                "n_with_scores": f.n_patients,
                "n_with_follow_up": f.n_patients_with_follow_up,
                "n_assessments": f.n_obs,
                "n_in_period": sum(1 for r in c.rows if period_start <= r["date"] <= period_end),
                "slope_per_year": f.slope_per_year,
                "ci_low": f.ci_low,
                "ci_high": f.ci_high,
                "level": f.level,
                "method": f.method,
                "reference_annual_change": f.reference_annual_change,
                "reference_source": f.reference_source,
                "warnings": list(f.warnings),
                "completeness": c.completeness,
                "visits": [
                    {
                        "visit": v.label,
                        "due": v.due,
                        "done": v.done,
                        "missed": v.missed,
                        "dropped_out": v.dropped_out,
                    }
                    for v in c.visits
                ],
            }
        )
    first = cohort(plan=plan, measure=COHORT_MEASURES[0], today=period_end, until=period_end)
    return {
        "plan": str(plan.external_id),
        "period_start": period_start.isoformat(),
        "period_end": period_end.isoformat(),
        "n_enrolled": first.n_enrolled,
        "n_dropped_out": first.n_dropped_out,
        "dropout_reasons": first.dropout_reasons,
        "measures": measures,
        "adverse_events": first.ae_summary,
        "caveats": [str(c) for c in REPORT_CAVEATS],
    }
