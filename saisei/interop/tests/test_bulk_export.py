"""Bulk Data export (IG v2): kick-off, status, manifest, files, cancel, scoping and refusals."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from saisei.core.services import token_create
from saisei.interop import services
from saisei.interop.fhir import bulk
from saisei.interop.models import BulkExport
from saisei.interop.tests.validation import validate
from saisei.journey.models import TreatmentCourse
from saisei.journey.tests.factories import PatientFactory
from saisei.regulatory.tests.factories import PhysicianFactory, PlanFactory

BASE = "/fhir/R4"
ASYNC = {"Prefer": "respond-async", "Accept": "application/fhir+json"}


@pytest.fixture(autouse=True)
def data_dir(settings: Any, tmp_path: Any) -> Any:
    settings.DATA_DIR = tmp_path
    return tmp_path


class Bulk:
    def __init__(self, user: Any) -> None:
        self.client = Client()
        _, token = token_create(actor=None, user=user, label="bulk")
        self.headers = {"Authorization": f"Bearer {token}"}

    def get(self, url: str, **headers: str) -> Any:
        return self.client.get(
            url.removeprefix("http://testserver"), headers={**self.headers, **headers}
        )

    def delete(self, url: str) -> Any:
        return self.client.delete(url.removeprefix("http://testserver"), headers=self.headers)


@pytest.fixture
def admin(org: Any, make_user: Any) -> Any:
    return make_user("org_admin", org)


@pytest.fixture
def world(org: Any, other_org: Any) -> Any:
    plan = PlanFactory(organisation=org)
    other_plan = PlanFactory(organisation=org)
    physician = PhysicianFactory(organisation=org)
    in_plan = PatientFactory(organisation=org)
    not_in_plan = PatientFactory(organisation=org)
    TreatmentCourse.objects.create(
        organisation=org, patient=in_plan, plan=plan, physician=physician
    )
    TreatmentCourse.objects.create(
        organisation=org, patient=not_in_plan, plan=other_plan, physician=physician
    )
    theirs = PatientFactory(organisation=other_org)
    return plan, in_plan, not_in_plan, theirs


def _kickoff(client: Bulk, path: str, capture: Any) -> str:
    with capture(execute=True):
        response = client.get(f"{BASE}{path}", **ASYNC)
    assert response.status_code == 202, response.content
    return response["Content-Location"]


def _lines(client: Bulk, url: str) -> list[dict[str, Any]]:
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/fhir+ndjson"
    text = b"".join(response.streaming_content).decode()
    return [json.loads(line) for line in text.splitlines()]


def test_system_export_writes_valid_ndjson_of_the_organisation_only(
    admin: Any, world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    _plan, in_plan, not_in_plan, theirs = world
    client = Bulk(admin)
    status_url = _kickoff(client, "/$export", django_capture_on_commit_callbacks)
    response = client.get(status_url)
    assert response.status_code == 200
    manifest = response.json()
    assert manifest["requiresAccessToken"] is True
    assert manifest["request"].endswith("/fhir/R4/$export")
    assert manifest["transactionTime"]
    files = {item["type"]: item for item in manifest["output"]}
    assert {"Patient", "CarePlan", "PlanDefinition", "Practitioner"} <= set(files)
    seen = set()
    references = set()
    from saisei.core.models import AccessLogEntry

    for item in manifest["output"]:
        resources = _lines(client, item["url"])
        # Each file taken is on the access log (who, what, when).
        logged = AccessLogEntry.objects.filter(
            actor=admin, label=f"FHIR bulk export {item['type']}.ndjson"
        )
        assert logged.count() == 1
        assert len(resources) == item["count"]
        for resource in resources:
            validate(resource)
            assert resource["resourceType"] == item["type"]
            seen.add(f"{resource['resourceType']}/{resource['id']}")
            references |= set(_references(resource))
    patients = {r.split("/")[1] for r in seen if r.startswith("Patient/")}
    assert patients == {str(in_plan.external_id), str(not_in_plan.external_id)}
    assert str(theirs.external_id) not in patients
    assert references <= seen, references - seen


def _references(value: Any) -> list[str]:
    if isinstance(value, dict):
        found = [value["reference"]] if isinstance(value.get("reference"), str) else []
        return found + [r for v in value.values() for r in _references(v)]
    if isinstance(value, list):
        return [r for v in value for r in _references(v)]
    return []


def test_group_export_holds_only_the_plans_patients(
    admin: Any, world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    plan, in_plan, _not_in_plan, _theirs = world
    client = Bulk(admin)
    status_url = _kickoff(
        client,
        f"/Group/{plan.external_id}/$export?_type=Patient,CarePlan",
        django_capture_on_commit_callbacks,
    )
    manifest = client.get(status_url).json()
    assert sorted(item["type"] for item in manifest["output"]) == ["CarePlan", "Patient"]
    patients = _lines(client, next(i["url"] for i in manifest["output"] if i["type"] == "Patient"))
    assert [p["id"] for p in patients] == [str(in_plan.external_id)]


def test_another_organisations_plan_is_not_a_group(
    admin: Any, other_org: Any, django_capture_on_commit_callbacks: Any
) -> None:
    theirs = PlanFactory(organisation=other_org)
    response = Bulk(admin).get(f"{BASE}/Group/{theirs.external_id}/$export", **ASYNC)
    assert response.status_code == 404
    assert not BulkExport.objects.exists()


def test_since_limits_to_changed_records(
    admin: Any, world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    client = Bulk(admin)
    status_url = _kickoff(
        client, "/$export?_since=2999-01-01T00:00:00%2B09:00", django_capture_on_commit_callbacks
    )
    assert client.get(status_url).json()["output"] == []


@pytest.mark.parametrize(
    ("query", "headers", "word"),
    [
        ("", {}, "respond-async"),
        ("?_type=Spaceship", ASYNC, "Spaceship"),
        ("?_since=yesterday", ASYNC, "_since"),
        ("?_since=2026-01-01T00:00:00", ASYNC, "_since"),
        ("?_outputFormat=text/csv", ASYNC, "text/csv"),
        ("?_elements=id", ASYNC, "_elements"),
    ],
)
def test_bad_kickoffs_are_400_and_nothing_is_queued(
    admin: Any, query: str, headers: dict[str, str], word: str
) -> None:
    response = Bulk(admin).get(f"{BASE}/$export{query}", **headers)
    assert response.status_code == 400
    body = response.json()
    validate(body)
    assert word in body["issue"][0]["diagnostics"]
    assert not BulkExport.objects.exists()


def test_only_the_administrator_may_export(org: Any, make_user: Any, db: Any) -> None:
    for role in ("coordinator", "physician", "compliance_officer", "qa_manager"):
        response = Bulk(make_user(role, org)).get(f"{BASE}/$export", **ASYNC)
        assert response.status_code == 403, role
    assert Client().get(f"{BASE}/$export", headers=ASYNC).status_code == 401
    assert not BulkExport.objects.exists()


def test_status_and_files_are_invisible_to_another_organisation(
    admin: Any, other_org: Any, make_user: Any, world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    client = Bulk(admin)
    status_url = _kickoff(client, "/$export?_type=Patient", django_capture_on_commit_callbacks)
    file_url = client.get(status_url).json()["output"][0]["url"]
    stranger = Bulk(make_user("org_admin", other_org))
    assert stranger.get(status_url).status_code == 404
    assert stranger.get(file_url).status_code == 404
    assert stranger.delete(status_url).status_code == 404
    assert Client().get(file_url.removeprefix("http://testserver")).status_code == 401


def test_queued_export_answers_202_with_progress(
    admin: Any, world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    client = Bulk(admin)
    with django_capture_on_commit_callbacks(execute=False):
        response = client.get(f"{BASE}/$export", **ASYNC)
    status_url = response["Content-Location"]
    pending = client.get(status_url)
    assert pending.status_code == 202
    assert pending["X-Progress"] == "0%"
    assert pending["Retry-After"]
    # The worker then runs it.
    export = BulkExport.objects.get()
    assert services.export_run(export_id=export.pk) == "completed"
    assert client.get(status_url).status_code == 200


def test_delete_cancels_and_removes_the_files(
    admin: Any, world: Any, django_capture_on_commit_callbacks: Any, data_dir: Any
) -> None:
    client = Bulk(admin)
    status_url = _kickoff(client, "/$export", django_capture_on_commit_callbacks)
    file_url = client.get(status_url).json()["output"][0]["url"]
    export = BulkExport.objects.get()
    assert bulk.export_dir(export.external_id).is_dir()
    with django_capture_on_commit_callbacks(execute=True):
        assert client.delete(status_url).status_code == 202
    assert client.get(status_url).status_code == 404
    assert client.get(file_url).status_code == 404
    assert not bulk.export_dir(export.external_id).exists()
    # A session cannot DELETE (no CSRF check on this endpoint): only a token can.
    assert Client().delete(status_url.removeprefix("http://testserver")).status_code == 401


def test_a_cancelled_export_is_never_run(
    admin: Any, world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    client = Bulk(admin)
    with django_capture_on_commit_callbacks(execute=False):
        status_url = client.get(f"{BASE}/$export", **ASYNC)["Content-Location"]
    client.delete(status_url)
    export = BulkExport.objects.get()
    assert services.export_run(export_id=export.pk) == "not queued"
    assert not bulk.export_dir(export.external_id).exists()


def test_cancel_while_running_stops_the_writer(admin: Any, world: Any, monkeypatch: Any) -> None:
    export = services.export_start(
        actor=admin, level="system", types=["Patient", "CarePlan"], since=None, request_url="x"
    )

    def cancel_then_write(**kwargs: Any) -> Any:
        BulkExport.objects.filter(pk=export.pk).update(status="cancelled")
        kwargs["on_progress"](1)
        raise AssertionError("the writer must stop")

    monkeypatch.setattr(bulk, "write", cancel_then_write)
    assert services.export_run(export_id=export.pk) == "cancelled"
    export.refresh_from_db()
    assert export.status == "cancelled"


def test_requester_who_lost_the_role_gets_nothing(admin: Any, world: Any) -> None:
    export = services.export_start(
        actor=admin, level="system", types=["Patient"], since=None, request_url="x"
    )
    admin.role_grants.all().delete()
    assert services.export_run(export_id=export.pk) == "failed"
    export.refresh_from_db()
    assert export.status == "failed" and export.output == []
    assert not bulk.export_dir(export.external_id).exists()


# --- the org_admin page --------------------------------------------------------------------


def test_page_starts_shows_and_cancels_an_export(
    admin: Any, world: Any, django_capture_on_commit_callbacks: Any, web_for: Any
) -> None:
    plan = world[0]
    client = web_for(admin)
    page = client.get("/interop/exports/")
    assert page.status_code == 200
    assert "FHIR" in page.content.decode()
    # A group export without its plan is a form error, and nothing is queued.
    refused = client.post("/interop/exports/", {"level": "group"})
    assert refused.status_code == 400
    assert not BulkExport.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(
            "/interop/exports/",
            {"level": "group", "plan": str(plan.external_id), "types": ["Patient"]},
        )
    assert done.status_code == 302
    export = BulkExport.objects.get()
    assert export.status == "completed" and export.plan == plan
    listing = client.get("/interop/exports/").content.decode()
    link = f"/fhir/R4/$export-file/{export.external_id}/Patient.ndjson"
    assert link in listing
    # The download works from the signed-in session, as the page links it.
    downloaded = client.get(link)
    assert downloaded.status_code == 200
    assert json.loads(b"".join(downloaded.streaming_content).decode().splitlines()[0])["id"] == str(
        world[1].external_id
    )
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/interop/exports/", {"cancel": str(export.external_id)})
    export.refresh_from_db()
    assert export.status == "cancelled"
    assert client.get(link).status_code == 404


def test_page_is_refused_to_other_roles(org: Any, make_user: Any, web_for: Any) -> None:
    client = web_for(make_user("coordinator", org))
    assert client.get("/interop/exports/").status_code == 403
