"""The compliance gate as a service: load the facts in constant queries, run the rule table.

One gate for every act (DESIGN invariant 1): the harvest (processing), the bedside check and the
administration (treatment) and course scheduling (journey) all call ``gate_check`` or
``gate_require``. Consent, diagnosis and administrations live in higher apps; they are asked
through those apps' selectors, imported inside the function so the dependency direction stays
core ← regulatory. If a selector cannot answer, the import fails and so does the act.

Facts the caller leaves out are taken from the records (the patient's coded diagnosis, the
donation's cell source and facility, the dose's route and cell count), never from the plan being
checked; a fact no record holds is left unknown, and its rule refuses.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils.translation import gettext as _

from saisei.core.audit import audit_record
from saisei.core.errors import NotFound, ValidationFailed
from saisei.core.models import Organisation, Site, User
from saisei.core.prepared import Prepared
from saisei.core.registry import gate_fact
from saisei.core.timezones import TOKYO
from saisei.regulatory import config
from saisei.regulatory.duties_models import authorisation_last_day
from saisei.regulatory.models import (
    FacilityAuthorisation,
    GateRefusal,
    MedicalInstitution,
    Obligation,
    Physician,
    PlanVersion,
    ProcessingFacility,
    ProvisionPlan,
)
from saisei.regulatory.rules import (
    Act,
    AuthorisationPeriod,
    ConsentFacts,
    FacilityFacts,
    GateFacts,
    GateRequest,
    GateResult,
    OverdueObligation,
    evaluate_gate,
)
from saisei.regulatory.rules.gate_facts import FactConflict
from saisei.regulatory.rules.indications import indication_code, indication_codes_in, normalise
from saisei.regulatory.selectors import version_in_force

if TYPE_CHECKING:
    from saisei.journey.models import Patient
    from saisei.processing.models import Donation, Dose

NO_MATCH = -1  # an id no row has: the rule then reports "not listed" / "not covered"


class GateRefused(ValidationFailed):
    """The compliance gate refused the act (HTTP 422, code ``compliance_gate_refused``).

    ``fields`` maps each blocking rule id to ``[message, legal source]``, so an API client sees
    every reason and its citation; a web form shows them as form errors.
    """

    def __init__(self, result: GateResult) -> None:
        blocking = [f for f in result.findings if f.severity == "block"]
        super().__init__(
            "compliance_gate_refused",
            " ".join(f.message for f in blocking) or _("The compliance gate refused this act."),
            {f.rule: [f.message, f.source] for f in blocking},
        )
        self.result = result

    def form_errors(self) -> list[tuple[str | None, str]]:
        return [
            (None, _("%(message)s — %(source)s") % {"message": f.message, "source": f.source})
            for f in self.result.findings
            if f.severity == "block"
        ]


def _consent_status(*, patient_id: int | None, plan_version_id: int, at: dt.datetime) -> str:
    """Ask journey for the consent status (ASRM Art. 14); no patient means no consent."""
    if patient_id is None:
        return "missing"
    return str(
        gate_fact("consent_status")(patient_id=patient_id, plan_version_id=plan_version_id, at=at)
    )


def _administrations_given(*, patient_id: int | None, plan_id: int) -> int:
    """Ask treatment how many administrations this patient had under the plan."""
    if patient_id is None:
        return 0
    return int(gate_fact("administrations_given")(patient_id=patient_id, plan_id=plan_id))


def _patient_indication(*, patient_id: int | None) -> str:
    """Ask journey for the patient's coded diagnosis ("" when none is on record)."""
    if patient_id is None:
        return ""
    return str(gate_fact("patient_indication")(patient_id=patient_id) or "")


def _pk(obj: Any) -> int | None:
    if obj is None:
        return None
    if isinstance(obj, int):
        return obj
    return getattr(obj, "pk", None)


@dataclass(frozen=True)
class JudgedVersion:
    """The plan version the gate judged an act by, as the gate read it (one prepared row)."""

    pk: int
    external_id: uuid.UUID
    number: int
    state: str
    declared_risk_class: int
    institution_id: int
    institution_site_id: int
    submitted_date: dt.date | None
    accepted_date: dt.date | None
    in_force_from: dt.date | None
    in_force_until: dt.date | None
    cell_origin: str
    target_disease: str
    routes: list[str] | None
    dose_min_cells: int | None
    dose_max_cells: int | None
    max_administrations: int | None


