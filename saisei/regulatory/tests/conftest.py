"""Fixtures for the regulatory Django layer: a registry, staff in each role, plans in states."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from saisei.regulatory import services
from saisei.regulatory.models import PlanVersion, today_tokyo

from .factories import CommitteeFactory, FacilityFactory, InstitutionFactory, PhysicianFactory


@pytest.fixture
def officer(make_user: Any, org: Any) -> Any:
    return make_user("compliance_officer", org)


@pytest.fixture
def admin(make_user: Any, org: Any) -> Any:
    return make_user("org_admin", org)


@pytest.fixture
def registry(org: Any) -> dict[str, Any]:
    from saisei.journey.tests.factories import PatientFactory

    return {
        "institution": InstitutionFactory(organisation=org),
        "committee": CommitteeFactory(organisation=org),
        "facility": FacilityFactory(organisation=org),
        "physician": PhysicianFactory(organisation=org),
        # A patient whose record carries the coded diagnosis the gate checks.
        "patient": PatientFactory(organisation=org, diagnosis_code="alzheimers_disease"),
    }


@pytest.fixture(autouse=True)
def _no_administrations_yet(monkeypatch: Any) -> None:
    """Treatment's selector is another app's; gate tests state the count they need."""
    monkeypatch.setattr("saisei.regulatory.services.gate._administrations_given", lambda **kw: 0)


@pytest.fixture
def consent_valid(monkeypatch: Any) -> None:
    """Journey's consent selector stands in as 'valid' for gate tests that are about other rules."""
    monkeypatch.setattr("saisei.regulatory.services.gate._consent_status", lambda **kw: "valid")


def make_plan(actor: Any, registry: dict[str, Any], **overrides: Any) -> Any:
    fields: dict[str, Any] = {
        "target_disease": "Alzheimer's disease",
        "cell_origin": "autologous",
        "cell_type": "somatic_stem",
        "tissue": "adipose",
        "cultured": True,
        "homologous_use": False,
        "routes": ["iv"],
        "dose_min_cells": 100_000_000,
        "dose_max_cells": 300_000_000,
        "max_administrations": 5,
        "documents_complete": True,
        "consent_document_versions": ["ICF-ALZ 1.0"],
    }
    fields.update(overrides)
    return services.plan_create(
        actor=actor,
        institution=registry["institution"],
        title=fields.pop("title", "Adipose MSC for Alzheimer's disease"),
        committee=registry["committee"],
        physicians=[registry["physician"]],
        facilities=[registry["facility"]],
        **fields,
    )


def run(
    actor: Any, version: PlanVersion, *names: str, on: dt.date | None = None, **kw: Any
) -> PlanVersion:
    for name in names:
        extra = dict(kw)
        if name == "record_acceptance":
            extra.setdefault("plan_number", f"jRCTb-{version.plan.pk:05d}")
        version = services.plan_transition(
            actor=actor, version=version, name=name, effective_date=on, **extra
        )
    return version


TO_IN_FORCE = (
    "submit_for_review",
    "record_favourable_opinion",
    "submit_to_authority",
    "record_acceptance",
)


def plan_in_force(
    actor: Any, registry: dict[str, Any], *, on: dt.date | None = None, **kw: Any
) -> Any:
    plan = make_plan(actor, registry, **kw)
    version = plan.versions.get()
    run(actor, version, *TO_IN_FORCE, on=on or today_tokyo() - dt.timedelta(days=30))
    plan.refresh_from_db()
    return plan
