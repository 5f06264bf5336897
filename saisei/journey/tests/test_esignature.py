"""The physician's pre-screening decision and consent witness are e-signatures on every channel.

A physician enrolled in two-factor authentication signs with password and a current code; a
missing, wrong or already used code is one and the same refusal through the API (token or
session) and the web form, and nothing is recorded.
"""

from __future__ import annotations

from typing import Any

import pytest

from saisei.core.tests.esign import (
    CHANNELS,
    api_post,
    check_every_factor,
    enrol,
    session_client,
    web_post,
)
from saisei.journey import services
from saisei.journey.models import Consent, Prescreen
from saisei.journey.tests.conftest import ELIGIBLE_ANSWERS, PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def prescreen(patient: Any, plan: Any, package: Any, coordinator: Any) -> Prescreen:
    return services.prescreen_record(
        actor=coordinator, patient=patient, plan=plan, answers=ELIGIBLE_ANSWERS
    )


@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize("decision", ["eligible", "not_eligible"])
def test_prescreen_decision_needs_password_and_a_current_code(
    channel: str, decision: str, physician: Any, prescreen: Prescreen
) -> None:
    enrol(physician)

    def sign(channel: str, otp: str | None) -> Any:
        data = {"decision": decision, "note": "Reviewed.", "password": PASSWORD}
        if otp is not None:
            data["otp"] = otp
        if channel == "web":
            return web_post(physician, f"/journey/prescreens/{prescreen.external_id}/decide/", data)
        return api_post(
            channel, physician, f"/journey/prescreens/{prescreen.external_id}/decision", data
        )

    def decided() -> bool:
        prescreen.refresh_from_db()
        return prescreen.decision == decision

    check_every_factor(sign, physician, channel, done=decided)
    assert prescreen.signature["user"] == physician.username


def test_prescreen_decision_api_answers_the_decision(
    api_for: Any, physician: Any, prescreen: Prescreen, other_org: Any, make_user: Any
) -> None:
    path = f"/journey/prescreens/{prescreen.external_id}/decision"
    body = {"decision": "eligible", "password": PASSWORD}
    assert api_for(make_user("physician", other_org)).post(path, body).status_code == 404
    assert (
        api_for(make_user("coordinator", prescreen.organisation)).post(path, body).status_code
        == 403
    )
    res = api_for(physician).post(path, body)
    assert res.status_code == 200, res.content
    assert res.json()["decision"] == "eligible"
    assert res.json()["decided_by"] == physician.username
    assert api_for(physician).post(path, body).status_code == 409


@pytest.mark.parametrize("channel", CHANNELS)
def test_consent_witness_signature_needs_password_and_a_current_code(
    channel: str, physician: Any, patient: Any, consent_doc: Any
) -> None:
    enrol(physician)

    def sign(channel: str, otp: str | None) -> Any:
        data: dict[str, Any] = {
            "given_by": "patient",
            "signer_name": "Ming Lee",
            "password": PASSWORD,
        }
        if otp is not None:
            data["otp"] = otp
        if channel == "web":
            form = {**data, "document": consent_doc.pk, "signer_confirms": "on"}
            return web_post(physician, f"/journey/patients/{patient.external_id}/consent/", form)
        payload = {
            **data,
            "patient": str(patient.external_id),
            "document": str(consent_doc.external_id),
            "signer_confirms": True,
        }
        return api_post(channel, physician, "/journey/consents", payload)

    check_every_factor(
        sign, physician, channel, done=lambda: Consent.objects.filter(patient=patient).exists()
    )


def test_the_sign_forms_carry_the_code_field(
    physician: Any, prescreen: Prescreen, patient: Any, consent_doc: Any
) -> None:
    client = session_client(physician)
    for url in (
        f"/journey/prescreens/{prescreen.external_id}/decide/",
        f"/journey/patients/{patient.external_id}/consent/",
    ):
        page = client.get(url)
        assert page.status_code == 200, url
        assert 'name="otp"' in page.content.decode(), url
