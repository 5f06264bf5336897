"""Safety screens: adverse events with their reporting clocks, the triage queue, report drafts,
and the portal form where patients and caregivers report a problem."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django.views.decorators.http import require_POST

from saisei.core.access_log import WEB, access_log_record
from saisei.core.errors import DomainError
from saisei.core.paging import BoundedPaginator
from saisei.core.permissions import staff_user
from saisei.core.selectors import get_scoped
from saisei.core.timezones import TOKYO
from saisei.core.views import render_form_error, staff_page
from saisei.safety import permissions, reports, selectors, services
from saisei.safety.models import AdverseEvent, Outcome, PatientReport, Relatedness, ReportSubmission

_actor = staff_user
web = staff_page


CRITERIA = services.CRITERIA


def _vocabulary_choices() -> list[tuple[str, Any]]:
    from saisei.safety.vocabulary import AE_TERMS

    return [("", _("— choose a term, or type one below —"))] + [
        (t.code, str(t.label)) for t in AE_TERMS
    ]


class EventFieldsForm(forms.Form):
    vocabulary_code = forms.ChoiceField(label=_("Expected-event list"), required=False, choices=())
    term = forms.CharField(label=_("Event term"), max_length=200, required=False)
    meddra_code = forms.CharField(label=_("MedDRA code (optional)"), max_length=20, required=False)
    onset_date = forms.DateField(
        label=_("Onset date"), widget=forms.DateInput(attrs={"type": "date"})
    )
    severity_grade = forms.TypedChoiceField(
        label=_("Severity grade (CTCAE-style)"),
        coerce=int,
        choices=[
            (1, _("1 – mild")),
            (2, _("2 – moderate")),
            (3, _("3 – severe")),
            (4, _("4 – life-threatening")),
            (5, _("5 – death")),
        ],
    )
    death = forms.BooleanField(label=_("Death"), required=False)
    life_threatening = forms.BooleanField(label=_("Life-threatening"), required=False)
    hospitalisation = forms.BooleanField(label=_("Hospitalisation or longer stay"), required=False)
    disability = forms.BooleanField(label=_("Disability or incapacity"), required=False)
    congenital_anomaly = forms.BooleanField(label=_("Congenital anomaly"), required=False)
    other_medically_important = forms.BooleanField(
        label=_("Other medically important event"), required=False
    )
    related_harvest = forms.ChoiceField(
        label=_("Related to the harvest"), choices=Relatedness.choices, initial="not_assessed"
    )
    related_cells = forms.ChoiceField(
        label=_("Related to the cells"), choices=Relatedness.choices, initial="not_assessed"
    )
    related_administration = forms.ChoiceField(
        label=_("Related to the administration"),
        choices=Relatedness.choices,
        initial="not_assessed",
    )
    description = forms.CharField(
        label=_("What happened"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    action_taken = forms.CharField(
        label=_("Action taken"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    outcome = forms.ChoiceField(
        label=pgettext_lazy("adverse event", "Outcome"), choices=Outcome.choices, initial="unknown"
    )

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.fields["vocabulary_code"].choices = _vocabulary_choices()  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("term") and data.get("vocabulary_code"):
            from saisei.safety.vocabulary import get_term

            data["term"] = str(get_term(data["vocabulary_code"]).label)
        if not data.get("term"):
            self.add_error("term", _("Name the event or choose it from the list."))
        return data

    def event_fields(self) -> dict[str, Any]:
        keys = [
            "vocabulary_code",
            "meddra_code",
            *CRITERIA,
            "related_harvest",
            "related_cells",
            "related_administration",
            "description",
            "action_taken",
            "outcome",
        ]
        return {
            k: self.cleaned_data.get(k) for k in keys if self.cleaned_data.get(k) not in (None,)
        }


class EventForm(EventFieldsForm):
    patient: forms.ModelChoiceField = forms.ModelChoiceField(
        label=_("Patient"),
        queryset=None,
    )
    aware_at = forms.DateTimeField(
        label=_("Clinic became aware at"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text=_("The reporting clock starts on this day (Japan time)."),
    )
    administration = forms.UUIDField(required=False, widget=forms.HiddenInput)

    field_order = ["patient", "vocabulary_code", "term", "meddra_code", "onset_date", "aware_at"]

    def __init__(self, *args: Any, actor: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        from saisei.journey.selectors import patients_of_organisation

        patients = (
            patients_of_organisation(actor=actor)
            .filter(voided_at__isnull=True)
            .order_by("patient_code")
        )
        self.fields["patient"].queryset = patients  # type: ignore[attr-defined]


class FollowUpForm(forms.Form):
    note = forms.CharField(label=_("New information"), widget=forms.Textarea(attrs={"rows": 3}))
    outcome = forms.ChoiceField(
        label=pgettext_lazy("adverse event", "Outcome"),
        choices=[("", "—"), *Outcome.choices],
        required=False,
    )


class SubmissionForm(forms.Form):
    recipient = forms.ChoiceField(label=_("Sent to"), choices=ReportSubmission.Recipient.choices)
    recipient_name = forms.CharField(label=_("Recipient name"), max_length=200, required=False)
    channel = forms.CharField(label=_("How it was sent"), max_length=100)
    sent_at = forms.DateTimeField(
        label=_("Sent at"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    reference = forms.CharField(
        label=_("Reference / receipt number"), max_length=200, required=False
    )
    language = forms.ChoiceField(label=_("Language"), choices=[("ja", "日本語"), ("en", "English")])
    obligation = forms.ChoiceField(label=_("Obligation it answers"), required=False, choices=())


class SeriousnessForm(forms.Form):
    """Re-assess seriousness; stricter clocks count from the day the new facts became known."""

    death = forms.BooleanField(label=_("Death"), required=False)
    life_threatening = forms.BooleanField(label=_("Life-threatening"), required=False)
    hospitalisation = forms.BooleanField(label=_("Hospitalisation or longer stay"), required=False)
    disability = forms.BooleanField(label=_("Disability or incapacity"), required=False)
    congenital_anomaly = forms.BooleanField(label=_("Congenital anomaly"), required=False)
    other_medically_important = forms.BooleanField(
        label=_("Other medically important event"), required=False
    )
    severity_grade = forms.IntegerField(label=_("Severity grade"), min_value=1, max_value=5)
    known_at = forms.DateTimeField(
        label=_("When the clinic learned this"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text=_("New reporting deadlines count from this day; deadlines already running stay."),
    )


class TriageForm(EventFieldsForm):
    decision = forms.ChoiceField(
        label=_("Decision"),
        choices=[
            ("adverse_event", _("Record as an adverse event")),
            ("not_adverse_event", _("Not an adverse event: close with a note")),
        ],
        widget=forms.RadioSelect,
    )
    note = forms.CharField(
        label=_("Triage note"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    field_order = ["decision", "note"]

    def clean(self) -> dict[str, Any]:
        data = forms.Form.clean(self) or {}
        if data.get("decision") == "adverse_event":
            if not data.get("term") and data.get("vocabulary_code"):
                from saisei.safety.vocabulary import get_term

                data["term"] = str(get_term(data["vocabulary_code"]).label)
            if not data.get("term"):
                self.add_error("term", _("Name the event or choose it from the list."))
        return data


class PortalReportForm(forms.Form):
    reporter = forms.ChoiceField(
        label=_("Who is reporting?"),
        choices=PatientReport.Reporter.choices,
        widget=forms.RadioSelect,
    )
    reporter_name = forms.CharField(label=_("Your name"), max_length=200, required=False)
    contact = forms.CharField(
        label=_("How can we reach you? (phone or e-mail)"), max_length=300, required=False
    )
    started_on = forms.DateField(
        label=_("When did it start?"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    description = forms.CharField(
        label=_("What happened?"),
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_(
            "Describe the problem in your own words, for example fever, pain, swelling, breathing trouble or confusion."
        ),
    )
    how_bad = forms.ChoiceField(
        label=_("How bad is it?"), choices=PatientReport.HowBad.choices, widget=forms.RadioSelect
    )


# --- staff pages ---------------------------------------------------------------------------


def _require_view(request: HttpRequest) -> None:
    if not permissions.can_view_safety(_actor(request)):
        raise PermissionDenied


@web
def event_list(request: HttpRequest) -> HttpResponse:
    """Adverse events with their reporting clocks: hours and days left, red when overdue."""
    _require_view(request)
    serious = request.GET.get("serious") == "1"
    open_only = request.GET.get("open") != "0"
    qs = selectors.adverse_event_list(
        actor=_actor(request), serious_only=serious, open_only=open_only
    )
    page = BoundedPaginator(qs, 50).get_page(request.GET.get("page"))
    events = selectors.attach_clocks(list(page.object_list))
    return render(
        request,
        "safety/event_list.html",
        {
            "page": page,
            "events": events,
            "serious": serious,
            "open_only": open_only,
            "can_record": permissions.can_record_adverse_event(_actor(request)),
        },
    )


@web
def event_new(request: HttpRequest) -> HttpResponse:
    _require_view(request)
    if not permissions.can_record_adverse_event(_actor(request)):
        raise PermissionDenied
    administration = None
    adm_id = request.POST.get("administration") or request.GET.get("administration")
    if adm_id:
        from saisei.treatment.selectors import administration_get

        administration = administration_get(actor=_actor(request), external_id=adm_id)
    initial = {
        "onset_date": timezone.localdate(timezone=TOKYO),
        "aware_at": timezone.localtime(timezone=TOKYO).strftime("%Y-%m-%dT%H:%M"),
        "related_harvest": "not_assessed",
        "related_cells": "not_assessed",
        "related_administration": "not_assessed",
        "outcome": "unknown",
    }
    if administration is not None:
        initial.update(
            {"patient": administration.patient_id, "administration": administration.external_id}
        )
    form = EventForm(request.POST or None, actor=_actor(request), initial=initial)
    context = {"form": form, "administration": administration}
    if request.method == "POST" and form.is_valid():
        aware_at = form.cleaned_data["aware_at"]
        if timezone.is_naive(aware_at):
            aware_at = timezone.make_aware(aware_at, TOKYO)
        try:
            event = services.adverse_event_record(
                actor=_actor(request),
                patient=form.cleaned_data["patient"],
                term=form.cleaned_data["term"],
                onset_date=form.cleaned_data["onset_date"],
                severity_grade=form.cleaned_data["severity_grade"],
                aware_at=aware_at,
                administration=administration,
                **form.event_fields(),
            )
        except DomainError as exc:
            return render_form_error(request, "safety/event_form.html", context, exc, form)
        return redirect("safety:event_detail", external_id=event.external_id)
    return render(
        request, "safety/event_form.html", context, status=400 if request.method == "POST" else 200
    )


def _event_context(request: HttpRequest, event: AdverseEvent, **extra: Any) -> dict[str, Any]:
    from saisei.regulatory.selectors import obligations_for_subjects

    selectors.attach_clocks([event])
    obligations = list(
        obligations_for_subjects(
            subject_type=services.SUBJECT_TYPE, subject_ids=[str(event.external_id)]
        ).filter(status="open")
    )
    sub_form = extra.pop("submission_form", None) or SubmissionForm(
        initial={
            "sent_at": timezone.localtime(timezone=TOKYO).strftime("%Y-%m-%dT%H:%M"),
            "language": "ja",
        }
    )
    choices = [("", "—")] + [
        (str(o.external_id), f"{o.get_recipient_display()} · {o.due_date:%Y-%m-%d}")
        for o in obligations
    ]
    sub_form.fields["obligation"].choices = choices  # type: ignore[union-attr]
    return {
        "event": event,
        "no_plan_warning": services.no_plan_warning(event) if event.plan_id is None else "",
        "criteria": [
            str(getattr(AdverseEvent._meta.get_field(name), "verbose_name", name))
            for name in event.seriousness_criteria
        ],
        "clocks": event.clocks,  # type: ignore[attr-defined]
        "impact": reports.lot_impact(event=event) if event.lot_id else [],
        "follow_ups": list(
            event.follow_ups.filter(voided_at__isnull=True).select_related("recorded_by")
        ),
        "submissions": list(selectors.submission_list(actor=_actor(request), event=event)),
        "follow_up_form": extra.pop("follow_up_form", None) or FollowUpForm(),
        "seriousness_form": extra.pop("seriousness_form", None)
        or SeriousnessForm(
            initial={
                **{name: getattr(event, name) for name in services.CRITERIA},
                "severity_grade": event.severity_grade,
                "known_at": timezone.localtime(timezone=TOKYO).strftime("%Y-%m-%dT%H:%M"),
            }
        ),
        "submission_form": sub_form,
        "can_record": permissions.can_record_adverse_event(_actor(request)),
        "can_submit": permissions.can_record_submission(_actor(request)),
        **extra,
    }


@web
def event_detail(request: HttpRequest, external_id: Any) -> HttpResponse:
    _require_view(request)
    event = selectors.adverse_event_get(actor=_actor(request), external_id=external_id)
    return render(request, "safety/event_detail.html", _event_context(request, event))


@web
@require_POST
def follow_up_add(request: HttpRequest, external_id: Any) -> HttpResponse:
    _require_view(request)
    event = selectors.adverse_event_get(actor=_actor(request), external_id=external_id)
    form = FollowUpForm(request.POST)
    if form.is_valid():
        try:
            services.adverse_event_follow_up(
                actor=_actor(request),
                event=event,
                note=form.cleaned_data["note"],
                outcome=form.cleaned_data.get("outcome") or "",
            )
        except DomainError as exc:
            return render_form_error(
                request,
                "safety/event_detail.html",
                _event_context(request, event, follow_up_form=form),
                exc,
                form,
            )
        return redirect("safety:event_detail", external_id=external_id)
    return render(
        request,
        "safety/event_detail.html",
        _event_context(request, event, follow_up_form=form),
        status=400,
    )


@web
@require_POST
def seriousness_update(request: HttpRequest, external_id: Any) -> HttpResponse:
    """Re-assess seriousness; an upgrade starts the stricter clocks from the day it became known."""
    _require_view(request)
    event = selectors.adverse_event_get(actor=_actor(request), external_id=external_id)
    form = SeriousnessForm(request.POST)
    context = _event_context(request, event, seriousness_form=form)
    if not form.is_valid():
        return render(request, "safety/event_detail.html", context, status=400)
    data = dict(form.cleaned_data)
    known_at = data.pop("known_at")
    if timezone.is_naive(known_at):
        known_at = timezone.make_aware(known_at, TOKYO)
    try:
        services.adverse_event_update(actor=_actor(request), event=event, known_at=known_at, **data)
    except DomainError as exc:
        return render_form_error(request, "safety/event_detail.html", context, exc, form)
    return redirect("safety:event_detail", external_id=external_id)


@web
@require_POST
def submission_add(request: HttpRequest, external_id: Any) -> HttpResponse:
    _require_view(request)
    event = selectors.adverse_event_get(actor=_actor(request), external_id=external_id)
    form = SubmissionForm(request.POST)
    context = _event_context(request, event, submission_form=form)
    if form.is_valid():
        from saisei.regulatory.selectors import obligations_of_organisation

        obligation = None
        if form.cleaned_data.get("obligation"):
            obligation = get_scoped(
                obligations_of_organisation(actor=_actor(request)),
                form.cleaned_data["obligation"],
            )
        sent_at = form.cleaned_data["sent_at"]
        if timezone.is_naive(sent_at):
            sent_at = timezone.make_aware(sent_at, TOKYO)
        lang = form.cleaned_data["language"]
        follow_up = event.follow_ups.order_by("-number").first()
        try:
            services.report_submission_record(
                actor=_actor(request),
                event=event,
                recipient=form.cleaned_data["recipient"],
                recipient_name=form.cleaned_data.get("recipient_name") or "",
                channel=form.cleaned_data["channel"],
                sent_at=sent_at,
                reference=form.cleaned_data.get("reference") or "",
                language=lang,
                obligation=obligation,
                follow_up=follow_up,
                document=reports.adverse_event_report_pdf(
                    event=event, language=lang, follow_up=follow_up
                ),
            )
        except DomainError as exc:
            return render_form_error(request, "safety/event_detail.html", context, exc, form)
        return redirect("safety:event_detail", external_id=external_id)
    return render(request, "safety/event_detail.html", context, status=400)


@web
def event_report_pdf(request: HttpRequest, external_id: Any) -> HttpResponse:
    _require_view(request)
    event = selectors.adverse_event_get(actor=_actor(request), external_id=external_id)
    lang = request.GET.get("lang", "ja")
    if lang not in ("ja", "en"):
        lang = "ja"
    follow_up = None
    if request.GET.get("follow_up"):
        follow_up = event.follow_ups.filter(
            number=int(request.GET["follow_up"]) if request.GET["follow_up"].isdigit() else 0
        ).first()
    pdf = reports.adverse_event_report_pdf(event=event, language=lang, follow_up=follow_up)
    access_log_record(
        actor=_actor(request),
        channel=WEB,
        subject_type="safety.event_report_pdf",
        subject_id=event.external_id,
        patient=event.patient,
        label=f"adverse event report {event.number} PDF",
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{event.number}-{lang}.pdf"'
    return response


@web
def event_report_json(request: HttpRequest, external_id: Any) -> HttpResponse:
    _require_view(request)
    event = selectors.adverse_event_get(actor=_actor(request), external_id=external_id)
    data = reports.adverse_event_report_data(event=event)
    data["lot_impact"] = reports.lot_impact(event=event)
    return JsonResponse(
        json.loads(json.dumps(data, default=str)), json_dumps_params={"ensure_ascii": False}
    )


@web
def triage(request: HttpRequest) -> HttpResponse:
    """Problems reported through the portal that wait for a clinician, most urgent first."""
    _require_view(request)
    queue = list(selectors.triage_queue(actor=_actor(request))[:100])
    recent = list(selectors.patient_report_list(actor=_actor(request)).exclude(status="new")[:20])
    return render(
        request,
        "safety/triage.html",
        {
            "queue": queue,
            "recent": recent,
            "can_triage": permissions.can_triage_patient_report(_actor(request)),
        },
    )


@web
def triage_decide(request: HttpRequest, external_id: Any) -> HttpResponse:
    _require_view(request)
    report = selectors.patient_report_get(actor=_actor(request), external_id=external_id)
    initial = {
        "onset_date": report.started_on or timezone.localtime(report.submitted_at, TOKYO).date(),
        "severity_grade": {"mild": 1, "moderate": 2, "severe": 3, "emergency": 3}.get(
            report.how_bad, 1
        ),
        "hospitalisation": report.how_bad == "emergency",
        "related_harvest": "not_assessed",
        "related_cells": "not_assessed",
        "related_administration": "not_assessed",
        "outcome": "unknown",
        "description": report.description,
    }
    form = TriageForm(request.POST or None, initial=initial)
    context = {"report": report, "form": form}
    if request.method == "POST":
        if not permissions.can_triage_patient_report(_actor(request)):
            raise PermissionDenied
        if form.is_valid():
            decision = form.cleaned_data["decision"]
            fields = None
            if decision == "adverse_event":
                fields = {
                    "term": form.cleaned_data["term"],
                    "onset_date": form.cleaned_data["onset_date"],
                    "severity_grade": form.cleaned_data["severity_grade"],
                    **form.event_fields(),
                }
            try:
                report = services.patient_report_triage(
                    actor=_actor(request),
                    report=report,
                    decision=decision,
                    note=form.cleaned_data.get("note") or "",
                    event_fields=fields,
                )
            except DomainError as exc:
                return render_form_error(request, "safety/triage_decide.html", context, exc, form)
            if report.adverse_event_id:
                return redirect("safety:event_detail", external_id=report.adverse_event.external_id)  # type: ignore[union-attr]
            return redirect("safety:triage")
        return render(request, "safety/triage_decide.html", context, status=400)
    return render(request, "safety/triage_decide.html", context)


# --- portal --------------------------------------------------------------------------------


def portal_report(request: HttpRequest) -> HttpResponse:
    """The portal form where a patient or caregiver reports a problem after going home."""
    from saisei.journey.portal import portal_patient

    patient = portal_patient(request)
    if patient is None:
        return render(request, "journey/portal/no_access.html", status=403)
    lang = request.GET.get("lang") or request.POST.get("lang") or patient.language
    if lang not in {code for code, _name in settings.LANGUAGES}:
        lang = "en"
    with translation.override(lang):
        request.LANGUAGE_CODE = lang
        form = PortalReportForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                report = services.patient_report_submit(
                    patient=patient,
                    reporter=form.cleaned_data["reporter"],
                    reporter_name=form.cleaned_data.get("reporter_name") or "",
                    contact=form.cleaned_data.get("contact") or "",
                    started_on=form.cleaned_data.get("started_on"),
                    description=form.cleaned_data["description"],
                    how_bad=form.cleaned_data["how_bad"],
                    language=lang,
                )
            except DomainError as exc:
                return render_form_error(
                    request,
                    "safety/portal_report.html",
                    {"patient": patient, "lang": lang},
                    exc,
                    form,
                )
            return render(
                request,
                "safety/portal_report_done.html",
                {"patient": patient, "report": report, "lang": lang},
            )
        return render(
            request,
            "safety/portal_report.html",
            {"patient": patient, "form": form, "lang": lang},
            status=400 if request.method == "POST" else 200,
        )
