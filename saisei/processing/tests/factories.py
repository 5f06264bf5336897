"""Builders for processing tests: a patient, a donation with negative markers, a lot at each stage."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

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
    }
    values.update(kw)
    return Patient.objects.create(**values)


def negative_markers() -> dict[str, str]:
    return dict.fromkeys(processing_config().required_markers, "negative")


def make_course(patient: Any, *, cell_origin: str = "autologous", plan: Any = None) -> Any:
    """A course for ``patient`` under a plan in force (a new plan unless ``plan`` is given), with
    the patient's consent, so the compliance gate allows the harvest."""
    from saisei.journey import models as jm
    from saisei.journey.tests.factories import ConsentDocumentFactory, ConsentFactory
    from saisei.regulatory import models as rm
    from saisei.regulatory.tests.factories import (
        FacilityFactory,
        InstitutionFactory,
        PhysicianFactory,
        PlanFactory,
        VersionFactory,
    )

    org = patient.organisation
    today = timezone.localdate()
    if plan is None:
        site = SiteFactory(organisation=org, kind="medical_institution")
        institution = InstitutionFactory(organisation=org, site=site)
        plan = PlanFactory(
            organisation=org,
            institution=institution,
            status=rm.PlanState.IN_FORCE,
            risk_class=1 if cell_origin == "allogeneic" else 2,
            first_submitted_date=today - dt.timedelta(days=200),
            first_accepted_date=today - dt.timedelta(days=190),
        )
        version = VersionFactory(
            plan=plan,
            organisation=org,
            number=1,
            state=rm.PlanState.IN_FORCE,
            cell_origin=cell_origin,
            declared_risk_class=plan.risk_class,
            computed_risk_class=plan.risk_class,
            submitted_date=today - dt.timedelta(days=200),
            accepted_date=today - dt.timedelta(days=190),
            in_force_from=today - dt.timedelta(days=100),
        )
        version.physicians.add(PhysicianFactory(organisation=org, institution=institution))
        version.facilities.add(FacilityFactory(organisation=org))
    version = plan.versions.order_by("-number").first()
    if version is not None:
        document = ConsentDocumentFactory(plan_version=version, organisation=org)
        ConsentFactory(
            organisation=org,
            patient=patient,
            document=document,
            plan_version=version,
            signed_at=timezone.now() - dt.timedelta(days=60),
        )
    return jm.TreatmentCourse.objects.create(
        organisation=org,
        patient=patient,
        plan=plan,
        physician=version.physicians.first() if version is not None else None,
        status="in_progress",
    )


def make_donation(actor: Any, patient: Any, **kw: Any) -> Any:
    course = kw.pop("course", None) or make_course(
        patient, cell_origin=kw.pop("cell_origin", "autologous")
    )
    version = course.plan.versions.order_by("-number").first()
    site = kw.pop("site", None) or course.plan.institution.site
    values: dict[str, Any] = {
        "course": course,
        "physician": course.physician,
        "facility": version.facilities.first() if version is not None else None,
        "harvest_site": "abdomen",
        "tissue_weight_g": 20,
        "container": "sterile 50 mL tube",
        "transport_conditions": "2-8 °C",
        "collected_at": timezone.now() - dt.timedelta(days=20),
        "infection_markers": negative_markers(),
    }
    values.update(kw)
    return services.donation_record(actor=actor, patient=patient, site=site, **values)


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
