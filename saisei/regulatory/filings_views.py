"""Official forms screens: form versions, the missing-items check before generation, generated
documents, the plan export download, and the processing facilities' standard documents."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from saisei.core.errors import DomainError, Forbidden, NotFound
from saisei.core.permissions import staff_user
from saisei.core.registry import official_forms
from saisei.regulatory import permissions, selectors, services
from saisei.regulatory.filings import form_get, form_preview
from saisei.regulatory.filings_api import plan_export
from saisei.regulatory.models import (
    Obligation,
    ObligationKind,
    PeriodicReport,
    PlanTransition,
    PlanVersion,
    ProcessingFacility,
    ProvisionPlan,
    StandardDocument,
)
from saisei.regulatory.rules.forms import FORMS as SHIPPED
from saisei.regulatory.views import web


def _form_error(form: forms.Form, exc: DomainError) -> None:
    for field, msg in exc.form_errors():
        form.add_error(field if field in form.fields else None, msg)


def _require_forms(request: HttpRequest) -> Any:
    actor = staff_user(request)
    if not permissions.can_view_forms(actor):
        raise Forbidden()
    return actor


class FormVersionForm(forms.Form):
    form_code = forms.ChoiceField(label=_("Form"), choices=())
    version = forms.CharField(label=_("Version"), max_length=60)
    effective_from = forms.DateField(
        label=_("In effect from"), widget=forms.DateInput(attrs={"type": "date"})
    )
    source = forms.CharField(
        label=_("Notice or ordinance that defines it"),
        max_length=400,
        help_text=_("For example the MHLW notice number and date that revised the form."),
    )
    certain = forms.BooleanField(label=_("Verified against the primary text"), required=False)
    note = forms.CharField(
        label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["form_code"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(c, f.name_ja) for c, f in SHIPPED.items()]


def _subjects(actor: Any) -> dict[str, list[tuple[str, str]]]:
    """What each form can be generated for, so the page links straight to the check."""
    org_plans = permissions.scope_regulatory(actor, ProvisionPlan.objects.all())
    versions = (
        PlanVersion.objects.filter(plan__in=org_plans, voided_at__isnull=True)
        .select_related("plan")
        .order_by("plan__title", "number")
    )
    transitions = PlanTransition.objects.filter(
        plan__in=org_plans, name__in=("record_minor_change", "discontinue")
    ).select_related("plan")
    reports = PeriodicReport.objects.filter(plan__in=org_plans).select_related("plan")
    facility_obligations = permissions.scope_obligations(
        actor,
        Obligation.objects.filter(kind=ObligationKind.FACILITY_REPORT, facility__isnull=False),
    ).select_related("facility")
    out: dict[str, list[tuple[str, str]]] = {code: [] for code in official_forms()}
    for v in versions:
        label = f"{v.plan.plan_number or '—'} {v.plan.title} v{v.number}"
        out["plan"].append((str(v.external_id), label))
        if v.number > 1:
            out["change"].append((str(v.external_id), label))
    for t in transitions:
        key = "minor_change" if t.name == "record_minor_change" else "discontinuation"
        out[key].append((str(t.external_id), f"{t.plan.title} {t.effective_date.isoformat()}"))
    for r in reports:
        out["periodic"].append(
            (str(r.external_id), f"{r.plan.title} #{r.period_index} ({r.period_start:%Y-%m-%d})")
        )
    for o in facility_obligations:
        assert o.facility is not None
        out["cpc_yearly"].append(
            (str(o.external_id), f"{o.facility.name} {o.period_start or ''}–{o.period_end or ''}")
        )
    return out


@web
def forms_home(request: HttpRequest) -> HttpResponse:
    actor = _require_forms(request)
    can_file = permissions.can_file_forms(actor)
    form = FormVersionForm()
    status = 200
    if request.method == "POST":
        if not can_file:
            raise Forbidden()
        if request.POST.get("install"):
            services.form_versions_install(actor=actor, organisation=actor.organisation)
            messages.success(request, _("The shipped form versions are recorded."))
            return redirect("regulatory:forms_home")
        form = FormVersionForm(request.POST)
        if form.is_valid():
            try:
                services.form_version_add(actor=actor, **form.cleaned_data)
            except DomainError as exc:
                _form_error(form, exc)
                status = 422
            else:
                messages.success(request, _("Form version recorded."))
                return redirect("regulatory:forms_home")
        else:
            status = 400
    versions = list(selectors.form_version_list(actor=actor))
    by_code: dict[str, list[Any]] = {}
    for v in versions:
        by_code.setdefault(v.form_code, []).append(v)
    subjects = _subjects(actor)
    rows = [
        {
            "code": code,
            "shipped": SHIPPED.get(code),
            "versions": by_code.get(code, []),
            "subjects": subjects.get(code, []),
        }
        for code in official_forms()
    ]
    return render(
        request,
        "regulatory/forms_home.html",
        {
            "rows": rows,
            "form": form,
            "can_file": can_file,
            "documents": selectors.filed_document_list(actor=actor)[:50],
            "safety_link": reverse("safety:event_list"),
        },
        status=status,
    )


@web
def form_check(request: HttpRequest, form_code: str, subject: str) -> HttpResponse:
    """The form filled from the records; the missing items first, each linked to where to fill it.

    Generating (POST) is refused while an item is missing: the same 422 as the API."""
    actor = _require_forms(request)
    form_get(form_code)
    content = form_preview(actor=actor, form_code=form_code, subject_id=subject)
    error = None
    status = 200
    if request.method == "POST":
        if not permissions.can_file_forms(actor):
            raise Forbidden()
        try:
            doc = services.filed_document_generate(
                actor=actor, form_code=form_code, subject_id=subject
            )
        except DomainError as exc:
            error = exc
            status = 422 if exc.code in ("form_items_missing", "form_version_missing") else 400
        else:
            messages.success(request, _("The document is generated and kept."))
            return redirect("regulatory:filed_document_pdf", external_id=doc.external_id)
    name = SHIPPED[form_code].name_ja if form_code in SHIPPED else form_code
    return render(
        request,
        "regulatory/form_check.html",
        {
            "content": content,
            "missing": content.missing(),
            "form_name": name,
            "form_code": form_code,
            "error": error,
            "can_file": permissions.can_file_forms(actor),
        },
        status=status,
    )


@web
def filed_document_pdf(request: HttpRequest, external_id: str) -> HttpResponse:
    doc = selectors.filed_document_get(actor=staff_user(request), external_id=external_id)
    response = HttpResponse(bytes(doc.pdf), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{doc.form_code}-{doc.external_id}.pdf"'
    return response


@web
def plan_export_download(request: HttpRequest, external_id: str, fmt: str) -> HttpResponse:
    if fmt not in ("json", "csv"):
        raise NotFound(_("No such export format."))
    return plan_export(staff_user(request), external_id, request.GET.get("version"), fmt)


class StandardDocumentForm(forms.Form):
    facility = forms.ModelChoiceField(
        label=_("Processing facility"), queryset=ProcessingFacility.objects.none()
    )
    kind = forms.ChoiceField(label=_("Kind"), choices=StandardDocument.Kind.choices)
    plan = forms.ModelChoiceField(
        label=_("Plan (for a product standard)"),
        queryset=ProvisionPlan.objects.none(),
        required=False,
    )
    document_number = forms.CharField(label=_("Document number"), max_length=60)
    title = forms.CharField(label=_("Title"), max_length=200)
    version = forms.CharField(label=_("Version"), max_length=30)
    effective_from = forms.DateField(
        label=_("In effect from"), widget=forms.DateInput(attrs={"type": "date"})
    )
    approved_by = forms.CharField(label=_("Approved by"), max_length=100)

    def __init__(self, *args: Any, actor: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["facility"].queryset = selectors.facility_list(actor=actor)  # type: ignore[attr-defined]
        self.fields["plan"].queryset = selectors.plan_list(actor=actor)  # type: ignore[attr-defined]


@web
def standard_documents(request: HttpRequest) -> HttpResponse:
    actor = staff_user(request)
    if not permissions.can_view_regulatory(actor):
        raise Forbidden()
    can_manage = permissions.can_manage_standard_documents(actor)
    form = StandardDocumentForm(actor=actor)
    status = 200
    if request.method == "POST":
        if not can_manage:
            raise Forbidden()
        form = StandardDocumentForm(request.POST, actor=actor)
        if form.is_valid():
            try:
                services.standard_document_add(actor=actor, **form.cleaned_data)
            except DomainError as exc:
                _form_error(form, exc)
                status = 422
            else:
                messages.success(request, _("Document version recorded."))
                return redirect("regulatory:standard_documents")
        else:
            status = 400
    return render(
        request,
        "regulatory/standard_documents.html",
        {
            "documents": selectors.standard_document_list(actor=actor),
            "form": form,
            "can_manage": can_manage,
        },
        status=status,
    )
