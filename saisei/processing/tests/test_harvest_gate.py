"""No harvest without an in-force plan: every way to record one outside a plan is refused by the
compliance gate, through the API and the web form, for every role that may record a harvest."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from saisei.processing.models import Donation
from saisei.processing.tests.factories import (
    consent_to,
    make_course,
    make_patient,
    negative_markers,
    plan_world,
)
from saisei.regulatory.models import GateRefusal
from saisei.regulatory.tests.factories import FacilityFactory, PhysicianFactory, PlanFactory

pytestmark = pytest.mark.django_db

RECORDERS = ["physician", "nurse", "cpc_technician", "qa_manager"]


@pytest.fixture
def world(org: Any) -> Any:
    return plan_world(org)


@pytest.fixture
def ready(world: Any, patient: Any) -> Any:
    consent_to(world, patient)
    return world


def course_of(world: Any, patient: Any) -> Any:
    """The patient's open course under the world's plan (consent is given separately)."""
    from saisei.journey.models import TreatmentCourse

    found = TreatmentCourse.objects.filter(
        patient=patient, plan=world.plan, status__in=["planned", "scheduled", "in_progress"]
    ).first()
    return found or make_course(patient, plan=world.plan, consent=False)


def body(world: Any, patient: Any, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "patient": str(patient.external_id),
        "course": str(course_of(world, patient).external_id),
        "site": str(world.site.external_id),
        "plan": str(world.plan.external_id),
        "physician": str(world.physician.external_id),
        "facility": str(world.facility.external_id),
        "cell_source": "autologous",
        "harvest_site": "abdomen",
        "tissue_weight_g": 20,
        "container": "sterile 250 mL bottle",
        "collected_at": (timezone.now() - dt.timedelta(hours=3)).isoformat(),
        "infection_markers": negative_markers(),
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def refused(res: Any, rule: str) -> dict[str, Any]:
    assert res.status_code == 422, res.content
    error = res.json()["error"]
    assert error["code"] == "compliance_gate_refused"
    assert rule in error["fields"], error["fields"]
    message, source = error["fields"][rule]
    assert message and source.startswith("ASRM")
    assert not Donation.objects.exists()
    kept = GateRefusal.objects.latest("pk")
    assert kept.act == "harvest" and rule in kept.rules
    return error


def _unlisted_physician(world: Any) -> Any:
    return PhysicianFactory(organisation=world.plan.organisation, institution=world.institution)


def _revoked(world: Any) -> Any:
    facility = world.facility
    record = facility.authorisations.get()
    record.ended_on = record.valid_from
    record.end_reason = "revoked"
    record.save()
    return facility


CASES = {
    "no performing physician": ({"physician": None}, "GATE-PHYSICIAN-UNKNOWN"),
    "physician not listed": (
        {"physician": lambda w: str(_unlisted_physician(w).external_id)},
        "GATE-PHYSICIAN-NOT-LISTED",
    ),
    "no facility": ({"facility": None}, "GATE-CPC-UNKNOWN"),
    "facility not listed": (
        {"facility": lambda w: str(FacilityFactory(organisation=w.plan.organisation).external_id)},
        "GATE-CPC-NOT-LISTED",
    ),
    "facility not authorised": (
        {"facility": lambda w: str(_revoked(w).external_id)},
        "GATE-CPC-NOT-AUTHORISED",
    ),
    "no cell source": ({"cell_source": None}, "GATE-CELL-SOURCE-UNKNOWN"),
    "cell source not the plan's": ({"cell_source": "allogeneic"}, "GATE-CELL-SOURCE-NOT-IN-PLAN"),
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("role", RECORDERS)
def test_a_harvest_outside_the_plan_is_refused_through_the_api(
    api_for: Any, make_user: Any, org: Any, ready: Any, patient: Any, case: str, role: str
) -> None:
    changes, rule = CASES[case]
    values = {k: (v(ready) if callable(v) else v) for k, v in changes.items()}
    res = api_for(make_user(role, org)).post(
        "/processing/donations", body(ready, patient, **values)
    )
    refused(res, rule)


@pytest.mark.parametrize("role", RECORDERS)
def test_the_named_physician_is_checked_not_the_person_recording(
    api_for: Any, make_user: Any, org: Any, ready: Any, patient: Any, role: str
) -> None:
    """A technician or nurse records the harvest a listed physician performed: allowed."""
    res = api_for(make_user(role, org)).post("/processing/donations", body(ready, patient))
    assert res.status_code == 201, res.content
    donation = Donation.objects.get()
    assert donation.physician == ready.physician and donation.plan == ready.plan
    assert not GateRefusal.objects.exists()


def test_a_listed_physician_recording_cannot_cover_an_unlisted_performer(
    api_for: Any, ready: Any, patient: Any
) -> None:
    listed_user = ready.physician.user
    other = _unlisted_physician(ready)
    res = api_for(listed_user).post(
        "/processing/donations", body(ready, patient, physician=str(other.external_id))
    )
    refused(res, "GATE-PHYSICIAN-NOT-LISTED")


def test_a_plan_not_yet_in_force_on_the_day_of_the_harvest_is_refused(
    api_for: Any, make_user: Any, org: Any, ready: Any, patient: Any
) -> None:
    ready.version.in_force_from = timezone.localdate() - dt.timedelta(days=5)
    ready.version.save()
    res = api_for(make_user("nurse", org)).post(
        "/processing/donations",
        body(ready, patient, collected_at=(timezone.now() - dt.timedelta(days=10)).isoformat()),
    )
    refused(res, "GATE-PLAN-NOT-IN-FORCE")


def test_a_course_under_a_draft_plan_is_refused(
    api_for: Any, make_user: Any, org: Any, ready: Any, patient: Any
) -> None:
    draft = PlanFactory(organisation=org, institution=ready.institution)
    course = make_course(patient, plan=draft, consent=False)
    res = api_for(make_user("nurse", org)).post(
        "/processing/donations",
        body(ready, patient, course=str(course.external_id), plan=None),
    )
    refused(res, "GATE-PLAN-MISSING")


@pytest.mark.parametrize("role", RECORDERS)
def test_an_omitted_plan_is_the_courses_and_the_gate_checks_it(
    api_for: Any, make_user: Any, org: Any, ready: Any, patient: Any, role: str
) -> None:
    res = api_for(make_user(role, org)).post(
        "/processing/donations", body(ready, patient, plan=None)
    )
    assert res.status_code == 201, res.content
    assert Donation.objects.get().plan == ready.plan


def test_a_stated_plan_other_than_the_courses_is_refused(
    api_for: Any, make_user: Any, org: Any, ready: Any, patient: Any
) -> None:
    other = plan_world(org, fresh=True)
    consent_to(other, patient)
    res = api_for(make_user("nurse", org)).post(
        "/processing/donations", body(ready, patient, plan=str(other.plan.external_id))
    )
    assert res.status_code == 422, res.content
    assert res.json()["error"]["code"] == "course_other_plan"
    assert not Donation.objects.exists()


def test_no_course_and_no_plan_is_refused_before_anything_is_recorded(
    api_for: Any, make_user: Any, org: Any, ready: Any, patient: Any
) -> None:
    data = body(ready, patient, plan=None)
    data.pop("course")
    res = api_for(make_user("nurse", org)).post("/processing/donations", data)
    assert res.status_code == 422, res.content
    assert res.json()["error"]["code"] == "course_required"
    assert not Donation.objects.exists()


def test_without_consent_the_harvest_is_refused(
    api_for: Any, make_user: Any, org: Any, world: Any
) -> None:
    patient = make_patient(org)
    res = api_for(make_user("physician", org)).post("/processing/donations", body(world, patient))
    refused(res, "GATE-CONSENT-NOT-VALID")


@pytest.mark.parametrize(
    ("diagnosis", "rule"),
    [("", "GATE-INDICATION-UNKNOWN"), ("knee_osteoarthritis", "GATE-INDICATION-NOT-IN-PLAN")],
)
def test_the_patients_recorded_diagnosis_decides_the_indication(
    api_for: Any, make_user: Any, org: Any, world: Any, diagnosis: str, rule: str
) -> None:
    patient = make_patient(org, diagnosis_code=diagnosis)
    consent_to(world, patient)
    res = api_for(make_user("cpc_technician", org)).post(
        "/processing/donations", body(world, patient)
    )
    refused(res, rule)


def test_a_site_outside_the_plans_institution_is_refused(
    api_for: Any, make_user: Any, org: Any, ready: Any, patient: Any
) -> None:
    from saisei.core.tests.factories import SiteFactory

    elsewhere = SiteFactory(organisation=org, kind="medical_institution")
    res = api_for(make_user("nurse", org)).post(
        "/processing/donations", body(ready, patient, site=str(elsewhere.external_id))
    )
    refused(res, "GATE-INSTITUTION-NOT-COVERED")


@pytest.mark.parametrize("role", ["coordinator", "compliance_officer", "committee_reviewer"])
def test_roles_that_do_not_harvest_are_forbidden(
    api_for: Any, make_user: Any, org: Any, ready: Any, patient: Any, role: str
) -> None:
    res = api_for(make_user(role, org)).post("/processing/donations", body(ready, patient))
    assert res.status_code == 403
    assert not Donation.objects.exists()


def test_the_harvest_closes_the_courses_harvest_step(
    api_for: Any, make_user: Any, org: Any, ready: Any, patient: Any
) -> None:
    from saisei.journey.models import CourseStep, TreatmentCourse

    other = make_course(patient, plan=ready.plan)  # another open course: its step stays open
    other_step = CourseStep.objects.create(
        organisation=org, course=other, kind="harvest", status="scheduled"
    )
    course = TreatmentCourse.objects.create(
        organisation=org,
        patient=patient,
        plan=ready.plan,
        physician=ready.physician,
        facility=ready.facility,
        status="scheduled",
    )
    step = CourseStep.objects.create(
        organisation=org, course=course, kind="harvest", status="scheduled"
    )
    res = api_for(make_user("nurse", org)).post(
        "/processing/donations", body(ready, patient, course=str(course.external_id))
    )
    assert res.status_code == 201
    step.refresh_from_db()
    course.refresh_from_db()
    other_step.refresh_from_db()
    assert step.status == "done" and course.status == "in_progress"
    assert other_step.status == "scheduled"  # the harvest was for the other course


# --- the web form --------------------------------------------------------------------------


def form(world: Any, patient: Any, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "patient": patient.pk,
        "course": course_of(world, patient).pk,
        "site": world.site.pk,
        "plan": world.plan.pk,
        "physician": world.physician.pk,
        "facility": world.facility.pk,
        "cell_source": "autologous",
        "harvest_site": "abdomen",
        "tissue_weight_g": "18.5",
        "collected_at": (timezone.localtime() - dt.timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M"),
        "container": "250 mL bottle",
        **{f"marker_{k}": v for k, v in negative_markers().items()},
    }
    data.update(changes)
    return data


@pytest.mark.parametrize("role", RECORDERS)
def test_the_web_form_shows_the_gates_refusal_as_a_form_error(
    web_for: Any, make_user: Any, org: Any, ready: Any, patient: Any, role: str
) -> None:
    other = _unlisted_physician(ready)
    res = web_for(make_user(role, org)).post(
        "/processing/donations/new/", form(ready, patient, physician=other.pk)
    )
    assert res.status_code == 400
    page = res.content.decode()
    assert "This physician is not listed in the plan." in page
    assert "ASRM Art. 4(1)" in page  # the legal source is shown with the reason
    assert not Donation.objects.exists()
    assert GateRefusal.objects.get().rules == ["GATE-PHYSICIAN-NOT-LISTED"]


@pytest.mark.parametrize("field", ["course", "physician", "facility", "cell_source"])
def test_the_web_form_requires_every_fact_the_gate_checks(
    web_for: Any, make_user: Any, org: Any, ready: Any, patient: Any, field: str
) -> None:
    data = form(ready, patient)
    data.pop(field)
    res = web_for(make_user("nurse", org)).post("/processing/donations/new/", data)
    assert res.status_code == 400
    assert not Donation.objects.exists()


def test_the_web_form_records_a_harvest_under_the_plan(
    web_for: Any, make_user: Any, org: Any, ready: Any, patient: Any
) -> None:
    res = web_for(make_user("cpc_technician", org)).post(
        "/processing/donations/new/", form(ready, patient)
    )
    assert res.status_code == 302, res.content.decode()[:3000]
    donation = Donation.objects.get()
    assert (donation.plan, donation.physician, donation.facility) == (
        ready.plan,
        ready.physician,
        ready.facility,
    )
    page = web_for(make_user("qa_manager", org)).get(res["Location"]).content.decode()
    assert ready.physician.name in page
