"""Reads for outcomes, scoped to the actor's organisation; references merge the clinic's rows over the defaults."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db.models import Max, Min, Prefetch, QuerySet

from saisei.core.models import Organisation, User
from saisei.core.selectors import first_matching, get_scoped
from saisei.outcomes import permissions as perms
from saisei.outcomes import reference as ref
from saisei.outcomes.models import (
    Assessment,
    AssessmentSchedule,
    BiomarkerDefinition,
    BiomarkerResult,
    McidReference,
    MeasurementErrorReference,
    NaturalHistoryReference,
    RaterCredential,
    ScheduledAssessment,
)

if TYPE_CHECKING:
    from saisei.journey.models import Patient


@dataclass(frozen=True)
class ReferenceSet:
    """The rows the pure layer reads: the clinic's own rows where set, the defaults elsewhere."""

    reference_rows: tuple[ref.ReferenceRow, ...]
    mcid_rows: tuple[ref.McidRow, ...]
    sem_rows: tuple[ref.MeasurementErrorRow, ...]

    def as_kwargs(self) -> dict[str, Any]:
        return {
            "reference_rows": self.reference_rows,
            "mcid_rows": self.mcid_rows,
            "sem_rows": self.sem_rows,
        }


def _merge(
    defaults: tuple[Any, ...], own: list[tuple[tuple[Any, ...], Any | None]], key: Any
) -> tuple[Any, ...]:
    """Clinic rows replace defaults with the same key; an inactive clinic row hides its default."""
    own_keys = {k for k, _row in own}
    merged = [d for d in defaults if key(d) not in own_keys]
    merged.extend(row for _k, row in own if row is not None)
    return tuple(merged)


def reference_set(*, organisation: Organisation | int | None) -> ReferenceSet:
    """Three queries at most; with no organisation, the facts-sheet defaults alone."""
    if organisation is None:
        return ReferenceSet(ref.DEFAULT_REFERENCE_ROWS, ref.DEFAULT_MCID_ROWS, ref.DEFAULT_SEM_ROWS)
    org_id = organisation if isinstance(organisation, int) else organisation.pk
    refs = [
        (
            (r.measure, r.stage),
            ref.ReferenceRow(
                r.measure, r.stage, r.annual_change, r.sd, r.source, r.note, r.uncertain
            )
            if r.is_active
            else None,
        )
        for r in NaturalHistoryReference.objects.filter(organisation_id=org_id)
    ]
    mcids = [
        (
            (r.measure, r.stage or None),
            ref.McidRow(
                r.measure, r.stage or None, r.value, r.low, r.high, r.source, r.note, r.uncertain
            )
            if r.is_active
            else None,
        )
        for r in McidReference.objects.filter(organisation_id=org_id)
    ]
    sems = [
        (
            (r.measure,),
            ref.MeasurementErrorRow(r.measure, r.sem, r.source, r.note, r.uncertain)
            if r.is_active
            else None,
        )
        for r in MeasurementErrorReference.objects.filter(organisation_id=org_id)
    ]
    return ReferenceSet(
        _merge(ref.DEFAULT_REFERENCE_ROWS, refs, lambda r: (r.measure, r.stage)),
        _merge(ref.DEFAULT_MCID_ROWS, mcids, lambda r: (r.measure, r.stage)),
        _merge(ref.DEFAULT_SEM_ROWS, sems, lambda r: (r.measure,)),
    )


def reference_list(*, actor: User) -> QuerySet[NaturalHistoryReference]:
    return perms.scope_outcomes(actor, NaturalHistoryReference.objects.all())


def mcid_list(*, actor: User) -> QuerySet[McidReference]:
    return perms.scope_outcomes(actor, McidReference.objects.all())


def sem_list(*, actor: User) -> QuerySet[MeasurementErrorReference]:
    return perms.scope_outcomes(actor, MeasurementErrorReference.objects.all())


# --- credentials ---------------------------------------------------------------------------


def credential_list(*, actor: User, user: User | None = None) -> QuerySet[RaterCredential]:
    qs = perms.scope_outcomes(
        actor, RaterCredential.objects.filter(voided_at__isnull=True).select_related("user")
    )
    if user is not None:
        qs = qs.filter(user=user)
    return qs


def credential_for(*, user: User, instrument: str, on: dt.date) -> RaterCredential | None:
    """The rater's credential for this instrument valid on the day, else the latest one (to explain expiry)."""
    qs = RaterCredential.objects.filter(
        organisation_id=user.organisation_id,
        user=user,
        instrument=instrument,
        voided_at__isnull=True,
    )
    valid = qs.exclude(valid_from__gt=on).exclude(expires_on__lt=on).order_by("-expires_on").first()
    return valid or qs.order_by("-expires_on").first()


# --- schedules and visits ------------------------------------------------------------------


def schedule_get(*, actor: User, external_id: Any) -> AssessmentSchedule:
    return get_scoped(
        perms.scope_outcomes(actor, AssessmentSchedule.objects.select_related("patient", "course")),
        external_id,
    )


