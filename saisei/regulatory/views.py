"""Compliance screens: dashboard, plans with history and version diff, obligations, registry."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import ForeignObjectRel
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from saisei.core.errors import DomainError, Forbidden, NotFound
from saisei.core.forms import choice_field, model_choice_field
from saisei.core.paging import BoundedPaginator
from saisei.core.permissions import staff_user
from saisei.core.views import render_form_error
from saisei.regulatory import config, permissions, selectors, services
from saisei.regulatory.duties_selectors import duties_dashboard
from saisei.regulatory.lifecycles import PLAN
from saisei.regulatory.models import (
    CellOrigin,
    CellType,
    CertifiedCommittee,
    MedicalInstitution,
    PeriodicReport,
    Physician,
    PlanState,
    PlanVersion,
    ProcessingFacility,
    ProvisionPlan,
    today_tokyo,
)
from saisei.regulatory.rules import (
    MINOR_CHANGE_FIELDS,
    class1_first_provision_day,
)
from saisei.regulatory.services.obligations import rule_text

# What each step is called on screens: the label in the lifecycle table.
TRANSITION_LABELS: dict[str, Any] = {t.name: t.label for t in PLAN.transitions}

STATUS_LEVEL: dict[str, str] = {
    PlanState.IN_FORCE: "ok",
    PlanState.SUSPENDED: "danger",
    PlanState.CHANGE_ORDERED: "danger",
    PlanState.ACCEPTED: "warn",
    PlanState.DISCONTINUED: "warn",
}

# A minor change may set only the administrative fields of the cited table (rules.changes).
MINOR_FIELDS = tuple(MINOR_CHANGE_FIELDS)

if TYPE_CHECKING:
    from saisei.core.models import Site, User


def _field_label(name: str) -> Any:
    field = PlanVersion._meta.get_field(name)
    if isinstance(field, ForeignObjectRel):
        raise TypeError(f"{name} is a relation, not a field of a plan version")
    return field.verbose_name


def web(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Signed-in staff only; an object outside scope is a 404 and a refused role a 403."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except NotFound as exc:
            raise Http404 from exc
        except Forbidden as exc:
            raise PermissionDenied from exc

    return login_required(wrapper)


def _require_view(request: HttpRequest) -> None:
    if not permissions.can_view_regulatory(staff_user(request)):
        raise Forbidden()


class TransitionForm(forms.Form):
    name = forms.ChoiceField(label=_("Step"))
    version = forms.ChoiceField(label=_("Version"))
    effective_date = forms.DateField(
        label=_("Date the step took effect"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Leave empty for today (Japan time)."),
    )
    plan_number = forms.CharField(label=_("Plan number (計画番号)"), required=False, max_length=60)
    reception_number = forms.CharField(
        label=_("Reception number (受付番号)"), required=False, max_length=60
    )
    reference = forms.CharField(label=_("Reference document"), required=False, max_length=200)
    reason = forms.CharField(
        label=_("Reason or note"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    suspension_lifted = forms.BooleanField(
        label=_("The suspension or order has been lifted"), required=False
    )
    follow_up_end_date = forms.DateField(
        label=_("Follow-up of treated patients ended on"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    minor_field = forms.ChoiceField(label=_("Minor change: field"), required=False)
    minor_value = forms.CharField(
        label=_("Minor change: new value"),
        required=False,
        help_text=_(
            "Only administrative details change by a minor change; anything about the "
            "treatment itself needs a non-minor change reviewed by the committee."
        ),
    )

    def __init__(self, *args: Any, plan: ProvisionPlan, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choice_field(self, "name").choices = [(t.name, t.label) for t in PLAN.transitions]
        versions = list(plan.versions.all())
        choice_field(self, "version").choices = [
            (str(v.external_id), f"v{v.number} · {v.get_state_display()}")
            for v in sorted(versions, key=lambda v: -v.number)
        ]
        choice_field(self, "minor_field").choices = [
            ("", "—"),
            *((f, _field_label(f)) for f in MINOR_FIELDS),
        ]

    def minor_changes(self) -> dict[str, Any] | None:
        name, raw = self.cleaned_data.get("minor_field"), self.cleaned_data.get("minor_value", "")
        if not name:
            return None
        return {name: raw}


class MarkDoneForm(forms.Form):
    submitted_date = forms.DateField(
        label=_("Submitted on"), widget=forms.DateInput(attrs={"type": "date"})
    )
    evidence = forms.CharField(
        label=_("Evidence of submission"),
        help_text=_("Receipt number from e-再生医療, or where the filed document is kept."),
        widget=forms.Textarea(attrs={"rows": 2}),
    )


def _obligation_rows(obligations: Any, today: dt.date) -> list[dict[str, Any]]:
    rows = []
    for ob in obligations:
        status = ob.effective_status(today)
        rows.append(
            {
                "obligation": ob,
                "title": rule_text(ob.rule_id, ob.title),
                "status": status,
                "level": {"overdue": "danger", "done": "ok"}.get(
                    status, "warn" if (ob.due_date - today).days <= 7 else ""
                ),
                "days_left": (ob.due_date - today).days,
                "days_late": (today - ob.due_date).days,
            }
        )
    return rows


DASHBOARD_ROWS = 50
"""Obligations shown on the compliance dashboard; the rest are counted and linked."""


@web
def dashboard(request: HttpRequest) -> HttpResponse:
    """One page for the compliance officer: plans by status, overdue then due within 30 days."""
    _require_view(request)
    today = today_tokyo()
    plans = list(selectors.plan_list(actor=staff_user(request)))
    by_status: dict[str, list[ProvisionPlan]] = {}
    for plan in plans:
        by_status.setdefault(plan.status, []).append(plan)
    status_groups = [
        {
            "status": state,
            "label": state.label,
            "level": STATUS_LEVEL.get(state, ""),
            "plans": by_status[state.value],
        }
        for state in PlanState
        if state.value in by_status
    ]
    # Bounded like the CPC board; the paged obligation list holds them all.
    urgent = selectors.urgent_obligations(
        actor=staff_user(request), today=today, limit=DASHBOARD_ROWS
    )
    rows = _obligation_rows(urgent.rows, today)
    return render(
        request,
        "regulatory/dashboard.html",
        {
            "status_groups": status_groups,
            "rows": rows,
            "rows_total": urgent.total,
            "dashboard_rows": DASHBOARD_ROWS,
            "overdue_count": urgent.overdue,
            "today": today,
            "facility_reports": selectors.facility_report_rows(
                actor=staff_user(request), today=today
            ),
            "can_view_obligations": permissions.can_view_obligations(staff_user(request)),
            "can_complete": permissions.can_complete_obligation(staff_user(request)),
            "duties": duties_dashboard(actor=staff_user(request), today=today),
        },
    )


@web
def plan_list(request: HttpRequest) -> HttpResponse:
    _require_view(request)
    status = request.GET.get("status") or None
    qs = selectors.plan_list(actor=staff_user(request), status=status)
    page = BoundedPaginator(qs, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "regulatory/plan_list.html",
        {
            "page": page,
            "status": status,
            "states": PlanState.choices,
            "levels": STATUS_LEVEL,
            "can_change": permissions.can_change_plan(staff_user(request)),
        },
    )


def _plan_context(request: HttpRequest, plan: ProvisionPlan) -> dict[str, Any]:
    versions = list(plan.versions.all())
    diffs = []
    for prev, cur in zip([None, *versions[:-1]], versions, strict=True):
        if prev is not None:
            diffs.append({"from": prev, "to": cur, "rows": selectors.version_diff(prev, cur)})
    today = today_tokyo()
    obligations = selectors.obligation_list(actor=staff_user(request), plan=plan, today=today)
    current = selectors.version_in_force(versions, day=today)
    can_change = permissions.can_change_plan(staff_user(request))
    next_steps = []
    if can_change:
        from saisei.regulatory.services.plans import plan_next_steps

        for v in versions:
            for name in plan_next_steps(actor=staff_user(request), version=v):
                next_steps.append({"version": v, "name": name, "label": TRANSITION_LABELS[name]})
    first_day = None
    if current is not None and current.declared_risk_class == 1 and current.submitted_date:
        first_day = class1_first_provision_day(
            submitted_date=current.submitted_date, config=config.deadline_config()
        )
    return {
        "plan": plan,
        "versions": versions,
        "current": current,
        "next_steps": next_steps,
        "class1_first_day": first_day,
        "transitions": list(plan.transitions.all()),
        "diffs": diffs,
        "rows": _obligation_rows(obligations, today),
        "periodic": [
            {"index": int(o.subject_id.rsplit(":", 1)[1]), "obligation": o}
            for o in obligations
            if o.rule_id == "PERIODIC-REPORT"
        ],
        "can_change": can_change,
        "can_complete": permissions.can_complete_obligation(staff_user(request)),
        "can_file_forms": permissions.can_view_forms(staff_user(request)),
        "labels": TRANSITION_LABELS,
        "level": STATUS_LEVEL.get(plan.status, ""),
    }


@web
def plan_detail(request: HttpRequest, external_id: str) -> HttpResponse:
    _require_view(request)
    plan = selectors.plan_detail_get(actor=staff_user(request), external_id=external_id)
    context = _plan_context(request, plan)
    if context["can_change"]:
        context["form"] = TransitionForm(plan=plan)
    return render(request, "regulatory/plan_detail.html", context)


@web
@require_POST
def plan_transition(request: HttpRequest, external_id: str) -> HttpResponse:
    """Record a lifecycle step; a refused step is shown on the form with the rule's reason."""
    _require_view(request)
    plan = selectors.plan_detail_get(actor=staff_user(request), external_id=external_id)
    form = TransitionForm(request.POST, plan=plan)
    context = _plan_context(request, plan)
    if not permissions.can_change_plan(staff_user(request)):
        raise Forbidden()
    if not form.is_valid():
        return render(request, "regulatory/plan_detail.html", {**context, "form": form}, status=400)
    changes = form.minor_changes()
    if form.errors:
        return render(request, "regulatory/plan_detail.html", {**context, "form": form}, status=400)
    version = next(
        v for v in context["versions"] if str(v.external_id) == form.cleaned_data["version"]
    )
    data = form.cleaned_data
    try:
        services.plan_transition(
            actor=staff_user(request),
            version=version,
            name=data["name"],
            effective_date=data["effective_date"],
            reason=data["reason"],
            reference=data["reference"],
            plan_number=data["plan_number"],
            reception_number=data["reception_number"],
            suspension_lifted=data["suspension_lifted"],
            follow_up_end_date=data["follow_up_end_date"],
            changes=changes,
        )
    except DomainError as exc:
        if changes and any(f not in form.fields for f in exc.fields):
            # A refused minor change names plan fields; show them on the form's value field.
            exc.fields = {"minor_value": [m for msgs in exc.fields.values() for m in msgs]}
        return render_form_error(request, "regulatory/plan_detail.html", context, exc, form)
    messages.success(request, _("The step was recorded."))
    return redirect("regulatory:plan_detail", external_id=plan.external_id)


