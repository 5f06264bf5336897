"""Deviations: list, open by hand, investigate and close."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from pydantic import Field

from saisei.core.api_support import ERROR_RESPONSES, Page, PageQuery, page_of
from saisei.processing import selectors, services

from .common import _require_view, _user

router = Router()


class DeviationOut(Schema):
    external_id: uuid.UUID
    number: str
    lot: str | None
    source: str
    severity: str
    title: str
    description: str
    status: str
    opened_at: dt.datetime
    investigation: str
    impact: str
    capa: str
    closed_at: dt.datetime | None

    @staticmethod
    def resolve_lot(obj: Any) -> str | None:
        return obj.lot.number if obj.lot_id else None


class DeviationIn(Schema):
    title: str = Field(..., min_length=1, max_length=300)
    source: str = "other"
    severity: str = "major"
    description: str = ""
    lot: uuid.UUID | None = None


class DeviationUpdateIn(Schema):
    investigation: str | None = None
    impact: str | None = None
    capa: str | None = None
    status: str | None = None


class DeviationFilter(PageQuery):
    open: bool = False


@router.get("/processing/deviations", response={200: Page[DeviationOut], **ERROR_RESPONSES})
def deviation_list(request: HttpRequest, filters: Query[DeviationFilter]) -> dict[str, Any]:
    _require_view(_user(request))
    qs = selectors.deviation_list(actor=_user(request), open_only=filters.open)
    return page_of(qs, filters)


@router.post("/processing/deviations", response={201: DeviationOut, **ERROR_RESPONSES})
def deviation_create(request: HttpRequest, payload: DeviationIn) -> Status:
    lot = selectors.lot_get(actor=_user(request), external_id=payload.lot) if payload.lot else None
    deviation = services.deviation_open(
        actor=_user(request),
        title=payload.title,
        source=payload.source,
        severity=payload.severity,
        description=payload.description,
        lot=lot,
    )
    return Status(201, deviation)


@router.get("/processing/deviations/{external_id}", response={200: DeviationOut, **ERROR_RESPONSES})
def deviation_detail(request: HttpRequest, external_id: str) -> Any:
    return selectors.deviation_get(actor=_user(request), external_id=external_id)


@router.patch(
    "/processing/deviations/{external_id}", response={200: DeviationOut, **ERROR_RESPONSES}
)
def deviation_patch(request: HttpRequest, external_id: str, payload: DeviationUpdateIn) -> Any:
    deviation = selectors.deviation_get(actor=_user(request), external_id=external_id)
    return services.deviation_update(actor=_user(request), deviation=deviation, **payload.dict())
