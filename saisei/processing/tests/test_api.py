"""The processing API: lots, doses, release, custody, labels, deviations; error shape and scope."""

from __future__ import annotations

from typing import Any

import pytest

from saisei.core.tests.esign import signed
from saisei.core.tests.factories import SiteFactory
from saisei.processing import services, specs
from saisei.processing.models import NearMiss
from saisei.processing.tests.factories import (
    harvest,
    make_course,
    make_lot,
    make_patient,
    negative_markers,
    plan_world,
    record_all,
)

pytestmark = pytest.mark.django_db


def _qc_lot(tech: Any, patient: Any) -> Any:
    lot = make_lot(tech, patient)
    harvest(tech, lot)
    services.dose_divide(actor=tech, lot=lot, bags=[{"cell_count": 1e8, "volume_ml": 50}])
    services.lot_submit_qc(actor=tech, lot=lot)
    return lot


def test_donation_then_lot_through_the_api(tech: Any, patient: Any, api_for: Any) -> None:
    course = make_course(patient)
    world = plan_world(patient.organisation)
    api = api_for(tech)
    res = api.post(
        "/processing/donations",
        {
            "patient": str(patient.external_id),
            "course": str(course.external_id),
            "site": str(world.site.external_id),
            "physician": str(world.physician.external_id),
            "facility": str(world.facility.external_id),
            "cell_source": "autologous",
            "harvest_site": "abdomen",
            "tissue_weight_g": 22.5,
            "container": "50 mL tube",
            "infection_markers": negative_markers(),
        },
    )
    assert res.status_code == 201, res.content
    donation = res.json()
    assert donation["physician"] == str(world.physician.external_id)
    assert donation["cell_source"] == "autologous"
    assert len(donation["din"]) == 13 and donation["markers_missing"] == []
    assert donation["course"] == str(course.external_id)
    res = api.post(
        "/processing/lots",
        {"donation": donation["external_id"], "planned_doses": 3, "cells_per_dose": 1e8},
    )
    assert res.status_code == 201, res.content
    lot = res.json()
    assert lot["status"] == "in_culture" and lot["din"] == donation["din"]
    detail = api.get(f"/processing/lots/{lot['external_id']}").json()
    assert detail["readiness"]["status"] == "blocked"
    assert detail["forecast"]["likely"]


def test_bad_donation_input_is_a_422_with_fields(tech: Any, patient: Any, api_for: Any) -> None:
    api = api_for(tech)
    site = SiteFactory(organisation=tech.organisation)
    res = api.post(
        "/processing/donations",
        {
            "patient": str(patient.external_id),
            "site": str(site.external_id),
            "harvest_site": "abdomen",
            "tissue_weight_g": -3,
            "container": "tube",
        },
    )
    assert res.status_code == 422
    assert res.json()["error"]["code"] == "tissue_weight"
    res = api.post("/processing/donations", {"patient": "not-a-uuid"})
    assert res.status_code == 422
    assert res.json()["error"]["code"] == "invalid_input"


def test_other_organisations_lot_is_404(
    tech: Any, patient: Any, api_for: Any, other_org: Any, make_user: Any
) -> None:
    lot = make_lot(tech, patient)
    outsider = api_for(make_user("qa_manager", other_org))
    res = outsider.get(f"/processing/lots/{lot.external_id}")
    assert res.status_code == 404
    assert res.json()["error"]["code"] == "not_found"
    assert outsider.get("/processing/lots/nonsense").status_code == 404
    assert outsider.get("/processing/lots").json()["count"] == 0


def test_lot_list_query_count_is_constant(
    tech: Any, org: Any, api_for: Any, django_assert_max_num_queries: Any
) -> None:
    for _ in range(4):
        make_lot(tech, make_patient(org))
    api = api_for(tech)
    with django_assert_max_num_queries(8):
        res = api.get("/processing/lots", limit=50)
    assert res.json()["count"] == 4


def test_dose_list_query_count_is_constant(
    tech: Any, patient: Any, api_for: Any, django_assert_max_num_queries: Any
) -> None:
    for _ in range(3):
        lot = make_lot(tech, patient)
        harvest(tech, lot)
        services.dose_divide(actor=tech, lot=lot, bags=[{"cell_count": 1e8, "volume_ml": 50}] * 2)
    api = api_for(tech)
    with django_assert_max_num_queries(8):
        res = api.get("/processing/doses")
    assert res.json()["count"] == 6


def test_release_through_the_api_and_refusal_shape(
    tech: Any, qa: Any, patient: Any, api_for: Any
) -> None:
    lot = _qc_lot(tech, patient)
    record_all(tech, lot, skip=(specs.MYCOPLASMA,))
    api = api_for(qa)
    body = {**signed(qa), "meaning": "Released for clinical use"}
    res = api.post(f"/processing/lots/{lot.external_id}/release", body)
    assert res.status_code == 409
    assert res.json()["error"]["code"] == "release_refused"
    services.qc_result_record(actor=tech, lot=lot, test_code=specs.MYCOPLASMA, value="negative")
    assert (
        api_for(tech).post(f"/processing/lots/{lot.external_id}/release", body).status_code == 403
    )
    res = api.post(f"/processing/lots/{lot.external_id}/release", {**body, "password": "x"})
    assert res.status_code == 422
    assert "password" in res.json()["error"]["fields"]
    res = api.post(f"/processing/lots/{lot.external_id}/release", {**body, **signed(qa)})
    assert res.status_code == 201, res.content
    assert res.json()["signed_by"] == qa.username


