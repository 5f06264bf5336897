"""Bedside screens: today's list, the scan check, two-person confirmation, the infusion record."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from saisei.core.tests.factories import TEST_PASSWORD
from saisei.processing.models import NearMiss
from saisei.treatment.models import Administration
from saisei.treatment.tests.factories import make_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(org):
    w = make_world(org)
    step = w.steps[0]
    step.planned_date = timezone.localdate()
    step.save()
    return w


def test_today_lists_the_infusion_with_a_button_to_start(web_for, world):
    r = web_for(world.nurse).get(reverse("treatment:today"))
    assert r.status_code == 200
    assert world.patient.patient_code in r.content.decode()
    assert reverse("treatment:bedside", args=[world.steps[0].external_id]) in r.content.decode()


def test_today_is_paged_with_a_constant_number_of_queries(
    web_for, world, monkeypatch, django_assert_max_num_queries
):
    """A national network's day has hundreds of infusions: the list reads one page at a time."""
    from saisei.treatment import views

    for step in world.steps:
        step.planned_date = timezone.localdate()
        step.save()
    assert len(world.steps) >= 2
    monkeypatch.setattr(views, "TODAY_PAGE_SIZE", 1)
    client = web_for(world.nurse)
    seen = []
    for n in range(1, len(world.steps) + 1):
        with django_assert_max_num_queries(12):
            r = client.get(reverse("treatment:today"), {"page": n})
        html = r.content.decode()
        assert r.status_code == 200
        assert f"Page {n} of {len(world.steps)}" in html
        links = [s for s in world.steps if str(s.external_id) in html]
        assert len(links) == 1
        seen.append(links[0].pk)
    assert sorted(seen) == sorted(s.pk for s in world.steps)


def test_home_worklist_shows_todays_infusion(web_for, world):
    r = web_for(world.nurse).get(reverse("core:home"))
    assert world.patient.patient_code in r.content.decode()


def test_bedside_page_autofocuses_the_wristband_scan(web_for, world):
    r = web_for(world.nurse).get(reverse("treatment:bedside", args=[world.steps[0].external_id]))
    html = r.content.decode()
    assert r.status_code == 200
    assert 'name="patient_scan"' in html and "autofocus" in html
    assert "data-scan" in html


def scan(client, world, label):
    return client.post(
        reverse("treatment:bedside", args=[world.steps[0].external_id]),
        {
            "patient_scan": world.wristband,
            "product_scan": label,
            "route": "iv",
            "step": str(world.steps[0].external_id),
        },
    )


def test_a_verified_scan_and_second_person_record_the_infusion(web_for, world):
    client = web_for(world.nurse)
    r = scan(client, world, world.labels[0])
    assert r.status_code == 200
    assert "All checks passed" in r.content.decode()
    verification = r.context["verification"]
    r = client.post(
        reverse("treatment:administer", args=[verification.external_id]),
        {
            "physician": world.physician_user.pk,
            "second_person": world.physician_user.pk,
            "second_person_password": TEST_PASSWORD,
            "rate_ml_per_hour": "120",
            "systolic_mmhg": "124",
            "temperature_c": "36.5",
        },
    )
    assert r.status_code == 302, r.content.decode()[:2000]
    adm = Administration.objects.get()
    assert adm.second_person == world.physician_user and adm.nurse == world.nurse
    r = client.get(r["Location"])
    assert "36.5" in r.content.decode()
    client.post(
        reverse("treatment:vital_add", args=[adm.external_id]),
        {"phase": "after", "heart_rate_bpm": "70"},
    )
    client.post(reverse("treatment:complete", args=[adm.external_id]), {"observations": "Well"})
    adm.refresh_from_db()
    assert adm.status == "completed" and adm.vitals.count() == 2


def test_a_wrong_bag_shows_stop_and_records_a_near_miss(web_for, org, world):
    other = make_world(org, base=world)
    r = scan(web_for(world.nurse), world, other.labels[0])
    assert r.status_code == 409
    assert "STOP" in r.content.decode()
    assert NearMiss.objects.count() == 1


def test_a_wrong_second_password_is_shown_on_the_form(web_for, world):
    client = web_for(world.nurse)
    verification = scan(client, world, world.labels[0]).context["verification"]
    r = client.post(
        reverse("treatment:administer", args=[verification.external_id]),
        {
            "physician": world.physician_user.pk,
            "second_person": world.physician_user.pk,
            "second_person_password": "nope",
        },
    )
    assert r.status_code == 400
    assert "password is not correct" in r.content.decode()
    assert not Administration.objects.exists()


def test_a_committee_reviewer_cannot_open_the_bedside(web_for, world, make_user, org):
    r = web_for(make_user("coordinator", org)).get(reverse("treatment:today"))
    assert r.status_code == 403
