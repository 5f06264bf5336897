"""Builders for processing tests: a patient, a donation with negative markers, a lot at each stage."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import Any

from django.utils import timezone

from saisei.core.tests.esign import signed
from saisei.core.tests.factories import SiteFactory
from saisei.processing import services, specs
from saisei.processing.rules import processing_config

_counter = {"n": 0}


def make_patient(org: Any, **kw: Any) -> Any:
    from saisei.journey.models import Patient

    _counter["n"] += 1
    n = _counter["n"]
    values = {
        "organisation": org,
        "patient_code": f"PT-{n:04d}",
        "family_name": "Lee",
        "given_name": f"Ming{n}",
        "date_of_birth": dt.date(1950, 3, 4),
        "sex": "female",
        "language": "en",
        "weight_kg": 60,
        "diagnosis_code": "alzheimers_disease",
    }
    values.update(kw)
    return Patient.objects.create(**values)


def negative_markers() -> dict[str, str]:
    return dict.fromkeys(processing_config().required_markers, "negative")


def plan_world(
    org: Any, *, cell_origin: str = "autologous", fresh: bool = False
) -> SimpleNamespace:
    """A plan in force for ``org`` with its clinic, listed physician and listed CPC.

    The autologous Alzheimer plan is built once per organisation object (a test's ``org``) so
    every donation of a test shares it; ``fresh`` (or another cell origin) builds a new plan.
    """
    from saisei.core.models import Site
    from saisei.regulatory import models as rm
    from saisei.regulatory.tests.factories import (
        FacilityFactory,
        InstitutionFactory,
        PhysicianFactory,
        PlanFactory,
        VersionFactory,
    )

    shared = not fresh and cell_origin == "autologous"
    if shared:
        cached = getattr(org, "_plan_world", None)
        if cached is not None and rm.ProvisionPlan.objects.filter(pk=cached.plan.pk).exists():
            return cached  # type: ignore[no-any-return]
        existing = rm.ProvisionPlan.objects.filter(
            organisation=org, plan_number=f"PB9{org.pk:06d}"
        ).first()
        if existing is not None:  # the same organisation loaded as another object
            version = existing.versions.get(number=1)
            facility = version.facilities.get()
            world = SimpleNamespace(
                site=existing.institution.site,
                institution=existing.institution,
                physician=version.physicians.get(),
                facility=facility,
                cpc=facility.site,
                plan=existing,
                version=version,
            )
            org._plan_world = world
            return world
    today = timezone.localdate()
    site = SiteFactory(organisation=org, kind=Site.Kind.MEDICAL_INSTITUTION)
    cpc = SiteFactory(organisation=org, kind=Site.Kind.CELL_PROCESSING_FACILITY)
    institution = InstitutionFactory(organisation=org, site=site)
    physician = PhysicianFactory(organisation=org, institution=institution)
    facility = FacilityFactory(organisation=org, site=cpc)
    risk_class = 1 if cell_origin == "allogeneic" else 2
    plan = PlanFactory(
        organisation=org,
        institution=institution,
        status=rm.PlanState.IN_FORCE,
        risk_class=risk_class,
        first_submitted_date=today - dt.timedelta(days=400),
        first_accepted_date=today - dt.timedelta(days=390),
        plan_number=f"PB9{org.pk:06d}" if shared else "",
    )
    version = VersionFactory(
        plan=plan,
        organisation=org,
        number=1,
        state=rm.PlanState.IN_FORCE,
        cell_origin=cell_origin,
        declared_risk_class=risk_class,
        computed_risk_class=risk_class,
        submitted_date=today - dt.timedelta(days=400),
        accepted_date=today - dt.timedelta(days=390),
        in_force_from=today - dt.timedelta(days=390),
        routes=["iv", "intrathecal"],
        dose_min_cells=50_000_000,
        dose_max_cells=300_000_000,
    )
    version.physicians.add(physician)
    version.facilities.add(facility)
    # The facility's 標準書 for the plan: lot_create refuses without one.
    rm.StandardDocument.objects.create(
        organisation=org,
        facility=facility,
        kind=rm.StandardDocument.Kind.STANDARD,
        plan=plan,
        document_number=f"STD-{plan.pk}",
        title="Adipose MSC product standard",
        version="1",
        effective_from=today - dt.timedelta(days=400),
        approved_by="QA manager",
    )
    world = SimpleNamespace(
        site=site,
        institution=institution,
        physician=physician,
        facility=facility,
        cpc=cpc,
        plan=plan,
        version=version,
    )
    if shared:
        org._plan_world = world
    return world


def consent_to(world: SimpleNamespace, patient: Any, *, days_ago: int = 90) -> Any:
    """The patient's written consent to the plan version (given before any harvest)."""
    from saisei.journey.models import ConsentDocument
    from saisei.journey.tests.factories import ConsentDocumentFactory, ConsentFactory

    existing = patient.consents.filter(plan_version=world.version).first()
    if existing is not None:
        return existing
    if not hasattr(world, "consent_document"):
        world.consent_document = ConsentDocument.objects.filter(
            plan_version=world.version
        ).first() or ConsentDocumentFactory(
            plan_version=world.version, organisation=world.plan.organisation
        )
    return ConsentFactory(
        organisation=patient.organisation,
        patient=patient,
        document=world.consent_document,
        plan_version=world.version,
        signed_at=timezone.now() - dt.timedelta(days=days_ago),
    )


def give_consent(patient: Any, version: Any, *, days_ago: int = 60) -> Any:
    """Written consent of the patient for the plan version (ASRM Art. 14), signed days ago."""
    return consent_to(
        SimpleNamespace(version=version, plan=version.plan), patient, days_ago=days_ago
    )


def world_of(plan: Any) -> SimpleNamespace:
    """The clinic, physician and CPC listed on ``plan``'s latest version."""
    version = plan.versions.order_by("-number").first()
    facility = version.facilities.first() if version is not None else None
    return SimpleNamespace(
        site=plan.institution.site,
        institution=plan.institution,
        physician=version.physicians.first() if version is not None else None,
        facility=facility,
        cpc=facility.site if facility is not None else None,
        plan=plan,
        version=version,
    )


def make_course(
    patient: Any,
    *,
    cell_origin: str = "autologous",
    plan: Any = None,
    fresh: bool = False,
    consent: bool = True,
) -> Any:
    """A course for ``patient`` under a plan in force (the organisation's shared autologous plan
    unless ``plan``, ``fresh`` or another cell origin is asked for), with the patient's consent
    (unless ``consent=False``), its physician and its processing facility, so the compliance gate
    allows the harvest."""
    from saisei.journey.tests.factories import TreatmentCourseFactory

    org = patient.organisation
    world = (
        world_of(plan)
        if plan is not None
        else plan_world(org, cell_origin=cell_origin, fresh=fresh)
    )
    if consent and world.version is not None:
        consent_to(world, patient, days_ago=60)
    return TreatmentCourseFactory(
        organisation=org,
        patient=patient,
        plan=world.plan,
        physician=world.physician,
        facility=world.facility,
        status="in_progress",
    )


def make_donation(actor: Any, patient: Any, **kw: Any) -> Any:
    """A harvest through the service for a course (a new one unless ``course`` is given) under
    the plan in force, naming the plan's physician, its CPC and its cell source for the gate."""
    course = kw.pop("course", None) or make_course(
        patient, cell_origin=kw.pop("cell_origin", "autologous")
    )
    world = world_of(course.plan)
    values: dict[str, Any] = {
        "course": course,
        "site": world.site,
        "physician": world.physician,
        "facility": course.facility or world.facility,
        "cell_source": world.version.cell_origin if world.version is not None else "",
        "harvest_site": "abdomen",
        "tissue_weight_g": 20,
        "container": "sterile 50 mL tube",
        "transport_conditions": "2-8 °C",
        "collected_at": timezone.now() - dt.timedelta(days=20),
        "infection_markers": negative_markers(),
    }
    if values["cell_source"] == "allogeneic" and "donor" not in kw:
        # An allogeneic harvest needs an eligible, consented donor of the plan (issue 16).
        from saisei.processing.donor_rules import donor_criteria

        donor = services.donor_register(
            actor=world.physician.user,
            plan=course.plan,
            family_name="Donor",
            given_name="Test",
            birth_date=dt.date(1990, 4, 1),
        )
        donor = services.donor_screening_record(
            actor=world.physician.user,
            donor=donor,
            results={c.code: "pass" for c in donor_criteria()},
        )
        values["donor"] = services.donor_consent_record(
            actor=world.physician.user, donor=donor, signed_at=timezone.now(), form_version="DC-1"
        )
    values.update(kw)
    return services.donation_record(actor=actor, patient=patient, **values)


def give(dose: Any, *, nurse: Any) -> Any:
    """A dose given at the bedside: the treatment records it (bedside check, gate, two people);
    this stands in for that record so processing tests can follow the bag afterwards."""
    return services.dose_administer(actor=nurse, administration=administration_for(dose, nurse))


def administration_for(dose: Any, nurse: Any) -> Any:
    """The administration record treatment would have stored for ``dose`` (gate allowed)."""
    from saisei.core.tests.factories import UserFactory
    from saisei.treatment.models import Administration, BedsideVerification

    org = dose.organisation
    second = UserFactory(organisation=org, roles=["nurse"])
    physician = dose.lot.donation.physician.user
    now = timezone.now()
    verification = BedsideVerification.objects.create(
        organisation=org,
        patient_scan=dose.patient.patient_code,
        product_scans=[f"{dose.din} {dose.product_code}"],
        route=dose.lot.route,
        patient=dose.patient,
        dose=dose,
        checks=[],
        passed=True,
        gate_result={"allowed": True, "findings": []},
        performed_by=nurse,
        performed_at=now,
    )
    administration = Administration.objects.create(
        organisation=org,
        dose=dose,
        verification=verification,
        patient=dose.patient,
        plan=dose.lot.donation.plan,
        number=1,
        route=dose.lot.route,
        cells_given=int(dose.cell_count),
        volume_ml=dose.volume_ml,
        started_at=now,
        physician=physician,
        nurse=nurse,
        recorded_by=nurse,
        second_person=second,
        second_person_confirmed_at=now,
        gate_result={"allowed": True, "findings": []},
    )
    return administration


def make_lot(actor: Any, patient: Any, **kw: Any) -> Any:
    donation = kw.pop("donation", None) or make_donation(actor, patient)
    values: dict[str, Any] = {
        "planned_doses": 2,
        "cells_per_dose": 1e8,
        "started_on": timezone.localdate() - dt.timedelta(days=20),
    }
    values.update(kw)
    return services.lot_create(actor=actor, donation=donation, **values)


def harvest(actor: Any, lot: Any, cells: float = 2.1e8) -> Any:
    services.culture_step_record(
        actor=actor, lot=lot, kind="passage", passage_number=1, cell_count=2e7, viability_pct=95
    )
    return services.culture_step_record(
        actor=actor, lot=lot, kind="harvest", passage_number=3, cell_count=cells, viability_pct=93
    )


def passing_value(spec: Any) -> Any:
    """A value comfortably inside the specification."""
    if spec.kind == specs.Kind.CATEGORICAL:
        return sorted(spec.accepted)[0]
    if spec.comparator == specs.Comparator.BETWEEN:
        return (spec.limit + spec.upper_limit) / 2
    if spec.comparator in (specs.Comparator.GE, specs.Comparator.GT):
        return min(spec.limit * 1.05, 99.0) if spec.unit == "%" else spec.limit * 1.05
    return spec.limit / 2


def passing_results(lot: Any) -> dict[str, Any]:
    """A passing value for every required release test of the lot's specification."""
    return {
        spec.code: passing_value(spec)
        for spec in services.lot_specifications(lot=lot)
        if spec.required_for_release and spec.stage == specs.Stage.RELEASE
    }


def record_all(
    actor: Any,
    lot: Any,
    *,
    skip: tuple[str, ...] = (),
    override: dict | None = None,
    pending: tuple[str, ...] = (),
) -> None:
    values = {**passing_results(lot), **(override or {})}
    for code, value in values.items():
        if code in skip:
            continue
        services.qc_result_record(
            actor=actor, lot=lot, test_code=code, value=value, pending=code in pending
        )


GRADE_B_LIMITS = [
    {"parameter": "air_viable", "alert_limit": 5, "action_limit": 10},
    {"parameter": "settle_plate", "alert_limit": 3, "action_limit": 5},
    {"parameter": "particles_0_5", "alert_limit": 200_000, "action_limit": 352_000},
]
SOURCE = "PIC/S GMP Annex 1 (2022) Tables 5 and 6 (grade B, in operation); alerts from trend data"


def approved_programme(
    *,
    preparer: Any,
    approver: Any,
    site: Any,
    room: str = "Processing room 1",
    grade: str = "B",
    limits: list[dict[str, Any]] | None = None,
    effective_from: dt.date | None = None,
) -> Any:
    """A room's monitoring programme, prepared by the CPC and approved by QA (e-signature)."""

    programme = services.monitoring_programme_prepare(
        actor=preparer,
        site=site,
        room=room,
        grade=grade,
        effective_from=effective_from or timezone.localdate() - dt.timedelta(days=365),
        source=SOURCE,
        limits=limits or GRADE_B_LIMITS,
    )
    return services.monitoring_programme_approve(
        actor=approver, programme=programme, **signed(approver)
    )


def released_lot(tech: Any, qa: Any, patient: Any, *, bags: int = 3) -> Any:
    """A lot under the plan in force, harvested, divided into bags, QC passed and released."""

    lot = make_lot(tech, patient, planned_doses=bags)
    harvest(tech, lot)
    services.dose_divide(actor=tech, lot=lot, bags=[{"cell_count": 1e8, "volume_ml": 50}] * bags)
    services.lot_submit_qc(actor=tech, lot=lot)
    record_all(tech, lot)
    services.lot_release(actor=qa, lot=lot, **signed(qa), meaning="release")
    lot.refresh_from_db()
    return lot
