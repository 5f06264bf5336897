"""outcomes API (django-ninja router mounted under /api/v1/)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import Field, Router, Schema, Status

from saisei.core.api_support import ERROR_RESPONSES, Page, paginate
from saisei.core.errors import Forbidden
from saisei.core.permissions import can_use_calculators, staff_user
from saisei.outcomes import selectors, services

_user = staff_user  # the signed-in staff user (login is required)


router = Router(tags=["outcomes"])


class ExpectedChangeIn(Schema):
    measure: str = Field(..., max_length=30, examples=["CDR-SB"])
    stage: str = Field(..., max_length=30, examples=["mild_ad"])
    baseline: float
    months: float
    level: float = 0.90


class ExpectedChangeOut(Schema):
    measure: str
    stage: str
    baseline: float
    months: float
    expected: float
    lower: float
    upper: float
    level: float
    annual_change: float
    sd: float
    sem: float | None
    mcid: float | None
    mcid_range: tuple[float, float] | None
    source: str
    uncertain: bool
    clamped: bool


@router.post(
    "/outcomes/expected-change",
    response={200: ExpectedChangeOut, **ERROR_RESPONSES},
    summary="Expected score without treatment, with a prediction band and the MCID",
)
def expected_change(request: HttpRequest, payload: ExpectedChangeIn) -> Any:
    """Uses the clinic's natural-history table where it has rows, the facts-sheet defaults elsewhere."""
    if not can_use_calculators(_user(request)):
        raise Forbidden()
    return services.expected_change_calculate(
        actor=_user(request),
        measure=payload.measure,
        stage=payload.stage,
        baseline=payload.baseline,
        months=payload.months,
        level=payload.level,
    )


class AssessmentIn(Schema):
    patient: str = Field(..., description="patient external id")
    instrument: str = Field(..., max_length=30)
    assessed_on: dt.date
    values: dict[str, Any]
    visit: str | None = None
    mode: str = "in_person"
    note: str = ""


class AssessmentOut(Schema):
    id: str
    patient: str
    instrument: str
    assessed_on: dt.date
    total: float | None
    subscores: dict[str, Any]
    measures: dict[str, float]
    source: str
    rater: str | None
    voided: bool
    void_reason: str

    @staticmethod
    def from_model(a: Any) -> dict[str, Any]:
        return {
            "id": str(a.external_id),
            "patient": str(a.patient.external_id),
            "instrument": a.instrument,
            "assessed_on": a.assessed_on,
            "total": a.total,
            "subscores": a.subscores,
            "measures": a.measures,
            "source": a.source,
            "rater": a.rater.username if a.rater else None,
            "voided": a.is_voided,
            "void_reason": a.void_reason,
        }


def _patient(request: HttpRequest, external_id: str) -> Any:
    from saisei.core.selectors import get_scoped
    from saisei.journey.selectors import patients_of_organisation
    from saisei.outcomes.permissions import scope_outcomes

    user = _user(request)
    return get_scoped(scope_outcomes(user, patients_of_organisation(actor=user)), external_id)


@router.post(
    "/outcomes/assessments",
    response={201: AssessmentOut, **ERROR_RESPONSES},
    summary="Record an assessment (validated and scored; 422 lists every problem per field)",
)
def assessment_create(request: HttpRequest, payload: AssessmentIn) -> Any:
    patient = _patient(request, payload.patient)
    visit = (
        selectors.visit_get(actor=_user(request), external_id=payload.visit)
        if payload.visit
        else None
    )
    a = services.assessment_record(
        actor=_user(request),
        patient=patient,
        instrument=payload.instrument,
        values=payload.values,
        assessed_on=payload.assessed_on,
        visit=visit,
        mode=payload.mode,
        note=payload.note,
    )
    return Status(201, AssessmentOut.from_model(a))


@router.get(
    "/outcomes/assessments",
    response={200: Page[AssessmentOut], **ERROR_RESPONSES},
    summary="Assessments, oldest first; voided ones only when asked",
)
def assessment_list(
    request: HttpRequest,
    patient: str | None = None,
    instrument: str | None = None,
    include_voided: bool = False,
    limit: int = 50,
    offset: int = 0,
    after: str = "",
) -> Any:
    pat = _patient(request, patient) if patient else None
    qs = selectors.assessment_list(
        actor=_user(request),
        patient=pat,
        instrument=instrument,
        include_voided=include_voided,
    )
    page = paginate(qs, limit=limit, offset=offset, after=after)
    page["items"] = [AssessmentOut.from_model(a) for a in page["items"]]
    return page


