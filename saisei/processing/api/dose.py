"""Doses: division into bags, storage, thaw, discard, holds and labels."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema, Status
from pydantic import Field

from saisei.core.api_support import ERROR_RESPONSES, ApiDateTime, Page, PageQuery, page_of, paginate
from saisei.core.errors import NotFound
from saisei.core.selectors import get_scoped
from saisei.processing import selectors, services

from .common import MAX_SCAN_LENGTH, ReasonIn, _require_view, _user

router = Router()


class BagIn(Schema):
    cell_count: float = Field(..., gt=0)
    volume_ml: float = Field(..., gt=0)


class DivideIn(Schema):
    bags: list[BagIn] = Field(..., min_length=1, max_length=26)


class DoseOut(Schema):
    external_id: uuid.UUID
    lot: str
    patient_code: str
    din: str
    coi: str
    product_code: str
    division: str
    sequence: int
    status: str
    status_label: str
    cell_count: float
    volume_ml: float
    storage_location: str
    cryopreserved_at: dt.datetime | None
    expires_at: dt.datetime | None
    thawed_at: dt.datetime | None
    post_thaw_viability_pct: float | None
    use_by: dt.datetime | None
    administered_at: dt.datetime | None
    status_reason: str

    @staticmethod
    def resolve_lot(obj: Any) -> str:
        return obj.lot.number

    @staticmethod
    def resolve_patient_code(obj: Any) -> str:
        return obj.patient.patient_code

    @staticmethod
    def resolve_status_label(obj: Any) -> str:
        return str(obj.get_status_display())


@router.post(
    "/processing/lots/{external_id}/doses", response={201: list[DoseOut], **ERROR_RESPONSES}
)
def lot_divide(request: HttpRequest, external_id: str, payload: DivideIn) -> Status:
    lot = selectors.lot_get(actor=_user(request), external_id=external_id)
    doses = services.dose_divide(
        actor=_user(request), lot=lot, bags=[b.dict() for b in payload.bags]
    )
    return Status(201, doses)


class DoseFilter(PageQuery):
    status: str | None = None


@router.get("/processing/doses", response={200: Page[DoseOut], **ERROR_RESPONSES})
def dose_list(request: HttpRequest, filters: Query[DoseFilter]) -> dict[str, Any]:
    _require_view(_user(request))
    qs = selectors.dose_list(actor=_user(request), status=filters.status)
    return page_of(qs, filters)


class ScanLookupIn(Schema):
    scan: str = Field(..., max_length=MAX_SCAN_LENGTH)


@router.post("/processing/doses/lookup", response={200: DoseOut, **ERROR_RESPONSES})
def dose_lookup(request: HttpRequest, payload: ScanLookupIn) -> Any:
    _require_view(_user(request))
    dose = selectors.dose_for_scan(actor=_user(request), scan_text=payload.scan)
    if dose is None:
        raise NotFound(_("No dose matches this scan."), code="dose_not_found")
    return dose


@router.get("/processing/doses/{external_id}", response={200: DoseOut, **ERROR_RESPONSES})
def dose_detail(request: HttpRequest, external_id: str) -> Any:
    return selectors.dose_get(actor=_user(request), external_id=external_id)


class StoreIn(Schema):
    freezer: str = Field(..., max_length=50)
    rack: str = Field(..., max_length=50)
    position: str = Field(..., max_length=50)
    cryopreserved_at: ApiDateTime | None = None


@router.post("/processing/doses/{external_id}/store", response={200: DoseOut, **ERROR_RESPONSES})
def dose_store(request: HttpRequest, external_id: str, payload: StoreIn) -> Any:
    dose = selectors.dose_get(actor=_user(request), external_id=external_id)
    return services.dose_cryopreserve(actor=_user(request), dose=dose, **payload.dict())


class ThawIn(Schema):
    viability_pct: float = Field(..., ge=0, le=100)
    thawed_at: ApiDateTime | None = None
    use_within_hours: float | None = Field(None, gt=0, le=48)


@router.post("/processing/doses/{external_id}/thaw", response={200: DoseOut, **ERROR_RESPONSES})
def dose_thaw(request: HttpRequest, external_id: str, payload: ThawIn) -> Any:
    dose = selectors.dose_get(actor=_user(request), external_id=external_id)
    return services.dose_thaw(actor=_user(request), dose=dose, **payload.dict())


class DiscardIn(Schema):
    reason: str = Field(..., min_length=1, max_length=1000)
    # For a released dose: another CPC technician or QA member confirms with their password.
    second_person: str | None = Field(None, max_length=150, description="username")
    second_person_password: str = Field("", max_length=200)
    second_person_otp: str | None = Field(None, max_length=12)


def second_person_lookup(actor: Any, username: str | None) -> Any:
    """The colleague a username names in the actor's organisation (None when not given)."""
    from saisei.core.errors import ValidationFailed
    from saisei.core.models import User

    if not username:
        return None
    user = User.objects.filter(
        organisation_id=actor.organisation_id, username=username, is_active=True
    ).first()
    if user is None:
        raise ValidationFailed(
            "second_person_unknown",
            _("No active colleague with this username."),
            {"second_person": [_("Unknown user.")]},
        )
    return user


