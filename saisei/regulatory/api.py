"""regulatory API (django-ninja router mounted under /api/v1/): plans, obligations, the gate."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import Field

from saisei.core.api_support import ERROR_RESPONSES, ApiDateTime, Page, PageQuery, page_of
from saisei.core.errors import Forbidden, NotFound, ValidationFailed
from saisei.core.permissions import can_use_calculators, staff_user
from saisei.core.registry import gate_fact
from saisei.core.selectors import get_scoped
from saisei.regulatory import config, selectors, services
from saisei.regulatory.lifecycles import PLAN
from saisei.regulatory.models import Obligation, PlanState, PlanVersion, ProvisionPlan
from saisei.regulatory.permissions import lifecycle_roles
from saisei.regulatory.rules import classify, reporting_clock
from saisei.regulatory.services.obligations import rule_text

router = Router(tags=["regulatory"])


# --- calculators -------------------------------------------------------------------------


class ClassifyIn(Schema):
    cell_origin: Literal["autologous", "allogeneic", "xenogeneic"]
    cell_type: Literal["es", "ips", "ips_like", "somatic_stem", "somatic"]
    gene_introduced: bool
    gene_edited: bool
    cultured: bool
    homologous_use: bool


class ReasonOut(Schema):
    rule: str
    text: str
    source: str


class ClassifyOut(Schema):
    risk_class: int
    reasons: list[ReasonOut]


def _calculator(request: HttpRequest) -> None:
    if not can_use_calculators(staff_user(request)):
        raise Forbidden()


@router.post("/regulatory/classify", response={200: ClassifyOut, **ERROR_RESPONSES})
def classify_cells(request: HttpRequest, payload: ClassifyIn) -> dict:
    """Risk class (1 highest) of a technology from its cell facts, with the rules that decided it."""
    _calculator(request)
    return classify(**payload.dict()).as_dict()


class ReportingClockIn(Schema):
    seriousness: Literal[
        "death",
        "life_threatening",
        "hospitalisation",
        "disability",
        "congenital_anomaly",
        "other_serious",
        "non_serious",
    ]
    aware_date: dt.date
    plan_submitted_date: dt.date
    risk_class: Literal[1, 2, 3] | None = None


class DueOut(Schema):
    recipient: str
    due_date: dt.date
    rule: str
    source: str
    text: str


@router.post("/regulatory/reporting-clock", response={200: list[DueOut], **ERROR_RESPONSES})
def reporting_clock_preview(request: HttpRequest, payload: ReportingClockIn) -> list:
    """Reports an adverse event would trigger and their due dates.

    Day 1 is the day after staff became aware (Civil Code Art. 140 excludes the first day of a
    period counted in days), and a report filed on the due date is on time (Art. 141): a 7-day
    report for awareness on 1 April is due on 8 April. The 60-day windows for non-serious
    events count the plan's submission date as day 1 (起算して).
    """
    _calculator(request)
    dues = reporting_clock(
        seriousness=payload.seriousness,
        aware_date=payload.aware_date,
        plan_submitted_date=payload.plan_submitted_date,
        risk_class=payload.risk_class,
        config=config.deadline_config(),
    )
    return [{**d.as_dict(), "text": d.text} for d in dues]


# --- compliance gate ---------------------------------------------------------------------


class ComplianceCheckIn(Schema):
    """The act to check. A fact left out is read from the records (the patient's diagnosis, the
    donation's cell source and facility, the dose's route and cell count), never from the plan;
    if no record holds it, the check refuses with that fact's rule."""

    act: Literal["harvest", "administration"]
    institution_id: uuid.UUID
    physician_id: uuid.UUID
    patient_id: uuid.UUID
    plan_id: uuid.UUID
    at: ApiDateTime
    cell_source: Literal["autologous", "allogeneic", "xenogeneic"] | None = None
    route: str | None = None
    dose_cells: int | None = None
    administration_number: int | None = None
    facility_id: uuid.UUID | None = None
    indication: str | None = None
    donation_id: uuid.UUID | None = None
    dose_id: uuid.UUID | None = None


class FindingOut(Schema):
    rule: str
    severity: str
    message: str
    message_ja: str
    source: str


class ComplianceCheckOut(Schema):
    allowed: bool
    act_date: dt.date
    plan_version: uuid.UUID | None
    findings: list[FindingOut]


def _patient(actor: Any, external_id: uuid.UUID) -> Any:
    return gate_fact("patient")(actor=actor, external_id=external_id)


