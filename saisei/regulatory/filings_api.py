"""Official forms API: form versions, the missing-item check, generated documents, the plan
export in the item order of 様式第1の2, and the processing facilities' standard documents."""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid
from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema, Status
from pydantic import Field

from saisei.core.api_support import ERROR_RESPONSES
from saisei.core.errors import Forbidden, ValidationFailed
from saisei.core.permissions import staff_user
from saisei.regulatory import permissions, selectors, services
from saisei.regulatory.filings import form_get, form_preview
from saisei.regulatory.official_forms import plan_items
from saisei.regulatory.rules.forms import FORMS as SHIPPED

router = Router(tags=["regulatory"])


class FormVersionOut(Schema):
    external_id: uuid.UUID
    form_code: str
    name_ja: str
    version: str
    effective_from: dt.date
    source: str
    certain: bool
    note: str


class FormVersionIn(Schema):
    form_code: str = Field(max_length=40)
    version: str = Field(max_length=60)
    effective_from: dt.date
    source: str = Field(max_length=400)
    name_ja: str = Field("", max_length=200)
    certain: bool = False
    note: str = Field("", max_length=2000)


@router.get("/regulatory/forms/versions", response={200: list[FormVersionOut], **ERROR_RESPONSES})
def form_versions(request: HttpRequest) -> Any:
    """Every recorded version of every official form, with its legal source."""
    actor = staff_user(request)
    if not permissions.can_view_forms(actor):
        raise Forbidden()
    return list(selectors.form_version_list(actor=actor))


@router.post("/regulatory/forms/versions", response={201: FormVersionOut, **ERROR_RESPONSES})
def form_version_add(request: HttpRequest, payload: FormVersionIn) -> Any:
    """Record a new version of a form (when the ministry revises it); the source is required."""
    return Status(201, services.form_version_add(actor=staff_user(request), **payload.dict()))


@router.post(
    "/regulatory/forms/versions/install",
    response={200: list[FormVersionOut], **ERROR_RESPONSES},
)
def form_versions_install(request: HttpRequest) -> Any:
    """Record the versions Saisei ships for your organisation (idempotent)."""
    actor = staff_user(request)
    return services.form_versions_install(actor=actor, organisation=actor.organisation)


class ItemOut(Schema):
    number: str
    label: str
    value: str
    required: bool
    missing: bool
    fix_url: str


class TableOut(Schema):
    title: str
    columns: list[str]
    rows: list[list[str]]


class PreviewOut(Schema):
    form_code: str
    title: str
    subject: str
    missing: list[ItemOut]
    items: list[ItemOut]
    tables: list[TableOut]


class SubjectIn(Schema):
    subject: uuid.UUID


class SubjectQuery(Schema):
    # Optional in the schema so that an unknown form answers 404 before a missing subject is
    # refused with 422 naming the field.
    subject: uuid.UUID | None = None


def _items(items: list[Any]) -> list[dict[str, Any]]:
    return [
        {
            "number": i.number,
            "label": i.label,
            "value": i.value,
            "required": i.required,
            "missing": i.missing,
            "fix_url": i.fix_url,
        }
        for i in items
    ]


@router.get("/regulatory/forms/{form_code}/preview", response={200: PreviewOut, **ERROR_RESPONSES})
def form_check(request: HttpRequest, form_code: str, filters: Query[SubjectQuery]) -> Any:
    """The form filled from the records, with every empty required item listed under missing."""
    form_get(form_code)
    if filters.subject is None:
        raise ValidationFailed(
            "form_subject_missing",
            _("Name the record the form is about."),
            {"subject": [_("This field is required.")]},
        )
    content = form_preview(
        actor=staff_user(request), form_code=form_code, subject_id=str(filters.subject)
    )
    return {
        "form_code": form_code,
        "title": content.title,
        "subject": content.subject_label,
        "missing": _items(content.missing()),
        "items": _items(content.items),
        "tables": [t.__dict__ for t in content.tables],
    }


class FiledDocumentOut(Schema):
    external_id: uuid.UUID
    form_code: str
    form_version: str
    subject_label: str
    generated_at: dt.datetime
    generated_by: str
    sha256: str

    @staticmethod
    def resolve_form_version(obj: Any) -> str:
        return f"{obj.form_version.name_ja} ({obj.form_version.version})"

    @staticmethod
    def resolve_generated_by(obj: Any) -> str:
        return str(obj.generated_by)


@router.post(
    "/regulatory/forms/{form_code}/documents",
    response={201: FiledDocumentOut, **ERROR_RESPONSES},
)
def form_generate(request: HttpRequest, form_code: str, payload: SubjectIn) -> Any:
    """Generate the form as a PDF and keep it; 422 ``form_items_missing`` names every empty item."""
    doc = services.filed_document_generate(
        actor=staff_user(request), form_code=form_code, subject_id=str(payload.subject)
    )
    return Status(201, doc)


