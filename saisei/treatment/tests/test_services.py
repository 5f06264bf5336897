"""Bedside scenarios: each check refuses what it should, every refusal is a near-miss, and a
dose is given once."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from saisei.core.errors import Conflict, Forbidden, ValidationFailed
from saisei.core.tests.factories import TEST_PASSWORD
from saisei.processing.models import Dose, NearMiss
from saisei.treatment import services
from saisei.treatment.models import Administration, VitalSign
from saisei.treatment.selectors import administrations_given
from saisei.treatment.tests.factories import make_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(org):
    return make_world(org)


def verify(w, *, labels=None, wristband=None, step=None, route="iv", actor=None):
    return services.bedside_verify(
        actor=actor or w.nurse,
        patient_scan=wristband if wristband is not None else w.wristband,
        product_scans=labels if labels is not None else [w.labels[0]],
        course_step=step or w.steps[0],
        route=route,
    )


def failed(v) -> set[str]:
    return {c["code"] for c in v.checks if not c["passed"]}


def record(w, v, **kw):
    kw.setdefault("second_person", w.nurse2)
    kw.setdefault("second_person_password", TEST_PASSWORD)
    kw.setdefault("physician", w.physician_user)
    return services.administration_record(actor=w.nurse, verification=v, **kw)


def test_the_right_bag_for_the_right_patient_passes_every_check(world):
    v = verify(world)
    assert v.passed, v.checks
    assert [c["code"] for c in v.checks] == [
        "patient_identified",
        "dose_identified",
        "same_patient",
        "same_course",
        "dose_released",
        "within_use_by",
        "not_administered",
        "matches_course_step",
        "compliance_gate",
    ]
    assert v.near_miss is None
    assert not NearMiss.objects.exists()


def test_a_wristband_carrying_the_chain_of_identity_code_identifies_the_patient(world):
    v = verify(world, wristband=world.wristband_coi)
    assert v.passed, v.checks
    assert v.patient == world.patient


def test_another_patients_bag_is_refused_and_recorded_as_a_near_miss(org, world):
    other = make_world(org, base=world)
    v = verify(world, labels=[other.labels[0]])
    assert not v.passed
    assert "same_patient" in failed(v)
    miss = NearMiss.objects.get()
    assert miss.stage == "bedside"
    assert other.labels[0] in miss.scanned
    assert miss.patient == world.patient
    assert miss.dose == other.doses[0]
    assert v.near_miss == miss


def test_an_unknown_wristband_is_refused(world):
    v = verify(world, wristband="NOT-A-PATIENT")
    assert "patient_identified" in failed(v)
    assert NearMiss.objects.count() == 1


def test_a_thawed_dose_past_its_use_by_time_is_refused(world):
    dose = world.doses[0]
    dose.use_by = timezone.now() - dt.timedelta(minutes=1)
    dose.save()
    v = verify(world)
    assert failed(v) == {"within_use_by"}
    assert NearMiss.objects.filter(reason__contains="within_use_by").count() == 1


def test_a_dose_from_a_quarantined_lot_is_refused(world):
    world.lot.status = "quarantined"
    world.lot.save()
    v = verify(world)
    assert "dose_released" in failed(v)
    assert NearMiss.objects.count() == 1


def test_a_recalled_dose_is_refused(world):
    dose = world.doses[0]
    dose.status = "recalled"
    dose.save()
    v = verify(world)
    assert "dose_released" in failed(v)
    assert "recalled" in next(c["message"] for c in v.checks if c["code"] == "dose_released")
    assert NearMiss.objects.count() == 1


def test_a_dose_already_given_is_refused_at_the_next_scan(world):
    record(world, verify(world))
    v = verify(world)
    assert "not_administered" in failed(v)
    assert NearMiss.objects.count() == 1


def test_a_route_not_in_the_plan_is_refused_by_the_gate(world):
    v = verify(world, route="intrathecal")
    assert "compliance_gate" in failed(v)
    gate = next(c for c in v.checks if c["code"] == "compliance_gate")
    assert "intrathecal" in gate["message"]
    assert "GATE-ROUTE-NOT-IN-PLAN" in [f["rule"] for f in v.gate_result["findings"]]
    assert NearMiss.objects.count() == 1


def test_a_withdrawn_consent_is_refused_by_the_gate(world):
    world.consent.withdrawn_at = timezone.now() - dt.timedelta(hours=1)
    world.consent.withdrawal_reason = "family decided to stop"
    world.consent.save()
    v = verify(world)
    assert failed(v) == {"compliance_gate"}
    assert NearMiss.objects.count() == 1


def test_the_wrong_bag_for_this_infusion_number_is_refused(world):
    # Dose 2 is meant for infusion 2; scanning it at infusion 1 is a mix-up even for the right patient.
    dose2 = world.doses[1]
    dose2.status = "thawed"
    dose2.thawed_at = timezone.now()
    dose2.use_by = timezone.now() + dt.timedelta(hours=2)
    dose2.post_thaw_viability_pct = 90
    dose2.save()
    v = verify(world, labels=[world.labels[1]])
    assert failed(v) == {"matches_course_step"}


def test_two_bags_scanned_together_are_refused(world):
    v = verify(world, labels=world.labels[:2])
    assert "dose_identified" in failed(v)


def test_a_committee_reviewer_cannot_verify(world, make_user, org):
    with pytest.raises(Forbidden):
        verify(world, actor=make_user("committee_reviewer", org))


def test_administration_needs_another_persons_password(world):
    v = verify(world)
    with pytest.raises(ValidationFailed) as exc:
        record(world, v, second_person=world.nurse)
    assert exc.value.code == "second_person_same"
    with pytest.raises(ValidationFailed) as exc:
        record(world, v, second_person_password="wrong")
    assert exc.value.code == "signature_password_invalid"
    assert not Administration.objects.exists()


def test_an_administration_marks_the_dose_given_once_and_counts_for_the_gate(world):
    v = verify(world)
    adm = record(
        world,
        v,
        rate_ml_per_hour=100,
        premedication="none",
        vitals_before={"systolic_mmhg": 128, "heart_rate_bpm": 72, "temperature_c": 36.6},
    )
    dose = Dose.objects.get(pk=world.doses[0].pk)
    assert dose.status == "administered"
    assert dose.administration_ref == str(adm.external_id)
    assert adm.cells_per_kg == pytest.approx(200_000_000 / 60)
    assert adm.nurse == world.nurse and adm.physician == world.physician_user
    assert adm.second_person == world.nurse2
    assert VitalSign.objects.get().phase == "before"
    assert administrations_given(patient_id=world.patient.pk, plan_id=world.plan.pk) == 1


def test_an_administration_marks_its_course_step_done(world):
    v = verify(world)
    step = v.course_step
    assert step.status != "done"
    record(world, v)
    step.refresh_from_db()
    assert step.status == "done" and step.done_at is not None
    assert step.course.status == "in_progress"


def test_a_second_administration_of_the_same_bag_is_a_conflict(world):
    # Two tablets both verified the bag before either recorded it.
    first, second = verify(world), verify(world)
    record(world, first)
    with pytest.raises(Conflict) as exc:
        record(world, second)
    assert exc.value.code == "dose_already_administered"
    assert exc.value.status_code == 409
    assert Administration.objects.count() == 1


def test_a_failed_verification_cannot_be_used_to_record(world):
    v = verify(world, route="intrathecal")
    with pytest.raises(Conflict) as exc:
        record(world, v)
    assert exc.value.code == "verification_not_passed"


def test_a_stale_verification_must_be_repeated(world):
    v = verify(world)
    v.performed_at = timezone.now() - dt.timedelta(hours=2)
    v.save()
    with pytest.raises(Conflict) as exc:
        record(world, v)
    assert exc.value.code == "verification_expired"


def test_completing_an_infusion_records_the_end_and_vitals_after(world):
    adm = record(world, verify(world))
    services.vital_sign_record(
        actor=world.nurse, administration=adm, phase="during", heart_rate_bpm=80, spo2_pct=97
    )
    services.administration_complete(
        actor=world.nurse, administration=adm, observations="Mild flushing, resolved."
    )
    adm.refresh_from_db()
    assert adm.status == "completed" and adm.ended_at is not None
    with pytest.raises(Conflict):
        services.administration_complete(actor=world.nurse, administration=adm)


def test_a_vital_sign_out_of_range_is_refused(world):
    adm = record(world, verify(world))
    with pytest.raises(ValidationFailed):
        services.vital_sign_record(
            actor=world.nurse, administration=adm, phase="after", temperature_c=55
        )
