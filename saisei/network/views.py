"""Pages of the facilitator network: the facilitator's pipeline and referrals, the clinic's
received referrals, and the family's consent and comparison in the portal."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from functools import wraps
from typing import Any

from django.contrib import messages
from django.core.exceptions import ObjectDoesNotExist, RequestDataTooBig
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from saisei.core.access_log import WEB, access_log_record
from saisei.core.errors import DomainError, Forbidden
from saisei.core.models import Organisation
from saisei.journey import selectors as journey_selectors
from saisei.journey.portal import SESSION_KEY, portal_patient
from saisei.journey.views._helpers import AuthedRequest, ip, staff_view

from . import permissions as perms
from . import rules, selectors, services
from .api import commissions_response
from .models import ReferralConsent, Share


def localise(rows: list[Any], language: str) -> dict[str, Any]:
    """Render the stored refund labels and the statements in the reader's language."""
    from saisei.journey import rules as journey_rules
    from saisei.journey.i18n import t
    from saisei.journey.views._helpers import stored_text

    for r in rows:
        r.refunds = [{**s, "label": stored_text(s, language)} for s in r.refund_schedule]
        r.route_label = str(rules.ROUTE_LABELS.get(r.route, r.route)) if r.route else ""
    return {
        "rows": rows,
        "evidence": [t(m, language) for m in journey_rules.QUOTE_EVIDENCE],
        "risks": [t(m, language) for m in journey_rules.QUOTE_RISKS],
    }


def _forbidden(request: HttpRequest) -> HttpResponse:
    return render(request, "core/forbidden.html", status=403)


def _error(request: HttpRequest, exc: DomainError) -> None:
    messages.error(request, str(exc.message))


# --- facilitator --------------------------------------------------------------------------------


def _month_bounds(request: HttpRequest) -> tuple[dt.date, dt.date]:
    today = timezone.localdate()
    try:
        start = dt.date.fromisoformat(request.GET.get("start", ""))
        end = dt.date.fromisoformat(request.GET.get("end", ""))
    except ValueError:
        start = today.replace(day=1)
        end = today
    return start, end


@staff_view
def pipeline(request: AuthedRequest) -> HttpResponse:
    if not perms.is_facilitator(request.user):
        return redirect("network:received_list")
    if not (perms.is_facilitator(request.user) and perms.can_view_referrals(request.user)):
        return _forbidden(request)
    start, end = _month_bounds(request)
    stages = selectors.pipeline(actor=request.user)
    labels = {
        "choosing": _("Family choosing clinics"),
        "waiting": _("Waiting for clinics"),
        "comparing": _("Comparing quotes"),
        "accepted": _("Quote accepted"),
        "closed": _("Closed"),
    }
    referred = selectors.referral_list(actor=request.user).values_list("inquiry_id", flat=True)
    inquiries = (
        journey_selectors.inquiries_of_organisation(actor=request.user)
        .filter(voided_at__isnull=True)
        .exclude(pk__in=list(referred))[:50]
    )
    return render(
        request,
        "network/pipeline.html",
        {
            "stages": [(labels[s], stages.get(s, [])) for s in selectors.PIPELINE_STAGES],
            "times": selectors.response_times(actor=request.user),
            "commissions": selectors.commissions(actor=request.user, start=start, end=end),
            "start": start,
            "end": end,
            "inquiries": inquiries,
            "can_manage": perms.can_manage_referral(request.user),
        },
    )


@staff_view
def commissions_csv(request: AuthedRequest) -> HttpResponse:
    start, end = _month_bounds(request)
    try:
        rows = selectors.commissions(actor=request.user, start=start, end=end)
    except Forbidden:
        return _forbidden(request)
    return commissions_response(rows, start, end)


@staff_view
@require_POST
def referral_open(request: AuthedRequest, inquiry_id: str) -> HttpResponse:
    inquiry = (
        journey_selectors.inquiries_of_organisation(actor=request.user)
        .filter(external_id=inquiry_id)
        .first()
    )
    if inquiry is None:
        raise Http404
    patient = inquiry.patients.filter(voided_at__isnull=True).first()
    try:
        referral = services.referral_open(
            actor=request.user,
            inquiry=inquiry,
            family_country=request.POST.get("family_country", ""),
            patient=patient,
        )
    except Forbidden:
        return _forbidden(request)
    except DomainError as exc:
        _error(request, exc)
        return redirect("network:pipeline")
    return redirect("network:referral_detail", referral.external_id)


