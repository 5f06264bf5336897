"""Form fields shared by every app: the e-signature code and typed access to bound fields."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


def otp_field(label: Any = None) -> forms.CharField:
    """The second factor of an e-signature: optional on the form, judged by the service.

    The service, not the form, refuses a missing code, so a missing and a wrong code get the same
    answer (core.services.signature_verify).
    """
    return forms.CharField(
        label=label or _("Authentication code"),
        required=False,
        max_length=64,
        strip=True,
        help_text=_("The current code from your authenticator app, if you use two-factor sign-in."),
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "size": 8}
        ),
    )


def choice_field(form: forms.BaseForm, name: str) -> forms.ChoiceField:
    """A form's choice field, typed, so its choices can be set on the bound form."""
    field = form.fields[name]
    if not isinstance(field, forms.ChoiceField):
        raise TypeError(f"{name} is not a choice field")
    return field


def model_choice_field(form: forms.BaseForm, name: str) -> forms.ModelChoiceField[Any]:
    """A form's model-choice field, typed, so its queryset can be set on the bound form."""
    field = form.fields[name]
    if not isinstance(field, forms.ModelChoiceField):
        raise TypeError(f"{name} is not a model-choice field")
    return field


class AccessLogFilterForm(forms.Form):
    """Search of the access log: by patient, by reader and by a range of days (Japan time)."""

    patient = forms.CharField(label=_("Patient (code or id)"), required=False, max_length=64)
    user = forms.CharField(label=_("User"), required=False, max_length=150)
    date_from = forms.DateField(
        label=pgettext_lazy("date range", "From"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    date_to = forms.DateField(
        label=pgettext_lazy("date range", "To"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", _("The end date is before the start date."))
        return data