@web
def obligation_list(request: HttpRequest) -> HttpResponse:
    if not permissions.can_view_obligations(staff_user(request)):
        raise Forbidden()
    today = today_tokyo()
    status = request.GET.get("status") or None
    within = request.GET.get("within")
    days = int(within) if within and within.isdigit() else None
    qs = selectors.obligation_list(
        actor=staff_user(request), status=status, due_within_days=days, today=today
    )
    page = BoundedPaginator(qs, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "regulatory/obligation_list.html",
        {
            "page": page,
            "rows": _obligation_rows(page.object_list, today),
            "status": status,
            "within": within or "",
            "can_complete": permissions.can_complete_obligation(staff_user(request)),
        },
    )


@web
def obligation_done(request: HttpRequest, external_id: str) -> HttpResponse:
    if not permissions.can_view_obligations(staff_user(request)):
        raise Forbidden()
    obligation = selectors.obligation_get(actor=staff_user(request), external_id=external_id)
    form = MarkDoneForm(request.POST or None, initial={"submitted_date": today_tokyo()})
    context = {
        "obligation": obligation,
        "title": rule_text(obligation.rule_id, obligation.title),
        "can_complete": permissions.can_complete_obligation(staff_user(request)),
    }
    if request.method == "POST":
        if not form.is_valid():
            return render(
                request, "regulatory/obligation_done.html", {**context, "form": form}, status=400
            )
        try:
            services.obligation_mark_done(
                actor=staff_user(request),
                obligation=obligation,
                submitted_date=form.cleaned_data["submitted_date"],
                evidence=form.cleaned_data["evidence"],
            )
        except DomainError as exc:
            return render_form_error(request, "regulatory/obligation_done.html", context, exc, form)
        messages.success(request, _("Marked as done."))
        return redirect(obligation.concerns_url or "regulatory:obligation_list")
    return render(request, "regulatory/obligation_done.html", {**context, "form": form})


