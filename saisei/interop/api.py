"""interop API (django-ninja router mounted under /api/v1/): the REDCap research export."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.http import StreamingHttpResponse
from ninja import Router

from saisei.core.access_log import API, access_log_record
from saisei.core.api_support import ERROR_RESPONSES
from saisei.interop import selectors
from saisei.journey.views._helpers import AuthedRequest

router = Router(tags=["interop"])


def csv_response(lines: Iterator[str], filename: str) -> StreamingHttpResponse:
    """A CSV download streamed line by line (UTF-8 without a byte-order mark, as REDCap reads)."""
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@router.get("/interop/redcap/dictionary.csv", response={200: str, **ERROR_RESPONSES})
def redcap_dictionary(request: AuthedRequest) -> Any:
    """The REDCap data dictionary of the research export (outcomes and safety)."""
    return csv_response(selectors.redcap_dictionary(actor=request.user), "saisei_dictionary.csv")


@router.get("/interop/redcap/records.csv", response={200: str, **ERROR_RESPONSES})
def redcap_records(request: AuthedRequest) -> Any:
    """The organisation's pseudonymised research records, to import into REDCap with the
    dictionary (repeating instruments: infusions, assessments, biomarkers, adverse_events)."""
    lines = selectors.redcap_records(actor=request.user)
    access_log_record(
        actor=request.user,
        channel=API,
        subject_type="interop.redcap_records",
        subject_id=getattr(request.user.organisation, "external_id", ""),
        label="REDCap records",
    )
    return csv_response(lines, "saisei_records.csv")
