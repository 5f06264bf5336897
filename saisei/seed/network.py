"""One synthetic clinic group, built through the services: registry, plan in force, package."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from saisei.core import services as core_services
from saisei.core.models import Organisation, Role, Site, User
from saisei.seed.constants import (
    CELLS_PER_DOSE,
    CULTURE_DAYS,
    FOLLOW_UP_MONTHS,
    INFUSIONS,
    INTERVAL_DAYS,
    STAFF_ROLES,
    SYNTH_PASSWORD,
    D,
    org_slug,
)


@dataclass
class OrgSetup:
    k: int
    org: Organisation
    clinic: Site
    cpc: Site
    users: dict[str, User]
    plan: Any
    version: Any
    institution: Any
    facility: Any
    physician: Any
    package: Any
    consent_doc: Any
    credentials: dict[str, Any]
    specs: list[Any] = field(default_factory=list)


def _user(org: Organisation, role: str, k: int, seed: int) -> User:
    username = f"synth-s{seed}-o{k}-{role}"
    user = User.objects.filter(username=username).first()
    return user or core_services.user_create(
        actor=None,
        organisation=org,
        username=username,
        password=SYNTH_PASSWORD,
        roles=[role],
        display_name=f"SYNTH {role.replace('_', ' ')} {k}",
        email=f"{username}@synthetic.saisei.invalid",
        validate=False,
    )


def _org_and_sites(seed: int, k: int) -> tuple[Organisation, Site, Site]:
    """The clinic group with its clinic and its CPC (found again on a second run)."""
    slug = org_slug(seed, k)
    org = Organisation.objects.filter(slug=slug).first() or core_services.organisation_create(
        actor=None,
        name=f"SYNTH Clinic Group {seed}-{k}",
        slug=slug,
        kind=Organisation.Kind.CLINIC_GROUP,
    )

    def site(name: str, kind: str) -> Site:
        return Site.objects.filter(
            organisation=org, name=name
        ).first() or core_services.site_create(
            actor=None, organisation=org, name=name, kind=kind, address="Synthetic address"
        )

    clinic = site(f"SYNTH Clinic {seed}-{k}", Site.Kind.MEDICAL_INSTITUTION)
    cpc = site(f"SYNTH CPC {seed}-{k}", Site.Kind.CELL_PROCESSING_FACILITY)
    return org, clinic, cpc


@dataclass
class _Registry:
    institution: Any
    committee: Any
    facility: Any
    physician: Any


def _registry(
    seed: int,
    k: int,
    today: dt.date,
    org: Organisation,
    clinic: Site,
    cpc: Site,
    users: dict[str, User],
) -> _Registry:
    """The regulatory registry: institution, certified committee, processing facility, physician."""
    from saisei.regulatory import services as reg
    from saisei.regulatory.models import (
        CertifiedCommittee,
        MedicalInstitution,
        Physician,
        ProcessingFacility,
    )

    officer = users[Role.COMPLIANCE_OFFICER]
    institution = MedicalInstitution.objects.filter(site=clinic).first() or reg.institution_create(
        actor=officer,
        site=clinic,
        name=f"SYNTH Clinic {seed}-{k}",
        administrator_name=f"SYNTH Administrator {k}",
        address="Synthetic address",
    )
    committee = CertifiedCommittee.objects.filter(organisation=org).first() or reg.committee_create(
        actor=officer,
        name=f"SYNTH Committee {seed}-{k}",
        kind=CertifiedCommittee.Kind.SPECIALLY_CERTIFIED,
        certification_number=f"SYN{seed}{k:04d}",
    )
    facility = ProcessingFacility.objects.filter(organisation=org).first() or reg.facility_create(
        actor=officer,
        name=f"SYNTH CPC {seed}-{k}",
        authorisation=ProcessingFacility.Authorisation.NOTIFIED,
        facility_number=f"SYNF{seed}{k:04d}",
        manager_name=f"SYNTH Manager {k}",
        valid_from=today - D(900),
        site=cpc,
    )
    physician = Physician.objects.filter(
        user=users[Role.PHYSICIAN]
    ).first() or reg.physician_create(
        actor=officer,
        user=users[Role.PHYSICIAN],
        name=f"SYNTH Physician {k}",
        licence_number=f"S{seed}{k:05d}",
        institution=institution,
    )
    return _Registry(institution, committee, facility, physician)


def _plan_create(seed: int, k: int, officer: User, registry: _Registry) -> Any:
    """A new provision plan for the synthetic therapy, as drafted (no transitions yet)."""
    from saisei.regulatory import services as reg

    return reg.plan_create(
        actor=officer,
        institution=registry.institution,
        title=f"SYNTH autologous adipose MSC for Alzheimer's disease ({seed}-{k})",
        committee=registry.committee,
        physicians=[registry.physician],
        facilities=[registry.facility],
        cell_origin="autologous",
        cell_type="somatic_stem",
        tissue="adipose (abdominal subcutaneous)",
        cultured=True,
        documents_complete=True,
        target_disease="Alzheimer's disease (synthetic)",
        routes=["iv"],
        dose_min_cells=CELLS_PER_DOSE,
        dose_max_cells=3 * CELLS_PER_DOSE,
        max_administrations=10,
        consent_document_versions=["ICF-SYNTH 1.0"],
        administrator_name=f"SYNTH Administrator {k}",
        contact_person="SYNTH office",
        contact_email=f"office-{org_slug(seed, k)}@synthetic.saisei.invalid",
    )


def _plan_into_force(
    seed: int, k: int, today: dt.date, officer: User, plan: Any, facility: Any
) -> None:
    """Walk a new plan's version to acceptance and mark the obligations already due as done."""
    from saisei.regulatory import services as reg
    from saisei.regulatory.models import Obligation

    version = plan.versions.get()
    steps: list[tuple[str, int, dict[str, Any]]] = [
        ("submit_for_review", 800, {}),
        ("record_favourable_opinion", 790, {}),
        ("submit_to_authority", 780, {"reception_number": f"R-SYN-{seed}-{k}"}),
        ("record_acceptance", 770, {"plan_number": f"PSYN{seed}{k:04d}"}),
    ]
    for name, days_ago, extra in steps:
        version.refresh_from_db()
        reg.plan_transition(
            actor=officer,
            version=version,
            name=name,
            effective_date=today - D(days_ago),
            **extra,
        )
    plan.refresh_from_db()
    for ob in Obligation.objects.open().filter(plan=plan, due_date__lt=today):
        reg.obligation_mark_done(
            actor=officer,
            obligation=ob,
            submitted_date=ob.due_date - D(5),
            evidence=f"SYNTH receipt {ob.due_date:%Y%m%d}",
        )
    for ob in Obligation.objects.open().filter(facility=facility, due_date__lt=today):
        reg.obligation_mark_done(
            actor=officer,
            obligation=ob,
            submitted_date=ob.due_date - D(5),
            evidence=f"SYNTH receipt {ob.due_date:%Y%m%d}",
        )


