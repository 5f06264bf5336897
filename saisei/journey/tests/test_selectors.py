"""The compliance gate asks journey whether consent is valid; these pin its answers."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from saisei.journey.selectors import consent_status_for_gate
from saisei.journey.tests.factories import ConsentFactory, PatientFactory
from saisei.regulatory.tests.factories import VersionFactory

pytestmark = pytest.mark.django_db


def test_no_consent_is_missing() -> None:
    patient = PatientFactory()
    version = VersionFactory(
        organisation=patient.organisation, plan__organisation=patient.organisation
    )
    assert (
        consent_status_for_gate(
            patient_id=patient.pk, plan_version_id=version.pk, at=timezone.now()
        )
        == "missing"
    )


def test_signed_consent_is_valid_from_signature_on() -> None:
    consent = ConsentFactory()
    args = {"patient_id": consent.patient_id, "plan_version_id": consent.plan_version_id}
    assert consent_status_for_gate(**args, at=timezone.now()) == "valid"
    before = consent.signed_at - dt.timedelta(minutes=1)
    assert consent_status_for_gate(**args, at=before) == "missing"


def test_withdrawn_consent_stops_the_gate_but_not_the_past() -> None:
    consent = ConsentFactory()
    consent.withdrawn_at = consent.signed_at + dt.timedelta(days=2)
    consent.save()
    args = {"patient_id": consent.patient_id, "plan_version_id": consent.plan_version_id}
    assert consent_status_for_gate(**args, at=consent.signed_at + dt.timedelta(days=1)) == "valid"
    assert (
        consent_status_for_gate(**args, at=consent.signed_at + dt.timedelta(days=3)) == "withdrawn"
    )


def test_consent_for_another_plan_version_does_not_count() -> None:
    consent = ConsentFactory()
    other = VersionFactory(plan=consent.plan_version.plan, organisation=consent.organisation)
    assert (
        consent_status_for_gate(
            patient_id=consent.patient_id, plan_version_id=other.pk, at=timezone.now()
        )
        == "missing"
    )


def test_voided_consent_counts_as_never_given() -> None:
    consent = ConsentFactory()
    consent.voided_at = timezone.now()
    consent.void_reason = "entered in error"
    consent.save()
    assert (
        consent_status_for_gate(
            patient_id=consent.patient_id,
            plan_version_id=consent.plan_version_id,
            at=timezone.now(),
        )
        == "missing"
    )