def _donation(actor: Any, external_id: uuid.UUID | None) -> Any:
    if external_id is None:
        return None
    return gate_fact("donation")(actor=actor, external_id=external_id)


def _dose(actor: Any, external_id: uuid.UUID | None) -> Any:
    if external_id is None:
        return None
    return gate_fact("dose")(actor=actor, external_id=external_id)


def _institution(actor: Any, external_id: uuid.UUID) -> Any:
    """An institution's own id or its core site's id both name the place of the act."""
    from saisei.core.selectors import site_list

    try:
        return selectors.registry_for_gate(actor=actor, kind="institution", external_id=external_id)
    except NotFound:
        return get_scoped(site_list(actor=actor), external_id)


@router.post("/compliance/check", response={200: ComplianceCheckOut, **ERROR_RESPONSES})
def compliance_check(request: HttpRequest, payload: ComplianceCheckIn) -> dict:
    """May this harvest or administration happen? Every failing or warning rule, with its source."""
    _calculator(request)
    actor = staff_user(request)
    plan = selectors.registry_for_gate(actor=actor, kind="plan", external_id=payload.plan_id)
    facility = (
        selectors.registry_for_gate(actor=actor, kind="facility", external_id=payload.facility_id)
        if payload.facility_id
        else None
    )
    result, version = services.gate_check_judged(
        actor=actor,
        act=payload.act,
        institution=_institution(actor, payload.institution_id),
        physician=selectors.registry_for_gate(
            actor=actor, kind="physician", external_id=payload.physician_id
        ),
        patient=_patient(actor, payload.patient_id),
        plan=plan,
        route=payload.route,
        dose_cells=payload.dose_cells,
        administration_number=payload.administration_number,
        at=payload.at,
        cell_source=payload.cell_source,
        facility=facility,
        indication=payload.indication,
        donation=_donation(actor, payload.donation_id),
        dose=_dose(actor, payload.dose_id),
    )
    # The version the gate judged by (in force on the act's Tokyo date, voided versions left out).
    return {**result.as_dict(), "plan_version": version.external_id if version else None}


class GateRefusalOut(Schema):
    external_id: uuid.UUID
    act: str
    plan: uuid.UUID | None
    plan_number: str
    physician_name: str
    patient_code: str
    subject: str
    attempted_at: dt.datetime
    rules: list[str]
    findings: list[FindingOut]

    @staticmethod
    def resolve_plan(obj: Any) -> uuid.UUID | None:
        return obj.plan.external_id if obj.plan is not None else None

    @staticmethod
    def resolve_plan_number(obj: Any) -> str:
        return obj.plan.plan_number if obj.plan is not None else ""


class RefusalFilter(PageQuery):
    act: str = ""


@router.get("/compliance/refusals", response={200: Page[GateRefusalOut], **ERROR_RESPONSES})
def compliance_refusals(request: HttpRequest, filters: Query[RefusalFilter]) -> dict:
    """Acts the compliance gate refused, newest first, with every finding and its source."""
    actor = staff_user(request)
    return page_of(selectors.gate_refusal_list(actor=actor, act=filters.act), filters)


# --- registry ----------------------------------------------------------------------------


class InstitutionOut(Schema):
    external_id: uuid.UUID
    name: str
    name_ja: str
    address: str
    administrator_name: str
    emergency_capacity: str
    site: uuid.UUID

    @staticmethod
    def resolve_site(obj: Any) -> uuid.UUID:
        return obj.site.external_id


class CommitteeOut(Schema):
    external_id: uuid.UUID
    name: str
    name_ja: str
    kind: str
    certification_number: str


class FacilityOut(Schema):
    external_id: uuid.UUID
    name: str
    name_ja: str
    facility_number: str
    manager_name: str
    country: str
    authorised_today: bool
    # The register record in force today (``/authorisations`` lists them all); None: not authorised.
    authorisation: str | None
    authorisation_number: str | None
    valid_from: dt.date | None
    valid_until: dt.date | None

    @staticmethod
    def _current(obj: Any) -> Any:
        from saisei.regulatory.models import today_tokyo

        return obj.authorisation_on(today_tokyo())

    @staticmethod
    def resolve_authorised_today(obj: Any) -> bool:
        return FacilityOut._current(obj) is not None

    @staticmethod
    def resolve_authorisation(obj: Any) -> str | None:
        current = FacilityOut._current(obj)
        return current.kind if current else None

    @staticmethod
    def resolve_authorisation_number(obj: Any) -> str | None:
        current = FacilityOut._current(obj)
        return current.number if current else None

    @staticmethod
    def resolve_valid_from(obj: Any) -> dt.date | None:
        current = FacilityOut._current(obj)
        return current.valid_from if current else None

    @staticmethod
    def resolve_valid_until(obj: Any) -> dt.date | None:
        current = FacilityOut._current(obj)
        return current.last_day if current else None