@web
def registry(request: HttpRequest) -> HttpResponse:
    _require_view(request)
    today = today_tokyo()
    facilities = list(selectors.facility_list(actor=staff_user(request)))
    return render(
        request,
        "regulatory/registry.html",
        {
            "institutions": list(selectors.institution_list(actor=staff_user(request))),
            "committees": list(selectors.committee_list(actor=staff_user(request))),
            "facilities": [(f, f.authorisation_on(today)) for f in facilities],
            "physicians": list(selectors.physician_list(actor=staff_user(request))),
            "can_manage": permissions.can_manage_registry(staff_user(request)),
        },
    )


# --- periodic reports --------------------------------------------------------------------


class ReviewForm(forms.Form):
    review_date = forms.DateField(
        label=_("Committee reviewed on"), widget=forms.DateInput(attrs={"type": "date"})
    )
    opinion = forms.CharField(
        label=_("Committee opinion"), widget=forms.Textarea(attrs={"rows": 2})
    )


class SubmitForm(forms.Form):
    submitted_date = forms.DateField(
        label=_("Filed on"), widget=forms.DateInput(attrs={"type": "date"})
    )
    evidence = forms.CharField(
        label=_("Evidence of submission"), widget=forms.Textarea(attrs={"rows": 2})
    )


def _report_or_none(plan: ProvisionPlan, index: int) -> PeriodicReport | None:
    return PeriodicReport.objects.filter(plan=plan, period_index=index).first()


