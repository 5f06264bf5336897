"""The public inquiry page: no login, in English, Japanese or simplified Chinese."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from saisei.core.errors import DomainError
from saisei.core.models import Organisation

from .. import rules, services
from ..countries import COUNTRIES
from ..forms import InquiryForm
from ..models.people import language_choices
from ..uploads import CappedUploadHandler
from ._helpers import ip


def public_languages() -> list[str]:
    return [code for code, _name in language_choices()]


def _org(slug: str | None) -> Organisation:
    """The clinic (or, by its slug, the facilitator) whose inquiry page this is."""
    qs = Organisation.objects.filter(kind=Organisation.Kind.CLINIC_GROUP)
    if slug:
        qs = Organisation.objects.filter(
            kind__in=(Organisation.Kind.CLINIC_GROUP, Organisation.Kind.FACILITATOR)
        )
    org = qs.filter(slug=slug).first() if slug else (qs.first() if qs.count() == 1 else None)
    if org is None:
        raise Http404
    return org


def _activate(request: HttpRequest) -> str:
    lang = request.GET.get("lang") or request.POST.get("lang")
    if lang in public_languages():
        translation.activate(lang)
        request.LANGUAGE_CODE = lang
    return translation.get_language() or "en"


@csrf_exempt
def inquiry_public(request: HttpRequest, org_slug: str | None = None) -> HttpResponse:
    """Cap the uploads as they stream in, then check CSRF and handle the form.

    The handler must be in place before anything reads the body, and the CSRF check reads it;
    so this outer view is exempt and the inner one is protected (Django's documented pattern).
    """
    capped = CappedUploadHandler(request)
    request.upload_handlers.insert(0, capped)
    return _inquiry_public(request, org_slug, capped)


def _upload_refusals(capped: CappedUploadHandler) -> list[str]:
    limit = rules.upload_max_bytes() // 1048576
    out = [
        _("%(name)s is too big; the limit is %(limit)s MB per file.")
        % {"name": name, "limit": limit}
        for name in capped.too_big
    ]
    if capped.too_many:
        out.append(
            _("You can send at most %(n)s files with one inquiry.") % {"n": capped.max_files}
        )
    return out


@csrf_protect
def _inquiry_public(
    request: HttpRequest, org_slug: str | None, capped: CappedUploadHandler
) -> HttpResponse:
    """Show the inquiry form; on a refusal re-render everything the family typed with the reason."""
    org = _org(org_slug)
    language = _activate(request)
    if language not in public_languages():
        language = "en"
    notice = rules.PRIVACY_NOTICES[rules.CURRENT_PRIVACY_NOTICE]
    status = 200
    if request.method == "POST":
        form = InquiryForm(request.POST, request.FILES)
        dropped = _upload_refusals(capped)
        if dropped:
            form.is_valid()
            for problem in dropped:
                form.add_error("records", problem)
            form.add_error(
                None,
                _(
                    "Some files could not be accepted. Your answers are kept; "
                    "please choose the files again."
                ),
            )
            status = 400
        elif form.is_valid():
            d = form.cleaned_data
            try:
                inquiry = services.inquiry_submit(
                    organisation=org,
                    data={k: d.get(k) for k in services.intake.INQUIRY_FIELDS},
                    files=request.FILES.getlist("records"),
                    privacy_consent=bool(d.get("privacy_consent")),
                    form_token=d["form_token"],
                    honeypot=d.get("website", ""),
                    language=language,
                    client_ip=ip(request),
                )
            except DomainError as exc:
                for field, msgs in exc.fields.items():
                    target = "records" if field == "files" else field
                    for m in msgs if isinstance(msgs, list | tuple) else [msgs]:
                        form.add_error(target if target in form.fields else None, str(m))
                form.add_error(None, str(exc.message))
                status = 429 if exc.status_code == 429 else 400
            else:
                request.session["journey_inquiry_ref"] = inquiry.reference
                return redirect(f"{reverse('journey:inquiry_thanks')}?lang={language}")
        else:
            status = 400
            form.add_error(None, _("Please check the fields marked below. Your answers are kept."))
        # A fresh token so the corrected form can be sent again; every other answer stays.
        data = request.POST.copy()
        data["form_token"] = services.inquiry_token()
        form.data = data
    else:
        form = InquiryForm(initial={"form_token": services.inquiry_token()})
    return render(
        request,
        "journey/public/inquiry.html",
        {
            "form": form,
            "org": org,
            "notice_purpose": _(notice.purpose),
            "notice_retention": _(notice.retention),
            "notice_version": notice.version,
            "language": language,
            "public_languages": language_choices(),
            "countries": COUNTRIES,
        },
        status=status,
    )


def inquiry_thanks(request: HttpRequest) -> HttpResponse:
    _activate(request)
    return render(
        request,
        "journey/public/thanks.html",
        {"reference": request.session.get("journey_inquiry_ref")},
    )