# Each fact is one prepared query (compiled once per database, decision 0036): the ORM's own
# filters, without compiling them again on every check.
_VERSIONS = Prepared(
    lambda plan_id: (
        PlanVersion.objects.filter(plan_id=plan_id, voided_at__isnull=True)
        .order_by("number", "pk")
        .values_list(
            "pk",
            "external_id",
            "number",
            "state",
            "declared_risk_class",
            "plan__institution_id",
            "plan__institution__site_id",
            "submitted_date",
            "accepted_date",
            "in_force_from",
            "in_force_until",
            "cell_origin",
            "target_disease",
            "routes",
            "dose_min_cells",
            "dose_max_cells",
            "max_administrations",
        )
    ),
    plan_id=int,
)
_LISTED_PHYSICIANS = Prepared(
    lambda version_id: Physician.objects.filter(plan_versions=version_id).values_list(
        "pk", "user_id"
    ),
    version_id=int,
)
_LISTED_FACILITIES = Prepared(
    lambda version_id: ProcessingFacility.objects.filter(plan_versions=version_id).values_list(
        "pk", flat=True
    ),
    version_id=int,
)
_FACILITY_REGISTER = Prepared(
    lambda version_id: (
        FacilityAuthorisation.objects.filter(
            facility__plan_versions=version_id, voided_at__isnull=True
        )
        .order_by("facility_id", "valid_from", "pk")
        .values_list("facility_id", "kind", "valid_from", "valid_until", "ended_on")
    ),
    version_id=int,
)
_OVERDUE = Prepared(
    lambda plan_id, day: (
        Obligation.objects.overdue(day).filter(plan_id=plan_id).values_list("rule_id", "due_date")
    ),
    plan_id=int,
    day=dt.date,
)


def _listed_facilities(version_id: int) -> tuple[FacilityFacts, ...]:
    """The plan version's facilities, each with its licence register, oldest record first."""
    periods: dict[int, list[AuthorisationPeriod]] = {}
    for facility_id, kind, valid_from, valid_until, ended_on in _FACILITY_REGISTER.rows(
        version_id=version_id
    ):
        periods.setdefault(facility_id, []).append(
            AuthorisationPeriod(
                kind=kind,
                valid_from=valid_from,
                last_day=authorisation_last_day(valid_until, ended_on),
            )
        )
    return tuple(
        FacilityFacts(facility_id=pk, periods=tuple(periods.get(pk, ())))
        for pk in _LISTED_FACILITIES.rows(version_id=version_id)
    )


def _judged_version(
    plan: ProvisionPlan | PlanVersion, day: dt.date
) -> tuple[JudgedVersion | None, int]:
    """The version to judge by (the one named, else the one in force on ``day``) and the plan."""
    plan_id = plan.plan_id if isinstance(plan, PlanVersion) else plan.pk
    versions = [JudgedVersion(*row) for row in _VERSIONS.rows(plan_id=plan_id)]
    if isinstance(plan, PlanVersion):
        return next((v for v in versions if v.pk == plan.pk), None), plan_id
    return version_in_force(versions, day=day), plan_id


def gate_facts_load(
    *,
    plan: ProvisionPlan | PlanVersion | None,
    patient_id: int | None,
    at: dt.datetime,
) -> tuple[GateFacts, JudgedVersion | None, dict[int, int]]:
    """Load everything the gate rules need in a fixed number of queries (Design invariant 1).

    Returns the facts, the version judged by, and its listed physicians (physician id → user id).
    """
    if plan is None:
        return GateFacts(plan_version_id=None), None, {}
    day = at.astimezone(TOKYO).date()
    version, plan_id = _judged_version(plan, day)
    if version is None:
        return GateFacts(plan_version_id=None), None, {}
    listed = dict(_LISTED_PHYSICIANS.rows(version_id=version.pk))
    consent = _consent_status(patient_id=patient_id, plan_version_id=version.pk, at=at)
    facts = GateFacts(
        plan_version_id=version.pk,
        plan_state=version.state,
        risk_class=version.declared_risk_class,
        institution_id=version.institution_id,
        submitted_date=version.submitted_date,
        accepted_date=version.accepted_date,
        in_force_from=version.in_force_from,
        in_force_until=version.in_force_until,
        listed_physician_ids=frozenset(listed),
        allowed_cell_sources=frozenset({version.cell_origin}),
        allowed_indications=indication_codes_in(
            version.target_disease, config.indication_vocabulary()
        ),
        target_disease=version.target_disease,
        allowed_routes=frozenset(version.routes or []),
        dose_min_cells=version.dose_min_cells,
        dose_max_cells=version.dose_max_cells,
        max_administrations=version.max_administrations,
        administrations_given=_administrations_given(patient_id=patient_id, plan_id=plan_id),
        listed_facilities=_listed_facilities(version.pk),
        consent=ConsentFacts(status=consent, plan_version_id=version.pk, patient_id=patient_id),
        overdue_obligations=tuple(
            OverdueObligation(rule=rule_id, due_date=due)
            for rule_id, due in _OVERDUE.rows(plan_id=plan_id, day=day)
        ),
    )
    return facts, version, listed


