"""Environmental monitoring: readings against the room's approved programme, and the programmes."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from saisei.core.errors import DomainError
from saisei.core.permissions import staff_user
from saisei.core.views import render_form_error
from saisei.processing import forms, permissions, selectors, services
from saisei.processing.models import Lot

from ._helpers import can_view, forbidden, get_or_404


def _environment_form(request: HttpRequest, data: Any = None) -> forms.EnvironmentForm:
    user = staff_user(request)
    return forms.EnvironmentForm(
        data,
        programmes=selectors.programmes_in_force(actor=user),
        lots=selectors.lot_list(actor=user, status=Lot.Status.IN_CULTURE),
    )


@login_required
def environment(request: HttpRequest) -> HttpResponse:
    """Environmental monitoring: the programmes in force, recent readings, and a reading form.

    The limits of a reading come from its room's approved programme; any excursion opens a
    deviation that must be closed before a lot made meanwhile can be released.
    """
    if not can_view(request):
        return forbidden(request)
    user = staff_user(request)
    form = _environment_form(request, request.POST or None)
    in_force = selectors.programmes_in_force(actor=user)
    context: dict[str, Any] = {
        "form": form,
        "programmes": in_force,
        "readings": selectors.environment_list(actor=user)[:100],
        "can_record": permissions.can_record_environment(user),
    }
    if request.method == "POST":
        if not permissions.can_record_environment(user):
            return forbidden(request)
        if form.is_valid():
            data = dict(form.cleaned_data)
            programme = next(p for p in in_force if str(p.external_id) == data.pop("programme"))
            try:
                result = services.environmental_result_record(
                    actor=user, site=programme.site, room=programme.room, **data
                )
            except DomainError as exc:
                return render_form_error(request, "processing/environment.html", context, exc, form)
            if result.deviation:
                messages.warning(
                    request,
                    _("%(level)s: deviation %(number)s was opened for the investigation.")
                    % {"level": result.get_level_display(), "number": result.deviation.number},
                )
            else:
                messages.success(request, _("Reading recorded."))
            return redirect("processing:environment")
    return render(
        request, "processing/environment.html", context, status=400 if form.errors else 200
    )


def _cpc_sites(request: HttpRequest) -> Any:
    from saisei.core.models import Site
    from saisei.core.permissions import scope_to_org

    return scope_to_org(
        staff_user(request), Site.objects.filter(kind=Site.Kind.CELL_PROCESSING_FACILITY)
    )


@login_required
def programmes(request: HttpRequest) -> HttpResponse:
    """Every version of every room's monitoring programme, and a form to draft the next one."""
    if not can_view(request):
        return forbidden(request)
    user = staff_user(request)
    form = forms.ProgrammeForm(request.POST or None, sites=_cpc_sites(request))
    context = {
        "form": form,
        "programmes": list(selectors.programme_list(actor=user)),
        "can_prepare": permissions.can_record_environment(user),
    }
    if request.method == "POST":
        if not permissions.can_record_environment(user):
            return forbidden(request)
        if form.is_valid():
            data = form.cleaned_data
            try:
                programme = services.monitoring_programme_prepare(
                    actor=user,
                    site=data["site"],
                    room=data["room"],
                    grade=data["grade"],
                    effective_from=data["effective_from"],
                    source=data["source"],
                    notes=data["notes"],
                    limits=data["limits"],
                )
            except DomainError as exc:
                return render_form_error(request, "processing/programmes.html", context, exc, form)
            messages.success(
                request,
                _("Version %(v)s of %(room)s saved as a draft; QA must approve it.")
                % {"v": programme.version, "room": programme.room},
            )
            return redirect("processing:programme_detail", external_id=programme.external_id)
    return render(
        request, "processing/programmes.html", context, status=400 if form.errors else 200
    )


@login_required
def programme_detail(request: HttpRequest, external_id: str) -> HttpResponse:
    """One programme version with its limits; QA approves a draft here by e-signature."""
    if not can_view(request):
        return forbidden(request)
    user = staff_user(request)
    programme = get_or_404(selectors.programme_get, actor=user, external_id=external_id)
    form = forms.SignatureForm(request.POST or None)
    context = {
        "programme": programme,
        "form": form,
        "can_approve": permissions.can_approve_environment_programme(user)
        and programme.status == "draft",
    }
    if request.method == "POST":
        if not permissions.can_approve_environment_programme(user):
            return forbidden(request)
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.monitoring_programme_approve(
                    actor=user,
                    programme=programme,
                    password=data["password"],
                    meaning=data["meaning"],
                    otp=data["otp"] or None,
                )
            except DomainError as exc:
                return render_form_error(
                    request, "processing/programme_detail.html", context, exc, form
                )
            messages.success(request, _("Programme approved."))
            return redirect("processing:programme_detail", external_id=programme.external_id)
    return render(
        request, "processing/programme_detail.html", context, status=400 if form.errors else 200
    )
