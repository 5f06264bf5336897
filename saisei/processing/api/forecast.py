"""The expansion forecast: when a culture reaches its target cell count."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema

from saisei.core.api_support import ERROR_RESPONSES
from saisei.core.errors import Forbidden
from saisei.core.permissions import can_use_calculators

from .common import _user

router = Router()


class CountIn(Schema):
    date: dt.date
    passage: int
    cells: float
    area_cm2: float | None = None


class ForecastIn(Schema):
    tissue_g: float
    target_cells: float
    start_date: dt.date
    parameters: dict[str, Any] = {}
    actual_counts: list[CountIn] = []


class ForecastWarningOut(Schema):
    code: str
    severity: str
    message: str
    field: str | None = None


class ForecastOut(Schema):
    earliest: dt.date
    likely: dt.date
    latest: dt.date
    passages: int
    culture_area_cm2: float
    warnings: list[ForecastWarningOut]
    feasible: bool
    based_on_observations: bool
    observed_doubling_time_days: float | None
    plan: list[dict[str, Any]]
    scenarios: dict[str, Any]
    explanation: list[str]
    parameters: dict[str, Any]


@router.post("/processing/expansion-forecast", response={200: ForecastOut, **ERROR_RESPONSES})
def expansion_forecast(request: HttpRequest, payload: ForecastIn) -> dict[str, Any]:
    """Forecast when a culture reaches its target; a calculation that changes nothing."""
    from saisei.processing.expansion import forecast

    if not can_use_calculators(_user(request)):
        raise Forbidden()
    result = forecast(
        tissue_g=payload.tissue_g,
        target_cells=payload.target_cells,
        start_date=payload.start_date,
        parameters=payload.parameters or None,
        actual_counts=[c.dict() for c in payload.actual_counts] or None,
    )
    return result.as_dict()
