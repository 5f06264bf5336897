"""Harvest pages: record a donation, its infection markers, tissue labels and hand-overs, start a lot."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from saisei.core.errors import DomainError
from saisei.core.models import Role
from saisei.core.permissions import staff_user
from saisei.core.views import render_form_error
from saisei.processing import forms, permissions, selectors, services
from saisei.processing.models import Donor

from ._helpers import can_view, forbidden, get_or_404


def _marker_fields() -> list[tuple[str, Any]]:
    from saisei.processing.rules import marker_name, processing_config

    return [(code, marker_name(code)) for code in processing_config().required_markers]


def _open_courses(user: Any, patient: Any = None) -> Any:
    from saisei.journey.selectors import courses_of_organisation

    qs = (
        courses_of_organisation(actor=user)
        .filter(voided_at__isnull=True)
        .exclude(status__in=["completed", "stopped"])
    )
    if patient is not None:
        qs = qs.filter(patient=patient)
    return qs.select_related("patient", "plan").order_by("-created_at")


def _donation_form(request: HttpRequest, data: Any = None) -> forms.DonationForm:
    from saisei.core.models import Site
    from saisei.core.permissions import scope_to_org
    from saisei.journey.selectors import patients_of_organisation
    from saisei.regulatory.selectors import (
        facilities_of_organisation,
        physicians_of_organisation,
        plans_of_organisation,
    )

    user = staff_user(request)
    return forms.DonationForm(
        data,
        patients=patients_of_organisation(actor=user).filter(voided_at__isnull=True),
        courses=_open_courses(user),
        plans=plans_of_organisation(actor=user).filter(voided_at__isnull=True),
        sites=scope_to_org(user, Site.objects.all()),
        physicians=physicians_of_organisation(actor=user).filter(voided_at__isnull=True),
        facilities=facilities_of_organisation(actor=user).filter(voided_at__isnull=True),
        markers=_marker_fields(),
        donors=scope_to_org(user, Donor.objects.filter(voided_at__isnull=True)),
    )


@login_required
def donation_new(request: HttpRequest) -> HttpResponse:
    """Record a harvest: the DIN and chain-of-identity identifier are assigned on saving."""
    if not permissions.can_record_donation(staff_user(request)):
        return forbidden(request)
    form = _donation_form(request, request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            donation = services.donation_record(
                actor=staff_user(request),
                patient=data["patient"],
                course=data["course"],
                plan=data["plan"],
                physician=data["physician"],
                facility=data["facility"],
                cell_source=data["cell_source"],
                site=data["site"],
                harvest_site=data["harvest_site"],
                tissue_weight_g=data["tissue_weight_g"],
                collected_at=data["collected_at"],
                container=data["container"],
                transport_conditions=data["transport_conditions"],
                infection_markers=form.markers(),
                donor=data.get("donor"),
            )
        except DomainError as exc:
            return render_form_error(request, "processing/donation_new.html", {}, exc, form)
        messages.success(request, _("Harvest recorded with DIN %(din)s.") % {"din": donation.din})
        return redirect("processing:donation_detail", external_id=donation.external_id)
    return render(
        request, "processing/donation_new.html", {"form": form}, status=400 if form.errors else 200
    )


TISSUE_NEXT_STAGE = {
    "collection": "transport",
    "transport": "cpc_receipt",
    "cpc_receipt": "cpc_receipt",
}


def _donation_handover_initial(request: HttpRequest, donation: Any) -> dict[str, Any]:
    """Prefill the next tissue hand-over so the container scan (ending in Enter) completes it."""
    last = donation.custody.filter(voided_at__isnull=True).order_by("occurred_at", "pk").last()
    initial: dict[str, Any] = {"to_party": str(staff_user(request)), "stage": "collection"}
    if last is not None:
        initial.update(
            stage=TISSUE_NEXT_STAGE.get(last.stage, "cpc_receipt"),
            from_party=last.to_party,
            place=last.place,
        )
    return initial


def _donation_context(request: HttpRequest, donation: Any, **extra: Any) -> dict[str, Any]:
    return {
        "donation": donation,
        "status": services.markers_status(donation=donation),
        "events": list(
            donation.custody.filter(voided_at__isnull=True).select_related("recorded_by")
        ),
        "lots": list(donation.lots.all()),
        "markers_form": extra.pop("markers_form", None)
        or forms.MarkersForm(markers=_marker_fields(), initial_results=donation.infection_markers),
        "lot_form": extra.pop("lot_form", None) or forms.LotForm(),
        "label_form": extra.pop("label_form", None) or forms.LabelForm(),
        "labels": list(donation.labels.filter(voided_at__isnull=True)),
        "handover_form": extra.pop("handover_form", None)
        or forms.DonationHandoverForm(initial=_donation_handover_initial(request, donation)),
        "bind_form": extra.pop("bind_form", None)
        or (
            forms.CourseBindForm(courses=_open_courses(staff_user(request), donation.patient))
            if donation.course_id is None and staff_user(request).has_role(Role.QA_MANAGER)
            else None
        ),
        **extra,
    }


@login_required
def donation_detail(request: HttpRequest, external_id: str) -> HttpResponse:
    if not can_view(request):
        return forbidden(request)
    donation = get_or_404(
        selectors.donation_get, actor=staff_user(request), external_id=external_id
    )
    return render(request, "processing/donation_detail.html", _donation_context(request, donation))


@login_required
@require_POST
def donation_markers(request: HttpRequest, external_id: str) -> HttpResponse:
    donation = get_or_404(
        selectors.donation_get, actor=staff_user(request), external_id=external_id
    )
    form = forms.MarkersForm(request.POST, markers=_marker_fields())
    if form.is_valid():
        try:
            services.donation_markers_record(
                actor=staff_user(request), donation=donation, results=form.markers()
            )
        except DomainError as exc:
            ctx = _donation_context(request, donation, markers_form=form)
            return render_form_error(request, "processing/donation_detail.html", ctx, exc, form)
        messages.success(request, _("Marker results saved."))
    return redirect("processing:donation_detail", external_id=donation.external_id)


@login_required
@require_POST
def donation_bind_course(request: HttpRequest, external_id: str) -> HttpResponse:
    """QA binds a harvest recorded before courses were required to its course."""
    donation = get_or_404(
        selectors.donation_get, actor=staff_user(request), external_id=external_id
    )
    form = forms.CourseBindForm(
        request.POST, courses=_open_courses(staff_user(request), donation.patient)
    )
    if form.is_valid():
        try:
            services.donation_course_bind(
                actor=staff_user(request),
                donation=donation,
                course=form.cleaned_data["course"],
                reason=form.cleaned_data["reason"],
            )
        except DomainError as exc:
            ctx = _donation_context(request, donation, bind_form=form)
            return render_form_error(request, "processing/donation_detail.html", ctx, exc, form)
        messages.success(request, _("Donation bound to its treatment course."))
        return redirect("processing:donation_detail", external_id=donation.external_id)
    ctx = _donation_context(request, donation, bind_form=form)
    return render(request, "processing/donation_detail.html", ctx, status=400)


@login_required
@require_POST
def donation_start_lot(request: HttpRequest, external_id: str) -> HttpResponse:
    donation = get_or_404(
        selectors.donation_get, actor=staff_user(request), external_id=external_id
    )
    form = forms.LotForm(request.POST)
    if form.is_valid():
        try:
            lot = services.lot_create(
                actor=staff_user(request), donation=donation, **form.cleaned_data
            )
        except DomainError as exc:
            ctx = _donation_context(request, donation, lot_form=form)
            return render_form_error(request, "processing/donation_detail.html", ctx, exc, form)
        messages.success(request, _("Lot %(lot)s started.") % {"lot": lot.number})
        return redirect("processing:lot_detail", external_id=lot.external_id)
    ctx = _donation_context(request, donation, lot_form=form)
    return render(request, "processing/donation_detail.html", ctx, status=400)


@login_required
@require_POST
def donation_handover(request: HttpRequest, external_id: str) -> HttpResponse:
    """Tissue hand-over (collection, transport, CPC receipt): the container scan must match."""
    donation = get_or_404(
        selectors.donation_get, actor=staff_user(request), external_id=external_id
    )
    form = forms.DonationHandoverForm(request.POST, request.FILES)
    if form.is_valid():
        data = dict(form.cleaned_data)
        upload = data.pop("logger_csv")
        try:
            text = upload.read(2_000_000).decode("utf-8-sig") if upload else None
            services.custody_handover(
                actor=staff_user(request),
                donation=donation,
                scan_text=data.pop("scan"),
                logger_csv=text,
                **data,
            )
        except UnicodeDecodeError:
            form.add_error("logger_csv", _("The file is not UTF-8 text."))
        except DomainError as exc:
            ctx = _donation_context(
                request, donation, handover_form=form, stop=exc.code == "identity_mismatch"
            )
            return render_form_error(request, "processing/donation_detail.html", ctx, exc, form)
        else:
            messages.success(request, _("Hand-over recorded."))
            return redirect("processing:donation_detail", external_id=donation.external_id)
    ctx = _donation_context(request, donation, handover_form=form)
    return render(request, "processing/donation_detail.html", ctx, status=400)


@login_required
@require_POST
def donation_labels(request: HttpRequest, external_id: str) -> HttpResponse:
    """Print the tissue container label at collection (counted before it is sent)."""
    donation = get_or_404(
        selectors.donation_get, actor=staff_user(request), external_id=external_id
    )
    form = forms.LabelForm(request.POST)
    if form.is_valid():
        try:
            _record, pdf = services.donation_label_print(
                actor=staff_user(request), donation=donation, **form.cleaned_data
            )
        except DomainError as exc:
            ctx = _donation_context(request, donation, label_form=form)
            return render_form_error(request, "processing/donation_detail.html", ctx, exc, form)
        response = HttpResponse(pdf, content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="tissue-label-{donation.din}.pdf"'
        return response
    ctx = _donation_context(request, donation, label_form=form)
    return render(request, "processing/donation_detail.html", ctx, status=400)
