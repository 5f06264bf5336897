"""Provenance from the audit ledger, Group per plan, Saisei CodeSystems and ``_include``."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from saisei.core.audit import audit_record
from saisei.interop.fhir.common import saisei_system
from saisei.interop.tests.test_fhir_api import BASE, FhirClient, _outcome
from saisei.interop.tests.validation import validate
from saisei.journey.models import TreatmentCourse
from saisei.journey.tests.factories import ConsentFactory, PatientFactory
from saisei.regulatory.tests.factories import PhysicianFactory, PlanFactory


@pytest.fixture
def admin(org: Any, make_user: Any) -> Any:
    return make_user("org_admin", org)


@pytest.fixture
def world(org: Any, other_org: Any, admin: Any) -> dict[str, Any]:
    physician = PhysicianFactory(organisation=org)
    consent = ConsentFactory(organisation=org)
    patient = consent.patient
    other_patient = PatientFactory(organisation=org)
    theirs = PatientFactory(organisation=other_org)
    audit_record(actor=admin, organisation=org, action="patient.enrol", subject=patient)
    audit_record(actor=physician.user, organisation=org, action="consent.give", subject=consent)
    audit_record(actor=admin, organisation=org, action="patient.enrol", subject=other_patient)
    audit_record(actor=None, organisation=other_org, action="patient.enrol", subject=theirs)
    # An entry about a record the FHIR API does not serve never becomes a Provenance.
    audit_record(actor=admin, organisation=org, action="org.edit", subject=org)
    plan = PlanFactory(organisation=org)
    TreatmentCourse.objects.create(
        organisation=org, patient=patient, plan=plan, physician=physician
    )
    return {
        "patient": patient,
        "consent": consent,
        "physician": physician,
        "other_patient": other_patient,
        "theirs": theirs,
        "plan": plan,
    }


def _bundle(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.content[:300]
    body = response.json()
    validate(body)
    for entry in body.get("entry", []):
        validate(entry["resource"])
    return body


def test_provenance_says_who_recorded_what(admin: Any, world: dict[str, Any]) -> None:
    fhir = FhirClient(admin)
    body = _bundle(fhir.get("/Provenance"))
    assert body["total"] == 3  # the other organisation's and the unserved entries are not there
    by_target = {e["resource"]["target"][0]["reference"]: e["resource"] for e in body["entry"]}
    consent = by_target[f"Consent/{world['consent'].external_id}"]
    assert consent["activity"]["coding"] == [
        {"system": saisei_system("ledger-action"), "code": "consent.give"}
    ]
    # The physician who recorded it is a Practitioner; another user is named by the ledger label.
    assert consent["agent"][0]["who"]["reference"] == (
        f"Practitioner/{world['physician'].external_id}"
    )
    enrol = by_target[f"Patient/{world['patient'].external_id}"]
    assert enrol["agent"][0]["who"] == {"display": admin.username}
    # Searchable by patient (its own entries and those of its records) and by target.
    patient = world["patient"].external_id
    by_patient = _bundle(fhir.get("/Provenance", patient=str(patient)))
    assert {e["resource"]["target"][0]["reference"] for e in by_patient["entry"]} == {
        f"Patient/{patient}",
        f"Consent/{world['consent'].external_id}",
    }
    one = _bundle(fhir.get("/Provenance", target=f"Consent/{world['consent'].external_id}"))
    assert one["total"] == 1
    assert _bundle(fhir.get("/Provenance", target=f"Procedure/{patient}"))["total"] == 0
    # Read by id; ids of another organisation or malformed ids are 404.
    read = fhir.get(f"/Provenance/{consent['id']}")
    assert read.status_code == 200
    assert read.json() == consent
    _outcome(fhir.get(f"/Provenance/{consent['id'].split('.')[0]}.999"), 404, "not-found")
    _outcome(fhir.get("/Provenance/not-an-id"), 404, "not-found")
    # The Provenance of a patient is part of $everything.
    everything = _bundle(fhir.get(f"/Patient/{patient}/$everything"))
    kinds = [e["resource"]["resourceType"] for e in everything["entry"]]
    assert kinds.count("Provenance") == 2
    assert "CodeSystem" in kinds


def test_provenance_needs_the_audit_role_and_the_target_role(
    org: Any, make_user: Any, world: dict[str, Any]
) -> None:
    # A coordinator reads patients but not the audit ledger: Provenance is refused.
    _outcome(FhirClient(make_user("coordinator", org)).get("/Provenance"), 403, "forbidden")
    # A QA manager reads the ledger and processing, not the journey: no patient entry leaks.
    qa = FhirClient(make_user("qa_manager", org))
    response = qa.get("/Provenance")
    assert response.status_code == 200
    assert response.json()["total"] == 0
    patient = world["patient"].external_id
    assert qa.get("/Provenance", patient=str(patient)).json()["total"] == 0


def test_group_per_plan_lists_its_patients(admin: Any, world: dict[str, Any]) -> None:
    fhir = FhirClient(admin)
    group = fhir.get(f"/Group/{world['plan'].external_id}")
    assert group.status_code == 200
    body = group.json()
    validate(body)
    assert body["quantity"] == 1
    assert body["member"][0]["entity"]["reference"] == f"Patient/{world['patient'].external_id}"
    included = _bundle(fhir.get("/Group", _include="Group:member"))
    modes = {e["resource"]["resourceType"]: e["search"]["mode"] for e in included["entry"]}
    assert modes["Patient"] == "include"


def test_code_systems_are_served_and_complete(
    admin: Any, org: Any, make_user: Any, world: dict[str, Any]
) -> None:
    fhir = FhirClient(admin)
    body = _bundle(fhir.get("/CodeSystem"))
    urls = {e["resource"]["id"]: e["resource"]["url"] for e in body["entry"]}
    assert urls == {"role": saisei_system("role"), "ledger-action": saisei_system("ledger-action")}
    actions = fhir.get("/CodeSystem/ledger-action").json()
    validate(actions)
    assert {c["code"] for c in actions["concept"]} >= {"patient.enrol", "consent.give", "org.edit"}
    roles = fhir.get("/CodeSystem/role").json()
    assert "physician" in {c["code"] for c in roles["concept"]}
    _outcome(fhir.get("/CodeSystem/nothing"), 404, "not-found")
    # Without the audit role, only the roles CodeSystem is readable.
    coordinator = FhirClient(make_user("coordinator", org))
    ids = [e["resource"]["id"] for e in _bundle(coordinator.get("/CodeSystem"))["entry"]]
    assert ids == ["role"]


def test_include_costs_a_constant_number_of_queries(
    admin: Any, org: Any, world: dict[str, Any]
) -> None:
    fhir = FhirClient(admin)
    body = _bundle(fhir.get("/Consent", _include="Consent:patient"))
    included = [e for e in body["entry"] if e["search"]["mode"] == "include"]
    assert [e["resource"]["id"] for e in included] == [str(world["patient"].external_id)]
    with CaptureQueriesContext(connection) as few:
        fhir.get("/Provenance", _include=["Provenance:target", "Provenance:agent"])
    for _ in range(5):
        patient = PatientFactory(organisation=org)
        audit_record(actor=admin, organisation=org, action="patient.enrol", subject=patient)
    with CaptureQueriesContext(connection) as many:
        body = _bundle(fhir.get("/Provenance", _include=["Provenance:target", "Provenance:agent"]))
    assert len(many.captured_queries) <= len(few.captured_queries)
    targets = {
        e["resource"]["target"][0]["reference"]
        for e in body["entry"]
        if e["search"]["mode"] == "match"
    }
    inside = {f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in body["entry"]}
    assert targets <= inside
    # An include the server does not support is refused, never ignored.
    _outcome(fhir.get("/Consent", _include="Consent:actor"), 400, "invalid")
    _outcome(fhir.get("/CodeSystem", _include="CodeSystem:x"), 400, "invalid")


def test_capability_statement_lists_the_new_types(client: Any, db: Any) -> None:
    body = client.get(f"{BASE}/metadata").json()
    validate(body)
    resources = {r["type"]: r for r in body["rest"][0]["resource"]}
    assert {"Provenance", "Group", "CodeSystem"} <= set(resources)
    params = {p["name"] for p in resources["Provenance"]["searchParam"]}
    assert params == {"_id", "_lastUpdated", "patient", "target"}
    assert "Procedure:patient" in resources["Procedure"]["searchInclude"]
    assert [o["name"] for o in resources["Group"]["operation"]] == ["export"]
    assert body["rest"][0]["operation"][0]["name"] == "export"
