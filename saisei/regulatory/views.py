"""Compliance screens: dashboard, plans with history and version diff, obligations, registry."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import wraps
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from saisei.core.errors import DomainError, Forbidden, NotFound
from saisei.core.views import render_form_error
from saisei.regulatory import permissions, selectors, services
from saisei.regulatory.models import PlanState, PlanVersion, ProvisionPlan, today_tokyo
from saisei.regulatory.rules import TRANSITIONS
from saisei.regulatory.services.obligations import rule_text

TRANSITION_LABELS: dict[str, Any] = {
    "submit_for_review": _("Send to the committee for review"),
    "record_favourable_opinion": _("Record favourable committee opinion"),
    "record_changes_requested": _("Record committee request for changes"),
    "record_unfavourable_opinion": _("Record unfavourable committee opinion"),
    "revise": _("Revise the plan (back to draft)"),
    "submit_to_authority": _("Record filing with the authority"),
    "record_acceptance": _("Record acceptance and plan number"),
    "bring_into_force": _("Bring into force"),
    "record_change_order": _("Record an order to change the plan"),
    "revise_after_change_order": _("Send the revised plan to the committee"),
    "suspend": _("Suspend provision"),
    "resume": _("Resume provision"),
    "record_minor_change": _("Record a minor change"),
    "start_major_change": _("Start a non-minor change (new version)"),
    "supersede": _("Mark superseded"),
    "discontinue": _("Discontinue provision"),
    "withdraw": _("Withdraw the plan"),
    "close": _("Close the plan (follow-up finished)"),
}

STATUS_LEVEL = {
    PlanState.IN_FORCE: "ok",
    PlanState.SUSPENDED: "danger",
    PlanState.CHANGE_ORDERED: "danger",
    PlanState.ACCEPTED: "warn",
    PlanState.DISCONTINUED: "warn",
}

MINOR_FIELDS = (
    "treatment_name",
    "target_disease",
    "eligibility_summary",
    "tissue",
    "cell_characteristics",
    "routes",
    "dose_min_cells",
    "dose_max_cells",
    "max_administrations",
    "consent_document_versions",
)
LIST_FIELDS = {"routes", "consent_document_versions"}
INT_FIELDS = {"dose_min_cells", "dose_max_cells", "max_administrations"}


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
    if not permissions.can_view_regulatory(request.user):
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
        help_text=_("For lists (routes, consent documents) separate the items with commas."),
    )

    def __init__(self, *args: Any, plan: ProvisionPlan, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["name"].choices = [(n, TRANSITION_LABELS.get(n, n)) for n in TRANSITIONS]
        versions = list(plan.versions.all())
        self.fields["version"].choices = [
            (str(v.external_id), f"v{v.number} · {v.get_state_display()}")
            for v in sorted(versions, key=lambda v: -v.number)
        ]
        self.fields["minor_field"].choices = [("", "—")] + [
            (f, PlanVersion._meta.get_field(f).verbose_name) for f in MINOR_FIELDS
        ]

    def minor_changes(self) -> dict[str, Any] | None:
        name, raw = self.cleaned_data.get("minor_field"), self.cleaned_data.get("minor_value", "")
        if not name:
            return None
        value: Any = raw
        if name in LIST_FIELDS:
            value = [x.strip() for x in raw.split(",") if x.strip()]
        elif name in INT_FIELDS:
            try:
                value = int(float(raw))
            except ValueError:
                self.add_error("minor_value", _("Enter a number."))
                return None
        return {name: value}


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


@web
def dashboard(request: HttpRequest) -> HttpResponse:
    """One page for the compliance officer: plans by status, overdue then due within 30 days."""
    _require_view(request)
    today = today_tokyo()
    plans = list(selectors.plan_list(actor=request.user))
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
    obligations = selectors.obligation_list(
        actor=request.user, overdue=True, due_within_days=30, today=today
    )
    rows = _obligation_rows(obligations, today)
    return render(
        request,
        "regulatory/dashboard.html",
        {
            "status_groups": status_groups,
            "rows": rows,
            "overdue_count": sum(1 for r in rows if r["status"] == "overdue"),
            "today": today,
            "can_view_obligations": permissions.can_view_obligations(request.user),
        },
    )


@web
def plan_list(request: HttpRequest) -> HttpResponse:
    _require_view(request)
    status = request.GET.get("status") or None
    qs = selectors.plan_list(actor=request.user, status=status)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "regulatory/plan_list.html",
        {"page": page, "status": status, "states": PlanState.choices, "levels": STATUS_LEVEL},
    )


def _plan_context(request: HttpRequest, plan: ProvisionPlan) -> dict[str, Any]:
    versions = list(plan.versions.all())
    diffs = []
    for prev, cur in zip([None, *versions[:-1]], versions, strict=True):
        if prev is not None:
            diffs.append({"from": prev, "to": cur, "rows": selectors.version_diff(prev, cur)})
    today = today_tokyo()
    obligations = selectors.obligation_list(actor=request.user, plan=plan, today=today)
    return {
        "plan": plan,
        "versions": versions,
        "current": selectors.version_in_force(versions, day=today),
        "transitions": list(plan.transitions.all()),
        "diffs": diffs,
        "rows": _obligation_rows(obligations, today),
        "can_change": permissions.can_change_plan(request.user),
        "labels": TRANSITION_LABELS,
        "level": STATUS_LEVEL.get(plan.status, ""),
    }


@web
def plan_detail(request: HttpRequest, external_id: str) -> HttpResponse:
    _require_view(request)
    plan = selectors.plan_detail_get(actor=request.user, external_id=external_id)
    context = _plan_context(request, plan)
    if context["can_change"]:
        context["form"] = TransitionForm(plan=plan)
    return render(request, "regulatory/plan_detail.html", context)


@web
@require_POST
def plan_transition(request: HttpRequest, external_id: str) -> HttpResponse:
    """Record a lifecycle step; a refused step is shown on the form with the rule's reason."""
    _require_view(request)
    plan = selectors.plan_detail_get(actor=request.user, external_id=external_id)
    form = TransitionForm(request.POST, plan=plan)
    context = _plan_context(request, plan)
    if not permissions.can_change_plan(request.user):
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
            actor=request.user,
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
        return render_form_error(request, "regulatory/plan_detail.html", context, exc, form)
    messages.success(request, _("The step was recorded."))
    return redirect("regulatory:plan_detail", external_id=plan.external_id)


