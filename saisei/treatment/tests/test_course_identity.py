"""A dose belongs to one treatment course: the bedside refuses it for any other course of the
same patient, through the service, the API and the web form, and records the near-miss."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from saisei.processing.models import Donation, NearMiss
from saisei.treatment import services
from saisei.treatment.tests.factories import add_course, make_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_courses(org):
    """One patient, a first course (its dose 1 thawed) and a second course with its own harvest."""
    first = make_world(org)
    second = add_course(first)
    return first, second


def _failed(checks) -> set[str]:
    return {c["code"] for c in checks if not c["passed"]}


def test_each_course_has_its_own_chain_of_identity_identifier(two_courses):
    first, second = two_courses
    assert first.patient == second.patient
    assert first.course.chain_of_identity.coi == first.coi
    assert second.course.chain_of_identity.coi == second.coi
    assert first.coi != second.coi


def test_a_first_course_dose_at_the_second_courses_infusion_is_refused_as_a_near_miss(
    two_courses,
):
    first, second = two_courses
    # Same patient, same infusion number, same cells, same route: only the course differs.
    v = services.bedside_verify(
        actor=second.nurse,
        patient_scan=second.wristband,
        product_scans=[first.labels[0]],
        course_step=second.steps[0],
        route="iv",
    )
    assert not v.passed
    assert _failed(v.checks) == {"same_course"}
    check = next(c for c in v.checks if c["code"] == "same_course")
    assert "another treatment course" in check["message"]
    miss = NearMiss.objects.get()
    assert miss.stage == "bedside" and miss.dose == first.doses[0]
    assert v.near_miss == miss


def test_the_second_courses_own_dose_passes_at_its_infusion(two_courses):
    _first, second = two_courses
    v = services.bedside_verify(
        actor=second.nurse,
        patient_scan=second.wristband_coi,
        product_scans=[second.labels[0]],
        course_step=second.steps[0],
        route="iv",
    )
    assert v.passed, v.checks
    assert v.patient == second.patient


def test_a_wristband_with_the_first_courses_identifier_is_refused_for_the_second_course(
    two_courses,
):
    first, second = two_courses
    v = services.bedside_verify(
        actor=second.nurse,
        patient_scan=first.wristband_coi,
        product_scans=[second.labels[0]],
        course_step=second.steps[0],
        route="iv",
    )
    assert not v.passed
    assert "same_course" in _failed(v.checks)
    assert NearMiss.objects.count() == 1


def test_a_bag_whose_donation_is_bound_to_no_course_is_refused(org):
    world = make_world(org)
    Donation.objects.filter(pk=world.donation.pk).update(course=None)
    v = services.bedside_verify(
        actor=world.nurse,
        patient_scan=world.wristband,
        product_scans=[world.labels[0]],
        course_step=world.steps[0],
        route="iv",
    )
    assert not v.passed
    assert "same_course" in _failed(v.checks)


def test_the_api_refuses_the_first_courses_dose_for_the_second_course(api_for, two_courses):
    first, second = two_courses
    res = api_for(second.nurse).post(
        "/bedside/verify",
        {
            "patient_scan": second.wristband,
            "product_scans": [first.labels[0]],
            "course_step": str(second.steps[0].external_id),
            "route": "iv",
        },
    )
    assert res.status_code == 200, res.content
    data = res.json()
    assert data["ok"] is False
    assert _failed(data["checks"]) == {"same_course"}
    assert NearMiss.objects.count() == 1


def test_the_bedside_form_refuses_the_first_courses_dose_for_the_second_course(
    web_for, two_courses
):
    first, second = two_courses
    step = second.steps[0]
    step.planned_date = timezone.localdate()
    step.save()
    r = web_for(second.nurse).post(
        reverse("treatment:bedside", args=[step.external_id]),
        {
            "patient_scan": second.wristband,
            "product_scan": first.labels[0],
            "route": "iv",
            "step": str(step.external_id),
        },
    )
    assert r.status_code == 409  # the page answers a failed check with Conflict
    html = r.content.decode()
    assert "another treatment course" in html
    assert "All checks passed" not in html
    assert not r.context["verification"].passed
    assert NearMiss.objects.count() == 1
