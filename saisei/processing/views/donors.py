"""Donor pages (allogeneic plans): list and register, screening, consent.

Physician, CPC and QA only (``permissions.can_view_donors``); the recipient's pages never link
here and never show a donor's identity.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _

from saisei.core.errors import DomainError, Forbidden
from saisei.core.permissions import staff_user
from saisei.core.views import render_form_error, staff_page
from saisei.processing import permissions, selectors, services
from saisei.processing.donor_rules import donor_criteria

RESULT_CHOICES = [
    ("", "—"),
    ("pass", _("passed")),
    ("fail", _("failed")),
    ("pending", _("pending")),
]


class DonorForm(forms.Form):
    plan: forms.ModelChoiceField = forms.ModelChoiceField(label=_("Provision plan"), queryset=None)
    family_name = forms.CharField(label=_("Family name"), max_length=100)
    given_name = forms.CharField(label=_("Given name"), max_length=100)
    birth_date = forms.DateField(
        label=_("Date of birth"), widget=forms.DateInput(attrs={"type": "date"})
    )
    sex = forms.CharField(label=_("Sex"), max_length=10, required=False)

    def __init__(self, *args: Any, plans: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["plan"].queryset = plans  # type: ignore[attr-defined]


class ScreeningForm(forms.Form):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for c in donor_criteria():
            self.fields[c.code] = forms.ChoiceField(
                label=_(c.label), choices=RESULT_CHOICES, required=False, help_text=c.source
            )

    def results(self) -> dict[str, str]:
        return {k: v for k, v in self.cleaned_data.items() if v}


class DonorConsentForm(forms.Form):
    signed_at = forms.DateTimeField(
        label=_("Signed at"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    form_version = forms.CharField(label=_("Consent form version"), max_length=50)


def _plans(actor: Any) -> Any:
    from saisei.regulatory.selectors import plans_of_organisation

    return plans_of_organisation(actor=actor).filter(voided_at__isnull=True)


@staff_page
def donor_list(request: HttpRequest) -> HttpResponse:
    actor = staff_user(request)
    if not permissions.can_view_donors(actor):
        raise Forbidden()
    form = DonorForm(request.POST or None, plans=_plans(actor))
    if request.method == "POST" and form.is_valid():
        try:
            donor = services.donor_register(actor=actor, **form.cleaned_data)
        except DomainError as exc:
            ctx = {"donors": selectors.donor_list(actor=actor)}
            return render_form_error(request, "processing/donors.html", ctx, exc, form)
        return redirect("processing:donor_detail", external_id=donor.external_id)
    donors = list(selectors.donor_list(actor=actor))
    rows = [(d, services.donor_eligible(d)) for d in donors]
    return render(
        request,
        "processing/donors.html",
        {"rows": rows, "form": form, "can_screen": permissions.can_screen_donor(actor)},
        status=400 if form.errors else 200,
    )


@staff_page
def donor_detail(request: HttpRequest, external_id: str) -> HttpResponse:
    actor = staff_user(request)
    if not permissions.can_view_donors(actor):
        raise Forbidden()
    donor = selectors.donor_get(actor=actor, external_id=external_id)
    screening = ScreeningForm(
        request.POST if request.POST.get("act") == "screen" else None, initial=donor.screening
    )
    consent = DonorConsentForm(request.POST if request.POST.get("act") == "consent" else None)
    ctx: dict[str, Any] = {
        "donor": donor,
        "screening_form": screening,
        "consent_form": consent,
        "problems": [m for msgs in services.donor_problems(donor).values() for m in msgs],
        "criteria": [(c, donor.screening.get(c.code, "")) for c in donor_criteria()],
        "can_screen": permissions.can_screen_donor(actor),
        "can_consent": permissions.can_consent_donor(actor),
    }
    if request.method == "POST":
        try:
            if request.POST.get("act") == "screen" and screening.is_valid():
                services.donor_screening_record(
                    actor=actor, donor=donor, results=screening.results()
                )
                return redirect("processing:donor_detail", external_id=donor.external_id)
            if request.POST.get("act") == "consent" and consent.is_valid():
                services.donor_consent_record(
                    actor=actor,
                    donor=donor,
                    signed_at=consent.cleaned_data["signed_at"],
                    form_version=consent.cleaned_data["form_version"],
                )
                return redirect("processing:donor_detail", external_id=donor.external_id)
        except DomainError as exc:
            if exc.status_code == 403:
                raise
            form = screening if request.POST.get("act") == "screen" else consent
            return render_form_error(request, "processing/donor_detail.html", ctx, exc, form)
        return render(request, "processing/donor_detail.html", ctx, status=400)
    return render(request, "processing/donor_detail.html", ctx)
