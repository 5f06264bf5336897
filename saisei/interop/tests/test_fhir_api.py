"""The FHIR R4 read API: auth, scoping, errors as OperationOutcome, read, search and paging."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from saisei.core.services import token_create
from saisei.core.tests.factories import SiteFactory
from saisei.interop.fhir.registry import RESOURCE_TYPES
from saisei.interop.tests.validation import validate
from saisei.journey.models import CourseStep, TreatmentCourse
from saisei.journey.tests.factories import ConsentFactory, PatientFactory
from saisei.regulatory.tests.factories import PhysicianFactory, PlanFactory

BASE = "/fhir/R4"


class FhirClient:
    def __init__(self, user: Any | None) -> None:
        self.client = Client()
        self.headers: dict[str, str] = {}
        if user is not None:
            _, token = token_create(actor=None, user=user, label="fhir")
            self.headers = {"Authorization": f"Bearer {token}"}

    def get(self, path: str, **params: Any) -> Any:
        return self.client.get(f"{BASE}{path}", params, headers=self.headers)


def _course(org: Any, **kw: Any) -> Any:
    course = TreatmentCourse.objects.create(
        organisation=org,
        patient=PatientFactory(organisation=org),
        plan=PlanFactory(organisation=org),
        physician=PhysicianFactory(organisation=org),
        **kw,
    )
    for number, kind in enumerate(("harvest", "infusion", "infusion"), start=1):
        CourseStep.objects.create(
            organisation=org, course=course, kind=kind, number=number, status="planned"
        )
    return course


@pytest.fixture
def coordinator(org: Any, make_user: Any) -> Any:
    return make_user("coordinator", org)


@pytest.fixture
def fhir(coordinator: Any) -> FhirClient:
    return FhirClient(coordinator)


def _outcome(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/fhir+json")
    body = response.json()
    validate(body)
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"][0]["code"] == code
    assert body["issue"][0]["diagnostics"]
    return body


def test_metadata_lists_exactly_the_served_types(client: Any, db: Any) -> None:
    response = client.get(f"{BASE}/metadata")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/fhir+json")
    body = response.json()
    validate(body)
    assert body["fhirVersion"] == "4.0.1"
    types = {r["type"] for r in body["rest"][0]["resource"]}
    assert types == set(RESOURCE_TYPES)
    assert "Procedure" in types and "BiologicallyDerivedProduct" in types
    consent = next(r for r in body["rest"][0]["resource"] if r["type"] == "Consent")
    assert {p["name"] for p in consent["searchParam"]} == {"_id", "_lastUpdated", "patient"}


def test_no_token_is_401_operation_outcome(db: Any) -> None:
    response = FhirClient(None).get("/Patient")
    _outcome(response, 401, "login")
    assert response["WWW-Authenticate"] == "Bearer"


def test_bad_token_is_401(db: Any) -> None:
    client = FhirClient(None)
    client.headers = {"Authorization": "Bearer sk_nonsense"}
    _outcome(client.get("/Patient"), 401, "login")


def test_user_without_organisation_is_403(make_user: Any) -> None:
    _outcome(FhirClient(make_user("coordinator", None)).get("/Patient"), 403, "forbidden")


def test_role_that_cannot_read_patients_is_403(org: Any, make_user: Any) -> None:
    technician = make_user("cpc_technician", org)
    _outcome(FhirClient(technician).get("/Patient"), 403, "forbidden")


def test_unknown_type_and_unknown_id_are_404(fhir: FhirClient) -> None:
    _outcome(fhir.get("/Spaceship"), 404, "not-found")
    _outcome(fhir.get("/Patient/0b0e6b9e-0000-4000-8000-000000000000"), 404, "not-found")
    _outcome(fhir.get("/Patient/not-a-uuid"), 404, "not-found")
    _outcome(fhir.get("/Patient/a/b/c"), 404, "not-found")


def test_unsupported_parameter_and_bad_values_are_400(fhir: FhirClient) -> None:
    body = _outcome(fhir.get("/Patient", name="Lee"), 400, "invalid")
    assert "name" in body["issue"][0]["diagnostics"]
    _outcome(fhir.get("/Patient", _count="0"), 400, "invalid")
    _outcome(fhir.get("/Patient", _count="many"), 400, "invalid")
    _outcome(fhir.get("/Patient", _lastUpdated="yesterday"), 400, "invalid")
    _outcome(fhir.get("/Patient", _lastUpdated="ge2026-01-01T10:00:00"), 400, "invalid")
    # Patient has no ``patient`` parameter: refused, not silently ignored.
    _outcome(fhir.get("/Patient", patient="x"), 400, "invalid")


def test_writes_are_refused_with_405(fhir: FhirClient) -> None:
    response = fhir.client.post(f"{BASE}/Patient", {}, headers=fhir.headers)
    _outcome(response, 405, "not-supported")


def test_diagnostics_are_translated(fhir: FhirClient) -> None:
    fhir.headers["Accept-Language"] = "ja"
    body = _outcome(fhir.get("/Spaceship"), 404, "not-found")
    assert "Spaceship" in body["issue"][0]["diagnostics"]


def test_patient_read_is_valid_and_scoped(org: Any, other_org: Any, fhir: FhirClient) -> None:
    mine = PatientFactory(organisation=org, name_native="李明", phone="+65 1234")
    theirs = PatientFactory(organisation=other_org)
    response = fhir.get(f"/Patient/{mine.external_id}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/fhir+json")
    body = response.json()
    validate(body)
    assert body["id"] == str(mine.external_id)
    assert body["birthDate"] == "1950-03-04"
    assert body["gender"] == "female"
    assert body["managingOrganization"]["reference"] == f"Organization/{org.external_id}"
    mr = next(i for i in body["identifier"] if i.get("type"))
    assert mr["value"] == mine.patient_code
    # Another organisation's patient does not exist for this caller.
    _outcome(fhir.get(f"/Patient/{theirs.external_id}"), 404, "not-found")


def test_search_pages_with_links_and_total(org: Any, fhir: FhirClient) -> None:
    patients = [PatientFactory(organisation=org) for _ in range(5)]
    first = fhir.get("/Patient", _count="2").json()
    validate(first)
    assert first["type"] == "searchset"
    assert first["total"] == 5
    assert len(first["entry"]) == 2
    links = {link["relation"]: link["url"] for link in first["link"]}
    assert "previous" not in links
    assert links["next"].startswith("http://testserver/fhir/R4/Patient?")
    seen = [e["resource"]["id"] for e in first["entry"]]
    url = links["next"]
    while url:
        page = fhir.client.get(url.removeprefix("http://testserver"), headers=fhir.headers).json()
        seen += [e["resource"]["id"] for e in page["entry"]]
        url = {link["relation"]: link["url"] for link in page["link"]}.get("next")
    assert sorted(seen) == sorted(str(p.external_id) for p in patients)


def test_search_by_id_and_last_updated(org: Any, fhir: FhirClient) -> None:
    a, b, _c = (PatientFactory(organisation=org) for _ in range(3))
    body = fhir.get("/Patient", _id=f"{a.external_id},{b.external_id}").json()
    assert {e["resource"]["id"] for e in body["entry"]} == {str(a.external_id), str(b.external_id)}
    tomorrow = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    assert fhir.get("/Patient", _lastUpdated=f"ge{tomorrow}").json()["total"] == 0
    assert fhir.get("/Patient", _lastUpdated=f"lt{tomorrow}").json()["total"] == 3
    now = timezone.now().isoformat()
    assert fhir.get("/Patient", _lastUpdated=f"le{now}").json()["total"] == 3


def test_consent_search_by_patient_and_withdrawal(org: Any, fhir: FhirClient) -> None:
    given = ConsentFactory(organisation=org)
    withdrawn = ConsentFactory(
        organisation=org, withdrawn_at=timezone.now(), withdrawal_reason="changed mind"
    )
    body = fhir.get("/Consent", patient=f"Patient/{withdrawn.patient.external_id}").json()
    validate(body)
    assert body["total"] == 1
    resource = body["entry"][0]["resource"]
    assert resource["status"] == "inactive"
    assert "end" in resource["provision"]["period"]
    active = fhir.get(f"/Consent/{given.external_id}").json()
    validate(active)
    assert active["status"] == "active"
    assert active["patient"]["reference"] == f"Patient/{given.patient.external_id}"
    assert fhir.get("/Consent", patient="not-a-uuid").json()["total"] == 0


def test_practitioner_organization_location(org: Any, fhir: FhirClient) -> None:
    physician = PhysicianFactory(organisation=org, name_ja="山田")
    site = SiteFactory(organisation=org, name="Tokyo clinic", kind="medical_institution")
    for path in (
        f"/Practitioner/{physician.external_id}",
        f"/Organization/{org.external_id}",
        f"/Location/{site.external_id}",
    ):
        response = fhir.get(path)
        assert response.status_code == 200, path
        validate(response.json())


# token (with the user's organisation and roles, one query) + count + page, + one prefetch for
# a course's steps.
@pytest.mark.parametrize(
    ("resource_type", "queries"),
    [("Patient", 3), ("Consent", 3), ("Practitioner", 3), ("Location", 3), ("CarePlan", 4)],
)
def test_query_count_is_constant_per_page(
    org: Any,
    fhir: FhirClient,
    django_assert_num_queries: Any,
    resource_type: str,
    queries: int,
) -> None:
    fhir.get("/Organization")  # warm: token last-used stamp

    def make(n: int) -> None:
        for _ in range(n):
            if resource_type == "Patient":
                PatientFactory(organisation=org)
            elif resource_type == "Consent":
                ConsentFactory(organisation=org)
            elif resource_type == "CarePlan":
                _course(org)
            elif resource_type == "Practitioner":
                PhysicianFactory(organisation=org)
            else:
                SiteFactory(organisation=org)

    make(2)
    with django_assert_num_queries(queries):
        assert fhir.get(f"/{resource_type}").status_code == 200
    make(6)
    with django_assert_num_queries(queries):
        body = fhir.get(f"/{resource_type}").json()
    assert len(body["entry"]) >= 8


def test_everything_is_scoped_and_self_contained(
    org: Any, other_org: Any, fhir: FhirClient
) -> None:
    consent = ConsentFactory(organisation=org)
    theirs = PatientFactory(organisation=other_org)
    _outcome(fhir.get(f"/Patient/{theirs.external_id}/$everything"), 404, "not-found")
    response = fhir.get(f"/Patient/{consent.patient.external_id}/$everything")
    assert response.status_code == 200
    bundle = response.json()
    validate(bundle)
    types = sorted(e["resource"]["resourceType"] for e in bundle["entry"])
    # The coordinator reads the journey but not processing: no Procedure or product leaks in.
    assert types == ["Consent", "Organization", "Patient"]


def test_care_plan_is_the_course_with_its_steps(org: Any, fhir: FhirClient) -> None:
    course = _course(org, status="stopped", stopped_at=timezone.now(), stop_reason="family")
    body = fhir.get(f"/CarePlan/{course.external_id}").json()
    validate(body)
    assert body["status"] == "revoked"
    assert body["subject"]["reference"] == f"Patient/{course.patient.external_id}"
    assert body["author"]["reference"] == f"Practitioner/{course.physician.external_id}"
    assert [a["detail"]["status"] for a in body["activity"]] == ["not-started"] * 3
    assert "end" in body["period"]
    plan = fhir.get(f"/{body['supportingInfo'][0]['reference']}").json()
    validate(plan)
    assert plan["resourceType"] == "PlanDefinition"
    assert plan["status"] == "draft"  # not in force: never exported as active


# --- outcomes: Observation and QuestionnaireResponse; PractitionerRole --------------------


@pytest.fixture
def outcomes_world(org: Any, other_org: Any, make_user: Any) -> Any:
    from saisei.outcomes import services as outcome_services
    from saisei.outcomes.models import BiomarkerDefinition

    physician = make_user("physician", org)
    mine = PatientFactory(organisation=org)
    theirs = PatientFactory(organisation=other_org)
    today = timezone.localdate()
    diary = outcome_services.assessment_record(
        actor=physician,
        patient=mine,
        instrument="DIARY",
        values={
            "sleep": 2,
            "agitation": 1,
            "evening_confusion": 0,
            "recognition": 1,
            "engagement": 3,
        },
        assessed_on=today,
    )
    definition = BiomarkerDefinition.objects.create(
        organisation=org,
        code="PTAU217",
        name="Plasma p-tau217",
        unit="pg/mL",
        loinc="104663-0",
        reference_high=0.4,
    )
    result = outcome_services.biomarker_record(
        actor=physician, patient=mine, definition=definition, value=0.62, collected_on=today
    )
    their_diary = outcome_services.assessment_record(
        actor=make_user("physician", other_org),
        patient=theirs,
        instrument="DIARY",
        values={
            "sleep": 0,
            "agitation": 0,
            "evening_confusion": 0,
            "recognition": 0,
            "engagement": 0,
        },
        assessed_on=today,
    )
    return physician, mine, diary, result, their_diary


def test_assessment_and_biomarker_are_observations(outcomes_world: Any) -> None:
    physician, mine, diary, result, their_diary = outcomes_world
    fhir = FhirClient(physician)
    response = fhir.get("/Observation", patient=str(mine.external_id))
    assert response.status_code == 200
    bundle = response.json()
    validate(bundle)
    by_id = {e["resource"]["id"]: e["resource"] for e in bundle["entry"]}
    assert set(by_id) == {str(diary.external_id), str(result.external_id)}
    survey = by_id[str(diary.external_id)]
    validate(survey)
    assert survey["category"][0]["coding"][0]["code"] == "survey"
    assert survey["valueQuantity"]["value"] == 7
    assert survey["valueQuantity"]["code"] == "{score}"
    assert survey["subject"]["reference"] == f"Patient/{mine.external_id}"
    lab = by_id[str(result.external_id)]
    assert lab["category"][0]["coding"][0]["code"] == "laboratory"
    assert lab["code"]["coding"] == [{"system": "http://loinc.org", "code": "104663-0"}]
    assert lab["valueQuantity"] == {
        "value": 0.62,
        "unit": "pg/mL",
        "system": "http://unitsofmeasure.org",
        "code": "pg/mL",
    }
    assert lab["referenceRange"][0]["high"]["value"] == 0.4
    # Another organisation's diary is neither listed nor readable.
    _outcome(fhir.get(f"/Observation/{their_diary.external_id}"), 404, "not-found")
    assert fhir.get(f"/Observation/{diary.external_id}").status_code == 200


def test_unconfirmed_loinc_is_not_sent_as_a_code(outcomes_world: Any) -> None:
    physician, _mine, _diary, result, _theirs = outcomes_world
    result.definition.loinc_uncertain = True
    result.definition.save()
    body = FhirClient(physician).get(f"/Observation/{result.external_id}").json()
    validate(body)
    assert body["code"] == {"text": "Plasma p-tau217"}


def test_caregiver_diary_is_a_questionnaire_response_with_its_answers(
    outcomes_world: Any,
) -> None:
    physician, mine, diary, _result, their_diary = outcomes_world
    fhir = FhirClient(physician)
    bundle = fhir.get("/QuestionnaireResponse").json()
    validate(bundle)
    assert [e["resource"]["id"] for e in bundle["entry"]] == [str(diary.external_id)]
    response = bundle["entry"][0]["resource"]
    answers = {i["linkId"]: i["answer"][0]["valueInteger"] for i in response["item"]}
    assert answers == {
        "sleep": 2,
        "agitation": 1,
        "evening_confusion": 0,
        "recognition": 1,
        "engagement": 3,
    }
    assert response["subject"]["reference"] == f"Patient/{mine.external_id}"
    _outcome(fhir.get(f"/QuestionnaireResponse/{their_diary.external_id}"), 404, "not-found")


def test_outcomes_types_need_the_right_to_read_outcomes(org: Any, make_user: Any) -> None:
    from saisei.outcomes import permissions as outcome_permissions

    technician = make_user("cpc_technician", org)
    assert not outcome_permissions.can_view_outcomes(technician)
    _outcome(FhirClient(technician).get("/Observation"), 403, "forbidden")
    _outcome(FhirClient(technician).get("/QuestionnaireResponse"), 403, "forbidden")


def test_practitioner_role_links_physician_and_organisation(
    org: Any, other_org: Any, fhir: FhirClient
) -> None:
    mine = PhysicianFactory(organisation=org)
    PhysicianFactory(organisation=other_org)
    bundle = fhir.get("/PractitionerRole").json()
    validate(bundle)
    assert [e["resource"]["id"] for e in bundle["entry"]] == [str(mine.external_id)]
    role = bundle["entry"][0]["resource"]
    assert role["practitioner"]["reference"] == f"Practitioner/{mine.external_id}"
    assert role["organization"]["reference"] == f"Organization/{org.external_id}"
