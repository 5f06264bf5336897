"""Lots: creation, culture steps, QC results, readiness, release, quarantine and rejection."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from pydantic import Field

from saisei.core.api_support import ERROR_RESPONSES, ApiDateTime, Page, PageQuery, page_of
from saisei.processing import selectors, services
from saisei.processing.models import Release

from .common import ReasonIn, _require_view, _user
from .deviation import DeviationOut

router = Router()


class LotIn(Schema):
    donation: uuid.UUID
    planned_doses: int = Field(..., ge=1, le=26)
    cells_per_dose: float = Field(..., gt=0)
    route: str = "iv"
    dose_volume_ml: float | None = Field(None, gt=0)
    allow_conditional_release: bool = False
    started_on: dt.date | None = None
    patient_weight_kg: float | None = Field(None, gt=0)


class LotOut(Schema):
    external_id: uuid.UUID
    number: str
    status: str
    status_label: str
    din: str
    patient_code: str
    route: str
    planned_doses: int
    cells_per_dose: float
    started_on: dt.date
    due_on: dt.date | None
    open_deviations: int = 0

    @staticmethod
    def resolve_status_label(obj: Any) -> str:
        return str(obj.get_status_display())

    @staticmethod
    def resolve_din(obj: Any) -> str:
        return obj.donation.din

    @staticmethod
    def resolve_patient_code(obj: Any) -> str:
        return obj.donation.patient.patient_code

    @staticmethod
    def resolve_open_deviations(obj: Any) -> int:
        return int(getattr(obj, "open_deviations", 0) or 0)


class StepIn(Schema):
    kind: str
    performed_at: ApiDateTime | None = None
    passage_number: int = Field(0, ge=0, le=50)
    cell_count: float | None = Field(None, ge=0)
    viability_pct: float | None = Field(None, ge=0, le=100)
    population_doublings: float | None = Field(None, ge=0)
    vessel_type: str = Field("", max_length=50)
    vessel_count: int = Field(0, ge=0, le=1000)
    area_cm2: float | None = Field(None, ge=0)
    media_lot: str = Field("", max_length=100)
    reagent_lots: str = Field("", max_length=300)
    notes: str = ""


class StepOut(Schema):
    external_id: uuid.UUID
    kind: str
    passage_number: int
    performed_at: dt.datetime
    cell_count: float | None
    viability_pct: float | None
    population_doublings: float | None
    vessel_type: str
    vessel_count: int
    area_cm2: float | None
    media_lot: str
    reagent_lots: str


class QCIn(Schema):
    test_code: str = Field(..., max_length=50)
    value: str | float | None = None
    pending: bool = False
    tested_at: ApiDateTime | None = None
    method: str = Field("", max_length=200)
    organism: str = Field("", max_length=200)


class QCOut(Schema):
    external_id: uuid.UUID
    test_code: str
    value: str
    outcome: str
    limit_text: str
    tested_at: dt.datetime
    deviation: str | None

    @staticmethod
    def resolve_deviation(obj: Any) -> str | None:
        return obj.deviation.number if obj.deviation_id else None


class ReleaseOut(Schema):
    external_id: uuid.UUID
    lot: str
    kind: str
    signed_by: str
    signed_at: dt.datetime
    meaning: str
    justification: str
    sterility_confirmed_at: dt.datetime | None

    @staticmethod
    def resolve_lot(obj: Any) -> str:
        return obj.lot.number

    @staticmethod
    def resolve_signed_by(obj: Any) -> str:
        return obj.signed_by.username


class LotDetailOut(LotOut):
    donation: uuid.UUID
    forecast: dict[str, Any]
    readiness: dict[str, Any]
    steps: list[StepOut]
    qc_results: list[QCOut]
    deviations: list[DeviationOut]
    release: ReleaseOut | None

    @staticmethod
    def resolve_donation(obj: Any) -> uuid.UUID:
        return obj.donation.external_id

    @staticmethod
    def resolve_readiness(obj: Any) -> dict[str, Any]:
        return services.lot_readiness(lot=obj).as_dict()

    @staticmethod
    def resolve_steps(obj: Any) -> list[Any]:
        return list(obj.steps.filter(voided_at__isnull=True))

    @staticmethod
    def resolve_qc_results(obj: Any) -> list[Any]:
        return list(obj.qc_results.filter(voided_at__isnull=True).select_related("deviation"))

    @staticmethod
    def resolve_deviations(obj: Any) -> list[Any]:
        return list(obj.deviations.filter(voided_at__isnull=True).select_related("lot"))

    @staticmethod
    def resolve_release(obj: Any) -> Any:
        return Release.objects.filter(lot=obj).select_related("lot", "signed_by").first()


class LotFilter(PageQuery):
    status: str | None = None


@router.get("/processing/lots", response={200: Page[LotOut], **ERROR_RESPONSES})
def lot_list(request: HttpRequest, filters: Query[LotFilter]) -> dict[str, Any]:
    _require_view(_user(request))
    qs = selectors.lot_list(actor=_user(request), status=filters.status)
    return page_of(qs, filters)


@router.post("/processing/lots", response={201: LotOut, **ERROR_RESPONSES})
def lot_create(request: HttpRequest, payload: LotIn) -> Status:
    donation = selectors.donation_get(actor=_user(request), external_id=payload.donation)
    lot = services.lot_create(
        actor=_user(request),
        donation=donation,
        planned_doses=payload.planned_doses,
        cells_per_dose=payload.cells_per_dose,
        route=payload.route,
        dose_volume_ml=payload.dose_volume_ml,
        allow_conditional_release=payload.allow_conditional_release,
        started_on=payload.started_on,
        patient_weight_kg=payload.patient_weight_kg,
    )
    return Status(201, selectors.lot_get(actor=_user(request), external_id=lot.external_id))


@router.get("/processing/lots/{external_id}", response={200: LotDetailOut, **ERROR_RESPONSES})
def lot_detail(request: HttpRequest, external_id: str) -> Any:
    return selectors.lot_get(actor=_user(request), external_id=external_id)


@router.post("/processing/lots/{external_id}/steps", response={201: StepOut, **ERROR_RESPONSES})
def lot_step(request: HttpRequest, external_id: str, payload: StepIn) -> Status:
    lot = selectors.lot_get(actor=_user(request), external_id=external_id)
    return Status(
        201, services.culture_step_record(actor=_user(request), lot=lot, **payload.dict())
    )


@router.post("/processing/lots/{external_id}/qc-results", response={201: QCOut, **ERROR_RESPONSES})
def lot_qc(request: HttpRequest, external_id: str, payload: QCIn) -> Status:
    lot = selectors.lot_get(actor=_user(request), external_id=external_id)
    result = services.qc_result_record(
        actor=_user(request),
        lot=lot,
        test_code=payload.test_code,
        value=payload.value,
        pending=payload.pending,
        tested_at=payload.tested_at,
        method=payload.method,
        organism=payload.organism,
    )
    return Status(201, result)


@router.get("/processing/lots/{external_id}/readiness", response={200: dict, **ERROR_RESPONSES})
def lot_readiness(request: HttpRequest, external_id: str) -> dict[str, Any]:
    lot = selectors.lot_get(actor=_user(request), external_id=external_id)
    return {
        **services.lot_readiness(lot=lot).as_dict(),
        "specifications": services.lot_specifications(lot=lot).as_dict(),
    }


@router.get("/processing/lots/{external_id}/release-check", response={200: dict, **ERROR_RESPONSES})
def lot_release_check(request: HttpRequest, external_id: str) -> dict[str, Any]:
    """What would stop QA releasing the lot now: the batch record and the compliance gate."""
    lot = selectors.lot_get(actor=_user(request), external_id=external_id)
    check = services.lot_release_check(actor=_user(request), lot=lot)
    return {**check.as_dict(), "readiness": services.lot_readiness(lot=lot).as_dict()}


@router.post("/processing/lots/{external_id}/submit-qc", response={200: LotOut, **ERROR_RESPONSES})
def lot_submit_qc(request: HttpRequest, external_id: str) -> Any:
    lot = selectors.lot_get(actor=_user(request), external_id=external_id)
    services.lot_submit_qc(actor=_user(request), lot=lot)
    return selectors.lot_get(actor=_user(request), external_id=external_id)


class ReleaseIn(Schema):
    password: str = Field(..., max_length=200)
    meaning: str = Field(..., max_length=300)
    conditional: bool = False
    justification: str = ""
    otp: str | None = Field(None, max_length=64)


@router.post(
    "/processing/lots/{external_id}/release", response={201: ReleaseOut, **ERROR_RESPONSES}
)
def lot_release(request: HttpRequest, external_id: str, payload: ReleaseIn) -> Status:
    lot = selectors.lot_get(actor=_user(request), external_id=external_id)
    release = services.lot_release(
        actor=_user(request),
        lot=lot,
        password=payload.password,
        meaning=payload.meaning,
        conditional=payload.conditional,
        justification=payload.justification,
        otp=payload.otp,
    )
    return Status(201, release)


@router.post("/processing/lots/{external_id}/quarantine", response={200: LotOut, **ERROR_RESPONSES})
def lot_quarantine(request: HttpRequest, external_id: str, payload: ReasonIn) -> Any:
    lot = selectors.lot_get(actor=_user(request), external_id=external_id)
    services.lot_quarantine(actor=_user(request), lot=lot, reason=payload.reason)
    return selectors.lot_get(actor=_user(request), external_id=external_id)


@router.post(
    "/processing/lots/{external_id}/lift-quarantine", response={200: LotOut, **ERROR_RESPONSES}
)
def lot_lift(request: HttpRequest, external_id: str, payload: ReasonIn) -> Any:
    lot = selectors.lot_get(actor=_user(request), external_id=external_id)
    services.lot_quarantine_lift(actor=_user(request), lot=lot, reason=payload.reason)
    return selectors.lot_get(actor=_user(request), external_id=external_id)


class RejectIn(Schema):
    """A rejection is an electronic signature: password and, if enrolled, the current code."""

    reason: str = Field(..., min_length=1, max_length=1000)
    password: str = Field(..., max_length=200)
    otp: str | None = Field(None, max_length=64)


@router.post("/processing/lots/{external_id}/reject", response={200: LotOut, **ERROR_RESPONSES})
def lot_reject(request: HttpRequest, external_id: str, payload: RejectIn) -> Any:
    lot = selectors.lot_get(actor=_user(request), external_id=external_id)
    services.lot_reject(
        actor=_user(request),
        lot=lot,
        reason=payload.reason,
        password=payload.password,
        otp=payload.otp,
    )
    return selectors.lot_get(actor=_user(request), external_id=external_id)


@router.post("/processing/lots/{external_id}/reforecast", response={200: dict, **ERROR_RESPONSES})
def lot_reforecast(request: HttpRequest, external_id: str) -> dict[str, Any]:
    lot = selectors.lot_get(actor=_user(request), external_id=external_id)
    return services.lot_reforecast(actor=_user(request), lot=lot).forecast