class PhysicianOut(Schema):
    external_id: uuid.UUID
    name: str
    name_ja: str
    licence_number: str
    username: str

    @staticmethod
    def resolve_username(obj: Any) -> str:
        return obj.user.username


@router.get("/regulatory/institutions", response={200: Page[InstitutionOut], **ERROR_RESPONSES})
def institutions(request: HttpRequest, page: Query[PageQuery]) -> dict:
    return page_of(selectors.institution_list(actor=staff_user(request)), page)


@router.get("/regulatory/committees", response={200: Page[CommitteeOut], **ERROR_RESPONSES})
def committees(request: HttpRequest, page: Query[PageQuery]) -> dict:
    return page_of(selectors.committee_list(actor=staff_user(request)), page)


@router.get("/regulatory/facilities", response={200: Page[FacilityOut], **ERROR_RESPONSES})
def facilities(request: HttpRequest, page: Query[PageQuery]) -> dict:
    return page_of(selectors.facility_list(actor=staff_user(request)), page)


@router.get("/regulatory/physicians", response={200: Page[PhysicianOut], **ERROR_RESPONSES})
def physicians(request: HttpRequest, page: Query[PageQuery]) -> dict:
    return page_of(selectors.physician_list(actor=staff_user(request)), page)


# --- plans -------------------------------------------------------------------------------


class Ref(Schema):
    external_id: uuid.UUID
    name: str


class PlanOut(Schema):
    external_id: uuid.UUID
    title: str
    plan_number: str
    status: str
    risk_class: int
    institution: Ref
    first_submitted_date: dt.date | None
    first_accepted_date: dt.date | None
    discontinued_date: dt.date | None
    follow_up_end_date: dt.date | None

    @staticmethod
    def resolve_institution(obj: Any) -> dict:
        return {"external_id": obj.institution.external_id, "name": obj.institution.name}


class VersionOut(Schema):
    external_id: uuid.UUID
    number: int
    state: str
    change_summary: str
    treatment_name: str
    target_disease: str
    eligibility_summary: str
    cell_origin: str
    cell_type: str
    tissue: str
    cell_characteristics: str
    gene_introduced: bool
    gene_edited: bool
    cultured: bool
    homologous_use: bool
    routes: list[str]
    dose_min_cells: int | None
    dose_max_cells: int | None
    max_administrations: int | None
    declared_risk_class: int
    computed_risk_class: int | None
    consent_document_versions: list[str]
    reception_number: str
    administrator_name: str
    contact_person: str
    contact_phone: str
    contact_email: str
    committee: Ref | None
    physicians: list[Ref]
    facilities: list[Ref]
    responsible_physician: Ref | None
    patient_price_yen: int | None
    research_registration_number: str
    cell_name: str
    cell_processing_summary: str
    review_requested_date: dt.date | None
    opinion_date: dt.date | None
    submitted_date: dt.date | None
    accepted_date: dt.date | None
    in_force_from: dt.date | None
    in_force_until: dt.date | None
    suspended_date: dt.date | None
    discontinued_date: dt.date | None
    closed_date: dt.date | None

    @staticmethod
    def resolve_committee(obj: Any) -> dict | None:
        c = obj.committee
        return {"external_id": c.external_id, "name": c.name} if c else None

    @staticmethod
    def resolve_responsible_physician(obj: Any) -> dict | None:
        p = obj.responsible_physician
        return {"external_id": p.external_id, "name": p.name} if p else None

    @staticmethod
    def resolve_physicians(obj: Any) -> list[dict]:
        return [{"external_id": p.external_id, "name": p.name} for p in obj.physicians.all()]

    @staticmethod
    def resolve_facilities(obj: Any) -> list[dict]:
        return [{"external_id": f.external_id, "name": f.name} for f in obj.facilities.all()]


class TransitionLogOut(Schema):
    name: str
    version: int
    from_state: str
    to_state: str
    effective_date: dt.date
    actor: str
    reason: str
    reference: str
    changes: dict
    recorded_at: dt.datetime

    @staticmethod
    def resolve_version(obj: Any) -> int:
        return obj.version.number

    @staticmethod
    def resolve_actor(obj: Any) -> str:
        return obj.actor.username if obj.actor else "system"

    @staticmethod
    def resolve_recorded_at(obj: Any) -> dt.datetime:
        return obj.created_at


