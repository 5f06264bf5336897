"""The bedside two-person confirmation is the second person's e-signature, on every channel.

A second person enrolled in two-factor authentication confirms with their password and a current
code; a missing, wrong or already used code is one and the same refusal through the API (token or
session) and the bedside form, and no administration is recorded.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from saisei.core.tests.esign import CHANNELS, api_post, check_every_factor, enrol, web_post
from saisei.core.tests.factories import TEST_PASSWORD
from saisei.treatment.models import Administration
from saisei.treatment.tests.factories import make_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(org: Any) -> Any:
    return make_world(org)


def _verification(api_for: Any, world: Any) -> str:
    res = api_for(world.nurse).post(
        "/bedside/verify",
        {
            "patient_scan": world.wristband,
            "product_scans": [world.labels[0]],
            "course_step": str(world.steps[0].external_id),
            "route": "iv",
        },
    )
    assert res.status_code == 200 and res.json()["ok"], res.content
    return str(res.json()["verification"])


@pytest.mark.parametrize("channel", CHANNELS)
def test_second_person_confirms_with_password_and_a_current_code(
    channel: str, world: Any, api_for: Any
) -> None:
    second = enrol(world.physician_user)
    verification = _verification(api_for, world)

    def sign(channel: str, otp: str | None) -> Any:
        if channel == "web":
            form = {
                "physician": world.physician_user.pk,
                "second_person": second.pk,
                "second_person_password": TEST_PASSWORD,
            }
            if otp is not None:
                form["second_person_otp"] = otp
            url = reverse("treatment:administer", args=[verification])
            return web_post(world.nurse, url, form)
        data = {
            "verification": verification,
            "second_person_username": second.username,
            "second_person_password": TEST_PASSWORD,
            "physician_username": world.physician_user.username,
        }
        if otp is not None:
            data["second_person_otp"] = otp
        return api_post(channel, world.nurse, "/treatment/administrations", data)

    check_every_factor(sign, second, channel, done=Administration.objects.exists)
    assert Administration.objects.get().second_person == second


def test_the_refusal_names_the_second_persons_code_field(world: Any, api_for: Any) -> None:
    second = enrol(world.physician_user)
    out = api_post(
        "token",
        world.nurse,
        "/treatment/administrations",
        {
            "verification": _verification(api_for, world),
            "second_person_username": second.username,
            "second_person_password": TEST_PASSWORD,
            "physician_username": second.username,
        },
    )
    assert out.status == 422
    assert list(out.error["fields"]) == ["second_person_otp"]