@staff_view
def referral_detail(request: AuthedRequest, external_id: str) -> HttpResponse:
    try:
        referral = selectors.referral_get(actor=request.user, external_id=external_id)
    except Forbidden:
        return _forbidden(request)
    consents = list(referral.consents.select_related("clinic").order_by("-given_at"))
    shared = {s.consent_id for s in referral.shares.filter(revoked_at__isnull=True)}
    rows = selectors.comparison(referral=referral)
    deliveries = selectors.peer_deliveries(referral=referral)
    for row in rows:
        row.deliveries = deliveries.get(str(row.share.external_id), [])
    return render(
        request,
        "network/referral_detail.html",
        {
            "referral": referral,
            "consents": consents,
            "shared": shared,
            **localise(rows, translation.get_language() or "en"),
            "order": referral.order,
            "can_manage": perms.can_manage_referral(request.user),
            "country_name": rules.country_name,
        },
    )


@staff_view
@require_POST
def share_create(request: AuthedRequest, external_id: str, consent_id: str) -> HttpResponse:
    referral = selectors.referral_get(actor=request.user, external_id=external_id)
    consent = ReferralConsent.objects.filter(referral=referral, external_id=consent_id).first()
    if consent is None:
        raise Http404
    try:
        services.share_create(actor=request.user, referral=referral, consent=consent)
        messages.success(request, _("Shared with %(clinic)s.") % {"clinic": consent.clinic.name})
    except Forbidden:
        return _forbidden(request)
    except DomainError as exc:
        _error(request, exc)
    return redirect("network:referral_detail", referral.external_id)


@staff_view
@require_POST
def share_revoke(request: AuthedRequest, share_id: str) -> HttpResponse:
    share = Share.objects.filter(
        external_id=share_id, organisation_id=request.user.organisation_id
    ).first()
    if share is None:
        raise Http404
    try:
        services.share_revoke(
            actor=request.user, share=share, reason=request.POST.get("reason", "")
        )
        messages.success(request, _("Sharing ended."))
    except Forbidden:
        return _forbidden(request)
    except DomainError as exc:
        _error(request, exc)
    return redirect("network:referral_detail", share.referral.external_id)


@staff_view
def agreement_list(request: AuthedRequest) -> HttpResponse:
    try:
        agreements = list(selectors.agreement_list(actor=request.user))
    except Forbidden:
        return _forbidden(request)
    clinics = Organisation.objects.filter(kind=Organisation.Kind.CLINIC_GROUP)
    if request.method == "POST":
        p = request.POST
        try:
            kind = p.get("commission_kind", "")
            services.agreement_create(
                actor=request.user,
                clinic=clinics.get(slug=p.get("clinic", "")),
                reference=p.get("reference", ""),
                commission_kind=kind,
                commission_percent=Decimal(p["commission"]) if kind == "percent" else None,
                commission_fixed_jpy=int(p["commission"]) if kind == "fixed" else None,
                commission_payer=p.get("commission_payer", ""),
                shareable_fields=p.getlist("fields"),
                documents_shareable=bool(p.get("documents")),
                recipient_measures=p.get("recipient_measures", ""),
                valid_from=dt.date.fromisoformat(p.get("valid_from", "")),
                valid_until=dt.date.fromisoformat(p.get("valid_until", "")),
            )
        except Forbidden:
            return _forbidden(request)
        except (
            DomainError,
            Organisation.DoesNotExist,
            KeyError,
            ValueError,
            InvalidOperation,
        ) as exc:
            messages.error(request, str(getattr(exc, "message", _("Please check the fields."))))
        else:
            return redirect("network:agreement_list")
    return render(
        request,
        "network/agreements.html",
        {
            "agreements": agreements,
            "clinics": clinics,
            "fields": rules.SHAREABLE_FIELDS.items(),
            "can_manage": perms.can_manage_agreement(request.user),
        },
    )


