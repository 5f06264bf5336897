"""Safety screens: event list with clocks, Friday-evening deadlines, triage, portal form."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from saisei.core.timezones import TOKYO
from saisei.journey.portal import SESSION_KEY
from saisei.safety import services
from saisei.safety.models import AdverseEvent, PatientReport
from saisei.treatment.tests.factories import make_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(org):
    return make_world(org)


@pytest.fixture
def officer(make_user, org):
    return make_user("compliance_officer", org)


def friday_evening() -> dt.datetime:
    today = timezone.localdate(timezone=TOKYO)
    friday = today - dt.timedelta(days=(today.weekday() - 4) % 7 or 7)
    return dt.datetime.combine(friday, dt.time(20, 45), TOKYO)


def test_a_serious_event_entered_on_friday_evening_shows_its_deadline_and_reaches_the_dashboard(
    web_for, world, officer
):
    aware = friday_evening()
    r = web_for(world.physician_user).post(
        reverse("safety:event_new"),
        {
            "patient": world.patient.pk,
            "vocabulary_code": "pulmonary_embolism",
            "term": "",
            "onset_date": aware.date().isoformat(),
            "aware_at": aware.strftime("%Y-%m-%dT%H:%M"),
            "severity_grade": "4",
            "life_threatening": "on",
            "related_harvest": "not_related",
            "related_cells": "possible",
            "related_administration": "possible",
            "outcome": "recovering",
        },
    )
    assert r.status_code == 302, r.content.decode()[:3000]
    event = AdverseEvent.objects.get()
    due = (aware.date() + dt.timedelta(days=7)).isoformat()
    page = web_for(world.physician_user).get(r["Location"]).content.decode()
    assert due in page and "Certified committee" in page
    listing = web_for(officer).get(reverse("safety:event_list")).content.decode()
    assert event.number in listing and due in listing
    dashboard = web_for(officer).get(reverse("regulatory:dashboard")).content.decode()
    assert due in dashboard
    home = web_for(officer).get(reverse("core:home")).content.decode()
    assert event.number in home


def test_overdue_clocks_are_red(web_for, world, officer):
    services.adverse_event_record(
        actor=world.physician_user,
        patient=world.patient,
        term="Death",
        onset_date=timezone.localdate() - dt.timedelta(days=10),
        aware_at=timezone.now() - dt.timedelta(days=10),
        severity_grade=5,
        death=True,
    )
    html = web_for(officer).get(reverse("safety:event_list")).content.decode()
    assert "status danger" in html and "OVERDUE" in html


def test_event_list_query_count_is_constant(web_for, world, officer, django_assert_max_num_queries):
    for i in range(5):
        services.adverse_event_record(
            actor=world.physician_user,
            patient=world.patient,
            term=f"Event {i}",
            onset_date=timezone.localdate(),
            severity_grade=3,
            hospitalisation=True,
        )
    client = web_for(officer)
    with django_assert_max_num_queries(20):
        assert client.get(reverse("safety:event_list")).status_code == 200


def test_report_pdf_and_json_download(web_for, world):
    event = services.adverse_event_record(
        actor=world.physician_user,
        patient=world.patient,
        term="Fever",
        onset_date=timezone.localdate(),
        severity_grade=1,
    )
    client = web_for(world.physician_user)
    r = client.get(reverse("safety:event_report_pdf", args=[event.external_id]) + "?lang=en")
    assert r["Content-Type"] == "application/pdf" and r.content.startswith(b"%PDF")
    r = client.get(reverse("safety:event_report_json", args=[event.external_id]))
    assert r.json()["event_number"] == event.number


def test_other_org_cannot_open_an_event(web_for, world, make_user, other_org):
    event = services.adverse_event_record(
        actor=world.physician_user,
        patient=world.patient,
        term="Fever",
        onset_date=timezone.localdate(),
        severity_grade=1,
    )
    r = web_for(make_user("physician", other_org)).get(
        reverse("safety:event_detail", args=[event.external_id])
    )
    assert r.status_code == 404


def portal_client(client, patient):
    from saisei.journey.models import PortalAccess

    access = PortalAccess.objects.create(
        organisation=patient.organisation,
        patient=patient,
        email="family@example.test",
        token_hash="x" * 64,
        expires_at=timezone.now() + dt.timedelta(days=1),
        used_at=timezone.now(),
    )
    session = client.session
    session[SESSION_KEY] = access.pk
    session.save()
    return client


def test_a_portal_report_reaches_the_triage_queue(client, web_for, world):
    c = portal_client(client, world.patient)
    r = c.get(reverse("safety:portal_report") + "?lang=ja")
    assert r.status_code == 200
    r = c.post(
        reverse("safety:portal_report"),
        {
            "lang": "en",
            "reporter": "caregiver",
            "reporter_name": "Wei",
            "description": "Fever of 38.5 since yesterday evening",
            "how_bad": "moderate",
        },
    )
    assert r.status_code == 200
    assert PatientReport.objects.filter(patient=world.patient, status="new").count() == 1
    triage = web_for(world.nurse).get(reverse("safety:triage")).content.decode()
    assert "Fever of 38.5" in triage


def test_the_portal_refuses_without_a_portal_session(client):
    assert client.get(reverse("safety:portal_report")).status_code == 403


def test_triage_to_an_adverse_event(web_for, world):
    report = services.patient_report_submit(
        patient=world.patient, reporter="patient", description="Swollen leg", how_bad="severe"
    )
    r = web_for(world.physician_user).post(
        reverse("safety:triage_decide", args=[report.external_id]),
        {
            "decision": "adverse_event",
            "vocabulary_code": "deep_vein_thrombosis",
            "onset_date": timezone.localdate().isoformat(),
            "severity_grade": "3",
            "hospitalisation": "on",
            "related_harvest": "possible",
            "related_cells": "possible",
            "related_administration": "not_assessed",
            "outcome": "not_recovered",
        },
    )
    assert r.status_code == 302, r.content.decode()[:3000]
    report.refresh_from_db()
    assert report.status == "adverse_event" and report.adverse_event.source == "portal"
