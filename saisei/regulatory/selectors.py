"""Reads for the regulatory app, scoped to the actor's organisation, in constant queries."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from django.db.models import Prefetch, QuerySet

from saisei.core.errors import NotFound
from saisei.core.models import User
from saisei.core.permissions import scope_to_org
from saisei.core.prepared import PreparedObjects
from saisei.core.selectors import get_scoped, prepared_get
from saisei.regulatory import permissions
from saisei.regulatory.models import (
    CertifiedCommittee,
    FiledDocument,
    FormVersion,
    GateRefusal,
    MedicalInstitution,
    Obligation,
    ObligationKind,
    Physician,
    PlanState,
    PlanTransition,
    PlanVersion,
    ProcessingFacility,
    ProvisionPlan,
    StandardDocument,
    today_tokyo,
)
from saisei.regulatory.permissions import scope_regulatory

# States in which a version has been filed and accepted at some point (its content is law).
ACCEPTED_STATES = frozenset(
    {
        PlanState.ACCEPTED,
        PlanState.IN_FORCE,
        PlanState.SUSPENDED,
        PlanState.CHANGE_ORDERED,
        PlanState.SUPERSEDED,
        PlanState.DISCONTINUED,
        PlanState.CLOSED,
    }
)


def institution_list(*, actor: User) -> QuerySet[MedicalInstitution]:
    return permissions.scope_regulatory(
        actor, MedicalInstitution.objects.select_related("site").filter(voided_at__isnull=True)
    )


def committee_list(*, actor: User) -> QuerySet[CertifiedCommittee]:
    return permissions.scope_regulatory(
        actor, CertifiedCommittee.objects.filter(voided_at__isnull=True)
    )


def facility_list(*, actor: User) -> QuerySet[ProcessingFacility]:
    return permissions.scope_regulatory(
        actor,
        ProcessingFacility.objects.select_related("site")
        .prefetch_related("authorisations")
        .filter(voided_at__isnull=True),
    )


def physician_list(*, actor: User) -> QuerySet[Physician]:
    return permissions.scope_regulatory(
        actor,
        Physician.objects.select_related("user", "institution").filter(voided_at__isnull=True),
    )


def institution_get(*, actor: User, external_id: Any) -> MedicalInstitution:
    return get_scoped(institution_list(actor=actor), external_id)


def committee_get(*, actor: User, external_id: Any) -> CertifiedCommittee:
    return get_scoped(committee_list(actor=actor), external_id)


def facility_get(*, actor: User, external_id: Any) -> ProcessingFacility:
    return get_scoped(facility_list(actor=actor), external_id)


def physician_get(*, actor: User, external_id: Any) -> Physician:
    return get_scoped(physician_list(actor=actor), external_id)


def _for_gate(model: type[Any]) -> PreparedObjects:
    """A live registry record by organisation and external id (prepared, decision 0036)."""
    return PreparedObjects(
        model,
        lambda organisation_id, external_id: model.objects.filter(
            organisation_id=organisation_id, external_id=external_id, voided_at__isnull=True
        ),
        organisation_id=int,
        external_id=uuid.UUID,
    )


_GATE_LOOKUPS = {
    "plan": _for_gate(ProvisionPlan),
    "physician": _for_gate(Physician),
    "institution": _for_gate(MedicalInstitution),
    "facility": _for_gate(ProcessingFacility),
}


def registry_for_gate(*, actor: User, kind: str, external_id: Any) -> Any:
    """The plan, physician, institution or facility a compliance check names: the same record
    ``plan_get`` and its siblings find (live, the actor's organisation, regulatory readers
    only), through one prepared query instead of a compiled queryset; 404 otherwise."""
    if not permissions.can_view_regulatory(actor):
        raise NotFound()
    return prepared_get(_GATE_LOOKUPS[kind], actor, external_id)


def plan_list(*, actor: User, status: str | None = None) -> QuerySet[ProvisionPlan]:
    qs = ProvisionPlan.objects.select_related("institution").filter(voided_at__isnull=True)
    if status:
        qs = qs.filter(status=status)
    return permissions.scope_regulatory(actor, qs).order_by("status", "title")


def plan_get(*, actor: User, external_id: Any) -> ProvisionPlan:
    return get_scoped(plan_list(actor=actor), external_id)


def plan_detail_get(*, actor: User, external_id: Any) -> ProvisionPlan:
    """A plan with its versions (and their people, facilities, committee) and its step log."""
    qs = plan_list(actor=actor).prefetch_related(
        Prefetch(
            "versions",
            queryset=PlanVersion.objects.select_related("committee", "responsible_physician")
            .prefetch_related("physicians", "facilities")
            .order_by("number"),
        ),
        Prefetch(
            "transitions",
            queryset=PlanTransition.objects.select_related("actor", "version").order_by(
                "created_at", "pk"
            ),
        ),
    )
    return get_scoped(qs, external_id)


def version_get(*, actor: User, external_id: Any) -> PlanVersion:
    qs = permissions.scope_regulatory(
        actor,
        PlanVersion.objects.select_related("plan", "plan__institution", "committee"),
    )
    return get_scoped(qs, external_id)


class DatedVersion(Protocol):
    """What choosing the version in force reads: a plan version, or the gate's facts of one."""

    @property
    def number(self) -> int: ...
    @property
    def state(self) -> str: ...
    @property
    def in_force_from(self) -> dt.date | None: ...
    @property
    def in_force_until(self) -> dt.date | None: ...


