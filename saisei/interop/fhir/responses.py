"""FHIR JSON responses and OperationOutcome errors (R4 operationoutcome.html, http.html)."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpResponse

FHIR_JSON = "application/fhir+json"

# HTTP status -> OperationOutcome.issue.code (R4 issue-type value set).
ISSUE_CODE = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    409: "conflict",
    422: "processing",
    500: "exception",
}


def fhir_response(body: dict[str, Any], status: int = 200) -> HttpResponse:
    return HttpResponse(
        json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        status=status,
        content_type=f"{FHIR_JSON}; charset=utf-8",
    )


def operation_outcome(status: int, diagnostics: str) -> dict[str, Any]:
    return {
        "resourceType": "OperationOutcome",
        "issue": [
            {"severity": "error", "code": ISSUE_CODE[status], "diagnostics": str(diagnostics)}
        ],
    }


def error(status: int, diagnostics: str) -> HttpResponse:
    response = fhir_response(operation_outcome(status, diagnostics), status=status)
    if status == 401:
        response["WWW-Authenticate"] = "Bearer"
    return response
