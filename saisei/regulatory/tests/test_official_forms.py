"""Official forms (issue 16): filled from the records, refused while a required item is empty
(API 422 and page), kept with form version, hash and ledger entry; the plan export in the item
order of 様式第1の2; form versions with their source; role checks."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from typing import Any

import pytest

from saisei.core.models import AuditEntry
from saisei.regulatory import services
from saisei.regulatory.models import FiledDocument, FormVersion, today_tokyo
from saisei.regulatory.official_forms import plan_items

from .conftest import make_plan

pytestmark = pytest.mark.django_db


def complete(officer: Any, registry: dict[str, Any], **overrides: Any) -> Any:
    """A draft plan whose every item of 様式第1の2 is filled, with the CPC's 標準書 for it."""
    inst = registry["institution"]
    inst.address = "1-1 Test-cho, Chuo-ku, Tokyo"
    inst.emergency_capacity = "Crash cart, ECG, transfer agreement."
    inst.save()
    fields = {
        "eligibility_summary": "Adults 50-85 with Alzheimer's disease.",
        "responsible_physician": registry["physician"],
        "patient_price_yen": 1_980_000,
        "cell_name": "自己脂肪組織由来間葉系幹細胞",
        "cell_processing_summary": "Collagenase digestion and expansion to passage 2-4.",
        "contact_person": "Office",
        "contact_phone": "03-0000-0000",
    }
    fields.update(overrides)
    plan = make_plan(officer, registry, **fields)
    services.standard_document_add(
        actor=officer,
        facility=registry["facility"],
        kind="standard",
        plan=plan,
        document_number="STD-1",
        title="Product standard",
        version="1",
        effective_from=today_tokyo(),
        approved_by="QA",
    )
    services.form_versions_install(actor=officer, organisation=officer.organisation)
    return plan


def test_plan_form_generates_with_version_hash_and_ledger(officer, registry):
    plan = complete(officer, registry)
    version = plan.versions.get()
    doc = services.filed_document_generate(
        actor=officer, form_code="plan", subject_id=str(version.external_id)
    )
    pdf = bytes(doc.pdf)
    assert pdf.startswith(b"%PDF")
    assert doc.sha256 == hashlib.sha256(pdf).hexdigest()
    assert doc.form_version.form_code == "plan" and doc.form_version.source
    assert doc.generated_by == officer and doc.plan == plan
    entry = AuditEntry.objects.get(action="filed_document.generate")
    assert entry.changes["sha256"] == doc.sha256
    assert entry.changes["form_version"] == doc.form_version.version


def test_missing_items_are_named_and_block_generation_in_the_api(api_for, officer, registry):
    plan = complete(officer, registry, responsible_physician=None, patient_price_yen=None)
    version = plan.versions.get()
    api = api_for(officer)
    preview = api.get("/regulatory/forms/plan/preview", subject=str(version.external_id))
    assert preview.status_code == 200
    missing = {i["number"]: i for i in preview.json()["missing"]}
    assert set(missing) == {"2-1", "7-1"}
    assert all(i["fix_url"] for i in missing.values())
    r = api.post("/regulatory/forms/plan/documents", {"subject": str(version.external_id)})
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["code"] == "form_items_missing"
    assert set(error["fields"]) == {"item_2-1", "item_7-1"}
    assert FiledDocument.objects.count() == 0


def test_missing_items_page_lists_them_with_links_and_refuses(web_for, officer, registry):
    plan = complete(officer, registry, cell_name="")
    version = plan.versions.get()
    web = web_for(officer)
    url = f"/regulatory/forms/plan/{version.external_id}/"
    page = web.get(url)
    assert page.status_code == 200
    body = page.content.decode()
    assert "特定細胞加工物の名称" in body
    assert f"/regulatory/plans/{plan.external_id}/versions/{version.external_id}/edit/" in body
    assert web.post(url).status_code == 422
    assert FiledDocument.objects.count() == 0
    version.cell_name = "MSC"
    version.save()
    done = web.post(url)
    assert done.status_code == 302 and FiledDocument.objects.count() == 1


def test_no_recorded_form_version_refuses(officer, registry):
    plan = complete(officer, registry)
    FormVersion.objects.filter(form_code="plan").update(
        effective_from=today_tokyo().replace(year=2099)
    )
    with pytest.raises(Exception) as exc:
        services.filed_document_generate(
            actor=officer, form_code="plan", subject_id=str(plan.versions.get().external_id)
        )
    assert getattr(exc.value, "code", "") == "form_version_missing"


