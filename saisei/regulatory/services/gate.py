"""The compliance gate as a service: load the facts in constant queries, run the rule table.

Other apps call ``gate_check`` before scheduling and ``gate_require`` at the bedside. Consent
and administrations live in higher apps (journey, treatment); they are asked through their
selectors, imported inside the function so the dependency direction stays core ← regulatory.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils.translation import gettext as _

from saisei.core.errors import Conflict, NotFound, ValidationFailed
from saisei.core.models import Site, User
from saisei.regulatory import config
from saisei.regulatory.models import (
    TOKYO,
    MedicalInstitution,
    Obligation,
    Physician,
    PlanVersion,
    ProcessingFacility,
    ProvisionPlan,
)
from saisei.regulatory.rules import (
    Act,
    ConsentFacts,
    FacilityFacts,
    GateFacts,
    GateRequest,
    GateResult,
    OverdueObligation,
    evaluate_gate,
)
from saisei.regulatory.selectors import version_in_force

NO_MATCH = -1  # an id no row has: the rule then reports "not listed" / "not covered"


def _consent_status(*, patient_id: int | None, plan_version_id: int, at: dt.datetime) -> str:
    """Ask journey for the consent status; fail closed when it cannot answer."""
    if patient_id is None:
        return "missing"
    try:
        from saisei.journey.selectors import consent_status_for_gate  # type: ignore[import-not-found]
    except (ImportError, AttributeError):
        # journey has not shipped its selector yet: with no evidence of consent the gate
        # must refuse (ASRM Art. 14), never assume consent.
        return "missing"
    return str(
        consent_status_for_gate(patient_id=patient_id, plan_version_id=plan_version_id, at=at)
    )


def _administrations_given(*, patient_id: int | None, plan_id: int) -> int:
    """Ask treatment how many administrations this patient had under the plan."""
    if patient_id is None:
        return 0
    try:
        from saisei.treatment.selectors import administrations_given  # type: ignore[import-not-found]
    except (ImportError, AttributeError):
        # treatment has not shipped its selector yet; 0 keeps the count rule honest for the
        # first administration and the number the caller states is still checked against the limit.
        return 0
    return int(administrations_given(patient_id=patient_id, plan_id=plan_id))


def _norm(text: str | None) -> str:
    return " ".join((text or "").split()).casefold()


def _pk(obj: Any) -> int | None:
    if obj is None:
        return None
    if isinstance(obj, int):
        return obj
    return getattr(obj, "pk", None)


def gate_facts_load(
    *,
    plan: ProvisionPlan | PlanVersion | None,
    patient_id: int | None,
    at: dt.datetime,
) -> tuple[GateFacts, PlanVersion | None]:
    """Load everything the gate rules need in a fixed number of queries (Design invariant 1)."""
    if plan is None:
        return GateFacts(plan_version_id=None), None
    plan_id = plan.plan_id if isinstance(plan, PlanVersion) else plan.pk
    day = at.astimezone(TOKYO).date()
    versions = list(
        PlanVersion.objects.filter(plan_id=plan_id, voided_at__isnull=True)
        .select_related("plan")
        .prefetch_related("physicians", "facilities")
    )
    if isinstance(plan, PlanVersion):
        version = next((v for v in versions if v.pk == plan.pk), None)
    else:
        version = version_in_force(versions, day=day)
    if version is None:
        return GateFacts(plan_version_id=None), None
    overdue = [
        OverdueObligation(rule=rule_id, due_date=due)
        for rule_id, due in Obligation.objects.overdue(day)
        .filter(plan_id=plan_id)
        .values_list("rule_id", "due_date")
    ]
    consent = _consent_status(patient_id=patient_id, plan_version_id=version.pk, at=at)
    facts = GateFacts(
        plan_version_id=version.pk,
        plan_state=version.state,
        risk_class=version.declared_risk_class,
        institution_id=version.plan.institution_id,
        submitted_date=version.submitted_date,
        accepted_date=version.accepted_date,
        in_force_from=version.in_force_from,
        in_force_until=version.in_force_until,
        listed_physician_ids=frozenset(p.pk for p in version.physicians.all()),
        allowed_cell_sources=frozenset({version.cell_origin}),
        allowed_indications=frozenset({_norm(version.target_disease)}),
        allowed_routes=frozenset(version.routes or []),
        dose_min_cells=version.dose_min_cells,
        dose_max_cells=version.dose_max_cells,
        max_administrations=version.max_administrations,
        administrations_given=_administrations_given(patient_id=patient_id, plan_id=plan_id),
        listed_facilities=tuple(
            FacilityFacts(
                facility_id=f.pk,
                authorisation=f.authorisation,
                valid_from=f.valid_from,
                valid_until=f.valid_until,
            )
            for f in version.facilities.all()
        ),
        consent=ConsentFacts(status=consent, plan_version_id=version.pk, patient_id=patient_id),
        overdue_obligations=tuple(overdue),
    )
    return facts, version


def _institution_id(institution: Any, version: PlanVersion | None) -> int:
    if isinstance(institution, MedicalInstitution):
        return institution.pk
    if isinstance(institution, Site):
        # A site is accepted too: it matches when it is the plan's institution's site.
        if version is not None and version.plan.institution.site_id == institution.pk:
            return version.plan.institution_id
        return NO_MATCH
    return _pk(institution) or NO_MATCH


def _physician_id(physician: Any, version: PlanVersion | None) -> int:
    if isinstance(physician, Physician):
        return physician.pk
    if isinstance(physician, User):
        listed = version.physicians.all() if version is not None else []
        return next((p.pk for p in listed if p.user_id == physician.pk), NO_MATCH)
    return _pk(physician) or NO_MATCH


def _facility_id(facility: Any, version: PlanVersion | None, day: dt.date) -> int | None:
    if facility is not None:
        return _pk(facility)
    if version is None:
        return None
    # No facility named (e.g. the bedside caller): judge the plan's own listed facilities,
    # preferring one authorised that day so a valid alternative is not reported as a failure.
    listed = sorted(version.facilities.all(), key=lambda f: f.pk)
    valid = [f for f in listed if f.authorised_on(day)]
    pool = valid or listed
    return pool[0].pk if pool else None


def _check_scope(actor: User | None, *objs: Any) -> None:
    if actor is None:
        return
    for obj in objs:
        org = getattr(obj, "organisation_id", None)
        if org is not None and org != actor.organisation_id:
            raise NotFound()


def gate_check(
    *,
    actor: User | None,
    act: str,
    institution: MedicalInstitution | Site | None,
    physician: Physician | User | None,
    patient: Any,
    plan: ProvisionPlan | PlanVersion | None,
    route: str | None,
    dose_cells: int | None,
    administration_number: int | None,
    at: dt.datetime,
    cell_source: str | None = None,
    facility: ProcessingFacility | None = None,
    indication: str | None = None,
) -> GateResult:
    """May this harvest or administration happen under the plan at ``at``? Never raises a refusal.

    Uses the plan version in force on that date (Tokyo); returns ``allowed`` and every
    blocking or warning finding with rule id, message (English and Japanese) and legal source.
    """
    try:
        act_value = Act(act)
    except ValueError:
        raise ValidationFailed(
            "gate.invalid_act",
            _("Unknown act. Allowed: harvest, administration."),
            {"act": [str(act)]},
        ) from None
    if at.tzinfo is None:
        raise ValidationFailed(
            "gate.naive_datetime",
            _("The time of the act must include a time zone."),
            {"at": [_("The time of the act must include a time zone.")]},
        )
    _check_scope(actor, institution, physician, patient, plan, facility)
    patient_id = _pk(patient)
    facts, version = gate_facts_load(plan=plan, patient_id=patient_id, at=at)
    day = at.astimezone(TOKYO).date()
    request = GateRequest(
        act=act_value,
        at=at,
        institution_id=_institution_id(institution, version),
        physician_id=_physician_id(physician, version),
        patient_id=patient_id if patient_id is not None else NO_MATCH,
        plan_version_id=version.pk if version is not None else NO_MATCH,
        cell_source=cell_source or (version.cell_origin if version is not None else ""),
        facility_id=_facility_id(facility, version, day),
        # Journey keeps no diagnosis on the patient yet, so a caller that names none attests
        # the plan's own indication (like cell_source); the API and forms pass it explicitly.
        indication=_norm(indication)
        if indication is not None
        else (_norm(version.target_disease) if version is not None else None),
        route=(route or "").strip().lower() or None,
        dose_cells=dose_cells,
        administration_number=administration_number,
    )
    return evaluate_gate(request, facts, config=config.gate_config())


def gate_require(
    *,
    actor: User | None,
    act: str,
    institution: MedicalInstitution | Site | None,
    physician: Physician | User | None,
    patient: Any,
    plan: ProvisionPlan | PlanVersion | None,
    route: str | None,
    dose_cells: int | None,
    administration_number: int | None,
    at: dt.datetime,
    cell_source: str | None = None,
    facility: ProcessingFacility | None = None,
    indication: str | None = None,
) -> GateResult:
    """Same as ``gate_check`` but raise ``Conflict(compliance_gate_refused)`` when not allowed."""
    result = gate_check(
        actor=actor,
        act=act,
        institution=institution,
        physician=physician,
        patient=patient,
        plan=plan,
        route=route,
        dose_cells=dose_cells,
        administration_number=administration_number,
        at=at,
        cell_source=cell_source,
        facility=facility,
        indication=indication,
    )
    if not result.allowed:
        blocking = [f for f in result.findings if f.severity == "block"]
        raise Conflict(
            "compliance_gate_refused",
            " ".join(f.message for f in blocking),
            {"rules": [f.rule for f in blocking]},
        )
    return result
