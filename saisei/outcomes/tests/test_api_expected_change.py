"""POST /api/v1/outcomes/expected-change: the clinic's table first, the facts-sheet defaults otherwise."""

from __future__ import annotations

from typing import Any

import pytest

from saisei.outcomes.models import NaturalHistoryReference
from saisei.outcomes.services import references_seed_defaults

URL = "/outcomes/expected-change"


@pytest.fixture
def api(org: Any, make_user: Any, api_for: Any) -> Any:
    return api_for(make_user("physician", org))


def test_answers_expected_band_mcid_and_source_from_defaults(api: Any) -> None:
    r = api.post(URL, {"measure": "CDR-SB", "stage": "mild_ad", "baseline": 4.0, "months": 12})
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["expected"] == pytest.approx(5.5)
    assert body["lower"] < body["expected"] < body["upper"]
    assert body["mcid"] == 1.5
    assert "ADNI" in body["source"] and "facts" not in body["source"]


def test_uses_the_clinics_edited_reference_row(api: Any, org: Any) -> None:
    NaturalHistoryReference.objects.create(
        organisation=org,
        measure="CDR-SB",
        stage="mild_ad",
        annual_change=3.0,
        sd=1.0,
        source="Clinic audit of 2025 cohort",
    )
    body = api.post(
        URL, {"measure": "CDR-SB", "stage": "mild_ad", "baseline": 4.0, "months": 12}
    ).json()
    assert body["expected"] == pytest.approx(7.0)
    assert body["source"].startswith("Clinic audit of 2025 cohort")


def test_another_clinics_rows_do_not_leak(api: Any, other_org: Any) -> None:
    NaturalHistoryReference.objects.create(
        organisation=other_org,
        measure="CDR-SB",
        stage="mild_ad",
        annual_change=9.0,
        sd=1.0,
        source="other clinic",
    )
    body = api.post(
        URL, {"measure": "CDR-SB", "stage": "mild_ad", "baseline": 4.0, "months": 12}
    ).json()
    assert body["expected"] == pytest.approx(5.5)


def test_inactive_clinic_row_hides_the_default(api: Any, org: Any) -> None:
    NaturalHistoryReference.objects.create(
        organisation=org,
        measure="MMSE",
        stage="mild_ad",
        annual_change=-2,
        sd=2.8,
        source="x",
        is_active=False,
    )
    r = api.post(URL, {"measure": "MMSE", "stage": "mild_ad", "baseline": 22, "months": 6})
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "outcomes.no_reference"


def test_seeding_defaults_is_idempotent(org: Any, make_user: Any) -> None:
    admin = make_user("org_admin", org)
    first = references_seed_defaults(actor=admin, organisation=org)
    assert first > 0
    assert references_seed_defaults(actor=admin, organisation=org) == 0


@pytest.mark.parametrize(
    ("payload", "status", "code", "field"),
    [
        (
            {"measure": "XYZ", "stage": "mild_ad", "baseline": 4, "months": 12},
            422,
            "outcomes.unknown_measure",
            "measure",
        ),
        (
            {"measure": "CDR-SB", "stage": "nope", "baseline": 4, "months": 12},
            422,
            "outcomes.unknown_stage",
            "stage",
        ),
        (
            {"measure": "CDR-SB", "stage": "mild_ad", "baseline": 40, "months": 12},
            422,
            "outcomes.invalid_baseline",
            "baseline",
        ),
        (
            {"measure": "CDR-SB", "stage": "mild_ad", "baseline": 4, "months": -1},
            422,
            "outcomes.invalid_months",
            "months",
        ),
        (
            {"measure": "CDR-SB", "stage": "mild_ad", "baseline": "four", "months": 12},
            422,
            "invalid_input",
            "baseline",
        ),
        ({"stage": "mild_ad", "baseline": 4, "months": 12}, 422, "invalid_input", "measure"),
    ],
)
def test_bad_input_is_refused_in_the_error_shape(
    api: Any, payload: dict, status: int, code: str, field: str
) -> None:
    r = api.post(URL, payload)
    assert r.status_code == status, r.content
    err = r.json()["error"]
    assert err["code"] == code
    assert field in err["fields"]
    assert err["message"]


def test_malformed_json_is_400(api: Any) -> None:
    r = api.post(URL, raw="{not json")
    assert r.status_code == 400
    assert r.json()["error"]["code"] in ("malformed_json", "bad_request")


def test_requires_authentication(db: Any) -> None:
    from django.test import Client

    r = Client().post("/api/v1" + URL, "{}", content_type="application/json")
    assert r.status_code == 401
