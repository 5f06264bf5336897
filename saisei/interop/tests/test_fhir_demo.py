"""Over the demo world: every resource of every type validates, and every reference resolves."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from saisei.core.demo import load_demo
from saisei.core.services import token_create
from saisei.interop.fhir import bulk
from saisei.interop.fhir.common import saisei_system
from saisei.interop.fhir.registry import RESOURCE_TYPES
from saisei.interop.models import BulkExport
from saisei.interop.tests.validation import validate


def _references(value: Any) -> list[str]:
    if isinstance(value, dict):
        found = [value["reference"]] if isinstance(value.get("reference"), str) else []
        return found + [r for v in value.values() for r in _references(v)]
    if isinstance(value, list):
        return [r for v in value for r in _references(v)]
    return []


def _codings(value: Any) -> list[dict[str, Any]]:
    """Every Coding (an object with a system and a code) anywhere in a resource."""
    if isinstance(value, dict):
        found = [value] if "system" in value and "code" in value else []
        return found + [c for v in value.values() for c in _codings(v)]
    if isinstance(value, list):
        return [c for v in value for c in _codings(v)]
    return []


@pytest.fixture
def demo(db: Any, settings: Any, tmp_path: Any) -> Any:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.DATA_DIR = tmp_path
    return load_demo(stdout=io.StringIO())


# Reads an export's files in a fresh interpreter: validates each line, counts by type.
_ROUND_TRIP = """
import importlib, json, pathlib, sys
counts = {}
for path in sorted(pathlib.Path(sys.argv[1]).glob("*.ndjson")):
    for line in path.read_text(encoding="utf-8").splitlines():
        resource = json.loads(line)
        name = resource["resourceType"]
        module = importlib.import_module("fhir.resources.R4B." + name.lower())
        getattr(module, name).model_validate(resource)
        counts[name] = counts.get(name, 0) + 1
print(json.dumps(counts))
"""


def test_every_demo_resource_validates_and_references_resolve(
    demo: Any, django_assert_num_queries: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # org_admin reads every app (core.permissions.READ_ALL_ROLES).
    _, token = token_create(actor=None, user=demo.users["org_admin"], label="fhir")
    client = Client()
    headers = {"Authorization": f"Bearer {token}"}
    seen: set[str] = set()
    references: list[str] = []
    counts: dict[str, int] = {}
    for name in RESOURCE_TYPES:
        url: str | None = f"/fhir/R4/{name}?_count=200"
        while url:
            response = client.get(url, headers=headers)
            assert response.status_code == 200, (name, response.content[:300])
            bundle = response.json()
            validate(bundle)
            for entry in bundle.get("entry", []):
                resource = entry["resource"]
                validate(resource)
                seen.add(f"{resource['resourceType']}/{resource['id']}")
                references += _references(resource)
            counts[name] = bundle["total"]
            nxt = {link["relation"]: link["url"] for link in bundle["link"]}.get("next")
            url = nxt.removeprefix("http://testserver") if nxt else None
    # A page of everything costs no more than a page of one, plus one page query for each
    # further source a type draws on (Procedure: harvests and infusions), for every type.
    for name, rt in RESOURCE_TYPES.items():
        with CaptureQueriesContext(connection) as one:
            client.get(f"/fhir/R4/{name}?_count=1", headers=headers)
        # (CodeSystem has no table source: its page costs the same at any size.)
        bound = len(one.captured_queries) + max(len(rt.sources), 1) - 1
        with django_assert_num_queries(bound, exact=False):
            client.get(f"/fhir/R4/{name}?_count=200", headers=headers)
    for name in (
        "Patient",
        "Practitioner",
        "PractitionerRole",
        "Procedure",
        "BiologicallyDerivedProduct",
        "Consent",
        "Observation",
        "QuestionnaireResponse",
        "Provenance",
        "Group",
        "CodeSystem",
    ):
        assert counts[name] > 0, name
    dangling = {ref for ref in references if ref not in seen}
    assert not dangling
    # Patient/$everything for every demo patient: valid, self-contained.
    patient_ids = [ref.split("/")[1] for ref in seen if ref.startswith("Patient/")]
    for patient_id in patient_ids:
        response = client.get(f"/fhir/R4/Patient/{patient_id}/$everything", headers=headers)
        assert response.status_code == 200
        bundle = response.json()
        validate(bundle)
        inside = {f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in bundle["entry"]}
        assert f"Patient/{patient_id}" in inside
        refs = {ref for e in bundle["entry"] for ref in _references(e["resource"])}
        assert refs <= inside, refs - inside
        for entry in bundle["entry"]:
            resource = entry["resource"]
            kind = resource["resourceType"]
            if kind in (
                "Patient",
                "Practitioner",
                "PractitionerRole",
                "Organization",
                "Location",
                "PlanDefinition",
                "Provenance",  # its target is the patient's record, checked above
                "CodeSystem",
            ):
                continue
            assert f"Patient/{patient_id}" in _references(resource), kind
    # The bulk export of the demo: the same counts as the API, read back in a fresh process.
    with django_capture_on_commit_callbacks(execute=True):
        kickoff = client.get("/fhir/R4/$export", headers={**headers, "Prefer": "respond-async"})
    assert kickoff.status_code == 202
    status_url = kickoff["Content-Location"].removeprefix("http://testserver")
    manifest = client.get(status_url, headers=headers).json()
    exported = {item["type"]: item["count"] for item in manifest["output"]}
    assert exported == {name: n for name, n in counts.items() if n}
    export = BulkExport.objects.get()
    read_back = subprocess.run(
        [sys.executable, "-c", _ROUND_TRIP, str(bulk.export_dir(export.external_id))],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    assert json.loads(read_back.stdout) == exported
    # Inside the export: every reference resolves, and every coding in one of Saisei's own
    # code systems is a concept of a CodeSystem in the same export.
    resources = [
        json.loads(line)
        for path in sorted(bulk.export_dir(export.external_id).glob("*.ndjson"))
        for line in path.read_text(encoding="utf-8").splitlines()
    ]
    inside = {f"{r['resourceType']}/{r['id']}" for r in resources}
    assert {ref for r in resources for ref in _references(r)} <= inside
    concepts = {
        (r["url"], c["code"])
        for r in resources
        if r["resourceType"] == "CodeSystem"
        for c in r["concept"]
    }
    own = saisei_system("")
    codings = [c for r in resources for c in _codings(r)]
    assert any(c["system"].startswith(own) for c in codings)
    unresolved = [
        c
        for c in codings
        if c["system"].startswith(own) and (c["system"], c["code"]) not in concepts
    ]
    assert not unresolved
    assert exported["Patient"] == counts["Patient"]