def _report_context(request: HttpRequest, plan: ProvisionPlan, index: int) -> dict[str, Any]:
    from saisei.regulatory.reports import render_value, tr

    report = _report_or_none(plan, index)
    lang = "ja" if (get_language() or "").startswith("ja") else "en"
    sections = []
    if report is not None:
        for s in (report.data or {}).get("sections", []):
            sections.append(
                {
                    "title": tr(s["title"], lang),
                    "available": s.get("available"),
                    "rows": [render_value(label, value, lang) for label, value in s["rows"]],
                }
            )
    return {
        "plan": plan,
        "index": index,
        "report": report,
        "sections": sections,
        "can_change": permissions.can_change_plan(staff_user(request)),
        "review_form": ReviewForm(initial={"review_date": today_tokyo()}),
        "submit_form": SubmitForm(initial={"submitted_date": today_tokyo()}),
    }


@web
def periodic_report(request: HttpRequest, external_id: str, index: int) -> HttpResponse:
    _require_view(request)
    plan = selectors.plan_get(actor=staff_user(request), external_id=external_id)
    return render(request, "regulatory/periodic_report.html", _report_context(request, plan, index))


@web
@require_POST
def periodic_report_action(
    request: HttpRequest, external_id: str, index: int, action: str
) -> HttpResponse:
    """Assemble, record committee review, or record filing; refusals shown on the page."""
    _require_view(request)
    plan = selectors.plan_get(actor=staff_user(request), external_id=external_id)
    context = _report_context(request, plan, index)
    report = context["report"]
    try:
        if action == "assemble":
            services.periodic_report_assemble(
                actor=staff_user(request), plan=plan, period_index=index
            )
        elif action == "review" and report is not None:
            form = ReviewForm(request.POST)
            context["review_form"] = form
            if not form.is_valid():
                return render(request, "regulatory/periodic_report.html", context, status=400)
            services.periodic_report_record_review(
                actor=staff_user(request),
                report=report,
                review_date=form.cleaned_data["review_date"],
                opinion=form.cleaned_data["opinion"],
            )
        elif action == "submit" and report is not None:
            submit_form = SubmitForm(request.POST)
            context["submit_form"] = submit_form
            if not submit_form.is_valid():
                return render(request, "regulatory/periodic_report.html", context, status=400)
            services.periodic_report_record_submission(
                actor=staff_user(request),
                report=report,
                submitted_date=submit_form.cleaned_data["submitted_date"],
                evidence=submit_form.cleaned_data["evidence"],
            )
        else:
            raise Http404
    except DomainError as exc:
        if isinstance(exc, NotFound | Forbidden):
            raise
        return render(
            request, "regulatory/periodic_report.html", {**context, "error": exc}, status=400
        )
    messages.success(request, _("Saved."))
    return redirect("regulatory:periodic_report", external_id=plan.external_id, index=index)


