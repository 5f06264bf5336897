"""Culture alerts: a sterility culture positive after release, and its follow-up."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema
from pydantic import Field

from saisei.core.api_support import ERROR_RESPONSES, Page, paginate
from saisei.core.selectors import get_scoped
from saisei.processing import selectors, services

from .common import _require_view, _user

router = Router()


class FollowUpIn(Schema):
    follow_up: str = Field(..., min_length=1, max_length=5000)


class CultureAlertOut(Schema):
    external_id: uuid.UUID
    lot: str
    reported_at: dt.datetime
    organism: str
    deviation: str
    physicians_notified: list[str]
    doses_blocked: list[str]
    doses_given: list[dict[str, Any]]
    follow_up: str

    @staticmethod
    def resolve_lot(obj: Any) -> str:
        return obj.lot.number

    @staticmethod
    def resolve_deviation(obj: Any) -> str:
        return obj.deviation.number


@router.get("/processing/culture-alerts", response={200: Page[CultureAlertOut], **ERROR_RESPONSES})
def culture_alerts(
    request: HttpRequest, limit: int = 50, offset: int = 0, after: str = ""
) -> dict[str, Any]:
    _require_view(_user(request))
    return paginate(
        selectors.culture_alert_list(actor=_user(request)), limit=limit, offset=offset, after=after
    )


@router.post(
    "/processing/culture-alerts/{external_id}/follow-up",
    response={200: CultureAlertOut, **ERROR_RESPONSES},
)
def culture_alert_follow_up(request: HttpRequest, external_id: str, payload: FollowUpIn) -> Any:
    """Record what happened to the doses already given when a culture turned positive."""
    alert = get_scoped(selectors.culture_alert_list(actor=_user(request)), external_id)
    return services.culture_alert_follow_up(
        actor=_user(request), alert=alert, follow_up=payload.follow_up
    )
