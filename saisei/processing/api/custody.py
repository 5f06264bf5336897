"""Chain of custody: hand-overs and a dose's custody chain."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import Field

from saisei.core.api_support import ERROR_RESPONSES, ApiDateTime
from saisei.processing import selectors, services

from .common import MAX_SCAN_LENGTH, _user
from .dose import DoseOut

router = Router()


class CustodyIn(Schema):
    stage: str
    scan: str = Field(..., max_length=MAX_SCAN_LENGTH)
    dose: uuid.UUID | None = None
    donation: uuid.UUID | None = None
    from_party: str = Field(..., max_length=200)
    to_party: str = Field(..., max_length=200)
    place: str = Field(..., max_length=200)
    occurred_at: ApiDateTime | None = None
    temperature_min_c: float | None = Field(None, ge=-273, le=100)
    temperature_max_c: float | None = Field(None, ge=-273, le=100)
    logger_csv: str | None = Field(None, max_length=2_000_000)
    notes: str = ""


class CustodyOut(Schema):
    external_id: uuid.UUID
    stage: str
    from_party: str
    to_party: str
    place: str
    occurred_at: dt.datetime
    recorded_by: str
    temperature_min_c: float | None
    temperature_max_c: float | None
    excursion: bool

    @staticmethod
    def resolve_recorded_by(obj: Any) -> str:
        return obj.recorded_by.username


@router.post("/processing/custody", response={201: CustodyOut, **ERROR_RESPONSES})
def custody_create(request: HttpRequest, payload: CustodyIn) -> Status:
    actor = _user(request)
    dose = selectors.dose_get(actor=actor, external_id=payload.dose) if payload.dose else None
    donation = (
        selectors.donation_get(actor=actor, external_id=payload.donation)
        if payload.donation
        else None
    )
    data = payload.dict()
    event = services.custody_handover(
        actor=actor,
        stage=data["stage"],
        scan_text=data["scan"],
        dose=dose,
        donation=donation,
        from_party=data["from_party"],
        to_party=data["to_party"],
        place=data["place"],
        occurred_at=data["occurred_at"],
        temperature_min_c=data["temperature_min_c"],
        temperature_max_c=data["temperature_max_c"],
        logger_csv=data["logger_csv"],
        notes=data["notes"],
    )
    return Status(201, event)


class ChainOut(Schema):
    dose: DoseOut
    unbroken: bool
    events: list[CustodyOut]
    breaks: list[dict[str, str]]
    excursions: int


@router.get("/processing/doses/{external_id}/custody", response={200: ChainOut, **ERROR_RESPONSES})
def dose_custody(request: HttpRequest, external_id: str) -> dict[str, Any]:
    dose = selectors.dose_get(actor=_user(request), external_id=external_id)
    report = services.chain_of_custody(
        dose=dose, events=list(selectors.custody_list(actor=_user(request), dose=dose))
    )
    return {
        **report,
        "breaks": [{k: str(v) for k, v in b.items()} for b in report["breaks"]],
        "excursions": len(report["excursions"]),
    }
