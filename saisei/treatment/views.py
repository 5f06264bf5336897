"""Treatment screens for a tablet at the bedside: today's infusions, scan check, two-person
confirmation, the infusion record with vital signs."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from saisei.core.errors import DomainError
from saisei.core.forms import otp_field
from saisei.core.models import Role, User
from saisei.core.paging import BoundedPaginator
from saisei.core.permissions import staff_user
from saisei.core.selectors import get_scoped
from saisei.core.timezones import TOKYO
from saisei.core.views import render_form_error, staff_page
from saisei.treatment import permissions, selectors, services
from saisei.treatment.models import Route, VitalSign

_actor = staff_user
web = staff_page


SCAN_ATTRS = {
    "class": "scan",
    "autocomplete": "off",
    "autocapitalize": "off",
    "spellcheck": "false",
    "data-scan": "1",
}


class BedsideForm(forms.Form):
    patient_scan = forms.CharField(
        label=_("Scan the patient's wristband"),
        max_length=500,
        widget=forms.TextInput(attrs={**SCAN_ATTRS, "autofocus": True}),
    )
    product_scan = forms.CharField(
        label=_("Scan the bag label"), max_length=500, widget=forms.TextInput(attrs=SCAN_ATTRS)
    )
    route = forms.ChoiceField(label=_("Route"), choices=Route.choices)
    step = forms.UUIDField(widget=forms.HiddenInput)

    def clean_patient_scan(self) -> str:
        """A wristband's patient code (typed as printed, any case, hyphen optional) or its bar
        code; anything else says what was expected instead of being checked as a person."""
        text = self.cleaned_data["patient_scan"].strip()
        typed = services.typed_patient_code(text)
        if typed != text or selectors.scan_names_identity(scan_text=text):
            return typed
        if text.upper().startswith("P") and any(c.isdigit() for c in text):
            return text  # shaped like a patient code: the check says whether it is known
        raise forms.ValidationError(
            _(
                "This is not a wristband code. Expected the patient code printed on the "
                "wristband, e.g. P2026-0001, or a scan of its bar code."
            )
        )

    def clean_product_scan(self) -> str:
        """A bag label's bar code or its printed text (DIN with check character, then the
        product code); a malformed entry is refused with the reason and the expected form."""
        text = self.cleaned_data["product_scan"].strip()
        problems = selectors.label_scan_problems(scan_text=text)
        if problems:
            raise forms.ValidationError(problems)
        return text


class VitalsMixin(forms.Form):
    systolic_mmhg = forms.IntegerField(
        label=_("Systolic (mmHg)"), required=False, min_value=30, max_value=300
    )
    diastolic_mmhg = forms.IntegerField(
        label=_("Diastolic (mmHg)"), required=False, min_value=10, max_value=200
    )
    heart_rate_bpm = forms.IntegerField(
        label=_("Heart rate (/min)"), required=False, min_value=10, max_value=300
    )
    respiratory_rate = forms.IntegerField(
        label=_("Respiratory rate (/min)"), required=False, min_value=1, max_value=80
    )
    temperature_c = forms.DecimalField(
        label=_("Temperature (°C)"), required=False, min_value=25, max_value=45, decimal_places=1
    )
    spo2_pct = forms.IntegerField(label=_("SpO₂ (%)"), required=False, min_value=0, max_value=100)

    VITAL_KEYS = (
        "systolic_mmhg",
        "diastolic_mmhg",
        "heart_rate_bpm",
        "respiratory_rate",
        "temperature_c",
        "spo2_pct",
    )

    def vital_fields(self) -> list[Any]:
        return [self[k] for k in self.VITAL_KEYS]

    def vitals(self) -> dict[str, Any]:
        return {
            k: self.cleaned_data.get(k)
            for k in self.VITAL_KEYS
            if self.cleaned_data.get(k) is not None
        }


def _clinicians(actor: User, role: str) -> Any:
    return User.objects.filter(
        organisation=actor.organisation, role_grants__role=role, is_active=True
    ).order_by("display_name", "username")


class AdministrationForm(VitalsMixin):
    physician = forms.ModelChoiceField(
        label=_("Physician responsible"), queryset=User.objects.none()
    )
    second_person = forms.ModelChoiceField(
        label=_("Second person (checks the scan with you)"), queryset=User.objects.none()
    )
    second_person_password = forms.CharField(
        label=_("Second person's password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
    )
    second_person_otp = otp_field(_("Second person's authentication code"))
    cells_given = forms.IntegerField(
        label=_("Cells given"),
        required=False,
        min_value=1,
        help_text=_("Leave empty when the whole bag is given; its cell count is then used."),
    )
    rate_ml_per_hour = forms.FloatField(
        label=_("Infusion rate (mL/h)"), required=False, min_value=0.1
    )
    premedication = forms.CharField(
        label=_("Premedication"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    MAIN_KEYS = (
        "physician",
        "second_person",
        "second_person_password",
        "second_person_otp",
        "cells_given",
        "rate_ml_per_hour",
        "premedication",
    )

    def main_fields(self) -> list[Any]:
        return [self[k] for k in self.MAIN_KEYS]

    def __init__(
        self, *args: Any, actor: User, default_physician: User | None = None, **kw: Any
    ) -> None:
        super().__init__(*args, **kw)
        self.fields["physician"].queryset = _clinicians(actor, Role.PHYSICIAN)  # type: ignore[attr-defined]
        self.fields["second_person"].queryset = (  # type: ignore[attr-defined]
            User.objects.filter(
                organisation=actor.organisation,
                role_grants__role__in=[Role.PHYSICIAN, Role.NURSE],
                is_active=True,
            )
            .exclude(pk=actor.pk)
            .distinct()
            .order_by("display_name", "username")
        )
        if default_physician is not None:
            self.fields["physician"].initial = default_physician.pk
            if default_physician.pk != actor.pk:
                self.fields["second_person"].initial = default_physician.pk


class VitalForm(VitalsMixin):
    phase = forms.ChoiceField(label=_("When"), choices=VitalSign.Phase.choices)
    notes = forms.CharField(label=_("Notes"), required=False, max_length=2000)


class CompleteForm(forms.Form):
    observations = forms.CharField(
        label=_("Observations"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    stopped = forms.BooleanField(label=_("Stopped early"), required=False)
    stop_reason = forms.CharField(label=_("Why it was stopped"), required=False, max_length=2000)


def _require_view(request: HttpRequest) -> None:
    if not permissions.can_view_treatment(_actor(request)):
        raise PermissionDenied


def _step(actor: User, external_id: Any) -> Any:
    from saisei.journey.selectors import course_steps_of_organisation

    qs = (
        course_steps_of_organisation(actor=actor)
        .filter(voided_at__isnull=True)
        .select_related(
            "course",
            "course__patient",
            "course__plan",
            "course__physician",
            "course__physician__user",
        )
    )
    return get_scoped(qs, external_id)


TODAY_PAGE_SIZE = 50
"""Infusions per page of today's list."""