class PlanDetailOut(PlanOut):
    versions: list[VersionOut]
    transitions: list[TransitionLogOut]
    allowed_transitions: list[str]

    @staticmethod
    def resolve_versions(obj: Any) -> list:
        return list(obj.versions.all())

    @staticmethod
    def resolve_transitions(obj: Any) -> list:
        return list(obj.transitions.all())


class PlanFilter(PageQuery):
    status: str | None = None


def _allowed_transitions(actor: Any, plan: ProvisionPlan) -> list[str]:
    """Steps the actor may record now on some version, with every guard passing today."""
    from saisei.regulatory.services.plans import plan_next_steps

    if not lifecycle_roles(actor):
        return []
    names: list[str] = []
    for version in plan.versions.all():
        for name in plan_next_steps(actor=actor, version=version):
            if name not in names:
                names.append(name)
    return names


def _plan_detail(actor: Any, external_id: Any) -> ProvisionPlan:
    plan = selectors.plan_detail_get(actor=actor, external_id=external_id)
    plan.allowed_transitions = _allowed_transitions(actor, plan)  # type: ignore[attr-defined]
    return plan


@router.get("/regulatory/plans", response={200: Page[PlanOut], **ERROR_RESPONSES})
def plans(request: HttpRequest, filters: Query[PlanFilter]) -> dict:
    if filters.status and filters.status not in PlanState.values:
        raise ValidationFailed(
            "invalid_input", "Unknown plan status.", {"status": [filters.status]}
        )
    qs = selectors.plan_list(actor=staff_user(request), status=filters.status)
    return page_of(qs, filters)


@router.get("/regulatory/plans/{external_id}", response={200: PlanDetailOut, **ERROR_RESPONSES})
def plan_detail(request: HttpRequest, external_id: str) -> ProvisionPlan:
    return _plan_detail(staff_user(request), external_id)


class TransitionIn(Schema):
    name: str
    version_id: uuid.UUID | None = None
    effective_date: dt.date | None = None
    reason: str = ""
    reference: str = ""
    plan_number: str = ""
    reception_number: str = ""
    suspension_lifted: bool = False
    follow_up_end_date: dt.date | None = None
    changes: dict[str, Any] | None = None


def _version_for(plan: ProvisionPlan, name: str, version_id: Any) -> PlanVersion:
    versions = list(plan.versions.order_by("-number"))
    if version_id is not None:
        found = next((v for v in versions if v.external_id == version_id), None)
        if found is None:
            raise NotFound()
        return found
    transition = PLAN.get(name)
    if transition is not None:
        for v in versions:
            if v.state in transition.sources:
                return v
    # Nothing fits: the newest version, so the lifecycle table explains the refusal.
    return versions[0]


@router.post(
    "/regulatory/plans/{external_id}/transition",
    response={200: PlanDetailOut, **ERROR_RESPONSES},
)
def plan_transition(request: HttpRequest, external_id: str, payload: TransitionIn) -> ProvisionPlan:
    """Record a lifecycle step; a refusal names the rule (code) and says why (message)."""
    plan = selectors.plan_get(actor=staff_user(request), external_id=external_id)
    version = _version_for(plan, payload.name, payload.version_id)
    services.plan_transition(
        actor=staff_user(request),
        version=version,
        name=payload.name,
        effective_date=payload.effective_date,
        reason=payload.reason,
        reference=payload.reference,
        plan_number=payload.plan_number,
        reception_number=payload.reception_number,
        suspension_lifted=payload.suspension_lifted,
        follow_up_end_date=payload.follow_up_end_date,
        changes=payload.changes,
    )
    return _plan_detail(staff_user(request), external_id)


# --- obligations -------------------------------------------------------------------------


