"""Dose pages: the inventory, labels, thawing and storage, holds, discards and the hand-over scan."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from saisei.core.access_log import WEB, access_log_record
from saisei.core.errors import DomainError
from saisei.core.models import Role
from saisei.core.paging import BoundedPaginator
from saisei.core.permissions import staff_user
from saisei.core.views import render_form_error
from saisei.processing import forms, permissions, selectors, services
from saisei.processing.lifecycles import DOSE_IN_STOCK, DOSE_USABLE
from saisei.processing.models import Dose

from ._helpers import can_view, forbidden, get_or_404


@login_required
def dose_list(request: HttpRequest) -> HttpResponse:
    if not can_view(request):
        return forbidden(request)
    status = request.GET.get("status") or None
    qs = selectors.dose_list(actor=staff_user(request), status=status)
    page = BoundedPaginator(qs, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "processing/doses.html",
        {
            "page": page,
            "status": status,
            "statuses": Dose.Status.choices,
            "scan_form": forms.ScanForm(),
        },
    )


@login_required
def dose_find(request: HttpRequest) -> HttpResponse:
    """Scan a bag to open it: the hand-over screen starts here."""
    if not can_view(request):
        return forbidden(request)
    form = forms.ScanForm(request.GET or None)
    if form.is_valid():
        dose = selectors.dose_for_scan(
            actor=staff_user(request), scan_text=form.cleaned_data["scan"]
        )
        if dose is not None:
            return redirect("processing:handover", external_id=dose.external_id)
        form.add_error(
            "scan", _("No bag matches this scan. Scan the bag label (DIN and product code).")
        )
    return render(
        request, "processing/find.html", {"form": form}, status=404 if form.errors else 200
    )


def _dose_context(request: HttpRequest, dose: Dose, **extra: Any) -> dict[str, Any]:
    events = list(selectors.custody_list(actor=staff_user(request), dose=dose))
    return {
        "dose": dose,
        "chain": services.chain_of_custody(dose=dose, events=events),
        "labels": list(selectors.label_list(actor=staff_user(request)).filter(dose=dose)),
        "thaw_form": extra.pop("thaw_form", None) or forms.ThawForm(),
        "store_form": extra.pop("store_form", None) or forms.StoreForm(),
        "label_form": extra.pop("label_form", None) or forms.LabelForm(),
        "near_misses": list(dose.near_misses.all()[:20]),
        "holds": list(dose.holds.filter(voided_at__isnull=True).select_related("placed_by")),
        "discard_form": extra.pop("discard_form", None) or _discard_form(request),
        "unusable_form": extra.pop("unusable_form", None) or forms.ReasonForm(prefix="unusable"),
        "lift_form": extra.pop("lift_form", None) or forms.ReasonForm(prefix="lift"),
        "can_discard": permissions.can_discard_dose(staff_user(request))
        and dose.status in DOSE_IN_STOCK,
        "can_report": permissions.can_report_dose_unusable(staff_user(request))
        and dose.status in DOSE_USABLE,
        "can_lift": permissions.can_lift_dose_hold(staff_user(request))
        and dose.status == Dose.Status.ON_HOLD,
        **extra,
    }


def _discard_form(request: HttpRequest, data: Any = None) -> forms.DiscardForm:
    from saisei.core.models import User

    user = staff_user(request)
    colleagues = (
        User.objects.filter(
            organisation=user.organisation,
            is_active=True,
            role_grants__role__in=(Role.CPC_TECHNICIAN, Role.QA_MANAGER),
        )
        .exclude(pk=user.pk)
        .distinct()
        .order_by("username")
    )
    return forms.DiscardForm(data, colleagues=colleagues)


@login_required
def dose_detail(request: HttpRequest, external_id: str) -> HttpResponse:
    if not can_view(request):
        return forbidden(request)
    dose = get_or_404(selectors.dose_get, actor=staff_user(request), external_id=external_id)
    return render(request, "processing/dose_detail.html", _dose_context(request, dose))


def _dose_action(
    request: HttpRequest,
    external_id: str,
    form_cls: type,
    key: str,
    call: Callable[..., Any],
    done: str,
) -> HttpResponse:
    dose = get_or_404(selectors.dose_get, actor=staff_user(request), external_id=external_id)
    form = form_cls(request.POST)
    if form.is_valid():
        try:
            call(actor=staff_user(request), dose=dose, **form.cleaned_data)
        except DomainError as exc:
            return render_form_error(
                request,
                "processing/dose_detail.html",
                _dose_context(request, dose, **{key: form}),
                exc,
                form,
            )
        messages.success(request, done)
        return redirect("processing:dose_detail", external_id=dose.external_id)
    return render(
        request,
        "processing/dose_detail.html",
        _dose_context(request, dose, **{key: form}),
        status=400,
    )


@login_required
@require_POST
def dose_thaw(request: HttpRequest, external_id: str) -> HttpResponse:
    return _dose_action(
        request, external_id, forms.ThawForm, "thaw_form", services.dose_thaw, _("Thaw recorded.")
    )


@login_required
@require_POST
def dose_store(request: HttpRequest, external_id: str) -> HttpResponse:
    return _dose_action(
        request,
        external_id,
        forms.StoreForm,
        "store_form",
        services.dose_cryopreserve,
        _("Storage recorded."),
    )


@login_required
@require_POST
def dose_labels(request: HttpRequest, external_id: str) -> HttpResponse:
    """Print labels: answers the PDF; the print is counted before it is sent."""
    dose = get_or_404(selectors.dose_get, actor=staff_user(request), external_id=external_id)
    form = forms.LabelForm(request.POST)
    if form.is_valid():
        try:
            _record, pdf = services.label_print(
                actor=staff_user(request), dose=dose, **form.cleaned_data
            )
        except DomainError as exc:
            return render_form_error(
                request,
                "processing/dose_detail.html",
                _dose_context(request, dose, label_form=form),
                exc,
                form,
            )
        response = HttpResponse(pdf, content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="label-{dose.din}-{dose.division}.pdf"'
        return response
    return render(
        request,
        "processing/dose_detail.html",
        _dose_context(request, dose, label_form=form),
        status=400,
    )


@login_required
@require_POST
def label_reconcile(request: HttpRequest, external_id: str) -> HttpResponse:
    from saisei.core.selectors import get_scoped

    label = get_or_404(
        get_scoped, qs=selectors.label_list(actor=staff_user(request)), external_id=external_id
    )
    form = forms.ReconcileForm(request.POST)
    if form.is_valid():
        try:
            services.label_reconcile(actor=staff_user(request), label=label, **form.cleaned_data)
            messages.success(request, _("Label reconciliation saved."))
        except DomainError as exc:
            messages.error(request, str(exc.message))
    else:
        messages.error(request, _("Enter the labels applied and destroyed."))
    return redirect("processing:dose_detail", external_id=label.dose.external_id)


def _dose_refusal(
    request: HttpRequest, dose: Dose, exc: DomainError, key: str, form: Any
) -> HttpResponse:
    return render_form_error(
        request,
        "processing/dose_detail.html",
        _dose_context(request, dose, **{key: form}),
        exc,
        form,
    )


@login_required
@require_POST
def dose_discard(request: HttpRequest, external_id: str) -> HttpResponse:
    """Destroy a bag: CPC or QA only, with a reason and, for a released one, a second person."""
    dose = get_or_404(selectors.dose_get, actor=staff_user(request), external_id=external_id)
    form = _discard_form(request, request.POST)

    def act(data: dict[str, Any]) -> None:
        services.dose_discard(
            actor=staff_user(request),
            dose=dose,
            reason=data["reason"],
            second_person=data["second_person"],
            second_person_password=data["second_person_password"],
            second_person_otp=data["second_person_otp"] or None,
        )

    return _dose_form_post(request, dose, form, "discard_form", act, _("Dose discarded."))


@login_required
@require_POST
def dose_report_unusable(request: HttpRequest, external_id: str) -> HttpResponse:
    """A clinician takes a bag out of use; QA decides what happens to it."""
    dose = get_or_404(selectors.dose_get, actor=staff_user(request), external_id=external_id)
    form = forms.ReasonForm(request.POST, prefix="unusable")

    def act(data: dict[str, Any]) -> None:
        services.dose_report_unusable(actor=staff_user(request), dose=dose, reason=data["reason"])

    return _dose_form_post(
        request,
        dose,
        form,
        "unusable_form",
        act,
        _("The dose is on hold; QA has been told."),
        level=messages.WARNING,
    )


@login_required
@require_POST
def dose_lift_hold(request: HttpRequest, external_id: str) -> HttpResponse:
    """QA returns a held bag to use, with a reason."""
    dose = get_or_404(selectors.dose_get, actor=staff_user(request), external_id=external_id)
    form = forms.ReasonForm(request.POST, prefix="lift")

    def act(data: dict[str, Any]) -> None:
        services.dose_hold_lift(actor=staff_user(request), dose=dose, reason=data["reason"])

    return _dose_form_post(request, dose, form, "lift_form", act, _("Hold lifted."))


def _dose_form_post(
    request: HttpRequest,
    dose: Dose,
    form: Any,
    form_key: str,
    act: Any,
    done: Any,
    *,
    level: int = messages.SUCCESS,
) -> HttpResponse:
    """One dose action from its form: the service acts or refuses; the page shows which."""
    if form.is_valid():
        try:
            act(form.cleaned_data)
        except DomainError as exc:
            return _dose_refusal(request, dose, exc, form_key, form)
        messages.add_message(request, level, done)
        return redirect("processing:dose_detail", external_id=dose.external_id)
    return render(
        request,
        "processing/dose_detail.html",
        _dose_context(request, dose, **{form_key: form}),
        status=400,
    )


# The hand-over a bag in this status usually goes through next, to prefill the scan screen.
NEXT_STAGE: dict[str, str] = {
    Dose.Status.QUARANTINE: "storage",
    Dose.Status.RELEASED: "shipment",
    Dose.Status.SHIPPED: "clinic_receipt",
    Dose.Status.RECEIVED: "bedside",
    Dose.Status.THAWED: "bedside",
}


def _handover_initial(request: HttpRequest, dose: Dose) -> dict[str, Any]:
    """Prefill so a scan (which ends with Enter) completes the form: the next stage, the party
    who received the bag last, and the current user as receiver."""
    last = selectors.custody_list(actor=staff_user(request), dose=dose).last()
    initial: dict[str, Any] = {
        "stage": NEXT_STAGE.get(dose.status, "storage"),
        "to_party": str(staff_user(request)),
    }
    if last is not None:
        initial.update(from_party=last.to_party, place=last.place)
    return initial


@login_required
def handover(request: HttpRequest, external_id: str) -> HttpResponse:
    """Hand-over screen for one bag: scan the container; a mismatch stops and is recorded."""
    if not can_view(request):
        return forbidden(request)
    dose = get_or_404(selectors.dose_get, actor=staff_user(request), external_id=external_id)
    form = forms.HandoverForm(
        request.POST or None, request.FILES or None, initial=_handover_initial(request, dose)
    )
    context = {"dose": dose, "form": form}
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        upload = data.pop("logger_csv")
        try:
            text = upload.read(2_000_000).decode("utf-8-sig") if upload else None
        except UnicodeDecodeError:
            form.add_error("logger_csv", _("The file is not UTF-8 text."))
            return render(request, "processing/handover.html", context, status=400)
        try:
            services.custody_handover(
                actor=staff_user(request),
                dose=dose,
                scan_text=data.pop("scan"),
                logger_csv=text,
                **data,
            )
        except DomainError as exc:
            context["stop"] = exc.code == "identity_mismatch"
            return render_form_error(request, "processing/handover.html", context, exc, form)
        messages.success(request, _("Hand-over recorded."))
        return redirect("processing:dose_detail", external_id=dose.external_id)
    return render(request, "processing/handover.html", context, status=400 if form.errors else 200)


@login_required
def dose_custody_pdf(request: HttpRequest, external_id: str) -> HttpResponse:
    if not can_view(request):
        return forbidden(request)
    from saisei.processing.documents import custody_report_pdf

    dose = get_or_404(selectors.dose_get, actor=staff_user(request), external_id=external_id)
    chain = services.chain_of_custody(
        dose=dose, events=list(selectors.custody_list(actor=staff_user(request), dose=dose))
    )
    access_log_record(
        actor=staff_user(request),
        channel=WEB,
        subject_type="processing.custody_pdf",
        subject_id=dose.external_id,
        patient=dose.patient,
        label=f"chain of custody {dose.din} {dose.division} PDF",
    )
    response = HttpResponse(custody_report_pdf(chain=chain), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="custody-{dose.din}-{dose.division}.pdf"'
    return response
