"""Quality events: deviations, near misses and the follow-up of a positive culture."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from saisei.core.errors import DomainError
from saisei.core.paging import BoundedPaginator
from saisei.core.permissions import staff_user
from saisei.core.views import render_form_error
from saisei.processing import forms, selectors, services

from ._helpers import can_view, forbidden, get_or_404


@login_required
def deviation_list(request: HttpRequest) -> HttpResponse:
    if not can_view(request):
        return forbidden(request)
    open_only = request.GET.get("open", "1") == "1"
    qs = selectors.deviation_list(actor=staff_user(request), open_only=open_only)
    form = forms.DeviationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            deviation = services.deviation_open(
                actor=staff_user(request), source="other", **form.cleaned_data
            )
        except DomainError as exc:
            page = BoundedPaginator(qs, 50).get_page(1)
            return render_form_error(
                request,
                "processing/deviations.html",
                {"page": page, "open_only": open_only},
                exc,
                form,
            )
        return redirect("processing:deviation_detail", external_id=deviation.external_id)
    page = BoundedPaginator(qs, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "processing/deviations.html",
        {"page": page, "open_only": open_only, "form": form},
        status=400 if form.errors else 200,
    )


@login_required
def deviation_detail(request: HttpRequest, external_id: str) -> HttpResponse:
    if not can_view(request):
        return forbidden(request)
    deviation = get_or_404(
        selectors.deviation_get, actor=staff_user(request), external_id=external_id
    )
    form = forms.DeviationUpdateForm(
        request.POST or None,
        initial={
            "investigation": deviation.investigation,
            "impact": deviation.impact,
            "capa": deviation.capa,
            "status": deviation.status,
        },
    )
    context = {"deviation": deviation, "form": form}
    if request.method == "POST" and form.is_valid():
        try:
            services.deviation_update(
                actor=staff_user(request), deviation=deviation, **form.cleaned_data
            )
        except DomainError as exc:
            return render_form_error(
                request, "processing/deviation_detail.html", context, exc, form
            )
        messages.success(request, _("Deviation updated."))
        return redirect("processing:deviation_detail", external_id=deviation.external_id)
    return render(
        request, "processing/deviation_detail.html", context, status=400 if form.errors else 200
    )


@login_required
def near_miss_list(request: HttpRequest) -> HttpResponse:
    if not can_view(request):
        return forbidden(request)
    page = BoundedPaginator(selectors.near_miss_list(actor=staff_user(request)), 50).get_page(
        request.GET.get("page")
    )
    return render(request, "processing/near_misses.html", {"page": page})


@login_required
@require_POST
def culture_alert_follow_up(request: HttpRequest, external_id: str) -> HttpResponse:
    from saisei.core.selectors import get_scoped

    alert = get_or_404(
        get_scoped,
        qs=selectors.culture_alert_list(actor=staff_user(request)),
        external_id=external_id,
    )
    form = forms.FollowUpForm(request.POST)
    if form.is_valid():
        try:
            services.culture_alert_follow_up(
                actor=staff_user(request), alert=alert, **form.cleaned_data
            )
            messages.success(request, _("Follow-up recorded."))
        except DomainError as exc:
            if exc.status_code == 403:
                return forbidden(request)
            messages.error(request, str(exc.message))
    else:
        messages.error(request, _("Describe the follow-up."))
    return redirect("processing:lot_detail", external_id=alert.lot.external_id)


# --- donations ------------------------------------------------------------------------------------