class ObligationOut(Schema):
    external_id: uuid.UUID
    plan: Ref | None
    facility: Ref | None
    kind: str
    recipient: str
    title: str
    due_date: dt.date
    status: str
    rule: str
    source: str
    subject_type: str
    subject_id: str
    period_start: dt.date | None
    period_end: dt.date | None
    submitted_date: dt.date | None
    evidence: str

    @staticmethod
    def resolve_plan(obj: Any) -> dict | None:
        if obj.plan is None:
            return None  # a facility's duty, or an adverse event that no plan covers
        return {"external_id": obj.plan.external_id, "name": obj.plan.title}

    @staticmethod
    def resolve_facility(obj: Any) -> dict | None:
        if obj.facility is None:
            return None
        return {"external_id": obj.facility.external_id, "name": obj.facility.name}

    @staticmethod
    def resolve_title(obj: Any) -> str:
        return rule_text(obj.rule_id, obj.title)

    @staticmethod
    def resolve_status(obj: Any) -> str:
        return obj.effective_status()

    @staticmethod
    def resolve_rule(obj: Any) -> str:
        return obj.rule_id


class ObligationFilter(PageQuery):
    due_within_days: int | None = None
    overdue: bool | None = None
    status: Literal["open", "done", "overdue"] | None = None
    plan_id: uuid.UUID | None = None


@router.get("/regulatory/obligations", response={200: Page[ObligationOut], **ERROR_RESPONSES})
def obligations(request: HttpRequest, filters: Query[ObligationFilter]) -> dict:
    """Obligations in scope; ``overdue`` and ``due_within_days`` together give the dashboard list."""
    actor = staff_user(request)
    plan = selectors.plan_get(actor=actor, external_id=filters.plan_id) if filters.plan_id else None
    if filters.due_within_days is not None and filters.due_within_days < 0:
        raise ValidationFailed(
            "invalid_input",
            "due_within_days must be zero or more.",
            {"due_within_days": ["must be >= 0"]},
        )
    qs = selectors.obligation_list(
        actor=actor,
        plan=plan,
        due_within_days=filters.due_within_days,
        overdue=filters.overdue,
        status=filters.status,
    )
    return page_of(qs, filters)


class MarkDoneIn(Schema):
    submitted_date: dt.date
    evidence: str


@router.post(
    "/regulatory/obligations/{external_id}/done", response={200: ObligationOut, **ERROR_RESPONSES}
)
def obligation_done(request: HttpRequest, external_id: str, payload: MarkDoneIn) -> Obligation:
    obligation = selectors.obligation_get(actor=staff_user(request), external_id=external_id)
    return services.obligation_mark_done(
        actor=staff_user(request),
        obligation=obligation,
        submitted_date=payload.submitted_date,
        evidence=payload.evidence,
    )


# --- periodic reports --------------------------------------------------------------------


class PeriodicReportOut(Schema):
    period_index: int
    period_start: dt.date
    period_end: dt.date
    due_date: dt.date
    status: str
    assembled_at: dt.datetime | None
    committee_review_date: dt.date | None
    committee_opinion: str
    submitted_date: dt.date | None
    data: dict


class PeriodOut(Schema):
    period_index: int
    period_start: dt.date | None
    period_end: dt.date | None
    due_date: dt.date
    obligation_status: str
    report_status: str | None


@router.get(
    "/regulatory/plans/{external_id}/periodic-reports",
    response={200: list[PeriodOut], **ERROR_RESPONSES},
)
def periodic_reports(request: HttpRequest, external_id: str) -> list:
    """Every yearly period of the plan with its deadline and where its report stands."""
    from saisei.regulatory.models import PeriodicReport

    plan = selectors.plan_get(actor=staff_user(request), external_id=external_id)
    reports = {r.period_index: r for r in PeriodicReport.objects.filter(plan=plan)}
    out = []
    for ob in selectors.obligation_list(actor=staff_user(request), plan=plan).filter(
        rule_id="PERIODIC-REPORT"
    ):
        index = int(ob.subject_id.rsplit(":", 1)[1])
        report = reports.get(index)
        out.append(
            {
                "period_index": index,
                "period_start": ob.period_start,
                "period_end": ob.period_end,
                "due_date": ob.due_date,
                "obligation_status": ob.effective_status(),
                "report_status": report.status if report else None,
            }
        )
    return sorted(out, key=lambda r: r["period_index"])


@router.post(
    "/regulatory/plans/{external_id}/periodic-reports/{index}/assemble",
    response={200: PeriodicReportOut, **ERROR_RESPONSES},
)
def periodic_report_assemble(request: HttpRequest, external_id: str, index: int) -> Any:
    """Gather the period's data into a draft for committee review (labels are English msgids)."""
    plan = selectors.plan_get(actor=staff_user(request), external_id=external_id)
    return services.periodic_report_assemble(
        actor=staff_user(request), plan=plan, period_index=index
    )


# --- plan drafting -----------------------------------------------------------------------