def test_a_revised_form_is_added_with_its_source_and_followed(api_for, officer, registry):
    plan = complete(officer, registry)
    api = api_for(officer)
    no_source = api.post(
        "/regulatory/forms/versions",
        {
            "form_code": "plan",
            "version": "2027",
            "effective_from": str(today_tokyo()),
            "source": " ",
        },
    )
    assert no_source.status_code == 422
    r = api.post(
        "/regulatory/forms/versions",
        {
            "form_code": "plan",
            "version": "2027 revision",
            "effective_from": str(today_tokyo()),
            "source": "MHLW notice 医政発XXXX第X号 (test)",
        },
    )
    assert r.status_code == 201
    doc = api.post(
        "/regulatory/forms/plan/documents", {"subject": str(plan.versions.get().external_id)}
    )
    assert doc.status_code == 201
    assert "2027 revision" in doc.json()["form_version"]


def test_plan_export_in_the_item_order_of_the_form(api_for, web_for, officer, registry):
    plan = complete(officer, registry, patient_price_yen=None)
    expected = [i.number for i in plan_items(plan.versions.get())]
    assert expected[:4] == ["0-1", "0-2", "0-3", "1-1"]
    assert (
        expected.index("2-1")
        < expected.index("3-1")
        < expected.index("4-1")
        < expected.index("7-1")
    )
    r = api_for(officer).get(f"/regulatory/plans/{plan.external_id}/export", format="json")
    assert r.status_code == 200
    body = json.loads(r.content)
    assert [i["number"] for i in body["items"]] == expected
    price = next(i for i in body["items"] if i["number"] == "7-1")
    assert price["missing"] is True  # flagged, never silently blank
    page = web_for(officer).get(f"/regulatory/plans/{plan.external_id}/export.csv")
    assert page.status_code == 200
    rows = list(csv.reader(io.StringIO(page.content.decode("utf-8-sig"))))
    assert rows[0] == ["number", "item", "value", "required", "missing"]
    assert [row[0] for row in rows[1:]] == expected


def test_roles_and_scope(api_for, make_user, officer, registry, org, other_org):
    plan = complete(officer, registry)
    subject = {"subject": str(plan.versions.get().external_id)}
    physician = make_user("physician", org)
    assert api_for(physician).post("/regulatory/forms/plan/documents", subject).status_code == 403
    coordinator = make_user("coordinator", org)
    assert api_for(coordinator).get("/regulatory/forms/plan/preview", **subject).status_code in (
        403,
        404,
    )
    outsider = make_user("compliance_officer", other_org)
    assert api_for(outsider).get("/regulatory/forms/plan/preview", **subject).status_code == 404
    assert api_for(outsider).get(f"/regulatory/plans/{plan.external_id}/export").status_code == 404
    assert FiledDocument.objects.count() == 0


def test_standard_document_api_and_roles(api_for, make_user, officer, registry, org):
    plan = complete(officer, registry)
    facility = registry["facility"]
    url = f"/regulatory/facilities/{facility.external_id}/documents"
    payload = {
        "kind": "sop",
        "document_number": "SOP-9",
        "title": "Release",
        "version": "1",
        "effective_from": str(today_tokyo()),
        "approved_by": "QA",
    }
    assert api_for(make_user("coordinator", org)).post(url, payload).status_code == 403
    qa = make_user("qa_manager", org)
    assert api_for(qa).post(url, payload).status_code == 201
    # A product standard belongs to a plan.
    bad = api_for(qa).post(url, {**payload, "kind": "standard", "document_number": "STD-9"})
    assert bad.status_code == 422
    good = api_for(qa).post(
        url,
        {**payload, "kind": "standard", "document_number": "STD-9", "plan": str(plan.external_id)},
    )
    assert good.status_code == 201
    listed = api_for(officer).get(url).json()
    assert {d["document_number"] for d in listed} == {"STD-1", "SOP-9", "STD-9"}


def test_an_empty_optional_item_says_why_it_is_empty(officer, registry):
    """'Not applicable' only where emptiness means that: cell characteristics not written down
    print as not stated, the absent research registration as not applicable."""
    import shutil
    import subprocess
    import tempfile

    plan = complete(officer, registry, cell_characteristics="", research_registration_number="")
    version = plan.versions.get()
    items = {i.number: i for i in plan_items(version)}
    assert not items["3-5"].missing and items["3-5"].empty == "記載なし"
    assert items["7-2"].empty == "該当なし"
    doc = services.filed_document_generate(
        actor=officer, form_code="plan", subject_id=str(version.external_id)
    )
    if shutil.which("pdftotext") is None:
        return
    with tempfile.NamedTemporaryFile(suffix=".pdf") as fh:
        fh.write(bytes(doc.pdf))
        fh.flush()
        text = subprocess.run(
            ["pdftotext", fh.name, "-"], capture_output=True, text=True, check=True
        ).stdout
    assert "記載なし" in text and "該当なし" in text
