"""Outcome API: assessments with per-field 422s, voiding, schedules, visits, biomarkers, scoping."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from saisei.core.tests.factories import OrganisationFactory
from saisei.outcomes import services
from saisei.outcomes.tests.factories import course_with_steps

TODAY = timezone.localdate()


@pytest.fixture
def rater(org: Any, make_user: Any) -> Any:
    user = make_user("physician", org)
    services.credential_record(
        actor=make_user("org_admin", org),
        user=user,
        instrument="MMSE",
        kind="licence",
        reference="PAR-1",
        expires_on=TODAY + dt.timedelta(days=30),
    )
    return user


@pytest.fixture
def course(org: Any) -> Any:
    return course_with_steps(organisation=org, harvest=TODAY - dt.timedelta(days=120))


def test_record_and_list_assessment(api_for: Any, rater: Any, course: Any) -> None:
    api = api_for(rater)
    r = api.post(
        "/outcomes/assessments",
        {
            "patient": str(course.patient.external_id),
            "instrument": "MMSE",
            "assessed_on": str(TODAY),
            "values": {"total": 21},
        },
    )
    assert r.status_code == 201, r.content
    assert r.json()["measures"] == {"MMSE": 21.0}
    listing = api.get("/outcomes/assessments", patient=str(course.patient.external_id)).json()
    assert listing["count"] == 1


def test_out_of_range_answer_gets_422_with_field_message(
    api_for: Any, rater: Any, course: Any
) -> None:
    r = api_for(rater).post(
        "/outcomes/assessments",
        {
            "patient": str(course.patient.external_id),
            "instrument": "MMSE",
            "assessed_on": str(TODAY),
            "values": {"total": 35, "recall": 4},
        },
    )
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["code"] == "outcomes.invalid_score"
    assert "30" in err["fields"]["total"][0]
    assert "recall" in err["fields"]


def test_void_keeps_the_record_and_hides_it_from_the_default_list(
    api_for: Any, rater: Any, course: Any
) -> None:
    api = api_for(rater)
    aid = api.post(
        "/outcomes/assessments",
        {
            "patient": str(course.patient.external_id),
            "instrument": "MMSE",
            "assessed_on": str(TODAY),
            "values": {"total": 21},
        },
    ).json()["id"]
    assert api.post(f"/outcomes/assessments/{aid}/void", {"reason": ""}).status_code == 422
    r = api.post(f"/outcomes/assessments/{aid}/void", {"reason": "Entered twice"})
    assert r.status_code == 200 and r.json()["voided"]
    assert api.get("/outcomes/assessments").json()["count"] == 0
    assert api.get("/outcomes/assessments", include_voided=True).json()["count"] == 1


def test_other_organisation_answers_404(
    api_for: Any, make_user: Any, rater: Any, course: Any
) -> None:
    a = services.assessment_record(
        actor=rater,
        patient=course.patient,
        instrument="MMSE",
        values={"total": 20},
        assessed_on=TODAY,
    )
    outsider = make_user("physician", OrganisationFactory(slug="other"))
    api = api_for(outsider)
    assert (
        api.get("/outcomes/assessments", patient=str(course.patient.external_id)).status_code == 404
    )
    r = api.post(f"/outcomes/assessments/{a.external_id}/void", {"reason": "x"})
    assert r.status_code == 404
    r = api.post(
        "/outcomes/assessments",
        {
            "patient": str(course.patient.external_id),
            "instrument": "FAST",
            "assessed_on": str(TODAY),
            "values": {"stage": "4"},
        },
    )
    assert r.status_code == 404
    assert api.post("/outcomes/schedules", {"course": str(course.external_id)}).status_code == 404
    assert api.get("/outcomes/assessments").json()["count"] == 0


def test_schedule_and_visit_list(api_for: Any, rater: Any, course: Any) -> None:
    api = api_for(rater)
    r = api.post(
        "/outcomes/schedules", {"course": str(course.external_id), "follow_up_months": [3, 6, 12]}
    )
    assert r.status_code == 201, r.content
    assert len(r.json()["visits"]) == 7
    visits = api.get("/outcomes/visits", status="planned").json()
    assert visits["count"] == 7
    assert any(v["overdue"] for v in visits["items"])  # baseline was due months ago


def test_list_endpoints_keep_a_constant_query_count(
    api_for: Any, rater: Any, org: Any, django_assert_max_num_queries: Any
) -> None:
    api = api_for(rater)
    for i in range(6):
        c = course_with_steps(organisation=org, harvest=TODAY - dt.timedelta(days=100 + i))
        services.schedule_create(actor=rater, course=c)
        services.assessment_record(
            actor=rater,
            patient=c.patient,
            instrument="MMSE",
            values={"total": 20 + i},
            assessed_on=TODAY,
        )
    with django_assert_max_num_queries(8):
        assert api.get("/outcomes/assessments", limit=50).json()["count"] == 6
    with django_assert_max_num_queries(8):
        assert api.get("/outcomes/visits", limit=50).json()["count"] == 42


def test_biomarker_api(api_for: Any, rater: Any, org: Any, course: Any) -> None:
    services.references_seed_defaults(actor=None, organisation=org)
    api = api_for(rater)
    r = api.post(
        "/outcomes/biomarkers",
        {
            "patient": str(course.patient.external_id),
            "code": "PTAU217",
            "value": 0.41,
            "unit": "pg/mL",
            "collected_on": str(TODAY),
        },
    )
    assert r.status_code == 201, r.content
    assert r.json()["loinc"] == "104663-0"
    bad = api.post(
        "/outcomes/biomarkers",
        {
            "patient": str(course.patient.external_id),
            "code": "NOPE",
            "value": 1,
            "collected_on": str(TODAY),
        },
    )
    assert bad.status_code == 422 and "code" in bad.json()["error"]["fields"]
    assert (
        api.get("/outcomes/biomarkers", patient=str(course.patient.external_id)).json()["count"]
        == 1
    )


def test_trajectory_api_never_calls_a_sub_noise_gain_improved(
    api_for: Any, rater: Any, course: Any
) -> None:
    from saisei.journey.models import Prescreen

    p = course.patient
    Prescreen.objects.create(
        organisation=p.organisation, patient=p, plan=course.plan, outcome="eligible", stage="mild"
    )
    services.assessment_record(
        actor=rater,
        patient=p,
        instrument="MMSE",
        values={"total": 22},
        assessed_on=TODAY - dt.timedelta(days=365),
    )
    services.assessment_record(
        actor=rater, patient=p, instrument="MMSE", values={"total": 24}, assessed_on=TODAY
    )
    r = api_for(rater).get(f"/outcomes/patients/{p.external_id}/trajectories")
    assert r.status_code == 200, r.content
    mmse = next(t for t in r.json() if t["measure"] == "MMSE")
    assert mmse["category"] != "improved_beyond_noise"
    assert mmse["observed_change"] == 2.0 and mmse["noise_threshold"] > 2.0
    assert "measurement_noise" in [c["code"] for c in mmse["caveats"]]


def test_cohort_api_and_its_scope(
    api_for: Any, rater: Any, org: Any, make_user: Any, course: Any
) -> None:
    r = api_for(rater).get(f"/outcomes/cohorts/{course.plan.external_id}", measure="MMSE")
    assert r.status_code == 200, r.content
    assert r.json()["n_enrolled"] == 1
    assert (
        api_for(rater).get(f"/outcomes/cohorts/{course.plan.external_id}", measure="X").status_code
        == 422
    )
    outsider = make_user("physician", OrganisationFactory(slug="other-c"))
    assert api_for(outsider).get(f"/outcomes/cohorts/{course.plan.external_id}").status_code == 404
    assert (
        api_for(make_user("nurse", org))
        .get(f"/outcomes/cohorts/{course.plan.external_id}")
        .status_code
        == 403
    )