class VersionFieldsIn(Schema):
    treatment_name: str | None = None
    target_disease: str | None = None
    eligibility_summary: str | None = None
    cell_origin: Literal["autologous", "allogeneic", "xenogeneic"] | None = None
    cell_type: Literal["es", "ips", "ips_like", "somatic_stem", "somatic"] | None = None
    tissue: str | None = None
    cell_characteristics: str | None = None
    gene_introduced: bool | None = None
    gene_edited: bool | None = None
    cultured: bool | None = None
    homologous_use: bool | None = None
    routes: list[str] | None = None
    dose_min_cells: int | None = None
    dose_max_cells: int | None = None
    max_administrations: int | None = None
    consent_document_versions: list[str] | None = None
    declared_risk_class: Literal[1, 2, 3] | None = None
    documents_complete: bool | None = None
    change_summary: str | None = None
    reception_number: str | None = None
    administrator_name: str | None = Field(None, max_length=100)
    contact_person: str | None = Field(None, max_length=100)
    contact_phone: str | None = Field(None, max_length=30)
    contact_email: str | None = Field(None, max_length=254)
    patient_price_yen: int | None = Field(None, ge=0)
    research_registration_number: str | None = Field(None, max_length=40)
    cell_name: str | None = Field(None, max_length=150)
    cell_processing_summary: str | None = Field(None, max_length=4000)
    committee_id: uuid.UUID | None = None
    responsible_physician_id: uuid.UUID | None = None
    physician_ids: list[uuid.UUID] | None = None
    facility_ids: list[uuid.UUID] | None = None


class PlanCreateIn(VersionFieldsIn):
    title: str
    institution_id: uuid.UUID
    target_disease: str
    cell_origin: Literal["autologous", "allogeneic", "xenogeneic"]
    cell_type: Literal["es", "ips", "ips_like", "somatic_stem", "somatic"]


def _people(actor: Any, payload: VersionFieldsIn) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if payload.committee_id is not None:
        out["committee"] = selectors.committee_get(actor=actor, external_id=payload.committee_id)
    if payload.responsible_physician_id is not None:
        out["responsible_physician"] = selectors.physician_get(
            actor=actor, external_id=payload.responsible_physician_id
        )
    if payload.physician_ids is not None:
        out["physicians"] = [
            selectors.physician_get(actor=actor, external_id=x) for x in payload.physician_ids
        ]
    if payload.facility_ids is not None:
        out["facilities"] = [
            selectors.facility_get(actor=actor, external_id=x) for x in payload.facility_ids
        ]
    return out


def _fields(payload: VersionFieldsIn, *, skip: set[str]) -> dict[str, Any]:
    ids = {"committee_id", "responsible_physician_id", "physician_ids", "facility_ids"}
    return {
        k: v
        for k, v in payload.dict(exclude_unset=True).items()
        if k not in ids | skip and v is not None
    }


@router.post("/regulatory/plans", response={200: PlanDetailOut, **ERROR_RESPONSES})
def plan_create(request: HttpRequest, payload: PlanCreateIn) -> ProvisionPlan:
    """Start a provision plan as a draft; its risk class is computed from the cell facts."""
    actor = staff_user(request)
    institution = selectors.institution_get(actor=actor, external_id=payload.institution_id)
    plan = services.plan_create(
        actor=actor,
        institution=institution,
        title=payload.title,
        **_people(actor, payload),
        **_fields(payload, skip={"title", "institution_id"}),
    )
    return _plan_detail(actor, plan.external_id)


@router.post(
    "/regulatory/plans/{external_id}/versions/{version_id}",
    response={200: PlanDetailOut, **ERROR_RESPONSES},
)
def plan_version_update(
    request: HttpRequest, external_id: str, version_id: str, payload: VersionFieldsIn
) -> ProvisionPlan:
    """Edit a draft version (only drafts change; filed versions change through transitions)."""
    actor = staff_user(request)
    plan = selectors.plan_get(actor=actor, external_id=external_id)
    version = get_scoped(plan.versions.all(), version_id)
    services.plan_version_update(
        actor=actor, version=version, **_people(actor, payload), **_fields(payload, skip=set())
    )
    return _plan_detail(actor, external_id)


# Official forms, plan export and standard documents (issue 16) live in their own module.
from saisei.regulatory.filings_api import router as _filings_router  # noqa: E402

router.add_router("", _filings_router)
# The CPC's licence register and changes; the clinic's own duties (issue 16).
from saisei.regulatory.duties_api import router as duties_router  # noqa: E402

router.add_router("", duties_router)
