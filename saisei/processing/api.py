"""processing API: scan parsing, expansion forecast, lots, doses, release, custody, labels, deviations.

Paths carry their own prefix (the router is mounted at /api/v1/). Input and output schemas are
separate per operation; refusals are DomainErrors mapped to the one error shape by core.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema
from pydantic import Field

from saisei.core.api_support import ERROR_RESPONSES
from saisei.core.errors import Forbidden
from saisei.core.permissions import can_use_calculators

router = Router(tags=["processing"])

# A scan is at most a few compound Data Matrix messages; anything longer is not a scan.
MAX_SCAN_LENGTH = 2000


# --- scans ---------------------------------------------------------------------------------------


class ScanIn(Schema):
    data: str = Field(..., max_length=MAX_SCAN_LENGTH)


class ScanIssueOut(Schema):
    code: str
    message: str
    severity: str


class ScanStructureOut(Schema):
    type: str
    fields: dict[str, Any]
    check_character: str | None
    valid: bool
    errors: list[dict[str, Any]]


class ScanOut(Schema):
    valid: bool
    structures: list[ScanStructureOut]


@router.post("/scans/parse", response={200: ScanOut, **ERROR_RESPONSES})
def scan_parse(request: HttpRequest, payload: ScanIn) -> dict[str, Any]:
    """Read what a keyboard-wedge scanner typed into the ISBT 128 structures it contains."""
    from saisei.processing.isbt128 import parse_scan

    if not can_use_calculators(request.user):
        raise Forbidden()
    return parse_scan(payload.data).as_dict()


# --- expansion forecast --------------------------------------------------------------------------


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

    if not can_use_calculators(request.user):
        raise Forbidden()
    result = forecast(
        tissue_g=payload.tissue_g,
        target_cells=payload.target_cells,
        start_date=payload.start_date,
        parameters=payload.parameters or None,
        actual_counts=[c.dict() for c in payload.actual_counts] or None,
    )
    return result.as_dict()