# --- clinic ---------------------------------------------------------------------------------------


@staff_view
def received_list(request: AuthedRequest) -> HttpResponse:
    if not perms.can_view_referrals(request.user):
        return _forbidden(request)
    return render(
        request,
        "network/received_list.html",
        {"shares": selectors.shares_for_clinic(actor=request.user)},
    )


@staff_view
def received_detail(request: AuthedRequest, external_id: str) -> HttpResponse:
    share = selectors.share_for_clinic(actor=request.user, external_id=external_id)
    if share.first_seen_at is None:
        Share.objects.filter(pk=share.pk).update(first_seen_at=timezone.now())
    access_log_record(
        actor=request.user,
        channel=WEB,
        subject_type="network.share",
        subject_id=share.external_id,
        patient=(share.referral.external_id, share.referral.reference),
        label="referral",
    )
    if request.method == "POST":
        try:
            if request.POST.get("action") == "decline":
                services.share_decline(
                    actor=request.user, share=share, reason=request.POST.get("reason", "")
                )
                messages.success(request, _("Declined."))
            else:
                services.share_quote(
                    actor=request.user,
                    share=share,
                    # A missing choice (None) matches no row: DoesNotExist, handled below.
                    package=journey_selectors.packages_of_organisation(actor=request.user).get(
                        external_id=request.POST.get("package")  # type: ignore[misc]
                    ),
                    price_list=journey_selectors.price_lists_of_organisation(
                        actor=request.user
                    ).get(external_id=request.POST.get("price_list")),  # type: ignore[misc]
                )
                messages.success(request, _("Quote sent to the facilitator."))
        except Forbidden:
            return _forbidden(request)
        except (ObjectDoesNotExist, ValueError):
            messages.error(request, _("Choose a package and a price list."))
        except DomainError as exc:
            _error(request, exc)
        return redirect("network:received_detail", share.external_id)
    return render(
        request,
        "network/received_detail.html",
        {
            "share": share,
            "record": selectors.shared_record(share),
            "packages": journey_selectors.packages_of_organisation(actor=request.user)
            .filter(is_active=True, voided_at__isnull=True)
            .select_related("plan"),
            "price_lists": journey_selectors.price_lists_of_organisation(actor=request.user).filter(
                voided_at__isnull=True
            ),
            "can_answer": perms.can_answer_referral(request.user),
        },
    )


@staff_view
def received_file(request: AuthedRequest, external_id: str, file_id: str) -> FileResponse:
    share = selectors.share_for_clinic(actor=request.user, external_id=external_id)
    f = selectors.shared_file(share, file_id)
    access_log_record(
        actor=request.user,
        channel=WEB,
        subject_type="journey.inquiry_file",
        subject_id=f.external_id,
        patient=(share.referral.external_id, share.referral.reference),
        label=f.original_name,
    )
    return FileResponse(f.file.open("rb"), as_attachment=True, filename=f.original_name)


# --- family portal ------------------------------------------------------------------------------


def portal_view(view: Any) -> Any:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        patient = portal_patient(request)
        if patient is None:
            return render(request, "journey/portal/no_access.html", status=403)
        referral = selectors.family_referral(patient=patient)
        lang = request.GET.get("lang") or patient.language
        if referral is None:
            with translation.override(lang):
                return render(request, "network/portal/none.html", {"patient": patient})
        access = journey_selectors.portal_access_of_session(pk=request.session[SESSION_KEY])
        with translation.override(lang):
            request.LANGUAGE_CODE = lang
            return view(request, patient, referral, access, *args, **kwargs)

    return wrapper


