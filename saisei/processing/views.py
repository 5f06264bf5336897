"""CPC screens: board, lot batch record, release, dose inventory, labels, hand-over scans, deviations.

Views stay thin: a form validates input, one service or selector does the work, and a service's
refusal is shown on the form.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from saisei.core.access_log import WEB, access_log_record
from saisei.core.errors import DomainError, NotFound
from saisei.core.models import Role
from saisei.core.permissions import staff_user
from saisei.core.views import render_form_error
from saisei.processing import forms, permissions, selectors, services, specs
from saisei.processing.lifecycles import DOSE_IN_STOCK, DOSE_USABLE
from saisei.processing.models import Donor, Dose, Lot

_user = staff_user  # the signed-in staff user (login is required)


def _get(fn: Callable[..., Any], **kw: Any) -> Any:
    try:
        return fn(**kw)
    except NotFound:
        raise Http404 from None


def _forbidden(request: HttpRequest) -> HttpResponse:
    return render(request, "core/forbidden.html", status=403)


def _can_view(request: HttpRequest) -> bool:
    return permissions.can_view_processing(_user(request))


@login_required
def board(request: HttpRequest) -> HttpResponse:
    if not _can_view(request):
        return _forbidden(request)
    return render(request, "processing/board.html", selectors.cpc_board(actor=_user(request)))


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
        "reconciliation": selectors.label_reconciliation(actor=_user(request), lot=lot),
        "can_record": permissions.can_record_culture(_user(request)),
        "can_release": permissions.can_release_lot(_user(request)),
        "release_check": (
            services.lot_release_check(actor=_user(request), lot=lot)
            if lot.status == Lot.Status.QC_PENDING
            else None
        ),
        "follow_up_form": forms.FollowUpForm(),
        "quarantine_form": extra.pop("quarantine_form", None)
        or forms.ReasonForm(prefix="quarantine"),
        "lift_form": extra.pop("lift_form", None) or forms.ReasonForm(prefix="lift"),
        "can_quarantine": permissions.can_quarantine_lot(_user(request))
        and lot.status in ("in_culture", "qc_pending", "released", "conditionally_released"),
        "can_lift": permissions.can_lift_lot_quarantine(_user(request))
        and lot.status == Lot.Status.QUARANTINED,
        "can_reject": permissions.can_reject_lot(_user(request))
        and lot.status != Lot.Status.REJECTED,
        **extra,
    }


@login_required
def lot_detail(request: HttpRequest, external_id: str) -> HttpResponse:
    if not _can_view(request):
        return _forbidden(request)
    lot = _get(selectors.lot_get, actor=_user(request), external_id=external_id)
    return render(request, "processing/lot_detail.html", _lot_context(request, lot))


@login_required
@require_POST
def lot_step(request: HttpRequest, external_id: str) -> HttpResponse:
    lot = _get(selectors.lot_get, actor=_user(request), external_id=external_id)
    form = forms.CultureStepForm(request.POST)
    if form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if v not in (None, "")}
        try:
            services.culture_step_record(actor=_user(request), lot=lot, **data)
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
    lot = _get(selectors.lot_get, actor=_user(request), external_id=external_id)
    form = forms.QCResultForm(request.POST, choices=_qc_choices(lot))
    if form.is_valid():
        try:
            services.qc_result_record(actor=_user(request), lot=lot, **form.cleaned_data)
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
    lot = _get(selectors.lot_get, actor=_user(request), external_id=external_id)
    try:
        services.lot_submit_qc(actor=_user(request), lot=lot)
        messages.success(request, _("The lot was sent to QC."))
    except DomainError as exc:
        messages.error(request, str(exc.message))
    return redirect("processing:lot_detail", external_id=lot.external_id)


@login_required
def lot_release(request: HttpRequest, external_id: str) -> HttpResponse:
    if not _can_view(request):
        return _forbidden(request)
    lot = _get(selectors.lot_get, actor=_user(request), external_id=external_id)
    if not permissions.can_release_lot(_user(request)):
        return _forbidden(request)
    form = forms.ReleaseForm(request.POST or None)
    context = {
        "lot": lot,
        "readiness": services.lot_readiness(lot=lot),
        "check": services.lot_release_check(actor=_user(request), lot=lot),
        "form": form,
    }
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.lot_release(
                actor=_user(request),
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
    lot = _get(selectors.lot_get, actor=_user(request), external_id=external_id)
    form = forms.ReasonForm(request.POST, prefix=prefix)
    if form.is_valid():
        try:
            call(actor=_user(request), lot=lot, reason=form.cleaned_data["reason"])
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
    if not _can_view(request):
        return _forbidden(request)
    lot = _get(selectors.lot_get, actor=_user(request), external_id=external_id)
    if not permissions.can_reject_lot(_user(request)):
        return _forbidden(request)
    form = forms.RejectForm(request.POST or None)
    context = {"lot": lot, "form": form}
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.lot_reject(
                actor=_user(request),
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
def dose_list(request: HttpRequest) -> HttpResponse:
    if not _can_view(request):
        return _forbidden(request)
    status = request.GET.get("status") or None
    qs = selectors.dose_list(actor=_user(request), status=status)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
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
    if not _can_view(request):
        return _forbidden(request)
    form = forms.ScanForm(request.GET or None)
    if form.is_valid():
        dose = selectors.dose_for_scan(actor=_user(request), scan_text=form.cleaned_data["scan"])
        if dose is not None:
            return redirect("processing:handover", external_id=dose.external_id)
        form.add_error(
            "scan", _("No bag matches this scan. Scan the bag label (DIN and product code).")
        )
    return render(
        request, "processing/find.html", {"form": form}, status=404 if form.errors else 200
    )


def _dose_context(request: HttpRequest, dose: Dose, **extra: Any) -> dict[str, Any]:
    events = list(selectors.custody_list(actor=_user(request), dose=dose))
    return {
        "dose": dose,
        "chain": services.chain_of_custody(dose=dose, events=events),
        "labels": list(selectors.label_list(actor=_user(request)).filter(dose=dose)),
        "thaw_form": extra.pop("thaw_form", None) or forms.ThawForm(),
        "store_form": extra.pop("store_form", None) or forms.StoreForm(),
        "label_form": extra.pop("label_form", None) or forms.LabelForm(),
        "near_misses": list(dose.near_misses.all()[:20]),
        "holds": list(dose.holds.filter(voided_at__isnull=True).select_related("placed_by")),
        "discard_form": extra.pop("discard_form", None) or _discard_form(request),
        "unusable_form": extra.pop("unusable_form", None) or forms.ReasonForm(prefix="unusable"),
        "lift_form": extra.pop("lift_form", None) or forms.ReasonForm(prefix="lift"),
        "can_discard": permissions.can_discard_dose(_user(request))
        and dose.status in DOSE_IN_STOCK,
        "can_report": permissions.can_report_dose_unusable(_user(request))
        and dose.status in DOSE_USABLE,
        "can_lift": permissions.can_lift_dose_hold(_user(request))
        and dose.status == Dose.Status.ON_HOLD,
        **extra,
    }


def _discard_form(request: HttpRequest, data: Any = None) -> forms.DiscardForm:
    from saisei.core.models import Role, User

    user = _user(request)
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
    if not _can_view(request):
        return _forbidden(request)
    dose = _get(selectors.dose_get, actor=_user(request), external_id=external_id)
    return render(request, "processing/dose_detail.html", _dose_context(request, dose))


def _dose_action(
    request: HttpRequest,
    external_id: str,
    form_cls: type,
    key: str,
    call: Callable[..., Any],
    done: str,
) -> HttpResponse:
    dose = _get(selectors.dose_get, actor=_user(request), external_id=external_id)
    form = form_cls(request.POST)
    if form.is_valid():
        try:
            call(actor=_user(request), dose=dose, **form.cleaned_data)
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
    dose = _get(selectors.dose_get, actor=_user(request), external_id=external_id)
    form = forms.LabelForm(request.POST)
    if form.is_valid():
        try:
            _record, pdf = services.label_print(
                actor=_user(request), dose=dose, **form.cleaned_data
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

    label = _get(get_scoped, qs=selectors.label_list(actor=_user(request)), external_id=external_id)
    form = forms.ReconcileForm(request.POST)
    if form.is_valid():
        try:
            services.label_reconcile(actor=_user(request), label=label, **form.cleaned_data)
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
    dose = _get(selectors.dose_get, actor=_user(request), external_id=external_id)
    form = _discard_form(request, request.POST)

    def act(data: dict[str, Any]) -> None:
        services.dose_discard(
            actor=_user(request),
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
    dose = _get(selectors.dose_get, actor=_user(request), external_id=external_id)
    form = forms.ReasonForm(request.POST, prefix="unusable")

    def act(data: dict[str, Any]) -> None:
        services.dose_report_unusable(actor=_user(request), dose=dose, reason=data["reason"])

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
    dose = _get(selectors.dose_get, actor=_user(request), external_id=external_id)
    form = forms.ReasonForm(request.POST, prefix="lift")

    def act(data: dict[str, Any]) -> None:
        services.dose_hold_lift(actor=_user(request), dose=dose, reason=data["reason"])

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
    last = selectors.custody_list(actor=_user(request), dose=dose).last()
    initial: dict[str, Any] = {
        "stage": NEXT_STAGE.get(dose.status, "storage"),
        "to_party": str(_user(request)),
    }
    if last is not None:
        initial.update(from_party=last.to_party, place=last.place)
    return initial


@login_required
def handover(request: HttpRequest, external_id: str) -> HttpResponse:
    """Hand-over screen for one bag: scan the container; a mismatch stops and is recorded."""
    if not _can_view(request):
        return _forbidden(request)
    dose = _get(selectors.dose_get, actor=_user(request), external_id=external_id)
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
                actor=_user(request),
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
def deviation_list(request: HttpRequest) -> HttpResponse:
    if not _can_view(request):
        return _forbidden(request)
    open_only = request.GET.get("open", "1") == "1"
    qs = selectors.deviation_list(actor=_user(request), open_only=open_only)
    form = forms.DeviationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            deviation = services.deviation_open(
                actor=_user(request), source="other", **form.cleaned_data
            )
        except DomainError as exc:
            page = Paginator(qs, 50).get_page(1)
            return render_form_error(
                request,
                "processing/deviations.html",
                {"page": page, "open_only": open_only},
                exc,
                form,
            )
        return redirect("processing:deviation_detail", external_id=deviation.external_id)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "processing/deviations.html",
        {"page": page, "open_only": open_only, "form": form},
        status=400 if form.errors else 200,
    )


@login_required
def deviation_detail(request: HttpRequest, external_id: str) -> HttpResponse:
    if not _can_view(request):
        return _forbidden(request)
    deviation = _get(selectors.deviation_get, actor=_user(request), external_id=external_id)
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
                actor=_user(request), deviation=deviation, **form.cleaned_data
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
    if not _can_view(request):
        return _forbidden(request)
    page = Paginator(selectors.near_miss_list(actor=_user(request)), 50).get_page(
        request.GET.get("page")
    )
    return render(request, "processing/near_misses.html", {"page": page})


@login_required
@require_POST
def culture_alert_follow_up(request: HttpRequest, external_id: str) -> HttpResponse:
    from saisei.core.selectors import get_scoped

    alert = _get(
        get_scoped, qs=selectors.culture_alert_list(actor=_user(request)), external_id=external_id
    )
    form = forms.FollowUpForm(request.POST)
    if form.is_valid():
        try:
            services.culture_alert_follow_up(actor=_user(request), alert=alert, **form.cleaned_data)
            messages.success(request, _("Follow-up recorded."))
        except DomainError as exc:
            if exc.status_code == 403:
                return _forbidden(request)
            messages.error(request, str(exc.message))
    else:
        messages.error(request, _("Describe the follow-up."))
    return redirect("processing:lot_detail", external_id=alert.lot.external_id)


# --- donations ------------------------------------------------------------------------------------


def _marker_fields() -> list[tuple[str, Any]]:
    from saisei.processing.rules import marker_name, processing_config

    return [(code, marker_name(code)) for code in processing_config().required_markers]


def _open_courses(user: Any, patient: Any = None) -> Any:
    from saisei.core.permissions import scope_to_org
    from saisei.journey.models import TreatmentCourse

    qs = TreatmentCourse.objects.filter(voided_at__isnull=True).exclude(
        status__in=["completed", "stopped"]
    )
    if patient is not None:
        qs = qs.filter(patient=patient)
    return scope_to_org(user, qs.select_related("patient", "plan").order_by("-created_at"))


def _donation_form(request: HttpRequest, data: Any = None) -> forms.DonationForm:
    from saisei.core.models import Site
    from saisei.core.permissions import scope_to_org
    from saisei.journey.models import Patient
    from saisei.regulatory.models import Physician, ProcessingFacility, ProvisionPlan

    user = _user(request)
    return forms.DonationForm(
        data,
        patients=scope_to_org(user, Patient.objects.filter(voided_at__isnull=True)),
        courses=_open_courses(user),
        plans=scope_to_org(user, ProvisionPlan.objects.filter(voided_at__isnull=True)),
        sites=scope_to_org(user, Site.objects.all()),
        physicians=scope_to_org(user, Physician.objects.filter(voided_at__isnull=True)),
        facilities=scope_to_org(user, ProcessingFacility.objects.filter(voided_at__isnull=True)),
        markers=_marker_fields(),
        donors=scope_to_org(user, Donor.objects.filter(voided_at__isnull=True)),
    )


@login_required
def donation_new(request: HttpRequest) -> HttpResponse:
    """Record a harvest: the DIN and chain-of-identity identifier are assigned on saving."""
    if not permissions.can_record_donation(_user(request)):
        return _forbidden(request)
    form = _donation_form(request, request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            donation = services.donation_record(
                actor=_user(request),
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
    initial: dict[str, Any] = {"to_party": str(_user(request)), "stage": "collection"}
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
            forms.CourseBindForm(courses=_open_courses(_user(request), donation.patient))
            if donation.course_id is None and _user(request).has_role(Role.QA_MANAGER)
            else None
        ),
        **extra,
    }


@login_required
def donation_detail(request: HttpRequest, external_id: str) -> HttpResponse:
    if not _can_view(request):
        return _forbidden(request)
    donation = _get(selectors.donation_get, actor=_user(request), external_id=external_id)
    return render(request, "processing/donation_detail.html", _donation_context(request, donation))


@login_required
@require_POST
def donation_markers(request: HttpRequest, external_id: str) -> HttpResponse:
    donation = _get(selectors.donation_get, actor=_user(request), external_id=external_id)
    form = forms.MarkersForm(request.POST, markers=_marker_fields())
    if form.is_valid():
        try:
            services.donation_markers_record(
                actor=_user(request), donation=donation, results=form.markers()
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
    donation = _get(selectors.donation_get, actor=_user(request), external_id=external_id)
    form = forms.CourseBindForm(
        request.POST, courses=_open_courses(_user(request), donation.patient)
    )
    if form.is_valid():
        try:
            services.donation_course_bind(
                actor=_user(request),
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
    donation = _get(selectors.donation_get, actor=_user(request), external_id=external_id)
    form = forms.LotForm(request.POST)
    if form.is_valid():
        try:
            lot = services.lot_create(actor=_user(request), donation=donation, **form.cleaned_data)
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
    donation = _get(selectors.donation_get, actor=_user(request), external_id=external_id)
    form = forms.DonationHandoverForm(request.POST, request.FILES)
    if form.is_valid():
        data = dict(form.cleaned_data)
        upload = data.pop("logger_csv")
        try:
            text = upload.read(2_000_000).decode("utf-8-sig") if upload else None
            services.custody_handover(
                actor=_user(request),
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
def lot_batch_record_pdf(request: HttpRequest, external_id: str) -> HttpResponse:
    if not _can_view(request):
        return _forbidden(request)
    from saisei.processing.documents import batch_record_pdf

    lot = _get(selectors.lot_get, actor=_user(request), external_id=external_id)
    context = _lot_context(request, lot)
    pdf = batch_record_pdf(
        record=context, readiness=context["readiness"], spec_rows=context["spec_rows"]
    )
    access_log_record(
        actor=_user(request),
        channel=WEB,
        subject_type="processing.batch_record_pdf",
        subject_id=lot.external_id,
        patient=lot.donation.patient if lot.donation_id else None,
        label=f"batch record {lot.number} PDF",
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="batch-record-{lot.number}.pdf"'
    return response


@login_required
def dose_custody_pdf(request: HttpRequest, external_id: str) -> HttpResponse:
    if not _can_view(request):
        return _forbidden(request)
    from saisei.processing.documents import custody_report_pdf

    dose = _get(selectors.dose_get, actor=_user(request), external_id=external_id)
    chain = services.chain_of_custody(
        dose=dose, events=list(selectors.custody_list(actor=_user(request), dose=dose))
    )
    access_log_record(
        actor=_user(request),
        channel=WEB,
        subject_type="processing.custody_pdf",
        subject_id=dose.external_id,
        patient=dose.patient,
        label=f"chain of custody {dose.din} {dose.division} PDF",
    )
    response = HttpResponse(custody_report_pdf(chain=chain), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="custody-{dose.din}-{dose.division}.pdf"'
    return response


def _environment_form(request: HttpRequest, data: Any = None) -> forms.EnvironmentForm:
    user = _user(request)
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
    if not _can_view(request):
        return _forbidden(request)
    user = _user(request)
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
            return _forbidden(request)
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
        _user(request), Site.objects.filter(kind=Site.Kind.CELL_PROCESSING_FACILITY)
    )


@login_required
def programmes(request: HttpRequest) -> HttpResponse:
    """Every version of every room's monitoring programme, and a form to draft the next one."""
    if not _can_view(request):
        return _forbidden(request)
    user = _user(request)
    form = forms.ProgrammeForm(request.POST or None, sites=_cpc_sites(request))
    context = {
        "form": form,
        "programmes": list(selectors.programme_list(actor=user)),
        "can_prepare": permissions.can_record_environment(user),
    }
    if request.method == "POST":
        if not permissions.can_record_environment(user):
            return _forbidden(request)
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
    if not _can_view(request):
        return _forbidden(request)
    user = _user(request)
    programme = _get(selectors.programme_get, actor=user, external_id=external_id)
    form = forms.SignatureForm(request.POST or None)
    context = {
        "programme": programme,
        "form": form,
        "can_approve": permissions.can_approve_environment_programme(user)
        and programme.status == "draft",
    }
    if request.method == "POST":
        if not permissions.can_approve_environment_programme(user):
            return _forbidden(request)
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


@login_required
@require_POST
def donation_labels(request: HttpRequest, external_id: str) -> HttpResponse:
    """Print the tissue container label at collection (counted before it is sent)."""
    donation = _get(selectors.donation_get, actor=_user(request), external_id=external_id)
    form = forms.LabelForm(request.POST)
    if form.is_valid():
        try:
            _record, pdf = services.donation_label_print(
                actor=_user(request), donation=donation, **form.cleaned_data
            )
        except DomainError as exc:
            ctx = _donation_context(request, donation, label_form=form)
            return render_form_error(request, "processing/donation_detail.html", ctx, exc, form)
        response = HttpResponse(pdf, content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="tissue-label-{donation.din}.pdf"'
        return response
    ctx = _donation_context(request, donation, label_form=form)
    return render(request, "processing/donation_detail.html", ctx, status=400)