def test_qc_result_with_unknown_test_is_422(tech: Any, patient: Any, api_for: Any) -> None:
    lot = _qc_lot(tech, patient)
    res = api_for(tech).post(
        f"/processing/lots/{lot.external_id}/qc-results", {"test_code": "karma", "value": 3}
    )
    assert res.status_code == 422
    assert res.json()["error"]["code"] == "unknown_test"
    res = api_for(tech).post(
        f"/processing/lots/{lot.external_id}/qc-results",
        {"test_code": specs.VIABILITY, "value": "lots"},
    )
    assert res.status_code == 422


def test_custody_mismatch_via_api_is_409_and_recorded(
    tech: Any, qa: Any, patient: Any, org: Any, api_for: Any
) -> None:
    lot = _qc_lot(tech, patient)
    record_all(tech, lot)
    services.lot_release(actor=qa, lot=lot, **signed(qa), meaning="release")
    dose = lot.doses.get()
    other = make_lot(tech, make_patient(org)).donation
    api = api_for(tech)
    payload = {
        "stage": "storage",
        "dose": str(dose.external_id),
        "from_party": "CPC",
        "to_party": "LN2-1",
        "place": "CPC",
        "scan": f"={other.din}{other.din_flags}",
    }
    res = api.post("/processing/custody", payload)
    assert res.status_code == 409
    assert res.json()["error"]["code"] == "identity_mismatch"
    assert NearMiss.objects.count() == 1
    payload["scan"] = f"={dose.din}{lot.donation.din_flags}=<{dose.product_code}"
    res = api.post("/processing/custody", payload)
    assert res.status_code == 201, res.content
    chain = api.get(f"/processing/doses/{dose.external_id}/custody").json()
    assert chain["unbroken"] is True and len(chain["events"]) == 1
    found = api.post("/processing/doses/lookup", {"scan": payload["scan"]})
    assert found.json()["external_id"] == str(dose.external_id)
    assert api.post("/processing/doses/lookup", {"scan": "=X"}).status_code == 404
    misses = api.get("/processing/near-misses").json()
    assert misses["count"] == 1


def test_labels_endpoint_returns_a_pdf_and_reprint_needs_reason(
    tech: Any, patient: Any, api_for: Any
) -> None:
    lot = _qc_lot(tech, patient)
    dose = lot.doses.get()
    api = api_for(tech)
    res = api.post(f"/processing/doses/{dose.external_id}/labels", {"count": 2})
    assert res.status_code == 200
    assert res["Content-Type"] == "application/pdf"
    assert res.content.startswith(b"%PDF")
    res = api.post(f"/processing/doses/{dose.external_id}/labels", {"count": 1})
    assert res.status_code == 422
    assert res.json()["error"]["code"] == "reprint_reason_required"


def test_deviation_lifecycle_via_api(tech: Any, qa: Any, api_for: Any) -> None:
    api = api_for(tech)
    res = api.post(
        "/processing/deviations", {"title": "Incubator door left open", "severity": "minor"}
    )
    assert res.status_code == 201
    ext = res.json()["external_id"]
    assert api.get("/processing/deviations", open=True).json()["count"] == 1
    res = api.patch(f"/processing/deviations/{ext}", {"status": "closed"})
    assert res.status_code == 403  # only QA closes a deviation
    assert res.json()["error"]["code"] == "forbidden"  # unified role refusal (issue 11)
    res = api_for(qa).patch(
        f"/processing/deviations/{ext}",
        {
            "investigation": "Door alarm muted.",
            "impact": "None.",
            "capa": "Alarm fixed.",
            "status": "closed",
        },
    )
    assert res.status_code == 200 and res.json()["status"] == "closed"


def test_committee_reviewer_reads_but_cannot_write(
    tech: Any, patient: Any, api_for: Any, make_user: Any, org: Any
) -> None:
    lot = make_lot(tech, patient)
    reviewer = api_for(make_user("committee_reviewer", org))
    assert reviewer.get(f"/processing/lots/{lot.external_id}").status_code == 200
    res = reviewer.post(f"/processing/lots/{lot.external_id}/steps", {"kind": "feed"})
    assert res.status_code == 403
    coordinator = api_for(make_user("coordinator", org))
    assert coordinator.get(f"/processing/lots/{lot.external_id}").status_code == 404


def test_deviation_and_near_miss_lists_keep_a_constant_query_count(
    tech: Any, org: Any, api_for: Any, django_assert_max_num_queries: Any
) -> None:
    for i in range(4):
        lot = make_lot(tech, make_patient(org))
        services.deviation_open(actor=tech, title=f"Deviation {i}", source="other", lot=lot)
        services.near_miss_record(
            actor=tech,
            organisation=org,
            stage="storage",
            expected="a",
            scanned="b",
            reason="din_mismatch",
        )
    api = api_for(tech)
    with django_assert_max_num_queries(8):
        assert api.get("/processing/deviations").json()["count"] == 4
    with django_assert_max_num_queries(8):
        assert api.get("/processing/near-misses").json()["count"] == 4
