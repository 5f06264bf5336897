"""Web forms for the CPC screens; validation of rules stays in the services."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from saisei.core.forms import choice_field, model_choice_field, otp_field
from saisei.core.models import Site, User
from saisei.processing.models import (
    CleanlinessGrade,
    CultureStep,
    CustodyEvent,
    Deviation,
    EnvironmentalParameter,
    Lot,
)
from saisei.processing.models.donation import CELL_SOURCES
from saisei.processing.rules import EM_UNITS

SCAN_ATTRS = {
    "class": "scan",
    "autofocus": True,
    "autocomplete": "off",
    "autocapitalize": "off",
    "spellcheck": "false",
    "inputmode": "text",
    "data-scan": "1",
}


class ScanFieldMixin(forms.Form):
    """A ``scan`` field that reads what a scanner sends or a person types from the label.

    The bar code and the eye-readable text (the DIN with its spaces and check character, the
    product code) are both read by ``isbt128.parse_scan``; an entry it cannot read is refused with
    the parser's reason, which says what was expected, before any container is compared.
    """

    def clean_scan(self) -> str:
        from saisei.processing.isbt128 import parse_scan

        text = str(self.cleaned_data["scan"]).strip()
        problems = [str(s.errors[0].message()) for s in parse_scan(text).structures if s.errors]
        if problems:
            raise forms.ValidationError(problems)
        return text


class ScanForm(ScanFieldMixin):
    """One field a keyboard-wedge scanner types into; the scanner's Enter submits it."""

    scan = forms.CharField(
        label=_("Scan the bag label"), max_length=2000, widget=forms.TextInput(attrs=SCAN_ATTRS)
    )