V = TypeVar("V", bound=DatedVersion)


def version_in_force(versions: Sequence[V], *, day: dt.date) -> V | None:
    """The version whose in-force interval covers ``day``, else the newest one filed or drafted.

    The fallback still lets the gate explain *why* nothing is in force (waiting period,
    not yet accepted, discontinued).
    """
    covering = [
        v
        for v in versions
        if v.in_force_from is not None
        and v.in_force_from <= day
        and (v.in_force_until is None or day <= v.in_force_until)
        and v.state != PlanState.CLOSED
    ]
    if covering:
        return max(covering, key=lambda v: v.number)
    filed = [v for v in versions if v.state in ACCEPTED_STATES or v.state == PlanState.SUBMITTED]
    pool = filed or list(versions)
    return max(pool, key=lambda v: v.number) if pool else None


def plan_version_covering(*, plan: ProvisionPlan, day: dt.date) -> PlanVersion | None:
    """The accepted version whose in-force interval covered ``day``, or None (no fallback).

    For facts fixed on that day, such as the cell source a harvest was collected under; unlike
    ``version_in_force`` it never answers with a version that was not in force then.
    """
    covering = [
        v
        for v in plan.versions.filter(voided_at__isnull=True, in_force_from__isnull=False)
        if v.in_force_from is not None
        and v.in_force_from <= day
        and (v.in_force_until is None or day <= v.in_force_until)
        and v.state in ACCEPTED_STATES
    ]
    return max(covering, key=lambda v: v.number) if covering else None


def obligation_list(
    *,
    actor: User,
    plan: ProvisionPlan | None = None,
    due_within_days: int | None = None,
    overdue: bool | None = None,
    status: str | None = None,
    today: dt.date | None = None,
) -> QuerySet[Obligation]:
    """Obligations, overdue first then by due date; filters combine (overdue OR due soon)."""
    day = today or today_tokyo()
    qs: Any = permissions.scope_obligations(
        actor,
        Obligation.objects.select_related("plan", "facility").filter(voided_at__isnull=True),
    )
    if plan is not None:
        qs = qs.filter(plan=plan)
    if status == "overdue":
        overdue = True
    elif status in (Obligation.Status.OPEN, Obligation.Status.DONE):
        qs = qs.filter(status=status)
    if overdue and due_within_days is not None:
        qs = qs.open().filter(due_date__lte=day + dt.timedelta(days=due_within_days))
    elif overdue:
        qs = qs.overdue(day)
    elif due_within_days is not None:
        qs = qs.due_within(due_within_days, day)
    # "open" sorts after "done" alphabetically, so descending puts open work first.
    return qs.order_by("-status", "due_date", "pk")


@dataclass(frozen=True)
class UrgentObligations:
    """The most urgent open obligations (overdue, then due within 30 days), bounded."""

    rows: list[Obligation]
    total: int
    overdue: int


def urgent_obligations(*, actor: User, today: dt.date, limit: int) -> UrgentObligations:
    """The first ``limit`` obligations overdue or due within 30 days, with the count of all of
    them and of the overdue: a national network has thousands of open duties, so the rows are
    bounded and the counts come from the database (no further query when all fit)."""
    qs = obligation_list(actor=actor, overdue=True, due_within_days=30, today=today)
    rows = list(qs[:limit])
    if len(rows) < limit:
        overdue = sum(1 for ob in rows if ob.effective_status(today) == "overdue")
        return UrgentObligations(rows, len(rows), overdue)
    return UrgentObligations(rows, qs.count(), qs.filter(due_date__lt=today).count())


