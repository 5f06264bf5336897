"""Concurrent writers on PostgreSQL: one release per lot, one administration per dose."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection

from saisei.core.errors import Conflict
from saisei.core.tests.esign import signed
from saisei.processing import services
from saisei.processing.models import Dose, Release
from saisei.processing.tests.factories import (
    administration_for,
    harvest,
    make_lot,
    make_patient,
    record_all,
)

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


def _race(n: int, work: Any) -> tuple[list[Any], list[BaseException]]:
    barrier = threading.Barrier(n)
    results: list[Any] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait()
            results.append(work())
        except BaseException as exc:  # noqa: BLE001 - a thread's crash is handed to the main thread, which asserts on it
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results, errors


def _ready(org: Any, make_user: Any) -> tuple[Any, Any, Any]:
    tech = make_user("cpc_technician", org)
    qa = make_user("qa_manager", org)
    lot = make_lot(tech, make_patient(org))
    harvest(tech, lot)
    services.dose_divide(actor=tech, lot=lot, bags=[{"cell_count": 1e8, "volume_ml": 50}])
    services.lot_submit_qc(actor=tech, lot=lot)
    record_all(tech, lot)
    return tech, qa, lot


def test_concurrent_release_attempts_produce_one_release(org: Any, make_user: Any) -> None:
    _, qa, lot = _ready(org, make_user)
    # Four QA managers sign at once, each with their own current code (one person's codes are
    # accepted in time order, so one signer racing themself is refused at the signature).
    signers = [qa, *(make_user("qa_manager", org) for _ in range(3))]
    attempts = [(signer, signed(signer)) for signer in signers]
    lock = threading.Lock()

    def release() -> Any:
        with lock:
            signer, factors = attempts.pop()
        return services.lot_release(actor=signer, lot=lot, **factors, meaning="release")

    results, errors = _race(4, release)
    assert len(results) == 1
    assert all(isinstance(e, Conflict) for e in errors), errors
    assert Release.objects.filter(lot=lot).count() == 1


def test_concurrent_administrations_give_a_dose_once(org: Any, make_user: Any) -> None:
    _, qa, lot = _ready(org, make_user)
    services.lot_release(actor=qa, lot=lot, **signed(qa), meaning="release")
    nurse = make_user("nurse", org)
    dose = Dose.objects.get(lot=lot)
    services.dose_thaw(actor=nurse, dose=dose, viability_pct=90)
    administration = administration_for(dose, nurse)
    results, errors = _race(
        4, lambda: services.dose_administer(actor=nurse, administration=administration)
    )
    assert len(results) == 1
    assert all(isinstance(e, Conflict) for e in errors), errors
    dose.refresh_from_db()
    assert dose.status == Dose.Status.ADMINISTERED


def test_concurrent_first_harvests_of_one_course_share_one_identifier(
    org: Any, make_user: Any
) -> None:
    from saisei.processing.models import ChainOfIdentity, Donation
    from saisei.processing.tests.factories import make_course, make_donation

    tech = make_user("cpc_technician", org)
    patient = make_patient(org)
    course = make_course(patient)
    results, errors = _race(4, lambda: make_donation(tech, patient, course=course))
    assert not errors, errors
    assert len(results) == 4
    assert ChainOfIdentity.objects.filter(course=course).count() == 1
    coi = ChainOfIdentity.objects.get(course=course).coi
    assert set(Donation.objects.filter(course=course).values_list("coi", flat=True)) == {coi}
    assert len(set(Donation.objects.values_list("din", flat=True))) == 4
