"""Near-misses recorded at identity checks."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema

from saisei.core.api_support import ERROR_RESPONSES, Page, paginate
from saisei.processing import selectors

from .common import _require_view, _user

router = Router()


class NearMissOut(Schema):
    external_id: uuid.UUID
    stage: str
    expected: str
    scanned: str
    reason: str
    occurred_at: dt.datetime


@router.get("/processing/near-misses", response={200: Page[NearMissOut], **ERROR_RESPONSES})
def near_misses(
    request: HttpRequest, limit: int = 50, offset: int = 0, after: str = ""
) -> dict[str, Any]:
    _require_view(_user(request))
    return paginate(
        selectors.near_miss_list(actor=_user(request)), limit=limit, offset=offset, after=after
    )