def facility_report_rows(*, actor: User, today: dt.date | None = None) -> list[dict[str, Any]]:
    """Each processing facility with its next open yearly-report obligation (two queries).

    A facility with no record in its licence register is listed with ``unscheduled`` so the
    missing fact is seen, never skipped.
    """
    from saisei.regulatory.models import ObligationKind, ProcessingFacility

    day = today or today_tokyo()
    facilities = list(
        permissions.scope_obligations(
            actor,
            ProcessingFacility.objects.filter(voided_at__isnull=True).prefetch_related(
                "authorisations"
            ),
        ).order_by("name")
    )
    nxt: dict[int, Obligation] = {}
    for ob in obligation_list(actor=actor, status=Obligation.Status.OPEN).filter(
        kind=ObligationKind.FACILITY_REPORT, facility__in=facilities
    ):
        if ob.facility_id is not None and ob.facility_id not in nxt:
            nxt[ob.facility_id] = ob
    rows = []
    for f in facilities:
        register = f.register()
        next_open = nxt.get(f.pk)
        # A facility whose register has ended and owes nothing more drops off the list.
        ended = bool(register) and all(
            a.last_day is not None and a.last_day < day for a in register
        )
        if ended and next_open is None:
            continue
        rows.append(
            {
                "facility": f,
                "obligation": next_open,
                "unscheduled": not register,
                "not_started": bool(register) and register[0].valid_from > day,
                "start": register[0].valid_from if register else None,
                "overdue": next_open is not None and next_open.due_date < day,
            }
        )
    return rows


def obligation_get(*, actor: User, external_id: Any) -> Obligation:
    return get_scoped(obligation_list(actor=actor), external_id)


def plan_status_counts(*, actor: User) -> dict[str, int]:
    counts: dict[str, int] = {}
    for status in plan_list(actor=actor).values_list("status", flat=True):
        counts[status] = counts.get(status, 0) + 1
    return counts


def version_diff(old: PlanVersion | None, new: PlanVersion) -> list[dict[str, Any]]:
    """Field-by-field differences between two versions, for the plan page's diff view."""
    rows: list[dict[str, Any]] = []
    fields = [*PlanVersion.CONTENT_FIELDS]
    for name in fields:
        before = getattr(old, name) if old is not None else None
        after = getattr(new, name)
        if before != after:
            field = name.removesuffix("_id")
            if field in ("committee", "responsible_physician"):
                was = getattr(old, field) if old is not None else None
                now = getattr(new, field)
                before = str(was) if was else None
                after = str(now) if now else None
            rows.append(
                {
                    "field": field,
                    "label": getattr(PlanVersion._meta.get_field(field), "verbose_name", field),
                    "before": before,
                    "after": after,
                }
            )
    for rel in ("physicians", "facilities"):
        before_set = {str(x) for x in getattr(old, rel).all()} if old is not None else set()
        after_set = {str(x) for x in getattr(new, rel).all()}
        if before_set != after_set:
            rows.append(
                {
                    "field": rel,
                    "label": getattr(PlanVersion._meta.get_field(rel), "verbose_name", rel),
                    "before": ", ".join(sorted(before_set)),
                    "after": ", ".join(sorted(after_set)),
                }
            )
    return rows


def gate_refusal_list(*, actor: User, act: str = "") -> QuerySet[GateRefusal]:
    """Acts the compliance gate refused, newest first (constant queries per page)."""
    qs = permissions.scope_gate_refusals(
        actor,
        GateRefusal.objects.filter(voided_at__isnull=True).select_related("plan", "recorded_by"),
    )
    if act:
        qs = qs.filter(act=act)
    return qs.order_by("-attempted_at", "-pk")


# --- official forms and standard documents -----------------------------------------------------


def form_version_list(*, actor: User) -> QuerySet[FormVersion]:
    if not permissions.can_view_forms(actor):
        return FormVersion.objects.none()
    return scope_to_org(actor, FormVersion.objects.filter(voided_at__isnull=True))


def filed_document_list(
    *, actor: User, plan: ProvisionPlan | None = None
) -> QuerySet[FiledDocument]:
    if not permissions.can_view_forms(actor):
        return FiledDocument.objects.none()
    qs = scope_to_org(
        actor,
        FiledDocument.objects.filter(voided_at__isnull=True)
        .select_related("form_version", "generated_by")
        .defer("pdf"),
    )
    return qs.filter(plan=plan) if plan is not None else qs