@portal_view
def portal_referral(request: HttpRequest, patient: Any, referral: Any, access: Any) -> HttpResponse:
    """Choose clinics and consent per clinic; see what was shared with whom."""
    lang = translation.get_language() or patient.language
    consented = {
        c.agreement_id
        for c in referral.consents.filter(withdrawn_at__isnull=True, voided_at__isnull=True)
    }
    files = list(referral.inquiry.files.filter(voided_at__isnull=True))
    partners: list[dict[str, Any]] = []
    errors: dict[int, str] = {}
    for a in services.partners_live(referral.organisation):
        try:
            info = services.transfer_information(referral=referral, agreement=a, language=lang)
        except DomainError as exc:
            info = {"refused": str(exc.message)}
        partners.append(
            {
                "agreement": a,
                "fields": [(f, rules.SHAREABLE_FIELDS[f]) for f in a.shareable_fields],
                "info": info,
                "consented": a.pk in consented,
                "documents": services.documents_may_travel(a),
            }
        )
    status = 200
    if request.method == "POST":
        agreement = next(
            (
                p["agreement"]
                for p in partners
                if str(p["agreement"].external_id) == request.POST.get("agreement")
            ),
            None,
        )
        if agreement is None:
            raise Http404
        try:
            services.referral_consent_give(
                referral=referral,
                agreement=agreement,
                fields=request.POST.getlist("fields"),
                file_ids=request.POST.getlist("files"),
                given_by_name=request.POST.get("given_by_name", ""),
                agree=bool(request.POST.get("agree")),
                agree_transfer=bool(request.POST.get("agree_transfer")),
                language=lang,
                portal_access=access,
                client_ip=ip(request),
            )
        except DomainError as exc:
            errors[agreement.pk] = str(exc.message)
            status = 400
        else:
            return redirect(reverse("network:portal_referral") + "?consented=1")
    return render(
        request,
        "network/portal/referral.html",
        {
            "patient": patient,
            "referral": referral,
            "partners": partners,
            "files": files if any(p["documents"] for p in partners) else [],
            "errors": errors,
            "shares": selectors.family_shares(patient=patient),
            "consents": referral.consents.select_related("clinic").order_by("-given_at"),
        },
        status=status,
    )


@portal_view
@require_POST
def portal_consent_withdraw(
    request: HttpRequest, patient: Any, referral: Any, access: Any, consent_id: str
) -> HttpResponse:
    consent = referral.consents.filter(external_id=consent_id).first()
    if consent is None:
        raise Http404
    try:
        services.referral_consent_withdraw(consent=consent, reason="", portal_access=access)
    except DomainError as exc:
        messages.error(request, str(exc.message))
    return redirect("network:portal_referral")


@portal_view
def portal_compare(request: HttpRequest, patient: Any, referral: Any, access: Any) -> HttpResponse:
    """The clinics' quotes side by side, in the family's chosen order; accept one."""
    status = 200
    error = ""
    if request.method == "POST":
        if request.POST.get("order"):
            services.referral_order_set(
                referral=referral, order=request.POST["order"], portal_access=access
            )
            return redirect("network:portal_compare")
        share = referral.shares.filter(external_id=request.POST.get("share")).first()
        if share is None:
            raise Http404
        try:
            services.comparison_accept(
                referral=referral,
                share=share,
                accepted_by_name=request.POST.get("accepted_by_name", ""),
                agree=bool(request.POST.get("agree")),
                portal_access=access,
                client_ip=ip(request),
            )
        except DomainError as exc:
            error = str(exc.message)
            status = 400
        else:
            return redirect(reverse("network:portal_compare") + "?accepted=1")
    return render(
        request,
        "network/portal/compare.html",
        {
            "patient": patient,
            "referral": referral,
            **localise(selectors.comparison(referral=referral), translation.get_language() or "en"),
            "order": referral.order,
            "error": error,
            "lang": translation.get_language(),
        },
        status=status,
    )


# --- another installation ---------------------------------------------------------------------


@csrf_exempt
@require_POST
def peer_inbox(request: HttpRequest, org_slug: str) -> JsonResponse:
    """Where a trusted peer installation posts a signed message for one of our organisations
    (decision 0030). The signature is the authentication; refusals answer a specific 4xx."""
    from . import exchange, peering

    try:
        body = request.body
    except RequestDataTooBig:
        return JsonResponse({"error": {"code": "too_large", "message": "Too large."}}, status=413)
    try:
        result = exchange.receive(organisation_slug=org_slug, body=body)
    except peering.EnvelopeRefused as exc:
        return JsonResponse(
            {"error": {"code": exc.code, "message": exc.message}}, status=exc.status
        )
    except DomainError as exc:
        return JsonResponse(exc.as_dict(), status=exc.status_code)
    return JsonResponse(result, status=200)