def visit_list(
    *,
    actor: User,
    status: str | None = None,
    due_before: dt.date | None = None,
    patient: Patient | None = None,
) -> QuerySet[ScheduledAssessment]:
    qs = perms.scope_outcomes(
        actor,
        ScheduledAssessment.objects.filter(voided_at__isnull=True).select_related(
            "patient", "schedule"
        ),
    )
    if status:
        qs = qs.filter(status=status)
    if due_before is not None:
        qs = qs.filter(due_date__lte=due_before)
    if patient is not None:
        qs = qs.filter(patient=patient)
    return qs.order_by("due_date", "patient__patient_code", "kind", "number")


def visit_get(*, actor: User, external_id: Any) -> ScheduledAssessment:
    return get_scoped(visit_list(actor=actor), external_id)


def visits_due(
    *, actor: User, today: dt.date, horizon_days: int = 14, limit: int | None = None
) -> list[ScheduledAssessment]:
    """Planned visits due within the horizon (not yet overdue), the first ``limit`` of them.

    A visit is overdue once its own window has passed, so only visits due within the widest
    window before today can still be "due": the database leaves out the rest (a national
    network has hundreds of thousands of past visits), and the exact test runs here."""
    qs = visit_list(
        actor=actor,
        status=ScheduledAssessment.Status.PLANNED,
        due_before=today + dt.timedelta(days=horizon_days),
    )
    widest, _ = _window_bounds(actor)
    if widest is None:
        return []
    recent = qs.filter(due_date__gte=today - dt.timedelta(days=widest))
    return first_matching(recent, lambda v: not is_overdue(v, today=today), limit)


def visits_overdue(
    *, actor: User, today: dt.date, limit: int | None = None
) -> list[ScheduledAssessment]:
    """Planned visits whose window has passed, oldest first, the first ``limit`` of them.

    Only visits due before today less the narrowest window can have passed their own window;
    the database leaves out the rest, and the exact test runs here."""
    qs = visit_list(actor=actor, status=ScheduledAssessment.Status.PLANNED, due_before=today)
    _, narrowest = _window_bounds(actor)
    if narrowest is None:
        return []
    past = qs.filter(due_date__lt=today - dt.timedelta(days=narrowest))
    return first_matching(past, lambda v: is_overdue(v, today=today), limit)


def _window_bounds(actor: User) -> tuple[int | None, int | None]:
    """The widest and narrowest window of the clinic's planned visits, due whenever: bounds
    over more visits than the worklists look at, so never narrower than they need, and two
    ends of one index (visit_org_planned_window_idx) instead of a scan of every due visit."""
    bounds = (
        visit_list(actor=actor, status=ScheduledAssessment.Status.PLANNED)
        .order_by()
        .aggregate(widest=Max("window_days"), narrowest=Min("window_days"))
    )
    return bounds["widest"], bounds["narrowest"]


def is_overdue(visit: ScheduledAssessment, *, today: dt.date) -> bool:
    """Overdue once the window after the due date has passed without an assessment."""
    return (
        visit.status == ScheduledAssessment.Status.PLANNED
        and today > visit.due_date + dt.timedelta(days=visit.window_days)
    )


# --- assessments and biomarkers ------------------------------------------------------------


def assessment_list(
    *,
    actor: User,
    patient: Patient | None = None,
    instrument: str | None = None,
    include_voided: bool = False,
) -> QuerySet[Assessment]:
    qs = perms.scope_outcomes(actor, Assessment.objects.select_related("patient", "rater", "visit"))
    if not include_voided:
        qs = qs.filter(voided_at__isnull=True)
    if patient is not None:
        qs = qs.filter(patient=patient)
    if instrument:
        qs = qs.filter(instrument=instrument)
    return qs.order_by("assessed_on", "id")


def assessment_get(*, actor: User, external_id: Any) -> Assessment:
    return get_scoped(assessment_list(actor=actor, include_voided=True), external_id)


def biomarker_definition_list(*, actor: User) -> QuerySet[BiomarkerDefinition]:
    return perms.scope_outcomes(actor, BiomarkerDefinition.objects.filter(is_active=True))


def biomarker_result_list(
    *, actor: User, patient: Patient | None = None
) -> QuerySet[BiomarkerResult]:
    qs = perms.scope_outcomes(
        actor,
        BiomarkerResult.objects.filter(voided_at__isnull=True).select_related("definition"),
    )
    if patient is not None:
        qs = qs.filter(patient=patient)
    return qs.order_by("definition__code", "collected_on")


def patient_schedules(*, actor: User, patient: Patient) -> QuerySet[AssessmentSchedule]:
    return perms.scope_outcomes(
        actor,
        AssessmentSchedule.objects.filter(patient=patient, voided_at__isnull=True).prefetch_related(
            Prefetch("visits", queryset=ScheduledAssessment.objects.filter(voided_at__isnull=True))
        ),
    )