def filed_document_get(*, actor: User, external_id: Any) -> FiledDocument:
    if not permissions.can_view_forms(actor):
        raise NotFound()
    return get_scoped(
        scope_to_org(actor, FiledDocument.objects.select_related("form_version")), external_id
    )


def standard_document_list(
    *, actor: User, facility: ProcessingFacility | None = None
) -> QuerySet[StandardDocument]:
    qs = scope_regulatory(
        actor,
        StandardDocument.objects.filter(voided_at__isnull=True).select_related("facility", "plan"),
    )
    return qs.filter(facility=facility) if facility is not None else qs


def plan_export_version(*, plan: ProvisionPlan, version_id: Any = None) -> PlanVersion:
    """The version a plan export reads: the one named, else the newest (the one being filed)."""
    qs = (
        PlanVersion.objects.filter(plan=plan, voided_at__isnull=True)
        .select_related("plan__institution", "committee", "responsible_physician")
        .prefetch_related("physicians", "facilities__standard_documents")
    )
    if version_id:
        return get_scoped(qs, version_id)
    version = qs.order_by("-number").first()
    if version is None:
        raise NotFound()
    return version


# --- for other apps ------------------------------------------------------------------------
# Other apps reach regulatory records through these (import contract "regulatory-models").
# The ``*_of_organisation`` reads are scoped to the actor's organisation only (an actor without
# one sees nothing) and keep voided rows: the calling app applies its own role rule and filters,
# as it did on the model.


def plans_of_organisation(*, actor: User) -> QuerySet[ProvisionPlan]:
    return scope_to_org(actor, ProvisionPlan.objects.all())


def plan_for_task(plan_id: int) -> ProvisionPlan:
    """The plan a background task was queued for. The task carries the id of a plan that a
    scoped request already read, and runs with no user; it never lists or searches plans."""
    return ProvisionPlan.objects.select_related("institution").get(pk=plan_id)


def physicians_of_organisation(*, actor: User) -> QuerySet[Physician]:
    return scope_to_org(actor, Physician.objects.all())


def facilities_of_organisation(*, actor: User) -> QuerySet[ProcessingFacility]:
    return scope_to_org(actor, ProcessingFacility.objects.all())


def institutions_of_organisation(*, actor: User) -> QuerySet[MedicalInstitution]:
    return scope_to_org(actor, MedicalInstitution.objects.all())


def obligations_of_organisation(*, actor: User) -> QuerySet[Obligation]:
    return scope_to_org(actor, Obligation.objects.all())


def obligations_for_subjects(*, subject_type: str, subject_ids: list[str]) -> QuerySet[Obligation]:
    """Live obligations raised by these records of another app (which the caller has already
    read through its own scoped selector), by due date."""
    return Obligation.objects.filter(
        subject_type=subject_type, subject_id__in=subject_ids, voided_at__isnull=True
    ).order_by("due_date", "recipient")


def facility_report_obligations(*, actor: User) -> QuerySet[Obligation]:
    """Periodic facility reports (with their facility) the actor may read."""
    return permissions.scope_obligations(
        actor,
        Obligation.objects.filter(kind=ObligationKind.FACILITY_REPORT, facility__isnull=False),
    ).select_related("facility")


def institution_of_physician(physician: Physician | User | None) -> MedicalInstitution | None:
    """Where an act takes place: the performing physician's institution in the registry (a
    registry record, or the record of a signed-in user)."""
    if isinstance(physician, Physician):
        return physician.institution
    record = Physician.objects.filter(user=physician, voided_at__isnull=True).first()
    return record.institution if record is not None else None


def plan_version_in_force(*, plan: ProvisionPlan, day: dt.date) -> PlanVersion | None:
    """The plan version in force on ``day``, or None: the plan must be accepted and in force
    (ASRM Art. 4(1), 5; a Class I plan also waits 90 days, which the regulatory layer sets
    through ``in_force_from``)."""
    if plan.status != PlanState.IN_FORCE:
        return None
    for v in plan.versions.filter(voided_at__isnull=True).order_by("-number"):
        if (
            v.state == PlanState.IN_FORCE
            and v.in_force_from is not None
            and v.in_force_from <= day
            and (v.in_force_until is None or day <= v.in_force_until)
        ):
            return v
    return None