@web
def obligation_list(request: HttpRequest) -> HttpResponse:
    if not permissions.can_view_obligations(request.user):
        raise Forbidden()
    today = today_tokyo()
    status = request.GET.get("status") or None
    within = request.GET.get("within")
    days = int(within) if within and within.isdigit() else None
    qs = selectors.obligation_list(
        actor=request.user, status=status, due_within_days=days, today=today
    )
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "regulatory/obligation_list.html",
        {
            "page": page,
            "rows": _obligation_rows(page.object_list, today),
            "status": status,
            "within": within or "",
        },
    )


@web
def obligation_done(request: HttpRequest, external_id: str) -> HttpResponse:
    if not permissions.can_view_obligations(request.user):
        raise Forbidden()
    obligation = selectors.obligation_get(actor=request.user, external_id=external_id)
    form = MarkDoneForm(request.POST or None, initial={"submitted_date": today_tokyo()})
    context = {
        "obligation": obligation,
        "title": rule_text(obligation.rule_id, obligation.title),
        "can_complete": permissions.can_complete_obligation(request.user),
    }
    if request.method == "POST":
        if not form.is_valid():
            return render(
                request, "regulatory/obligation_done.html", {**context, "form": form}, status=400
            )
        try:
            services.obligation_mark_done(
                actor=request.user,
                obligation=obligation,
                submitted_date=form.cleaned_data["submitted_date"],
                evidence=form.cleaned_data["evidence"],
            )
        except DomainError as exc:
            return render_form_error(request, "regulatory/obligation_done.html", context, exc, form)
        messages.success(request, _("Marked as done."))
        return redirect("regulatory:plan_detail", external_id=obligation.plan.external_id)
    return render(request, "regulatory/obligation_done.html", {**context, "form": form})


@web
def registry(request: HttpRequest) -> HttpResponse:
    _require_view(request)
    today = today_tokyo()
    facilities = list(selectors.facility_list(actor=request.user))
    return render(
        request,
        "regulatory/registry.html",
        {
            "institutions": list(selectors.institution_list(actor=request.user)),
            "committees": list(selectors.committee_list(actor=request.user)),
            "facilities": [(f, f.authorised_on(today)) for f in facilities],
            "physicians": list(selectors.physician_list(actor=request.user)),
        },
    )
