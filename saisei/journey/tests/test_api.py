"""Journey API: the itinerary preview contract, error shape, scoping and query counts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from saisei.journey import services
from saisei.journey.tests.conftest import PASSWORD
from saisei.journey.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

PREVIEW = {
    "earliest_arrival": "2027-03-01",
    "latest_return": "2027-08-31",
    "culture_days": 35,
    "infusions": 3,
    "interval_days": 28,
    "max_stay_days": 90,
}


def test_itinerary_preview_answers_trips_and_explanations(api_for: Any, coordinator: Any) -> None:
    res = api_for(coordinator).post("/journey/itinerary-preview", PREVIEW)
    assert res.status_code == 200, res.content
    body = res.json()
    visits = [v for trip in body["trips"] for v in trip["visits"]]
    assert {"arrive", "depart", "visits"} <= set(body["trips"][0])
    assert [v["kind"] for v in visits].count("infusion") == 3
    assert {"date", "kind"} <= set(visits[0])
    assert body["explanations"] and all(e["message"] for e in body["explanations"])


def test_itinerary_preview_422_names_the_constraint(api_for: Any, coordinator: Any) -> None:
    res = api_for(coordinator).post(
        "/journey/itinerary-preview", {**PREVIEW, "latest_return": "2027-03-20"}
    )
    assert res.status_code == 422
    err = res.json()["error"]
    assert err["code"].startswith("itinerary.")
    assert err["fields"], "the constraint that cannot be met is named"
    assert err["message"]


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"earliest_arrival": "0001-01-01"}, "itinerary.date_out_of_range", "earliest_arrival"),
        ({"latest_return": "9999-12-31"}, "itinerary.date_out_of_range", "latest_return"),
        ({"latest_return": "2031-01-01"}, "itinerary.horizon_too_long", "latest_return"),
    ],
)
def test_itinerary_preview_refuses_an_absurd_horizon_at_once(
    api_for: Any, coordinator: Any, change: dict[str, str], code: str, field: str
) -> None:
    # Found by the API fuzz: years 1 to 9999 made the planner walk millions of days.
    res = api_for(coordinator).post("/journey/itinerary-preview", {**PREVIEW, **change})
    assert res.status_code == 422
    err = res.json()["error"]
    assert err["code"] == code
    assert field in err["fields"]


def test_itinerary_preview_visa_limit_forces_second_trip(api_for: Any, coordinator: Any) -> None:
    res = api_for(coordinator).post("/journey/itinerary-preview", {**PREVIEW, "max_stay_days": 30})
    assert res.status_code == 200, res.content
    assert len(res.json()["trips"]) >= 2


def test_itinerary_preview_bad_input_is_422_not_500(api_for: Any, coordinator: Any) -> None:
    client = api_for(coordinator)
    assert client.post("/journey/itinerary-preview", {**PREVIEW, "infusions": 0}).status_code == 422
    assert (
        client.post(
            "/journey/itinerary-preview", {**PREVIEW, "earliest_arrival": "soon"}
        ).status_code
        == 422
    )
    assert client.post("/journey/itinerary-preview", raw="{nope").status_code == 400


def test_itinerary_preview_unknown_institution_404(api_for: Any, coordinator: Any) -> None:
    res = api_for(coordinator).post(
        "/journey/itinerary-preview",
        {**PREVIEW, "institution": "00000000-0000-0000-0000-000000000000"},
    )
    assert res.status_code == 404


def test_other_org_patient_is_404(
    api_for: Any, other_org: Any, make_user: Any, patient: Any
) -> None:
    client = api_for(make_user("coordinator", other_org))
    assert client.get(f"/journey/patients/{patient.external_id}").status_code == 404
    assert client.get("/journey/patients").json()["count"] == 0


def test_patient_list_query_count_is_constant(
    api_for: Any, coordinator: Any, org: Any, django_assert_max_num_queries: Any
) -> None:
    for _ in range(15):
        PatientFactory(organisation=org)
    client = api_for(coordinator)
    with django_assert_max_num_queries(8):
        res = client.get("/journey/patients", limit=50)
    assert res.json()["count"] == 15


def test_enrol_patient_via_api(api_for: Any, coordinator: Any) -> None:
    res = api_for(coordinator).post(
        "/journey/patients",
        {
            "family_name": "Chen",
            "given_name": "Li",
            "date_of_birth": "1950-01-01",
            "sex": "female",
            "language": "zh-hans",
            "proxy": {"name": "Wei Chen", "relationship": "daughter"},
        },
    )
    assert res.status_code == 201, res.content
    assert res.json()["proxies"][0]["name"] == "Wei Chen"


def _quote_payload(patient: Any, plan: Any, price_list: Any) -> dict[str, Any]:
    return {
        "patient": str(patient.external_id),
        "plan": str(plan.external_id),
        "price_list": str(price_list.external_id),
        "infusions": 4,
        "follow_ups": 3,
        "interpreter_days": 5,
        "commission_rate": "0.10",
        "fx_jpy_per_unit": "150",
        "fx_date": timezone.localdate().isoformat(),
        "fx_source": "test",
    }


def test_quote_api_issue_refused_when_plan_not_in_force(
    api_for: Any, coordinator: Any, patient: Any, plan: Any, price_list: Any
) -> None:
    client = api_for(coordinator)
    res = client.post("/journey/quotes", _quote_payload(patient, plan, price_list))
    assert res.status_code == 201, res.content
    body = res.json()
    assert any(line["kind"] == "commission" for line in body["lines"])
    assert body["refund_schedule"]
    plan.status = "discontinued"
    plan.save()
    res = client.post(f"/journey/quotes/{body['external_id']}/issue")
    assert res.status_code == 409
    assert res.json()["error"]["code"] == "plan_not_in_force"


def test_quote_pdf_in_japanese_and_english(
    api_for: Any, coordinator: Any, patient: Any, plan: Any, price_list: Any
) -> None:
    client = api_for(coordinator)
    qid = client.post("/journey/quotes", _quote_payload(patient, plan, price_list)).json()[
        "external_id"
    ]
    assert client.post(f"/journey/quotes/{qid}/issue").status_code == 200
    again = client.post(f"/journey/quotes/{qid}/issue")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "invalid_transition"
    for lang in ("ja", "en"):
        res = client.get(f"/journey/quotes/{qid}/pdf", language=lang)
        assert res.status_code == 200
        assert res["Content-Type"] == "application/pdf"
        assert res.content.startswith(b"%PDF")


def test_consent_and_course_api(
    api_for: Any,
    coordinator: Any,
    physician: Any,
    doctor: Any,
    facility: Any,
    patient: Any,
    package: Any,
    eligible: Any,
    consent_doc: Any,
) -> None:
    doc_client = api_for(physician)
    res = doc_client.post(
        "/journey/consents",
        {
            "patient": str(patient.external_id),
            "document": str(consent_doc.external_id),
            "given_by": "patient",
            "signer_name": "Ming Lee",
            "signer_confirms": True,
            "password": PASSWORD,
        },
    )
    assert res.status_code == 201, res.content
    client = api_for(coordinator)
    res = client.post(
        "/journey/courses",
        {
            "patient": str(patient.external_id),
            "package": str(package.external_id),
            "harvest_date": (timezone.localdate() + dt.timedelta(days=14)).isoformat(),
            "physician": str(doctor.external_id),
            "facility": str(facility.external_id),
        },
    )
    assert res.status_code == 201, res.content
    cid = res.json()["external_id"]
    res = client.post(f"/journey/courses/{cid}/schedule")
    assert res.status_code == 200
    assert res.json()["status"] == "scheduled", res.json()["steps"]
    services.consent_withdraw(
        actor=physician, consent=patient.consents.get(), reason="The family changed its mind."
    )
    res = client.post(f"/journey/courses/{cid}/schedule")
    assert res.status_code == 409
    assert res.json()["error"]["code"] == "invalid_transition"
    assert client.get("/journey/courses", patient=str(patient.external_id)).json()["count"] == 1


def test_a_course_without_a_facility_or_physician_is_not_scheduled_by_the_api(
    api_for: Any,
    coordinator: Any,
    physician: Any,
    patient: Any,
    package: Any,
    eligible: Any,
    consent_doc: Any,
) -> None:
    """The gate never takes the plan's own facility or the scheduler as the performer."""
    from saisei.journey import services

    services.consent_give(
        actor=physician,
        patient=patient,
        document=consent_doc,
        given_by="patient",
        signer_name="Ming Lee",
        signer_confirms=True,
        password=PASSWORD,
    )
    client = api_for(coordinator)
    res = client.post(
        "/journey/courses",
        {
            "patient": str(patient.external_id),
            "package": str(package.external_id),
            "harvest_date": (timezone.localdate() + dt.timedelta(days=14)).isoformat(),
        },
    )
    assert res.status_code == 201, res.content
    res = client.post(f"/journey/courses/{res.json()['external_id']}/schedule")
    out = res.json()
    assert out["status"] == "planned"
    harvest = next(s for s in out["steps"] if s["kind"] == "harvest")
    assert harvest["status"] == "blocked"
    rules = {f["rule"] for f in harvest["gate_result"]["findings"]}
    assert {"GATE-PHYSICIAN-UNKNOWN", "GATE-CPC-UNKNOWN"} <= rules


