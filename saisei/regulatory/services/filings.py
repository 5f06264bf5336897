"""Writes for official forms: form versions, generated documents and facility standard documents."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from saisei.core.audit import audit_record
from saisei.core.errors import Forbidden, ValidationFailed
from saisei.core.models import Organisation, User
from saisei.regulatory import permissions
from saisei.regulatory.filings import form_preview, missing_error, render_pdf
from saisei.regulatory.models import (
    FiledDocument,
    FormVersion,
    ProcessingFacility,
    ProvisionPlan,
    StandardDocument,
    today_tokyo,
)
from saisei.regulatory.rules.forms import FORMS, SHIPPED_FROM, SHIPPED_VERSION


def _require_filer(actor: User) -> None:
    if not permissions.can_file_forms(actor):
        raise Forbidden()


def form_versions_install(*, actor: User, organisation: Organisation | None) -> list[FormVersion]:
    """Record the form versions Saisei ships (``rules.forms``) for the organisation; idempotent."""
    _require_filer(actor)
    if organisation is None or organisation.pk != actor.organisation_id:
        raise Forbidden()
    out = []
    with transaction.atomic():
        for shipped in FORMS.values():
            row, created = FormVersion.objects.get_or_create(
                organisation=organisation,
                form_code=shipped.code,
                version=SHIPPED_VERSION,
                defaults={
                    "name_ja": shipped.name_ja,
                    "effective_from": SHIPPED_FROM,
                    "source": shipped.source,
                    "certain": shipped.certain,
                    "note": shipped.note,
                    "added_by": actor,
                },
            )
            if created:
                audit_record(
                    actor=actor,
                    organisation=organisation,
                    action="form_version.create",
                    subject=row,
                    changes={"form": row.form_code, "version": row.version},
                )
            out.append(row)
    return out


def form_version_add(
    *,
    actor: User,
    form_code: str,
    version: str,
    effective_from: dt.date,
    source: str,
    name_ja: str = "",
    certain: bool = False,
    note: str = "",
) -> FormVersion:
    """A new version of a form, when the ministry revises it (the source is required)."""
    _require_filer(actor)
    if form_code not in FORMS:
        raise ValidationFailed("form_code", _("Unknown form."), {"form_code": [_("Unknown form.")]})
    if not source.strip():
        raise ValidationFailed(
            "source_required",
            _("Name the notice or ordinance that defines this version."),
            {"source": [_("Required.")]},
        )
    if not version.strip():
        raise ValidationFailed("version", _("Enter the version."), {"version": [_("Required.")]})
    org = actor.organisation
    if FormVersion.objects.filter(organisation=org, form_code=form_code, version=version).exists():
        raise ValidationFailed(
            "form_version_exists",
            _("This version of the form is already recorded."),
            {"version": [_("Already recorded.")]},
        )
    with transaction.atomic():
        row = FormVersion.objects.create(
            organisation=org,
            form_code=form_code,
            name_ja=name_ja or FORMS[form_code].name_ja,
            version=version,
            effective_from=effective_from,
            source=source,
            certain=certain,
            note=note,
            added_by=actor,
        )
        audit_record(
            actor=actor,
            organisation=org,
            action="form_version.create",
            subject=row,
            changes={"form": form_code, "version": version, "source": source},
        )
    return row


def form_version_current(
    *, organisation: Organisation | None, form_code: str, on: dt.date
) -> FormVersion:
    """The version in effect on ``on``; none recorded refuses (a document names its version)."""
    row = (
        FormVersion.objects.filter(
            organisation=organisation,
            form_code=form_code,
            effective_from__lte=on,
            voided_at__isnull=True,
        )
        .order_by("-effective_from", "-id")
        .first()
    )
    if row is None:
        raise ValidationFailed(
            "form_version_missing",
            _("No version of this form is recorded for your organisation; record one first."),
            {"form_version": [_("Record the form version on the official forms page.")]},
        )
    return row


def filed_document_generate(
    *, actor: User, form_code: str, subject_id: str, params: dict[str, Any] | None = None
) -> FiledDocument:
    """Fill the form from the records, refuse while a required item is empty, keep the PDF."""
    _require_filer(actor)
    content = form_preview(actor=actor, form_code=form_code, subject_id=subject_id, params=params)
    if content.missing():
        raise missing_error(content)
    today = today_tokyo()
    version = form_version_current(organisation=actor.organisation, form_code=form_code, on=today)
    pdf = render_pdf(
        content=content,
        form_name=version.name_ja,
        version=version.version,
        source=version.source,
        on=today,
    )
    digest = hashlib.sha256(pdf).hexdigest()
    plan = content.plan if isinstance(content.plan, ProvisionPlan) else None
    with transaction.atomic():
        doc = FiledDocument.objects.create(
            organisation=actor.organisation,
            form_version=version,
            form_code=form_code,
            subject_type=form_code,
            subject_id=str(subject_id),
            subject_label=content.subject_label[:200],
            plan=plan,
            generated_by=actor,
            sha256=digest,
            items=[{"number": i.number, "label": i.label, "value": i.value} for i in content.items],
            pdf=pdf,
        )
        audit_record(
            actor=actor,
            organisation=actor.organisation,
            action="filed_document.generate",
            subject=doc,
            changes={
                "form": form_code,
                "form_version": version.version,
                "subject": doc.subject_label,
                "sha256": digest,
            },
        )
    return doc


def standard_document_add(
    *,
    actor: User,
    facility: ProcessingFacility,
    kind: str,
    document_number: str,
    title: str,
    version: str,
    effective_from: dt.date,
    approved_by: str,
    plan: ProvisionPlan | None = None,
) -> StandardDocument:
    """A new version of a facility's 標準書 or SOP (Enforcement Regulation Art. 97, 99, 100)."""
    if not permissions.can_manage_standard_documents(actor):
        raise Forbidden()
    if facility.organisation_id != actor.organisation_id:
        raise Forbidden()
    errors: dict[str, list[Any]] = {}
    if kind not in StandardDocument.Kind.values:
        errors["kind"] = [_("Choose a product standard or an SOP.")]
    if kind == StandardDocument.Kind.STANDARD and plan is None:
        errors["plan"] = [_("A product standard belongs to a plan.")]
    if plan is not None and plan.organisation_id != actor.organisation_id:
        errors["plan"] = [_("Unknown plan.")]
    for name, value in (
        ("document_number", document_number),
        ("title", title),
        ("version", version),
        ("approved_by", approved_by),
    ):
        if not str(value).strip():
            errors[name] = [_("Required.")]
    if (
        not errors
        and StandardDocument.objects.filter(
            facility=facility, document_number=document_number, version=version
        ).exists()
    ):
        errors["version"] = [_("This version is already recorded.")]
    if errors:
        raise ValidationFailed("standard_document_invalid", _("Check the document."), errors)
    with transaction.atomic():
        doc = StandardDocument.objects.create(
            organisation=facility.organisation,
            facility=facility,
            kind=kind,
            plan=plan,
            document_number=document_number,
            title=title,
            version=version,
            effective_from=effective_from,
            approved_by=approved_by,
        )
        audit_record(
            actor=actor,
            organisation=facility.organisation,
            action="standard_document.create",
            subject=doc,
            changes={
                "facility": facility.facility_number,
                "kind": kind,
                "document_number": document_number,
                "version": version,
                "effective_from": effective_from.isoformat(),
            },
        )
    return doc


def standard_documents_in_force(
    *, facility: ProcessingFacility, plan: ProvisionPlan, on: dt.date
) -> list[StandardDocument]:
    """The latest version in effect on ``on`` of each of the facility's documents that apply to
    the plan (its 標準書 and every SOP); refuses when there is no 標準書 for the plan (fail closed)."""
    rows = StandardDocument.objects.filter(
        facility=facility, effective_from__lte=on, voided_at__isnull=True
    ).order_by("document_number", "-effective_from", "-id")
    current: dict[str, StandardDocument] = {}
    for row in rows:
        if row.kind == StandardDocument.Kind.STANDARD and row.plan_id != plan.pk:
            continue
        current.setdefault(row.document_number, row)
    docs = list(current.values())
    if not any(d.kind == StandardDocument.Kind.STANDARD for d in docs):
        raise ValidationFailed(
            "standard_document_missing",
            _(
                "The processing facility has no product standard (標準書) in effect for this "
                "plan; record it before starting a lot (Enforcement Regulation Art. 99)."
            ),
            {"standard_document": [_("Record the facility's 標準書 for the plan.")]},
        )
    return docs
