"""Pages for a facility's licence register and changes, and for the clinic's own duties.

Thin: each form calls one service; refusals show on the form (403 stays 403).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _

from saisei.core.errors import DomainError, Forbidden, NotFound
from saisei.core.forms import model_choice_field
from saisei.core.models import User
from saisei.core.permissions import staff_user
from saisei.core.views import render_form_error
from saisei.regulatory import duties_selectors as ds
from saisei.regulatory import permissions, selectors, services
from saisei.regulatory.models import (
    AuthorisationKind,
    CertifiedCommittee,
    Complaint,
    FacilityAuthorisation,
    FacilityChangeKind,
    PeriodicCheck,
    ProvisionPlan,
    today_tokyo,
)
from saisei.regulatory.views import web

DATE = forms.DateInput(attrs={"type": "date"})
TEXT = forms.Textarea(attrs={"rows": 3})


def _colleagues(actor: Any) -> Any:
    return User.objects.filter(organisation_id=actor.organisation_id, is_active=True).order_by(
        "username"
    )


def _form_page(
    request: HttpRequest,
    *,
    allowed: bool,
    form: Callable[[Any], forms.Form],
    heading: Any,
    save: Callable[[dict[str, Any]], Any],
    success: str,
) -> HttpResponse:
    """The shape every page here shares: refuse without the permission (403), bind the form,
    and on a valid POST call the one service; a domain refusal shows on the form (a 404 stays a
    404), success redirects with a message, an invalid POST answers 400."""
    if not allowed:
        raise Forbidden()
    bound = form(request.POST or None)
    context = {"form": bound, "heading": heading}
    if request.method == "POST" and bound.is_valid():
        try:
            save(bound.cleaned_data)
        except DomainError as exc:
            if isinstance(exc, NotFound):
                raise
            return render_form_error(request, "regulatory/plan_form.html", context, exc, bound)
        messages.success(request, _("Saved."))
        return redirect(success)
    status = 400 if request.method == "POST" else 200
    return render(request, "regulatory/plan_form.html", context, status=status)


# --- the facility page -----------------------------------------------------------------------


@web
def facility_detail(request: HttpRequest, external_id: str) -> HttpResponse:
    actor = staff_user(request)
    if not permissions.can_view_regulatory(actor):
        raise Forbidden()
    facility = ds.facility_detail(actor=actor, external_id=external_id)
    today = today_tokyo()
    register = facility.register()
    return render(
        request,
        "regulatory/facility_detail.html",
        {
            "facility": facility,
            "register": register,
            "current": facility.authorisation_on(today),
            "changes": list(facility.changes.all()),
            "obligations": ds.facility_obligations(actor=actor, facility=facility),
            "can_manage": permissions.can_manage_facility_register(actor),
            "can_complete": permissions.can_complete_obligation(actor),
            "today": today,
        },
    )


class AuthorisationForm(forms.Form):
    kind = forms.ChoiceField(label=_("Type"), choices=AuthorisationKind.choices)
    number = forms.CharField(label=_("Licence or notification number"), max_length=60)
    scope = forms.CharField(label=_("Scope (cell products and processes)"), widget=TEXT)
    valid_from = forms.DateField(label=_("In force from"), widget=DATE)
    valid_until = forms.DateField(label=_("In force until"), widget=DATE, required=False)
    renews: forms.ModelChoiceField[FacilityAuthorisation] = forms.ModelChoiceField(
        label=_("Renews"), queryset=None, required=False
    )

    def __init__(self, *args: Any, facility: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        model_choice_field(self, "renews").queryset = facility.authorisations.filter(
            voided_at__isnull=True
        )


@web
def authorisation_add(request: HttpRequest, external_id: str) -> HttpResponse:
    actor = staff_user(request)
    facility = ds.facility_detail(actor=actor, external_id=external_id)
    return _form_page(
        request,
        allowed=permissions.can_manage_facility_register(actor),
        form=lambda data: AuthorisationForm(data, facility=facility),
        heading=_("Record a licence, notification or renewal: {name}").format(name=facility.name),
        save=lambda d: services.facility_authorisation_record(actor=actor, facility=facility, **d),
        success=_facility_url(facility),
    )


def _facility_url(facility: Any) -> str:
    from django.urls import reverse

    return reverse("regulatory:facility_detail", args=[facility.external_id])


class AuthorisationEndForm(forms.Form):
    ended_on = forms.DateField(label=_("Ended on"), widget=DATE)
    reason = forms.ChoiceField(
        label=_("Why it ended"), choices=FacilityAuthorisation.EndReason.choices
    )
    note = forms.CharField(label=_("Note"), widget=TEXT, required=False)


@web
def authorisation_end(request: HttpRequest, external_id: str, record_id: str) -> HttpResponse:
    actor = staff_user(request)
    facility = ds.facility_detail(actor=actor, external_id=external_id)
    if not permissions.can_manage_facility_register(actor):
        raise Forbidden()
    # Checked before the record is looked up, so an unknown record id is not probed without it.
    record = ds.authorisation_get(actor=actor, facility=facility, external_id=record_id)
    return _form_page(
        request,
        allowed=True,
        form=AuthorisationEndForm,
        heading=_("End {record}").format(record=record),
        save=lambda d: services.facility_authorisation_end(actor=actor, record=record, **d),
        success=_facility_url(facility),
    )


class ChangeForm(forms.Form):
    kind = forms.ChoiceField(label=_("What changed"), choices=FacilityChangeKind.choices)
    description = forms.CharField(label=_("Description"), widget=TEXT)
    change_date = forms.DateField(label=_("Date of the change"), widget=DATE)


@web
def facility_change_add(request: HttpRequest, external_id: str) -> HttpResponse:
    actor = staff_user(request)
    facility = ds.facility_detail(actor=actor, external_id=external_id)
    return _form_page(
        request,
        allowed=permissions.can_manage_facility_register(actor),
        form=ChangeForm,
        heading=_("Record a change to {name}").format(name=facility.name),
        save=lambda d: services.facility_change_record(actor=actor, facility=facility, **d),
        success=_facility_url(facility),
    )


# --- the clinic's own duties ---------------------------------------------------------------


@web
def duties(request: HttpRequest) -> HttpResponse:
    """Complaints, periodic checks and committee opinions; physicians see their own checks."""
    actor = staff_user(request)
    office = permissions.can_view_duties(actor)
    checks = list(ds.check_list(actor=actor))
    if not office and not checks and not actor.has_role("physician"):
        raise Forbidden()
    return render(
        request,
        "regulatory/duties.html",
        {
            "office": office,
            "complaints": list(ds.complaint_list(actor=actor)) if office else [],
            "checks": checks,
            "opinions": list(ds.opinion_list(actor=actor)) if office else [],
            "open_days": ds.complaint_open_days(),
            "today": today_tokyo(),
            "can_complaints": permissions.can_handle_complaints(actor),
            "can_schedule": permissions.can_schedule_checks(actor),
            "can_opinions": permissions.can_record_opinions(actor),
            "actor": actor,
        },
    )


class ComplaintForm(forms.Form):
    complainant_kind = forms.ChoiceField(
        label=_("Who complained"), choices=Complaint.Complainant.choices
    )
    complainant_name = forms.CharField(label=_("Name of the complainant"), required=False)
    received_on = forms.DateField(label=_("Received on"), widget=DATE)
    channel = forms.ChoiceField(label=_("Channel"), choices=Complaint.Channel.choices)
    summary = forms.CharField(label=_("What the complaint is about"), max_length=300)
    details = forms.CharField(label=_("Details"), widget=TEXT, required=False)
    handler: forms.ModelChoiceField[User] = forms.ModelChoiceField(
        label=_("Handled by"), queryset=None
    )

    def __init__(self, *args: Any, actor: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        model_choice_field(self, "handler").queryset = _colleagues(actor)


@web
def complaint_add(request: HttpRequest) -> HttpResponse:
    actor = staff_user(request)
    return _form_page(
        request,
        allowed=permissions.can_handle_complaints(actor),
        form=lambda data: ComplaintForm(data, actor=actor),
        heading=_("Log a complaint"),
        save=lambda d: services.complaint_record(actor=actor, **d),
        success="regulatory:duties",
    )


class ResponseForm(forms.Form):
    response = forms.CharField(label=_("Response"), widget=TEXT)
    responded_on = forms.DateField(label=_("Responded on"), widget=DATE)


@web
def complaint_respond(request: HttpRequest, external_id: str) -> HttpResponse:
    actor = staff_user(request)
    complaint = ds.complaint_get(actor=actor, external_id=external_id)
    return _form_page(
        request,
        allowed=permissions.can_handle_complaints(actor),
        form=ResponseForm,
        heading=_("Record the response to {ref}").format(ref=complaint.reference),
        save=lambda d: services.complaint_respond(actor=actor, complaint=complaint, **d),
        success="regulatory:duties",
    )


@web
def complaint_move(request: HttpRequest, external_id: str, move: str) -> HttpResponse:
    """POST only: start the investigation or close an answered complaint."""
    actor = staff_user(request)
    complaint = ds.complaint_get(actor=actor, external_id=external_id)
    if request.method != "POST" or move not in ("investigate", "close"):
        raise NotFound()
    service = services.complaint_investigate if move == "investigate" else services.complaint_close
    try:
        service(actor=actor, complaint=complaint)
    except DomainError as exc:
        if isinstance(exc, NotFound | Forbidden):
            raise
        messages.error(request, str(exc.message))
        return redirect("regulatory:duties")
    messages.success(request, _("Saved."))
    return redirect("regulatory:duties")


class CheckForm(forms.Form):
    checker = forms.ChoiceField(label=_("Checked by (role)"), choices=PeriodicCheck.Checker.choices)
    assignee: forms.ModelChoiceField[User] = forms.ModelChoiceField(
        label=_("Assigned to"), queryset=None
    )
    title = forms.CharField(label=_("What is checked"), max_length=300)
    due_date = forms.DateField(label=_("Due date"), widget=DATE)
    interval_days = forms.IntegerField(label=_("Repeat every (days)"), required=False, min_value=1)
    plan: forms.ModelChoiceField[ProvisionPlan] = forms.ModelChoiceField(
        label=_("Provision plan"), queryset=None, required=False
    )

    def __init__(self, *args: Any, actor: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        model_choice_field(self, "assignee").queryset = _colleagues(actor)
        model_choice_field(self, "plan").queryset = selectors.plan_list(actor=actor)


@web
def check_add(request: HttpRequest) -> HttpResponse:
    actor = staff_user(request)
    return _form_page(
        request,
        allowed=permissions.can_schedule_checks(actor),
        form=lambda data: CheckForm(data, actor=actor),
        heading=_("Schedule a periodic check"),
        save=lambda d: services.periodic_check_schedule(actor=actor, **d),
        success="regulatory:duties",
    )


class SignOffForm(forms.Form):
    performed_on = forms.DateField(label=_("Performed on"), widget=DATE)
    findings = forms.CharField(label=_("Findings"), widget=TEXT)


@web
def check_sign_off(request: HttpRequest, external_id: str) -> HttpResponse:
    actor = staff_user(request)
    check = ds.check_get(actor=actor, external_id=external_id)
    return _form_page(
        request,
        allowed=permissions.can_sign_off_check(actor, check),
        form=SignOffForm,
        heading=_("Sign off: {title}").format(title=check.title),
        save=lambda d: services.periodic_check_sign_off(actor=actor, check=check, **d),
        success="regulatory:duties",
    )


class OpinionForm(forms.Form):
    committee: forms.ModelChoiceField[CertifiedCommittee] = forms.ModelChoiceField(
        label=_("Committee"), queryset=None
    )
    plan: forms.ModelChoiceField[ProvisionPlan] = forms.ModelChoiceField(
        label=_("Provision plan"), queryset=None, required=False
    )
    opinion_date = forms.DateField(label=_("Date of the opinion"), widget=DATE)
    summary = forms.CharField(label=_("Summary"), max_length=300)
    text = forms.CharField(label=_("Opinion text"), widget=TEXT, required=False)

    def __init__(self, *args: Any, actor: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        model_choice_field(self, "committee").queryset = selectors.committee_list(actor=actor)
        model_choice_field(self, "plan").queryset = selectors.plan_list(actor=actor)


@web
def opinion_add(request: HttpRequest) -> HttpResponse:
    actor = staff_user(request)
    return _form_page(
        request,
        allowed=permissions.can_record_opinions(actor),
        form=lambda data: OpinionForm(data, actor=actor),
        heading=_("Record a committee opinion"),
        save=lambda d: services.committee_opinion_record(actor=actor, **d),
        success="regulatory:duties",
    )


class ActionForm(forms.Form):
    description = forms.CharField(label=_("Required action"), widget=TEXT)
    owner: forms.ModelChoiceField[User] = forms.ModelChoiceField(label=_("Owner"), queryset=None)
    due_date = forms.DateField(label=_("Due date"), widget=DATE, required=False)

    def __init__(self, *args: Any, actor: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        model_choice_field(self, "owner").queryset = _colleagues(actor)


@web
def action_add(request: HttpRequest, external_id: str) -> HttpResponse:
    actor = staff_user(request)
    opinion = ds.opinion_get(actor=actor, external_id=external_id)
    return _form_page(
        request,
        allowed=permissions.can_record_opinions(actor),
        form=lambda data: ActionForm(data, actor=actor),
        heading=_("Add a required action"),
        save=lambda d: services.committee_action_add(actor=actor, opinion=opinion, **d),
        success="regulatory:duties",
    )


class ActionCloseForm(forms.Form):
    closed_on = forms.DateField(label=_("Closed on"), widget=DATE)
    evidence = forms.CharField(label=_("Evidence"), widget=TEXT)


@web
def action_close(request: HttpRequest, external_id: str) -> HttpResponse:
    actor = staff_user(request)
    action = ds.action_get(actor=actor, external_id=external_id)
    return _form_page(
        request,
        allowed=permissions.can_record_opinions(actor),
        form=ActionCloseForm,
        heading=_("Close the action with evidence"),
        save=lambda d: services.committee_action_close(actor=actor, action=action, **d),
        success="regulatory:duties",
    )
