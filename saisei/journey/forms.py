"""Django forms for the journey screens; services do the rules, forms only shape input."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from saisei.core.forms import choice_field, model_choice_field, otp_field

from .models import Inquiry, Sex
from .models.people import LANGUAGE_CHOICES

DATE = forms.DateInput(attrs={"type": "date"})


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one field; each file is checked by the service, not here."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": ".pdf,.jpg,.jpeg,.png"}))
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        if not data:
            return []
        items = data if isinstance(data, list | tuple) else [data]
        return [f for f in items if f]


class InquiryForm(forms.Form):
    """The public inquiry: what a family knows about the patient, in their own words."""

    contact_name = forms.CharField(label=_("Your name"), max_length=200)
    contact_email = forms.EmailField(label=_("Your e-mail"))
    contact_phone = forms.CharField(label=_("Your phone (optional)"), max_length=50, required=False)
    contact_relationship = forms.CharField(
        label=_("Your relationship to the patient"), max_length=100, required=False
    )
    # Names as the family writes them, each part in its own field: nothing is ever split from
    # word order (family name first in Japanese and Chinese, last in English).
    patient_family_name = forms.CharField(
        label=_("Patient's family name (surname)"),
        max_length=100,
        help_text=_("As in the passport, in Latin letters."),
    )
    patient_given_name = forms.CharField(
        label=_("Patient's given name"),
        max_length=100,
        help_text=_("As in the passport, in Latin letters."),
    )
    patient_name_native = forms.CharField(
        label=_("Patient's name in native script (optional)"),
        max_length=200,
        required=False,
        help_text=_("For example: 山田 花子, 林美, 김민준"),
    )
    patient_name_reading = forms.CharField(
        label=_("Reading of that name (optional)"),
        max_length=200,
        required=False,
        help_text=_(
            "Furigana for a Japanese name (やまだ はなこ), pinyin for a Chinese name (Lín Měi)."
        ),
    )
    patient_date_of_birth = forms.DateField(
        label=_("Patient's date of birth"), required=False, widget=DATE
    )
    patient_sex = forms.ChoiceField(
        label=_("Patient's sex"), choices=[("", "—"), *Sex.choices], required=False
    )
    country = forms.CharField(
        label=_("Country where the patient lives"),
        max_length=100,
        widget=forms.TextInput(attrs={"list": "country-list", "autocomplete": "country-name"}),
    )
    diagnosis = forms.CharField(
        label=_("Diagnosis"),
        max_length=300,
        help_text=_("For example: Alzheimer's disease, mild cognitive impairment"),
    )
    diagnosis_when = forms.CharField(
        label=_("When was it diagnosed?"), max_length=100, required=False
    )
    current_medicines = forms.CharField(
        label=_("Current medicines"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    cognitive_scores = forms.CharField(
        label=_("Latest memory test scores, if known"),
        required=False,
        help_text=_("For example: MMSE 22 in May 2026, CDR 1"),
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    mobility = forms.ChoiceField(
        label=_("Mobility"), choices=[("", "—"), *Inquiry.Mobility.choices], required=False
    )
    legal_proxy = forms.CharField(
        label=_("Who can decide for the patient if they cannot? (name and relationship)"),
        max_length=300,
        required=False,
    )
    travel_windows = forms.CharField(
        label=_("When could you travel to Japan?"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    message = forms.CharField(
        label=_("Anything else we should know"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    records = MultipleFileField(
        label=_("Medical records (PDF, JPEG or PNG; up to 5 files of 10 MB each)"),
        required=False,
    )
    privacy_consent = forms.BooleanField(
        label=_("I agree that the clinic uses this information as described above."),
        required=False,
    )
    # Bot protection without a third-party service: a field people never see and a signed
    # timestamp that must be a few seconds old.
    website = forms.CharField(
        required=False,
        label=_("Leave this empty"),
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )
    form_token = forms.CharField(widget=forms.HiddenInput)


class InquiryStatusForm(forms.Form):
    status = forms.ChoiceField(label=_("New status"), choices=Inquiry.Status.choices)
    note = forms.CharField(
        label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class PatientForm(forms.Form):
    family_name = forms.CharField(label=_("Family name"), max_length=100)
    given_name = forms.CharField(label=_("Given name"), max_length=100)
    name_native = forms.CharField(label=_("Name in native script"), max_length=200, required=False)
    name_reading = forms.CharField(
        label=_("Reading of the name (furigana / pinyin)"), max_length=200, required=False
    )
    date_of_birth = forms.DateField(label=_("Date of birth"), widget=DATE)
    sex = forms.ChoiceField(label=_("Sex"), choices=Sex.choices)
    weight_kg = forms.DecimalField(
        label=_("Weight (kg)"), max_digits=5, decimal_places=1, required=False, min_value=1
    )
    language = forms.ChoiceField(label=_("Language"), choices=LANGUAGE_CHOICES)
    country = forms.CharField(label=_("Country"), max_length=100, required=False)
    currency = forms.CharField(
        label=_("Home currency"),
        max_length=3,
        help_text=_("ISO 4217 code, for example JPY, CNY, KRW, TWD, USD."),
    )
    email = forms.EmailField(label=_("E-mail"), required=False)
    phone = forms.CharField(label=_("Phone"), max_length=50, required=False)
    home_physician_name = forms.CharField(label=_("Home physician"), max_length=200, required=False)
    home_physician_contact = forms.CharField(
        label=_("Home physician contact"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    proxy_name = forms.CharField(label=_("Legal proxy's name"), max_length=200, required=False)
    proxy_relationship = forms.CharField(label=_("Relationship"), max_length=100, required=False)
    proxy_authority = forms.CharField(label=_("Basis of authority"), max_length=200, required=False)
    proxy_email = forms.EmailField(label=_("Legal proxy's e-mail"), required=False)


YES_NO = [("", _("Not known")), ("yes", _("Yes")), ("no", _("No"))]
TEST_RESULTS = [("", _("Not done yet")), ("negative", _("Negative")), ("positive", _("Positive"))]


class PrescreenForm(forms.Form):
    plan: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        label=_("Provision plan"), queryset=None
    )
    diagnosis_confirmed = forms.ChoiceField(
        label=_("Diagnosis confirmed?"), choices=YES_NO, required=False
    )
    diagnosis_basis = forms.ChoiceField(
        label=_("Confirmed by"),
        required=False,
        choices=[
            ("", "—"),
            ("amyloid_pet", _("Amyloid PET")),
            ("csf", _("Spinal fluid test")),
            ("plasma_ptau217", _("Blood test (p-tau217)")),
            ("clinical", _("Clinical examination only")),
        ],
    )
    mmse = forms.DecimalField(label=_("MMSE score"), required=False, min_value=0, max_value=30)
    cdr_global = forms.DecimalField(label=_("CDR global"), required=False, min_value=0, max_value=3)
    can_consent = forms.ChoiceField(
        label=_("Can the patient consent?"), choices=YES_NO, required=False
    )
    legal_proxy = forms.ChoiceField(
        label=_("Is there a legal proxy?"), choices=YES_NO, required=False
    )
    age = forms.IntegerField(label=_("Age"), required=False, min_value=0, max_value=120)

    CONTRA = (
        ("active_malignancy", _("Active cancer")),
        ("active_infection", _("Active infection")),
        ("anticoagulation_cannot_pause", _("Blood thinners that cannot be paused")),
        ("pregnancy", _("Pregnancy")),
        ("severe_cardiopulmonary_disease", _("Severe heart or lung disease")),
    )
    TESTS = (
        ("hbv", _("Hepatitis B")),
        ("hcv", _("Hepatitis C")),
        ("hiv", _("HIV")),
        ("syphilis", _("Syphilis")),
        ("htlv1", _("HTLV-1")),
    )

    def __init__(self, *args: Any, plans: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        model_choice_field(self, "plan").queryset = plans
        for code, label in self.CONTRA:
            self.fields[f"ci_{code}"] = forms.ChoiceField(
                label=label, choices=YES_NO, required=False
            )
        for code, label in self.TESTS:
            self.fields[f"test_{code}"] = forms.ChoiceField(
                label=label, choices=TEST_RESULTS, required=False
            )

    def answers(self) -> dict[str, Any]:
        d = self.cleaned_data

        def yn(value: str) -> bool | None:
            return {"yes": True, "no": False}.get(value)

        scores = {}
        if d.get("mmse") is not None:
            scores["mmse"] = str(d["mmse"].normalize())
        if d.get("cdr_global") is not None:
            scores["cdr_global"] = str(d["cdr_global"].normalize())
        return {
            "diagnosis_confirmed": yn(d.get("diagnosis_confirmed", "")),
            "diagnosis_basis": d.get("diagnosis_basis") or None,
            "scores": scores,
            "can_consent": yn(d.get("can_consent", "")),
            "legal_proxy": yn(d.get("legal_proxy", "")),
            "contraindications": {c: yn(d.get(f"ci_{c}", "")) for c, _l in self.CONTRA},
            "infection_tests": {
                t: d.get(f"test_{t}", "") for t, _l in self.TESTS if d.get(f"test_{t}")
            },
            "age": d.get("age"),
        }


class SignForm(forms.Form):
    password = forms.CharField(
        label=_("Your password (electronic signature)"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    otp = otp_field()


class PrescreenDecisionForm(SignForm):
    decision = forms.ChoiceField(
        label=_("Decision"),
        choices=[("eligible", _("Eligible")), ("not_eligible", _("Not eligible"))],
    )
    note = forms.CharField(
        label=_("Reasons"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class QuoteForm(forms.Form):
    plan: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        label=_("Provision plan"), queryset=None
    )
    price_list: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        label=_("Price list"), queryset=None
    )
    infusions = forms.IntegerField(label=_("Infusions"), min_value=1, max_value=20, initial=4)
    follow_ups = forms.IntegerField(
        label=_("Follow-up visits"), min_value=0, max_value=20, initial=3
    )
    assessments = forms.IntegerField(label=_("Assessments"), min_value=0, max_value=20, initial=0)
    interpreter_days = forms.IntegerField(
        label=_("Interpreter days"), min_value=0, max_value=120, initial=0
    )
    commission_percent = forms.DecimalField(
        label=_("Facilitator's commission (% of the subtotal)"),
        min_value=0,
        max_value=99,
        decimal_places=2,
        initial=0,
    )
    commission_payer = forms.ChoiceField(
        label=_("Who pays the commission"),
        choices=[
            ("clinic", _("The clinic (out of its prices)")),
            ("patient", _("The patient, on top")),
        ],
    )
    currency = forms.CharField(label=_("Family's currency"), max_length=3)
    fx_jpy_per_unit = forms.DecimalField(
        label=_("Yen per unit of that currency"), required=False, min_value=0, decimal_places=6
    )
    fx_date = forms.DateField(label=_("Date of the rate"), required=False, widget=DATE)
    fx_source = forms.CharField(label=_("Source of the rate"), required=False, max_length=200)
    language = forms.ChoiceField(label=_("Language of the quote"), choices=LANGUAGE_CHOICES)

    def __init__(
        self, *args: Any, plans: Any = None, price_lists: Any = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        model_choice_field(self, "plan").queryset = plans
        model_choice_field(self, "price_list").queryset = price_lists


class AcceptForm(forms.Form):
    accepted_by_name = forms.CharField(label=_("Your full name"), max_length=200)
    agree = forms.BooleanField(
        label=_(
            "I have read the quote, including the refund rules, the evidence and the risks, and I accept it."
        ),
        required=False,
    )


class ConsentForm(SignForm):
    document: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        label=_("Consent document"), queryset=None
    )
    given_by = forms.ChoiceField(
        label=_("Consent given by"),
        choices=[("patient", _("The patient")), ("proxy", _("A legal proxy"))],
    )
    proxy: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        label=_("Legal proxy"), queryset=None, required=False
    )
    signer_name = forms.CharField(label=_("Name typed by the person consenting"), max_length=200)
    signer_confirms = forms.BooleanField(
        label=_("The person consenting has read the document, asked their questions and agrees."),
        required=False,
    )

    def __init__(
        self, *args: Any, documents: Any = None, proxies: Any = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        model_choice_field(self, "document").queryset = documents
        model_choice_field(self, "proxy").queryset = proxies
        self.order_fields(
            ["document", "given_by", "proxy", "signer_name", "signer_confirms", "password", "otp"]
        )


class WithdrawForm(forms.Form):
    reason = forms.CharField(label=_("Reason given"), widget=forms.Textarea(attrs={"rows": 2}))


class CourseForm(forms.Form):
    package: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        label=_("Treatment package"), queryset=None
    )
    harvest_date = forms.DateField(label=_("Harvest date"), widget=DATE)
    physician: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        label=_("Responsible physician"), queryset=None, required=False
    )
    facility: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        label=_("Cell processing facility"),
        queryset=None,
        required=False,
        help_text=_("The compliance gate checks it against the plan before steps are scheduled."),
    )
    use_itinerary = forms.BooleanField(
        label=_("Take visit dates from the current itinerary"), required=False, initial=True
    )

    def __init__(
        self,
        *args: Any,
        packages: Any = None,
        physicians: Any = None,
        facilities: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        model_choice_field(self, "package").queryset = packages
        model_choice_field(self, "physician").queryset = physicians
        model_choice_field(self, "facility").queryset = facilities


class DiagnosisForm(forms.Form):
    """A physician records the patient's coded diagnosis, which the compliance gate checks."""

    code = forms.ChoiceField(label=_("Diagnosis (coded, ICD-10)"))
    text = forms.CharField(
        label=_("Diagnosis in words (as reported or confirmed)"), max_length=300, required=False
    )
    reason = forms.CharField(
        label=_("Reason for the change"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Required when a recorded diagnosis is corrected."),
    )

    def __init__(self, *args: Any, choices: Any = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choice_field(self, "code").choices = [("", "—"), *choices]


class ItineraryForm(forms.Form):
    earliest_arrival = forms.DateField(label=_("Earliest arrival in Japan"), widget=DATE)
    latest_return = forms.DateField(label=_("Latest return home"), widget=DATE)
    culture_days = forms.IntegerField(
        label=_("Culture time (days)"), min_value=0, max_value=120, initial=35
    )
    infusions = forms.IntegerField(label=_("Infusions"), min_value=1, max_value=20, initial=4)
    interval_days = forms.IntegerField(
        label=_("Days between infusions"), min_value=1, max_value=120, initial=28
    )
    max_stay_days = forms.IntegerField(
        label=_("Longest stay the visa allows (days)"), min_value=1, max_value=366, initial=90
    )


class VisaItemForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"),
        choices=[("ready", _("Ready")), ("sent", _("Sent")), ("not_needed", _("Not needed"))],
    )
    sent_to = forms.CharField(label=_("Sent to"), required=False, max_length=200)


class GuarantorForm(forms.Form):
    name = forms.CharField(label=_("Guarantor organisation"), max_length=200)
    registration_number = forms.CharField(label=_("Registration number"), max_length=50)
    registered_with = forms.ChoiceField(
        label=_("Registered with"),
        choices=[("METI", "METI"), ("Japan Tourism Agency", _("Japan Tourism Agency"))],
    )
    contact = forms.CharField(
        label=_("Contact"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class ReplanForm(forms.Form):
    through = forms.DateField(label=_("Keep visits up to this date as they are"), widget=DATE)
    culture_ready_by = forms.DateField(
        label=_("Cells expected ready by (new forecast)"), required=False, widget=DATE
    )
