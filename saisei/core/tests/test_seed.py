"""`saisei seed` builds a consistent synthetic network, adds nothing the second time, and its
ledger entries form a chain that `saisei audit verify` accepts."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import F

from saisei.core.audit import audit_verify
from saisei.core.models import AuditEntry, Organisation
from saisei.journey.models import Patient
from saisei.processing.models import ChainOfIdentity, Donation, Dose
from saisei.regulatory.models import Obligation
from saisei.safety.models import AdverseEvent
from saisei.treatment.models import Administration

pytestmark = pytest.mark.django_db(transaction=False)


def _seed(patients: int = 20, organisations: int = 2, seed: int = 7) -> str:
    out = io.StringIO()
    call_command(
        "seed",
        patients=patients,
        organisations=organisations,
        seed=seed,
        batch_size=8,
        stdout=out,
        stderr=io.StringIO(),
    )
    return out.getvalue()


def test_small_seed_is_marked_synthetic_and_spread_over_organisations():
    _seed()
    orgs = Organisation.objects.filter(slug__startswith="synth-s7-")
    assert orgs.count() == 2
    patients = Patient.objects.filter(organisation__in=orgs)
    assert patients.count() == 20
    assert set(patients.values_list("family_name", flat=True)) == {"SYNTH"}
    assert all(code.startswith("S") for code in patients.values_list("patient_code", flat=True))
    for org in orgs:
        assert patients.filter(organisation=org).count() == 10


def test_every_dose_belongs_to_the_patient_of_its_donation_and_course():
    _seed()
    doses = Dose.objects.select_related("lot__donation__course")
    assert doses.exists()
    for dose in doses:
        donation = dose.lot.donation
        assert dose.patient_id == donation.patient_id == donation.course.patient_id
        assert dose.din == donation.din
        coi = ChainOfIdentity.objects.get(course=donation.course)
        assert dose.coi == donation.coi == coi.coi
        assert coi.patient_id == dose.patient_id
    assert Donation.objects.values("coi").distinct().count() == Donation.objects.count()


def test_every_administration_follows_release_and_a_passed_bedside_check():
    _seed()
    given = Administration.objects.select_related("dose__lot__release", "verification")
    assert given.exists()
    for a in given:
        assert a.dose.lot.release.signed_at < a.started_at
        assert a.verification.passed and a.verification.dose_id == a.dose_id
        assert a.patient_id == a.dose.patient_id == a.verification.patient_id
        assert a.dose.status == Dose.Status.ADMINISTERED
        assert a.dose.administration_ref == str(a.external_id)


def test_serious_events_have_their_reporting_obligations():
    _seed(patients=120, organisations=1, seed=11)
    serious = AdverseEvent.objects.filter(hospitalisation=True)
    assert serious.exists(), "120 patients should include a serious event"
    for event in serious:
        obligations = Obligation.objects.filter(
            subject_type="safety.adverseevent", subject_id=str(event.external_id)
        )
        assert obligations.filter(recipient="committee").exists()
        assert obligations.filter(recipient="ministry").exists()
    done = Obligation.objects.filter(status="done")
    assert not done.filter(done_at__isnull=True).exists()
    assert not Obligation.objects.filter(status="open", due_date__lt=F("trigger_date")).exists()


def test_the_ledger_verifies_after_seeding():
    _seed()
    assert audit_verify() == []
    assert AuditEntry.objects.filter(action="administration.record").exists()
    call_command("audit", "verify", stdout=io.StringIO())


def test_a_second_run_with_the_same_seed_adds_nothing():
    _seed()
    counts = (Patient.objects.count(), AuditEntry.objects.count(), Dose.objects.count())
    out = _seed()
    assert "Seeded 0 new synthetic patients" in out
    assert (Patient.objects.count(), AuditEntry.objects.count(), Dose.objects.count()) == counts
    assert audit_verify() == []


def test_a_larger_count_with_the_same_seed_only_adds_the_difference():
    _seed(patients=10, organisations=1, seed=3)
    _seed(patients=15, organisations=1, seed=3)
    assert Patient.objects.filter(organisation__slug="synth-s3-o1").count() == 15
    assert audit_verify() == []


def test_bad_arguments_are_refused():
    with pytest.raises(CommandError):
        _seed(patients=-1)
    with pytest.raises(CommandError):
        _seed(organisations=0)


def test_the_seed_builds_instances_like_the_model_does():
    from saisei.seed.writer import Maker

    org = Organisation(pk=4242, name="SYNTH maker", slug="synth-maker")
    values = {"organisation": org, "patient_code": "S0-0-000001", "family_name": "SYNTH"}
    built, plain = Maker(Patient)(values), Patient(**values)
    for field in Patient._meta.concrete_fields:
        if field.name not in ("external_id", "created_at"):  # random and clock defaults
            assert getattr(built, field.attname) == getattr(plain, field.attname), field.name
    assert built.organisation is org
    with pytest.raises(TypeError):
        Maker(Patient)({"no_such_field": 1})
