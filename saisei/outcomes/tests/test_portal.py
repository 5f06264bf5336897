"""The caregiver diary in the portal: the family's language, a 'not validated' label, their patient only."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from saisei.journey.services import portal_link_issue
from saisei.outcomes.models import Assessment
from saisei.outcomes.tests.factories import course_with_steps

ANSWERS = {
    "sleep": "2",
    "agitation": "1",
    "evening_confusion": "3",
    "recognition": "0",
    "engagement": "1",
}


@pytest.fixture
def family(org: Any, make_user: Any) -> tuple[Client, Any]:
    course = course_with_steps(
        organisation=org, harvest=timezone.localdate() - dt.timedelta(days=60)
    )
    patient = course.patient
    patient.language = "ja"
    patient.save()
    _access, token = portal_link_issue(
        actor=make_user("coordinator", org), patient=patient, send=False
    )
    client = Client()
    client.post(f"/journey/portal/enter/{token}/")
    return client, patient


def test_diary_is_in_the_familys_language_and_labelled_not_validated(family: Any) -> None:
    client, _patient = family
    html = client.get("/outcomes/portal/diary/").content.decode()
    assert "検証済みの尺度ではありません" in html
    assert "この1週間" in html


def test_diary_answers_are_saved_for_the_portal_patient(family: Any) -> None:
    client, patient = family
    r = client.post("/outcomes/portal/diary/", {**ANSWERS, "answered_by": "娘 Hanako"})
    assert r.status_code == 200
    a = Assessment.objects.get()
    assert (
        a.patient_id == patient.pk and a.total == 7 and a.source == "portal" and a.language == "ja"
    )


def test_incomplete_diary_shows_errors_and_saves_nothing(family: Any) -> None:
    client, _patient = family
    r = client.post("/outcomes/portal/diary/?lang=en", {"sleep": "2", "answered_by": "Son"})
    assert r.status_code == 200
    assert r.context["form"].errors
    assert Assessment.objects.count() == 0


def test_without_a_portal_session_the_diary_sends_the_family_to_the_portal(db: Any) -> None:
    r = Client().get("/outcomes/portal/diary/")
    assert r.status_code == 302
    assert r["Location"] == "/journey/portal/"
    assert Assessment.objects.count() == 0