@router.get("/regulatory/documents", response={200: list[FiledDocumentOut], **ERROR_RESPONSES})
def filed_documents(request: HttpRequest) -> Any:
    """Documents generated from official forms, newest first (the last 200)."""
    actor = staff_user(request)
    if not permissions.can_view_forms(actor):
        raise Forbidden()
    return list(selectors.filed_document_list(actor=actor)[:200])


@router.get(
    "/regulatory/documents/{external_id}/pdf",
    response={200: None, **ERROR_RESPONSES},
)
def filed_document_pdf(request: HttpRequest, external_id: str) -> HttpResponse:
    """The PDF exactly as generated (its SHA-256 is in the document's record)."""
    doc = selectors.filed_document_get(actor=staff_user(request), external_id=external_id)
    response = HttpResponse(bytes(doc.pdf), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{doc.form_code}-{doc.external_id}.pdf"'
    return response


class ExportFilter(Schema):
    format: Literal["json", "csv"] = "json"
    version: uuid.UUID | None = None


def plan_export(actor: Any, external_id: str, version_id: Any, fmt: str) -> HttpResponse:
    """The plan's items in the order of 様式第1の2 as JSON or CSV (UTF-8 with BOM for Excel)."""
    if not permissions.can_view_forms(actor):
        raise Forbidden()
    plan = selectors.plan_get(actor=actor, external_id=external_id)
    version = selectors.plan_export_version(plan=plan, version_id=version_id)
    from django.utils import translation

    with translation.override("ja"):
        items = plan_items(version)
    name = f"plan-{plan.plan_number or plan.external_id}-v{version.number}"
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["number", "item", "value", "required", "missing"])
        for i in items:
            writer.writerow([i.number, i.label, i.value, int(i.required), int(i.missing)])
        response = HttpResponse(
            "\ufeff" + buffer.getvalue(), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
        return response
    import json

    body = {
        "form": SHIPPED["plan"].name_ja,
        "plan": str(plan.external_id),
        "plan_number": plan.plan_number,
        "version": version.number,
        "items": _items(items),
    }
    response = HttpResponse(
        json.dumps(body, ensure_ascii=False, indent=2), content_type="application/json"
    )
    response["Content-Disposition"] = f'attachment; filename="{name}.json"'
    return response


@router.get("/regulatory/plans/{external_id}/export", response={200: None, **ERROR_RESPONSES})
def plan_export_endpoint(
    request: HttpRequest, external_id: str, filters: Query[ExportFilter]
) -> HttpResponse:
    """The plan's items in the order of 様式第1の2, for entry into e-再生医療; missing ones flagged."""
    return plan_export(staff_user(request), external_id, filters.version, filters.format)


class StandardDocumentOut(Schema):
    external_id: uuid.UUID
    facility: str
    kind: str
    plan: str | None
    document_number: str
    title: str
    version: str
    effective_from: dt.date
    approved_by: str

    @staticmethod
    def resolve_facility(obj: Any) -> str:
        return str(obj.facility.external_id)

    @staticmethod
    def resolve_plan(obj: Any) -> str | None:
        return str(obj.plan.external_id) if obj.plan else None


class StandardDocumentIn(Schema):
    kind: Literal["standard", "sop"]
    plan: uuid.UUID | None = None
    document_number: str = Field(max_length=60)
    title: str = Field(max_length=200)
    version: str = Field(max_length=30)
    effective_from: dt.date
    approved_by: str = Field(max_length=100)


@router.get(
    "/regulatory/facilities/{external_id}/documents",
    response={200: list[StandardDocumentOut], **ERROR_RESPONSES},
)
def standard_documents(request: HttpRequest, external_id: str) -> Any:
    """The facility's 標準書 and SOPs, every version."""
    actor = staff_user(request)
    facility = selectors.facility_get(actor=actor, external_id=external_id)
    return list(selectors.standard_document_list(actor=actor, facility=facility))


@router.post(
    "/regulatory/facilities/{external_id}/documents",
    response={201: StandardDocumentOut, **ERROR_RESPONSES},
)
def standard_document_add(
    request: HttpRequest, external_id: str, payload: StandardDocumentIn
) -> Any:
    """Record a new version of a 標準書 or SOP (number, effective date, approved by)."""
    actor = staff_user(request)
    facility = selectors.facility_get(actor=actor, external_id=external_id)
    plan = selectors.plan_get(actor=actor, external_id=payload.plan) if payload.plan else None
    values = payload.dict(exclude={"plan"})
    return Status(
        201, services.standard_document_add(actor=actor, facility=facility, plan=plan, **values)
    )