class VoidIn(Schema):
    reason: str = Field(..., max_length=2000)


@router.post(
    "/outcomes/assessments/{external_id}/void",
    response={200: AssessmentOut, **ERROR_RESPONSES},
    summary="Void an assessment entered in error (kept, with the reason)",
)
def assessment_void(request: HttpRequest, external_id: str, payload: VoidIn) -> Any:
    a = selectors.assessment_get(actor=_user(request), external_id=external_id)
    a = services.assessment_void(actor=_user(request), assessment=a, reason=payload.reason)
    return AssessmentOut.from_model(a)


class VisitOut(Schema):
    id: str
    patient: str
    patient_code: str
    kind: str
    number: int
    due_date: dt.date
    window_days: int
    status: str
    status_reason: str
    instruments: list[str]
    overdue: bool


def _visit_out(v: Any, today: dt.date) -> dict[str, Any]:
    return {
        "id": str(v.external_id),
        "patient": str(v.patient.external_id),
        "patient_code": v.patient.patient_code,
        "kind": v.kind,
        "number": v.number,
        "due_date": v.due_date,
        "window_days": v.window_days,
        "status": v.status,
        "status_reason": v.status_reason,
        "instruments": list(v.instruments or []),
        "overdue": selectors.is_overdue(v, today=today),
    }


@router.get(
    "/outcomes/visits",
    response={200: Page[VisitOut], **ERROR_RESPONSES},
    summary="Scheduled outcome visits (filter by status, due date, patient)",
)
def visit_list(
    request: HttpRequest,
    status: str | None = None,
    due_before: dt.date | None = None,
    patient: str | None = None,
    limit: int = 50,
    offset: int = 0,
    after: str = "",
) -> Any:
    from django.utils import timezone

    pat = _patient(request, patient) if patient else None
    qs = selectors.visit_list(
        actor=_user(request),
        status=status,
        due_before=due_before,
        patient=pat,
    )
    page = paginate(qs, limit=limit, offset=offset, after=after)
    today = timezone.localdate()
    page["items"] = [_visit_out(v, today) for v in page["items"]]
    return page


class ScheduleIn(Schema):
    course: str = Field(..., description="treatment course external id")
    stage: str | None = None
    follow_up_months: list[int] | None = None
    instruments: list[str] | None = None


class ScheduleOut(Schema):
    id: str
    course: str
    stage: str = Field(
        ..., description="the physician's choice for the course; '' follows the recorded stage"
    )
    follow_up_months: list[int]
    visits: list[VisitOut]


@router.post(
    "/outcomes/schedules",
    response={201: ScheduleOut, **ERROR_RESPONSES},
    summary="Plan a course's outcome visits (baseline, before each infusion, months after the last)",
)
def schedule_create(request: HttpRequest, payload: ScheduleIn) -> Any:
    from django.utils import timezone

    from saisei.core.selectors import get_scoped
    from saisei.journey.selectors import courses_of_organisation
    from saisei.outcomes.permissions import scope_outcomes

    user = _user(request)
    course = get_scoped(scope_outcomes(user, courses_of_organisation(actor=user)), payload.course)
    s = services.schedule_create(
        actor=_user(request),
        course=course,
        stage=payload.stage,
        follow_up_months=payload.follow_up_months,
        instruments=payload.instruments,
    )
    today = timezone.localdate()
    visits = s.visits.select_related("patient").order_by("due_date")
    return Status(
        201,
        {
            "id": str(s.external_id),
            "course": str(course.external_id),
            "stage": s.stage,
            "follow_up_months": s.follow_up_months,
            "visits": [_visit_out(v, today) for v in visits],
        },
    )


class ScheduleStageIn(Schema):
    stage: str = Field(
        ..., max_length=30, description="a natural-history stage, or '' to follow the record"
    )
    reason: str = Field(..., max_length=1000)