def _institution_id(institution: Any, version: JudgedVersion | None) -> int:
    if isinstance(institution, MedicalInstitution):
        return institution.pk
    if isinstance(institution, Site):
        # A site is accepted too: it matches when it is the plan's institution's site.
        if version is not None and version.institution_site_id == institution.pk:
            return version.institution_id
        return NO_MATCH
    return _pk(institution) or NO_MATCH


def _physician_id(physician: Any, listed: dict[int, int]) -> int | None:
    """The listed physician performing the act; None when the caller names nobody.

    ``listed`` maps the judged version's listed physicians to their staff accounts."""
    if physician is None:
        return None
    if isinstance(physician, Physician):
        return physician.pk
    if isinstance(physician, User):
        return next((pk for pk, user_id in listed.items() if user_id == physician.pk), NO_MATCH)
    return _pk(physician) or NO_MATCH


def _check_scope(actor: User | None, *objs: Any) -> None:
    if actor is None:
        return
    for obj in objs:
        org = getattr(obj, "organisation_id", None)
        if org is not None and org != actor.organisation_id:
            raise NotFound()


@dataclass(frozen=True)
class Records:
    """What the records say about the act, independent of what the caller states."""

    indication: str | None = None
    cell_source: str | None = None
    route: str | None = None
    dose_cells: int | None = None
    facility: ProcessingFacility | None = None


def gate_records(
    *, patient_id: int | None, donation: Donation | None = None, dose: Dose | None = None
) -> Records:
    """Read the facts of record: the patient's diagnosis, the donation's and the dose's facts."""
    source = dose.lot.donation if dose is not None else donation
    return Records(
        indication=_patient_indication(patient_id=patient_id) or None,
        cell_source=(getattr(source, "cell_source", "") or None) if source is not None else None,
        route=(dose.lot.route or None) if dose is not None else None,
        dose_cells=int(dose.cell_count) if dose is not None else None,
        facility=getattr(source, "facility", None) if source is not None else None,
    )


def _merge(
    field: str, stated: Any, recorded: Any, conflicts: list[FactConflict], *, shown: Any = None
) -> Any:
    """The stated value when given (checked against the record), else the recorded one."""
    if stated is None:
        return recorded
    if recorded is not None and stated != recorded:
        stated_text, recorded_text = shown if shown is not None else (stated, recorded)
        conflicts.append(FactConflict(field, str(stated_text), str(recorded_text)))
    return stated


def _indication_label(code: str | None) -> str | None:
    if code is None:
        return None
    row = next((i for i in config.indication_vocabulary() if i.code == code), None)
    return f"{_(row.label)} (ICD-10 {row.icd10})" if row is not None else code


def _valid_act(act: str, at: dt.datetime) -> Act:
    """The act named, refused when unknown or when its time has no time zone."""
    try:
        act_value = Act(act)
    except ValueError:
        raise ValidationFailed(
            "gate.invalid_act",
            _("Unknown act. Allowed: %(acts)s.") % {"acts": ", ".join(a.value for a in Act)},
            {"act": [str(act)]},
        ) from None
    if at.tzinfo is None:
        raise ValidationFailed(
            "gate.naive_datetime",
            _("The time of the act must include a time zone."),
            {"at": [_("The time of the act must include a time zone.")]},
        )
    return act_value


def gate_check_judged(
    *,
    actor: User | None,
    act: str,
    institution: MedicalInstitution | Site | None,
    physician: Physician | User | None,
    patient: Patient | None,
    plan: ProvisionPlan | PlanVersion | None,
    route: str | None,
    dose_cells: int | None,
    administration_number: int | None,
    at: dt.datetime,
    cell_source: str | None = None,
    facility: ProcessingFacility | None = None,
    indication: str | None = None,
    donation: Donation | None = None,
    dose: Dose | None = None,
) -> tuple[GateResult, JudgedVersion | None]:
    """``gate_check`` with the plan version it judged the act by (None: none in force), so a
    caller that names the version does not load the plan's versions again."""
    act_value = _valid_act(act, at)
    _check_scope(actor, institution, physician, patient, plan, facility, donation, dose)
    patient_id = _pk(patient)
    facts, version, listed = gate_facts_load(plan=plan, patient_id=patient_id, at=at)
    records = gate_records(patient_id=patient_id, donation=donation, dose=dose)
    vocabulary = config.indication_vocabulary()
    conflicts: list[FactConflict] = []
    stated_indication = None
    if indication is not None and indication.strip():
        stated_indication = indication_code(indication, vocabulary) or normalise(indication)
    indication_used = _merge(
        _("indication"),
        stated_indication,
        records.indication,
        conflicts,
        shown=(
            (_indication_label(stated_indication), _indication_label(records.indication))
            if stated_indication is not None and records.indication is not None
            else None
        ),
    )
    stated_source = (cell_source or "").strip().lower() or None
    stated_route = (route or "").strip().lower() or None
    recorded_facility = records.facility
    facility_used = _merge(
        _("processing facility"),
        facility,
        recorded_facility,
        conflicts,
        shown=(facility, recorded_facility),
    )
    request = GateRequest(
        act=act_value,
        at=at,
        institution_id=_institution_id(institution, version),
        physician_id=_physician_id(physician, listed),
        patient_id=patient_id if patient_id is not None else NO_MATCH,
        plan_version_id=version.pk if version is not None else NO_MATCH,
        cell_source=_merge(_("cell source"), stated_source, records.cell_source, conflicts),
        facility_id=_pk(facility_used),
        indication=indication_used,
        indication_label=_indication_label(indication_used),
        route=_merge(_("route"), stated_route, records.route, conflicts),
        # The amount given may differ from the bag's count (a partial infusion); what is
        # stated is judged, and the bag's count stands in only when nothing is stated.
        dose_cells=dose_cells if dose_cells is not None else records.dose_cells,
        administration_number=administration_number,
        conflicts=tuple(conflicts),
    )
    return evaluate_gate(request, facts, config=config.gate_config()), version


