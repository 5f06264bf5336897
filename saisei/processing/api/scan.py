"""Scan parsing: what a scanned ISBT 128 Data Matrix holds."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema
from pydantic import Field

from saisei.core.api_support import ERROR_RESPONSES
from saisei.core.errors import Forbidden
from saisei.core.permissions import can_use_calculators

from .common import MAX_SCAN_LENGTH, _user

router = Router()


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

    if not can_use_calculators(_user(request)):
        raise Forbidden()
    return parse_scan(payload.data).as_dict()