class CultureStepForm(forms.Form):
    kind = forms.ChoiceField(label=_("Step"), choices=CultureStep.Kind.choices)
    passage_number = forms.IntegerField(label=_("Passage"), min_value=0, max_value=50, initial=0)
    cell_count = forms.FloatField(label=_("Viable cells"), min_value=0, required=False)
    viability_pct = forms.FloatField(
        label=_("Viability (%)"), min_value=0, max_value=100, required=False
    )
    population_doublings = forms.FloatField(
        label=_("Population doublings"), min_value=0, required=False
    )
    vessel_type = forms.CharField(label=_("Vessel type"), max_length=50, required=False)
    vessel_count = forms.IntegerField(label=_("Vessels"), min_value=0, initial=0, required=False)
    area_cm2 = forms.FloatField(label=_("Culture area (cm²)"), min_value=0, required=False)
    media_lot = forms.CharField(label=_("Medium lot"), max_length=100, required=False)
    reagent_lots = forms.CharField(label=_("Reagent lots"), max_length=300, required=False)
    notes = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class QCResultForm(forms.Form):
    test_code = forms.ChoiceField(label=_("Test"))
    value = forms.CharField(label=_("Result"), max_length=100, required=False)
    pending = forms.BooleanField(label=_("Started, result not yet available"), required=False)
    method = forms.CharField(label=_("Method"), max_length=200, required=False)

    def __init__(self, *args, choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        choice_field(self, "test_code").choices = choices


class ReleaseForm(forms.Form):
    """Electronic signature: the signer re-enters the password and states the meaning."""

    meaning = forms.CharField(
        label=_("Meaning of your signature"),
        max_length=300,
        initial=_(
            "I have reviewed the batch record and QC results and release this lot for clinical use."
        ),
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    conditional = forms.BooleanField(
        label=_("Conditional release: the sterility culture is still running"), required=False
    )
    justification = forms.CharField(
        label=_("Why release before the final sterility result"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    password = forms.CharField(
        label=_("Your password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    otp = otp_field()


class RejectForm(forms.Form):
    """Electronic signature for a final rejection: the reason, the password and the code."""

    reason = forms.CharField(
        label=_("Why the lot is rejected"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    password = forms.CharField(
        label=_("Your password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    otp = otp_field()


class HandoverForm(ScanFieldMixin):
    scan = forms.CharField(
        label=_("Scan the container"), max_length=2000, widget=forms.TextInput(attrs=SCAN_ATTRS)
    )
    stage = forms.ChoiceField(label=_("Hand-over"), choices=CustodyEvent.Stage.choices)
    from_party = forms.CharField(label=_("Handed over by"), max_length=200)
    to_party = forms.CharField(label=_("Received by"), max_length=200)
    place = forms.CharField(label=_("Place"), max_length=200)
    temperature_min_c = forms.FloatField(label=_("Minimum temperature (°C)"), required=False)
    temperature_max_c = forms.FloatField(label=_("Maximum temperature (°C)"), required=False)
    logger_csv = forms.FileField(label=_("Data-logger file (CSV)"), required=False)
    notes = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class ThawForm(forms.Form):
    viability_pct = forms.FloatField(label=_("Post-thaw viability (%)"), min_value=0, max_value=100)


class StoreForm(forms.Form):
    freezer = forms.CharField(label=_("Freezer"), max_length=50)
    rack = forms.CharField(label=_("Rack"), max_length=50)
    position = forms.CharField(label=_("Position"), max_length=50)


class LabelForm(forms.Form):
    count = forms.IntegerField(label=_("Number of labels"), min_value=1, max_value=50, initial=1)
    reason = forms.CharField(
        label=_("Reason for reprint"),
        required=False,
        help_text=_("Required when labels for this bag were printed before."),
    )


class ReconcileForm(forms.Form):
    applied = forms.IntegerField(label=_("Applied"), min_value=0)
    destroyed = forms.IntegerField(label=_("Destroyed"), min_value=0)


class DeviationForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=300)
    severity = forms.ChoiceField(label=_("Severity"), choices=Deviation.Severity.choices)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


class DeviationUpdateForm(forms.Form):
    investigation = forms.CharField(
        label=_("Investigation"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    impact = forms.CharField(
        label=_("Impact assessment"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    capa = forms.CharField(
        label=_("Corrective and preventive action"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    status = forms.ChoiceField(label=_("Status"), choices=Deviation.Status.choices)


class FollowUpForm(forms.Form):
    follow_up = forms.CharField(
        label=_("What happened to the doses already given"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Patients contacted, tests and treatment given, outcome."),
    )


MARKER_CHOICES = [
    ("", "—"),
    ("negative", _("Negative")),
    ("positive", _("Positive")),
    ("pending", _("Pending")),
]


class CourseChoiceField(forms.ModelChoiceField):
    """A treatment course as people tell courses apart: patient, plan and when it was set up."""

    def label_from_instance(self, obj):
        return f"{obj.patient.patient_code} · {obj.plan.title} · {obj.created_at:%Y-%m-%d}"


class DonationForm(forms.Form):
    """Harvest record: patient, the treatment course it is for, where and how the tissue was
    collected, donor tests."""

    patient: forms.ModelChoiceField = forms.ModelChoiceField(label=_("Patient"), queryset=None)
    course = CourseChoiceField(
        label=_("Treatment course"),
        queryset=None,
        help_text=_(
            "The course's chain-of-identity identifier goes on every label; a repeat harvest for "
            "the same course shares it."
        ),
    )
    plan: forms.ModelChoiceField = forms.ModelChoiceField(
        label=_("Provision plan"),
        queryset=None,
        required=False,
        help_text=_(
            "Leave empty to use the course's plan; a plan you choose must be the course's."
        ),
    )
    physician: forms.ModelChoiceField = forms.ModelChoiceField(
        label=_("Performing physician"),
        queryset=None,
        help_text=_("The physician who performs the harvest; must be listed in the plan."),
    )
    facility: forms.ModelChoiceField = forms.ModelChoiceField(
        label=_("Cell processing facility"), queryset=None
    )
    cell_source = forms.ChoiceField(label=_("Cell source"), choices=[("", "—"), *CELL_SOURCES])
    site = forms.ModelChoiceField(label=_("Collection site"), queryset=Site.objects.none())
    harvest_site = forms.CharField(label=_("Body site"), max_length=100, initial=_("abdomen"))
    tissue_weight_g = forms.DecimalField(
        label=_("Tissue weight (g)"), min_value=0, max_digits=7, decimal_places=2
    )
    collected_at = forms.DateTimeField(
        label=_("Collected at"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    container = forms.CharField(label=_("Container"), max_length=200)
    transport_conditions = forms.CharField(
        label=_("Transport conditions"), max_length=300, required=False
    )

    def __init__(
        self,
        *args,
        patients=None,
        courses=None,
        plans=None,
        sites=None,
        physicians=None,
        facilities=None,
        markers=(),
        donors=None,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        # Donors are offered by their pseudonymous code only (never their name).
        self.fields["donor"] = forms.ModelChoiceField(
            label=_("Donor (allogeneic plans only)"),
            queryset=donors,
            required=False,
            help_text=_(
                "An allogeneic plan needs an eligible, consented donor; leave empty otherwise."
            ),
        )
        self.fields["donor"].label_from_instance = lambda d: d.donor_code  # type: ignore[attr-defined]
        model_choice_field(self, "patient").queryset = patients
        model_choice_field(self, "course").queryset = courses
        model_choice_field(self, "plan").queryset = plans
        model_choice_field(self, "physician").queryset = physicians
        model_choice_field(self, "facility").queryset = facilities
        model_choice_field(self, "site").queryset = sites
        for code, name in markers:
            self.fields[f"marker_{code}"] = forms.ChoiceField(
                label=name, choices=MARKER_CHOICES, required=False
            )

    def markers(self) -> dict[str, str]:
        return {
            k.removeprefix("marker_"): v
            for k, v in self.cleaned_data.items()
            if k.startswith("marker_") and v
        }


class CourseBindForm(forms.Form):
    """QA binds a harvest recorded before courses were required to its treatment course."""

    course = CourseChoiceField(label=_("Treatment course"), queryset=None)
    reason = forms.CharField(label=_("Reason"), max_length=1000)

    def __init__(self, *args, courses=None, **kwargs):
        super().__init__(*args, **kwargs)
        model_choice_field(self, "course").queryset = courses


class MarkersForm(forms.Form):
    def __init__(self, *args, markers=(), initial_results=None, **kwargs):
        super().__init__(*args, **kwargs)
        for code, name in markers:
            self.fields[f"marker_{code}"] = forms.ChoiceField(
                label=name,
                choices=MARKER_CHOICES,
                required=False,
                initial=(initial_results or {}).get(code, ""),
            )

    def markers(self) -> dict[str, str]:
        return {
            k.removeprefix("marker_"): v
            for k, v in self.cleaned_data.items()
            if k.startswith("marker_") and v
        }


class LotForm(forms.Form):
    planned_doses = forms.IntegerField(
        label=_("Planned doses"), min_value=1, max_value=26, initial=5
    )
    cells_per_dose = forms.FloatField(label=_("Cells per dose"), min_value=1, initial=1e8)
    route = forms.ChoiceField(
        label=_("Route"), choices=[("iv", _("Intravenous")), ("intrathecal", _("Intrathecal"))]
    )
    dose_volume_ml = forms.FloatField(label=_("Dose volume (mL)"), min_value=0.1, required=False)
    allow_conditional_release = forms.BooleanField(
        label=_("Fresh product: conditional release allowed while sterility runs"), required=False
    )


class DonationHandoverForm(ScanFieldMixin):
    scan = forms.CharField(
        label=_("Scan the container"), max_length=2000, widget=forms.TextInput(attrs=SCAN_ATTRS)
    )
    stage = forms.ChoiceField(
        label=_("Hand-over"),
        choices=[
            (v, label)
            for v, label in CustodyEvent.Stage.choices
            if v in ("collection", "transport", "cpc_receipt")
        ],
    )
    from_party = forms.CharField(label=_("Handed over by"), max_length=200)
    to_party = forms.CharField(label=_("Received by"), max_length=200)
    place = forms.CharField(label=_("Place"), max_length=200)
    temperature_min_c = forms.FloatField(label=_("Minimum temperature (°C)"), required=False)
    temperature_max_c = forms.FloatField(label=_("Maximum temperature (°C)"), required=False)
    logger_csv = forms.FileField(label=_("Data-logger file (CSV)"), required=False)


class EnvironmentForm(forms.Form):
    """One environmental-monitoring reading; the limits come from the room's approved programme."""

    programme = forms.ChoiceField(label=_("Cleanroom"))
    location = forms.CharField(
        label=_("Sampling point"),
        max_length=100,
        help_text=_("Where in the room, e.g. safety cabinet 1 work surface."),
    )
    parameter = forms.ChoiceField(label=_("Parameter"), choices=EnvironmentalParameter.choices)
    value = forms.FloatField(label=_("Value"), min_value=0)
    sampled_at = forms.DateTimeField(
        label=_("Sampled at"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text=_("Leave empty for now."),
    )
    lot = forms.ModelChoiceField(
        label=_("Lot in process"), queryset=Lot.objects.none(), required=False
    )

    def __init__(self, *args, programmes=(), lots=None, **kwargs):
        super().__init__(*args, **kwargs)
        choice_field(self, "programme").choices = [
            (str(p.external_id), f"{p.room} · {p.get_grade_display()} · {p.site.name}")
            for p in programmes
        ]
        model_choice_field(self, "lot").queryset = lots


class ProgrammeForm(forms.Form):
    """A new version of a cleanroom's monitoring programme: grade, limits and their source."""

    site = forms.ModelChoiceField(label=_("Facility"), queryset=Site.objects.none())
    room = forms.CharField(label=_("Room"), max_length=100)
    grade = forms.ChoiceField(label=_("Cleanliness grade"), choices=CleanlinessGrade.choices)
    effective_from = forms.DateField(
        label=_("In force from"), widget=forms.DateInput(attrs={"type": "date"})
    )
    source = forms.CharField(
        label=_("Source of the limits"),
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("The standard and table, and the trend review behind the alert limits."),
    )
    notes = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, sites=None, **kwargs):
        super().__init__(*args, **kwargs)
        model_choice_field(self, "site").queryset = sites
        for code, label in EnvironmentalParameter.choices:
            unit = EM_UNITS[code]
            self.fields[f"alert_{code}"] = forms.FloatField(
                label=_("%(parameter)s: alert limit (%(unit)s)")
                % {"parameter": label, "unit": unit},
                min_value=0,
                required=False,
            )
            self.fields[f"action_{code}"] = forms.FloatField(
                label=_("%(parameter)s: action limit (%(unit)s)")
                % {"parameter": label, "unit": unit},
                min_value=0,
                required=False,
            )

    def clean(self) -> dict:
        data = super().clean() or {}
        limits = []
        for code, _label in EnvironmentalParameter.choices:
            alert, action = data.get(f"alert_{code}"), data.get(f"action_{code}")
            if alert is None and action is None:
                continue
            if alert is None or action is None:
                self.add_error(
                    f"alert_{code}" if alert is None else f"action_{code}",
                    _("Give both the alert and the action limit, or neither."),
                )
                continue
            limits.append({"parameter": code, "alert_limit": alert, "action_limit": action})
        if not limits and not self.errors:
            raise forms.ValidationError(_("Give the limits of at least one parameter."))
        data["limits"] = limits
        return data


class SignatureForm(forms.Form):
    """An approval by electronic signature: password, current code, stated meaning."""

    meaning = forms.CharField(
        label=_("Meaning of your signature"),
        max_length=300,
        initial=_("I approve this environmental-monitoring programme and its limits."),
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    password = forms.CharField(
        label=_("Your password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    otp = otp_field()


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), max_length=1000, widget=forms.Textarea(attrs={"rows": 2})
    )


class DiscardForm(forms.Form):
    """Destroy a bag: the reason and, for a released dose, a second person's confirmation."""

    reason = forms.CharField(
        label=_("Why the dose is discarded"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    second_person = forms.ModelChoiceField(
        label=_("Second person (CPC or QA)"),
        queryset=User.objects.none(),
        required=False,
        help_text=_("Required for a released dose: a colleague confirms with their own password."),
    )
    second_person_password = forms.CharField(
        label=_("Second person's password"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
    )
    second_person_otp = otp_field(_("Second person's authentication code"))

    def __init__(self, *args, colleagues=None, **kwargs):
        super().__init__(*args, **kwargs)
        model_choice_field(self, "second_person").queryset = colleagues
