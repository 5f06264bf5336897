"""Environmental monitoring: readings and the monitoring programmes that set their limits."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from saisei.core.api_support import ERROR_RESPONSES, ApiDateTime, Page, paginate
from saisei.processing import selectors, services

from .common import _require_view, _site, _user

router = Router()


class EnvironmentIn(Schema):
    """A reading: its limits and unit come from the room's approved programme, never the client."""

    site: uuid.UUID
    room: str = Field(..., min_length=1, max_length=100)
    location: str = Field(..., min_length=1, max_length=100, description="sampling point")
    parameter: str = Field(..., max_length=20)
    value: float = Field(..., ge=0)
    sampled_at: ApiDateTime | None = None
    lot: uuid.UUID | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_typed_limits(cls, data: Any) -> Any:
        raw = getattr(data, "_obj", data)  # ninja hands the body over wrapped
        typed = [
            k for k in ("alert_limit", "action_limit", "unit") if isinstance(raw, dict) and k in raw
        ]
        if typed:
            raise PydanticCustomError(
                "typed_limits",
                "Limits and units come from the room's approved monitoring programme; "
                "do not send {fields}.",
                {"fields": ", ".join(typed)},
            )
        return data


class EnvironmentOut(Schema):
    external_id: uuid.UUID
    room: str
    location: str
    parameter: str
    unit: str
    value: float
    alert_limit: float
    action_limit: float
    level: str
    sampled_at: dt.datetime
    programme: uuid.UUID | None
    programme_version: int | None
    deviation: str | None

    @staticmethod
    def resolve_deviation(obj: Any) -> str | None:
        return obj.deviation.number if obj.deviation_id else None

    @staticmethod
    def resolve_programme(obj: Any) -> uuid.UUID | None:
        return obj.programme.external_id if obj.programme_id else None

    @staticmethod
    def resolve_programme_version(obj: Any) -> int | None:
        return obj.programme.version if obj.programme_id else None


@router.get("/processing/environment", response={200: Page[EnvironmentOut], **ERROR_RESPONSES})
def environment_list(
    request: HttpRequest, limit: int = 50, offset: int = 0, after: str = ""
) -> dict[str, Any]:
    _require_view(_user(request))
    return paginate(
        selectors.environment_list(actor=_user(request)), limit=limit, offset=offset, after=after
    )


@router.post("/processing/environment", response={201: EnvironmentOut, **ERROR_RESPONSES})
def environment_create(request: HttpRequest, payload: EnvironmentIn) -> Status:
    actor = _user(request)
    lot = selectors.lot_get(actor=actor, external_id=payload.lot) if payload.lot else None
    data = payload.dict()
    data.pop("lot")
    data["site"] = _site(actor, payload.site)
    return Status(201, services.environmental_result_record(actor=actor, lot=lot, **data))


class LimitIn(Schema):
    parameter: str = Field(..., max_length=20)
    alert_limit: float = Field(..., ge=0)
    action_limit: float = Field(..., ge=0)


class ProgrammeIn(Schema):
    site: uuid.UUID
    room: str = Field(..., min_length=1, max_length=100)
    grade: str = Field(..., max_length=1)
    effective_from: dt.date
    source: str = Field(..., min_length=1, max_length=2000)
    notes: str = Field("", max_length=2000)
    limits: list[LimitIn] = Field(..., min_length=1, max_length=20)


class LimitOut(Schema):
    parameter: str
    parameter_label: str
    unit: str
    alert_limit: float
    action_limit: float

    @staticmethod
    def resolve_parameter_label(obj: Any) -> str:
        return str(obj.get_parameter_display())

    @staticmethod
    def resolve_unit(obj: Any) -> str:
        from saisei.processing.rules import EM_UNITS

        return EM_UNITS.get(obj.parameter, "")


class ProgrammeOut(Schema):
    external_id: uuid.UUID
    site: str
    room: str
    grade: str
    version: int
    status: str
    effective_from: dt.date
    source: str
    prepared_by: str
    approved_by: str | None
    approved_at: dt.datetime | None
    limits: list[LimitOut]

    @staticmethod
    def resolve_site(obj: Any) -> str:
        return obj.site.name

    @staticmethod
    def resolve_prepared_by(obj: Any) -> str:
        return obj.prepared_by.username

    @staticmethod
    def resolve_approved_by(obj: Any) -> str | None:
        return obj.approved_by.username if obj.approved_by_id else None

    @staticmethod
    def resolve_limits(obj: Any) -> list[Any]:
        return list(obj.limits.all())


@router.get(
    "/processing/environment/programmes", response={200: Page[ProgrammeOut], **ERROR_RESPONSES}
)
def programme_list(
    request: HttpRequest, limit: int = 50, offset: int = 0, after: str = ""
) -> dict[str, Any]:
    """Monitoring programme versions per room, newest version first, with their limits."""
    _require_view(_user(request))
    return paginate(
        selectors.programme_list(actor=_user(request)), limit=limit, offset=offset, after=after
    )


@router.post("/processing/environment/programmes", response={201: ProgrammeOut, **ERROR_RESPONSES})
def programme_prepare(request: HttpRequest, payload: ProgrammeIn) -> Status:
    """Draft the next version of a room's programme (it judges nothing until QA approves it)."""
    actor = _user(request)
    programme = services.monitoring_programme_prepare(
        actor=actor,
        site=_site(actor, payload.site),
        room=payload.room,
        grade=payload.grade,
        effective_from=payload.effective_from,
        source=payload.source,
        notes=payload.notes,
        limits=[row.dict() for row in payload.limits],
    )
    return Status(201, selectors.programme_get(actor=actor, external_id=programme.external_id))


class ApproveIn(Schema):
    password: str = Field(..., max_length=200)
    meaning: str = Field(services.environment.APPROVAL_MEANING, max_length=300)
    otp: str | None = Field(None, max_length=12)


@router.post(
    "/processing/environment/programmes/{external_id}/approve",
    response={200: ProgrammeOut, **ERROR_RESPONSES},
)
def programme_approve(request: HttpRequest, external_id: str, payload: ApproveIn) -> Any:
    """QA approves a draft by e-signature (not the person who prepared it)."""
    actor = _user(request)
    programme = selectors.programme_get(actor=actor, external_id=external_id)
    services.monitoring_programme_approve(
        actor=actor,
        programme=programme,
        password=payload.password,
        meaning=payload.meaning,
        otp=payload.otp,
    )
    return selectors.programme_get(actor=actor, external_id=external_id)