@web
def today(request: HttpRequest) -> HttpResponse:
    """Today's infusions for nurses and physicians, with whether each has been given."""
    _require_view(request)
    day = timezone.localdate(timezone=TOKYO)
    # Paged: a clinic's day is a few infusions, a national network's is hundreds.
    page = BoundedPaginator(
        selectors.infusion_steps_for_day(actor=_actor(request), day=day), TODAY_PAGE_SIZE
    ).get_page(request.GET.get("page"))
    recent = list(selectors.administration_list(actor=_actor(request), day=day)[:50])
    return render(
        request,
        "treatment/today.html",
        {
            "rows": selectors.infusion_rows(page.object_list),
            "page": page,
            "day": day,
            "recent": recent,
        },
    )


def _bedside_context(request: HttpRequest, step: Any, **extra: Any) -> dict[str, Any]:
    return {
        "step": step,
        "route_label": dict(Route.choices).get(step.route, step.route or "—"),
        "patient": step.course.patient,
        "can_verify": permissions.can_verify_bedside(_actor(request)),
        "demo_codes": selectors.demo_scan_codes(actor=_actor(request), step=step),
        **extra,
    }


def _default_physician(step: Any, actor: User) -> User | None:
    physician = getattr(step.course, "physician", None)
    if physician is not None:
        return physician.user
    return actor if actor.has_role(Role.PHYSICIAN) else None


def _focus_first_error(form: BedsideForm) -> None:
    """Put the cursor in the scan field to correct, so the next scan lands there."""
    wrong = next((n for n in ("patient_scan", "product_scan") if n in form.errors), None)
    if wrong is not None:
        for name in ("patient_scan", "product_scan"):
            form.fields[name].widget.attrs.pop("autofocus", None)
        form.fields[wrong].widget.attrs["autofocus"] = True


@web
def bedside(request: HttpRequest, step_id: Any) -> HttpResponse:
    """Scan wristband and bag; every check is shown; a pass opens the two-person confirmation."""
    _require_view(request)
    step = _step(_actor(request), step_id)
    form = BedsideForm(
        request.POST or None, initial={"step": step.external_id, "route": step.route or Route.IV}
    )
    context = _bedside_context(request, step, form=form)
    if request.method == "POST":
        if not permissions.can_verify_bedside(_actor(request)):
            raise PermissionDenied
        if form.is_valid():
            verification = services.bedside_verify(
                actor=_actor(request),
                patient_scan=form.cleaned_data["patient_scan"],
                product_scans=[form.cleaned_data["product_scan"]],
                course_step=step,
                route=form.cleaned_data["route"],
            )
            context["verification"] = verification
            if verification.passed:
                context["admin_form"] = AdministrationForm(
                    actor=_actor(request),
                    default_physician=_default_physician(step, _actor(request)),
                )
            else:
                context["form"] = BedsideForm(
                    initial={"step": step.external_id, "route": form.cleaned_data["route"]}
                )
            return render(
                request,
                "treatment/bedside.html",
                context,
                status=200 if verification.passed else 409,
            )
        _focus_first_error(form)
        return render(request, "treatment/bedside.html", context, status=400)
    return render(request, "treatment/bedside.html", context)