def test_only_a_physician_records_the_coded_diagnosis_through_the_api(
    api_for: Any, coordinator: Any, physician: Any, patient: Any
) -> None:
    url = f"/journey/patients/{patient.external_id}/diagnosis"
    res = api_for(coordinator).post(url, {"code": "G20"})
    assert res.status_code == 403
    res = api_for(physician).post(url, {"code": "G20"})
    assert res.status_code == 422  # changing a recorded diagnosis needs a reason
    assert res.json()["error"]["fields"]["reason"]
    res = api_for(physician).post(url, {"code": "G20", "reason": "neurologist's letter"})
    assert res.status_code == 200, res.content
    assert res.json()["diagnosis_code"] == "parkinsons_disease"
    assert res.json()["diagnosis_source"] == "physician"
    res = api_for(physician).post(url, {"code": "not a disease", "reason": "x"})
    assert res.status_code == 422 and res.json()["error"]["code"] == "diagnosis_unknown"


def test_consent_wrong_password_is_422(
    api_for: Any, physician: Any, patient: Any, consent_doc: Any
) -> None:
    res = api_for(physician).post(
        "/journey/consents",
        {
            "patient": str(patient.external_id),
            "document": str(consent_doc.external_id),
            "given_by": "patient",
            "signer_name": "Ming Lee",
            "signer_confirms": True,
            "password": "nope",
        },
    )
    assert res.status_code == 422
    assert res.json()["error"]["code"] == "signature_password_invalid"


