"""The bedside API answers exactly as the issue says, with the one error shape."""

from __future__ import annotations

import pytest

from saisei.core.tests.factories import TEST_PASSWORD
from saisei.processing.models import NearMiss
from saisei.treatment.tests.factories import make_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(org):
    return make_world(org)


def body(w, **kw):
    data = {
        "patient_scan": w.wristband,
        "product_scans": [w.labels[0]],
        "course_step": str(w.steps[0].external_id),
        "route": "iv",
    }
    data.update(kw)
    return data


def test_verify_answers_ok_and_every_check(api_for, world):
    res = api_for(world.nurse).post("/bedside/verify", body(world))
    assert res.status_code == 200, res.content
    data = res.json()
    assert data["ok"] is True
    assert {c["code"] for c in data["checks"]} >= {"same_patient", "compliance_gate"}
    assert all(set(c) == {"code", "passed", "message"} for c in data["checks"])


def test_verify_of_another_patients_bag_answers_not_ok_and_records_a_near_miss(api_for, org, world):
    other = make_world(org, base=world)
    res = api_for(world.nurse).post("/bedside/verify", body(world, product_scans=other.labels[:1]))
    assert res.status_code == 200
    assert res.json()["ok"] is False
    assert NearMiss.objects.count() == 1


def test_verify_with_a_missing_field_is_422_in_the_error_shape(api_for, world):
    data = body(world)
    del data["product_scans"]
    res = api_for(world.nurse).post("/bedside/verify", data)
    assert res.status_code == 422
    assert res.json()["error"]["code"] == "invalid_input"


def test_a_course_step_of_another_organisation_is_404(api_for, world, other_org, make_user):
    stranger = make_user("nurse", other_org)
    res = api_for(stranger).post("/bedside/verify", body(world))
    assert res.status_code == 404
    assert res.json()["error"]["code"] == "not_found"


def test_record_then_second_record_is_409(api_for, world):
    client = api_for(world.nurse)
    v1 = client.post("/bedside/verify", body(world)).json()["verification"]
    v2 = client.post("/bedside/verify", body(world)).json()["verification"]
    payload = {
        "second_person_username": world.nurse2.username,
        "second_person_password": TEST_PASSWORD,
        "physician_username": world.physician_user.username,
        "rate_ml_per_hour": 120,
        "vitals_before": {"systolic_mmhg": 120, "temperature_c": 36.5},
    }
    first = client.post("/treatment/administrations", {"verification": v1, **payload})
    assert first.status_code == 201, first.content
    assert first.json()["status"] == "in_progress"
    assert first.json()["vitals"][0]["phase"] == "before"
    second = client.post("/treatment/administrations", {"verification": v2, **payload})
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "dose_already_administered"


def test_complete_and_vitals_endpoints(api_for, world):
    client = api_for(world.nurse)
    v = client.post("/bedside/verify", body(world)).json()["verification"]
    adm = client.post(
        "/treatment/administrations",
        {
            "verification": v,
            "second_person_username": world.nurse2.username,
            "second_person_password": TEST_PASSWORD,
            "physician_username": world.physician_user.username,
        },
    ).json()
    res = client.post(
        f"/treatment/administrations/{adm['id']}/vitals",
        {"phase": "during", "heart_rate_bpm": 88, "spo2_pct": 96},
    )
    assert res.status_code == 201, res.content
    res = client.post(
        f"/treatment/administrations/{adm['id']}/complete", {"observations": "Well tolerated."}
    )
    assert res.status_code == 200
    assert res.json()["status"] == "completed"
    again = client.post(
        f"/treatment/administrations/{adm['id']}/complete", {"stopped": True, "stop_reason": "x"}
    )
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "invalid_transition"
    bad = client.post(f"/treatment/administrations/{adm['id']}/vitals", {"phase": "later"})
    assert bad.status_code == 422


def test_administration_list_query_count_is_constant(
    api_for, org, world, django_assert_max_num_queries
):
    from saisei.treatment import services

    client = api_for(world.nurse)
    for _ in range(3):
        w = make_world(org, base=world)
        v = services.bedside_verify(
            actor=world.nurse,
            patient_scan=w.wristband,
            product_scans=[w.labels[0]],
            course_step=w.steps[0],
            route="iv",
        )
        services.administration_record(
            actor=world.nurse,
            verification=v,
            second_person=world.nurse2,
            second_person_password=TEST_PASSWORD,
            physician=world.physician_user,
        )
    with django_assert_max_num_queries(8):
        res = client.get("/treatment/administrations", limit=50)
    assert res.status_code == 200
    assert res.json()["count"] == 3


def test_other_org_sees_no_administrations(api_for, make_user, other_org, world):
    res = api_for(make_user("physician", other_org)).get("/treatment/administrations")
    assert res.json()["count"] == 0