@web
@require_POST
def administer(request: HttpRequest, verification_id: Any) -> HttpResponse:
    """Two-person confirmation: the second person types their own password on the same tablet."""
    _require_view(request)
    verification = selectors.verification_get(actor=_actor(request), external_id=verification_id)
    if verification.course_step is None:
        raise PermissionDenied
    step = _step(_actor(request), verification.course_step.external_id)
    form = AdministrationForm(
        request.POST,
        actor=_actor(request),
        default_physician=_default_physician(step, _actor(request)),
    )
    context = _bedside_context(request, step, verification=verification, form=None)
    if not form.is_valid():
        context["admin_form"] = form
        return render(request, "treatment/bedside.html", context, status=400)
    try:
        administration = services.administration_record(
            actor=_actor(request),
            verification=verification,
            second_person=form.cleaned_data["second_person"],
            second_person_password=form.cleaned_data["second_person_password"],
            second_person_otp=form.cleaned_data["second_person_otp"] or None,
            physician=form.cleaned_data["physician"],
            cells_given=form.cleaned_data.get("cells_given"),
            rate_ml_per_hour=form.cleaned_data.get("rate_ml_per_hour"),
            premedication=form.cleaned_data.get("premedication") or "",
            vitals_before=form.vitals() or None,
        )
    except DomainError as exc:
        context["admin_form"] = form
        response = render_form_error(
            request, "treatment/bedside.html", {**context, "admin_form": form}, exc, form
        )
        return response
    return redirect("treatment:administration_detail", external_id=administration.external_id)


@web
def administration_detail(request: HttpRequest, external_id: Any) -> HttpResponse:
    _require_view(request)
    administration = selectors.administration_get(actor=_actor(request), external_id=external_id)
    return render(
        request,
        "treatment/administration_detail.html",
        {
            "a": administration,
            "vital_form": VitalForm(initial={"phase": "during"}),
            "complete_form": CompleteForm(),
            "can_record": permissions.can_record_administration(_actor(request)),
            "vitals": list(administration.vitals.all()),
        },
    )


def _detail_with_error(
    request: HttpRequest, administration: Any, exc: DomainError, **forms_: Any
) -> HttpResponse:
    context = {
        "a": administration,
        "vital_form": forms_.get("vital_form") or VitalForm(initial={"phase": "during"}),
        "complete_form": forms_.get("complete_form") or CompleteForm(),
        "can_record": permissions.can_record_administration(_actor(request)),
        "vitals": list(administration.vitals.all()),
    }
    form = forms_.get("vital_form") or forms_.get("complete_form")
    return render_form_error(request, "treatment/administration_detail.html", context, exc, form)


@web
@require_POST
def vital_add(request: HttpRequest, external_id: Any) -> HttpResponse:
    _require_view(request)
    administration = selectors.administration_get(actor=_actor(request), external_id=external_id)
    form = VitalForm(request.POST)
    if form.is_valid():
        try:
            services.vital_sign_record(
                actor=_actor(request),
                administration=administration,
                phase=form.cleaned_data["phase"],
                notes=form.cleaned_data.get("notes") or "",
                **form.vitals(),
            )
        except DomainError as exc:
            return _detail_with_error(request, administration, exc, vital_form=form)
        return redirect("treatment:administration_detail", external_id=external_id)
    return render(
        request,
        "treatment/administration_detail.html",
        {
            "a": administration,
            "vital_form": form,
            "complete_form": CompleteForm(),
            "can_record": True,
            "vitals": list(administration.vitals.all()),
        },
        status=400,
    )


@web
@require_POST
def complete(request: HttpRequest, external_id: Any) -> HttpResponse:
    _require_view(request)
    administration = selectors.administration_get(actor=_actor(request), external_id=external_id)
    form = CompleteForm(request.POST)
    if form.is_valid():
        try:
            services.administration_complete(
                actor=_actor(request),
                administration=administration,
                observations=form.cleaned_data.get("observations") or "",
                stopped=form.cleaned_data.get("stopped") or False,
                stop_reason=form.cleaned_data.get("stop_reason") or "",
            )
        except DomainError as exc:
            return _detail_with_error(request, administration, exc, complete_form=form)
    return redirect("treatment:administration_detail", external_id=external_id)