def test_inquiry_queue_api(
    api_for: Any, coordinator: Any, org: Any, other_org: Any, make_user: Any
) -> None:
    from saisei.journey.tests.test_services import submit

    inquiry = submit(org)
    client = api_for(coordinator)
    page = client.get("/journey/inquiries", status="new").json()
    assert page["count"] == 1 and page["items"][0]["reference"] == inquiry.reference
    res = client.post(f"/journey/inquiries/{inquiry.external_id}/status", {"status": "in_review"})
    assert res.status_code == 200 and res.json()["status"] == "in_review"
    res = client.post(f"/journey/inquiries/{inquiry.external_id}/status", {"status": "enrolled"})
    assert res.status_code == 409
    assert res.json()["error"]["code"] == "invalid_transition"
    res = client.post(f"/journey/inquiries/{inquiry.external_id}/status", {"status": "nonsense"})
    assert res.status_code == 409
    assert res.json()["error"]["code"] == "invalid_transition"
    other = api_for(make_user("coordinator", other_org))
    assert other.get(f"/journey/inquiries/{inquiry.external_id}").status_code == 404
    _ = Decimal
    _ = services


def test_inquiry_list_query_count_is_constant(
    api_for: Any, coordinator: Any, org: Any, django_assert_max_num_queries: Any
) -> None:
    from saisei.journey.tests.test_services import INQUIRY, submit

    for n in range(12):  # distinct contacts: one e-mail address is rate-limited per day
        submit(org, data={**INQUIRY, "contact_email": f"family{n}@example.test"})
    client = api_for(coordinator)
    with django_assert_max_num_queries(8):
        res = client.get("/journey/inquiries", limit=50)
    assert res.json()["count"] == 12


def test_reviewer_reads_but_cannot_write(
    api_for: Any, org: Any, make_user: Any, patient: Any
) -> None:
    client = api_for(make_user("committee_reviewer", org))
    assert client.get(f"/journey/patients/{patient.external_id}").status_code == 200
    res = client.post(
        "/journey/patients",
        {
            "family_name": "X",
            "given_name": "Y",
            "date_of_birth": "1950-01-01",
            "sex": "male",
            "language": "en",
        },
    )
    assert res.status_code == 403
