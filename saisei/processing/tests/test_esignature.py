"""Release, conditional release and rejection are e-signatures: every factor, on every channel.

A QA manager enrolled in two-factor authentication signs with password and a current code; a
missing, wrong or already used code is one and the same refusal on the API (token or session)
and on the web form, and the lot is left as it was.
"""

from __future__ import annotations

from typing import Any

import pytest

from saisei.core.models import AuditEntry
from saisei.core.tests.esign import CHANNELS, api_post, check_every_factor, enrol, signed, web_post
from saisei.core.tests.factories import TEST_PASSWORD
from saisei.processing import services, specs
from saisei.processing.models import Lot, Release
from saisei.processing.tests.factories import harvest, make_lot, record_all

pytestmark = pytest.mark.django_db
MEANING = "I have reviewed the batch record and QC results and release this lot."


def _qc_lot(tech: Any, patient: Any, **kw: Any) -> Lot:
    lot = make_lot(tech, patient, **kw)
    harvest(tech, lot)
    services.dose_divide(actor=tech, lot=lot, bags=[{"cell_count": 1e8, "volume_ml": 50}])
    return services.lot_submit_qc(actor=tech, lot=lot)


def _release_signer(lot: Lot, qa: Any, extra: dict[str, Any]) -> Any:
    def sign(channel: str, otp: str | None) -> Any:
        data = {"password": TEST_PASSWORD, "meaning": MEANING, **extra}
        if otp is not None:
            data["otp"] = otp
        if channel == "web":
            form = {**data, "conditional": "on"} if extra.get("conditional") else data
            return web_post(qa, f"/processing/lots/{lot.external_id}/release/", form)
        return api_post(channel, qa, f"/processing/lots/{lot.external_id}/release", data)

    return sign


@pytest.mark.parametrize("channel", CHANNELS)
def test_release_needs_password_and_a_current_code(
    channel: str, tech: Any, qa: Any, patient: Any
) -> None:
    enrol(qa)
    lot = _qc_lot(tech, patient)
    record_all(tech, lot)
    check_every_factor(
        _release_signer(lot, qa, {}),
        qa,
        channel,
        done=lambda: Release.objects.filter(lot=lot, kind=Release.Kind.FULL).exists(),
    )


@pytest.mark.parametrize("channel", CHANNELS)
def test_unenrolled_qa_cannot_release(channel: str, tech: Any, qa: Any, patient: Any) -> None:
    """QA must sign with two factors: not having enrolled yet does not make the password enough."""
    assert qa.two_factor_required and not qa.two_factor_enabled
    lot = _qc_lot(tech, patient)
    record_all(tech, lot)
    out = _release_signer(lot, qa, {})(channel, None)
    if channel == "web":
        assert out.status == 400
        assert "Set up two-factor authentication before signing." in out.body
    else:
        assert out.status == 422, out.body
        assert out.error is not None and out.error["code"] == "signature_two_factor_not_enrolled"
        assert list(out.error["fields"]) == ["otp"]
    assert not Release.objects.filter(lot=lot).exists()


@pytest.mark.parametrize("channel", CHANNELS)
def test_conditional_release_needs_password_and_a_current_code(
    channel: str, tech: Any, qa: Any, patient: Any
) -> None:
    enrol(qa)
    lot = _qc_lot(tech, patient, allow_conditional_release=True)
    record_all(tech, lot, pending=(specs.STERILITY,))
    extra = {"conditional": True, "justification": "Fresh product; infusion before day 14."}
    check_every_factor(
        _release_signer(lot, qa, extra),
        qa,
        channel,
        done=lambda: Release.objects.filter(lot=lot, kind=Release.Kind.CONDITIONAL).exists(),
    )


@pytest.mark.parametrize("channel", CHANNELS)
def test_rejection_needs_password_and_a_current_code(
    channel: str, tech: Any, qa: Any, patient: Any
) -> None:
    enrol(qa)
    lot = _qc_lot(tech, patient)

    def sign(channel: str, otp: str | None) -> Any:
        data = {"reason": "Mycoplasma positive", "password": TEST_PASSWORD}
        if otp is not None:
            data["otp"] = otp
        if channel == "web":
            return web_post(qa, f"/processing/lots/{lot.external_id}/reject/", data)
        return api_post(channel, qa, f"/processing/lots/{lot.external_id}/reject", data)

    def rejected() -> bool:
        lot.refresh_from_db()
        return lot.status == Lot.Status.REJECTED

    check_every_factor(sign, qa, channel, done=rejected)
    entry = AuditEntry.objects.filter(action="lot.reject").latest("pk")
    assert entry.changes["signature"]["user"] == qa.username
    assert lot.doses.filter(status="recalled").count() == 1


def test_rejection_refuses_a_wrong_password_before_anything_changes(
    tech: Any, qa: Any, patient: Any
) -> None:
    lot = _qc_lot(tech, patient)
    out = api_post(
        "token", qa, f"/processing/lots/{lot.external_id}/reject", {"reason": "x", "password": "no"}
    )
    assert out.status == 422 and out.error["code"] == "signature_password_invalid"
    lot.refresh_from_db()
    assert lot.status == Lot.Status.QC_PENDING


def test_rejection_page_is_for_qa_only(tech: Any, qa: Any, patient: Any, web_for: Any) -> None:
    lot = _qc_lot(tech, patient)
    url = f"/processing/lots/{lot.external_id}/reject/"
    assert web_for(qa).get(url).status_code == 200
    assert web_for(tech).get(url).status_code == 403
    assert 'name="otp"' in web_for(qa).get(url).content.decode()


def test_a_signer_not_enrolled_signs_with_the_password(tech: Any, qa: Any, patient: Any) -> None:
    """Factors are the ones the signer is enrolled in; the code is not asked of others."""
    lot = _qc_lot(tech, patient)
    record_all(tech, lot)
    services.lot_release(actor=qa, lot=lot, **signed(qa), meaning=MEANING)
    assert Release.objects.filter(lot=lot).exists()
