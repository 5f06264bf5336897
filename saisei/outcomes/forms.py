"""Forms for outcome entry; the entry form is built from the instrument's own field table."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from saisei.outcomes.instruments import (
    DIARY_ANSWER_LABELS,
    EntryMode,
    FieldKind,
    Instrument,
    ScoreRange,
)
from saisei.outcomes.models import Assessment

YES_NO = [("", "—"), ("yes", _("Yes")), ("no", _("No"))]


def _number_widget(rng: ScoreRange | None, first: bool) -> forms.TextInput:
    attrs: dict[str, Any] = {"inputmode": "decimal", "autocomplete": "off", "size": 6}
    if rng is not None:
        attrs.update({"type": "number", "min": rng.low, "max": rng.high})
        attrs["step"] = "any" if rng.step is None or rng.allowed else rng.step
    if first:
        attrs["autofocus"] = True
    return forms.TextInput(attrs=attrs)


class AssessmentForm(forms.Form):
    """Date, mode and the instrument's totals and sub-scores, with their ranges shown as help text."""

    assessed_on = forms.DateField(
        label=_("Date of assessment"),
        widget=forms.DateInput(attrs={"type": "date"}),
        initial=timezone.localdate,
    )
    mode = forms.ChoiceField(
        label=_("How it was done"),
        choices=[c for c in Assessment.Mode.choices if c[0] != "portal"],
        initial="in_person",
    )

    def __init__(self, *args: Any, instrument: Instrument, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.instrument = instrument
        self.value_fields: list[str] = []
        first = True
        if instrument.entry_mode == EntryMode.TOTALS and instrument.code != "FAST":
            self.fields["total"] = forms.CharField(
                label=_("Total"),
                required=False,
                help_text=_("Range %(range)s. Leave empty to add up the sub-scores.")
                % {"range": instrument.total.describe()},
                widget=_number_widget(instrument.total, first),
            )
            self.value_fields.append("total")
            first = False
        for fld in instrument.fields:
            if fld.kind == FieldKind.FLAG:
                label = str(fld.label)
                if fld.code.endswith(".present"):
                    label += " — " + str(_("present in the past month?"))
                field: forms.Field = forms.ChoiceField(label=label, choices=YES_NO, required=False)
            elif fld.kind == FieldKind.CHOICE:
                field = forms.ChoiceField(
                    label=fld.label,
                    choices=[("", "—"), *[(c, c) for c in fld.choices]],
                    required=False,
                )
                if first:
                    field.widget.attrs["autofocus"] = True
            elif instrument.code == "DIARY":
                field = forms.ChoiceField(
                    label=fld.label,
                    choices=[("", "—"), *[(str(k), v) for k, v in DIARY_ANSWER_LABELS.items()]],
                    required=False,
                )
            else:
                suffix = ""
                if fld.code.endswith(".severity"):
                    suffix = " — " + str(_("severity"))
                elif fld.code.endswith(".distress"):
                    suffix = " — " + str(_("caregiver distress"))
                field = forms.CharField(
                    label=f"{fld.label}{suffix}",
                    required=False,
                    help_text=_("Range %(range)s") % {"range": fld.range.describe()}
                    if fld.range
                    else "",
                    widget=_number_widget(fld.range, first),
                )
            first = False
            self.fields[fld.code] = field
            self.value_fields.append(fld.code)
        self.fields["note"] = forms.CharField(
            label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2})
        )

    def values(self) -> dict[str, Any]:
        """Entered values as numbers, booleans or codes; what cannot be read is passed on so the
        service reports it next to its field."""
        out: dict[str, Any] = {}
        for code in self.value_fields:
            raw = self.data.get(self.add_prefix(code), "")
            raw = raw.strip() if isinstance(raw, str) else raw
            if raw in ("", None):
                continue
            fld = self.instrument.get_field(code)
            if fld is not None and fld.kind == FieldKind.FLAG:
                out[code] = raw == "yes"
            elif fld is not None and fld.kind == FieldKind.CHOICE:
                out[code] = raw
            else:
                try:
                    out[code] = float(str(raw).replace(",", "."))
                except ValueError:
                    out[code] = raw
        return out


class VoidForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=2000)


class MissedForm(forms.Form):
    reason = forms.CharField(
        label=_("Why was it missed?"),
        max_length=2000,
        help_text=_("For example: moved into care, too unwell, declined, could not travel."),
    )


class BiomarkerForm(forms.Form):
    definition = forms.ChoiceField(label=_("Marker"))
    value = forms.FloatField(label=_("Value"), min_value=0)
    collected_on = forms.DateField(
        label=_("Sample collected on"),
        widget=forms.DateInput(attrs={"type": "date"}),
        initial=timezone.localdate,
    )
    lab = forms.CharField(label=_("Laboratory"), required=False)
    assay = forms.CharField(label=_("Assay"), required=False)

    def __init__(self, *args: Any, definitions: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["definition"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(str(d.external_id), f"{d.name} ({d.unit})") for d in definitions]


class DiaryForm(forms.Form):
    """The clinic's caregiver diary for the portal: five everyday questions, not a validated scale."""

    answered_by = forms.CharField(
        label=_("Your name and relationship to the patient"), max_length=200
    )

    def __init__(
        self, *args: Any, instrument: Instrument, language: str = "en", **kwargs: Any
    ) -> None:
        from saisei.outcomes.plots import tr

        super().__init__(*args, **kwargs)
        self.instrument = instrument
        self.fields["answered_by"].label = tr(self.fields["answered_by"].label, language)
        for fld in instrument.fields:
            self.fields[fld.code] = forms.TypedChoiceField(
                label=tr(fld.label, language),
                choices=[(str(k), tr(v, language)) for k, v in DIARY_ANSWER_LABELS.items()],
                coerce=int,
                widget=forms.RadioSelect,
            )

    def values(self) -> dict[str, Any]:
        return {f.code: self.cleaned_data.get(f.code) for f in self.instrument.fields}


class ReferenceForm(forms.Form):
    annual_change = forms.FloatField(label=_("Expected change per year without treatment"))
    sd = forms.FloatField(label=_("SD of individual annual change"), min_value=0)
    source = forms.CharField(label=_("Source"), widget=forms.Textarea(attrs={"rows": 3}))
    note = forms.CharField(
        label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    uncertain = forms.BooleanField(label=_("Uncertain estimate"), required=False)
    is_active = forms.BooleanField(label=_("In use"), required=False, initial=True)


class CredentialForm(forms.Form):
    user = forms.ChoiceField(label=_("Rater"))
    instrument = forms.ChoiceField(label=_("Instrument"))
    kind = forms.ChoiceField(label=_("Kind"))
    reference = forms.CharField(label=_("Licence or certificate reference"), max_length=200)
    holder = forms.CharField(label=_("Licence holder"), max_length=200, required=False)
    valid_from = forms.DateField(
        label=_("Valid from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    expires_on = forms.DateField(
        label=_("Expires on"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(
        self, *args: Any, users: list[Any], instruments: list[Instrument], **kwargs: Any
    ) -> None:
        from saisei.outcomes.models import RaterCredential

        super().__init__(*args, **kwargs)
        self._set_choices("user", [(str(u.pk), str(u)) for u in users])
        self._set_choices("instrument", [(i.code, str(i.name)) for i in instruments])
        self._set_choices("kind", list(RaterCredential.Kind.choices))

    def _set_choices(self, name: str, choices: list[tuple[str, Any]]) -> None:
        field = self.fields[name]
        assert isinstance(field, forms.ChoiceField)
        field.choices = choices