@router.post("/processing/doses/{external_id}/discard", response={200: DoseOut, **ERROR_RESPONSES})
def dose_discard(request: HttpRequest, external_id: str, payload: DiscardIn) -> Any:
    """Destroy a bag (CPC or QA); a released one needs a second person's password."""
    actor = _user(request)
    dose = selectors.dose_get(actor=actor, external_id=external_id)
    return services.dose_discard(
        actor=actor,
        dose=dose,
        reason=payload.reason,
        second_person=second_person_lookup(actor, payload.second_person),
        second_person_password=payload.second_person_password,
        second_person_otp=payload.second_person_otp,
    )


@router.post(
    "/processing/doses/{external_id}/report-unusable", response={200: DoseOut, **ERROR_RESPONSES}
)
def dose_report_unusable(request: HttpRequest, external_id: str, payload: ReasonIn) -> Any:
    """Take a bag out of use at once; it stays on hold until QA decides."""
    dose = selectors.dose_get(actor=_user(request), external_id=external_id)
    services.dose_report_unusable(actor=_user(request), dose=dose, reason=payload.reason)
    return selectors.dose_get(actor=_user(request), external_id=external_id)


@router.post(
    "/processing/doses/{external_id}/lift-hold", response={200: DoseOut, **ERROR_RESPONSES}
)
def dose_lift_hold(request: HttpRequest, external_id: str, payload: ReasonIn) -> Any:
    """QA returns a held bag to use, with the reason."""
    dose = selectors.dose_get(actor=_user(request), external_id=external_id)
    services.dose_hold_lift(actor=_user(request), dose=dose, reason=payload.reason)
    return selectors.dose_get(actor=_user(request), external_id=external_id)


class HoldOut(Schema):
    external_id: uuid.UUID
    dose: uuid.UUID
    dose_label: str
    lot: str
    kind: str
    reason: str
    source_ref: str
    previous_status: str
    placed_by: str
    placed_at: dt.datetime
    lifted_by: str | None
    lifted_at: dt.datetime | None
    lift_reason: str

    @staticmethod
    def resolve_dose(obj: Any) -> uuid.UUID:
        return obj.dose.external_id

    @staticmethod
    def resolve_dose_label(obj: Any) -> str:
        return f"{obj.dose.din} {obj.dose.product_code}"

    @staticmethod
    def resolve_lot(obj: Any) -> str:
        return obj.dose.lot.number

    @staticmethod
    def resolve_placed_by(obj: Any) -> str:
        return obj.placed_by.username

    @staticmethod
    def resolve_lifted_by(obj: Any) -> str | None:
        return obj.lifted_by.username if obj.lifted_by_id else None


@router.get("/processing/holds", response={200: Page[HoldOut], **ERROR_RESPONSES})
def hold_list(
    request: HttpRequest, active: bool = True, limit: int = 50, offset: int = 0, after: str = ""
) -> dict[str, Any]:
    """Doses on hold (or every hold, with ``active=false``), newest first."""
    _require_view(_user(request))
    qs = selectors.hold_list(actor=_user(request), active_only=active)
    return paginate(qs, limit=limit, offset=offset, after=after)


class LabelIn(Schema):
    count: int = Field(1, ge=1, le=50)
    reason: str = Field("", max_length=500)


@router.post("/processing/doses/{external_id}/labels", response={200: None, **ERROR_RESPONSES})
def dose_labels(request: HttpRequest, external_id: str, payload: LabelIn) -> HttpResponse:
    """Print labels; answers the PDF, and the print is counted for reconciliation."""
    dose = selectors.dose_get(actor=_user(request), external_id=external_id)
    record, pdf = services.label_print(
        actor=_user(request), dose=dose, count=payload.count, reason=payload.reason
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="label-{dose.din}-{dose.division}.pdf"'
    response["X-Label-Print"] = str(record.external_id)
    return response


@router.post("/processing/donations/{external_id}/labels", response={200: None, **ERROR_RESPONSES})
def donation_labels(request: HttpRequest, external_id: str, payload: LabelIn) -> HttpResponse:
    """Print tissue container labels at collection; answers the PDF, counted for reconciliation."""
    donation = selectors.donation_get(actor=_user(request), external_id=external_id)
    record, pdf = services.donation_label_print(
        actor=_user(request), donation=donation, count=payload.count, reason=payload.reason
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="tissue-label-{donation.din}.pdf"'
    response["X-Label-Print"] = str(record.external_id)
    return response


class ReconcileIn(Schema):
    applied: int = Field(..., ge=0, le=50)
    destroyed: int = Field(..., ge=0, le=50)


class LabelOut(Schema):
    external_id: uuid.UUID
    kind: str
    count: int
    is_reprint: bool
    reason: str
    printed_at: dt.datetime
    applied: int
    destroyed: int
    unaccounted: int


@router.post(
    "/processing/labels/{external_id}/reconcile", response={200: LabelOut, **ERROR_RESPONSES}
)
def label_reconcile(request: HttpRequest, external_id: str, payload: ReconcileIn) -> Any:
    label = get_scoped(selectors.label_list(actor=_user(request)), external_id)
    return services.label_reconcile(
        actor=_user(request), label=label, applied=payload.applied, destroyed=payload.destroyed
    )