def _plan_in_force(
    seed: int,
    k: int,
    today: dt.date,
    org: Organisation,
    users: dict[str, User],
    registry: _Registry,
) -> tuple[Any, Any]:
    """The organisation's plan (created and accepted on the first run) and its version in force."""
    from saisei.journey import services as journey
    from saisei.regulatory.models import ProvisionPlan

    officer = users[Role.COMPLIANCE_OFFICER]
    plan = ProvisionPlan.objects.filter(organisation=org).first()
    if plan is None:
        plan = _plan_create(seed, k, officer, registry)
        _plan_into_force(seed, k, today, officer, plan, registry.facility)
    version = journey.plan_version_in_force(plan=plan, day=today)
    if version is None:
        raise RuntimeError(f"the synthetic plan of {org_slug(seed, k)} is not in force")
    return plan, version


def _package_and_consent(
    today: dt.date, users: dict[str, User], plan: Any, version: Any
) -> tuple[Any, Any]:
    """The treatment package of the plan and the consent document of its version in force."""
    from saisei.journey import services as journey
    from saisei.journey.models import ConsentDocument, TreatmentPackage

    package = TreatmentPackage.objects.filter(plan=plan).first() or journey.package_create(
        actor=users[Role.COORDINATOR],
        plan=plan,
        code="SYNTH-IV-3",
        name="SYNTH adipose MSC, three IV infusions four weeks apart",
        infusions=INFUSIONS,
        interval_days=INTERVAL_DAYS,
        culture_days=CULTURE_DAYS,
        dose_cells=CELLS_PER_DOSE,
        follow_up_months=list(FOLLOW_UP_MONTHS),
    )
    doc = ConsentDocument.objects.filter(plan_version=version).first()
    if doc is None:
        doc = journey.consent_document_create(
            actor=users[Role.PHYSICIAN],
            plan_version=version,
            language="en",
            version="1.0",
            title="SYNTH explanation and consent",
            body="Synthetic consent document for scale tests; not for patients.",
            effective_from=today - D(770),
        )
    return package, doc


def _credentials(seed: int, k: int, today: dt.date, users: dict[str, User]) -> dict[str, Any]:
    """The physician's rater credentials for the scales the seed scores (MMSE, CDR)."""
    from saisei.outcomes import services as outcomes
    from saisei.outcomes.models import RaterCredential

    doctor = users[Role.PHYSICIAN]
    credentials = {}
    for code in ("MMSE", "CDR"):
        cred = RaterCredential.objects.filter(user=doctor, instrument=code).first()
        credentials[code] = cred or outcomes.credential_record(
            actor=users[Role.ORG_ADMIN],
            user=doctor,
            instrument=code,
            kind="licence",
            reference=f"SYNTH-{code}-{k}",
            holder=f"SYNTH Clinic Group {seed}-{k}",
            valid_from=today - D(900),
            expires_on=today + D(365),
        )
    return credentials


def _release_specs(org: Organisation) -> list[Any]:
    """The release specifications a seeded lot must meet (read from a probe lot, not saved)."""
    from saisei.processing.models import Lot
    from saisei.processing.services import lot_specifications

    probe = Lot(
        organisation=org,
        route="iv",
        planned_doses=INFUSIONS,
        cells_per_dose=float(CELLS_PER_DOSE),
        dose_volume_ml=50.0,
        patient_weight_kg=60.0,
    )
    return [
        s for s in lot_specifications(lot=probe) if s.required_for_release and s.stage == "release"
    ]


def _network(seed: int, k: int, today: dt.date) -> OrgSetup:
    """One synthetic clinic group with its CPC, registry, a plan in force and its package."""
    org, clinic, cpc = _org_and_sites(seed, k)
    users = {str(role): _user(org, role, k, seed) for role in STAFF_ROLES}
    registry = _registry(seed, k, today, org, clinic, cpc, users)
    plan, version = _plan_in_force(seed, k, today, org, users, registry)
    package, doc = _package_and_consent(today, users, plan, version)
    credentials = _credentials(seed, k, today, users)
    return OrgSetup(
        k=k,
        org=org,
        clinic=clinic,
        cpc=cpc,
        users=users,
        plan=plan,
        version=version,
        institution=registry.institution,
        facility=registry.facility,
        physician=registry.physician,
        package=package,
        consent_doc=doc,
        credentials=credentials,
        specs=_release_specs(org),
    )
