"""The patient and caregiver portal: opened by a one-time link, shows only that patient's records."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from saisei.core.errors import DomainError

from .. import selectors, services
from ..forms import AcceptForm
from ..models import Consent, PortalAccess, Quote
from ..portal import SESSION_KEY, portal_login, portal_logout, portal_patient
from ._helpers import ip


def portal_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Only a session opened by a magic link gets in; pages speak the patient's language."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        patient = portal_patient(request)
        if patient is None:
            return render(request, "journey/portal/no_access.html", status=403)
        lang = request.GET.get("lang") or patient.language
        with translation.override(lang):
            request.LANGUAGE_CODE = lang
            return view(request, patient, *args, **kwargs)

    return wrapper


def portal_enter(request: HttpRequest, token: str) -> HttpResponse:
    """Ask before using the link, so an e-mail scanner that fetches it does not spend it."""
    if request.method == "POST":
        try:
            access = services.portal_link_redeem(token=token, client_ip=ip(request))
        except DomainError as exc:
            return render(
                request, "journey/portal/no_access.html", {"error": exc.message}, status=400
            )
        portal_login(request, access)
        return redirect("journey:portal_home")
    return render(request, "journey/portal/enter.html", {"token": token})


@require_POST
def portal_exit(request: HttpRequest) -> HttpResponse:
    portal_logout(request)
    return render(request, "journey/portal/no_access.html", {"signed_out": True})


@portal_required
def portal_home(request: HttpRequest, patient: Any) -> HttpResponse:
    from .staff import _itinerary_view_data

    lang = translation.get_language() or patient.language
    quotes = (
        Quote.objects.filter(patient=patient, voided_at__isnull=True)
        .exclude(status="draft")
        .order_by("-created_at")
    )
    consents = Consent.objects.filter(patient=patient, voided_at__isnull=True).select_related(
        "document", "plan_version__plan"
    )
    courses = (
        patient.courses.filter(voided_at__isnull=True)
        .prefetch_related("steps")
        .select_related("plan")
    )
    itinerary = selectors.itinerary_current(patient=patient)
    return render(
        request,
        "journey/portal/home.html",
        {
            "patient": patient,
            "quotes": quotes,
            "consents": consents,
            "courses": courses,
            **_itinerary_view_data(itinerary, lang),
        },
    )


def _own_quote(patient: Any, external_id: str) -> Quote:
    quote = (
        Quote.objects.filter(patient=patient, external_id=external_id, voided_at__isnull=True)
        .exclude(status="draft")
        .first()
    )
    if quote is None:
        raise Http404
    return quote


@portal_required
def portal_quote(request: HttpRequest, patient: Any, external_id: str) -> HttpResponse:
    from .staff import quote_context

    quote = _own_quote(patient, external_id)
    lang = translation.get_language() or patient.language
    form = AcceptForm(request.POST or None)
    ctx = {**quote_context(quote, lang), "form": form, "patient": patient}
    if request.method == "POST" and form.is_valid():
        access = PortalAccess.objects.get(pk=request.session[SESSION_KEY])
        try:
            services.quote_accept(
                quote=quote,
                accepted_by_name=form.cleaned_data["accepted_by_name"],
                agree=form.cleaned_data["agree"],
                portal_access=access,
                client_ip=ip(request),
            )
        except DomainError as exc:
            for field, msgs in exc.fields.items():
                for m in msgs if isinstance(msgs, list | tuple) else [msgs]:
                    form.add_error(field if field in form.fields else None, str(m))
            form.add_error(None, str(exc.message))
            return render(request, "journey/portal/quote.html", ctx, status=400)
        return redirect(reverse("journey:portal_quote", args=[quote.external_id]) + "?accepted=1")
    status = 400 if request.method == "POST" else 200
    return render(request, "journey/portal/quote.html", ctx, status=status)


@portal_required
def portal_quote_pdf(request: HttpRequest, patient: Any, external_id: str) -> HttpResponse:
    from ..documents import quote_pdf
    from .staff import pdf_response

    quote = _own_quote(patient, external_id)
    lang = request.GET.get("lang") or quote.language
    return pdf_response(
        quote_pdf(quote=quote, language=lang), f"{quote.number}-v{quote.version}.pdf"
    )


@portal_required
def portal_consent(request: HttpRequest, patient: Any, external_id: str) -> HttpResponse:
    consent = (
        Consent.objects.filter(patient=patient, external_id=external_id, voided_at__isnull=True)
        .select_related("document")
        .first()
    )
    if consent is None:
        raise Http404
    return render(request, "journey/portal/consent.html", {"patient": patient, "consent": consent})


@portal_required
def portal_itinerary(request: HttpRequest, patient: Any) -> HttpResponse:
    from .staff import _itinerary_view_data

    itinerary = selectors.itinerary_current(patient=patient)
    lang = translation.get_language() or patient.language
    return render(
        request,
        "journey/itinerary_print.html",
        {"patient": patient, "lang": lang, "portal": True, **_itinerary_view_data(itinerary, lang)},
    )


@portal_required
def portal_itinerary_ics(request: HttpRequest, patient: Any) -> HttpResponse:
    from .staff import ics_response

    itinerary = selectors.itinerary_current(patient=patient)
    if itinerary is None:
        raise Http404
    return ics_response(patient, itinerary)


@portal_required
def portal_report(request: HttpRequest, patient: Any) -> HttpResponse:
    """Point to the problem-report form (safety app) or give the clinic's contact."""
    from django.urls import NoReverseMatch

    try:
        url = reverse("safety:portal_report")
    except NoReverseMatch:
        url = ""
    return render(
        request,
        "journey/portal/report.html",
        {
            "patient": patient,
            "report_url": url,
            "message": _("Tell us about any problem after you went home."),
        },
    )