@web
def periodic_report_pdf(request: HttpRequest, external_id: str, index: int) -> HttpResponse:
    from saisei.regulatory.reports import report_pdf

    _require_view(request)
    plan = selectors.plan_get(actor=staff_user(request), external_id=external_id)
    report = _report_or_none(plan, index)
    if report is None:
        raise Http404
    lang = "en" if request.GET.get("lang") == "en" else "ja"
    response = HttpResponse(report_pdf(report=report, lang=lang), content_type="application/pdf")
    name = f"periodic-report-{plan.plan_number or plan.pk}-{index}-{lang}.pdf"
    response["Content-Disposition"] = f'inline; filename="{name}"'
    return response


@web
def periodic_report_data(request: HttpRequest, external_id: str, index: int) -> HttpResponse:
    _require_view(request)
    plan = selectors.plan_get(actor=staff_user(request), external_id=external_id)
    report = _report_or_none(plan, index)
    if report is None:
        raise Http404
    response = JsonResponse(
        {
            **report.data,
            "status": report.status,
            "due_date": report.due_date.isoformat(),
            "committee_review_date": report.committee_review_date,
            "committee_opinion": report.committee_opinion,
            "submitted_date": report.submitted_date,
        },
        json_dumps_params={"ensure_ascii": False},
    )
    name = f"periodic-report-{plan.plan_number or plan.pk}-{index}.json"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


# --- drafting and registry forms ---------------------------------------------------------


def _csv(value: str) -> list[str]:
    return [x.strip() for x in (value or "").split(",") if x.strip()]


