"""Lot pages: the CPC board, a lot's batch record and its steps, QC, release, quarantine and rejection."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from saisei.core.access_log import WEB, access_log_record
from saisei.core.errors import DomainError
from saisei.core.paging import BoundedPaginator
from saisei.core.permissions import staff_user
from saisei.core.views import render_form_error
from saisei.processing import forms, permissions, selectors, services, specs
from saisei.processing.models import Lot

from ._helpers import can_view, forbidden, get_or_404


@login_required
def board(request: HttpRequest) -> HttpResponse:
    if not can_view(request):
        return forbidden(request)
    return render(request, "processing/board.html", selectors.cpc_board(actor=staff_user(request)))


@login_required
def lot_list(request: HttpRequest) -> HttpResponse:
    """Every lot, newest first, 50 a page; by stage, or only the lots due for harvest."""
    if not can_view(request):
        return forbidden(request)
    statuses = dict(Lot.Status.choices)
    status = request.GET.get("status") or None
    if status not in statuses:
        status = None
    due = request.GET.get("due") == "1"
    actor = staff_user(request)
    qs = (
        selectors.lot_due_list(actor=actor, day=timezone.localdate())
        if due
        else selectors.lot_list(actor=actor, status=status)
    )
    page = BoundedPaginator(qs, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "processing/lots.html",
        {"page": page, "status": status, "due": due, "statuses": Lot.Status.choices},
    )


def _qc_choices(lot: Lot) -> list[tuple[str, str]]:
    return [
        (s.code, f"{s.name} ({s.limit_text()})")
        for s in services.lot_specifications(lot=lot)
        if s.stage == specs.Stage.RELEASE
    ]


def _lot_context(request: HttpRequest, lot: Lot, **extra: Any) -> dict[str, Any]:
    record = selectors.lot_batch_record(lot=lot)
    readiness = services.lot_readiness(lot=lot)
    spec_set = services.lot_specifications(lot=lot)
    current = selectors.qc_results_current(lot=lot)
    rows = [(s, current.get(s.code)) for s in spec_set]
    return {
        **record,
        "readiness": readiness,
        "spec_rows": rows,
        "endotoxin": spec_set.endotoxin,
        "step_form": extra.pop("step_form", None) or forms.CultureStepForm(),
        "qc_form": extra.pop("qc_form", None) or forms.QCResultForm(choices=_qc_choices(lot)),
        "reconciliation": selectors.label_reconciliation(actor=staff_user(request), lot=lot),
        "can_record": permissions.can_record_culture(staff_user(request)),
        "can_release": permissions.can_release_lot(staff_user(request)),
        "release_check": (
            services.lot_release_check(actor=staff_user(request), lot=lot)
            if lot.status == Lot.Status.QC_PENDING
            else None
        ),
        "follow_up_form": forms.FollowUpForm(),
        "quarantine_form": extra.pop("quarantine_form", None)
        or forms.ReasonForm(prefix="quarantine"),
        "lift_form": extra.pop("lift_form", None) or forms.ReasonForm(prefix="lift"),
        "can_quarantine": permissions.can_quarantine_lot(staff_user(request))
        and lot.status in ("in_culture", "qc_pending", "released", "conditionally_released"),
        "can_lift": permissions.can_lift_lot_quarantine(staff_user(request))
        and lot.status == Lot.Status.QUARANTINED,
        "can_reject": permissions.can_reject_lot(staff_user(request))
        and lot.status != Lot.Status.REJECTED,
        **extra,
    }


@login_required
def lot_detail(request: HttpRequest, external_id: str) -> HttpResponse:
    if not can_view(request):
        return forbidden(request)
    lot = get_or_404(selectors.lot_get, actor=staff_user(request), external_id=external_id)
    return render(request, "processing/lot_detail.html", _lot_context(request, lot))


@login_required
@require_POST
def lot_step(request: HttpRequest, external_id: str) -> HttpResponse:
    lot = get_or_404(selectors.lot_get, actor=staff_user(request), external_id=external_id)
    form = forms.CultureStepForm(request.POST)
    if form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if v not in (None, "")}
        try:
            services.culture_step_record(actor=staff_user(request), lot=lot, **data)
        except DomainError as exc:
            return render_form_error(
                request,
                "processing/lot_detail.html",
                _lot_context(request, lot, step_form=form),
                exc,
                form,
            )
        messages.success(request, _("Culture step recorded."))
        return redirect("processing:lot_detail", external_id=lot.external_id)
    return render(
        request,
        "processing/lot_detail.html",
        _lot_context(request, lot, step_form=form),
        status=400,
    )


@login_required
@require_POST
def lot_qc(request: HttpRequest, external_id: str) -> HttpResponse:
    lot = get_or_404(selectors.lot_get, actor=staff_user(request), external_id=external_id)
    form = forms.QCResultForm(request.POST, choices=_qc_choices(lot))
    if form.is_valid():
        try:
            services.qc_result_record(actor=staff_user(request), lot=lot, **form.cleaned_data)
        except DomainError as exc:
            return render_form_error(
                request,
                "processing/lot_detail.html",
                _lot_context(request, lot, qc_form=form),
                exc,
                form,
            )
        messages.success(request, _("QC result recorded."))
        return redirect("processing:lot_detail", external_id=lot.external_id)
    return render(
        request, "processing/lot_detail.html", _lot_context(request, lot, qc_form=form), status=400
    )


@login_required
@require_POST
def lot_submit_qc(request: HttpRequest, external_id: str) -> HttpResponse:
    lot = get_or_404(selectors.lot_get, actor=staff_user(request), external_id=external_id)
    try:
        services.lot_submit_qc(actor=staff_user(request), lot=lot)
        messages.success(request, _("The lot was sent to QC."))
    except DomainError as exc:
        messages.error(request, str(exc.message))
    return redirect("processing:lot_detail", external_id=lot.external_id)


@login_required
def lot_release(request: HttpRequest, external_id: str) -> HttpResponse:
    if not can_view(request):
        return forbidden(request)
    lot = get_or_404(selectors.lot_get, actor=staff_user(request), external_id=external_id)
    if not permissions.can_release_lot(staff_user(request)):
        return forbidden(request)
    form = forms.ReleaseForm(request.POST or None)
    context = {
        "lot": lot,
        "readiness": services.lot_readiness(lot=lot),
        "check": services.lot_release_check(actor=staff_user(request), lot=lot),
        "form": form,
    }
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.lot_release(
                actor=staff_user(request),
                lot=lot,
                password=data["password"],
                meaning=data["meaning"],
                conditional=data["conditional"],
                justification=data["justification"],
                otp=data["otp"] or None,
            )
        except DomainError as exc:
            return render_form_error(request, "processing/release.html", context, exc, form)
        messages.success(request, _("Lot %(lot)s released.") % {"lot": lot.number})
        return redirect("processing:lot_detail", external_id=lot.external_id)
    return render(request, "processing/release.html", context, status=400 if form.errors else 200)


def _lot_reason_action(
    request: HttpRequest, external_id: str, prefix: str, call: Callable[..., Any], done: str
) -> HttpResponse:
    lot = get_or_404(selectors.lot_get, actor=staff_user(request), external_id=external_id)
    form = forms.ReasonForm(request.POST, prefix=prefix)
    if form.is_valid():
        try:
            call(actor=staff_user(request), lot=lot, reason=form.cleaned_data["reason"])
        except DomainError as exc:
            return render_form_error(
                request,
                "processing/lot_detail.html",
                _lot_context(request, lot, **{f"{prefix}_form": form}),
                exc,
                form,
            )
        messages.success(request, done)
        return redirect("processing:lot_detail", external_id=lot.external_id)
    return render(
        request,
        "processing/lot_detail.html",
        _lot_context(request, lot, **{f"{prefix}_form": form}),
        status=400,
    )


@login_required
@require_POST
def lot_quarantine(request: HttpRequest, external_id: str) -> HttpResponse:
    """Stop a lot: its doses leave use until QA lifts the quarantine."""
    return _lot_reason_action(
        request, external_id, "quarantine", services.lot_quarantine, _("Lot quarantined.")
    )


@login_required
@require_POST
def lot_lift_quarantine(request: HttpRequest, external_id: str) -> HttpResponse:
    """QA returns a quarantined lot to QC once its deviations are closed."""
    return _lot_reason_action(
        request, external_id, "lift", services.lot_quarantine_lift, _("Quarantine lifted.")
    )


@login_required
def lot_reject(request: HttpRequest, external_id: str) -> HttpResponse:
    """QA rejects a lot by electronic signature (reason, password and code)."""
    if not can_view(request):
        return forbidden(request)
    lot = get_or_404(selectors.lot_get, actor=staff_user(request), external_id=external_id)
    if not permissions.can_reject_lot(staff_user(request)):
        return forbidden(request)
    form = forms.RejectForm(request.POST or None)
    context = {"lot": lot, "form": form}
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.lot_reject(
                actor=staff_user(request),
                lot=lot,
                reason=data["reason"],
                password=data["password"],
                otp=data["otp"] or None,
            )
        except DomainError as exc:
            return render_form_error(request, "processing/reject.html", context, exc, form)
        messages.success(request, _("Lot %(lot)s rejected.") % {"lot": lot.number})
        return redirect("processing:lot_detail", external_id=lot.external_id)
    return render(request, "processing/reject.html", context, status=400 if form.errors else 200)


@login_required
def lot_batch_record_pdf(request: HttpRequest, external_id: str) -> HttpResponse:
    if not can_view(request):
        return forbidden(request)
    from saisei.processing.documents import batch_record_pdf

    lot = get_or_404(selectors.lot_get, actor=staff_user(request), external_id=external_id)
    context = _lot_context(request, lot)
    pdf = batch_record_pdf(
        record=context, readiness=context["readiness"], spec_rows=context["spec_rows"]
    )
    access_log_record(
        actor=staff_user(request),
        channel=WEB,
        subject_type="processing.batch_record_pdf",
        subject_id=lot.external_id,
        patient=lot.donation.patient if lot.donation_id else None,
        label=f"batch record {lot.number} PDF",
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="batch-record-{lot.number}.pdf"'
    return response
