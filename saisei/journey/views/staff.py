"""Coordinator and physician screens: inquiry queue, patient timeline, pre-screen, quote builder,
consent signing, course and itinerary views, visa papers and portal links."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.db.models import Count
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from saisei.core.errors import DomainError
from saisei.core.paging import BoundedPaginator
from saisei.core.selectors import get_scoped
from saisei.core.views import render_form_error

from .. import forms as f
from .. import permissions as perms
from .. import rules, selectors, services
from ..countries import currency_for_country
from ..lifecycles import inquiry_coordinator_targets
from ..models import (
    GuarantorRecord,
    Inquiry,
    LegalProxy,
    Prescreen,
    TreatmentPackage,
    VisaDocument,
)
from ._helpers import AuthedRequest, log_read, staff_view, stored_text


def _forbidden(request: HttpRequest) -> HttpResponse:
    return render(request, "core/forbidden.html", status=403)


def _plans(actor: Any) -> Any:
    from saisei.regulatory.selectors import plans_of_organisation

    return perms.scope_journey(
        actor, plans_of_organisation(actor=actor).filter(voided_at__isnull=True)
    )


# --- inquiries ------------------------------------------------------------------------------


@staff_view
def inquiry_queue(request: AuthedRequest) -> HttpResponse:
    if not perms.can_view_journey(request.user):
        return _forbidden(request)
    status = request.GET.get("status") or ""
    qs = selectors.inquiry_list(
        actor=request.user, status=status or None, q=request.GET.get("q", "")
    )
    counts = {
        row["status"]: row["n"]
        for row in selectors.inquiry_list(actor=request.user)
        .order_by()
        .values("status")
        .annotate(n=Count("id"))
    }
    page = BoundedPaginator(qs, 50).get_page(request.GET.get("page"))
    tabs = [(code, label, counts.get(code, 0)) for code, label in Inquiry.Status.choices]
    return render(
        request,
        "journey/inquiry_queue.html",
        {"page": page, "tabs": tabs, "status": status, "q": request.GET.get("q", "")},
    )


@staff_view
def inquiry_detail(request: AuthedRequest, external_id: str) -> HttpResponse:
    inquiry = selectors.inquiry_get(actor=request.user, external_id=external_id)
    allowed = inquiry_coordinator_targets(inquiry.status)
    form = f.InquiryStatusForm(request.POST or None)
    form.fields["status"].choices = [(c, lbl) for c, lbl in Inquiry.Status.choices if c in allowed]  # type: ignore[attr-defined]
    ctx = {
        "inquiry": inquiry,
        "form": form,
        "patients": inquiry.patients.all(),
        "can_open_records": perms.can_open_inquiry_records(request.user),
    }
    if request.method == "POST" and form.is_valid():
        try:
            services.inquiry_status_change(
                actor=request.user,
                inquiry=inquiry,
                status=form.cleaned_data["status"],
                note=form.cleaned_data["note"],
            )
        except DomainError as exc:
            return render_form_error(request, "journey/inquiry_detail.html", ctx, exc, form)
        messages.success(request, _("Status changed."))
        return redirect("journey:inquiry_detail", external_id=inquiry.external_id)
    return render(request, "journey/inquiry_detail.html", ctx)


@staff_view
def inquiry_file_open(
    request: AuthedRequest, external_id: str, file_id: str
) -> HttpResponse | FileResponse:
    """Hand a family's uploaded record to the browser as a download, never shown inline.

    The path comes from the stored record (organisation-scoped, permission-checked), must lie
    under MEDIA_ROOT, and the type sent is the one detected from the content at upload.
    """
    if not perms.can_open_inquiry_records(request.user):
        return _forbidden(request)
    record = selectors.inquiry_file_get(
        actor=request.user, inquiry_id=external_id, external_id=file_id
    )
    root = Path(settings.MEDIA_ROOT).resolve()
    path = Path(record.file.path).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise Http404
    log_read(
        request,
        "inquiry_file",
        record.external_id,
        label=f"inquiry record {record.original_name}"[:200],
    )
    response = FileResponse(
        path.open("rb"),
        as_attachment=True,
        filename=record.original_name,
        content_type=record.content_type or "application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "no-store"
    return response


# --- patients -------------------------------------------------------------------------------


@staff_view
def patient_list(request: AuthedRequest) -> HttpResponse:
    if not perms.can_view_journey(request.user):
        return _forbidden(request)
    qs = selectors.patient_list(actor=request.user, q=request.GET.get("q", ""))
    return render(
        request,
        "journey/patient_list.html",
        {
            "page": BoundedPaginator(qs, 50).get_page(request.GET.get("page")),
            "q": request.GET.get("q", ""),
        },
    )


@staff_view
def patient_new(request: AuthedRequest) -> HttpResponse:
    inquiry = None
    if request.GET.get("inquiry"):
        inquiry = selectors.inquiry_get(actor=request.user, external_id=request.GET["inquiry"])
    initial: dict[str, Any] = {}
    if inquiry is not None:
        # The name parts exactly as the family gave them; an older inquiry has only the whole
        # name, which the coordinator divides (word order says nothing about which is which).
        initial.update(
            family_name=inquiry.patient_family_name,
            given_name=inquiry.patient_given_name,
            name_native=inquiry.patient_name_native,
            name_reading=inquiry.patient_name_reading,
            currency=currency_for_country(inquiry.country),
            date_of_birth=inquiry.patient_date_of_birth,
            sex=inquiry.patient_sex,
            language=inquiry.language,
            country=inquiry.country,
            email=inquiry.contact_email,
        )
        if inquiry.legal_proxy:
            initial.update(proxy_name=inquiry.legal_proxy, proxy_email=inquiry.contact_email)
    form = f.PatientForm(request.POST or None, initial=initial)
    ctx = {"form": form, "inquiry": inquiry}
    if request.method == "POST" and form.is_valid():
        d = dict(form.cleaned_data)
        proxy = {
            "name": d.pop("proxy_name"),
            "relationship": d.pop("proxy_relationship"),
            "authority": d.pop("proxy_authority"),
            "email": d.pop("proxy_email"),
        }
        d["currency"] = d["currency"].upper()
        try:
            patient = services.patient_enrol(actor=request.user, inquiry=inquiry, proxy=proxy, **d)
        except DomainError as exc:
            return render_form_error(request, "journey/patient_form.html", ctx, exc, form)
        messages.success(request, _("Patient record created."))
        return redirect("journey:patient_detail", external_id=patient.external_id)
    return render(request, "journey/patient_form.html", ctx)


def timeline(patient: Any) -> list[dict[str, Any]]:
    """Everything that happened for a patient, in order (inquiry to follow-up)."""
    ev: list[dict[str, Any]] = []

    def add(at: Any, title: str, detail: str = "", url: str = "") -> None:
        if at is None:
            return
        if isinstance(at, dt.date) and not isinstance(at, dt.datetime):
            at = dt.datetime.combine(at, dt.time(0), tzinfo=dt.UTC)
        ev.append({"at": at, "title": title, "detail": detail, "url": url})

    inquiry = patient.inquiry
    if inquiry is not None:
        add(inquiry.created_at, _("Inquiry %(ref)s received") % {"ref": inquiry.reference})
        prev = None
        for h in inquiry.history.order_by("history_date"):
            if prev is not None and h.status != prev:
                add(
                    h.history_date,
                    _("Inquiry status: %(s)s") % {"s": Inquiry.Status(h.status).label},
                )
            prev = h.status
    add(patient.created_at, _("Patient record created (%(code)s)") % {"code": patient.patient_code})
    for ps in patient.prescreens.all():
        add(ps.created_at, _("Pre-screening: %(o)s") % {"o": ps.get_outcome_display()}, ps.stage)
        if ps.decided_at:
            add(
                ps.decided_at,
                _("Physician decision: %(d)s") % {"d": Prescreen.Outcome(ps.decision).label},
                ps.signature.get("user", ""),
            )
    for q in patient.quotes.all():
        add(
            q.created_at,
            _("Quote %(n)s v%(v)s drafted") % {"n": q.number, "v": q.version},
            f"¥{q.total_jpy:,}",
        )
        add(q.issued_at, _("Quote %(n)s v%(v)s issued") % {"n": q.number, "v": q.version})
        add(
            q.accepted_at,
            _("Quote %(n)s v%(v)s accepted by %(who)s")
            % {"n": q.number, "v": q.version, "who": q.accepted_by_name},
        )
    for c in patient.consents.all():
        add(
            c.signed_at,
            _("Consent signed by %(who)s") % {"who": c.signer_name},
            c.get_given_by_display(),
        )
        add(c.withdrawn_at, _("Consent withdrawn"), c.withdrawal_reason)
    for course in patient.courses.all():
        add(course.created_at, _("Treatment course created"), course.package.get("name", ""))
        for step in course.steps.all():
            if step.gate_checked_at:
                add(
                    step.gate_checked_at,
                    _("%(kind)s %(n)s: %(status)s")
                    % {
                        "kind": step.get_kind_display(),
                        "n": step.number,
                        "status": step.get_status_display(),
                    },
                    str(step.planned_date),
                )
    for it in patient.itineraries.all():
        add(it.created_at, _("Itinerary version %(v)s planned") % {"v": it.version})
    for pa in patient.portal_links.all():
        add(pa.created_at, _("Portal link sent to %(email)s") % {"email": pa.email})
        add(pa.used_at, _("Portal link opened"))
    for g in patient.guarantors.all():
        add(
            g.created_at,
            _("Guarantor recorded: %(name)s") % {"name": g.name},
            g.registration_number,
        )
    for v in patient.visa_documents.all():
        add(v.sent_at, _("Visa document sent: %(code)s") % {"code": v.code}, v.sent_to)
    return sorted(ev, key=lambda e: e["at"])


@staff_view
def patient_detail(request: AuthedRequest, external_id: str) -> HttpResponse:
    patient = selectors.patient_get(actor=request.user, external_id=external_id)
    log_read(request, "patient", patient.external_id, patient=patient, label="patient record")
    lang = get_language() or "en"
    prescreens = list(patient.prescreens.order_by("-created_at"))
    for ps in prescreens:
        ps.reason_texts = [  # type: ignore[attr-defined]
            (r.get("severity", ""), stored_text(r, lang)) for r in ps.reasons
        ]
    return render(
        request,
        "journey/patient_detail.html",
        {
            "patient": patient,
            "events": timeline(patient),
            "prescreens": prescreens,
            "quotes": selectors.quote_list(actor=request.user, patient=patient),
            "consents": selectors.consent_list(actor=request.user, patient=patient),
            "courses": selectors.course_list(actor=request.user, patient=patient),
            "itinerary": selectors.itinerary_current(patient=patient),
            "proxies": patient.proxies.filter(voided_at__isnull=True),
            "can_decide": perms.can_decide_prescreen(request.user),
            "can_consent": perms.can_take_consent(request.user),
            "can_set_diagnosis": perms.can_set_diagnosis(request.user),
            "diagnosis_label": diagnosis_label(patient.diagnosis_code),
        },
    )


def diagnosis_label(code: str) -> str:
    """The coded diagnosis as people read it: its name and ICD-10 category, never the code."""
    from saisei.regulatory.config import indication_vocabulary

    row = next((i for i in indication_vocabulary() if i.code == code), None)
    if row is None:
        return code
    return f"{_(row.label)} (ICD-10 {row.icd10})"


@staff_view
def patient_diagnosis(request: AuthedRequest, external_id: str) -> HttpResponse:
    """A physician records or corrects the coded diagnosis the compliance gate checks."""
    from saisei.regulatory.config import indication_vocabulary

    patient = selectors.patient_get(actor=request.user, external_id=external_id)
    if not perms.can_set_diagnosis(request.user):
        return _forbidden(request)
    choices = [(i.code, f"{_(i.label)} (ICD-10 {i.icd10})") for i in indication_vocabulary()]
    form = f.DiagnosisForm(
        request.POST or None,
        choices=choices,
        initial={"code": patient.diagnosis_code, "text": patient.diagnosis_text},
    )
    ctx = {"form": form, "patient": patient}
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            services.patient_diagnosis_set(
                actor=request.user,
                patient=patient,
                code=d["code"],
                text=d["text"],
                reason=d["reason"],
            )
        except DomainError as exc:
            return render_form_error(request, "journey/patient_diagnosis.html", ctx, exc, form)
        messages.success(request, _("Diagnosis recorded."))
        return redirect("journey:patient_detail", external_id=patient.external_id)
    return render(
        request, "journey/patient_diagnosis.html", ctx, status=400 if form.errors else 200
    )


# --- pre-screening --------------------------------------------------------------------------


@staff_view
def prescreen_new(request: AuthedRequest, external_id: str) -> HttpResponse:
    patient = selectors.patient_get(actor=request.user, external_id=external_id)
    form = f.PrescreenForm(request.POST or None, plans=_plans(request.user))
    ctx = {"form": form, "patient": patient}
    if request.method == "POST" and form.is_valid():
        try:
            services.prescreen_record(
                actor=request.user,
                patient=patient,
                plan=form.cleaned_data["plan"],
                answers=form.answers(),
            )
        except DomainError as exc:
            return render_form_error(request, "journey/prescreen_form.html", ctx, exc, form)
        messages.success(request, _("Pre-screening recorded; a physician decides and signs."))
        return redirect("journey:patient_detail", external_id=patient.external_id)
    return render(request, "journey/prescreen_form.html", ctx)


@staff_view
def prescreen_decide(request: AuthedRequest, external_id: str) -> HttpResponse:
    ps = get_scoped(
        perms.scope_journey(request.user, Prescreen.objects.select_related("patient")), external_id
    )
    lang = get_language() or "en"
    reasons = [(r.get("severity", ""), stored_text(r, lang)) for r in ps.reasons]
    form = f.PrescreenDecisionForm(
        request.POST or None,
        initial={"decision": "eligible" if ps.outcome == "eligible" else "not_eligible"},
    )
    ctx = {"form": form, "prescreen": ps, "reasons": reasons, "patient": ps.patient}
    if request.method == "POST" and form.is_valid():
        try:
            services.prescreen_decide(
                actor=request.user,
                prescreen_obj=ps,
                decision=form.cleaned_data["decision"],
                note=form.cleaned_data["note"],
                password=form.cleaned_data["password"],
                otp=form.cleaned_data["otp"] or None,
            )
        except DomainError as exc:
            return render_form_error(request, "journey/prescreen_decide.html", ctx, exc, form)
        messages.success(request, _("Decision signed."))
        return redirect("journey:patient_detail", external_id=ps.patient.external_id)
    return render(request, "journey/prescreen_decide.html", ctx)


# --- quotes ---------------------------------------------------------------------------------


@staff_view
def quote_new(request: AuthedRequest, external_id: str) -> HttpResponse:
    patient = selectors.patient_get(actor=request.user, external_id=external_id)
    today = timezone.localdate()
    price_lists = selectors.price_list_list(actor=request.user).filter(
        valid_from__lte=today, valid_until__gte=today
    )
    form = f.QuoteForm(
        request.POST or None,
        plans=_plans(request.user),
        price_lists=price_lists,
        initial={"currency": patient.currency, "language": patient.language, "fx_date": today},
    )
    ctx = {"form": form, "patient": patient}
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            quote = services.quote_create(
                actor=request.user,
                patient=patient,
                plan=d["plan"],
                price_list=d["price_list"],
                infusions=d["infusions"],
                follow_ups=d["follow_ups"],
                assessments=d["assessments"],
                interpreter_days=d["interpreter_days"],
                commission=(d["commission_percent"] / Decimal(100)).quantize(Decimal("0.0001")),
                commission_payer=d["commission_payer"],
                currency=d["currency"],
                fx_jpy_per_unit=d.get("fx_jpy_per_unit"),
                fx_date=d.get("fx_date") if d.get("fx_jpy_per_unit") else None,
                fx_source=d.get("fx_source") or "",
                language=d["language"],
            )
        except DomainError as exc:
            return render_form_error(request, "journey/quote_form.html", ctx, exc, form)
        return redirect("journey:quote_detail", external_id=quote.external_id)
    return render(request, "journey/quote_form.html", ctx)


def quote_context(quote: Any, language: str) -> dict[str, Any]:
    lines = []
    commission = None
    for line in quote.lines.all():
        try:
            label = stored_text(json.loads(line.note), language)
        except (ValueError, TypeError):
            label = line.description
        item = {"label": label, "line": line}
        if line.kind == "commission":
            commission = item
        else:
            lines.append(item)
    from ..i18n import t

    refunds = [{**s, "label": stored_text(s, language)} for s in quote.refund_schedule]
    d = quote.disclosures or {}
    return {
        "quote": quote,
        "lines": lines,
        "commission": commission,
        "refunds": refunds,
        "evidence": [t(m, language) for m in d.get("evidence") or rules.QUOTE_EVIDENCE],
        "risks": [t(m, language) for m in d.get("risks") or rules.QUOTE_RISKS],
        "disclosures": d,
    }


@staff_view
def quote_detail(request: AuthedRequest, external_id: str) -> HttpResponse:
    quote = selectors.quote_get(actor=request.user, external_id=external_id)
    form = f.AcceptForm(request.POST or None)
    ctx = {**quote_context(quote, get_language() or "en"), "form": form}
    if request.method == "POST":
        try:
            if request.POST.get("action") == "issue":
                services.quote_issue(actor=request.user, quote=quote)
                messages.success(request, _("Quote issued."))
            elif request.POST.get("action") == "accept" and form.is_valid():
                services.quote_accept(
                    quote=quote,
                    accepted_by_name=form.cleaned_data["accepted_by_name"],
                    agree=form.cleaned_data["agree"],
                    actor=request.user,
                )
                messages.success(request, _("Acceptance recorded."))
            else:
                return render(request, "journey/quote_detail.html", ctx, status=400)
        except DomainError as exc:
            return render_form_error(request, "journey/quote_detail.html", ctx, exc, form)
        return redirect("journey:quote_detail", external_id=quote.external_id)
    return render(request, "journey/quote_detail.html", ctx)


def pdf_response(pdf: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


@staff_view
def quote_pdf(request: AuthedRequest, external_id: str) -> HttpResponse:
    from ..documents import quote_pdf as render_pdf

    quote = selectors.quote_get(actor=request.user, external_id=external_id)
    lang = request.GET.get("lang") or quote.language
    log_read(
        request,
        "quote_pdf",
        quote.external_id,
        patient=quote.patient,
        label=f"quote {quote.number} v{quote.version} PDF",
    )
    return pdf_response(
        render_pdf(quote=quote, language=lang), f"{quote.number}-v{quote.version}-{lang}.pdf"
    )


# --- consent --------------------------------------------------------------------------------


@staff_view
def consent_new(request: AuthedRequest, external_id: str) -> HttpResponse:
    patient = selectors.patient_get(actor=request.user, external_id=external_id)
    documents = selectors.consent_document_list(actor=request.user).filter(is_current=True)
    proxies = LegalProxy.objects.filter(patient=patient, voided_at__isnull=True)
    initial = {"given_by": "proxy" if proxies.exists() else "patient"}
    doc_lang = documents.filter(language=patient.language).first()
    if doc_lang:
        initial["document"] = doc_lang.pk
    form = f.ConsentForm(
        request.POST or None, documents=documents, proxies=proxies, initial=initial
    )
    ctx = {"form": form, "patient": patient, "documents": documents}
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            services.consent_give(
                actor=request.user,
                patient=patient,
                document=d["document"],
                given_by=d["given_by"],
                proxy=d.get("proxy"),
                signer_name=d["signer_name"],
                signer_confirms=d["signer_confirms"],
                password=d["password"],
                otp=d["otp"] or None,
            )
        except DomainError as exc:
            return render_form_error(request, "journey/consent_form.html", ctx, exc, form)
        messages.success(request, _("Consent recorded."))
        return redirect("journey:patient_detail", external_id=patient.external_id)
    return render(request, "journey/consent_form.html", ctx)


@staff_view
def consent_withdraw(request: AuthedRequest, external_id: str) -> HttpResponse:
    consent = selectors.consent_get(actor=request.user, external_id=external_id)
    form = f.WithdrawForm(request.POST or None)
    ctx = {"form": form, "consent": consent, "patient": consent.patient}
    if request.method == "POST" and form.is_valid():
        try:
            services.consent_withdraw(
                actor=request.user, consent=consent, reason=form.cleaned_data["reason"]
            )
        except DomainError as exc:
            return render_form_error(request, "journey/consent_withdraw.html", ctx, exc, form)
        messages.success(request, _("Withdrawal recorded; further steps are stopped."))
        return redirect("journey:patient_detail", external_id=consent.patient.external_id)
    return render(request, "journey/consent_withdraw.html", ctx)


# --- course ---------------------------------------------------------------------------------


@staff_view
def course_new(request: AuthedRequest, external_id: str) -> HttpResponse:
    from saisei.regulatory.selectors import (
        facilities_of_organisation,
        physicians_of_organisation,
    )

    patient = selectors.patient_get(actor=request.user, external_id=external_id)
    packages = perms.scope_journey(
        request.user, TreatmentPackage.objects.filter(is_active=True, voided_at__isnull=True)
    )
    physicians = perms.scope_journey(
        request.user, physicians_of_organisation(actor=request.user).filter(voided_at__isnull=True)
    )
    facilities = perms.scope_journey(
        request.user, facilities_of_organisation(actor=request.user).filter(voided_at__isnull=True)
    )
    itinerary = selectors.itinerary_current(patient=patient)
    visits = {}
    if itinerary is not None:
        for trip in itinerary.plan.get("trips", []):
            for v in trip["visits"]:
                visits[(v["kind"], v.get("sequence", 1))] = dt.date.fromisoformat(v["date"])
    initial: dict[str, Any] = {"harvest_date": visits.get(("harvest", 1))}
    own = physicians.filter(user=request.user).first()
    if own:
        initial["physician"] = own.pk
    form = f.CourseForm(
        request.POST or None,
        packages=packages,
        physicians=physicians,
        facilities=facilities,
        initial=initial,
    )
    ctx = {"form": form, "patient": patient, "itinerary": itinerary}
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            course = services.course_instantiate(
                actor=request.user,
                patient=patient,
                package=d["package"],
                harvest_date=d["harvest_date"],
                physician=d.get("physician"),
                facility=d.get("facility"),
                visit_dates=visits if d.get("use_itinerary") else None,
            )
            services.course_schedule(actor=request.user, course=course)
        except DomainError as exc:
            return render_form_error(request, "journey/course_form.html", ctx, exc, form)
        return redirect("journey:course_detail", external_id=course.external_id)
    return render(request, "journey/course_form.html", ctx)


@staff_view
def course_detail(request: AuthedRequest, external_id: str) -> HttpResponse:
    course = selectors.course_get(actor=request.user, external_id=external_id)
    if request.method == "POST":
        try:
            services.course_schedule(actor=request.user, course=course)
        except DomainError as exc:
            messages.error(request, str(exc.message))
        return redirect("journey:course_detail", external_id=course.external_id)
    steps = sorted(course.steps.all(), key=lambda s: (s.planned_date or dt.date.max, s.kind))
    return render(
        request,
        "journey/course_detail.html",
        {"course": course, "steps": steps, "patient": course.patient},
    )


# --- itinerary ------------------------------------------------------------------------------


def _itinerary_view_data(itinerary: Any, language: str) -> dict[str, Any]:
    return {
        "itinerary": itinerary,
        "trips": itinerary.plan.get("trips", []) if itinerary else [],
        "explanations": [stored_text(m, language) for m in itinerary.explanations]
        if itinerary
        else [],
        "changes": [stored_text(m, language) for m in itinerary.changes] if itinerary else [],
    }


@staff_view
def itinerary_view(request: AuthedRequest, external_id: str) -> HttpResponse:
    patient = selectors.patient_get(actor=request.user, external_id=external_id)
    current = selectors.itinerary_current(patient=patient)
    initial = dict(current.request) if current else {}
    replanning = request.POST.get("action") == "replan"
    form = f.ItineraryForm(None if replanning else (request.POST or None), initial=initial)
    replan = f.ReplanForm(
        request.POST if replanning else None, initial={"through": timezone.localdate()}
    )
    ctx = {
        "form": form,
        "replan": replan,
        "patient": patient,
        **_itinerary_view_data(current, get_language() or "en"),
    }
    if request.method == "POST":
        try:
            if replanning and replan.is_valid():
                services.itinerary_replan(
                    actor=request.user,
                    patient=patient,
                    through=replan.cleaned_data["through"],
                    culture_ready_by=replan.cleaned_data.get("culture_ready_by"),
                )
            elif not replanning and form.is_valid():
                d = {
                    k: (v.isoformat() if isinstance(v, dt.date) else v)
                    for k, v in form.cleaned_data.items()
                }
                course = patient.courses.exclude(status="stopped").order_by("-created_at").first()
                services.itinerary_plan(
                    actor=request.user, patient=patient, request_data=d, course=course
                )
            else:
                return render(request, "journey/itinerary.html", ctx, status=400)
        except DomainError as exc:
            return render_form_error(
                request, "journey/itinerary.html", ctx, exc, replan if replanning else form
            )
        messages.success(request, _("Itinerary planned."))
        return redirect("journey:itinerary", external_id=patient.external_id)
    return render(request, "journey/itinerary.html", ctx)


@staff_view
def itinerary_print(request: AuthedRequest, external_id: str) -> HttpResponse:
    from django.utils import translation

    patient = selectors.patient_get(actor=request.user, external_id=external_id)
    lang = request.GET.get("lang") or patient.language
    current = selectors.itinerary_current(patient=patient)
    log_read(
        request, "itinerary_print", patient.external_id, patient=patient, label="itinerary (print)"
    )
    with translation.override(lang):
        return render(
            request,
            "journey/itinerary_print.html",
            {"patient": patient, "lang": lang, **_itinerary_view_data(current, lang)},
        )


def ics_response(patient: Any, itinerary: Any) -> HttpResponse:
    from ..ical import itinerary_to_ics
    from ..planning import plan

    _req, planned = plan(itinerary.request)
    text = itinerary_to_ics(
        planned,
        patient_label=patient.display_name,
        language=patient.language,
        uid_seed=str(patient.external_id),
        sequence=itinerary.version,
    )
    response = HttpResponse(text, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="itinerary-{patient.patient_code}.ics"'
    return response


@staff_view
def itinerary_ics(request: AuthedRequest, external_id: str) -> HttpResponse:
    patient = selectors.patient_get(actor=request.user, external_id=external_id)
    current = selectors.itinerary_current(patient=patient)
    if current is None:
        return redirect("journey:itinerary", external_id=patient.external_id)
    log_read(
        request,
        "itinerary_ics",
        patient.external_id,
        patient=patient,
        label="itinerary (calendar file)",
    )
    return ics_response(patient, current)


# --- visa, guarantor, portal link -----------------------------------------------------------


@staff_view
def visa_view(request: AuthedRequest, external_id: str) -> HttpResponse:
    patient = selectors.patient_get(actor=request.user, external_id=external_id)
    if request.method == "GET":
        log_read(
            request,
            "visa",
            patient.external_id,
            patient=patient,
            label="visa and guarantor documents",
        )
    gform = f.GuarantorForm(request.POST if request.POST.get("action") == "guarantor" else None)
    try:
        if request.method == "GET" and perms.can_manage_travel(request.user):
            services.visa_checklist_ensure(actor=request.user, patient=patient)
        if request.method == "POST":
            if request.POST.get("action") == "guarantor" and gform.is_valid():
                services.guarantor_record(actor=request.user, patient=patient, **gform.cleaned_data)
            elif request.POST.get("action") == "item":
                doc = get_scoped(
                    perms.scope_journey(request.user, VisaDocument.objects.filter(patient=patient)),
                    request.POST.get("item"),
                )
                iform = f.VisaItemForm(request.POST)
                if iform.is_valid():
                    services.visa_document_update(
                        actor=request.user, document=doc, **iform.cleaned_data
                    )
            return redirect("journey:visa", external_id=patient.external_id)
    except DomainError as exc:
        messages.error(request, str(exc.message))
        return redirect("journey:visa", external_id=patient.external_id)
    labels = {i.code: (_(i.label), i.source) for i in rules.VISA_CHECKLIST}
    items = [
        {
            "doc": d,
            "label": labels.get(d.code, (d.code, ""))[0],
            "source": labels.get(d.code, ("", ""))[1],
        }
        for d in patient.visa_documents.all()
    ]
    return render(
        request,
        "journey/visa.html",
        {
            "patient": patient,
            "items": items,
            "guarantors": GuarantorRecord.objects.filter(patient=patient),
            "gform": gform,
            "iform": f.VisaItemForm(),
        },
    )


@staff_view
@require_POST
def portal_link(request: AuthedRequest, external_id: str) -> HttpResponse:
    patient = selectors.patient_get(actor=request.user, external_id=external_id)
    try:
        access, _token = services.portal_link_issue(actor=request.user, patient=patient)
    except DomainError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(
            request,
            _("A one-time portal link was e-mailed to %(email)s.") % {"email": access.email},
        )
    return redirect("journey:patient_detail", external_id=patient.external_id)
