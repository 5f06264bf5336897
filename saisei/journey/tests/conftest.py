"""Fixtures for journey tests: an in-force Alzheimer plan with its package, people and prices."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from saisei.core.tests.factories import TEST_PASSWORD
from saisei.journey import services
from saisei.journey.tests.factories import PatientFactory
from saisei.regulatory.tests.factories import (
    CommitteeFactory,
    FacilityFactory,
    InstitutionFactory,
    PhysicianFactory,
    PlanFactory,
    VersionFactory,
)

PASSWORD = TEST_PASSWORD


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def coordinator(org: Any, make_user: Any) -> Any:
    return make_user("coordinator", org)


@pytest.fixture
def physician(org: Any, make_user: Any) -> Any:
    return make_user("physician", org)


@pytest.fixture
def institution(org: Any) -> Any:
    return InstitutionFactory(organisation=org, name="Clinic A Tokyo", name_ja="クリニックA東京")


@pytest.fixture
def doctor(org: Any, physician: Any, institution: Any) -> Any:
    """The regulatory Physician record of the physician user, practising at the plan's clinic."""
    return PhysicianFactory(
        organisation=org, user=physician, name="Dr. Sato", institution=institution
    )


@pytest.fixture
def facility(org: Any) -> Any:
    """The cell processing facility the plan lists."""
    return FacilityFactory(organisation=org, facility_number="FC3260007")


@pytest.fixture
def plan(org: Any, doctor: Any, institution: Any, facility: Any) -> Any:
    today = timezone.localdate()
    plan = PlanFactory(
        organisation=org, institution=institution, plan_number="PB3260001", status="in_force"
    )
    version = VersionFactory(
        plan=plan,
        organisation=org,
        number=1,
        state="in_force",
        in_force_from=today - dt.timedelta(days=200),
        committee=CommitteeFactory(organisation=org),
    )
    version.physicians.add(doctor)
    version.facilities.add(facility)
    return plan


@pytest.fixture
def plan_version(plan: Any) -> Any:
    return plan.versions.get(number=1)


@pytest.fixture
def package(plan: Any, coordinator: Any) -> Any:
    return services.package_create(
        actor=coordinator,
        plan=plan,
        code="ALZ-4",
        name="Four infusions, four weeks apart",
        infusions=4,
        interval_days=28,
        culture_days=35,
        dose_cells=100_000_000,
    )


@pytest.fixture
def price_list(plan: Any, coordinator: Any) -> Any:
    today = timezone.localdate()
    return services.price_list_create(
        actor=coordinator,
        institution=plan.institution,
        name="2026 prices",
        valid_from=today - dt.timedelta(days=30),
        valid_until=today + dt.timedelta(days=300),
        prices={
            "consultation": 30_000,
            "tests": 50_000,
            "harvest": 300_000,
            "culture_processing": 1_200_000,
            "infusion": 800_000,
            "follow_up": 20_000,
            "assessment": 30_000,
            "interpreter_per_day": 40_000,
            "guarantor_fee": 100_000,
        },
    )


@pytest.fixture
def patient(org: Any) -> Any:
    return PatientFactory(
        organisation=org, language="ja", currency="USD", diagnosis_code="alzheimers_disease"
    )


ELIGIBLE_ANSWERS = {
    "diagnosis_confirmed": True,
    "diagnosis_basis": "amyloid_pet",
    "scores": {"mmse": 22},
    "can_consent": True,
    "contraindications": {
        "active_malignancy": False,
        "active_infection": False,
        "anticoagulation_cannot_pause": False,
        "pregnancy": False,
        "severe_cardiopulmonary_disease": False,
    },
    "infection_tests": dict.fromkeys(("hbv", "hcv", "hiv", "syphilis", "htlv1"), "negative"),
    "age": 72,
}


@pytest.fixture
def eligible(patient: Any, plan: Any, package: Any, coordinator: Any, physician: Any) -> Any:
    ps = services.prescreen_record(
        actor=coordinator, patient=patient, plan=plan, answers=ELIGIBLE_ANSWERS
    )
    return services.prescreen_decide(
        actor=physician, prescreen_obj=ps, decision="eligible", note="", password=PASSWORD
    )


@pytest.fixture
def consent_doc(plan_version: Any, physician: Any) -> Any:
    return services.consent_document_create(
        actor=physician,
        plan_version=plan_version,
        language="ja",
        version="1.0",
        title="説明同意文書",
        body="治療の内容、期待できること・できないこと、危険性について。",
        effective_from=timezone.localdate() - dt.timedelta(days=10),
    )
