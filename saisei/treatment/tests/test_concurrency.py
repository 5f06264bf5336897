"""Twenty tablets give the same bag at once: exactly one administration (DESIGN invariant 3)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from saisei.core.errors import Conflict
from saisei.core.tests.factories import TEST_PASSWORD
from saisei.processing.models import Dose
from saisei.treatment import services
from saisei.treatment.models import Administration
from saisei.treatment.tests.factories import make_world

ATTEMPTS = 20


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_administrations_of_one_dose_give_exactly_one(org):
    world = make_world(org)
    verifications = [
        services.bedside_verify(
            actor=world.nurse,
            patient_scan=world.wristband,
            product_scans=[world.labels[0]],
            course_step=world.steps[0],
            route="iv",
        )
        for _ in range(ATTEMPTS)
    ]
    assert all(v.passed for v in verifications)
    barrier = threading.Barrier(ATTEMPTS)
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt(verification):
        try:
            barrier.wait()
            services.administration_record(
                actor=world.nurse,
                verification=verification,
                second_person=world.nurse2,
                second_person_password=TEST_PASSWORD,
                physician=world.physician_user,
            )
            result = "ok"
        except Conflict as exc:
            result = exc.code
        except Exception as exc:  # noqa: BLE001 - a thread's crash is handed to the main thread, which asserts on it
            result = f"error: {exc!r}"
        finally:
            connection.close()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=attempt, args=(v,)) for v in verifications]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("ok") == 1, outcomes
    assert outcomes.count("dose_already_administered") == ATTEMPTS - 1, outcomes
    assert Administration.objects.filter(dose=world.doses[0]).count() == 1
    assert Dose.objects.get(pk=world.doses[0].pk).status == "administered"


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_bags_racing_for_the_last_administration_the_plan_allows_give_one(org):
    """The plan allows one administration; two courses of the same patient each hold a verified,
    thawed bag. Both pass the gate alone; at once, exactly one is given and the other refused."""
    from saisei.journey.models import CourseStep, TreatmentCourse
    from saisei.processing.models import Donation
    from saisei.regulatory.models import GateRefusal
    from saisei.regulatory.services import GateRefused

    world = make_world(org)
    other = make_world(org, base=world)
    # The second course and its bags are the same patient's (a second course under the plan).
    for model in (Donation, Dose, TreatmentCourse):
        model.objects.filter(patient=other.patient).update(patient=world.patient)
    world.version.max_administrations = 1
    world.version.save()
    verifications = [
        services.bedside_verify(
            actor=world.nurse,
            patient_scan=world.wristband,
            product_scans=[labels[0]],
            course_step=CourseStep.objects.get(pk=steps[0].pk),
            route="iv",
        )
        for labels, steps in ((world.labels, world.steps), (other.labels, other.steps))
    ]
    assert all(v.passed for v in verifications), [
        [c for c in v.checks if not c["passed"]] for v in verifications
    ]
    barrier = threading.Barrier(len(verifications))
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt(verification):
        try:
            barrier.wait()
            services.administration_record(
                actor=world.nurse,
                verification=verification,
                second_person=world.nurse2,
                second_person_password=TEST_PASSWORD,
                physician=world.physician_user,
            )
            result = "ok"
        except GateRefused as exc:
            result = ",".join(exc.fields)
        except Exception as exc:  # noqa: BLE001 - a thread's crash is handed to the main thread, which asserts on it
            result = f"error: {exc!r}"
        finally:
            connection.close()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=attempt, args=(v,)) for v in verifications]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["GATE-ADMINISTRATION-LIMIT", "ok"], outcomes
    assert Administration.objects.filter(patient=world.patient).count() == 1
    assert GateRefusal.objects.filter(rules=["GATE-ADMINISTRATION-LIMIT"]).count() == 1
