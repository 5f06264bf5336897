"""The export page's form: scope, types and an optional 'changed since'."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from saisei.core.forms import choice_field
from saisei.interop.models import BulkExport


class ExportForm(forms.Form):
    level = forms.ChoiceField(
        label=_("Scope"),
        choices=[
            (BulkExport.Level.SYSTEM, BulkExport.Level.SYSTEM.label),
            (BulkExport.Level.GROUP, BulkExport.Level.GROUP.label),
        ],
    )
    plan = forms.ChoiceField(label=_("Provision plan"), required=False)
    types = forms.MultipleChoiceField(
        label=_("Resource types"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Leave all unticked to export every type you may read."),
    )
    since = forms.DateTimeField(
        label=_("Only records changed since"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )

    def __init__(self, *args: Any, plans: list[Any], types: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.plans = {str(p.external_id): p for p in plans}
        choice_field(self, "plan").choices = [("", "—")] + [
            (key, f"{p.plan_number or '—'} {p.title}") for key, p in self.plans.items()
        ]
        choice_field(self, "types").choices = [(t, t) for t in types]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("level") == BulkExport.Level.GROUP:
            if not data.get("plan"):
                self.add_error("plan", _("Choose the provision plan whose patients to export."))
            else:
                data["plan"] = self.plans[data["plan"]]
        else:
            data["plan"] = None
        return data