class ScheduleStageOut(Schema):
    id: str
    stage: str
    stage_basis: str


@router.post(
    "/outcomes/schedules/{external_id}/stage",
    response={200: ScheduleStageOut, **ERROR_RESPONSES},
    summary="Choose the natural history a course is compared with (physician, with a reason)",
)
def schedule_stage(request: HttpRequest, external_id: str, payload: ScheduleStageIn) -> Any:
    from saisei.outcomes.analysis import patient_stage_basis

    s = selectors.schedule_get(actor=_user(request), external_id=external_id)
    s = services.schedule_stage_set(
        actor=_user(request), schedule=s, stage=payload.stage, reason=payload.reason
    )
    basis = patient_stage_basis(patient=s.patient, schedule=s)
    return {"id": str(s.external_id), "stage": s.stage, "stage_basis": str(basis.explanation)}


class BiomarkerIn(Schema):
    patient: str
    code: str = Field(..., max_length=30)
    value: float
    unit: str | None = None
    collected_on: dt.date
    lab: str = ""
    assay: str = ""


class BiomarkerOut(Schema):
    id: str
    code: str
    value: float
    unit: str
    collected_on: dt.date
    loinc: str
    reference_low: float | None
    reference_high: float | None


def _bio_out(r: Any) -> dict[str, Any]:
    d = r.definition
    return {
        "id": str(r.external_id),
        "code": d.code,
        "value": r.value,
        "unit": r.unit,
        "collected_on": r.collected_on,
        "loinc": d.loinc,
        "reference_low": d.reference_low,
        "reference_high": d.reference_high,
    }


@router.post(
    "/outcomes/biomarkers",
    response={201: BiomarkerOut, **ERROR_RESPONSES},
    summary="Record a biomarker result in the unit set for the marker",
)
def biomarker_create(request: HttpRequest, payload: BiomarkerIn) -> Any:
    from saisei.core.errors import ValidationFailed

    patient = _patient(request, payload.patient)
    definition = (
        selectors.biomarker_definition_list(actor=_user(request)).filter(code=payload.code).first()
    )
    if definition is None:
        msg = _("Unknown biomarker.")
        raise ValidationFailed("outcomes.unknown_biomarker", msg, {"code": [msg]})
    r = services.biomarker_record(
        actor=_user(request),
        patient=patient,
        definition=definition,
        value=payload.value,
        unit=payload.unit,
        collected_on=payload.collected_on,
        lab=payload.lab,
        assay=payload.assay,
    )
    return Status(201, _bio_out(r))


@router.get(
    "/outcomes/biomarkers",
    response={200: Page[BiomarkerOut], **ERROR_RESPONSES},
    summary="Biomarker results of a patient",
)
def biomarker_list(
    request: HttpRequest, patient: str, limit: int = 50, offset: int = 0, after: str = ""
) -> Any:
    pat = _patient(request, patient)
    qs = selectors.biomarker_result_list(actor=_user(request), patient=pat)
    page = paginate(qs, limit=limit, offset=offset, after=after)
    page["items"] = [_bio_out(r) for r in page["items"]]
    return page


class PathPointOut(Schema):
    on: dt.date
    months: float
    expected: float
    lower: float
    upper: float


class CaveatOut(Schema):
    code: str
    text: str


class TrajectoryOut(Schema):
    measure: str
    stage: str | None = Field(
        ..., description="natural-history stage compared with; null when the stage is unknown"
    )
    stage_basis: str = Field(..., description="where the stage came from, or why there is none")
    category: str
    text: str
    caveats: list[CaveatOut]
    observations: list[tuple[dt.date, float]]
    expected_path: list[PathPointOut]
    baseline: float | None
    latest: float | None
    months: float | None
    observed_change: float | None
    expected_change: float | None
    lower: float | None
    upper: float | None
    noise_threshold: float | None
    mcid: float | None
    source: str


