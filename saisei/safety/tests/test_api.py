"""Safety API: events with clocks in the one error shape, triage, scoping and query counts."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from saisei.safety import services
from saisei.treatment.tests.factories import make_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(org):
    return make_world(org)


def test_create_a_serious_event_answers_its_clocks(api_for, world):
    res = api_for(world.physician_user).post(
        "/safety/events",
        {
            "patient": str(world.patient.external_id),
            "term": "Pulmonary embolism",
            "vocabulary_code": "pulmonary_embolism",
            "onset_date": timezone.localdate().isoformat(),
            "severity_grade": 4,
            "life_threatening": True,
            "related_cells": "possible",
        },
    )
    assert res.status_code == 201, res.content
    data = res.json()
    assert data["serious"] and data["reporting_level"] == "life_threatening"
    recipients = {c["recipient"] for c in data["clocks"]}
    assert recipients == {"committee", "ministry", "processing_facility"}
    committee = next(c for c in data["clocks"] if c["recipient"] == "committee")
    assert committee["rule"] == "AE-COMMITTEE-7D" and committee["days_left"] == 7


def test_a_bad_grade_is_422_in_the_error_shape(api_for, world):
    res = api_for(world.physician_user).post(
        "/safety/events",
        {
            "patient": str(world.patient.external_id),
            "term": "x",
            "onset_date": "2026-01-01",
            "severity_grade": 9,
        },
    )
    assert res.status_code == 422
    assert res.json()["error"]["code"] == "invalid_input"


def test_grade_5_without_death_is_refused_by_the_service(api_for, world):
    res = api_for(world.physician_user).post(
        "/safety/events",
        {
            "patient": str(world.patient.external_id),
            "term": "Cardiac arrest",
            "onset_date": timezone.localdate().isoformat(),
            "severity_grade": 5,
        },
    )
    assert res.status_code == 422
    assert "death" in res.json()["error"]["fields"]


def test_another_organisations_event_is_404(api_for, world, make_user, other_org):
    event = services.adverse_event_record(
        actor=world.physician_user,
        patient=world.patient,
        term="Fever",
        onset_date=timezone.localdate(),
        severity_grade=1,
    )
    client = api_for(make_user("physician", other_org))
    assert client.get(f"/safety/events/{event.external_id}").status_code == 404
    res = client.post(
        "/safety/events",
        {
            "patient": str(world.patient.external_id),
            "term": "x",
            "onset_date": "2026-01-01",
            "severity_grade": 1,
        },
    )
    assert res.status_code == 404


def test_event_list_query_count_is_constant(api_for, world, django_assert_max_num_queries):
    for i in range(6):
        services.adverse_event_record(
            actor=world.physician_user,
            patient=world.patient,
            term=f"Event {i}",
            onset_date=timezone.localdate(),
            severity_grade=3,
            hospitalisation=True,
        )
    client = api_for(world.physician_user)
    with django_assert_max_num_queries(8):
        res = client.get("/safety/events", limit=50)
    assert res.json()["count"] == 6
    assert all(len(e["clocks"]) == 3 for e in res.json()["items"])


def test_report_data_and_follow_up(api_for, world):
    event = services.adverse_event_record(
        actor=world.physician_user,
        patient=world.patient,
        term="Fever",
        onset_date=timezone.localdate(),
        severity_grade=2,
    )
    client = api_for(world.physician_user)
    res = client.post(
        f"/safety/events/{event.external_id}/follow-ups",
        {"note": "Settled", "outcome": "recovered"},
    )
    assert res.status_code == 201 and res.json()["number"] == 1
    data = client.get(f"/safety/events/{event.external_id}/report").json()
    assert data["event_number"] == event.number and data["follow_ups"][0]["note"] == "Settled"


def test_triage_queue_and_decision(api_for, world):
    report = services.patient_report_submit(
        patient=world.patient,
        reporter="caregiver",
        description="Short of breath on the stairs since yesterday",
        how_bad="severe",
        started_on=timezone.localdate() - dt.timedelta(days=1),
    )
    client = api_for(world.nurse)
    queue = client.get("/safety/patient-reports", status="new").json()
    assert [r["id"] for r in queue["items"]] == [str(report.external_id)]
    res = client.post(
        f"/safety/patient-reports/{report.external_id}/triage",
        {
            "decision": "adverse_event",
            "term": "Dyspnoea",
            "severity_grade": 2,
            "event": {"related_cells": "possible"},
        },
    )
    assert res.status_code == 200, res.content
    assert res.json()["status"] == "adverse_event" and res.json()["adverse_event"]
    again = client.post(
        f"/safety/patient-reports/{report.external_id}/triage",
        {"decision": "not_adverse_event", "note": "x"},
    )
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "invalid_transition"