def gate_check(
    *,
    actor: User | None,
    act: str,
    institution: MedicalInstitution | Site | None,
    physician: Physician | User | None,
    patient: Patient | None,
    plan: ProvisionPlan | PlanVersion | None,
    route: str | None,
    dose_cells: int | None,
    administration_number: int | None,
    at: dt.datetime,
    cell_source: str | None = None,
    facility: ProcessingFacility | None = None,
    indication: str | None = None,
    donation: Donation | None = None,
    dose: Dose | None = None,
) -> GateResult:
    """May this act happen under the plan at ``at``? Never raises a refusal.

    Uses the plan version in force on that date (Tokyo); returns ``allowed`` and every
    blocking or warning finding with rule id, message (English and Japanese) and legal source.
    ``donation`` and ``dose`` name the records the act is about; facts the caller omits are
    read from them and from the patient's record.
    """
    return gate_check_judged(
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
        donation=donation,
        dose=dose,
    )[0]


def gate_require(
    *,
    actor: User | None,
    act: str,
    institution: MedicalInstitution | Site | None,
    physician: Physician | User | None,
    patient: Patient | None,
    plan: ProvisionPlan | PlanVersion | None,
    route: str | None,
    dose_cells: int | None,
    administration_number: int | None,
    at: dt.datetime,
    cell_source: str | None = None,
    facility: ProcessingFacility | None = None,
    indication: str | None = None,
    donation: Donation | None = None,
    dose: Dose | None = None,
    subject: str = "",
) -> GateResult:
    """Same as ``gate_check`` but refuse with ``GateRefused`` (422) when not allowed.

    The refusal is kept as a ``GateRefusal`` (evidence that the rule held); call this before
    opening the transaction that would record the act, so a rollback does not take it away.
    """
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
        donation=donation,
        dose=dose,
    )
    if not result.allowed:
        refusal = GateRefused(result)
        gate_refusal_record(
            actor=actor,
            act=act,
            plan=plan,
            physician=physician,
            patient=patient,
            at=at,
            result=result,
            subject=subject,
        )
        raise refusal
    return result


def gate_refusal_record(
    *,
    actor: User | None,
    act: str,
    plan: ProvisionPlan | PlanVersion | None,
    physician: Any,
    patient: Patient | None,
    at: dt.datetime,
    result: GateResult,
    subject: str = "",
) -> GateRefusal | None:
    """Keep a refused act as evidence: what was tried, when, by whom, and every finding."""
    organisation = _organisation(actor, plan, patient)
    if organisation is None:
        return None
    plan_obj = plan.plan if isinstance(plan, PlanVersion) else plan
    with transaction.atomic():
        refusal = GateRefusal.objects.create(
            organisation=organisation,
            act=str(act),
            plan=plan_obj,
            physician=physician if isinstance(physician, Physician) else None,
            physician_name=str(physician) if physician is not None else "",
            patient_code=str(getattr(patient, "patient_code", "") or ""),
            subject=subject[:200],
            attempted_at=at,
            findings=[{**f.as_dict(), "severity": f.severity} for f in result.findings],
            rules=[f.rule for f in result.findings if f.severity == "block"],
            recorded_by=actor,
        )
        audit_record(
            actor=actor,
            organisation=organisation,
            action="gate.refuse",
            subject=refusal,
            changes={"act": act, "rules": refusal.rules, "subject": refusal.subject},
        )
    return refusal


def _organisation(
    actor: User | None, plan: ProvisionPlan | PlanVersion | None, patient: Patient | None
) -> Organisation | None:
    for obj in (actor, plan, patient):
        org = getattr(obj, "organisation", None)
        if org is not None:
            return org
    return None