@router.get(
    "/outcomes/patients/{external_id}/trajectories",
    response={200: list[TrajectoryOut], **ERROR_RESPONSES},
    summary="Each measure's scores against the course expected without treatment, with the reading",
)
def trajectories(request: HttpRequest, external_id: str) -> Any:
    from saisei.outcomes.analysis import patient_outcomes

    patient = _patient(request, external_id)
    out = []
    outcomes = patient_outcomes(patient=patient)
    for t in outcomes.trajectories:
        r = t.reading
        out.append(
            {
                "measure": t.measure,
                "stage": r.stage,
                "stage_basis": str(outcomes.basis.explanation),
                "category": str(r.category),
                "text": str(r.text),
                "caveats": [{"code": c.code, "text": str(c.text)} for c in r.caveats],
                "observations": t.observations,
                "expected_path": [p.__dict__ for p in r.expected_path],
                "baseline": r.baseline,
                "latest": r.latest,
                "months": r.months,
                "observed_change": r.observed_change,
                "expected_change": r.expected_change,
                "lower": r.lower,
                "upper": r.upper,
                "noise_threshold": r.noise_threshold,
                "mcid": r.mcid,
                "source": r.source,
            }
        )
    return out


class CohortVisitOut(Schema):
    kind: str
    number: int
    due: int
    done: int
    missed: int
    dropped_out: int
    not_yet_due: int


class CohortOut(Schema):
    plan: str
    measure: str
    state: str = Field(
        description="current: computed today after the organisation's last write; outdated: "
        "computed from earlier records (a new summary is queued), shown with computed_at; "
        "pending: not computed yet (queued): every figure is null"
    )
    computed_at: dt.datetime | None = Field(description="When the summary shown was computed")
    as_of: dt.date | None = Field(description="The day the visits were counted on")
    stage: str | None = Field(
        ..., description="the one stage all patients with scores share; null when mixed or unknown"
    )
    stage_counts: dict[str, int] | None = Field(
        ..., description="patients with scores per compared stage; '' = stage not recorded"
    )
    n_enrolled: int | None
    n_dropped_out: int | None
    n_with_scores: int | None
    n_with_follow_up: int | None
    slope_per_year: float | None
    ci_low: float | None
    ci_high: float | None
    level: float
    method: str | None
    reference_annual_change: float | None
    warnings: list[str]
    completeness: float | None
    visits: list[CohortVisitOut]
    dropout_reasons: dict[str, int] | None


@router.get(
    "/outcomes/cohorts/{external_id}",
    response={200: CohortOut, **ERROR_RESPONSES},
    summary="Cohort of every patient with a course on the plan: slope with CI, reference, completeness",
)
def cohort_get(request: HttpRequest, external_id: str, measure: str = "CDR-SB") -> Any:
    from saisei.core.errors import ValidationFailed
    from saisei.core.selectors import get_scoped
    from saisei.outcomes.analysis import COHORT_MEASURES
    from saisei.outcomes.permissions import can_view_cohort, scope_outcomes
    from saisei.outcomes.services import cohort_summary_read
    from saisei.outcomes.summary import PENDING
    from saisei.regulatory.selectors import plans_of_organisation

    user = _user(request)
    if not can_view_cohort(user):
        raise Forbidden()
    plan = get_scoped(scope_outcomes(user, plans_of_organisation(actor=user)), external_id)
    if measure not in COHORT_MEASURES:
        msg = _("Unknown measure.")
        raise ValidationFailed("outcomes.unknown_measure", msg, {"measure": [msg]})
    c = cohort_summary_read(plan=plan, measure=measure)
    f = c.fit
    pending = c.state == PENDING
    return {
        "plan": str(plan.external_id),
        "measure": measure,
        "state": c.state,
        "computed_at": c.computed_at,
        "as_of": c.as_of,
        "stage": c.stage,
        "stage_counts": None if pending else c.stage_counts,
        "n_enrolled": None if pending else c.n_enrolled,
        "n_dropped_out": None if pending else c.n_dropped_out,
        "n_with_scores": None if pending else f.n_patients,
        "n_with_follow_up": None if pending else f.n_patients_with_follow_up,
        "slope_per_year": f.slope_per_year,
        "ci_low": f.ci_low,
        "ci_high": f.ci_high,
        "level": f.level,
        "method": None if pending else f.method,
        "reference_annual_change": f.reference_annual_change,
        "warnings": list(f.warnings),
        "completeness": c.completeness,
        "visits": [v.__dict__ for v in c.visits],
        "dropout_reasons": None if pending else c.dropout_reasons,
    }