class PlanForm(forms.Form):
    """A draft version's content (様式第1の2 items); the class is computed on save."""

    title = forms.CharField(label=_("Treatment name"), max_length=150)
    institution: forms.ModelChoiceField[MedicalInstitution] = forms.ModelChoiceField(
        label=_("Medical institution"), queryset=None
    )
    target_disease = forms.CharField(label=_("Target disease"), max_length=100)
    eligibility_summary = forms.CharField(
        label=_("Eligibility summary"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    cell_origin = forms.ChoiceField(label=_("Cell source"), choices=CellOrigin.choices)
    cell_type = forms.ChoiceField(label=_("Cell type"), choices=CellType.choices)
    tissue = forms.CharField(label=_("Tissue"), required=False, max_length=100)
    cell_characteristics = forms.CharField(
        label=_("Cell characteristics"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    gene_introduced = forms.BooleanField(label=_("A gene was introduced"), required=False)
    gene_edited = forms.BooleanField(label=_("Genes were edited"), required=False)
    cultured = forms.BooleanField(label=_("Cells are cultured"), required=False, initial=True)
    homologous_use = forms.BooleanField(
        label=_("Homologous use (same function at the target site)"), required=False
    )
    routes = forms.CharField(
        label=_("Routes allowed"), help_text=_("Separate with commas, e.g. iv, intrathecal.")
    )
    dose_min_cells = forms.IntegerField(label=_("Minimum dose (cells)"), min_value=1)
    dose_max_cells = forms.IntegerField(label=_("Maximum dose (cells)"), min_value=1)
    max_administrations = forms.IntegerField(
        label=_("Maximum number of administrations"), min_value=1
    )
    declared_risk_class = forms.TypedChoiceField(
        label=_("Declared risk class"),
        coerce=int,
        required=False,
        empty_value=None,
        choices=[("", _("Use the computed class")), (1, "1"), (2, "2"), (3, "3")],
    )
    committee: forms.ModelChoiceField[CertifiedCommittee] = forms.ModelChoiceField(
        label=_("Reviewing committee"), queryset=None
    )
    physicians: forms.ModelMultipleChoiceField[Physician] = forms.ModelMultipleChoiceField(
        label=_("Performing physicians"), queryset=None
    )
    facilities: forms.ModelMultipleChoiceField[ProcessingFacility] = forms.ModelMultipleChoiceField(
        label=_("Processing facilities"), queryset=None
    )
    consent_document_versions = forms.CharField(
        label=_("Consent document versions"),
        required=False,
        help_text=_("Separate with commas."),
    )
    documents_complete = forms.BooleanField(
        label=_("The plan's documents are complete"), required=False
    )
    change_summary = forms.CharField(
        label=_("What changed"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    administrator_name = forms.CharField(
        label=_("Administrator (管理者)"), required=False, max_length=100
    )
    contact_person = forms.CharField(
        label=_("Administrative contact (事務担当者)"), required=False, max_length=100
    )
    contact_phone = forms.CharField(label=_("Contact telephone"), required=False, max_length=30)
    contact_email = forms.EmailField(label=_("Contact e-mail"), required=False)
    responsible_physician: forms.ModelChoiceField[Physician] = forms.ModelChoiceField(
        label=_("Responsible physician (実施責任者)"), queryset=None, required=False
    )
    cell_name = forms.CharField(
        label=_("Name of the processed cells"), required=False, max_length=150
    )
    cell_processing_summary = forms.CharField(
        label=_("Processing summary (細胞の概要)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    patient_price_yen = forms.IntegerField(
        label=_("Price the patient pays (yen)"), required=False, min_value=0
    )
    research_registration_number = forms.CharField(
        label=_("Research registration number (e.g. jRCT)"), required=False, max_length=40
    )

    def __init__(self, *args: Any, actor: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        model_choice_field(self, "responsible_physician").queryset = selectors.physician_list(
            actor=actor
        )
        model_choice_field(self, "institution").queryset = selectors.institution_list(actor=actor)
        model_choice_field(self, "committee").queryset = selectors.committee_list(actor=actor)
        model_choice_field(self, "physicians").queryset = selectors.physician_list(actor=actor)
        model_choice_field(self, "facilities").queryset = selectors.facility_list(actor=actor)
        if editing:
            del self.fields["title"]
            del self.fields["institution"]

    def version_fields(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        for name in ("title", "institution", "committee", "physicians", "facilities"):
            data.pop(name, None)
        data["routes"] = _csv(data["routes"])
        data["consent_document_versions"] = _csv(data["consent_document_versions"])
        if data.get("declared_risk_class") is None:
            data.pop("declared_risk_class", None)
        return data


@web
def plan_new(request: HttpRequest) -> HttpResponse:
    if not permissions.can_change_plan(staff_user(request)):
        raise Forbidden()
    form = PlanForm(request.POST or None, actor=staff_user(request))
    context = {"form": form, "heading": _("New provision plan")}
    if request.method == "POST" and form.is_valid():
        try:
            plan = services.plan_create(
                actor=staff_user(request),
                institution=form.cleaned_data["institution"],
                title=form.cleaned_data["title"],
                committee=form.cleaned_data["committee"],
                physicians=form.cleaned_data["physicians"],
                facilities=form.cleaned_data["facilities"],
                **form.version_fields(),
            )
        except DomainError as exc:
            if isinstance(exc, NotFound | Forbidden):
                raise
            return render_form_error(request, "regulatory/plan_form.html", context, exc, form)
        messages.success(request, _("The draft plan was created."))
        return redirect("regulatory:plan_detail", external_id=plan.external_id)
    status = 400 if request.method == "POST" else 200
    return render(request, "regulatory/plan_form.html", context, status=status)


@web
def plan_version_edit(request: HttpRequest, external_id: str, version_id: str) -> HttpResponse:
    if not permissions.can_change_plan(staff_user(request)):
        raise Forbidden()
    plan = selectors.plan_get(actor=staff_user(request), external_id=external_id)
    from saisei.core.selectors import get_scoped

    version = get_scoped(plan.versions.all(), version_id)
    initial = {
        name: getattr(version, name)
        for name in PlanVersion.CONTENT_FIELDS
        if not name.endswith("_id")
    }
    initial.update(
        {
            "routes": ", ".join(version.routes),
            "consent_document_versions": ", ".join(version.consent_document_versions),
            "committee": version.committee,
            "physicians": list(version.physicians.all()),
            "facilities": list(version.facilities.all()),
            "documents_complete": version.documents_complete,
            "change_summary": version.change_summary,
            "responsible_physician": version.responsible_physician,
        }
    )
    form = PlanForm(request.POST or None, actor=staff_user(request), editing=True, initial=initial)
    context = {
        "form": form,
        "plan": plan,
        "heading": _("Edit draft version {n}").format(n=version.number),
    }
    if request.method == "POST" and form.is_valid():
        try:
            services.plan_version_update(
                actor=staff_user(request),
                version=version,
                committee=form.cleaned_data["committee"],
                physicians=form.cleaned_data["physicians"],
                facilities=form.cleaned_data["facilities"],
                **form.version_fields(),
            )
        except DomainError as exc:
            if isinstance(exc, NotFound | Forbidden):
                raise
            return render_form_error(request, "regulatory/plan_form.html", context, exc, form)
        messages.success(request, _("Saved."))
        return redirect("regulatory:plan_detail", external_id=plan.external_id)
    status = 400 if request.method == "POST" else 200
    return render(request, "regulatory/plan_form.html", context, status=status)


class InstitutionForm(forms.Form):
    site: forms.ModelChoiceField[Site] = forms.ModelChoiceField(label=_("Site"), queryset=None)
    name = forms.CharField(label=_("Name"), max_length=100)
    name_ja = forms.CharField(label=_("Name in Japanese"), max_length=100, required=False)
    administrator_name = forms.CharField(label=_("Administrator"), max_length=100)
    address = forms.CharField(label=_("Address"), max_length=100, required=False)
    emergency_capacity = forms.CharField(
        label=_("Emergency-care capacity"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args: Any, actor: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from saisei.core.selectors import site_list

        model_choice_field(self, "site").queryset = site_list(
            actor=actor, kind="medical_institution"
        )


class CommitteeForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    name_ja = forms.CharField(label=_("Name in Japanese"), max_length=200, required=False)
    kind = forms.ChoiceField(label=_("Type"), choices=CertifiedCommittee.Kind.choices)
    certification_number = forms.CharField(label=_("Certification number"), max_length=50)
    contact = forms.CharField(label=_("Contact"), required=False)

    def __init__(self, *args: Any, actor: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)


class FacilityForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    name_ja = forms.CharField(label=_("Name in Japanese"), max_length=200, required=False)
    authorisation = forms.ChoiceField(
        label=_("Authorisation"), choices=ProcessingFacility.Authorisation.choices
    )
    facility_number = forms.CharField(label=_("Facility number"), max_length=50)
    manager_name = forms.CharField(label=_("Manager"), max_length=100)
    authorisation_number = forms.CharField(
        label=_("Licence or notification number"), max_length=60, required=False
    )
    scope = forms.CharField(
        label=_("Scope (cell products and processes)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    valid_from = forms.DateField(
        label=_("Valid from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    valid_until = forms.DateField(
        label=_("Valid until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    country = forms.CharField(label=_("Country"), max_length=2, initial="JP")
    site: forms.ModelChoiceField[Site] = forms.ModelChoiceField(
        label=_("Site"), queryset=None, required=False
    )

    def __init__(self, *args: Any, actor: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from saisei.core.selectors import site_list

        model_choice_field(self, "site").queryset = site_list(
            actor=actor, kind="cell_processing_facility"
        )


class PhysicianForm(forms.Form):
    user: forms.ModelChoiceField[User] = forms.ModelChoiceField(
        label=_("Staff account"), queryset=None
    )
    name = forms.CharField(label=_("Name"), max_length=100)
    name_ja = forms.CharField(label=_("Name in Japanese"), max_length=100, required=False)
    licence_number = forms.CharField(label=_("Licence number"), max_length=30)
    institution: forms.ModelChoiceField[MedicalInstitution] = forms.ModelChoiceField(
        label=_("Institution"), queryset=None, required=False
    )

    def __init__(self, *args: Any, actor: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from saisei.core.models import User

        model_choice_field(self, "user").queryset = User.objects.filter(
            organisation_id=actor.organisation_id, physician__isnull=True, is_active=True
        )
        model_choice_field(self, "institution").queryset = selectors.institution_list(actor=actor)


REGISTRY_FORMS: dict[str, tuple[type[forms.Form], Callable[..., Any], Any]] = {
    "institution": (InstitutionForm, services.institution_create, _("Add a medical institution")),
    "committee": (CommitteeForm, services.committee_create, _("Add a certified committee")),
    "facility": (FacilityForm, services.facility_create, _("Add a cell processing facility")),
    "physician": (PhysicianForm, services.physician_create, _("Add a physician")),
}


@web
def registry_add(request: HttpRequest, kind: str) -> HttpResponse:
    if kind not in REGISTRY_FORMS:
        raise Http404
    if not permissions.can_manage_registry(staff_user(request)):
        raise Forbidden()
    form_class, service, heading = REGISTRY_FORMS[kind]
    form = form_class(request.POST or None, actor=staff_user(request))  # type: ignore[call-arg]
    context = {"form": form, "heading": heading}
    if request.method == "POST" and form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if v not in (None, "")}
        try:
            service(actor=staff_user(request), **data)
        except DomainError as exc:
            if isinstance(exc, NotFound | Forbidden):
                raise
            return render_form_error(request, "regulatory/plan_form.html", context, exc, form)
        messages.success(request, _("Saved."))
        return redirect("regulatory:registry")
    status = 400 if request.method == "POST" else 200
    return render(request, "regulatory/plan_form.html", context, status=status)


ACT_LABELS: dict[str, Any] = {
    "harvest": _("Harvest of cells for processing"),
    "administration": _("Administration (infusion)"),
}


@web
def gate_refusal_list(request: HttpRequest) -> HttpResponse:
    """Acts the compliance gate refused: the evidence that no act happened outside a plan."""
    actor = staff_user(request)
    if not permissions.can_view_gate_refusals(actor):
        raise Forbidden()
    act = request.GET.get("act") or ""
    page = BoundedPaginator(selectors.gate_refusal_list(actor=actor, act=act), 50).get_page(
        request.GET.get("page")
    )
    language = get_language() or "en"
    rows = [
        {
            "refusal": r,
            "act_label": ACT_LABELS.get(r.act, r.act),
            "blocking": [
                {
                    **f,
                    "message": f.get("message_ja") if language.startswith("ja") else f["message"],
                }
                for f in r.findings
                if f.get("severity") == "block"
            ],
        }
        for r in page.object_list
    ]
    return render(
        request,
        "regulatory/gate_refusal_list.html",
        {"page": page, "rows": rows, "act": act, "acts": list(ACT_LABELS.items())},
    )
